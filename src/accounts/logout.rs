//! `POST /rest/v1/accounts/logout` (SPEC §3.2): a site's server ends one session
//! (`session=…`) or every session of one of its users (`id=…`). Idempotent, and
//! strictly confined to the token's site: another site's session is never touched and
//! the answer is the same as for an unknown one.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{validate, AUDIT_LOGOUT};
use crate::app::AppState;
use crate::http::form::Params;
use crate::http::{read_body, ApiError, ClientIp};
use crate::oauth2::bearer::SiteToken;
use crate::oauth2::error::invalid_request;
use crate::oauth2::scope::Scope;
use crate::secrets::TimedHash;
use crate::sessions::logout::{ok_response, StatusOk};
use crate::store::audit::NewAuditEvent;

/// Longest session id accepted; ours are 51 characters.
const MAX_SESSION_CHARS: usize = 256;

/// The fields of a logout (form or JSON): exactly one of `session` and `id`.
#[derive(Debug, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LogoutRequest {
    /// Ends one session.
    #[schema(title = "by session")]
    Session {
        /// A session id returned by login.
        #[schema(value_type = String, min_length = 1, max_length = 256)]
        session: SecretString,
    },
    /// Ends every session of one user.
    #[schema(title = "by user")]
    User {
        /// The site's own user id.
        #[schema(min_length = 1, max_length = 255)]
        id: String,
    },
}

impl LogoutRequest {
    fn read(params: &Params) -> Result<Self, ApiError> {
        match (params.non_empty("session"), params.contains("id")) {
            (Some(_), true) => Err(invalid_request("give either session or id, not both")),
            (None, false) => Err(invalid_request("session or id is required")),
            (Some(session), false) if session.chars().count() > MAX_SESSION_CHARS => {
                Err(invalid_request("session is not a session id"))
            }
            (Some(session), false) => Ok(Self::Session {
                session: SecretString::from(session),
            }),
            (None, true) => Ok(Self::User {
                id: validate::external_id(params)?,
            }),
        }
    }
}

#[utoipa::path(
    post,
    path = "/rest/v1/accounts/logout", operation_id = "accounts_logout",
    tag = "accounts",
    request_body(content = LogoutRequest, description = "application/x-www-form-urlencoded or application/json",
                 content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Ended, or nothing to end (idempotent)", body = StatusOk),
        (status = 400, description = "invalid_request: neither or both of session and id, or a malformed one", body = crate::openapi::ErrorSchema),
        (status = 401, description = "invalid_token", body = crate::openapi::ErrorSchema),
        (status = 403, description = "insufficient_scope", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(site_id = token.site_id))]
pub async fn logout(
    State(state): State<AppState>,
    client_ip: ClientIp,
    headers: HeaderMap,
    token: SiteToken,
    body: Body,
) -> Result<Response, ApiError> {
    let token = token.require(Scope::Accounts)?;
    let body = read_body(body).await?;
    let params = Params::from_form_or_json_body(&headers, &body)?;
    let site_id = token.site_id;
    let now = state.now();
    let event = NewAuditEvent::new(Some(site_id), now, &token.actor(), AUDIT_LOGOUT)
        .from_ip(client_ip.text());
    match LogoutRequest::read(&params)? {
        LogoutRequest::Session { session } => {
            state
                .store
                .end_session_audited(
                    &TimedHash::of(session.expose_secret()),
                    Some(site_id),
                    |ended| event.with_detail(json!({ "user_id": ended.user_id, "by": "session" })),
                )
                .await?;
            Ok(ok_response())
        }
        LogoutRequest::User { id } => {
            state
                .store
                .end_external_user_sessions_audited(
                    site_id,
                    &id,
                    event.with_detail(json!({ "by": "id" })),
                )
                .await?;
            Ok(ok_response())
        }
    }
}
