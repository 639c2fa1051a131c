//! `/admin/users` — search (`q`, `status`) with paging, and `/admin/users/{user_id}`:
//! profile, ban state, sessions; ban, unban, end one or all sessions, (de)activate,
//! delete. Destructive actions ask first on a confirmation page.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, Confirm, ConsoleError, Form, Layout};
use super::session::{Console, ConsolePost};
use crate::admin::users::{self, BanRequest, SessionView, UserPatch, UserSearch, UserView};
use crate::admin::AdminError;
use crate::app::AppState;
use crate::store::user_admin::UserStatus;

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    layout: Layout,
    q: String,
    status: String,
    statuses: [&'static str; 4],
    users: Vec<UserView>,
    next: Option<String>,
}

fn search_href(q: &str, status: &str, cursor: &str) -> String {
    let pairs = [("q", q), ("status", status), ("cursor", cursor)];
    let pairs: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("/admin/users?{query}")
}

/// `GET /admin/users?q=&status=&cursor=`
pub async fn list(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let query = Form::query(query.as_deref());
    let q = query.non_empty("q").unwrap_or("").to_string();
    let status_text = query.non_empty("status").unwrap_or("").to_string();
    let status = match status_text.as_str() {
        "" => None,
        text => Some(UserStatus::parse(text).ok_or_else(|| {
            ConsoleError::Invalid("status: must be active, banned, inactive or deleted".into())
        })?),
    };
    let search = UserSearch {
        q: (!q.is_empty()).then(|| q.clone()),
        status,
        limit: None,
        cursor: query.non_empty("cursor").map(str::to_string),
    };
    let found = users::search(&console.ctx(&state), &search).await?;
    let page = UsersPage {
        layout: Layout::of(&state, &console, "users", "Users")
            .await?
            .with_flash(&query),
        next: found
            .next_cursor
            .as_deref()
            .map(|cursor| search_href(&q, &status_text, cursor)),
        q,
        status: status_text,
        statuses: UserStatus::ALL.map(UserStatus::as_str),
        users: found.users,
    };
    Ok(page::ok(&page))
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    layout: Layout,
    user: UserView,
    sessions: Vec<SessionView>,
    more_sessions: usize,
    csrf_token: String,
}

/// Most sessions listed on a user's page.
const SHOWN_SESSIONS: usize = 100;

fn user_id(text: &str) -> Result<i64, ConsoleError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ConsoleError::NotFound("There is no such user.".into()))
}

async fn user_page(
    state: &AppState,
    console: &Console,
    id: i64,
    layout: Layout,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let ctx = console.ctx(state);
    let user = users::show(&ctx, id).await?;
    let mut sessions = users::sessions(&ctx, id).await?.sessions;
    // Pages stay small; "End all sessions" reaches the rest.
    let more_sessions = sessions.len().saturating_sub(SHOWN_SESSIONS);
    sessions.truncate(SHOWN_SESSIONS);
    let page = UserPage {
        layout,
        user,
        sessions,
        more_sessions,
        csrf_token: console.csrf_token.clone(),
    };
    Ok(page::render(status, &page))
}

/// `GET /admin/users/{user_id}`
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let id = user_id(&id)?;
    let query = Form::query(query.as_deref());
    let layout = Layout::of(&state, &console, "users", format!("User {id}"))
        .await?
        .with_flash(&query);
    user_page(&state, &console, id, layout, StatusCode::OK).await
}

/// A `datetime-local` value (no zone) is read as UTC; RFC 3339 passes as it is.
fn until_of(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(
                t.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
    }
    Some(text.to_string())
}

fn back(id: i64) -> String {
    format!("/admin/users/{id}")
}

/// `POST /admin/users/{user_id}/ban` (`reason`, `note`, `until`)
pub async fn ban(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsolePost { console, form }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let id = user_id(&id)?;
    let request = BanRequest {
        reason: form.get("reason").unwrap_or("").to_string(),
        note: form.get("note").unwrap_or("").to_string(),
        until: until_of(form.get("until").unwrap_or("")),
    };
    match users::ban(&console.ctx(&state), id, &request).await {
        Ok(_) => Ok(page::done(&back(id), "user_banned")),
        Err(AdminError::Invalid { field, message }) => {
            let layout = Layout::of(&state, &console, "users", format!("User {id}"))
                .await?
                .with_error(Some(page::field_message(&field, &message)));
            user_page(&state, &console, id, layout, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/users/{user_id}/unban`
pub async fn unban(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let id = user_id(&id)?;
    users::unban(&console.ctx(&state), id).await?;
    Ok(page::done(&back(id), "user_unbanned"))
}

async fn set_active(
    state: &AppState,
    console: &Console,
    id: i64,
    active: bool,
) -> Result<(), ConsoleError> {
    let patch = UserPatch {
        role: None,
        active: Some(active),
    };
    users::patch(&console.ctx(state), id, &patch).await?;
    Ok(())
}

/// `POST /admin/users/{user_id}/activate`
pub async fn activate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let id = user_id(&id)?;
    set_active(&state, &console, id, true).await?;
    Ok(page::done(&back(id), "user_activated"))
}

/// `POST /admin/users/{user_id}/deactivate`
pub async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let id = user_id(&id)?;
    set_active(&state, &console, id, false).await?;
    Ok(page::done(&back(id), "user_deactivated"))
}

/// `POST /admin/users/{user_id}/logout`: every session of the user ends.
pub async fn logout(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let id = user_id(&id)?;
    users::logout(&console.ctx(&state), id).await?;
    Ok(page::done(&back(id), "user_logged_out"))
}

/// `POST /admin/users/{user_id}/sessions/{session_ref}/end`
pub async fn end_session(
    State(state): State<AppState>,
    Path((id, session_ref)): Path<(String, String)>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let id = user_id(&id)?;
    users::end_session(&console.ctx(&state), id, &session_ref).await?;
    Ok(page::done(&back(id), "session_ended"))
}

/// `POST /admin/users/{user_id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let id = user_id(&id)?;
    users::delete(&console.ctx(&state), id).await?;
    Ok(page::done("/admin/users", "user_deleted"))
}

/// The confirmation page of a destructive action on a user.
async fn confirm(
    state: &AppState,
    console: &Console,
    id: &str,
    what: &'static str,
    title: &str,
    message: &str,
    button: &'static str,
) -> Result<Response, ConsoleError> {
    let id = user_id(id)?;
    let user = users::show(&console.ctx(state), id).await?;
    let name = if user.display_name.is_empty() {
        format!("user {id}")
    } else {
        format!("{} (user {id})", user.display_name)
    };
    let page = Confirm {
        layout: Layout::of(state, console, "users", title).await?,
        message: message.replace("{user}", &name),
        action: format!("/admin/users/{id}/{what}"),
        button,
        back: back(id),
        csrf_token: console.csrf_token.clone(),
    };
    Ok(page::ok(&page))
}

/// `GET /admin/users/{user_id}/deactivate`
pub async fn confirm_deactivate(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    confirm(&state, &console, &id, "deactivate", "Deactivate a user",
        "Deactivate {user}? Their sessions end at once and they cannot log in until activated again.",
        "Deactivate").await
}

/// `GET /admin/users/{user_id}/logout`
pub async fn confirm_logout(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    confirm(
        &state,
        &console,
        &id,
        "logout",
        "End all sessions",
        "End every session of {user}? They are logged out everywhere at once.",
        "End all sessions",
    )
    .await
}

/// `GET /admin/users/{user_id}/delete`
pub async fn confirm_delete(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    confirm(&state, &console, &id, "delete", "Delete a user",
        "Delete {user}? Their sessions end, their profile is erased and the id is never used again. This cannot be undone.",
        "Delete the user").await
}
