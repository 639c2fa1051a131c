//! Accounts API (SPEC §3.1, §3.2): a site's server signs its users in and out with a
//! bearer token of scope `accounts`.
//!
//! Error codes, all `{"error","error_description"}` except the ban body:
//! - 400 `invalid_request`: a field is missing or malformed (the description names it);
//!   413 `invalid_request` for a body over 64 KiB.
//! - 401 `invalid_token` (with `WWW-Authenticate: Bearer`), 403 `insufficient_scope`.
//! - 403 `user_banned` with the ban body of SPEC §3.4.
//! - 403 `user_deleted`: the site's user was deleted; the id cannot log in again.
//! - 403 `user_inactive`: the user's account is deactivated.

pub mod login;
pub mod logout;
pub mod validate;

use axum::routing::post;
use axum::Router;

use crate::app::AppState;

/// The audit action of a logout (this API's and the browser's); logins are
/// recorded by the sign-in pipeline (`crate::signin`).
pub const AUDIT_LOGOUT: &str = "user.logout";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rest/v1/accounts/login", post(login::login))
        .route("/rest/v1/accounts/logout", post(logout::logout))
}
