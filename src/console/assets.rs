//! The console's one stylesheet and its small progressive script, compiled into the
//! binary (no CDN, no build step). Every page works without the script.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../assets/console/console.css");
const JS: &str = include_str!("../../assets/console/console.js");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `GET /admin/static/console.css`
pub async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /admin/static/console.js`
pub async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}
