//! Using, refreshing and ending a password-login JWT (SPEC §4.3).

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::FaveoError;
use super::params;
use super::tokens::{self, Use};
use super::user_object::FaveoUser;
use crate::app::AppState;
use crate::http::form::Params;
use crate::http::ClientIp;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserResponse {
    pub user: FaveoUser,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefreshResponse {
    /// The new JWT; the presented one is revoked.
    pub token: String,
}

fn query_params(query: Option<&str>) -> Result<Params, FaveoError> {
    Params::from_urlencoded(query.unwrap_or_default().as_bytes())
        .map_err(|e| FaveoError::bad_request(e.to_string()))
}

/// The user behind a JWT (`Authorization: Bearer` or `?token=`).
#[utoipa::path(get, path = "/api/v1/authenticate/user", operation_id = "faveo_user", tag = "password",
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 400, description = "`token is required`: neither a Bearer token nor `?token=`", body = crate::openapi::FaveoErrorSchema),
        (status = 401, description = "`token_invalid`, `token_expired` or `token_revoked`", body = crate::openapi::FaveoErrorSchema),
        (status = 403, description = "`user_inactive`, `user_deleted`, `site_disabled`, or `user_banned` with the ban fields"),
    ),
    security(("jwt" = []), ("jwt_query" = [])))]
#[tracing::instrument(skip_all)]
pub async fn authenticated_user(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<UserResponse>, FaveoError> {
    let params = query_params(query.as_deref())?;
    let token = tokens::presented(&headers, params.get("token"))?;
    let verified = tokens::verify(&state, &token, Use::Access).await?;
    Ok(Json(UserResponse {
        user: FaveoUser::of(&verified.user, state.now()),
    }))
}

/// A new token for a valid (or expired, within the refresh window) one, which is revoked.
#[utoipa::path(post, path = "/api/v1/refresh", operation_id = "faveo_refresh", tag = "password",
    responses(
        (status = 200, description = "A new token", body = RefreshResponse),
        (status = 400, description = "`token is required`: neither a Bearer token nor a `token` parameter", body = crate::openapi::FaveoErrorSchema),
        (status = 401, description = "`token_invalid`, `token_revoked` or `token_expired_refresh_window`", body = crate::openapi::FaveoErrorSchema),
        (status = 403, description = "`user_inactive`, `user_deleted`, `site_disabled`, or `user_banned` with the ban fields"),
    ),
    security(("jwt" = []), ("jwt_query" = [])))]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    State(state): State<AppState>,
    client_ip: ClientIp,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<RefreshResponse>, FaveoError> {
    let params = params::read(query.as_deref(), &headers, body).await?;
    let token = tokens::presented(&headers, params.get("token"))?;
    let verified = tokens::verify(&state, &token, Use::Renew).await?;
    // Revoked first, and only once: of two racing refreshes of one token, one wins.
    tokens::revoke(&state, &verified, "user.token_refreshed", &client_ip).await?;
    let fresh = tokens::issue(&state, &verified.user, verified.claims.auth_time).await?;
    Ok(Json(RefreshResponse {
        token: fresh.expose_secret().to_string(),
    }))
}

/// Revokes the token until it can no longer be used nor refreshed.
#[utoipa::path(post, path = "/api/v1/logout", operation_id = "faveo_logout", tag = "password",
    responses(
        (status = 200, description = "Logged out"),
        (status = 400, description = "`token is required`: neither a Bearer token nor a `token` parameter", body = crate::openapi::FaveoErrorSchema),
        (status = 401, description = "`token_invalid`, `token_revoked` or `token_expired_refresh_window`", body = crate::openapi::FaveoErrorSchema),
    ),
    security(("jwt" = []), ("jwt_query" = [])))]
#[tracing::instrument(skip_all)]
pub async fn logout(
    State(state): State<AppState>,
    client_ip: ClientIp,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, FaveoError> {
    let params = params::read(query.as_deref(), &headers, body).await?;
    let token = tokens::presented(&headers, params.get("token"))?;
    let verified = tokens::verify(&state, &token, Use::Renew).await?;
    tokens::revoke(&state, &verified, "user.logout", &client_ip).await?;
    Ok(Json(json!({ "message": "logged out" })))
}

/// The public keys that verify our tokens (RFC 7517, RFC 8037).
#[utoipa::path(get, path = "/.well-known/jwks.json", operation_id = "jwks", tag = "password",
    responses((status = 200, description = "JSON Web Key Set: the current key and retired keys whose tokens may still be unexpired")))]
#[tracing::instrument(skip_all)]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, FaveoError> {
    let now = state.now();
    // Make sure a key exists even before the first login, so verifiers can fetch it.
    state.password.keys.current(&state.store, now).await?;
    let keys = state.password.keys.all(&state.store).await?;
    let published: Vec<Value> = keys
        .iter()
        .filter(|k| k.is_published(now, state.config.jwt_ttl))
        .map(|k| k.jwk())
        .collect();
    Ok((
        [(axum::http::header::CACHE_CONTROL, "public, max-age=60")],
        Json(json!({ "keys": published })),
    )
        .into_response())
}
