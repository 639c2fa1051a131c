//! Server configuration: defaults, then a TOML file, then `TESSERA_*` environment
//! variables, then command-line flags (the last two are read by clap, see `cli`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

use crate::cookie_login::limiter::LimitSettings;
use crate::http::TrustedProxies;
use crate::store::NodeCacheSettings;

/// Everything `tessera serve` needs to run.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the public HTTP listener.
    pub listen: SocketAddr,
    /// URL under which clients reach this server (issuer, endpoint URLs); default `http://LISTEN`.
    pub public_url: Option<Url>,
    /// Address of the Prometheus `/metrics` listener; `None` serves it on the public listener.
    pub metrics_listen: Option<SocketAddr>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    pub database_url: DatabaseUrl,
    /// Lifetime of OAuth 2.0 access tokens.
    #[serde(deserialize_with = "human_duration")]
    pub access_token_ttl: Duration,
    /// A session ends after this long without use.
    #[serde(deserialize_with = "human_duration")]
    pub session_idle_timeout: Duration,
    /// A session ends this long after it started, however much it is used.
    #[serde(deserialize_with = "human_duration")]
    pub session_max_lifetime: Duration,
    /// How often expired tokens and sessions are purged.
    #[serde(deserialize_with = "human_duration")]
    pub purge_interval: Duration,
    /// Networks of the reverse proxies whose `X-Forwarded-For` is believed (SPEC §8).
    pub trusted_proxies: TrustedProxies,
    /// Replaced by `trusted_proxies`; still recognised so that an old file set to
    /// `true` fails with a sentence saying what to write instead.
    pub trust_forwarded_for: Option<bool>,
    /// A request's head must arrive within this long (of the connection's start, or of
    /// its first byte on a kept-alive connection).
    #[serde(deserialize_with = "human_duration")]
    pub http_header_timeout: Duration,
    /// A request's body must arrive within this long of its head.
    #[serde(deserialize_with = "human_duration")]
    pub http_body_timeout: Duration,
    /// A kept-alive connection with no request closes after this long.
    #[serde(deserialize_with = "human_duration")]
    pub http_idle_timeout: Duration,
    /// Connections open at once per listener; default: the file-descriptor limit minus a reserve.
    pub max_connections: Option<usize>,
    /// Let cookie-login endpoints be `http` and resolve to private addresses (development only).
    pub allow_private_endpoints: bool,
    /// Site used by password login when a request names none.
    pub default_site_id: Option<i64>,
    /// Connections of the PostgreSQL pool, or read connections of the SQLite pool.
    pub database_pool_size: u32,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Lifetime of password-login JWTs.
    #[serde(deserialize_with = "human_duration")]
    pub jwt_ttl: Duration,
    /// A JWT can be refreshed until this long after the password login that started the chain.
    #[serde(deserialize_with = "human_duration")]
    pub jwt_refresh_window: Duration,
    /// Password hashes computed at once (each takes ~19 MiB and one core for tens of ms).
    pub password_hash_concurrency: usize,
    /// Cookie-login verifications of one site in flight on this node: the adaptive
    /// limit never falls below the floor nor rises above the ceiling.
    pub cookie_login_limit_floor: usize,
    pub cookie_login_limit_ceiling: usize,
    /// PostgreSQL only: live sessions, access tokens, API keys and users held in this node's
    /// memory, each cache up to this many entries (0: none; see `store::node_cache`).
    pub node_cache_entries: usize,
    /// A cached entry is read again from the database after this long, whatever happened.
    #[serde(deserialize_with = "human_duration")]
    pub node_cache_ttl: Duration,
}

/// One password hash at a time per core: more only queues inside the OS scheduler.
pub fn default_password_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            database_url: DatabaseUrl::default(),
            access_token_ttl: Duration::from_secs(3600),
            session_idle_timeout: Duration::from_secs(12 * 3600),
            session_max_lifetime: Duration::from_secs(30 * 24 * 3600),
            purge_interval: Duration::from_secs(300),
            trusted_proxies: TrustedProxies::default(),
            trust_forwarded_for: None,
            http_header_timeout: Duration::from_secs(10),
            http_body_timeout: Duration::from_secs(30),
            http_idle_timeout: Duration::from_secs(60),
            max_connections: None,
            allow_private_endpoints: false,
            default_site_id: None,
            database_pool_size: 16,
            log_format: LogFormat::Text,
            jwt_ttl: Duration::from_secs(3600),
            jwt_refresh_window: Duration::from_secs(14 * 24 * 3600),
            password_hash_concurrency: default_password_hash_concurrency(),
            cookie_login_limit_floor: LimitSettings::default().floor,
            cookie_login_limit_ceiling: LimitSettings::default().ceiling,
            node_cache_entries: NodeCacheSettings::default().entries,
            node_cache_ttl: NodeCacheSettings::default().ttl,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A configuration problem, reported as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration file {path} is invalid: {message}")]
    Parse { path: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// The node cache this configuration asks for.
    pub fn node_cache(&self) -> NodeCacheSettings {
        NodeCacheSettings {
            entries: self.node_cache_entries,
            ttl: self.node_cache_ttl,
            ..NodeCacheSettings::default()
        }
    }

    /// Defaults overlaid with the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses TOML; the error names the line and setting at fault, in one line.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_string();
            let Some(span) = e.span() else {
                return message;
            };
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or_default();
            let key = line.split('=').next().unwrap_or_default().trim();
            format!("line {line_no} ({key}): {message}")
        })
    }

    /// Checks values that parse but make no sense together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.access_token_ttl < Duration::from_secs(60) {
            return bad("access_token_ttl must be at least 1 minute");
        }
        if self.session_idle_timeout < Duration::from_secs(60) {
            return bad("session_idle_timeout must be at least 1 minute");
        }
        if self.session_max_lifetime < self.session_idle_timeout {
            return bad("session_max_lifetime must not be shorter than session_idle_timeout");
        }
        if self.purge_interval < Duration::from_secs(1) {
            return bad("purge_interval must be at least 1 second");
        }
        if self.node_cache_ttl < Duration::from_secs(1) {
            return bad("node_cache_ttl must be at least 1 second");
        }
        if self.database_pool_size == 0 {
            return bad("database_pool_size must be at least 1");
        }
        if self.jwt_ttl < Duration::from_secs(60) {
            return bad("jwt_ttl must be at least 1 minute");
        }
        if self.jwt_refresh_window < self.jwt_ttl {
            return bad("jwt_refresh_window must not be shorter than jwt_ttl");
        }
        if self.trust_forwarded_for == Some(true) {
            return bad(
                "trust_forwarded_for (TESSERA_TRUST_FORWARDED_FOR, --trust-forwarded-for) \
                 was replaced by trusted_proxies: list your proxies' networks there \
                 (TESSERA_TRUSTED_PROXIES, --trusted-proxy)",
            );
        }
        for (name, value) in [
            ("http_header_timeout", self.http_header_timeout),
            ("http_body_timeout", self.http_body_timeout),
            ("http_idle_timeout", self.http_idle_timeout),
        ] {
            if value < Duration::from_millis(100) {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be at least 100ms"
                )));
            }
        }
        if self
            .max_connections
            .is_some_and(|n| n == 0 || n > crate::http::server::MAX_CONNECTIONS)
        {
            return bad("max_connections must be between 1 and 1048576");
        }
        if self.password_hash_concurrency == 0 || self.password_hash_concurrency > 1024 {
            return bad("password_hash_concurrency must be between 1 and 1024");
        }
        let (floor, ceiling) = (
            self.cookie_login_limit_floor,
            self.cookie_login_limit_ceiling,
        );
        if floor == 0 || floor > ceiling || ceiling > 4096 {
            return bad(
                "cookie_login_limit_floor must be at least 1 and at most cookie_login_limit_ceiling, which is at most 4096",
            );
        }
        if let Some(url) = &self.public_url {
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return bad("public_url must be an absolute http(s) URL");
            }
        }
        let scheme = self.database_url.scheme();
        if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
            return bad("database_url must start with sqlite:// or postgres://");
        }
        Ok(())
    }

    /// The URL clients use to reach this server, without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

/// A database URL; it may embed a password, so `Debug` shows only the scheme.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub const DEFAULT: &'static str = "sqlite://tessera.db";

    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn scheme(&self) -> &str {
        self.expose().split(':').next().unwrap_or_default()
    }
}

impl Default for DatabaseUrl {
    fn default() -> Self {
        Self::new(Self::DEFAULT)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({}://…)", self.scheme())
    }
}

/// Durations are written the human way in TOML: `"12h"`, `"30days"`, `"3600s"`.
fn human_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!("{text:?} is not a duration like \"12h\" ({e})"))
    })
}

/// A documented example file, printed by `tessera config example`.
pub const EXAMPLE_TOML: &str = r#"# Tessera configuration. Every setting is optional; shown with its default.
# Precedence: defaults < this file < TESSERA_* environment variables < flags.

# Public HTTP listener (env TESSERA_LISTEN, flag --listen).
listen = "127.0.0.1:8080"

# URL under which clients reach this server; used as the OAuth 2.0 issuer and in
# endpoint URLs. Default: http://LISTEN (env TESSERA_PUBLIC_URL, flag --public-url).
# public_url = "https://auth.example.com"

# Prometheus /metrics listener, kept off the public port (env TESSERA_METRICS_LISTEN).
metrics_listen = "127.0.0.1:9464"

# sqlite://PATH (embedded, one node) or postgres://USER@HOST/DB (any number of nodes).
# Env TESSERA_DATABASE_URL, flag --database-url.
database_url = "sqlite://tessera.db"

# Connections of the PostgreSQL pool, or read connections for SQLite.
database_pool_size = 16

# Lifetime of OAuth 2.0 access tokens.
access_token_ttl = "1h"

# Sessions end after this long without use, and at the latest after the maximum lifetime.
session_idle_timeout = "12h"
session_max_lifetime = "30days"

# How often expired tokens and sessions are deleted.
purge_interval = "5m"

# Reverse proxies whose X-Forwarded-For is believed, as CIDR networks (env
# TESSERA_TRUSTED_PROXIES, comma-separated; flag --trusted-proxy, repeatable). Only a
# request whose peer is in one of them has its client IP taken from the header: the
# right-most address that is not itself a trusted proxy. Default: none.
trusted_proxies = []

# A request's head must arrive within this long, its body within this long after it;
# kept-alive connections without a request close after the idle timeout
# (env TESSERA_HTTP_HEADER_TIMEOUT, ..., flags --http-header-timeout, ...).
http_header_timeout = "10s"
http_body_timeout = "30s"
http_idle_timeout = "60s"

# Connections open at once; past it new ones wait in the listen backlog. Default: the
# process's file-descriptor limit minus 128 kept for the store and outgoing requests
# (env TESSERA_MAX_CONNECTIONS, flag --max-connections).
# max_connections = 4000

# Allow http:// and private-address cookie-login endpoints (development and tests only).
allow_private_endpoints = false

# Site used by password login when the request names none.
# default_site_id = 1

# "text" or "json".
log_format = "text"

# Lifetime of password-login JWTs (env TESSERA_JWT_TTL, flag --jwt-ttl).
jwt_ttl = "1h"

# A JWT can be refreshed until this long after the password login that started it
# (env TESSERA_JWT_REFRESH_WINDOW, flag --jwt-refresh-window).
jwt_refresh_window = "14days"

# Password hashes (Argon2id, 19 MiB each) computed at once; default: the number of cores
# (env TESSERA_PASSWORD_HASH_CONCURRENCY, flag --password-hash-concurrency).
# password_hash_concurrency = 4

# Cookie-login verifications of one site in flight on this node: an adaptive limit
# that follows the site's endpoint between these bounds (env
# TESSERA_COOKIE_LOGIN_LIMIT_FLOOR / _CEILING, flags --cookie-login-limit-floor / -ceiling).
cookie_login_limit_floor = 4
cookie_login_limit_ceiling = 256

# PostgreSQL only: live sessions, access tokens, API keys and users kept in this node's memory,
# each cache up to this many entries (0: none), kept true by LISTEN/NOTIFY; an entry is
# read again after the TTL whatever happened (env TESSERA_NODE_CACHE_ENTRIES /
# TESSERA_NODE_CACHE_TTL, flags --node-cache-entries / --node-cache-ttl).
node_cache_entries = 100000
node_cache_ttl = "30s"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses_to_the_defaults() {
        let parsed = Config::from_toml(EXAMPLE_TOML).expect("example parses");
        let defaults = Config::default();
        assert_eq!(parsed.listen, defaults.listen);
        assert_eq!(parsed.metrics_listen, defaults.metrics_listen);
        assert_eq!(parsed.access_token_ttl, defaults.access_token_ttl);
        assert_eq!(parsed.session_idle_timeout, defaults.session_idle_timeout);
        assert_eq!(parsed.session_max_lifetime, defaults.session_max_lifetime);
        assert_eq!(parsed.purge_interval, defaults.purge_interval);
        assert_eq!(parsed.database_url.expose(), defaults.database_url.expose());
        assert_eq!(parsed.jwt_ttl, defaults.jwt_ttl);
        assert_eq!(parsed.trusted_proxies, defaults.trusted_proxies);
        assert_eq!(parsed.http_header_timeout, defaults.http_header_timeout);
        assert_eq!(parsed.http_body_timeout, defaults.http_body_timeout);
        assert_eq!(parsed.http_idle_timeout, defaults.http_idle_timeout);
        assert_eq!(parsed.node_cache(), defaults.node_cache());
        assert_eq!(parsed.jwt_refresh_window, defaults.jwt_refresh_window);
        assert_eq!(
            parsed.password_hash_concurrency,
            defaults.password_hash_concurrency
        );
        parsed.validate().expect("example is valid");
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_rejected() {
        assert!(Config::from_toml("lisen = \"127.0.0.1:1\"").is_err());
        assert!(Config::from_toml("access_token_ttl = \"soon\"").is_err());
    }

    #[test]
    fn database_url_debug_hides_credentials() {
        let url = DatabaseUrl::new("postgres://admin:hunter2@db/tessera");
        assert_eq!(format!("{url:?}"), "DatabaseUrl(postgres://…)");
    }

    #[test]
    fn nonsense_combinations_are_invalid() {
        let config = Config {
            session_max_lifetime: Duration::from_secs(60),
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }
}
