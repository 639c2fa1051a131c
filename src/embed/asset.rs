//! `GET /embed.js`: one hand-written file compiled into the binary, with a strong
//! ETag computed once when the router is built, so browsers revalidate cheaply.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The script's source: plain JavaScript, no build step.
pub const EMBED_JS: &str = include_str!("embed.js");

/// Short enough that a new release reaches browsers within minutes, long enough to
/// spare the server a request on every page view (revalidation is a cheap 304).
const CACHE_CONTROL: &str = "public, max-age=300";

/// The script and its ETag (quoted hex SHA-256 of the content).
#[derive(Clone)]
pub struct EmbedAsset(Arc<(HeaderValue, &'static str)>);

impl EmbedAsset {
    pub fn new() -> Self {
        let digest = Sha256::digest(EMBED_JS.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header");
        Self(Arc::new((etag, EMBED_JS)))
    }

    pub fn etag(&self) -> &HeaderValue {
        &self.0 .0
    }
}

impl Default for EmbedAsset {
    fn default() -> Self {
        Self::new()
    }
}

/// RFC 9110 §13.1.2: `If-None-Match` uses the weak comparison, and `*` matches any.
fn none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[tracing::instrument(skip_all)]
pub async fn serve(asset: EmbedAsset, headers: HeaderMap) -> Response {
    let common = [
        (header::ETAG, asset.etag().clone()),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
        // Pages on any origin include it; `crossorigin`/SRI users need the CORS header.
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if none_match(&headers, asset.etag()) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/javascript; charset=utf-8"),
        )],
        asset.0 .1,
    )
        .into_response()
}
