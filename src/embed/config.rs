//! `GET /rest/v1/sites/{site_id}/embed-config`: what the embed script must know about
//! a site before it can log anyone in — the login mode, the name of the site's cookie,
//! and what the widget lets users do on their own (the account-handling switches, §6.1).
//!
//! Everything here is already public (the cookie name is visible in any browser on the
//! site), nothing is credentialed, and the answer is the same for every caller, so it is
//! served with `Access-Control-Allow-Origin: *` and may be cached by shared caches. The
//! cookie endpoint URL, its custom headers and the mapping are never part of it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::app::AppState;
use crate::http::parse_site_id;
use crate::http::ApiError;
use crate::settings::AccountHandling;
use crate::store::sites::Site;

/// The public configuration of one site for the embed script.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmbedConfig {
    pub site_id: i64,
    /// `cookie` when cookie login (SPEC §5) is configured, else `server` (SPEC §3).
    pub login_mode: &'static str,
    /// The site's cookie the script reads; `null` in `server` mode.
    pub cookie_name: Option<String>,
    /// The switches of SPEC §6.1: whether the widget offers its own sign-in form and
    /// lets users change their display name and avatar.
    pub account_handling: AccountHandling,
}

impl EmbedConfig {
    pub fn of(site: &Site) -> Self {
        let cookie_name = cookie_name(site);
        EmbedConfig {
            site_id: site.site_id,
            login_mode: if cookie_name.is_some() {
                "cookie"
            } else {
                "server"
            },
            cookie_name,
            account_handling: site.settings.account_handling,
        }
    }
}

/// The cookie the script must read, when the site has cookie login configured.
/// Only a complete configuration counts: a cookie name without an endpoint cannot log in.
fn cookie_name(site: &Site) -> Option<String> {
    let cookie = site.settings.cookie_login.as_ref()?;
    cookie.configured_endpoint()?;
    cookie.cookie_name.clone()
}

fn public_headers() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
        // Short: a site that turns cookie login on should see it within a minute.
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        ),
    ]
}

/// Public login configuration of a site for the embed script.
#[utoipa::path(get, path = "/rest/v1/sites/{site_id}/embed-config", operation_id = "embed_config", tag = "embed",
    params(("site_id" = String, Path, description = "The Site ID")),
    responses(
        (status = 200, description = "Login mode, cookie name and account-handling switches", body = EmbedConfig),
        (status = 404, description = "No such active site", body = crate::openapi::ErrorSchema),
    ))]
#[tracing::instrument(skip_all)]
pub async fn embed_config(
    State(state): State<AppState>,
    // A rejected path (`%FF` is not UTF-8) is just another id that names no site: the
    // extractor's own rejection would be text/plain (SPEC §9).
    site_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let not_found = || {
        let mut response = ApiError::new(
            StatusCode::NOT_FOUND,
            "site_not_found",
            "there is no active site with this id",
        )
        .into_response();
        // Browsers must be able to read the 404 too, to stop trying.
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        response
    };
    let Some(site_id) = site_id.ok().and_then(|Path(id)| parse_site_id(&id)) else {
        return Ok(not_found());
    };
    match state.store.get_site(site_id).await? {
        Some(site) if site.active => {
            Ok((public_headers(), Json(EmbedConfig::of(&site))).into_response())
        }
        _ => Ok(not_found()),
    }
}
