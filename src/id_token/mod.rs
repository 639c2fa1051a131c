//! ID-token login (SPEC §5.3): the site's page holds an ID token of the site's own
//! OpenID provider and hands it over; Tessera checks it against the provider's
//! published keys, without calling the site back, and signs the user in.
//!
//! - the per-site settings and their validation: `crate::settings::id_token`
//! - [`patch`]: a change to those settings (admin API, CLI, console)
//! - [`jwks`]: the providers' keys: discovery, JWKS, cache and fetch rations
//! - [`verify`]: every check of one token, up to the profile it asserts
//! - [`login`]: `POST /rest/v1/users/login/id-token`
//! - what both token logins share after verification: `crate::token_login`
//! - the shape, duplicate-name and time checks shared with SSO tokens: `crate::jose`

pub mod jwks;
pub mod login;
pub mod patch;
pub mod verify;

use axum::routing::post;
use axum::Router;

pub use jwks::KeyCache;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/rest/v1/users/login/id-token",
        post(login::login_id_token).options(crate::sessions::cors::preflight),
    )
}
