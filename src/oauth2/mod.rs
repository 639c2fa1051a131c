//! OAuth 2.0 for site servers: the token endpoint with the client credentials
//! grant, introspection, revocation, server metadata, and bearer-token checks.

pub mod bearer;
pub mod client_auth;
pub mod client_credentials;
pub mod error;
pub mod introspect;
pub mod metadata;
pub mod revoke;
pub mod scope;
pub mod token;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/introspect", post(introspect::introspect))
        .route("/oauth2/revoke", post(revoke::revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
}
