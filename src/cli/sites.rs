//! `tessera site …`

use std::time::Duration;

use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use serde_json::json;

use super::{site_id_arg, time_text, CliError, CliResult, Output};
use crate::admin::validate;
use crate::clock::{Clock, SystemClock};
use crate::cookie_login::settings::{CookieLoginArgs, CookieLoginChanges};
use crate::store::audit::Actor;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Create a site and its first API key (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// Allowed browser origin (repeatable), e.g. https://www.example.com
        #[arg(long = "origin")]
        origins: Vec<String>,
    },
    /// List every site.
    List,
    /// Change a site's settings; only the options given change.
    Configure {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        /// Replace the allowed origins with these (repeatable).
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Password login requires the site's api_key.
        #[arg(long)]
        api_key_mandatory: Option<bool>,
        #[command(flatten)]
        cookie: CookieArgs,
    },
    /// Disable a site: its keys and tokens stop working until it is enabled again.
    Disable {
        #[arg(value_parser = site_id_arg)]
        site: i64,
    },
    /// Enable a disabled site.
    Enable {
        #[arg(value_parser = site_id_arg)]
        site: i64,
    },
}

/// The cookie-login options of `site configure` (SPEC §5.1, §7.1).
#[derive(Debug, Args)]
pub struct CookieArgs {
    /// Name of the site's session cookie that the embed script reads.
    #[arg(long)]
    cookie_name: Option<String>,
    /// Verification endpoint; the URL-encoded cookie value is appended to it
    /// ("" removes it and turns cookie login off).
    #[arg(long, value_name = "URL")]
    cookie_endpoint: Option<String>,
    /// Where a field is in the endpoint's JSON: uid, displayName, email, error,
    /// photoURL or socialData, with a dotted path (repeatable), e.g. uid=user.id
    #[arg(long = "map", value_name = "FIELD=PATH")]
    maps: Vec<String>,
    /// Header sent with every verification request (repeatable); replaces the configured ones.
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    headers: Vec<String>,
    /// Remove every custom header.
    #[arg(long)]
    clear_headers: bool,
    /// Verification timeout in milliseconds (1 to 10000; default 3000).
    #[arg(long, value_name = "MS")]
    cookie_timeout_ms: Option<u64>,
    /// How long a cookie-login session lasts before it is verified again, e.g. 24h.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    reverify_interval: Option<Duration>,
}

impl CookieArgs {
    fn changes(&self) -> Result<CookieLoginChanges, CliError> {
        CookieLoginChanges::validate(&CookieLoginArgs {
            cookie_name: self.cookie_name.as_deref(),
            endpoint: self.cookie_endpoint.as_deref(),
            maps: &self.maps,
            headers: &self.headers,
            clear_headers: self.clear_headers,
            timeout_ms: self.cookie_timeout_ms,
            reverify_interval: self.reverify_interval,
        })
        .map_err(CliError)
    }
}

pub async fn run(cmd: SiteCommand, store: &Store, out: &Output) -> CliResult {
    let now = SystemClock.now_ms();
    match cmd {
        SiteCommand::Create { name, origins } => {
            let name = validate::site_name(&name)?;
            let origins = validate::origins(&origins)?;
            let created = store.create_site(&name, &origins, now, &Actor::Cli).await?;
            let key = created.api_key.expose_secret();
            out.emit(
                json!({ "site_id": created.site_id, "api_key": key, "key_id": created.key_id }),
                || {
                    format!(
                        "Created site {} ({name}).\nAPI key (shown once, store it now): {key}",
                        created.site_id
                    )
                },
            );
        }
        SiteCommand::List => {
            let sites = store.list_sites().await?;
            let list: Vec<_> = sites
                .iter()
                .map(|s| {
                    json!({
                        "site_id": s.site_id, "name": s.name, "active": s.active,
                        "origins": s.origins, "created_at": time_text(Some(s.created_at)),
                    })
                })
                .collect();
            out.emit(json!({ "sites": list }), || {
                let mut text = format!("{:<8} {:<9} {:<30} ORIGINS", "SITE_ID", "STATE", "NAME");
                for s in &sites {
                    let state = if s.active { "active" } else { "disabled" };
                    text.push_str(&format!(
                        "\n{:<8} {:<9} {:<30} {}",
                        s.site_id,
                        state,
                        s.name,
                        s.origins.join(" ")
                    ));
                }
                text
            });
        }
        SiteCommand::Configure {
            site,
            origins,
            api_key_mandatory,
            cookie,
        } => {
            let cookie_changes = cookie.changes()?;
            let origins = if origins.is_empty() {
                None
            } else {
                Some(validate::origins(&origins)?)
            };
            let found = store
                .configure_site(
                    site,
                    origins.as_deref(),
                    |settings| {
                        if let Some(v) = api_key_mandatory {
                            settings.api_key_mandatory = v;
                        }
                        cookie_changes.apply(&mut settings.cookie_login);
                    },
                    now,
                    &Actor::Cli,
                )
                .await?;
            if !found {
                return Err(no_such_site(site));
            }
            let updated = store
                .get_site(site)
                .await?
                .ok_or_else(|| no_such_site(site))?;
            out.emit(
                json!({
                    "site_id": site, "origins": updated.origins,
                    "api_key_mandatory": updated.settings.api_key_mandatory,
                    "cookie_login": updated.settings.cookie_login.as_ref().map(|c| c.public_view()),
                }),
                || match &updated.settings.cookie_login {
                    None => format!("Site {site} configured."),
                    Some(c) => format!("Site {site} configured.\n{}", c.summary()),
                },
            );
        }
        SiteCommand::Disable { site } | SiteCommand::Enable { site } => {
            let active = matches!(cmd, SiteCommand::Enable { .. });
            if !store
                .set_site_active(site, active, now, &Actor::Cli)
                .await?
            {
                return Err(no_such_site(site));
            }
            let word = if active { "enabled" } else { "disabled" };
            out.emit(json!({ "site_id": site, "active": active }), || {
                format!("Site {site} {word}.")
            });
        }
    }
    Ok(())
}

pub fn no_such_site(site: i64) -> CliError {
    CliError(format!("there is no site {site}"))
}
