//! Signed-token SSO (SPEC §5.4): the site's server signs its user's profile with a
//! per-site HS256 secret; the page passes the token on and Tessera signs the user in.
//!
//! - [`verify`]: every check of one token, up to the profile it asserts
//! - [`login`]: `POST /rest/v1/users/login/sso-token`
//! - what both token logins share after verification: `crate::token_login`
//! - the secrets: `crate::store::sso_secrets`, administered by `crate::admin::sso_secrets`
//! - the shape, duplicate-name and time checks shared with ID tokens: `crate::jose`

pub mod login;
pub mod verify;

use axum::routing::post;
use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/rest/v1/users/login/sso-token",
        post(login::login_sso_token).options(crate::sessions::cors::preflight),
    )
}
