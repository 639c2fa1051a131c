//! HTTP plumbing shared by every API family: body reading, parameters, client IP,
//! request ids, metrics and the JSON answers for unknown routes and methods.

pub mod error;
pub mod form;
pub mod metrics;
pub mod request_context;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

pub use error::ApiError;

use crate::app::AppState;

/// Largest request body accepted anywhere (SPEC §9).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than 64 KiB")]
    TooLarge,
    #[error("the request body could not be read")]
    Unreadable,
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable => StatusCode::BAD_REQUEST,
        }
    }
}

/// Reads a whole body, refusing more than [`MAX_BODY_BYTES`] without buffering them.
pub async fn read_body(body: Body) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                BodyError::TooLarge
            } else {
                BodyError::Unreadable
            }
        })
}

/// The client's IP: the peer address, or the first `X-Forwarded-For` hop when the
/// server is configured to sit behind a trusted proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn text(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(
            &parts.headers,
            parts.extensions.get(),
            state,
        )))
    }
}

fn client_ip(
    headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
    state: &AppState,
) -> Option<IpAddr> {
    if state.config.trust_forwarded_for {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|first| first.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|ConnectInfo(addr)| addr.ip())
}

/// Unknown path: JSON 404.
pub async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

/// Known path, wrong method: JSON 405 (axum adds the `Allow` header); a page under
/// the console's paths.
pub async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    if crate::console::page::is_console_path(uri.path()) {
        return crate::console::page::method_not_allowed().await;
    }
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that HTTP method",
    )
    .into_response()
}
