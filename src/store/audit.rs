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
}

const INSERT_AUDIT: &str =
    "INSERT INTO audit_events (site_id, at, actor, action, outcome, client_ip, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

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
        let before = before_event_id.unwrap_or(i64::MAX);
        let events = on_store!(self, read, |pool| {
            sqlx::query_as::<_, AuditEvent>(
                "SELECT event_id, site_id, at, actor, action, outcome, client_ip, detail \
                 FROM audit_events WHERE site_id = $1 AND event_id < $2 \
                 ORDER BY event_id DESC LIMIT $3",
            )
            .bind(site_id)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(events)
    }
}
