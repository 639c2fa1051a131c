//! Users: one model for SSO users (known by the site's `external_id`) and local
//! users (user name and password). `user_id` is unique across the installation.

use serde::Serialize;
use sqlx::{Database, Encode, Type};

use super::audit::{Actor, NewAuditEvent};
use super::node_cache::external_user_key;
use super::{audited_change, on_store, read_optional, Store, StoreError, StoreResult};
use crate::clock::Millis;

/// The roles a user can have on a site (SPEC §1); stored as their lower-case names.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
}

/// A ban: permanent when `ends_at` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ban {
    pub banned_at: Millis,
    pub ends_at: Option<Millis>,
    /// Shown to the user.
    pub reason: String,
    /// Private to moderators.
    pub note: String,
}

impl Ban {
    /// A temporary ban past its end no longer blocks.
    pub fn is_in_force(&self, now: Millis) -> bool {
        self.ends_at.is_none_or(|end| end > now)
    }

    pub fn is_permanent(&self) -> bool {
        self.ends_at.is_none()
    }

    /// The ban fields shared by every login path (SPEC §3.4), without `error`.
    pub fn public_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        let level = if self.is_permanent() {
            "permanent"
        } else {
            "temporary"
        };
        fields.insert("ban_level".into(), level.into());
        fields.insert("is_permanent".into(), self.is_permanent().into());
        fields.insert("end_date".into(), self.ends_at.into());
        fields.insert("reason".into(), self.reason.clone().into());
        fields
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub user_id: i64,
    pub site_id: i64,
    pub external_id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub display_name: String,
    pub first_name: String,
    pub last_name: String,
    pub photo_url: Option<String>,
    /// JSON text, as received.
    pub social_data: Option<String>,
    pub role: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub language: Option<String>,
    pub active: bool,
    pub deleted: bool,
    pub ban: Option<Ban>,
    /// Password-login JWTs issued before this time are refused ("log out everywhere").
    pub tokens_not_before: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl User {
    /// The ban that blocks this user now, if any.
    pub fn ban_in_force(&self, now: Millis) -> Option<&Ban> {
        self.ban.as_ref().filter(|b| b.is_in_force(now))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    user_id: i64,
    site_id: i64,
    external_id: Option<String>,
    username: Option<String>,
    email: Option<String>,
    display_name: String,
    first_name: String,
    last_name: String,
    photo_url: Option<String>,
    social_data: Option<String>,
    role: String,
    password_hash: Option<String>,
    language: Option<String>,
    active: bool,
    deleted: bool,
    banned_at: Option<Millis>,
    ban_ends_at: Option<Millis>,
    ban_reason: Option<String>,
    ban_note: Option<String>,
    tokens_not_before: Option<Millis>,
    created_at: Millis,
    updated_at: Millis,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        let ban = r.banned_at.map(|banned_at| Ban {
            banned_at,
            ends_at: r.ban_ends_at,
            reason: r.ban_reason.unwrap_or_default(),
            note: r.ban_note.unwrap_or_default(),
        });
        User {
            user_id: r.user_id,
            site_id: r.site_id,
            external_id: r.external_id,
            username: r.username,
            email: r.email,
            display_name: r.display_name,
            first_name: r.first_name,
            last_name: r.last_name,
            photo_url: r.photo_url,
            social_data: r.social_data,
            role: r.role,
            password_hash: r.password_hash,
            language: r.language,
            active: r.active,
            deleted: r.deleted,
            ban,
            tokens_not_before: r.tokens_not_before,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The columns of a [`UserRow`], as a literal so that queries can be constants.
macro_rules! user_columns {
    () => {
        "user_id, site_id, external_id, username, email, display_name, \
         first_name, last_name, photo_url, social_data, role, password_hash, language, active, \
         deleted, banned_at, ban_ends_at, ban_reason, ban_note, tokens_not_before, created_at, updated_at"
    };
}

pub(crate) use user_columns;

pub(crate) const USER_COLUMNS: &str = user_columns!();

pub(crate) const USER_BY_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE site_id = $1 AND user_id = $2"
);
const USER_BY_EXTERNAL_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE site_id = $1 AND external_id = $2"
);

impl UserRow {
    pub(crate) fn into_user(self) -> User {
        self.into()
    }

    /// The same row as `sqlx::FromRow`, from a direct SQLite read of `user_columns!()`
    /// (by position: name lookups cost more than the read; a test compares both paths).
    pub(crate) fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            user_id: row.get(0)?,
            site_id: row.get(1)?,
            external_id: row.get(2)?,
            username: row.get(3)?,
            email: row.get(4)?,
            display_name: row.get(5)?,
            first_name: row.get(6)?,
            last_name: row.get(7)?,
            photo_url: row.get(8)?,
            social_data: row.get(9)?,
            role: row.get(10)?,
            password_hash: row.get(11)?,
            language: row.get(12)?,
            active: row.get(13)?,
            deleted: row.get(14)?,
            banned_at: row.get(15)?,
            ban_ends_at: row.get(16)?,
            ban_reason: row.get(17)?,
            ban_note: row.get(18)?,
            tokens_not_before: row.get(19)?,
            created_at: row.get(20)?,
            updated_at: row.get(21)?,
        })
    }
}

/// The profile a site asserts for one of its users (accounts API or cookie login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoProfile {
    pub external_id: String,
    pub display_name: String,
    pub email: Option<String>,
    /// `None` leaves the stored value alone unless `replace_all` is set.
    pub photo_url: Option<String>,
    pub social_data: Option<String>,
    /// The site's answer is the whole truth (cookie login): absent fields are cleared.
    pub replace_all: bool,
}

impl SsoProfile {
    /// True when storing this profile would change nothing.
    pub fn matches(&self, user: &User) -> bool {
        let same_extra = if self.replace_all {
            user.photo_url == self.photo_url && user.social_data == self.social_data
        } else {
            self.photo_url.is_none() && self.social_data.is_none()
        };
        user.display_name == self.display_name && user.email == self.email && same_extra
    }
}

/// Creates the user `(site, external_id)` or brings its profile up to date, and
/// returns it. One atomic `INSERT … ON CONFLICT DO UPDATE`: concurrent first logins of
/// one user on PostgreSQL serialise on the unique index and all get the same row.
/// Binds: [`SsoProfile::upsert_values`]; its parameters appear in numeric order, so
/// SQLite binds them by position too.
pub(crate) const UPSERT_SSO_PROFILE: &str = concat!(
    "INSERT INTO users (site_id, external_id, display_name, email, email_key, photo_url, social_data, \
                        created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
     ON CONFLICT (site_id, external_id) DO UPDATE SET \
       display_name = excluded.display_name, \
       email = excluded.email, \
       email_key = excluded.email_key, \
       photo_url = CASE WHEN $9 THEN excluded.photo_url ELSE COALESCE(excluded.photo_url, users.photo_url) END, \
       social_data = CASE WHEN $9 THEN excluded.social_data ELSE COALESCE(excluded.social_data, users.social_data) END, \
       updated_at = excluded.updated_at \
     RETURNING ",
    user_columns!()
);

/// The values of [`UPSERT_SSO_PROFILE`], in parameter order.
pub(crate) type UpsertValues<'a> = (
    i64,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<String>,
    Option<&'a str>,
    Option<&'a str>,
    Millis,
    bool,
);

impl SsoProfile {
    pub(crate) fn upsert_values(&self, site_id: i64, now: Millis) -> UpsertValues<'_> {
        (
            site_id,
            &self.external_id,
            &self.display_name,
            self.email.as_deref(),
            self.email.as_deref().map(lookup_key),
            self.photo_url.as_deref(),
            self.social_data.as_deref(),
            now,
            self.replace_all,
        )
    }

    /// [`UPSERT_SSO_PROFILE`] with this profile bound, on the sqlx path of either backend
    /// (the SQLite batch writer binds [`SsoProfile::upsert_values`] itself).
    pub(crate) fn upsert_query<'q, DB>(
        &'q self,
        site_id: i64,
        now: Millis,
    ) -> sqlx::query::QueryAs<'q, DB, UserRow, <DB as Database>::Arguments<'q>>
    where
        DB: Database,
        i64: Encode<'q, DB> + Type<DB>,
        bool: Encode<'q, DB> + Type<DB>,
        &'q str: Encode<'q, DB> + Type<DB>,
        Option<&'q str>: Encode<'q, DB> + Type<DB>,
        Option<String>: Encode<'q, DB> + Type<DB>,
        UserRow: for<'r> sqlx::FromRow<'r, <DB as Database>::Row>,
    {
        let v = self.upsert_values(site_id, now);
        sqlx::query_as(UPSERT_SSO_PROFILE)
            .bind(v.0)
            .bind(v.1)
            .bind(v.2)
            .bind(v.3)
            .bind(v.4)
            .bind(v.5)
            .bind(v.6)
            .bind(v.7)
            .bind(v.8)
    }
}

/// Lower-cased key for case-insensitive lookups of user names and emails.
pub fn lookup_key(text: &str) -> String {
    text.to_lowercase()
}

/// A local user (password login) about to be created.
#[derive(Debug, Clone)]
pub struct NewLocalUser {
    pub site_id: i64,
    pub username: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
}

impl Store {
    pub async fn get_user(&self, site_id: i64, user_id: i64) -> StoreResult<Option<User>> {
        let row =
            read_optional!(self, USER_BY_ID, as UserRow, UserRow::from_direct, (site_id, user_id));
        Ok(row.map(User::from))
    }

    pub async fn find_user_by_external_id(
        &self,
        site_id: i64,
        external_id: &str,
    ) -> StoreResult<Option<User>> {
        let read = async {
            let row = read_optional!(
                self,
                USER_BY_EXTERNAL_ID,
                as UserRow,
                UserRow::from_direct,
                (site_id, external_id)
            );
            Ok::<_, StoreError>(row.map(User::from))
        };
        let key = || external_user_key(site_id, external_id);
        self.read_cached(|c| &c.users, key, |_| true, read).await
    }

    /// A local user by user name, or else by email (both case-insensitive).
    pub async fn find_user_by_login(&self, site_id: i64, login: &str) -> StoreResult<Option<User>> {
        let key = lookup_key(login);
        let row = on_store!(self, read, |pool| {
            sqlx::query_as::<_, UserRow>(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE site_id = $1 AND (username_key = $2 OR email_key = $2) \
                 ORDER BY CASE WHEN username_key = $2 THEN 0 ELSE 1 END, user_id LIMIT 1"
            ))
            .bind(site_id)
            .bind(&key)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(User::from))
    }

    /// Creates the user `(site, external_id)` or brings its profile up to date.
    /// Reads first, so a returning user with an unchanged profile costs no write;
    /// concurrent first logins of one user converge on one row (the upsert).
    pub async fn upsert_sso_user(
        &self,
        site_id: i64,
        profile: &SsoProfile,
        now: Millis,
    ) -> StoreResult<User> {
        if let Some(existing) = self
            .find_user_by_external_id(site_id, &profile.external_id)
            .await?
        {
            if profile.matches(&existing) {
                return Ok(existing);
            }
        }
        self.save_sso_profile(site_id, profile, now).await
    }

    /// The write half of [`Store::upsert_sso_user`] (see [`UPSERT_SSO_PROFILE`]); the
    /// login pipeline runs the same statement inside its commit (`store::logins`).
    pub async fn save_sso_profile(
        &self,
        site_id: i64,
        profile: &SsoProfile,
        now: Millis,
    ) -> StoreResult<User> {
        let row = on_store!(self, write, |pool| {
            profile.upsert_query(site_id, now).fetch_one(pool).await?
        });
        Ok(row.into())
    }

    /// Creates a local user; `None` when the user name is taken on that site.
    pub async fn create_local_user(
        &self,
        user: &NewLocalUser,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<Option<i64>> {
        let username_key = lookup_key(&user.username);
        let email_key = user.email.as_deref().map(lookup_key);
        let result = audited_change!(self, |tx| {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO users (site_id, username, username_key, email, email_key, display_name, \
                                    first_name, last_name, role, password_hash, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $2, $6, $7, $8, $9, $10, $10) \
                 ON CONFLICT (site_id, username_key) DO NOTHING RETURNING user_id",
            )
            .bind(user.site_id)
            .bind(&user.username)
            .bind(&username_key)
            .bind(&user.email)
            .bind(&email_key)
            .bind(&user.first_name)
            .bind(&user.last_name)
            .bind(&user.role)
            .bind(&user.password_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let event = inserted.map(|user_id| {
                NewAuditEvent::new(Some(user.site_id), now, actor, "user.created").with_detail(
                    serde_json::json!({ "user_id": user_id, "username": user.username }),
                )
            });
            (inserted, event)
        });
        Ok(result)
    }
}
