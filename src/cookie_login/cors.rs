//! CORS for the cookie-login endpoint, which the embed script calls from the
//! site's pages: an answer is readable by a browser only from an origin the site
//! allows. Kept apart so it can be unified with the other browser endpoints' CORS.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::ApiError;
use crate::store::sites::Site;

const MAX_AGE_SECONDS: &str = "600";

fn request_origin(headers: &HeaderMap) -> Option<&HeaderValue> {
    headers.get(header::ORIGIN)
}

/// The `Origin` to echo back, when the request names one the (active) site allows.
pub fn allowed_origin(site: Option<&Site>, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = request_origin(headers)?;
    let text = origin.to_str().ok()?;
    let site = site.filter(|s| s.active)?;
    site.origins
        .iter()
        .any(|o| o == text)
        .then(|| origin.clone())
}

/// Adds the CORS headers of an actual (non-preflight) answer.
pub fn decorate(mut response: Response, origin: Option<HeaderValue>) -> Response {
    let headers = response.headers_mut();
    // Caches must keep answers to different origins apart, allowed or not.
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

/// `OPTIONS` preflight: it names no site, so any active site's allowed origin passes;
/// the actual answer is then only readable from an origin of the site it names.
#[tracing::instrument(skip_all)]
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(origin) = request_origin(&headers).cloned() else {
        return ApiError::bad_request("invalid_request", "a CORS preflight needs an Origin header")
            .into_response();
    };
    let allowed = match origin.to_str() {
        Ok(text) => match state.store.any_site_allows_origin(text).await {
            Ok(allowed) => allowed,
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(_) => false,
    };
    if !allowed {
        let refused = ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this origin is not allowed by any site",
        );
        return decorate(refused.into_response(), None);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECONDS),
    );
    decorate(response, Some(origin))
}
