//! `POST /rest/v1/users/login/cookie` (SPEC §5.2), step by step and in that order:
//! 1 configured site, 2 valid cookie, 3–4 verification, 5 mapping, 6 user and
//! ban, 7 session. Nothing is written before the site's answer has been accepted.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::mapping::{self, MappedProfile};
use super::verifier::Verdict;
use crate::app::AppState;
use crate::clock::rfc3339;
use crate::http::form::Params;
use crate::http::{no_store, parse_site_id, read_body, ApiError, ClientIp};
use crate::settings::CookieLoginSettings;
use crate::signin::answer::{self, NamesSite, SessionLogin};
use crate::signin::{self, Attempt, Flow, Grant, Identity};
use crate::store::sessions::SessionKind;
use crate::store::sites::Site;

pub const MAX_COOKIE_CHARS: usize = 4096;

/// The request body, form or JSON.
#[derive(utoipa::ToSchema)]
pub struct CookieLoginRequest {
    site_id: i64,
    /// The value of the site's session cookie: 1–4096 characters of `[0-9A-Za-z$-_.+!*'()%]`
    /// (missing or otherwise: `invalid_cookie`).
    #[schema(required, nullable = false)]
    cookie: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CookieLoginResponse {
    #[serde(flatten)]
    pub login: SessionLogin,
    /// RFC 3339: log in again through the cookie after this time.
    pub reverify_at: String,
}

impl NamesSite for CookieLoginRequest {
    fn site_id(&self) -> i64 {
        self.site_id
    }
}

#[utoipa::path(
    post,
    path = "/rest/v1/users/login/cookie",
    tag = "cookie login",
    request_body(content = CookieLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = CookieLoginResponse),
        (status = 400, description = "`cookie_login_not_configured`, `invalid_cookie` or `invalid_request`", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`login_failed`: the site did not recognise the cookie", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`user_banned` (ban body), `user_inactive`, `user_deleted` or `site_disabled`"),
        (status = 502, description = "`verification_unavailable` or `verification_invalid_response`", body = crate::openapi::ErrorSchema),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn login_cookie(
    State(state): State<AppState>,
    client_ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request = read_request(&headers, body).await;
    answer::respond(&state, &headers, request, async |site, request| {
        login(&state, client_ip, site.as_ref(), &request).await
    })
    .await
}

async fn read_request(headers: &HeaderMap, body: Body) -> Result<CookieLoginRequest, ApiError> {
    let bytes = read_body(body)
        .await
        .map_err(|e| ApiError::new(e.status(), "invalid_request", e.to_string()))?;
    let params = Params::from_form_or_json_body(headers, &bytes)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))?;
    let site_id = match params.get("site_id") {
        None => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "site_id is required",
            ))
        }
        Some(text) => parse_site_id(text).ok_or_else(|| {
            ApiError::bad_request("invalid_request", "site_id must be a positive integer")
        })?,
    };
    Ok(CookieLoginRequest {
        site_id,
        cookie: params.get("cookie").map(str::to_string),
    })
}

/// Step 2: what a browser may send as the cookie, and all the endpoint may receive.
pub fn is_valid_cookie(value: &str) -> bool {
    (1..=MAX_COOKIE_CHARS).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"$-_.+!*'()%".contains(&b))
}

async fn login(
    state: &AppState,
    client_ip: ClientIp,
    site: Option<&Site>,
    request: &CookieLoginRequest,
) -> Result<Response, ApiError> {
    // Step 1.
    let configured = site.filter(|s| s.active).and_then(|s| {
        let settings = s.settings.cookie_login.as_ref()?;
        Some((s.site_id, settings, settings.configured_endpoint()?))
    });
    let Some((site_id, settings, endpoint)) = configured else {
        state.metrics.login("cookie_not_configured");
        return Err(ApiError::bad_request(
            "cookie_login_not_configured",
            "cookie login is not configured for this site",
        ));
    };
    // Step 2.
    let Some(cookie) = request.cookie.as_deref().filter(|c| is_valid_cookie(c)) else {
        state.metrics.login("cookie_invalid_cookie");
        return Err(ApiError::bad_request(
            "invalid_cookie",
            "the cookie must be 1 to 4096 characters from 0-9 A-Z a-z $-_.+!*'()%",
        ));
    };
    let attempt = Attempt::new(site_id, Flow::Cookie, &client_ip);
    // Steps 3 and 4.
    let answer = match state
        .cookie_login
        .verify_with_clock(&state.clock, site_id, settings, endpoint, cookie)
        .await
    {
        Ok(Verdict::Answer(answer)) => answer,
        Ok(Verdict::Rejected(status)) => {
            attempt
                .failed(
                    state,
                    "login_failed",
                    json!({ "cause": "endpoint_rejected", "status": status.as_u16() }),
                )
                .await;
            return Err(login_failed());
        }
        Err(reason) if reason.is_shed() => {
            // Answered without contacting the endpoint (breaker open, or no slot
            // could be had in time): counted, not audited, so an outage or a flood
            // cannot turn into one store write per request.
            tracing::debug!(site_id, reason = %reason, "cookie verification shed");
            attempt.count(state, "shed");
            return Err(unavailable());
        }
        Err(reason) => {
            tracing::warn!(site_id, reason = %reason, "cookie verification unavailable");
            attempt
                .failed(
                    state,
                    "verification_unavailable",
                    json!({ "detail": reason.to_string() }),
                )
                .await;
            return Err(unavailable());
        }
    };
    if let Some(message) = mapping::site_error(&answer, &settings.mapping) {
        // The site's text is for its operators (audit log), never for the browser.
        attempt
            .failed(
                state,
                "login_failed",
                json!({ "cause": "site_error", "site_message": message }),
            )
            .await;
        return Err(login_failed());
    }
    // Step 5.
    let profile = match mapping::map_profile(&answer, &settings.mapping) {
        Ok(profile) => profile,
        Err(invalid) => {
            attempt
                .failed(
                    state,
                    "verification_invalid_response",
                    json!({ "field": invalid.field, "detail": invalid.to_string() }),
                )
                .await;
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "verification_invalid_response",
                invalid.to_string(),
            ));
        }
    };
    sign_in(state, &attempt, settings, profile).await
}

/// Steps 6 and 7, through the sign-in pipeline.
async fn sign_in(
    state: &AppState,
    attempt: &Attempt,
    settings: &CookieLoginSettings,
    profile: MappedProfile,
) -> Result<Response, ApiError> {
    let reverify_after = i64::try_from(settings.reverify_interval_ms).unwrap_or(i64::MAX);
    let session = Grant::Session {
        kind: SessionKind::Cookie,
        reverify_after_ms: Some(reverify_after),
    };
    let signed_in = signin::sign_in(
        state,
        attempt,
        Identity::Asserted(profile.asserted()),
        session,
    )
    .await?;
    let (login, started) = SessionLogin::of(signed_in)?;
    let body = CookieLoginResponse {
        login,
        reverify_at: rfc3339(started.reverify_at.unwrap_or(started.expires_at)),
    };
    Ok(no_store(Json(body).into_response()))
}

fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "verification_unavailable",
        "the site's login could not be verified; try again later",
    )
}

fn login_failed() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        "the site did not confirm this login",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values() {
        assert!(is_valid_cookie(
            "someKindaSessionID456745674567456745674567"
        ));
        assert!(is_valid_cookie("a$b-c_d.e+f!g*h'i(j)k%20"));
        assert!(is_valid_cookie(&"x".repeat(4096)));
        for bad in [
            "", " ", "a b", "a;b", "a\"b", "a<b", "a,b", "a=b", "é", "a\u{1}b", "a\tb", "a/b",
            "a\\b",
        ] {
            assert!(!is_valid_cookie(bad), "{bad:?}");
        }
        assert!(!is_valid_cookie(&"x".repeat(4097)));
    }
}
