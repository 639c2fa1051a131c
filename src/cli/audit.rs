//! `tessera audit …`: reading a site's audit log.

use clap::Subcommand;
use serde_json::json;

use super::sites::no_such_site;
use super::{site_id_arg, time_text, CliResult, Output};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// A site's audit events, newest first.
    List {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        /// How many events (1–1000).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
        /// Only events older than this event id (to page back).
        #[arg(long)]
        before: Option<i64>,
    },
}

pub async fn run(cmd: AuditCommand, store: &Store, out: &Output) -> CliResult {
    match cmd {
        AuditCommand::List {
            site,
            limit,
            before,
        } => {
            if store.get_site(site).await?.is_none() {
                return Err(no_such_site(site));
            }
            let events = store.list_audit(site, before, limit).await?;
            let list: Vec<_> = events
                .iter()
                .map(|e| {
                    json!({
                        "event_id": e.event_id, "at": time_text(Some(e.at)), "actor": e.actor,
                        "action": e.action, "outcome": e.outcome, "client_ip": e.client_ip,
                        "detail": e.detail,
                    })
                })
                .collect();
            out.emit(json!({ "site_id": site, "events": list }), || {
                let mut text = format!(
                    "{:<8} {:<21} {:<16} {:<22} {:<8} {:<16} DETAIL",
                    "EVENT", "AT", "ACTOR", "ACTION", "OUTCOME", "CLIENT_IP"
                );
                for e in &events {
                    text.push_str(&format!(
                        "\n{:<8} {:<21} {:<16} {:<22} {:<8} {:<16} {}",
                        e.event_id,
                        crate::clock::rfc3339(e.at),
                        e.actor,
                        e.action,
                        e.outcome,
                        e.client_ip.as_deref().unwrap_or("-"),
                        e.detail.0
                    ));
                }
                text
            });
        }
    }
    Ok(())
}
