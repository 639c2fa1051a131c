//! `/admin/audit` — the site's audit log: filters (action, user, outcome), paging
//! from newest to oldest, and the CSV download of everything the filters select.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, ConsoleError, Form, Layout};
use super::session::Console;
use crate::admin::audit::{self, AuditQuery, CsvExport};
use crate::admin::AdminError;
use crate::app::AppState;

/// Most characters of an event's detail shown in the table (the CSV has it all).
const SHOWN_DETAIL_CHARS: usize = 300;

struct Row {
    event_id: i64,
    at: String,
    action: String,
    actor: String,
    outcome: String,
    client_ip: String,
    user_id: Option<i64>,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    layout: Layout,
    action: String,
    user_id: String,
    outcome: String,
    events: Vec<Row>,
    older: Option<String>,
    csv: String,
}

/// The filters of the query string, as typed.
struct Filters {
    action: String,
    user_id: String,
    outcome: String,
}

impl Filters {
    fn of(query: &Form) -> Self {
        let text = |name| query.non_empty(name).unwrap_or("").to_string();
        Self {
            action: text("action"),
            user_id: text("user_id"),
            outcome: text("outcome"),
        }
    }

    fn query(&self, before: Option<&str>) -> Result<AuditQuery, ConsoleError> {
        let int = |field: &'static str, text: Option<&str>| {
            text.filter(|t| !t.is_empty())
                .map(|t| {
                    t.parse::<i64>().map_err(|_| {
                        ConsoleError::from(AdminError::invalid(field, "must be a whole number"))
                    })
                })
                .transpose()
        };
        let opt = |text: &str| (!text.is_empty()).then(|| text.to_string());
        Ok(AuditQuery {
            limit: None,
            before: int("before", before)?,
            action: opt(&self.action),
            user_id: int("user_id", Some(&self.user_id))?,
            outcome: opt(&self.outcome),
        })
    }

    /// A link with these filters, to `path`, with `before` when given.
    fn href(&self, path: &str, before: Option<i64>) -> String {
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        let pairs = [
            ("action", self.action.as_str()),
            ("user_id", self.user_id.as_str()),
            ("outcome", self.outcome.as_str()),
            ("before", before.as_str()),
        ];
        let pairs: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        match serde_urlencoded::to_string(pairs).unwrap_or_default() {
            query if query.is_empty() => path.to_string(),
            query => format!("{path}?{query}"),
        }
    }
}

/// `GET /admin/audit?action=&user_id=&outcome=&before=`
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let query = Form::query(query.as_deref());
    let filters = Filters::of(&query);
    let layout = Layout::of(&state, &console, "audit", "Audit log").await?;
    let found = match filters.query(query.non_empty("before")) {
        Ok(q) => audit::list(&console.ctx(&state), &q)
            .await
            .map_err(ConsoleError::from),
        Err(e) => Err(e),
    };
    let (page, status) = match found {
        Ok(found) => (
            AuditPage {
                layout,
                older: found
                    .next_before
                    .map(|b| filters.href("/admin/audit", Some(b))),
                csv: filters.href("/admin/audit.csv", None),
                events: found.events.into_iter().map(row).collect(),
                action: filters.action,
                user_id: filters.user_id,
                outcome: filters.outcome,
            },
            StatusCode::OK,
        ),
        // A bad filter: the form again, naming it.
        Err(ConsoleError::Invalid(message)) => (
            AuditPage {
                layout: layout.with_error(Some(message)),
                older: None,
                csv: "/admin/audit.csv".into(),
                events: Vec::new(),
                action: filters.action,
                user_id: filters.user_id,
                outcome: filters.outcome,
            },
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => return Err(e),
    };
    Ok(page::render(status, &page))
}

fn row(e: audit::AuditEventView) -> Row {
    let detail = match &e.detail {
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        other => {
            let text = other.to_string();
            if text.chars().count() > SHOWN_DETAIL_CHARS {
                let cut: String = text.chars().take(SHOWN_DETAIL_CHARS).collect();
                format!("{cut}…")
            } else {
                text
            }
        }
    };
    Row {
        event_id: e.event_id,
        at: e.at,
        action: e.action,
        actor: e.actor,
        outcome: e.outcome,
        client_ip: e.client_ip.unwrap_or_default(),
        user_id: e.user_id,
        detail,
    }
}

/// `GET /admin/audit.csv`: every event the filters select, streamed as CSV.
pub async fn csv(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let query = Form::query(query.as_deref());
    let filters = Filters::of(&query);
    let audit_query = filters.query(query.non_empty("before"))?;
    let export = CsvExport::new(&console.ctx(&state), &audit_query)?;
    Ok(crate::admin::api::audit::csv_download(export))
}
