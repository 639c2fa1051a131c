//! The error of the JSON APIs that answer `{"error", "error_description"}`
//! (OAuth 2.0, accounts, sessions, cookie login, admin).
//!
//! Client errors are shown as they are; internal errors are logged with their
//! detail and answered with a generic 500 that names nothing but the request id.

use std::borrow::Cow;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client's fault: shown to the client.
    #[error("{code}: {description}")]
    Client {
        status: StatusCode,
        code: &'static str,
        description: Cow<'static, str>,
        headers: Vec<(HeaderName, HeaderValue)>,
    },
    /// A client error with a body of its own shape (e.g. the ban body).
    #[error("{status}: {body}")]
    Body {
        status: StatusCode,
        body: serde_json::Value,
    },
    /// Our fault: logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        ApiError::Client {
            status,
            code,
            description: description.into(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if let ApiError::Client { headers, .. } = &mut self {
            headers.push((name, value));
        }
        self
    }

    /// The error code for clients (`server_error` for internal errors).
    pub fn code(&self) -> &str {
        match self {
            ApiError::Client { code, .. } => code,
            ApiError::Body { body, .. } => body["error"].as_str().unwrap_or("error"),
            ApiError::Internal(_) => "server_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Client { status, .. } | ApiError::Body { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

/// `{"error", "error_description"}`, the error body of the OAuth and JSON APIs.
// Documented as `ErrorSchema` (`crate::openapi`): the schema is this type's.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorSchema)]
pub struct ErrorBody<'a> {
    pub error: &'a str,
    pub error_description: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Client {
                status,
                code,
                description,
                headers,
            } => {
                let mut response = (
                    status,
                    Json(ErrorBody {
                        error: code,
                        error_description: &description,
                    }),
                )
                    .into_response();
                response.headers_mut().extend(headers);
                response
            }
            ApiError::Body { status, body } => (status, Json(body)).into_response(),
            ApiError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                internal_error_response()
            }
        }
    }
}

/// The generic answer to anything that went wrong on our side.
pub fn internal_error_response() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(ErrorBody {
            error: "server_error",
            error_description: "the server could not complete the request; it has been logged",
        }),
    )
        .into_response()
}
