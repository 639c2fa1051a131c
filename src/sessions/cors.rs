//! CORS for the browser-facing endpoints: session lookup, logout and profile change
//! (SPEC §3.3, §6.1), and any other endpoint the embed script calls (cookie login, §5.2).
//!
//! The policy: a browser may read an answer only from an origin that the site concerned
//! allows (`site_origins`, set by `site create|configure --origin`).
//! - A preflight (`OPTIONS`) names no site, so it is allowed when any active site allows
//!   the `Origin` ([`preflight`]).
//! - An actual response carries `Access-Control-Allow-Origin` only when the site it is
//!   about allows the `Origin` ([`CorsSite::Site`]). A response about no site in
//!   particular (unknown session, bad input: [`CorsSite::Unknown`]) follows the preflight
//!   rule, so the embed script on a legitimate page can read the error and react to it.
//! - Never credentials: the session travels in the `X-Tessera-Session` header, not in a
//!   cookie, so `Access-Control-Allow-Credentials` is never sent.
//! - `Vary: Origin` on every answer, allowed or not, so a shared cache never hands one
//!   origin's answer to another.
//!
//! Reuse for another browser endpoint: route its `OPTIONS` to [`preflight`], and pass
//! every response (errors included) through [`allow_origin`] with the site the handler
//! resolved from the request (`CorsSite::Site(site_id)`), e.g.
//! `.route("/rest/v1/users/login/cookie", post(handler).options(cors::preflight))`.

use axum::extract::{MatchedPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::admin::validate;
use crate::app::AppState;
use crate::http::ApiError;

/// Methods the browser endpoints answer.
pub const ALLOW_METHODS: &str = "GET, POST, PATCH";
/// Request headers a page may send: the session and a body's content type.
pub const ALLOW_HEADERS: &str = "X-Tessera-Session, Content-Type";
/// How long a browser may cache a preflight answer (seconds).
const MAX_AGE_SECS: &str = "600";

/// The site whose allowed origins decide whether a browser may read a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorsSite {
    /// The response is about this site (its session, its user).
    Site(i64),
    /// The response is about no known site (e.g. an unknown session): any site's origin.
    Unknown,
}

/// The request's `Origin`, if it carries exactly one.
/// `Err` for an origin that can never be allowed (`null`, garbage); `Ok(raw, normalised)`.
fn request_origin(headers: &HeaderMap) -> Option<Result<(HeaderValue, String), ()>> {
    let mut values = headers.get_all(header::ORIGIN).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return Some(Err(()));
    }
    let parsed = value
        .to_str()
        .ok()
        .and_then(|text| validate::origin(text).ok());
    Some(
        parsed
            .map(|normalised| (value.clone(), normalised))
            .ok_or(()),
    )
}

/// Whether `origin` (normalised) may read answers about `site`.
async fn is_allowed(state: &AppState, site: CorsSite, origin: &str) -> bool {
    let allowed = match site {
        CorsSite::Site(site_id) => state.store.site_allows_origin(site_id, origin).await,
        CorsSite::Unknown => state.store.any_site_allows_origin(origin).await,
    };
    allowed.unwrap_or_else(|e| {
        // Fail closed: without the store we cannot know, so the browser is not let in.
        tracing::warn!(error = %e, "CORS origin check failed");
        false
    })
}

fn vary_origin(headers: &mut HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// `Allow` of the routes that answer preflights: exactly the methods each route has
/// (SPEC §9), as axum lists them in a 405. A test compares the two for every route.
fn route_methods(route: Option<&str>) -> &'static str {
    match route {
        Some("/rest/v1/session") => "GET,HEAD,OPTIONS",
        Some("/rest/v1/session/profile") => "PATCH,OPTIONS",
        _ => "POST,OPTIONS",
    }
}

/// Answers a CORS preflight for a browser endpoint (route its `OPTIONS` here).
/// Allowed origin: 204 with the allowed methods and headers. Other origin: 403
/// `origin_not_allowed` without CORS headers, so the browser blocks the request.
#[tracing::instrument(skip_all)]
pub async fn preflight(
    State(state): State<AppState>,
    route: Option<MatchedPath>,
    headers: HeaderMap,
) -> Response {
    let mut response = match request_origin(&headers) {
        // Not a CORS request (no Origin): just say what the endpoint accepts.
        None => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static(route_methods(route.as_ref().map(MatchedPath::as_str))),
            );
            response
        }
        Some(Ok((raw, origin))) if is_allowed(&state, CorsSite::Unknown, &origin).await => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, raw);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE_SECS),
            );
            response
        }
        Some(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this origin is not an allowed origin of any site",
        )
        .into_response(),
    };
    vary_origin(response.headers_mut());
    response
}

/// Lets the requesting page read `response` when its `Origin` is allowed for `site`
/// (adds `Access-Control-Allow-Origin`); always adds `Vary: Origin`. A request without
/// `Origin` (a server, curl) costs nothing.
pub async fn allow_origin(
    state: &AppState,
    request_headers: &HeaderMap,
    site: CorsSite,
    mut response: Response,
) -> Response {
    if let Some(Ok((raw, origin))) = request_origin(request_headers) {
        if is_allowed(state, site, &origin).await {
            response
                .headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, raw);
        }
    }
    vary_origin(response.headers_mut());
    response
}

/// Whether a request may act on `site`: true without `Origin` (not a browser, which
/// could act anyway), else only for one of the site's allowed origins. Used before a
/// side effect (ending a session) that a disallowed page must not cause.
pub async fn origin_may_act(state: &AppState, request_headers: &HeaderMap, site: i64) -> bool {
    match request_origin(request_headers) {
        None => true,
        Some(Ok((_, origin))) => is_allowed(state, CorsSite::Site(site), &origin).await,
        Some(Err(())) => false,
    }
}
