//! Request parameters of the Faveo API: query string, then form or JSON body,
//! later sources winning (Faveo clients send them every way).

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};

use super::error::FaveoError;
use crate::http::form::Params;
use crate::http::read_body;

pub async fn read(
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Params, FaveoError> {
    let mut params = Params::from_urlencoded(query.unwrap_or_default().as_bytes())
        .map_err(|e| FaveoError::bad_request(e.to_string()))?;
    let bytes = read_body(body)
        .await
        .map_err(|e| FaveoError::new(e.status(), e.to_string()))?;
    let from_body = Params::from_form_or_json_body(headers, &bytes).map_err(|e| {
        let status = match e {
            crate::http::form::FormError::UnsupportedContentType => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            _ => StatusCode::BAD_REQUEST,
        };
        FaveoError::new(status, e.to_string())
    })?;
    params.overlay(from_body);
    Ok(params)
}

/// A required parameter, with Faveo's message when it is missing.
pub fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a str, FaveoError> {
    params
        .non_empty(name)
        .ok_or_else(|| FaveoError::bad_request(format!("{name} is required")))
}
