//! `POST /rest/v1/session/logout` (SPEC §3.3): the browser holding a session ends it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::cors::{self, CorsSite};
use super::header::session_hash;
use crate::app::AppState;
use crate::http::{ApiError, ClientIp};
use crate::store::audit::{Actor, NewAuditEvent};

/// `{"status":"ok"}`, the answer of every logout.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StatusOk {
    /// Always `ok`.
    pub status: String,
}

pub fn ok_response() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

#[utoipa::path(
    post,
    path = "/rest/v1/session/logout", operation_id = "session_logout",
    tag = "sessions",
    params(("X-Tessera-Session" = String, Header, description = "The session id")),
    responses(
        (status = 200, description = "The session is ended (or was not live): idempotent", body = StatusOk),
        (status = 401, description = "invalid_session: no or malformed X-Tessera-Session header", body = crate::openapi::ErrorSchema),
        (status = 403, description = "origin_not_allowed: a page of another site's origin", body = crate::openapi::ErrorSchema),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn logout(
    State(state): State<AppState>,
    client_ip: ClientIp,
    headers: HeaderMap,
) -> Response {
    let (site, result) = end(&state, client_ip, &headers).await;
    let response = match result {
        Ok(()) => ok_response(),
        Err(e) => e.into_response(),
    };
    cors::allow_origin(&state, &headers, site, response).await
}

async fn end(
    state: &AppState,
    client_ip: ClientIp,
    headers: &HeaderMap,
) -> (CorsSite, Result<(), ApiError>) {
    let hash = match session_hash(headers) {
        Ok(hash) => hash,
        Err(e) => return (CorsSite::Unknown, Err(e)),
    };
    let now = state.now();
    // A page of an origin the session's site does not allow must not end it: the
    // preflight passes for any site's origin, so check against this session's site.
    if headers.contains_key(axum::http::header::ORIGIN) {
        match state.store.session_site(&hash, now).await {
            Ok(Some(site_id)) if !cors::origin_may_act(state, headers, site_id).await => {
                let refused = ApiError::new(
                    StatusCode::FORBIDDEN,
                    "origin_not_allowed",
                    "this origin is not an allowed origin of the session's site",
                );
                return (CorsSite::Site(site_id), Err(refused));
            }
            Ok(_) => {}
            Err(e) => return (CorsSite::Unknown, Err(e.into())),
        }
    }
    let ip = client_ip.text();
    let ended = state
        .store
        .end_session_audited(&hash, None, |ended| {
            NewAuditEvent::new(
                Some(ended.site_id),
                now,
                &Actor::User {
                    user_id: ended.user_id,
                },
                crate::accounts::AUDIT_LOGOUT,
            )
            .from_ip(ip)
            .with_detail(json!({ "user_id": ended.user_id, "via": "browser" }))
        })
        .await;
    match ended {
        Ok(Some(ended)) => (CorsSite::Site(ended.site_id), Ok(())),
        Ok(None) => (CorsSite::Unknown, Ok(())),
        Err(e) => (CorsSite::Unknown, Err(e.into())),
    }
}
