//! Append-only audit events, written in the same transaction as the change they record.

use serde::Serialize;
use sqlx::query_builder::Separated;
use sqlx::{Database, Encode, Type};

use super::{on_store, Store, StoreResult};
use crate::clock::Millis;

/// Whether the recorded action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// Who did something: the CLI operator, a site's API key, an admin user, or the server itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Cli,
    System,
    ApiKey { site_id: i64, key_id: i64 },
    User { user_id: i64 },
    Anonymous,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
            Actor::ApiKey { key_id, .. } => format!("api_key:{key_id}"),
            Actor::User { user_id } => format!("user:{user_id}"),
            Actor::Anonymous => "anonymous".into(),
        }
    }
}

/// One event about to be written.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub site_id: Option<i64>,
    pub at: Millis,
    pub actor: String,
    pub action: &'static str,
    pub outcome: Outcome,
    pub client_ip: Option<String>,
    pub detail: serde_json::Value,
}

impl NewAuditEvent {
    pub fn new(site_id: Option<i64>, at: Millis, actor: &Actor, action: &'static str) -> Self {
        Self {
            site_id,
            at,
            actor: actor.label(),
            action,
            outcome: Outcome::Success,
            client_ip: None,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn failed(mut self) -> Self {
        self.outcome = Outcome::Failure;
        self
    }

    pub fn from_ip(mut self, ip: Option<String>) -> Self {
        self.client_ip = ip;
        self
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Sets `key` in the event's detail object.
    pub fn set(&mut self, key: &str, value: serde_json::Value) {
        if let serde_json::Value::Object(map) = &mut self.detail {
            map.insert(key.to_string(), value);
        }
    }

    /// The user the event is about: its detail's `user_id`. Stored in a column of its
    /// own too, so that a user's events can be found without reading the others.
    pub fn user_id(&self) -> Option<i64> {
        self.detail
            .get("user_id")
            .and_then(serde_json::Value::as_i64)
    }
}

/// How an audit event is inserted, written once for every path: the column list (the
/// `INSERT` head, to which each writer adds its placeholders) and, in
/// [`NewAuditEvent::values`], the values in that order.
macro_rules! audit_insert_columns {
    () => {
        "INSERT INTO audit_events (site_id, at, actor, action, outcome, client_ip, detail, user_id) "
    };
}
pub(crate) use audit_insert_columns;

const INSERT_AUDIT: &str = concat!(
    audit_insert_columns!(),
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
);

/// One row of [`audit_insert_columns!`] for the SQLite batch writer (`?N` numbers).
pub(crate) const AUDIT_INSERT_SQLITE: &str = concat!(
    audit_insert_columns!(),
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
);

/// The values of one audit row, in the order of [`audit_insert_columns!`].
pub(crate) type AuditValues<'a> = (
    Option<i64>,
    Millis,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    String,
    Option<i64>,
);

impl NewAuditEvent {
    /// The row's values, in column order (see [`audit_insert_columns!`]).
    pub(crate) fn values(&self) -> AuditValues<'_> {
        (
            self.site_id,
            self.at,
            self.actor.as_str(),
            self.action,
            self.outcome.as_str(),
            self.client_ip.as_deref(),
            self.detail.to_string(),
            self.user_id(),
        )
    }

    /// Binds [`NewAuditEvent::values`] to one row of a multi-row insert.
    pub(crate) fn push_values<'a, DB>(&'a self, row: &mut Separated<'_, 'a, DB, &'static str>)
    where
        DB: Database,
        Option<i64>: Encode<'a, DB> + Type<DB>,
        i64: Encode<'a, DB> + Type<DB>,
        &'a str: Encode<'a, DB> + Type<DB>,
        Option<&'a str>: Encode<'a, DB> + Type<DB>,
        String: Encode<'a, DB> + Type<DB>,
    {
        let v = self.values();
        row.push_bind(v.0)
            .push_bind(v.1)
            .push_bind(v.2)
            .push_bind(v.3)
            .push_bind(v.4)
            .push_bind(v.5)
            .push_bind(v.6)
            .push_bind(v.7);
    }
}

/// The insert of one audit event, for any backend; callers execute it on their transaction.
pub(crate) fn insert_query<'q, DB>(
    event: &'q NewAuditEvent,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
{
    let v = event.values();
    sqlx::query::<DB>(INSERT_AUDIT)
        .bind(v.0)
        .bind(v.1)
        .bind(v.2)
        .bind(v.3)
        .bind(v.4)
        .bind(v.5)
        .bind(v.6)
        .bind(v.7)
}

/// A stored audit event, as listed by the CLI and the admin API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEvent {
    pub event_id: i64,
    pub site_id: Option<i64>,
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    pub client_ip: Option<String>,
    /// The user the event is about, if any.
    pub user_id: Option<i64>,
    #[schema(value_type = Object)]
    #[sqlx(try_from = "String")]
    pub detail: JsonText,
}

/// JSON kept as text in the store, served as a JSON value.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct JsonText(pub serde_json::Value);

impl TryFrom<String> for JsonText {
    type Error = serde_json::Error;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(JsonText)
    }
}

/// Which events of a site to list; every field narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub user_id: Option<i64>,
    pub outcome: Option<String>,
    /// Only events older than this event id (the last id of the previous page).
    pub before: Option<i64>,
}

impl Store {
    /// Writes one event on its own (for events that accompany no other change).
    pub async fn record_audit(&self, event: &NewAuditEvent) -> StoreResult<()> {
        on_store!(self, write, |pool| {
            insert_query(event).execute(pool).await?;
        });
        Ok(())
    }

    /// Events of one site, newest first, before `before_event_id` when paging.
    pub async fn list_audit(
        &self,
        site_id: i64,
        before_event_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        let filter = AuditFilter {
            before: before_event_id,
            ..AuditFilter::default()
        };
        self.search_audit(site_id, &filter, limit).await
    }

    /// Events of one site that pass `filter`, newest first. Only the filters given
    /// appear in the query, so each one can use its index (by user, by action).
    pub async fn search_audit(
        &self,
        site_id: i64,
        filter: &AuditFilter,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        // $1 site, $2 before, $3 limit, then each filter given.
        let mut sql = String::from(
            "SELECT event_id, site_id, at, actor, action, outcome, client_ip, user_id, detail \
             FROM audit_events WHERE site_id = $1 AND event_id < $2",
        );
        let mut next = 4;
        for (given, condition) in [
            (filter.action.is_some(), "action"),
            (filter.user_id.is_some(), "user_id"),
            (filter.outcome.is_some(), "outcome"),
        ] {
            if given {
                sql.push_str(&format!(" AND {condition} = ${next}"));
                next += 1;
            }
        }
        sql.push_str(" ORDER BY event_id DESC LIMIT $3");
        let before = filter.before.unwrap_or(i64::MAX);
        let events = on_store!(self, read, |pool| {
            let mut query = sqlx::query_as::<_, AuditEvent>(&sql)
                .bind(site_id)
                .bind(before)
                .bind(limit);
            if let Some(action) = &filter.action {
                query = query.bind(action);
            }
            if let Some(user_id) = filter.user_id {
                query = query.bind(user_id);
            }
            if let Some(outcome) = &filter.outcome {
                query = query.bind(outcome);
            }
            query.fetch_all(pool).await?
        });
        Ok(events)
    }
}
