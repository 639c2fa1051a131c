//! `PATCH /rest/v1/session/profile` (SPEC §6.1): the user behind a session changes
//! their own display name and/or avatar from the widget, unless the site switched that
//! off. Checked in this order, each failure changing nothing: the session (401), the
//! page's origin (403), the body (400), the site's switches (403
//! `profile_field_locked`), the values (400). The change and its audit event are one
//! transaction, and `GET /rest/v1/session` shows it at once (it reads the user row).
//! A later SSO login overwrites it: the site stays the source of truth.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::cors::{self, CorsSite};
use super::header::{invalid_session, session_hash};
use super::lookup::live_platform_session;
use crate::app::AppState;
use crate::http::form::Params;
use crate::http::{no_store, read_body, ApiError, ClientIp};
use crate::oauth2::error::invalid_request;
use crate::profile::{self, PhotoSchemes};
use crate::store::audit::{Actor, NewAuditEvent};
use crate::store::sessions::SessionRecord;
use crate::store::user_admin::ProfileChange;

/// The audit action of a user's own profile change.
pub const AUDIT_PROFILE_CHANGED: &str = "user.profile_changed";

const DISPLAY_NAME: &str = "display_name";
const PHOTO_URL: &str = "photo_url";

/// The request body, form or JSON: either field or both, nothing else.
#[derive(utoipa::ToSchema)]
pub struct ProfileChangeRequest {
    /// The new display name: 1–255 characters after trimming (stored trimmed).
    #[schema(min_length = 1, max_length = 255)]
    display_name: Option<String>,
    /// The new avatar: an absolute `https` URL of at most 2048 characters; an empty
    /// string removes it.
    #[schema(max_length = 2048)]
    photo_url: Option<String>,
}

impl ProfileChangeRequest {
    fn read(params: &Params) -> Result<Self, ApiError> {
        if let Some(unknown) = params.unknown(&[DISPLAY_NAME, PHOTO_URL]) {
            return Err(invalid_request(format!(
                "unknown field {unknown}: send display_name and/or photo_url"
            )));
        }
        let request = Self {
            display_name: params.get(DISPLAY_NAME).map(str::to_string),
            photo_url: params.get(PHOTO_URL).map(str::to_string),
        };
        if request.display_name.is_none() && request.photo_url.is_none() {
            return Err(invalid_request("send display_name and/or photo_url"));
        }
        Ok(request)
    }
}

/// What the widget shows of a user: the `user` of a browser login's answer, and the
/// answer of a profile change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WidgetUser {
    pub user_id: i64,
    /// Display name.
    pub name: String,
    pub photo_url: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/rest/v1/session/profile", operation_id = "session_profile_change",
    tag = "sessions",
    params(("X-Tessera-Session" = String, Header, description = "The session id")),
    request_body(content = ProfileChangeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed (or already so); the user as the widget shows it", body = WidgetUser),
        (status = 400, description = "invalid_request: no field, an unknown field, or a value out of bounds (the description names it)", body = crate::openapi::ErrorSchema),
        (status = 401, description = "invalid_session: unknown, expired or ended", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`profile_field_locked` (with `field`): the site switched that change off; or `origin_not_allowed`", body = crate::openapi::ErrorSchema),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn change_profile(
    State(state): State<AppState>,
    client_ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (site, result) = change(&state, client_ip, &headers, body).await;
    let response = match result {
        Ok(view) => no_store(Json(view).into_response()),
        Err(e) => e.into_response(),
    };
    cors::allow_origin(&state, &headers, site, response).await
}

async fn change(
    state: &AppState,
    client_ip: ClientIp,
    headers: &HeaderMap,
    body: Body,
) -> (CorsSite, Result<WidgetUser, ApiError>) {
    let now = state.now();
    let session = match session_hash(headers) {
        Ok(hash) => live_platform_session(state, &hash, now).await,
        Err(e) => Err(e),
    };
    let session = match session {
        Ok(session) => session,
        Err(e) => return (CorsSite::Unknown, Err(e)),
    };
    let site = CorsSite::Site(session.site_id);
    (site, apply(state, client_ip, headers, body, &session).await)
}

async fn apply(
    state: &AppState,
    client_ip: ClientIp,
    headers: &HeaderMap,
    body: Body,
    session: &SessionRecord,
) -> Result<WidgetUser, ApiError> {
    // The preflight lets any site's origin through: a page of another site must not
    // change this site's user.
    if !cors::origin_may_act(state, headers, session.site_id).await {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this origin is not an allowed origin of the session's site",
        ));
    }
    let bytes = read_body(body).await?;
    let request = ProfileChangeRequest::read(&Params::from_form_or_json_body(headers, &bytes)?)?;
    let (name, photo) = (
        request.display_name.as_deref(),
        request.photo_url.as_deref(),
    );
    // `find_session` found the site active a moment ago; gone since, the session is.
    let switches = match state.store.get_site(session.site_id).await? {
        Some(site) if site.active => site.settings.account_handling,
        _ => return Err(invalid_session("the session is unknown, expired or ended")),
    };
    if name.is_some() && switches.disable_display_name_changing {
        return Err(locked(DISPLAY_NAME));
    }
    if photo.is_some() && switches.disable_avatar_changing {
        return Err(locked(PHOTO_URL));
    }
    let change = ProfileChange {
        display_name: name
            .map(|raw| {
                profile::display_name(raw)
                    .map_err(|problem| invalid_request(format!("{DISPLAY_NAME} {problem}")))
            })
            .transpose()?,
        photo_url: photo.map(photo_url).transpose()?,
    };
    let current = WidgetUser {
        user_id: session.user_id,
        name: session.display_name.clone(),
        photo_url: session.photo_url.clone(),
    };
    let Some(detail) = changes(&current, &change) else {
        // Nothing to change: nothing written, nothing audited.
        return Ok(current);
    };
    let event = NewAuditEvent::new(
        Some(session.site_id),
        state.now(),
        &Actor::User {
            user_id: session.user_id,
        },
        AUDIT_PROFILE_CHANGED,
    )
    .from_ip(client_ip.text())
    .with_detail(detail);
    let shown = state
        .store
        .change_own_profile(session.site_id, session.user_id, &change, event)
        .await?
        // Banned, deactivated or deleted since the session was read: it just ended.
        .ok_or_else(|| invalid_session("the session is unknown, expired or ended"))?;
    tracing::info!(
        user_id = session.user_id,
        site_id = session.site_id,
        "profile changed"
    );
    Ok(WidgetUser {
        user_id: session.user_id,
        name: shown.display_name,
        photo_url: shown.photo_url,
    })
}

/// `photo_url`: an empty value removes the photo; anything else must be an absolute
/// https URL of at most 2048 characters.
fn photo_url(raw: &str) -> Result<Option<String>, ApiError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    profile::photo_url(raw, PhotoSchemes::HttpsOnly)
        .map(Some)
        .ok_or_else(|| {
            invalid_request(
                "photo_url must be an absolute https URL of at most 2048 characters (or empty, to remove the photo)",
            )
        })
}

/// 403 `profile_field_locked`, naming the field in the description and in `field`
/// (so the widget can point at it without parsing a sentence).
fn locked(field: &'static str) -> ApiError {
    ApiError::Body {
        status: StatusCode::FORBIDDEN,
        body: json!({
            "error": "profile_field_locked",
            "error_description": format!("{field} cannot be changed on this site"),
            "field": field,
        }),
    }
}

/// The audit detail of the fields `change` really changes, or `None` if none.
fn changes(current: &WidgetUser, change: &ProfileChange) -> Option<Value> {
    let mut detail = serde_json::Map::new();
    if let Some(name) = change.display_name.as_ref().filter(|n| **n != current.name) {
        detail.insert(
            DISPLAY_NAME.into(),
            json!({ "from": current.name, "to": name }),
        );
    }
    if let Some(photo) = change
        .photo_url
        .as_ref()
        .filter(|p| **p != current.photo_url)
    {
        detail.insert(
            PHOTO_URL.into(),
            json!({ "from": current.photo_url, "to": photo }),
        );
    }
    if detail.is_empty() {
        return None;
    }
    detail.insert("user_id".into(), current.user_id.into());
    detail.insert("via".into(), "widget".into());
    Some(Value::Object(detail))
}
