//! `POST /oauth2/token` (RFC 6749 §3.2): reads the request, authenticates the
//! client and hands over to the grant type's own module.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::client_auth;
use super::client_credentials;
use super::error::{invalid_request, unsupported_grant_type};
use crate::app::AppState;
use crate::http::form::Params;
use crate::http::{no_store, read_body, ApiError};

/// The form fields of a token request.
#[derive(utoipa::ToSchema)]
pub struct TokenRequest<'a> {
    /// Only `client_credentials`.
    #[schema(pattern = "^client_credentials$")]
    grant_type: &'a str,
    /// Space-separated subset of `accounts admin`; default `accounts`.
    #[schema(
        nullable = false,
        pattern = "^(?:(?:accounts|admin)(?: (?:accounts|admin))*)?$"
    )]
    scope: Option<&'a str>,
    /// Site id, when not using HTTP Basic (then `client_secret` too).
    #[schema(nullable = false, pattern = "^[1-9][0-9]{0,17}$")]
    client_id: Option<&'a str>,
    /// API key, when not using HTTP Basic.
    #[schema(nullable = false, min_length = 1)]
    client_secret: Option<&'a str>,
}

impl<'a> TokenRequest<'a> {
    fn read(params: &'a Params) -> Result<Self, ApiError> {
        let credentials = client_auth::BodyCredentials::of(params);
        Ok(Self {
            grant_type: params
                .non_empty("grant_type")
                .ok_or_else(|| invalid_request("grant_type is required"))?,
            scope: params.get("scope"),
            client_id: credentials.client_id,
            client_secret: credentials.client_secret,
        })
    }

    fn credentials(&self) -> client_auth::BodyCredentials<'a> {
        client_auth::BodyCredentials {
            client_id: self.client_id,
            client_secret: self.client_secret,
        }
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        no_store(Json(self).into_response())
    }
}

#[utoipa::path(
    post,
    path = "/oauth2/token", operation_id = "oauth2_token",
    tag = "oauth2",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Access token issued", body = TokenResponse),
        (status = 400, description = "invalid_request, unsupported_grant_type or invalid_scope", body = crate::openapi::ErrorSchema),
        (status = 401, description = "invalid_client", body = crate::openapi::ErrorSchema),
    ),
    // HTTP Basic, or client_id and client_secret in the body (RFC 6749 §2.3.1).
    security(("client_basic" = []), ())
)]
#[tracing::instrument(skip_all)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(body).await?;
    let params = Params::from_form_body(&headers, &body)?;
    let request = TokenRequest::read(&params)?;
    let client = client_auth::present(&headers, request.credentials())?;
    match request.grant_type {
        // The grant checks the credentials itself, in the transaction that writes the token.
        "client_credentials" => Ok(client_credentials::grant(&state, &client, request.scope)
            .await?
            .into_response()),
        _ => {
            client_auth::verify(&state, &client).await?;
            Err(unsupported_grant_type(
                "only grant_type=client_credentials is supported",
            ))
        }
    }
}
