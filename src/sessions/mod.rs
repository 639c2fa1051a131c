//! The browser-facing session endpoints of SPEC §3.3 (lookup, logout) with their
//! CORS policy. Sessions are started by the sign-in pipeline (`crate::signin`).

pub mod cors;
pub mod header;
pub mod logout;
pub mod lookup;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

/// `GET /rest/v1/session` and `POST /rest/v1/session/logout`, each answering CORS
/// preflights for the sites' allowed origins.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/rest/v1/session",
            get(lookup::lookup).options(cors::preflight),
        )
        .route(
            "/rest/v1/session/logout",
            post(logout::logout).options(cors::preflight),
        )
}
