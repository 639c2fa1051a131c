//! Cookie login (SPEC §5): the embed script sends the site's own session cookie;
//! Tessera asks the site's verification endpoint who that is, and signs the user in.
//!
//! - the per-site settings and their validation: `crate::settings::cookie_login`
//! - [`login`]: `POST /rest/v1/users/login/cookie`, the seven steps of SPEC §5.2
//! - [`verifier`]: the outgoing request (shared client, timeout, size cap)
//! - which addresses that request may reach: `crate::http::outgoing`
//! - [`flight`]: one outgoing request per cookie in flight, shared by its logins
//! - [`limits`], [`limiter`], [`breaker`]: per-site adaptive bound with its queue, and circuit breaker
//! - [`metrics`]: per-site limit, in flight, queued, shed and endpoint latency
//! - [`mapping`]: from the endpoint's JSON to a profile
//! - CORS: the browser endpoints' shared policy, `crate::sessions::cors`

pub mod breaker;
pub mod flight;
pub mod limiter;
pub mod limits;
pub mod login;
pub mod mapping;
pub mod metrics;
pub mod patch;
pub mod verifier;

use axum::routing::post;
use axum::Router;

pub use limiter::LimitSettings;
pub use limits::EndpointStats;
pub use verifier::Verifier;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/rest/v1/users/login/cookie",
        post(login::login_cookie).options(crate::sessions::cors::preflight),
    )
}
