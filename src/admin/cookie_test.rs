//! `POST /admin/api/v1/site/cookie-login/test`: one verification of a cookie with the
//! saved settings, or with unsaved ones laid over them, run exactly as steps 2–5 of a
//! cookie login (SPEC §5.2) would run it — same guarded client, timeout, size cap and
//! mapping — but creating and changing nothing, and telling the administrator what
//! was sent, what came back and why it would or would not log someone in.

use serde::{Deserialize, Serialize};

use super::{AdminError, AdminResult, Ctx};
use crate::cookie_login::login::is_valid_cookie;
use crate::cookie_login::mapping::{self, MappedProfile};
use crate::cookie_login::patch::{CookieLoginPatch, EndpointPolicy};
use crate::cookie_login::verifier::{verification_url, RawAnswer, Unavailable, Verdict};
use crate::cookie_login::Verifier;

#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CookieTestRequest {
    /// A value of the site's cookie, as a browser would send it.
    #[schema(min_length = 1, max_length = 4096)]
    pub cookie: String,
    /// Unsaved settings to try, laid over the saved ones (same fields as `PATCH
    /// /admin/api/v1/site`'s `cookie_login`).
    #[serde(default)]
    pub settings: Option<CookieLoginPatch>,
}

impl std::fmt::Debug for CookieTestRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieTestRequest").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CookieTestReport {
    pub request: SentRequest,
    /// What the endpoint answered; null when no answer came.
    pub response: Option<Answer>,
    /// The profile a login would store; null unless `outcome` is `ok`.
    pub mapped: Option<MappedView>,
    /// `ok`, `login_failed`, `verification_unavailable` or `verification_invalid_response`:
    /// what a real login would answer.
    pub outcome: &'static str,
    /// Why, in one sentence.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SentRequest {
    pub url: String,
    /// Custom header values masked.
    pub headers: Vec<crate::settings::cookie_login::HeaderView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    /// The body as text (invalid UTF-8 replaced), cut at 64 KiB.
    pub body: String,
}

/// The mapped profile, with the field names of the mapping.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MappedView {
    pub uid: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
    pub email: String,
    #[serde(rename = "photoURL")]
    pub photo_url: Option<String>,
    #[serde(rename = "socialData")]
    #[schema(value_type = Option<Object>)]
    pub social_data: Option<serde_json::Value>,
}

impl From<MappedProfile> for MappedView {
    fn from(p: MappedProfile) -> Self {
        Self {
            uid: p.uid,
            display_name: p.display_name,
            email: p.email,
            photo_url: p.photo_url,
            social_data: p
                .social_data
                .and_then(|text| serde_json::from_str(&text).ok()),
        }
    }
}

pub async fn run(
    ctx: &Ctx<'_>,
    verifier: &Verifier,
    policy: EndpointPolicy,
    request: &CookieTestRequest,
) -> AdminResult<CookieTestReport> {
    let site = ctx
        .store
        .get_site(ctx.site_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("there is no site {}", ctx.site_id)))?;
    let saved = site.settings.cookie_login.as_ref();
    let settings = match &request.settings {
        Some(patch) => patch.apply_to(saved, policy).map_err(|e| {
            AdminError::invalid(
                format!("settings.{}", e.field.trim_start_matches("cookie_login.")),
                e.message,
            )
        })?,
        None => saved.cloned(),
    }
    .unwrap_or_default();
    // Step 1, for the settings under test.
    let Some(endpoint) = settings.configured_endpoint() else {
        return Err(AdminError::invalid(
            "settings",
            "cookie login needs both a cookie name and an endpoint",
        ));
    };
    // Step 2.
    if !is_valid_cookie(&request.cookie) {
        return Err(AdminError::invalid(
            "cookie",
            "the cookie must be 1 to 4096 characters from 0-9 A-Z a-z $-_.+!*'()%",
        ));
    }
    let url = verification_url(endpoint, &request.cookie)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{endpoint}…"));
    let mut headers = settings.view().headers;
    headers.push(crate::settings::cookie_login::HeaderView {
        name: "Accept".into(),
        value: "application/json".into(),
    });
    let sent = SentRequest { url, headers };
    // Steps 3 and 4; the policy of the server decides what may be reached, as at login.
    let answer = verifier.probe(&settings, endpoint, &request.cookie).await;
    let report = |response: Option<&RawAnswer>, outcome, detail: String, mapped| CookieTestReport {
        request: sent.clone(),
        response: response.map(|raw| Answer {
            status: raw.status.as_u16(),
            content_type: raw.content_type.clone(),
            body: String::from_utf8_lossy(&raw.body).into_owned(),
        }),
        mapped,
        outcome,
        detail,
    };
    let raw = match answer {
        Ok(raw) => raw,
        Err(reason) => {
            return Ok(report(
                None,
                "verification_unavailable",
                unavailable_detail(&reason),
                None,
            ))
        }
    };
    let verdict = match raw.judge() {
        Ok(verdict) => verdict,
        Err(reason) => {
            return Ok(report(
                Some(&raw),
                "verification_unavailable",
                unavailable_detail(&reason),
                None,
            ))
        }
    };
    let json = match verdict {
        Verdict::Rejected(status) => {
            return Ok(report(
                Some(&raw),
                "login_failed",
                format!(
                    "the endpoint answered {}: it does not recognise this cookie",
                    status.as_u16()
                ),
                None,
            ))
        }
        Verdict::Answer(json) => json,
    };
    if let Some(message) = mapping::site_error(&json, &settings.mapping) {
        return Ok(report(
            Some(&raw),
            "login_failed",
            format!(
                "the answer has an error at {}: {message}",
                settings.mapping.error
            ),
            None,
        ));
    }
    // Step 5.
    Ok(match mapping::map_profile(&json, &settings.mapping) {
        Ok(profile) => report(
            Some(&raw),
            "ok",
            format!("this cookie would log in the site's user {:?}", profile.uid),
            Some(profile.into()),
        ),
        Err(invalid) => report(
            Some(&raw),
            "verification_invalid_response",
            invalid.to_string(),
            None,
        ),
    })
}

/// The reason, in the words an administrator needs ("answered 503", "must use https").
fn unavailable_detail(reason: &Unavailable) -> String {
    match reason {
        Unavailable::Status(status) => {
            format!(
                "the endpoint answered {status}: logins would fail with verification_unavailable"
            )
        }
        other => other.to_string(),
    }
}
