//! `GET /rest/v1/session` (SPEC §3.3): who is behind a session id. The hottest path of
//! the product (every widget load): one indexed read, and a write only when the idle
//! expiry is due to slide (at most once a minute per session).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::cors::{self, CorsSite};
use super::header::{invalid_session, session_hash};
use crate::app::AppState;
use crate::clock::{duration_ms, rfc3339, Millis};
use crate::http::no_store;
use crate::http::ApiError;
use crate::secrets::TimedHash;
use crate::store::sessions::{SessionKind, SessionRecord};

/// A live session and what the widget shows of its user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub user_id: i64,
    pub site_id: i64,
    /// Display name.
    pub name: String,
    pub photo_url: Option<String>,
    /// RFC 3339; the session ends then unless used before.
    pub idle_expires_at: String,
    /// RFC 3339; the session ends then however much it is used.
    pub expires_at: String,
    /// RFC 3339; only for cookie-login sessions: when the embed script must re-verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverify_at: Option<String>,
}

#[utoipa::path(
    get,
    path = "/rest/v1/session", operation_id = "session_lookup",
    tag = "sessions",
    params(("X-Tessera-Session" = String, Header, description = "The session id")),
    responses(
        (status = 200, description = "The session is live; its idle expiry was pushed forward", body = SessionInfo),
        (status = 401, description = "invalid_session: unknown, expired or ended", body = crate::openapi::ErrorSchema),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn lookup(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (site, result) = look_up(&state, &headers).await;
    let response = match result {
        Ok(info) => no_store(Json(info).into_response()),
        Err(e) => e.into_response(),
    };
    cors::allow_origin(&state, &headers, site, response).await
}

/// The live platform session behind `hash`, or 401 `invalid_session`. A console
/// session (the admin console's cookie) is not a platform session: the widget's
/// endpoints treat it as unknown.
pub(super) async fn live_platform_session(
    state: &AppState,
    hash: &TimedHash,
    now: Millis,
) -> Result<SessionRecord, ApiError> {
    match state.store.find_session(hash, now).await? {
        Some(session) if session.kind != SessionKind::Console.as_str() => Ok(session),
        _ => Err(invalid_session("the session is unknown, expired or ended")),
    }
}

async fn look_up(
    state: &AppState,
    headers: &HeaderMap,
) -> (CorsSite, Result<SessionInfo, ApiError>) {
    let hash = match session_hash(headers) {
        Ok(hash) => hash,
        Err(e) => return (CorsSite::Unknown, Err(e)),
    };
    let now = state.now();
    let session = match live_platform_session(state, &hash, now).await {
        Ok(session) => session,
        Err(e) => return (CorsSite::Unknown, Err(e)),
    };
    let idle_timeout = duration_ms(state.config.session_idle_timeout);
    let idle_expires_at = match state
        .store
        .slide_session(&hash, &session, now, idle_timeout)
        .await
    {
        Ok(at) => at,
        Err(e) => {
            // The session is live; a failed slide only means the next lookup retries it.
            tracing::warn!(error = %e, "could not slide a session's idle expiry");
            session.idle_expires_at
        }
    };
    let info = SessionInfo {
        user_id: session.user_id,
        site_id: session.site_id,
        name: session.display_name,
        photo_url: session.photo_url,
        idle_expires_at: rfc3339(idle_expires_at),
        expires_at: rfc3339(session.expires_at),
        reverify_at: (session.kind == "cookie")
            .then_some(session.reverify_at)
            .flatten()
            .map(rfc3339),
    };
    (CorsSite::Site(session.site_id), Ok(info))
}
