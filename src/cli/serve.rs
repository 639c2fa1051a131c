//! `tessera serve`: configuration layering, first-run bootstrap, the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use secrecy::ExposeSecret;
use url::Url;

use super::{connect_store, load_config_file, CliError, CliResult, Missing, Output};
use crate::app::{shutdown_signal, AppState, Server};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DatabaseUrl, LogFormat};
use crate::http::TrustedProxies;
use crate::store::audit::Actor;
use crate::store::{PoolSizes, Store};

/// Flags override `TESSERA_*` variables, which override the file, which overrides defaults.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    /// Public listen address [default: 127.0.0.1:8080]
    #[arg(long, env = "TESSERA_LISTEN")]
    listen: Option<SocketAddr>,
    /// URL clients use to reach this server [default: http://LISTEN]
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    public_url: Option<Url>,
    /// Prometheus /metrics listen address [default: 127.0.0.1:9464]
    #[arg(long, env = "TESSERA_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Allow http:// and private-address cookie-login endpoints (development and tests).
    #[arg(long, env = "TESSERA_ALLOW_PRIVATE_ENDPOINTS", num_args = 0..=1, default_missing_value = "true")]
    allow_private_endpoints: Option<bool>,
    /// A reverse proxy whose X-Forwarded-For is believed: CIDR network or address; repeatable
    /// (env: comma-separated) [default: none]
    #[arg(long = "trusted-proxy", env = "TESSERA_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = crate::http::parse_net)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Replaced by --trusted-proxy (kept to say so).
    #[arg(long, env = "TESSERA_TRUST_FORWARDED_FOR", num_args = 0..=1, default_missing_value = "true", hide = true)]
    trust_forwarded_for: Option<bool>,
    /// A request's head must arrive within this long, e.g. 10s.
    #[arg(long, env = "TESSERA_HTTP_HEADER_TIMEOUT", value_parser = humantime::parse_duration)]
    http_header_timeout: Option<Duration>,
    /// A request's body must arrive within this long, e.g. 30s.
    #[arg(long, env = "TESSERA_HTTP_BODY_TIMEOUT", value_parser = humantime::parse_duration)]
    http_body_timeout: Option<Duration>,
    /// Kept-alive connections without a request close after this long, e.g. 60s.
    #[arg(long, env = "TESSERA_HTTP_IDLE_TIMEOUT", value_parser = humantime::parse_duration)]
    http_idle_timeout: Option<Duration>,
    /// Connections open at once [default: file-descriptor limit minus 128]
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Site used by password login when a request names none.
    #[arg(long, env = "TESSERA_DEFAULT_SITE_ID")]
    default_site_id: Option<i64>,
    /// Access token lifetime, e.g. 1h.
    #[arg(long, env = "TESSERA_ACCESS_TOKEN_TTL", value_parser = humantime::parse_duration)]
    access_token_ttl: Option<Duration>,
    /// Idle timeout of sessions, e.g. 12h.
    #[arg(long, env = "TESSERA_SESSION_IDLE_TIMEOUT", value_parser = humantime::parse_duration)]
    session_idle_timeout: Option<Duration>,
    /// Absolute lifetime of sessions, e.g. 30days.
    #[arg(long, env = "TESSERA_SESSION_MAX_LIFETIME", value_parser = humantime::parse_duration)]
    session_max_lifetime: Option<Duration>,
    /// How often expired rows are purged, e.g. 5m.
    #[arg(long, env = "TESSERA_PURGE_INTERVAL", value_parser = humantime::parse_duration)]
    purge_interval: Option<Duration>,
    /// Database connections (PostgreSQL) or read connections (SQLite).
    #[arg(long, env = "TESSERA_DATABASE_POOL_SIZE")]
    database_pool_size: Option<u32>,
    /// Log format.
    #[arg(long, env = "TESSERA_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Lifetime of password-login JWTs, e.g. 1h.
    #[arg(long, env = "TESSERA_JWT_TTL", value_parser = humantime::parse_duration)]
    jwt_ttl: Option<Duration>,
    /// How long after a password login its JWT can be refreshed, e.g. 14days.
    #[arg(long, env = "TESSERA_JWT_REFRESH_WINDOW", value_parser = humantime::parse_duration)]
    jwt_refresh_window: Option<Duration>,
    /// Password hashes computed at once [default: number of cores]
    #[arg(long, env = "TESSERA_PASSWORD_HASH_CONCURRENCY")]
    password_hash_concurrency: Option<usize>,
    /// Lowest limit of one site's cookie-login verifications in flight [default: 4]
    #[arg(long, env = "TESSERA_COOKIE_LOGIN_LIMIT_FLOOR")]
    cookie_login_limit_floor: Option<usize>,
    /// Highest limit of one site's cookie-login verifications in flight [default: 256]
    #[arg(long, env = "TESSERA_COOKIE_LOGIN_LIMIT_CEILING")]
    cookie_login_limit_ceiling: Option<usize>,
    /// PostgreSQL: entries of each node-local cache (sessions, access tokens, API keys, users);
    /// 0 turns it off [default: 100000]
    #[arg(long, env = "TESSERA_NODE_CACHE_ENTRIES")]
    node_cache_entries: Option<usize>,
    /// PostgreSQL: a cached entry is read again after this long, e.g. 30s [default: 30s]
    #[arg(long, env = "TESSERA_NODE_CACHE_TTL", value_parser = humantime::parse_duration)]
    node_cache_ttl: Option<Duration>,
}

impl ServeArgs {
    /// Overlays environment and flags (both read by clap) on the file's configuration.
    pub fn apply(self, mut config: Config, database_url: Option<String>) -> Config {
        if let Some(url) = database_url {
            config.database_url = DatabaseUrl::new(url);
        }
        if let Some(v) = self.listen {
            config.listen = v;
        }
        if let Some(v) = self.public_url {
            config.public_url = Some(v);
        }
        if let Some(v) = self.metrics_listen {
            config.metrics_listen = Some(v);
        }
        if let Some(v) = self.allow_private_endpoints {
            config.allow_private_endpoints = v;
        }
        if !self.trusted_proxies.is_empty() {
            config.trusted_proxies = TrustedProxies::from(self.trusted_proxies);
        }
        if let Some(v) = self.trust_forwarded_for {
            config.trust_forwarded_for = Some(v);
        }
        if let Some(v) = self.http_header_timeout {
            config.http_header_timeout = v;
        }
        if let Some(v) = self.http_body_timeout {
            config.http_body_timeout = v;
        }
        if let Some(v) = self.http_idle_timeout {
            config.http_idle_timeout = v;
        }
        if let Some(v) = self.max_connections {
            config.max_connections = Some(v);
        }
        if let Some(v) = self.default_site_id {
            config.default_site_id = Some(v);
        }
        if let Some(v) = self.access_token_ttl {
            config.access_token_ttl = v;
        }
        if let Some(v) = self.session_idle_timeout {
            config.session_idle_timeout = v;
        }
        if let Some(v) = self.session_max_lifetime {
            config.session_max_lifetime = v;
        }
        if let Some(v) = self.purge_interval {
            config.purge_interval = v;
        }
        if let Some(v) = self.database_pool_size {
            config.database_pool_size = v;
        }
        if let Some(v) = self.log_format {
            config.log_format = v;
        }
        if let Some(v) = self.jwt_ttl {
            config.jwt_ttl = v;
        }
        if let Some(v) = self.jwt_refresh_window {
            config.jwt_refresh_window = v;
        }
        if let Some(v) = self.password_hash_concurrency {
            config.password_hash_concurrency = v;
        }
        if let Some(v) = self.cookie_login_limit_floor {
            config.cookie_login_limit_floor = v;
        }
        if let Some(v) = self.cookie_login_limit_ceiling {
            config.cookie_login_limit_ceiling = v;
        }
        if let Some(v) = self.node_cache_entries {
            config.node_cache_entries = v;
        }
        if let Some(v) = self.node_cache_ttl {
            config.node_cache_ttl = v;
        }
        config
    }
}

/// The configuration `serve` runs with: file, then environment, then flags, validated.
/// `config check` calls this too, so it checks exactly what `serve` would read.
pub fn layered_config(args: ServeArgs, database_url: Option<String>) -> Result<Config, CliError> {
    let file = load_config_file(args.config.as_deref())?;
    let config = args.apply(file, database_url);
    config.validate()?;
    Ok(config)
}

pub async fn run(args: ServeArgs, database_url: Option<String>, out: &Output) -> CliResult {
    let config = layered_config(args, database_url)?;
    crate::telemetry::init(config.log_format);

    let sizes = PoolSizes {
        // Each SQLite connection is a thread of its own: more readers than twice the cores
        // only adds context switches (measured: 2 readers beat 16 on 2 cores by a third).
        sqlite_readers: config
            .database_pool_size
            .min(2 * std::thread::available_parallelism().map_or(2, |n| n.get() as u32)),
        postgres: config.database_pool_size,
    };
    let store = connect_store(config.database_url.expose(), &sizes, Missing::Create).await?;
    store.migrate().await?;
    let store = store.with_node_cache(&config.node_cache());
    bootstrap_first_site(&store, &config, out).await?;
    crate::password::keys::ensure_signing_key(&store, SystemClock.now_ms()).await?;

    let state = AppState::new(store.clone(), config, Arc::new(SystemClock));
    let server = Server::bind(state).await?;
    let public = server.public_addr()?;
    tracing::info!(
        listen = %public,
        metrics = ?server.metrics_addr(),
        store = store.kind(),
        "tessera is serving"
    );
    server.run(shutdown_signal()).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// On an empty store, creates a first site and prints its Site ID and API key once.
async fn bootstrap_first_site(store: &Store, config: &Config, out: &Output) -> CliResult {
    if store.count_sites().await? > 0 {
        return Ok(());
    }
    let now = SystemClock.now_ms();
    let created = store
        .create_site("My site", &[], now, &Actor::System)
        .await?;
    let key = created.api_key.expose_secret();
    let base = config.public_base();
    out.emit(
        serde_json::json!({ "site_id": created.site_id, "api_key": key, "key_id": created.key_id }),
        || {
            format!(
                "Tessera created a first site. The API key is shown only this once: store it now.\n\n  \
                 Site ID: {site}\n  API key: {key}\n\nGet an access token:\n  \
                 curl --user {site}:{key} -d grant_type=client_credentials -d scope=accounts {base}/oauth2/token\n",
                site = created.site_id
            )
        },
    );
    Ok(())
}
