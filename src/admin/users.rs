//! A site's users as its administrators see them: search, detail, sessions, local
//! users, bans, "log out everywhere", role and status changes, deletion.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{bans, page_limit, time, validate, AdminError, AdminResult, Ctx};
use crate::password::hashing::{self, HashPool};
use crate::store::audit::AuditFilter;
use crate::store::user_admin::{Change, UserQuery, UserSession, UserStatus};
use crate::store::users::{Ban, NewLocalUser, User};

/// Most users per page.
pub const MAX_PAGE: i64 = 200;
pub const DEFAULT_PAGE: i64 = 50;

/// A user as administrators see it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub user_id: i64,
    /// The site's own id of the user (SSO users).
    pub external_id: Option<String>,
    /// The user name of a local user.
    pub username: Option<String>,
    pub display_name: String,
    pub email: Option<String>,
    pub photo_url: Option<String>,
    pub role: String,
    pub active: bool,
    pub deleted: bool,
    pub status: UserStatus,
    pub created_at: String,
    pub updated_at: String,
    /// Detail only (not in lists): the last successful login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<String>,
    /// The ban in force, if any.
    pub ban: Option<BanView>,
    /// Detail only (not in lists): live sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_sessions: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BanView {
    /// `permanent` or `temporary`.
    pub level: &'static str,
    /// End of a temporary ban.
    pub until: Option<String>,
    /// Shown to the user.
    pub reason: String,
    /// Private to moderators.
    pub note: String,
    pub created_at: String,
    /// Who banned (`cli`, `api_key:N`, `user:N`); detail only.
    pub by: Option<String>,
}

impl UserView {
    fn of(user: &User, now: i64) -> Self {
        Self {
            user_id: user.user_id,
            external_id: user.external_id.clone(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            photo_url: user.photo_url.clone(),
            role: user.role.clone(),
            active: user.active,
            deleted: user.deleted,
            status: UserStatus::of(user, now),
            created_at: time(user.created_at),
            updated_at: time(user.updated_at),
            last_login_at: None,
            ban: user.ban_in_force(now).map(BanView::of),
            active_sessions: None,
        }
    }
}

impl BanView {
    fn of(ban: &Ban) -> Self {
        Self {
            level: if ban.is_permanent() {
                "permanent"
            } else {
                "temporary"
            },
            until: ban.ends_at.map(time),
            reason: ban.reason.clone(),
            note: ban.note.clone(),
            created_at: time(ban.banned_at),
            by: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    pub users: Vec<UserView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /admin/api/v1/users` parameters, already parsed.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    pub q: Option<String>,
    pub status: Option<UserStatus>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// A public handle of the session (never its id or hash).
    pub session_ref: String,
    /// `server`, `cookie` or `console`.
    pub kind: String,
    pub started_at: String,
    pub last_seen_at: String,
    pub idle_expires_at: String,
    pub expires_at: String,
    pub client_ip: Option<String>,
}

impl From<&UserSession> for SessionView {
    fn from(s: &UserSession) -> Self {
        Self {
            session_ref: s.session_ref(),
            kind: s.kind.clone(),
            started_at: time(s.created_at),
            last_seen_at: time(s.last_seen_at),
            idle_expires_at: time(s.idle_expires_at),
            expires_at: time(s.expires_at),
            client_ip: s.client_ip.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// `POST /admin/api/v1/users`: a local user who logs in with a password.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(min_length = 1, max_length = 150)]
    pub username: String,
    #[schema(value_type = String, min_length = 12, max_length = 1024)]
    pub password: SecretString,
    pub email: Option<String>,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub first_name: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub last_name: String,
    /// `user` (default), `agent` or `admin`.
    pub role: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `POST /admin/api/v1/users/{user_id}/ban`
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BanRequest {
    /// Shown to the user.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// Private to moderators.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
    /// End of the ban (RFC 3339, in the future); absent: permanent.
    pub until: Option<String>,
}

/// `PATCH /admin/api/v1/users/{user_id}`
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// `user`, `agent` or `admin`; a change ends the user's console sessions.
    pub role: Option<String>,
    /// `false` deactivates the user (its sessions end), `true` reactivates it.
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ended {
    /// How many sessions ended.
    pub ended: u64,
}

fn no_such_user(ctx: &Ctx<'_>, user_id: i64) -> AdminError {
    AdminError::NotFound(format!("site {} has no user {user_id}", ctx.site_id))
}

async fn user(ctx: &Ctx<'_>, user_id: i64) -> AdminResult<User> {
    ctx.store
        .get_user(ctx.site_id, user_id)
        .await?
        .ok_or_else(|| no_such_user(ctx, user_id))
}

pub async fn search(ctx: &Ctx<'_>, search: &UserSearch) -> AdminResult<UserPage> {
    let limit = page_limit(search.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let before_user_id = match search.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| AdminError::invalid("cursor", "cursor is not one this API gave"))?,
        ),
    };
    let text = match search.q.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q) => Some(
            validate::text_field("search text", q, 1, 255)
                .map_err(|m| AdminError::invalid("q", m))?,
        ),
    };
    let query = UserQuery {
        text,
        status: search.status,
        before_user_id,
        limit: limit + 1,
    };
    let mut users = ctx.store.search_users(ctx.site_id, &query, ctx.now).await?;
    let more = users.len() as i64 > limit;
    users.truncate(limit as usize);
    let next_cursor = more
        .then(|| users.last().map(|u| u.user_id.to_string()))
        .flatten();
    Ok(UserPage {
        users: users.iter().map(|u| UserView::of(u, ctx.now)).collect(),
        next_cursor,
    })
}

/// One user with its ban (and who imposed it), last login and live sessions.
pub async fn show(ctx: &Ctx<'_>, user_id: i64) -> AdminResult<UserView> {
    let user = user(ctx, user_id).await?;
    let mut view = UserView::of(&user, ctx.now);
    view.active_sessions = Some(
        ctx.store
            .count_user_sessions(ctx.site_id, user_id, ctx.now)
            .await?,
    );
    view.last_login_at = ctx
        .store
        .last_login_at(ctx.site_id, user_id)
        .await?
        .map(time);
    if let Some(ban) = &mut view.ban {
        let filter = AuditFilter {
            action: Some("user.banned".into()),
            user_id: Some(user_id),
            ..AuditFilter::default()
        };
        let events = ctx.store.search_audit(ctx.site_id, &filter, 1).await?;
        ban.by = events.first().map(|e| e.actor.clone());
    }
    Ok(view)
}

pub async fn sessions(ctx: &Ctx<'_>, user_id: i64) -> AdminResult<SessionList> {
    user(ctx, user_id).await?;
    let sessions = ctx
        .store
        .user_sessions(ctx.site_id, user_id, ctx.now)
        .await?;
    Ok(SessionList {
        sessions: sessions.iter().map(SessionView::from).collect(),
    })
}

/// Creates a local user; its password is hashed off the async runtime (in a slot of
/// `pool` when the server gives one, so this cannot starve logins).
pub async fn create(
    ctx: &Ctx<'_>,
    new: &NewUser,
    pool: Option<&HashPool>,
) -> AdminResult<UserView> {
    let invalid = |field: &'static str| move |m: String| AdminError::invalid(field, m);
    let username = validate::username(&new.username).map_err(invalid("username"))?;
    let email = new
        .email
        .as_deref()
        .map(validate::email)
        .transpose()
        .map_err(invalid("email"))?;
    let first_name = validate::text_field("first name", &new.first_name, 0, 100)
        .map_err(invalid("first_name"))?;
    let last_name =
        validate::text_field("last name", &new.last_name, 0, 100).map_err(invalid("last_name"))?;
    let role = validate::role(new.role.as_deref().unwrap_or("user")).map_err(invalid("role"))?;
    hashing::check_policy(secrecy::ExposeSecret::expose_secret(&new.password))
        .map_err(|e| AdminError::invalid("password", e.to_string()))?;
    let permit = match pool {
        Some(pool) => Some(
            pool.acquire()
                .await
                .map_err(|e| AdminError::Internal(e.into()))?,
        ),
        None => None,
    };
    let password = new.password.clone();
    let password_hash = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        hashing::hash_password(&password)
    })
    .await
    .map_err(|e| AdminError::Internal(e.into()))?
    .map_err(|e| AdminError::Internal(anyhow::anyhow!("password hashing failed: {e}")))?;
    let user = NewLocalUser {
        site_id: ctx.site_id,
        username: username.clone(),
        email,
        first_name,
        last_name,
        role,
        password_hash,
    };
    let user_id = ctx
        .store
        .create_local_user(&user, ctx.now, &ctx.actor)
        .await?
        .ok_or_else(|| {
            AdminError::Conflict(format!(
                "site {} already has a user named {username:?}",
                ctx.site_id
            ))
        })?;
    show(ctx, user_id).await
}

/// Bans a user: its sessions end and its password-login JWTs are refused at once
/// (every JWT use reads the user).
pub async fn ban(ctx: &Ctx<'_>, user_id: i64, request: &BanRequest) -> AdminResult<UserView> {
    let until = request
        .until
        .as_deref()
        .map(bans::parse_time)
        .transpose()
        .map_err(|m| AdminError::invalid("until", m))?;
    let ban = bans::new_ban(ctx.now, until, &request.reason, &request.note)
        .map_err(|e| AdminError::invalid(e.field, e.message))?;
    if !ctx
        .store
        .ban_user(ctx.site_id, user_id, &ban, &ctx.actor)
        .await?
    {
        return Err(no_such_user(ctx, user_id));
    }
    show(ctx, user_id).await
}

/// Lifts a ban; a user who is not banned is left alone (nothing audited).
pub async fn unban(ctx: &Ctx<'_>, user_id: i64) -> AdminResult<(UserView, bool)> {
    let before = user(ctx, user_id).await?;
    let lifted = before.ban.is_some()
        && ctx
            .store
            .unban_user(ctx.site_id, user_id, ctx.now, &ctx.actor)
            .await?;
    Ok((show(ctx, user_id).await?, lifted))
}

/// Ends every session of the user and refuses its password-login JWTs issued so far.
pub async fn logout(ctx: &Ctx<'_>, user_id: i64) -> AdminResult<Ended> {
    match ctx
        .store
        .log_user_out_everywhere(ctx.site_id, user_id, ctx.event("user.logged_out"))
        .await?
    {
        Change::Done(ended) => Ok(Ended { ended }),
        Change::NoSuchUser | Change::Unchanged => Err(no_such_user(ctx, user_id)),
    }
}

pub async fn end_session(ctx: &Ctx<'_>, user_id: i64, session_ref: &str) -> AdminResult<()> {
    user(ctx, user_id).await?;
    if ctx
        .store
        .end_user_session(
            ctx.site_id,
            user_id,
            session_ref,
            ctx.event("session.ended"),
        )
        .await?
    {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "user {user_id} has no live session {session_ref:?}"
        )))
    }
}

/// Changes role and/or active flag, each in its own audited transaction, after both
/// were validated.
pub async fn patch(ctx: &Ctx<'_>, user_id: i64, patch: &UserPatch) -> AdminResult<UserView> {
    let role = patch
        .role
        .as_deref()
        .map(validate::role)
        .transpose()
        .map_err(|m| AdminError::invalid("role", m))?;
    let current = user(ctx, user_id).await?;
    if current.deleted && (role.is_some() || patch.active.is_some()) {
        return Err(AdminError::Conflict(format!(
            "user {user_id} is deleted and cannot be changed"
        )));
    }
    if let Some(role) = role {
        let event = ctx.event("user.role_changed");
        if let Change::NoSuchUser = ctx
            .store
            .set_user_role(ctx.site_id, user_id, &role, event)
            .await?
        {
            return Err(no_such_user(ctx, user_id));
        }
    }
    if let Some(active) = patch.active {
        // False when already in that state: nothing to do, nothing audited.
        ctx.store
            .set_user_active(ctx.site_id, user_id, active, ctx.now, &ctx.actor)
            .await?;
    }
    show(ctx, user_id).await
}

/// Deletes a user: sessions end, the profile is erased, the id is never reused.
/// Deleting a deleted user changes nothing.
pub async fn delete(ctx: &Ctx<'_>, user_id: i64) -> AdminResult<()> {
    user(ctx, user_id).await?;
    ctx.store
        .mark_user_deleted(ctx.site_id, user_id, ctx.now, &ctx.actor)
        .await?;
    Ok(())
}
