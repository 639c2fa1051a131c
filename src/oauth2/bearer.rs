//! Bearer-token authentication of site servers at resource endpoints (RFC 6750).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use super::scope::{Scope, Scopes};
use crate::app::AppState;
use crate::http::ApiError;
use crate::secrets::TimedHash;
use crate::store::audit::Actor;

/// The site server behind a valid access token.
#[derive(Debug, Clone, Copy)]
pub struct SiteToken {
    pub site_id: i64,
    pub key_id: i64,
    pub scopes: Scopes,
}

impl SiteToken {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey {
            site_id: self.site_id,
            key_id: self.key_id,
        }
    }

    /// 403 `insufficient_scope` unless the token carries `scope`.
    pub fn require(self, scope: Scope) -> Result<Self, ApiError> {
        if self.scopes.contains(scope) {
            return Ok(self);
        }
        let challenge = format!(
            "Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"{}\"",
            scope.as_str()
        );
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this endpoint needs a token with scope {}", scope.as_str()),
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&challenge).expect("ASCII challenge"),
        ))
    }
}

/// 401 `invalid_token` with the RFC 6750 challenge.
pub fn invalid_token(description: &'static str) -> ApiError {
    let challenge = format!(
        "Bearer realm=\"tessera\", error=\"invalid_token\", error_description=\"{description}\""
    );
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", description).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge).expect("ASCII challenge"),
    )
}

/// The token of `Authorization: Bearer TOKEN`, if the header is exactly that.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(invalid_token("a bearer token is required"));
    };
    let value = value
        .to_str()
        .map_err(|_| invalid_token("the Authorization header is malformed"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| invalid_token("the Authorization header must be Bearer TOKEN"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(invalid_token(
            "the Authorization header must be Bearer TOKEN",
        ));
    }
    Ok(token)
}

impl FromRequestParts<AppState> for SiteToken {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let record = state
            .store
            .find_access_token(&TimedHash::of(token), state.now())
            .await?
            .ok_or_else(|| invalid_token("the access token is unknown, expired or revoked"))?;
        let scopes = Scopes::parse(&record.scope).map_err(|s| {
            ApiError::Internal(anyhow::anyhow!("stored token has unknown scope {s}"))
        })?;
        Ok(SiteToken {
            site_id: record.site_id,
            key_id: record.key_id,
            scopes,
        })
    }
}
