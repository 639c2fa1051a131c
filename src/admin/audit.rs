//! A site's audit log: filtered pages, newest first, and a CSV export that streams
//! page by page so that a log of millions of events is never held in memory.

use serde::Serialize;

use super::{page_limit, time, AdminError, AdminResult, Ctx};
use crate::store::audit::{AuditEvent, AuditFilter};
use crate::store::Store;

pub const MAX_PAGE: i64 = 1000;
pub const DEFAULT_PAGE: i64 = 50;
/// Events read per store round trip by the CSV export.
const EXPORT_CHUNK: i64 = 2000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEventView {
    pub event_id: i64,
    pub at: String,
    pub action: String,
    /// `cli`, `api_key:N`, `user:N`, `system` or `anonymous`.
    pub actor: String,
    /// `success` or `failure`.
    pub outcome: String,
    pub client_ip: Option<String>,
    pub user_id: Option<i64>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            event_id: e.event_id,
            at: time(e.at),
            action: e.action,
            actor: e.actor,
            outcome: e.outcome,
            client_ip: e.client_ip,
            user_id: e.user_id,
            detail: e.detail.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

/// The filters of `GET /admin/api/v1/audit`, as given.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub limit: Option<i64>,
    pub before: Option<i64>,
    pub action: Option<String>,
    pub user_id: Option<i64>,
    pub outcome: Option<String>,
}

impl AuditQuery {
    fn filter(&self) -> AdminResult<AuditFilter> {
        let short = |field: &'static str, text: &Option<String>| -> AdminResult<Option<String>> {
            match text.as_deref() {
                None | Some("") => Ok(None),
                Some(t) if t.len() <= 64 && t.chars().all(|c| c.is_ascii_graphic()) => {
                    Ok(Some(t.to_string()))
                }
                Some(_) => Err(AdminError::invalid(
                    field,
                    format!("{field} must be at most 64 visible ASCII characters"),
                )),
            }
        };
        let outcome = short("outcome", &self.outcome)?;
        if let Some(o) = &outcome {
            if o != "success" && o != "failure" {
                return Err(AdminError::invalid(
                    "outcome",
                    "outcome must be success or failure",
                ));
            }
        }
        Ok(AuditFilter {
            action: short("action", &self.action)?,
            user_id: self.user_id,
            outcome,
            before: self.before,
        })
    }
}

pub async fn list(ctx: &Ctx<'_>, query: &AuditQuery) -> AdminResult<AuditPage> {
    let limit = page_limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let filter = query.filter()?;
    let mut events = ctx
        .store
        .search_audit(ctx.site_id, &filter, limit + 1)
        .await?;
    let more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    let next_before = more.then(|| events.last().map(|e| e.event_id)).flatten();
    Ok(AuditPage {
        events: events.into_iter().map(AuditEventView::from).collect(),
        next_before,
    })
}

/// The CSV header line of the export.
pub const CSV_HEADER: &str = "event_id,at,action,actor,outcome,client_ip,user_id,detail\r\n";

/// The export of the events `query` selects (without a limit), one chunk of CSV
/// lines at a time; `None` once every event was given.
pub struct CsvExport {
    store: Store,
    site_id: i64,
    filter: AuditFilter,
    header_sent: bool,
    done: bool,
}

impl CsvExport {
    pub fn new(ctx: &Ctx<'_>, query: &AuditQuery) -> AdminResult<Self> {
        Ok(Self {
            store: ctx.store.clone(),
            site_id: ctx.site_id,
            filter: query.filter()?,
            header_sent: false,
            done: false,
        })
    }

    /// The next lines (the header line first), or `None` at the end.
    pub async fn next_chunk(&mut self) -> AdminResult<Option<String>> {
        if self.done {
            return Ok(None);
        }
        let events = self
            .store
            .search_audit(self.site_id, &self.filter, EXPORT_CHUNK)
            .await?;
        let first = !std::mem::replace(&mut self.header_sent, true);
        self.done = (events.len() as i64) < EXPORT_CHUNK;
        self.filter.before = events.last().map(|e| e.event_id).or(Some(0));
        let mut text = String::with_capacity(events.len() * 160 + CSV_HEADER.len());
        if first {
            text.push_str(CSV_HEADER);
        }
        for e in events {
            csv_line(&mut text, &AuditEventView::from(e));
        }
        Ok(Some(text))
    }
}

fn csv_line(out: &mut String, e: &AuditEventView) {
    let fields = [
        e.event_id.to_string(),
        e.at.clone(),
        e.action.clone(),
        e.actor.clone(),
        e.outcome.clone(),
        e.client_ip.clone().unwrap_or_default(),
        e.user_id.map(|id| id.to_string()).unwrap_or_default(),
        e.detail.to_string(),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, field);
    }
    out.push_str("\r\n");
}

/// RFC 4180 quoting; a leading `= + - @` is prefixed with `'` so that a spreadsheet
/// never runs a value as a formula (CSV injection).
fn csv_field(out: &mut String, value: &str) {
    let guarded = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = guarded || value.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        let mut out = String::new();
        csv_field(&mut out, "plain");
        out.push('|');
        csv_field(&mut out, "a,\"b\"");
        out.push('|');
        csv_field(&mut out, "=HYPERLINK(1)");
        assert_eq!(out, "plain|\"a,\"\"b\"\"\"|\"'=HYPERLINK(1)\"");
    }
}
