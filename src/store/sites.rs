//! Sites (tenants), their allowed origins and settings.

use secrecy::SecretString;
use serde::Serialize;

use super::audit::{Actor, NewAuditEvent};
use super::node_cache::{self, origin_key, OriginAllowed};
use super::{api_keys, audited_change, on_store, read_optional, Store, StoreError, StoreResult};
use crate::clock::Millis;
pub use crate::settings::{AccountHandling, SiteSettings};

#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub site_id: i64,
    pub name: String,
    pub active: bool,
    pub origins: Vec<String>,
    pub settings: SiteSettings,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(sqlx::FromRow)]
struct SiteRow {
    site_id: i64,
    name: String,
    active: bool,
    settings: String,
    created_at: Millis,
    updated_at: Millis,
}

/// A row of [`SITE_WITH_ORIGINS`].
#[derive(sqlx::FromRow)]
struct SiteWithOrigins {
    #[sqlx(flatten)]
    site: SiteRow,
    origins: Option<String>,
}

impl SiteWithOrigins {
    /// The same row read inline (by position).
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let site = SiteRow {
            site_id: row.get(0)?,
            name: row.get(1)?,
            active: row.get(2)?,
            settings: row.get(3)?,
            created_at: row.get(4)?,
            updated_at: row.get(5)?,
        };
        Ok(Self {
            site,
            origins: row.get(6)?,
        })
    }

    /// The site, its origins sorted.
    fn into_site(self) -> StoreResult<Site> {
        let mut origins: Vec<String> = self
            .origins
            .map(|all| all.split('\n').map(str::to_owned).collect())
            .unwrap_or_default();
        origins.sort_unstable();
        self.site.into_site(origins)
    }
}

impl SiteRow {
    fn into_site(self, origins: Vec<String>) -> StoreResult<Site> {
        let settings = serde_json::from_str(&self.settings)
            .map_err(|e| StoreError::Corrupt(format!("settings of site {}: {e}", self.site_id)))?;
        Ok(Site {
            site_id: self.site_id,
            name: self.name,
            active: self.active,
            origins,
            settings,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The parts of a site an edit may change.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteEdit {
    pub name: String,
    pub origins: Vec<String>,
    pub settings: SiteSettings,
}

/// A new site and its first API key (the key is shown once, never stored in clear).
#[derive(Debug)]
pub struct CreatedSite {
    pub site_id: i64,
    pub key_id: i64,
    pub api_key: SecretString,
}

/// The columns of a [`SiteRow`], in its order.
macro_rules! site_columns {
    () => {
        "site_id, name, active, settings, created_at, updated_at"
    };
}
const SITE_COLUMNS: &str = site_columns!();

/// [`SITE_COLUMNS`] and the site's origins, one per line (an origin holds no line
/// break), in one statement for both stores (`string_agg`: PostgreSQL, SQLite ≥ 3.44).
const SITE_WITH_ORIGINS: &str = concat!(
    "SELECT ",
    site_columns!(),
    ", (SELECT string_agg(origin, '\n') FROM site_origins o WHERE o.site_id = s.site_id) \
     AS origins FROM sites s WHERE site_id = $1"
);

impl Store {
    /// Creates a site with its origins and a first API key, in one transaction.
    pub async fn create_site(
        &self,
        name: &str,
        origins: &[String],
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<CreatedSite> {
        let new_key = api_keys::NewApiKey::generate("initial key");
        let settings = serde_json::to_string(&SiteSettings::default()).expect("settings serialise");
        let (site_id, key_id) = audited_change!(self, |tx| {
            let site_id: i64 = sqlx::query_scalar(
                "INSERT INTO sites (name, active, settings, created_at, updated_at) \
                 VALUES ($1, TRUE, $2, $3, $3) RETURNING site_id",
            )
            .bind(name)
            .bind(&settings)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for origin in origins {
                sqlx::query("INSERT INTO site_origins (site_id, origin) VALUES ($1, $2)")
                    .bind(site_id)
                    .bind(origin)
                    .execute(&mut *tx)
                    .await?;
            }
            let key_id: i64 = api_keys::insert_key_query(site_id, &new_key, now)
                .fetch_one(&mut *tx)
                .await?;
            let site_event = NewAuditEvent::new(Some(site_id), now, actor, "site.created")
                .with_detail(serde_json::json!({ "name": name, "origins": origins }));
            let key_event = NewAuditEvent::new(Some(site_id), now, actor, "api_key.created")
                .with_detail(serde_json::json!({ "key_id": key_id, "prefix": new_key.prefix }));
            ((site_id, key_id), [site_event, key_event])
        });
        Ok(CreatedSite {
            site_id,
            key_id,
            api_key: new_key.secret,
        })
    }

    pub async fn count_sites(&self) -> StoreResult<i64> {
        let n = on_store!(self, read, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sites")
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    /// A site with its origins, in one statement: on a SQLite file an inline read
    /// (every token login and settings-driven flow reads its site first); on
    /// PostgreSQL with the node cache, a copy held in memory (see `node_cache`).
    pub async fn get_site(&self, site_id: i64) -> StoreResult<Option<Site>> {
        let read = async {
            let found = read_optional!(
                self,
                SITE_WITH_ORIGINS,
                as SiteWithOrigins,
                SiteWithOrigins::from_direct,
                (site_id)
            );
            found.map(SiteWithOrigins::into_site).transpose()
        };
        let key = || node_cache::site_key(site_id);
        self.read_cached(|c| &c.sites, key, |_| true, read).await
    }

    /// Every site with its origins, by id.
    pub async fn list_sites(&self) -> StoreResult<Vec<Site>> {
        let (rows, origins) = on_store!(self, read, |pool| {
            let rows = sqlx::query_as::<_, SiteRow>(&format!(
                "SELECT {SITE_COLUMNS} FROM sites ORDER BY site_id"
            ))
            .fetch_all(pool)
            .await?;
            let origins = sqlx::query_as::<_, (i64, String)>(
                "SELECT site_id, origin FROM site_origins ORDER BY site_id, origin",
            )
            .fetch_all(pool)
            .await?;
            (rows, origins)
        });
        rows.into_iter()
            .map(|row| {
                let mine = origins
                    .iter()
                    .filter(|(site_id, _)| *site_id == row.site_id)
                    .map(|(_, origin)| origin.clone())
                    .collect();
                row.into_site(mine)
            })
            .collect()
    }

    /// Enables or disables a site; false when there is no such site.
    pub async fn set_site_active(
        &self,
        site_id: i64,
        active: bool,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<bool> {
        let action = if active {
            "site.enabled"
        } else {
            "site.disabled"
        };
        let event = NewAuditEvent::new(Some(site_id), now, actor, action);
        let found = audited_change!(self, |tx| {
            let changed =
                sqlx::query("UPDATE sites SET active = $1, updated_at = $2 WHERE site_id = $3")
                    .bind(active)
                    .bind(now)
                    .bind(site_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            (changed == 1, (changed == 1).then_some(event))
        });
        Ok(found)
    }

    /// Replaces settings and, when given, the allowed origins, in one transaction.
    /// `edit` sees the current settings; false when there is no such site.
    pub async fn configure_site<F>(
        &self,
        site_id: i64,
        origins: Option<&[String]>,
        edit: F,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<bool>
    where
        F: FnOnce(&mut SiteSettings),
    {
        let event = NewAuditEvent::new(Some(site_id), now, actor, "site.configured");
        let edited = self
            .edit_site(site_id, event, |site| {
                if let Some(origins) = origins {
                    site.origins = origins.to_vec();
                }
                edit(&mut site.settings);
                Ok::<(), std::convert::Infallible>(())
            })
            .await?;
        Ok(edited.is_ok_and(|found| found))
    }

    /// Changes a site's name, origins and settings in one transaction with `event`
    /// (its detail gets the origins when they changed). `edit` sees the current
    /// values and may refuse them (nothing is written then). `Ok(false)`: no such site.
    pub async fn edit_site<F, E>(
        &self,
        site_id: i64,
        mut event: NewAuditEvent,
        edit: F,
    ) -> StoreResult<Result<bool, E>>
    where
        F: FnOnce(&mut SiteEdit) -> Result<(), E>,
    {
        let now = event.at;
        let outcome = audited_change!(self, |tx| {
            // The same statement as `get_site`, inside this transaction.
            let current = sqlx::query_as::<_, SiteWithOrigins>(SITE_WITH_ORIGINS)
                .bind(site_id)
                .fetch_optional(&mut *tx)
                .await?;
            match current {
                None => (Ok(false), None),
                Some(row) => {
                    let site = row.into_site()?;
                    let mut next = SiteEdit {
                        name: site.name.clone(),
                        origins: site.origins.clone(),
                        settings: site.settings.clone(),
                    };
                    match edit(&mut next) {
                        Err(e) => (Err(e), None),
                        Ok(()) => {
                            let text =
                                serde_json::to_string(&next.settings).expect("settings serialise");
                            sqlx::query(
                                "UPDATE sites SET name = $1, settings = $2, updated_at = $3 WHERE site_id = $4",
                            )
                            .bind(&next.name)
                            .bind(&text)
                            .bind(now)
                            .bind(site_id)
                            .execute(&mut *tx)
                            .await?;
                            let mut changed = serde_json::Map::new();
                            if next.name != site.name {
                                changed.insert("name".into(), next.name.clone().into());
                            }
                            if next.origins != site.origins {
                                sqlx::query("DELETE FROM site_origins WHERE site_id = $1")
                                    .bind(site_id)
                                    .execute(&mut *tx)
                                    .await?;
                                for origin in &next.origins {
                                    sqlx::query(
                                        "INSERT INTO site_origins (site_id, origin) VALUES ($1, $2)",
                                    )
                                    .bind(site_id)
                                    .bind(origin)
                                    .execute(&mut *tx)
                                    .await?;
                                }
                                changed.insert("origins".into(), next.origins.clone().into());
                            }
                            if next.settings != site.settings {
                                changed.insert("settings".into(), true.into());
                            }
                            if let serde_json::Value::Object(detail) = &mut event.detail {
                                detail.extend(changed);
                            }
                            (Ok(true), Some(event))
                        }
                    }
                }
            }
        });
        Ok(outcome)
    }

    /// Whether `origin` is allowed for an active `site_id`.
    pub async fn site_allows_origin(&self, site_id: i64, origin: &str) -> StoreResult<bool> {
        const ALLOWED: &str = "SELECT o.site_id FROM site_origins o \
             JOIN sites s ON s.site_id = o.site_id WHERE o.site_id = $1 AND o.origin = $2 AND s.active";
        let read = async {
            let found = read_optional!(self, ALLOWED, scalar i64, (site_id, origin));
            Ok::<_, StoreError>(found.is_some())
        };
        self.origin_answer(Some(site_id), origin, read).await
    }

    /// Whether any active site allows `origin` (answers CORS preflights, which name no site).
    pub async fn any_site_allows_origin(&self, origin: &str) -> StoreResult<bool> {
        const ALLOWED_ANYWHERE: &str = "SELECT o.site_id FROM site_origins o \
             JOIN sites s ON s.site_id = o.site_id WHERE o.origin = $1 AND s.active LIMIT 1";
        let read = async {
            let found = read_optional!(self, ALLOWED_ANYWHERE, scalar i64, (origin,));
            Ok::<_, StoreError>(found.is_some())
        };
        self.origin_answer(None, origin, read).await
    }

    /// `read`'s answer, through the node cache when there is one.
    async fn origin_answer(
        &self,
        site: Option<i64>,
        origin: &str,
        read: impl std::future::Future<Output = StoreResult<bool>>,
    ) -> StoreResult<bool> {
        let read = async {
            let allowed = read.await?;
            Ok(Some(OriginAllowed { site, allowed }))
        };
        let key = || origin_key(site, origin);
        let answer = self
            .read_cached(|c| &c.origins, key, |_| true, read)
            .await?;
        Ok(answer.is_some_and(|a| a.allowed))
    }
}
