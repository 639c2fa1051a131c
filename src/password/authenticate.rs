//! `POST /api/v1/authenticate`: user name (or email) and password for a JWT.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::credentials::{self, MAX_USERNAME_CHARS};
use super::error::FaveoError;
use super::hashing::MAX_PASSWORD_CHARS;
use super::params;
use super::tokens;
use super::user_object::FaveoUser;
use crate::app::AppState;
use crate::http::form::Params;
use crate::http::ClientIp;
use crate::secrets::SecretHash;
use crate::signin::{self, Attempt, Flow, Grant, Identity};

/// The parameters (query string, form or JSON).
#[derive(Debug, utoipa::ToSchema)]
pub struct AuthenticateRequest {
    /// User name or email (case-insensitive).
    #[schema(min_length = 1, max_length = 255)]
    username: String,
    #[schema(value_type = String, min_length = 1, max_length = 1024)]
    password: SecretString,
    /// The site's API key; required when the site makes it mandatory.
    #[schema(value_type = Option<String>, nullable = false)]
    api_key: Option<SecretString>,
    /// The site, when no `api_key` names it; default: the server's default site.
    #[schema(nullable = false, minimum = 1)]
    site_id: Option<i64>,
}

impl AuthenticateRequest {
    fn read(params: &Params) -> Result<Self, FaveoError> {
        let username = params::required(params, "username")?;
        let password = params::required(params, "password")?;
        if username.chars().count() > MAX_USERNAME_CHARS {
            return Err(FaveoError::bad_request("username is too long"));
        }
        if password.chars().count() > MAX_PASSWORD_CHARS {
            // No stored password can be this long; refuse before spending a hash on it.
            return Err(FaveoError::bad_request("password is too long"));
        }
        let site_id = match params.non_empty("site_id") {
            Some(text) => Some(
                crate::http::parse_site_id(text)
                    .ok_or_else(|| FaveoError::bad_request("site_id must be a positive integer"))?,
            ),
            None => None,
        };
        Ok(Self {
            username: username.to_string(),
            password: SecretString::from(password),
            api_key: params.non_empty("api_key").map(SecretString::from),
            site_id,
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthenticateResponse {
    /// The JWT.
    pub token: String,
    /// The user object (the odd name is Faveo's contract).
    pub user_id: FaveoUser,
}

/// The site a login is for: the API key's site, else `site_id`, else the default site.
async fn resolve_site(state: &AppState, request: &AuthenticateRequest) -> Result<i64, FaveoError> {
    let named = request.site_id;
    let key_site = match &request.api_key {
        Some(key) => {
            let credential = state
                .store
                .find_api_key(&SecretHash::of(key.expose_secret()))
                .await?
                .filter(|k| k.site_active)
                .ok_or_else(FaveoError::invalid_api_key)?;
            // A key of another site never unlocks this one.
            if named.is_some_and(|site| site != credential.site_id) {
                return Err(FaveoError::invalid_api_key());
            }
            state.store.touch_api_key(&credential, state.now()).await?;
            Some(credential.site_id)
        }
        None => None,
    };
    let site_id = key_site
        .or(named)
        .or(state.config.default_site_id)
        .ok_or_else(|| FaveoError::bad_request("site_id is required"))?;
    let site = state
        .store
        .get_site(site_id)
        .await?
        // A disabled site is refused by the sign-in pipeline, with every flow's code
        // (`site_disabled`), once the password is known to be right.
        .ok_or_else(|| FaveoError::bad_request("site_id does not name a site"))?;
    if site.settings.api_key_mandatory && key_site.is_none() {
        return Err(FaveoError::invalid_api_key());
    }
    Ok(site_id)
}

/// Password login (SPEC §4.1).
#[utoipa::path(post, path = "/api/v1/authenticate", operation_id = "faveo_authenticate", tag = "password",
    params(
        ("username" = Option<String>, Query, min_length = 1, max_length = 255, description = "User name or email (may also be sent in a form or JSON body)"),
        ("password" = Option<String>, Query, min_length = 1, max_length = 1024, description = "Password (better sent in the body)"),
        ("api_key" = Option<String>, Query, description = "The site's API key"),
        ("site_id" = Option<i64>, Query, minimum = 1, description = "The site, when no api_key names it"),
    ),
    request_body(content = AuthenticateRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Logged in", body = AuthenticateResponse),
        (status = 400, description = "Missing or malformed parameter", body = crate::openapi::FaveoErrorSchema),
        (status = 401, description = "`invalid_credentials` or `invalid_api_key`", body = crate::openapi::FaveoErrorSchema),
        (status = 403, description = "`user_inactive`, `site_disabled`, or `user_banned` with the ban fields"),
        (status = 429, description = "`too_many_attempts`, with Retry-After", body = crate::openapi::FaveoErrorSchema),
    ))]
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    State(state): State<AppState>,
    client_ip: ClientIp,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<AuthenticateResponse>, FaveoError> {
    let params = params::read(query.as_deref(), &headers, body).await?;
    let request = AuthenticateRequest::read(&params)?;
    let site_id = resolve_site(&state, &request).await?;
    let attempt = Attempt::new(site_id, Flow::Password, &client_ip);
    let AuthenticateRequest {
        username, password, ..
    } = request;
    let user = credentials::check(&state, &attempt, &username, password, client_ip.0).await?;
    // Only a caller who knows the password learns that the account is blocked.
    let signed_in = signin::sign_in(
        &state,
        &attempt,
        Identity::Known(Box::new(user)),
        Grant::Jwt,
    )
    .await?;
    let user = signed_in.user;
    let now = state.now();
    let token = tokens::issue(&state, &user, now.div_euclid(1000)).await?;
    tracing::info!(user_id = user.user_id, site_id, "password login");
    Ok(Json(AuthenticateResponse {
        token: token.expose_secret().to_string(),
        user_id: FaveoUser::of(&user, now),
    }))
}
