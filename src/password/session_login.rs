//! `POST /rest/v1/users/login/password` (SPEC §6.1): the widget's own sign-in form. A
//! site's local user, by user name or email and password, gets a platform session.
//! The password is checked exactly as password login checks it (the Argon2 pool, the
//! dummy hash for unknown users, the brute-force limits: [`credentials::check`]); the
//! refusals and the audited commit are the sign-in pipeline's. Only while the site lets
//! the platform handle accounts: switched off, 403 `account_handling_disabled` before
//! any password work. Answers in the REST shape, readable from the site's origins.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::credentials::{self, MAX_USERNAME_CHARS};
use super::hashing::MAX_PASSWORD_CHARS;
use crate::app::AppState;
use crate::http::form::Params;
use crate::http::{no_store, parse_site_id, read_body, ApiError, ClientIp};
use crate::oauth2::error::invalid_request;
use crate::sessions::profile::WidgetUser;
use crate::signin::answer::{self, NamesSite};
use crate::signin::{self, Attempt, Flow, Grant, Identity};
use crate::store::sessions::SessionKind;
use crate::store::sites::Site;

/// The request body (form or JSON).
// As `read_request` checks it, field by field.
#[derive(utoipa::ToSchema)]
pub struct PasswordSessionRequest {
    #[schema(minimum = 1)]
    site_id: i64,
    /// User name or email (case-insensitive).
    #[schema(min_length = 1, max_length = 255)]
    username: String,
    #[schema(value_type = String, min_length = 1, max_length = 1024)]
    password: SecretString,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasswordSessionResponse {
    pub user_id: i64,
    /// The session id for `X-Tessera-Session`; shown once.
    pub session: String,
    pub user: WidgetUser,
}

impl NamesSite for PasswordSessionRequest {
    fn site_id(&self) -> i64 {
        self.site_id
    }
}

#[utoipa::path(
    post,
    path = "/rest/v1/users/login/password", operation_id = "login_password_session",
    tag = "sessions",
    request_body(content = PasswordSessionRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in: a platform session", body = PasswordSessionResponse),
        (status = 400, description = "invalid_request: a field is missing or malformed, or site_id names no site", body = crate::openapi::ErrorSchema),
        (status = 401, description = "invalid_credentials: wrong password, unknown or deleted user", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`account_handling_disabled`, `user_inactive`, `site_disabled`, or `user_banned` (ban body)"),
        (status = 429, description = "too_many_attempts, with Retry-After", body = crate::openapi::ErrorSchema),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn login_password_session(
    State(state): State<AppState>,
    client_ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request = read_request(&headers, body).await;
    answer::respond(&state, &headers, request, async |site, request| {
        let site = site.ok_or_else(|| invalid_request("site_id does not name a site"))?;
        let answer = sign_in_on(&state, &client_ip, &site, request).await?;
        Ok(no_store(Json(answer).into_response()))
    })
    .await
}

async fn read_request(headers: &HeaderMap, body: Body) -> Result<PasswordSessionRequest, ApiError> {
    let bytes = read_body(body).await?;
    let params = Params::from_form_or_json_body(headers, &bytes)?;
    let site_id = params
        .non_empty("site_id")
        .ok_or_else(|| invalid_request("site_id is required"))?;
    let site_id = parse_site_id(site_id)
        .ok_or_else(|| invalid_request("site_id must be a positive integer"))?;
    let username = params
        .non_empty("username")
        .ok_or_else(|| invalid_request("username is required"))?;
    if username.chars().count() > MAX_USERNAME_CHARS {
        return Err(invalid_request("username must be at most 255 characters"));
    }
    let password = params
        .non_empty("password")
        .ok_or_else(|| invalid_request("password is required"))?;
    if password.chars().count() > MAX_PASSWORD_CHARS {
        // No stored password can be this long; refused before a hash is spent on it.
        return Err(invalid_request("password must be at most 1024 characters"));
    }
    Ok(PasswordSessionRequest {
        site_id,
        username: username.to_string(),
        password: SecretString::from(password.to_string()),
    })
}

async fn sign_in_on(
    state: &AppState,
    client_ip: &ClientIp,
    site: &Site,
    request: PasswordSessionRequest,
) -> Result<PasswordSessionResponse, ApiError> {
    let attempt = Attempt::new(site.site_id, Flow::Native, client_ip);
    if site.settings.account_handling.disable_account_handling {
        // Counted, not audited: no user is known, and a flood must not become writes.
        attempt.count(state, "account_handling_disabled");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_handling_disabled",
            "this site signs its users in itself: the platform's sign-in is switched off",
        ));
    }
    let user = credentials::check(
        state,
        &attempt,
        &request.username,
        request.password,
        client_ip.0,
    )
    .await?;
    let grant = Grant::Session {
        kind: SessionKind::Native,
        reverify_after_ms: None,
    };
    let signed_in =
        signin::sign_in(state, &attempt, Identity::Known(Box::new(user)), grant).await?;
    let session = signed_in
        .session
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a session grant started no session")))?;
    let user = signed_in.user;
    tracing::info!(
        user_id = user.user_id,
        site_id = site.site_id,
        "native sign-in"
    );
    Ok(PasswordSessionResponse {
        user_id: user.user_id,
        session: session.session_id.expose_secret().to_string(),
        user: WidgetUser {
            user_id: user.user_id,
            name: user.display_name,
            photo_url: user.photo_url,
        },
    })
}
