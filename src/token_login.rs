//! What the two token logins (ID token, SPEC §5.3; signed SSO token, §5.4) share
//! once their token is verified: reading their JSON request, single use through the
//! store's replay cache, the sign-in pipeline, and the answer of §5.2 step 7 without
//! `reverify_at`, every answer with the browser endpoints' CORS.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::app::AppState;
use crate::clock::Millis;
use crate::cookie_login::mapping::MappedProfile;
use crate::http::form::parse_json;
use crate::http::{no_store, read_body, ApiError};
use crate::jose::Refusal;
use crate::secrets::SecretHash;
use crate::sessions::cors::{self, CorsSite};
use crate::signin::{self, Attempt, Grant, Identity};
use crate::store::sessions::SessionKind;
use crate::store::users::SsoProfile;

/// A token login that succeeded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenLoginResponse {
    pub user_id: i64,
    /// The session id for `X-Tessera-Session`; shown once.
    pub session: String,
    pub user: TokenLoginUser,
}

/// What the widget shows of the user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenLoginUser {
    pub user_id: i64,
    pub name: String,
    pub photo_url: Option<String>,
}

/// How one token flow names itself in its answers.
#[derive(Debug, Clone, Copy)]
pub struct Codes {
    /// 400 when the site does not take this kind of token, e.g. `id_token_login_not_configured`.
    pub not_configured: &'static str,
    /// 401 for any token that does not log in, e.g. `invalid_id_token`.
    pub invalid: &'static str,
    /// The token's name in sentences, e.g. `ID token`.
    pub what: &'static str,
    pub kind: SessionKind,
}

impl Codes {
    pub fn not_configured(&self) -> ApiError {
        ApiError::bad_request(
            self.not_configured,
            format!("{} login is not configured for this site", self.what),
        )
    }

    fn invalid(&self) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            self.invalid,
            format!("the {} is not valid", self.what),
        )
    }

    /// Records why the token was refused (audit log only: the precise reason helps a
    /// forger as much as an operator) and answers 401.
    pub async fn refuse(&self, state: &AppState, attempt: &Attempt, refusal: &Refusal) -> ApiError {
        attempt
            .failed(
                state,
                self.invalid,
                json!({ "cause": refusal.reason(), "detail": refusal.to_string() }),
            )
            .await;
        self.invalid()
    }

    /// Uses the token up (a second use, on any node, is refused until it expires),
    /// then signs the profile in: the site is the profile's source of truth.
    pub async fn sign_in_once(
        &self,
        state: &AppState,
        attempt: &Attempt,
        replay_key: &SecretHash,
        remember_until: Millis,
        profile: MappedProfile,
    ) -> Result<Response, ApiError> {
        let first_use = state
            .store
            .use_token_once(replay_key, attempt.site_id, state.now(), remember_until)
            .await?;
        if !first_use {
            return Err(self.refuse(state, attempt, &Refusal::Replayed).await);
        }
        let profile = SsoProfile {
            external_id: profile.uid,
            display_name: profile.display_name,
            email: Some(profile.email),
            photo_url: profile.photo_url,
            social_data: profile.social_data,
            replace_all: true,
        };
        let grant = Grant::Session {
            kind: self.kind,
            reverify_after_ms: None,
        };
        let signed_in = signin::sign_in(state, attempt, Identity::Asserted(profile), grant).await?;
        let session = signed_in
            .session
            .ok_or_else(|| anyhow::anyhow!("a session grant started no session"))?;
        let user = signed_in.user;
        let body = TokenLoginResponse {
            user_id: user.user_id,
            session: session.session_id.expose_secret().to_string(),
            user: TokenLoginUser {
                user_id: user.user_id,
                name: user.display_name,
                photo_url: user.photo_url,
            },
        };
        Ok(no_store(Json(body).into_response()))
    }
}

/// The request body: JSON (at most 64 KiB) parsed strictly into `T`; an error names
/// the field at fault.
pub async fn read_request<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(body)
        .await
        .map_err(|e| ApiError::new(e.status(), "invalid_request", e.to_string()))?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::bad_request(
            "invalid_request",
            "the request body must be application/json",
        ));
    }
    parse_json(&bytes)
}

/// A site id that names a site: positive.
pub fn site_id(given: i64) -> Result<i64, ApiError> {
    if given > 0 {
        Ok(given)
    } else {
        Err(ApiError::bad_request(
            "invalid_request",
            "site_id must be a positive integer",
        ))
    }
}

/// The answer, readable from the site's origins when the site is known (any site's
/// otherwise), as every browser endpoint answers.
pub async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    known_site: Option<i64>,
    result: Result<Response, ApiError>,
) -> Response {
    let site = known_site.map_or(CorsSite::Unknown, CorsSite::Site);
    cors::allow_origin(
        state,
        headers,
        site,
        result.unwrap_or_else(IntoResponse::into_response),
    )
    .await
}
