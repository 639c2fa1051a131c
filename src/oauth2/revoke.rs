//! `POST /oauth2/revoke` (RFC 7009). Answers 200 for every well-formed request,
//! whether or not the token existed or belonged to the caller (§2.2).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;

use super::client_auth;
use crate::app::AppState;
use crate::http::ApiError;
use crate::secrets::TimedHash;

#[utoipa::path(
    post,
    path = "/oauth2/revoke", operation_id = "oauth2_revoke",
    tag = "oauth2",
    request_body(content = crate::oauth2::client_auth::TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "invalid_request", body = crate::openapi::ErrorSchema),
        (status = 401, description = "invalid_client", body = crate::openapi::ErrorSchema),
    ),
    security(("client_basic" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let (client, request) = client_auth::token_request(&state, &headers, body).await?;
    let token = request.token.expose_secret();
    let revoked = state
        .store
        .revoke_access_token(&TimedHash::of(token), client.site_id)
        .await?;
    tracing::info!(site_id = client.site_id, revoked, "token revocation");
    Ok(StatusCode::OK)
}
