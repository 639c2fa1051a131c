//! Platform sessions as every login flow starts them, and the answers shared by
//! every login path (the ban body of SPEC §3.4); the browser-facing session
//! endpoints of SPEC §3.3 (lookup, logout) with their CORS policy.

pub mod cors;
pub mod header;
pub mod logout;
pub mod lookup;
pub mod profile;

use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::Router;
use secrecy::SecretString;

use crate::app::AppState;
use crate::clock::{duration_ms, Millis};
use crate::http::ApiError;
use crate::secrets::{self, TimedHash};
use crate::store::audit::NewAuditEvent;
use crate::store::sessions::{NewSession, SessionKind};
use crate::store::users::Ban;
use crate::store::StoreError;

/// A session just started: the id goes to the caller once, only its hash is stored.
#[derive(Debug)]
pub struct StartedSession {
    pub session_id: SecretString,
    pub idle_expires_at: Millis,
    pub expires_at: Millis,
    pub reverify_at: Option<Millis>,
}

/// Starts a session of `user_id` on `site_id` with the configured idle timeout and
/// lifetime; `reverify_after_ms` makes it a session that must be re-verified.
#[tracing::instrument(skip_all, fields(site_id, user_id))]
pub async fn start_session(
    state: &AppState,
    site_id: i64,
    user_id: i64,
    kind: SessionKind,
    reverify_after_ms: Option<Millis>,
) -> Result<StartedSession, StoreError> {
    let (session, started) = new_session(state, site_id, user_id, kind, reverify_after_ms);
    state.store.create_session(&session).await?;
    Ok(started)
}

/// [`start_session`] that also records the login's audit event in the same
/// transaction as the session insert (one commit: the audit log never shows a login
/// without its session, and a login costs no second round trip to the store).
#[tracing::instrument(skip_all, fields(site_id, user_id))]
pub async fn start_session_audited(
    state: &AppState,
    site_id: i64,
    user_id: i64,
    kind: SessionKind,
    reverify_after_ms: Option<Millis>,
    event: &NewAuditEvent,
) -> Result<StartedSession, StoreError> {
    let (mut session, started) = new_session(state, site_id, user_id, kind, reverify_after_ms);
    // The session remembers where its login came from, as the audit event does.
    session.client_ip.clone_from(&event.client_ip);
    state.store.create_session_audited(&session, event).await?;
    Ok(started)
}

/// A fresh session id and the row to store for it (only its hash).
fn new_session(
    state: &AppState,
    site_id: i64,
    user_id: i64,
    kind: SessionKind,
    reverify_after_ms: Option<Millis>,
) -> (NewSession, StartedSession) {
    let now = state.now();
    let session_id = secrets::new_timed_secret(now);
    let expires_at = now + duration_ms(state.config.session_max_lifetime);
    let idle_expires_at = (now + duration_ms(state.config.session_idle_timeout)).min(expires_at);
    let reverify_at = reverify_after_ms.map(|after| now + after);
    let session = NewSession {
        hash: TimedHash::of(secrecy::ExposeSecret::expose_secret(&session_id)),
        site_id,
        user_id,
        kind,
        created_at: now,
        idle_expires_at,
        expires_at,
        reverify_at,
        client_ip: None,
    };
    let started = StartedSession {
        session_id,
        idle_expires_at,
        expires_at,
        reverify_at,
    };
    (session, started)
}

/// 403 `user_banned` with the ban fields (SPEC §3.4), for the accounts and cookie APIs.
pub fn ban_rejection(ban: &Ban) -> ApiError {
    let mut body = ban.public_fields();
    body.insert("error".into(), "user_banned".into());
    ApiError::Body {
        status: StatusCode::FORBIDDEN,
        body: serde_json::Value::Object(body),
    }
}

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
        .route(
            "/rest/v1/session/profile",
            patch(profile::change_profile).options(cors::preflight),
        )
}
