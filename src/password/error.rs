//! The error family of the Faveo-compatible API: `{"Error": "...", "status_code": N}`.
//!
//! Unlike Faveo, the HTTP status always equals `status_code`. Internal errors are
//! logged with their detail and answered with a generic 500.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::store::users::Ban;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum FaveoError {
    /// The client's fault (or a refusal): shown as it is.
    #[error("{status}: {error}")]
    Client {
        status: StatusCode,
        error: Cow<'static, str>,
        /// Fields merged into the body (the ban fields).
        extra: Map<String, Value>,
        /// Seconds for `Retry-After` (429, 503).
        retry_after: Option<u64>,
    },
    /// Our fault: logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl FaveoError {
    pub fn new(status: StatusCode, error: impl Into<Cow<'static, str>>) -> Self {
        FaveoError::Client {
            status,
            error: error.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(code: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code)
    }

    pub fn invalid_credentials() -> Self {
        Self::unauthorized("invalid_credentials")
    }

    pub fn invalid_api_key() -> Self {
        Self::unauthorized("invalid_api_key")
    }

    pub fn user_inactive() -> Self {
        Self::new(StatusCode::FORBIDDEN, "user_inactive")
    }

    /// 403 `user_banned` with the ban fields of SPEC §3.4.
    pub fn banned(ban: &Ban) -> Self {
        FaveoError::Client {
            status: StatusCode::FORBIDDEN,
            error: "user_banned".into(),
            extra: ban.public_fields(),
            retry_after: None,
        }
    }

    /// A refusal the client should retry after `seconds` (429 or 503).
    pub fn retry_later(status: StatusCode, code: &'static str, seconds: u64) -> Self {
        FaveoError::Client {
            status,
            error: code.into(),
            extra: Map::new(),
            retry_after: Some(seconds.max(1)),
        }
    }

    /// The `Error` text (`server_error` for internal errors).
    pub fn code(&self) -> &str {
        match self {
            FaveoError::Client { error, .. } => error,
            FaveoError::Internal(_) => "server_error",
        }
    }
}

impl From<StoreError> for FaveoError {
    fn from(e: StoreError) -> Self {
        FaveoError::Internal(e.into())
    }
}

/// `{"Error", "status_code"}`, the error body of the Faveo-compatible API; a refusal
/// with more to say (a ban) adds its fields.
// Documented as `FaveoErrorSchema` (`crate::openapi`): the schema is this type's.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FaveoErrorSchema)]
pub struct FaveoErrorBody<'a> {
    #[serde(rename = "Error")]
    error: &'a str,
    status_code: u16,
    #[serde(flatten)]
    #[schema(ignore)]
    extra: Map<String, Value>,
}

fn body(status: StatusCode, error: &str, extra: Map<String, Value>) -> Response {
    let body = FaveoErrorBody {
        error,
        status_code: status.as_u16(),
        extra,
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for FaveoError {
    fn into_response(self) -> Response {
        match self {
            FaveoError::Client {
                status,
                error,
                extra,
                retry_after,
            } => {
                let mut response = body(status, &error, extra);
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
            FaveoError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    Map::new(),
                )
            }
        }
    }
}
