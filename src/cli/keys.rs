//! `tessera key …`: a thin printer over the admin service layer (`admin::keys`).

use clap::Subcommand;

use super::{ctx, site_id_arg, CliResult, Output};
use crate::admin::keys::{self, NewKey};
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
    match cmd {
        KeyCommand::Create { site, label } => {
            let created = keys::create(&ctx(store, site), &NewKey { label }).await?;
            let json = super::site_json(&created, site)?;
            out.emit(json, || {
                format!(
                    "Created key {} for site {site}.\nAPI key (shown once, store it now): {}",
                    created.key_id, created.api_key
                )
            });
        }
        KeyCommand::List { site } => {
            super::sites::require_site(store, site).await?;
            let list = keys::list(&ctx(store, site)).await?;
            let json = super::site_json(&list, site)?;
            out.emit(json, || {
                let mut text = format!(
                    "{:<8} {:<14} {:<21} {:<21} LABEL",
                    "KEY_ID", "PREFIX", "CREATED", "LAST_USED"
                );
                for k in &list.keys {
                    text.push_str(&format!(
                        "\n{:<8} {:<14} {:<21} {:<21} {}",
                        k.key_id,
                        k.prefix,
                        k.created_at,
                        k.last_used_at.as_deref().unwrap_or("never"),
                        k.label
                    ));
                }
                text
            });
        }
        KeyCommand::Delete { site, key_id } => {
            keys::delete(&ctx(store, site), key_id).await?;
            out.emit(
                serde_json::json!({ "deleted": true, "site_id": site, "key_id": key_id }),
                || format!("Deleted key {key_id} of site {site}; its tokens no longer work."),
            );
        }
    }
    Ok(())
}
