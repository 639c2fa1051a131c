//! `POST /rest/v1/accounts/login` (SPEC §3.1): create or update the site's user by its
//! own id and start a platform session.
//!
//! The flow's part is the site's word (bearer token) and the profile; the rest is the
//! sign-in pipeline's (`crate::signin`). Cost of a returning user with an unchanged
//! profile: two indexed reads (token, user) and a share of one group commit.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::validate;
use crate::app::AppState;
use crate::http::form::Params;
use crate::http::{no_store, read_body, ApiError, ClientIp};
use crate::oauth2::bearer::SiteToken;
use crate::oauth2::scope::Scope;
use crate::signin::{self, Attempt, Flow, Grant, Identity};
use crate::store::sessions::SessionKind;
use crate::store::users::SsoProfile;

/// The fields of a login (form or JSON).
// Each field is checked by its rule in `validate` (`LoginRequest::read`).
#[derive(Debug, utoipa::ToSchema)]
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

impl LoginRequest {
    pub fn read(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            id: validate::external_id(params)?,
            name: validate::display_name(params)?,
            email: validate::email(params)?,
        })
    }

    /// The profile the login asserts: these fields, the others left as they are.
    fn into_profile(self) -> SsoProfile {
        SsoProfile {
            external_id: self.id,
            display_name: self.name,
            email: self.email,
            photo_url: None,
            social_data: None,
            replace_all: false,
        }
    }
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
        (status = 403, description = "insufficient_scope, user_deleted, user_inactive, site_disabled, or user_banned with the ban body (SPEC §3.4)", body = crate::openapi::ErrorSchema),
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
    let profile = LoginRequest::read(&params)?.into_profile();
    let attempt = Attempt::new(token.site_id, Flow::Accounts, &client_ip).by(token.actor());
    let session = Grant::Session {
        kind: SessionKind::Server,
        reverify_after_ms: None,
    };
    let signed_in = signin::sign_in(&state, &attempt, Identity::Asserted(profile), session).await?;
    let started = signed_in
        .session
        .ok_or_else(|| anyhow::anyhow!("a session grant started no session"))?;
    Ok(no_store(
        Json(LoginResponse {
            user_id: signed_in.user.user_id,
            session: started.session_id.expose_secret().to_string(),
        })
        .into_response(),
    ))
}
