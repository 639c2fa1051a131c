//! `tessera audit …`: a site's audit log, through the admin service layer.

use clap::Subcommand;

use super::{ctx, site_id_arg, CliResult, Output};
use crate::admin::audit::{self, AuditQuery, CsvExport};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// A site's audit events, newest first.
    List {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        /// How many events (1–1000).
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only events older than this event id (to page back).
        #[arg(long)]
        before: Option<i64>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Every event (with the same filters) as CSV on stdout, streamed.
    Export {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

/// The filters both audit commands take.
#[derive(Debug, clap::Args)]
pub struct FilterArgs {
    /// Only this action, e.g. user.login
    #[arg(long)]
    action: Option<String>,
    /// Only events about this user.
    #[arg(long)]
    user_id: Option<i64>,
    /// Only success or failure.
    #[arg(long)]
    outcome: Option<String>,
}

impl FilterArgs {
    fn query(self, limit: Option<i64>, before: Option<i64>) -> AuditQuery {
        AuditQuery {
            limit,
            before,
            action: self.action,
            user_id: self.user_id,
            outcome: self.outcome,
        }
    }
}

pub async fn run(cmd: AuditCommand, store: &Store, out: &Output) -> CliResult {
    match cmd {
        AuditCommand::List {
            site,
            limit,
            before,
            filter,
        } => {
            super::sites::require_site(store, site).await?;
            let query = filter.query(Some(limit), before);
            let page = audit::list(&ctx(store, site), &query).await?;
            let mut json = serde_json::to_value(&page)?;
            json["site_id"] = site.into();
            out.emit(json, || {
                let mut text = format!(
                    "{:<8} {:<21} {:<16} {:<22} {:<8} {:<16} DETAIL",
                    "EVENT", "AT", "ACTOR", "ACTION", "OUTCOME", "CLIENT_IP"
                );
                for e in &page.events {
                    text.push_str(&format!(
                        "\n{:<8} {:<21} {:<16} {:<22} {:<8} {:<16} {}",
                        e.event_id,
                        e.at,
                        e.actor,
                        e.action,
                        e.outcome,
                        e.client_ip.as_deref().unwrap_or("-"),
                        e.detail
                    ));
                }
                text
            });
        }
        AuditCommand::Export { site, filter } => {
            use std::io::Write as _;
            super::sites::require_site(store, site).await?;
            let query = filter.query(None, None);
            let mut export = CsvExport::new(&ctx(store, site), &query)?;
            let mut stdout = std::io::stdout().lock();
            while let Some(chunk) = export.next_chunk().await? {
                stdout.write_all(chunk.as_bytes())?;
            }
            stdout.flush()?;
        }
    }
    Ok(())
}
