//! Password login with JWT: the Faveo-compatible API (SPEC §4); and the widget's own
//! sign-in (SPEC §6.1), which shares its password check.
//!
//! - [`authenticate`]: `POST /api/v1/authenticate` (user name or email + password → JWT).
//! - [`session_login`]: `POST /rest/v1/users/login/password` (the same → a platform session).
//! - [`token_endpoints`]: the user behind a token, refresh, logout, and the JWKS.
//! - [`credentials`]: the password check every password login shares.
//! - [`hashing`]: Argon2id in a bounded pool; [`rate_limit`]: brute-force limits in the store.
//! - [`jwt`] and [`keys`]: Ed25519 tokens and the keys every node shares through the store.

pub mod authenticate;
pub mod credentials;
pub mod error;
pub mod hashing;
pub mod jwt;
pub mod keys;
pub mod params;
pub mod rate_limit;
pub mod session_login;
pub mod token_endpoints;
pub mod tokens;
pub mod user_object;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use crate::config::Config;

/// State of password login held by the application: the hashing pool (with its
/// dummy hash) and the key cache.
#[derive(Debug)]
pub struct PasswordState {
    pub hasher: hashing::HashPool,
    pub keys: keys::KeyRing,
    /// When each brute-force refusal was last audited (at most once a minute each).
    pub refusal_audits: credentials::RefusalAudits,
}

impl PasswordState {
    /// Computes the dummy hash once (tens of milliseconds, at start-up).
    pub fn new(config: &Config) -> Self {
        Self {
            hasher: hashing::HashPool::new(config.password_hash_concurrency),
            keys: keys::KeyRing::default(),
            refusal_audits: credentials::RefusalAudits::default(),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/authenticate", post(authenticate::authenticate))
        .route(
            "/api/v1/authenticate/user",
            get(token_endpoints::authenticated_user),
        )
        .route("/api/v1/refresh", post(token_endpoints::refresh))
        .route("/api/v1/logout", post(token_endpoints::logout))
        .route("/.well-known/jwks.json", get(token_endpoints::jwks))
        .route(
            "/rest/v1/users/login/password",
            post(session_login::login_password_session).options(crate::sessions::cors::preflight),
        )
}
