//! What every admin handler reads from its request, each refused in the API's shape:
//! the caller (token of scope `admin`), a JSON body, query parameters, path ids.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

use crate::admin::Ctx;
use crate::app::AppState;
use crate::http::form::Params;
use crate::http::{read_body, ApiError, ClientIp};
use crate::oauth2::bearer::SiteToken;
use crate::oauth2::scope::Scope;
use crate::store::audit::Actor;

/// The administrator behind a request: a site, an actor, a client IP. A bearer token of
/// scope `admin`, or else a console session cookie with a matching `X-CSRF-Token`.
#[derive(Debug, Clone)]
pub struct Admin {
    pub site_id: i64,
    pub actor: Actor,
    pub client_ip: Option<String>,
}

impl Admin {
    /// The service layer's context for this caller, now.
    pub fn ctx<'a>(&self, state: &'a AppState) -> Ctx<'a> {
        Ctx {
            store: &state.store,
            site_id: self.site_id,
            actor: self.actor.clone(),
            client_ip: self.client_ip.clone(),
            now: state.now(),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = match ClientIp::from_request_parts(parts, state).await {
            Ok(ip) => ip,
            Err(never) => match never {},
        };
        // Without a bearer token, the console's session (SPEC §7.3) with its CSRF header.
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            if let Some(console) =
                crate::console::session::api_caller(state, &parts.headers).await?
            {
                return Ok(Admin {
                    site_id: console.site_id,
                    actor: Actor::User {
                        user_id: console.user_id,
                    },
                    client_ip: ip.map(|ip| ip.to_string()),
                });
            }
        }
        let token = SiteToken::from_request_parts(parts, state)
            .await?
            .require(Scope::Admin)?;
        Ok(Admin {
            site_id: token.site_id,
            actor: token.actor(),
            client_ip: ip.map(|ip| ip.to_string()),
        })
    }
}

fn invalid(description: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::bad_request("invalid_request", description)
}

/// A JSON body (at most 64 KiB) parsed into `T`; an error names the field at fault.
pub struct AdminJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AdminJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let bytes = read_body(body)
            .await
            .map_err(|e| ApiError::new(e.status(), "invalid_request", e.to_string()))?;
        if !is_json(&parts.headers) {
            return Err(invalid("the request body must be application/json"));
        }
        parse_json(&bytes).map(AdminJson)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

pub use crate::http::form::parse_json;

/// The query string, strictly (a parameter given twice is refused).
pub fn query(parts: &Option<String>) -> Result<Params, ApiError> {
    Params::from_urlencoded(parts.as_deref().unwrap_or("").as_bytes())
        .map_err(|e| invalid(e.to_string()))
}

/// An optional integer parameter.
pub fn int_param(params: &Params, name: &'static str) -> Result<Option<i64>, ApiError> {
    match params.non_empty(name) {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid(format!("{name}: must be an integer"))),
    }
}

/// A positive id from the path.
pub fn path_id(text: &str, name: &'static str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| invalid(format!("{name}: must be a positive integer")))
}

/// The raw query of a request, for [`query`].
pub struct RawQuery(pub Option<String>);

impl FromRequestParts<AppState> for RawQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(RawQuery(parts.uri.query().map(str::to_string)))
    }
}

/// Path segments as text: a malformed one is refused in the API's shape, never as
/// axum's plain-text rejection.
pub struct Segments(pub Vec<String>);

impl FromRequestParts<AppState> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid("the path is not valid UTF-8"))?;
        // Already percent-decoded (and checked to be UTF-8) by axum.
        Ok(Segments(
            params.iter().map(|(_, value)| value.to_string()).collect(),
        ))
    }
}
