//! OAuth 2.0 error responses (RFC 6749 §5.2, RFC 6750 §3.1).

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};

use crate::http::form::FormError;
use crate::http::{ApiError, BodyError};

pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> ApiError {
    ApiError::bad_request("invalid_request", description)
}

/// 401 with the `WWW-Authenticate: Basic` challenge the RFC requires.
pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_client", description).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"tessera\""),
    )
}

pub fn unsupported_grant_type(description: impl Into<Cow<'static, str>>) -> ApiError {
    ApiError::bad_request("unsupported_grant_type", description)
}

pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> ApiError {
    ApiError::bad_request("invalid_scope", description)
}

impl From<FormError> for ApiError {
    fn from(e: FormError) -> Self {
        invalid_request(e.to_string())
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        ApiError::new(e.status(), "invalid_request", e.to_string())
    }
}
