//! `POST /oauth2/introspect` (RFC 7662). A site only ever sees its own tokens as active.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::client_auth;
use crate::app::AppState;
use crate::http::no_store;
use crate::http::ApiError;
use crate::secrets::TimedHash;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The site id, as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

impl IntrospectionResponse {
    fn inactive() -> Self {
        Self {
            active: false,
            scope: None,
            client_id: None,
            exp: None,
            iat: None,
            token_type: None,
        }
    }
}

#[utoipa::path(
    post,
    path = "/oauth2/introspect", operation_id = "oauth2_introspect",
    tag = "oauth2",
    request_body(content = crate::oauth2::client_auth::TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Token state", body = IntrospectionResponse),
        (status = 400, description = "invalid_request", body = crate::openapi::ErrorSchema),
        (status = 401, description = "invalid_client", body = crate::openapi::ErrorSchema),
    ),
    security(("client_basic" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (client, request) = client_auth::token_request(&state, &headers, body).await?;
    let token = request.token.expose_secret();
    let record = state
        .store
        .find_access_token(&TimedHash::of(token), state.now())
        .await?
        .filter(|record| record.site_id == client.site_id);
    let answer = match record {
        None => IntrospectionResponse::inactive(),
        Some(record) => IntrospectionResponse {
            active: true,
            scope: Some(record.scope),
            client_id: Some(record.site_id.to_string()),
            exp: Some(record.expires_at / 1000),
            iat: Some(record.issued_at / 1000),
            token_type: Some("bearer"),
        },
    };
    Ok(no_store(Json(answer).into_response()))
}
