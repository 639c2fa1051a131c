//! `tessera key …`

use clap::Subcommand;
use secrecy::ExposeSecret;
use serde_json::json;

use super::sites::no_such_site;
use super::{site_id_arg, time_text, CliError, CliResult, Output};
use crate::admin::validate;
use crate::clock::{Clock, SystemClock};
use crate::store::audit::Actor;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key (shown once).
    Create {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List a site's keys (prefixes only).
    List {
        #[arg(value_parser = site_id_arg)]
        site: i64,
    },
    /// Delete a key and revoke every token minted with it.
    Delete {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        key_id: i64,
    },
}

pub async fn run(cmd: KeyCommand, store: &Store, out: &Output) -> CliResult {
    let now = SystemClock.now_ms();
    match cmd {
        KeyCommand::Create { site, label } => {
            let label = validate::key_label(&label)?;
            let created = store
                .create_api_key(site, &label, now, &Actor::Cli)
                .await?
                .ok_or_else(|| no_such_site(site))?;
            let key = created.api_key.expose_secret();
            out.emit(
                json!({ "key_id": created.key_id, "site_id": site, "api_key": key }),
                || {
                    format!(
                        "Created key {} for site {site}.\nAPI key (shown once, store it now): {key}",
                        created.key_id
                    )
                },
            );
        }
        KeyCommand::List { site } => {
            if store.get_site(site).await?.is_none() {
                return Err(no_such_site(site));
            }
            let keys = store.list_api_keys(site).await?;
            let list: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({
                        "key_id": k.key_id, "prefix": k.prefix, "label": k.label,
                        "created_at": time_text(Some(k.created_at)),
                        "last_used_at": time_text(k.last_used_at),
                    })
                })
                .collect();
            out.emit(json!({ "site_id": site, "keys": list }), || {
                let mut text = format!(
                    "{:<8} {:<14} {:<21} {:<21} LABEL",
                    "KEY_ID", "PREFIX", "CREATED", "LAST_USED"
                );
                for k in &keys {
                    let used = k
                        .last_used_at
                        .map(crate::clock::rfc3339)
                        .unwrap_or_else(|| "never".into());
                    text.push_str(&format!(
                        "\n{:<8} {:<14} {:<21} {:<21} {}",
                        k.key_id,
                        k.prefix,
                        crate::clock::rfc3339(k.created_at),
                        used,
                        k.label
                    ));
                }
                text
            });
        }
        KeyCommand::Delete { site, key_id } => {
            if !store.delete_api_key(site, key_id, now, &Actor::Cli).await? {
                return Err(CliError(format!("site {site} has no key {key_id}")));
            }
            out.emit(
                json!({ "deleted": true, "site_id": site, "key_id": key_id }),
                || format!("Deleted key {key_id} of site {site}; its tokens no longer work."),
            );
        }
    }
    Ok(())
}
