//! The browser-facing session endpoints of SPEC §3.3 and §6.1 (lookup, logout, the
//! user's own profile change) with their CORS policy. Sessions are started by the
//! sign-in pipeline (`crate::signin`).

pub mod cors;
pub mod header;
pub mod logout;
pub mod lookup;
pub mod profile;

use axum::routing::{get, patch, post};
use axum::Router;

use crate::app::AppState;

/// `GET /rest/v1/session`, `POST /rest/v1/session/logout` and `PATCH
/// /rest/v1/session/profile`, each answering CORS preflights for the sites' allowed
/// origins.
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
        .route(
            "/rest/v1/session/profile",
            patch(profile::change_profile).options(cors::preflight),
        )
}
