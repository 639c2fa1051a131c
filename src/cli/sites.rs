//! `tessera site …`

use std::collections::BTreeMap;
use std::time::Duration;

use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use serde_json::json;

use super::{site_id_arg, time_text, CliError, CliResult, Output};
use crate::admin::site::{self, AccountHandlingPatch, SitePatch};
use crate::admin::validate;
use crate::clock::{Clock, SystemClock};
use crate::cookie_login::patch::{CookieLoginPatch, EndpointPolicy, HeaderEntry};
use crate::id_token::patch::IdTokenLoginPatch;
use crate::settings::cookie_login::CookieLoginView;
use crate::settings::id_token::IdTokenLoginView;
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
        accounts: AccountArgs,
        #[command(flatten)]
        cookie: Box<CookieArgs>,
        #[command(flatten)]
        oidc: Box<OidcArgs>,
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
    /// Create, list and delete the secrets of signed-token SSO.
    #[command(subcommand, name = "sso-secret")]
    SsoSecret(super::sso_secrets::SsoSecretCommand),
}

/// The ID-token login options of `site configure` (SPEC §5.3).
#[derive(Debug, Args)]
pub struct OidcArgs {
    /// The OpenID provider's issuer (`iss`); its keys are found by discovery
    /// ("" turns ID-token login off).
    #[arg(long, value_name = "URL")]
    oidc_issuer: Option<String>,
    /// The audience ID tokens must name (`aud`).
    #[arg(long, value_name = "ID")]
    oidc_client_id: Option<String>,
    /// The provider's JWKS, instead of discovery ("" goes back to discovery).
    #[arg(long, value_name = "URL")]
    oidc_jwks_uri: Option<String>,
    /// Which claim holds a field: uid, displayName, email or photoURL (repeatable),
    /// e.g. uid=preferred_username
    #[arg(long = "oidc-map", value_name = "FIELD=CLAIM")]
    oidc_maps: Vec<String>,
    /// Accepted algorithms, comma-separated (default RS256,ES256,EdDSA).
    #[arg(long, value_name = "ALG,…", value_delimiter = ',')]
    oidc_algorithms: Option<Vec<String>>,
    /// Oldest ID token accepted, by its iat, e.g. 10m.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    oidc_max_age: Option<Duration>,
    /// Clock skew allowed on exp, nbf and iat, e.g. 30s (at most 60s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    oidc_skew: Option<Duration>,
}

impl OidcArgs {
    /// The options as the admin API's patch, so both are validated by one rule.
    fn patch(&self) -> Result<IdTokenLoginPatch, CliError> {
        Ok(IdTokenLoginPatch {
            issuer: self.oidc_issuer.clone(),
            client_id: self.oidc_client_id.clone(),
            jwks_uri: self.oidc_jwks_uri.clone(),
            algorithms: self.oidc_algorithms.clone(),
            mapping: mapping_args(&self.oidc_maps, "CLAIM", "uid=preferred_username")?,
            max_age_s: self.oidc_max_age.map(|d| d.as_secs()),
            skew_s: self.oidc_skew.map(|d| d.as_secs()),
        })
    }
}

/// `FIELD=PATH` arguments as a mapping patch; a field named twice is refused.
fn mapping_args(
    raw: &[String],
    what: &str,
    example: &str,
) -> Result<Option<BTreeMap<String, String>>, CliError> {
    let mut mapping = BTreeMap::new();
    for arg in raw {
        let (field, path) = arg.split_once('=').ok_or_else(|| {
            CliError(format!(
                "mapping {arg:?} must look like FIELD={what}, e.g. {example}"
            ))
        })?;
        if mapping
            .insert(field.trim().to_string(), path.to_string())
            .is_some()
        {
            return Err(CliError(format!(
                "field {} is mapped more than once",
                field.trim()
            )));
        }
    }
    Ok((!mapping.is_empty()).then_some(mapping))
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
    #[arg(long, conflicts_with = "headers")]
    clear_headers: bool,
    /// Verification timeout in milliseconds (1 to 10000; default 3000).
    #[arg(long, value_name = "MS")]
    cookie_timeout_ms: Option<u64>,
    /// How long a cookie-login session lasts before it is verified again, e.g. 24h.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    reverify_interval: Option<Duration>,
    /// Accept an http:// endpoint or an internal address (development and tests; also
    /// implied when the last server started on this store runs with the option).
    #[arg(long, env = "TESSERA_ALLOW_PRIVATE_ENDPOINTS")]
    allow_private_endpoints: bool,
}

/// The account-handling switches of `site configure` (SPEC §6.1).
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Hide the platform's own sign-in in the widget (the site logs users in).
    #[arg(long, value_name = "BOOL")]
    disable_account_handling: Option<bool>,
    #[arg(long, value_name = "BOOL")]
    disable_avatar_changing: Option<bool>,
    #[arg(long, value_name = "BOOL")]
    disable_display_name_changing: Option<bool>,
}

impl CookieArgs {
    /// The options as the admin API's patch, so both are validated by one rule.
    fn patch(&self) -> Result<CookieLoginPatch, CliError> {
        let headers = if self.clear_headers {
            Some(Vec::new())
        } else if self.headers.is_empty() {
            None
        } else {
            let entries = self.headers.iter().map(|raw| {
                let (name, value) = raw.split_once(':').ok_or_else(|| {
                    CliError("a custom header must look like 'Name: value'".into())
                })?;
                Ok(HeaderEntry {
                    name: name.to_string(),
                    value: value.to_string(),
                })
            });
            Some(entries.collect::<Result<Vec<_>, CliError>>()?)
        };
        Ok(CookieLoginPatch {
            cookie_name: self.cookie_name.clone(),
            endpoint: self.cookie_endpoint.clone(),
            mapping: mapping_args(&self.maps, "PATH", "uid=user.id")?,
            headers,
            timeout_ms: self.cookie_timeout_ms,
            reverify_interval_s: self.reverify_interval.map(|d| d.as_secs()),
        })
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
            accounts,
            cookie,
            oidc,
        } => {
            let patch = SitePatch {
                name: None,
                origins: (!origins.is_empty()).then_some(origins),
                api_key_mandatory,
                account_handling: Some(AccountHandlingPatch {
                    disable_account_handling: accounts.disable_account_handling,
                    disable_avatar_changing: accounts.disable_avatar_changing,
                    disable_display_name_changing: accounts.disable_display_name_changing,
                }),
                cookie_login: Some(cookie.patch()?),
                id_token_login: Some(oidc.patch()?),
            };
            // Allowed by this command's flag (or env), or by what the installation's
            // servers run with (each records it when it starts).
            let policy = EndpointPolicy {
                allow_private: cookie.allow_private_endpoints
                    || store.private_endpoints_allowed().await?,
            };
            let view = site::patch(&super::ctx(store, site), &patch, policy).await?;
            out.emit(serde_json::to_value(&view)?, || {
                let cookie = match &view.cookie_login {
                    Some(c) if c.configured => cookie_summary(c),
                    _ => String::new(),
                };
                let oidc = match &view.id_token_login {
                    Some(o) if o.configured => oidc_summary(o),
                    _ => String::new(),
                };
                format!("Site {site} configured.{cookie}{oidc}")
            });
        }
        SiteCommand::SsoSecret(cmd) => super::sso_secrets::run(cmd, store, out).await?,
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

/// Fails with "there is no site N" unless the site exists (for commands whose
/// answer would otherwise be an empty list).
pub async fn require_site(store: &Store, site: i64) -> CliResult {
    match store.get_site(site).await? {
        Some(_) => Ok(()),
        None => Err(no_such_site(site)),
    }
}

/// The cookie-login part of `site configure`'s text output (header values masked).
fn cookie_summary(c: &CookieLoginView) -> String {
    let headers: Vec<String> = c
        .headers
        .iter()
        .map(|h| format!("{}: {}", h.name, h.value))
        .collect();
    let m = &c.mapping;
    format!(
        "\nCookie login: on\n  cookie name: {}\n  endpoint: {}\n  mapping: uid={} displayName={} email={} error={} photoURL={} socialData={}\n  headers: {}\n  timeout: {} ms, re-verify every {}",
        c.cookie_name.as_deref().unwrap_or("-"),
        c.endpoint.as_deref().unwrap_or("-"),
        m.uid, m.display_name, m.email, m.error, m.photo_url, m.social_data,
        if headers.is_empty() { "-".to_string() } else { headers.join(", ") },
        c.timeout_ms,
        c.reverify_interval,
    )
}

/// The ID-token part of `site configure`'s text output.
fn oidc_summary(view: &IdTokenLoginView) -> String {
    let o = &view.settings;
    let algorithms: Vec<&str> = o.algorithms.iter().map(|a| a.name()).collect();
    let m = &o.mapping;
    format!(
        "\nID-token login: on\n  issuer: {}\n  client id: {}\n  keys: {}\n  algorithms: {}\n  mapping: uid={} displayName={} email={} photoURL={}\n  max age: {} s, clock skew: {} s",
        o.issuer.as_deref().unwrap_or("-"),
        o.client_id.as_deref().unwrap_or("-"),
        o.jwks_uri.as_deref().unwrap_or("by discovery"),
        algorithms.join(", "),
        m.uid, m.display_name, m.email, m.photo_url,
        o.max_age_s,
        o.skew_s,
    )
}
