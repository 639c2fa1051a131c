//! `POST /rest/v1/accounts/login` (SPEC §3.1): create or update the site's user by its
//! own id and start a platform session.
//!
//! Cost of a returning user with an unchanged profile: two indexed reads (token, user)
//! and one commit holding the session insert and its audit event.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::json;

use super::{validate, AUDIT_LOGIN};
use crate::app::AppState;
use crate::clock::Millis;
use crate::http::form::Params;
use crate::http::no_store;
use crate::http::{read_body, ApiError, ClientIp};
use crate::oauth2::bearer::SiteToken;
use crate::oauth2::scope::Scope;
use crate::sessions::{ban_rejection, start_session_audited};
use crate::store::audit::NewAuditEvent;
use crate::store::sessions::SessionKind;
use crate::store::users::User;

/// The fields of a login (form or JSON; documentation only, parsing is strict and manual).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LoginRequest {
    /// The site's own user id: 1–255 characters, no control characters, no surrounding
    /// whitespace, not a placeholder (`null`, `none`, `nil`, `undefined`, `blank`). A
    /// JSON number is fine.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    id: String,
    /// Display name: 1–255 characters after trimming, no control characters.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    name: String,
    /// Optional; at most 255 characters, `local@domain`; empty means none.
    #[schema(
        nullable = false,
        max_length = 255,
        pattern = r"^\s*(?:[^\s@\x00-\x1f\x7f-\x9f]+@[^\s@.\x00-\x1f\x7f-\x9f]+(?:\.[^\s@.\x00-\x1f\x7f-\x9f]+)*)?\s*$"
    )]
    email: Option<String>,
}

/// A started session: put `user_id` and `session` into the embed tag.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub user_id: i64,
    /// The session id (shown once; only its hash is stored).
    pub session: String,
}

#[utoipa::path(
    post,
    path = "/rest/v1/accounts/login", operation_id = "accounts_login",
    tag = "accounts",
    request_body(content = LoginRequest, description = "application/x-www-form-urlencoded or application/json",
                 content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "User created or updated, session started", body = LoginResponse),
        (status = 400, description = "invalid_request: the description names the field", body = crate::openapi::ErrorSchema),
        (status = 401, description = "invalid_token", body = crate::openapi::ErrorSchema),
        (status = 403, description = "insufficient_scope, user_deleted, user_inactive, or user_banned with the ban body (SPEC §3.4)", body = crate::openapi::ErrorSchema),
        (status = 413, description = "invalid_request: body over 64 KiB", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(site_id = token.site_id))]
pub async fn login(
    State(state): State<AppState>,
    client_ip: ClientIp,
    headers: HeaderMap,
    token: SiteToken,
    body: Body,
) -> Result<Response, ApiError> {
    let token = token.require(Scope::Accounts)?;
    let body = read_body(body).await?;
    let params = Params::from_form_or_json_body(&headers, &body)?;
    let profile = validate::login_profile(&params)?;
    let site_id = token.site_id;
    let now = state.now();
    let audit = |user_id: i64| {
        NewAuditEvent::new(Some(site_id), now, &token.actor(), AUDIT_LOGIN)
            .from_ip(client_ip.text())
            .with_detail(json!({ "user_id": user_id, "flow": "accounts" }))
    };

    // Read first: a refused user is not touched, a returning user with the same
    // profile costs no write.
    let existing = state
        .store
        .find_user_by_external_id(site_id, &profile.external_id)
        .await?;
    if let Some(user) = &existing {
        refuse_blocked(&state, user, now, &audit).await?;
    }
    let user = match existing {
        Some(user) if profile.matches(&user) => user,
        _ => {
            let user = state.store.save_sso_profile(site_id, &profile, now).await?;
            // A concurrent first login or a ban may have landed since the read.
            refuse_blocked(&state, &user, now, &audit).await?;
            user
        }
    };

    // The audit row goes in the session's own transaction: a successful login costs
    // one commit, and the log can never disagree with the sessions table.
    let started = start_session_audited(
        &state,
        site_id,
        user.user_id,
        SessionKind::Server,
        None,
        &audit(user.user_id),
    )
    .await?;
    state.metrics.login("accounts_ok");
    Ok(no_store(
        Json(LoginResponse {
            user_id: user.user_id,
            session: started.session_id.expose_secret().to_string(),
        })
        .into_response(),
    ))
}

/// Refuses a banned (ban in force), deleted or deactivated user, recording the refusal.
async fn refuse_blocked(
    state: &AppState,
    user: &User,
    now: Millis,
    audit: &impl Fn(i64) -> NewAuditEvent,
) -> Result<(), ApiError> {
    let (reason, refusal) = if let Some(ban) = user.ban_in_force(now) {
        ("banned", ban_rejection(ban))
    } else if user.deleted {
        (
            "deleted",
            ApiError::new(
                StatusCode::FORBIDDEN,
                "user_deleted",
                "this user was deleted and cannot log in",
            ),
        )
    } else if !user.active {
        (
            "inactive",
            ApiError::new(
                StatusCode::FORBIDDEN,
                "user_inactive",
                "this user's account is deactivated",
            ),
        )
    } else {
        return Ok(());
    };
    let event = audit(user.user_id)
        .failed()
        .with_detail(json!({ "user_id": user.user_id, "flow": "accounts", "refused": reason }));
    state.store.record_audit(&event).await?;
    state.metrics.login(&format!("accounts_{reason}"));
    Err(refusal)
}
