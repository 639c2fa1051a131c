//! What the two token logins (ID token, SPEC §5.3; signed SSO token, §5.4) share
//! around their own checks: reading their JSON request, the site, single use through
//! the store's replay cache, the sign-in pipeline, and the answer of §5.2 step 7
//! without `reverify_at`, every answer with the browser endpoints' CORS.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::app::AppState;
use crate::clock::Millis;
use crate::cookie_login::mapping::MappedProfile;
use crate::http::form::parse_json;
use crate::http::{no_store, read_body, ApiError, ClientIp};
use crate::jose::Refusal;
use crate::secrets::SecretHash;
use crate::signin::answer::{self, NamesSite, SessionLogin};
use crate::signin::{self, Attempt, Flow, Grant, Identity, SignInError};
use crate::store::sessions::SessionKind;
use crate::store::sites::Site;

/// A token login's request body: JSON naming the site.
pub trait TokenRequest: DeserializeOwned + NamesSite {}

/// How one token flow names itself.
#[derive(Debug, Clone, Copy)]
pub struct Codes {
    pub flow: Flow,
    pub kind: SessionKind,
    /// 400 when the site does not take this kind of token, e.g. `id_token_login_not_configured`.
    pub not_configured: &'static str,
    /// 401 for any token that does not log in, e.g. `invalid_id_token`.
    pub invalid: &'static str,
    /// The token's name in sentences, e.g. `ID token`.
    pub what: &'static str,
}

impl Codes {
    pub fn not_configured(&self) -> ApiError {
        ApiError::bad_request(
            self.not_configured,
            format!("{} login is not configured for this site", self.what),
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
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            self.invalid,
            format!("the {} is not valid", self.what),
        )
    }

    /// Signs the profile in, spending the token in the login's own commit (a second
    /// use, on any node, is refused until it expires): the site is the profile's
    /// source of truth.
    pub async fn sign_in_once(
        &self,
        state: &AppState,
        attempt: &Attempt,
        replay_key: &SecretHash,
        remember_until: Millis,
        profile: MappedProfile,
    ) -> Result<Response, ApiError> {
        let attempt = attempt.clone().spending(state, replay_key, remember_until);
        let grant = Grant::Session {
            kind: self.kind,
            reverify_after_ms: None,
        };
        let identity = Identity::Asserted(profile.asserted());
        let signed_in = match signin::sign_in(state, &attempt, identity, grant).await {
            Err(SignInError::Replayed) => {
                return Err(self.refuse(state, &attempt, &Refusal::Replayed).await)
            }
            other => other?,
        };
        let (answer, _) = SessionLogin::of(signed_in)?;
        Ok(no_store(Json(answer).into_response()))
    }

    /// The whole exchange: the request, an existing active site, then `login` with
    /// the site and the attempt, in the envelope of every browser login.
    pub async fn handle<R: TokenRequest>(
        &self,
        state: &AppState,
        client_ip: &ClientIp,
        headers: &HeaderMap,
        body: Body,
        login: impl AsyncFnOnce(&Site, &Attempt, &R) -> Result<Response, ApiError>,
    ) -> Response {
        let request = read_request::<R>(headers, body).await.and_then(|r| {
            if r.site_id() > 0 {
                Ok(r)
            } else {
                let why = "site_id must be a positive integer";
                Err(ApiError::bad_request("invalid_request", why))
            }
        });
        answer::respond(state, headers, request, async |site, request| {
            let site = site
                .filter(|s| s.active)
                .ok_or_else(|| self.not_configured())?;
            let attempt = Attempt::new(site.site_id, self.flow, client_ip);
            login(&site, &attempt, &request).await
        })
        .await
    }
}

/// The request body: JSON (at most 64 KiB) parsed strictly into `T`; an error names
/// the field at fault.
async fn read_request<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
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
