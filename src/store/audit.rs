//! Append-only audit events, written in the same transaction as the change they record.

use serde::Serialize;
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

    /// The user the event is about: its detail's `user_id`. Stored in a column of its
    /// own too, so that a user's events can be found without reading the others.
    pub fn user_id(&self) -> Option<i64> {
        self.detail
            .get("user_id")
            .and_then(serde_json::Value::as_i64)
    }
}

/// The columns every insert of an audit event writes, in bind order: written once
/// for the sqlx path and both batch writers (which add their own placeholders).
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
    sqlx::query::<DB>(INSERT_AUDIT)
        .bind(event.site_id)
        .bind(event.at)
        .bind(event.actor.as_str())
        .bind(event.action)
        .bind(event.outcome.as_str())
        .bind(event.client_ip.as_deref())
        .bind(event.detail.to_string())
        .bind(event.user_id())
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
