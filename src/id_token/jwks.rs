//! The OpenID providers' signing keys (SPEC §5.3): discovery and JWKS fetched through
//! the guarded outgoing client, cached per provider for as long as its
//! `Cache-Control` says (between one minute and one hour), so a warm login never
//! calls the provider.
//!
//! Fetches are rationed so that no token can make the provider's traffic grow:
//! - a stale cache is refreshed by one login at a time, at most once a minute,
//!   while other logins go on with the keys they have;
//! - an unknown `kid` (a rotation, or a forgery) triggers a re-fetch at most once a
//!   minute per provider, however recent the regular fetch was;
//! - a failed fetch keeps the keys already known: while the provider is down, tokens
//!   signed by those keys still log in, and only a token that needs a key nobody
//!   has (an unknown `kid`, or an empty cache) is answered `issuer_unavailable`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use jsonwebtoken::DecodingKey;
use serde_json::Value;
use url::Url;

use crate::clock::Millis;
use crate::http::outgoing::{read_capped, GuardedClient, RequestFailed};
use crate::settings::id_token::{Algorithm, KeySource};

/// Fetches of one provider's keys, of each kind, at most this often.
pub const MIN_FETCH_INTERVAL_MS: Millis = 60_000;
/// How long keys are used without asking again, whatever the provider says.
const MAX_FRESH_MS: Millis = 3_600_000;
/// How long keys are used without asking again when the provider does not say.
const DEFAULT_FRESH_MS: Millis = 600_000;
/// Whole exchange with the provider (discovery or JWKS), per request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest discovery document or JWKS read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Providers remembered; past that the cache starts over (sites are far fewer).
const MAX_PROVIDERS: usize = 10_000;

/// The kind of a public key, which decides the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyType {
    /// Whether a signature of `alg` can come from a key of this type.
    pub fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            KeyType::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyType::P256 => alg == ES256,
            KeyType::P384 => alg == ES384,
            KeyType::Ed25519 => alg == EdDSA,
        }
    }
}

/// One signing key of a provider.
pub struct ProviderKey {
    pub kid: Option<String>,
    /// The key's own `alg`, when the JWKS names one: a token must use exactly it.
    pub alg: Option<String>,
    pub key_type: KeyType,
    pub decoding: DecodingKey,
}

impl std::fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

/// What the cache can say about the key a token names.
#[derive(Debug)]
pub enum KeyLookup {
    Found(Arc<ProviderKey>),
    /// The provider answered and has no such key: the token's signer is unknown.
    Unknown,
    /// No usable key, and the provider cannot be asked now (why, for the audit log).
    Unavailable(String),
}

/// What is known of one provider's keys.
#[derive(Clone, Default)]
struct Snapshot {
    keys: Arc<Vec<Arc<ProviderKey>>>,
    fresh_until: Millis,
    last_attempt: Option<Millis>,
    /// The last re-fetch for an unknown `kid`.
    last_forced: Option<Millis>,
    /// Why the last fetch failed; `None` once one succeeds.
    failure: Option<String>,
}

impl Snapshot {
    /// The key `kid` names; without a `kid`, the only key that can verify `alg`.
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<ProviderKey>> {
        match kid {
            Some(kid) => {
                let mut named = self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid));
                let first = named.next()?;
                // Several keys may share a kid across types: prefer one that fits.
                std::iter::once(first)
                    .chain(named)
                    .find(|k| k.key_type.fits(alg))
                    .or(Some(first))
                    .cloned()
            }
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.key_type.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(only), None) => Some(only.clone()),
                    _ => None,
                }
            }
        }
    }

    fn due(last: Option<Millis>, now: Millis) -> bool {
        last.is_none_or(|at| now - at >= MIN_FETCH_INTERVAL_MS)
    }
}

struct Provider {
    snapshot: RwLock<Snapshot>,
    /// One fetch at a time per provider; logins that need its result wait for it.
    fetching: tokio::sync::Mutex<()>,
}

impl Provider {
    fn snapshot(&self) -> Snapshot {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn update(&self, edit: impl FnOnce(&mut Snapshot)) {
        edit(&mut self.snapshot.write().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Every provider's keys, shared by the server's logins.
pub struct KeyCache {
    client: GuardedClient,
    providers: Mutex<HashMap<KeySource, Arc<Provider>>>,
}

impl KeyCache {
    pub fn new(allow_private: bool) -> Self {
        Self {
            client: GuardedClient::new(
                allow_private,
                concat!("tessera-id-token-login/", env!("CARGO_PKG_VERSION")),
                4,
            ),
            providers: Mutex::default(),
        }
    }

    fn provider(&self, source: &KeySource) -> Arc<Provider> {
        let mut providers = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        if providers.len() >= MAX_PROVIDERS && !providers.contains_key(source) {
            providers.clear();
        }
        providers
            .entry(source.clone())
            .or_insert_with(|| {
                Arc::new(Provider {
                    snapshot: RwLock::default(),
                    fetching: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// The key a token of `issuer` names (`kid`, or none), fetching the provider's
    /// keys when they are stale or lack it, within the rations of the module doc.
    pub async fn key(
        &self,
        source: &KeySource,
        issuer: &str,
        kid: Option<&str>,
        alg: Algorithm,
        now: Millis,
    ) -> KeyLookup {
        let provider = self.provider(source);
        let seen = provider.snapshot();
        let stale = now >= seen.fresh_until;
        let regular_due = stale && Snapshot::due(seen.last_attempt, now);
        if let Some(key) = seen.find(kid, alg) {
            if !regular_due {
                return KeyLookup::Found(key);
            }
            // A usable key is never held back by a fetch in progress elsewhere.
            if let Ok(_turn) = provider.fetching.try_lock() {
                if provider.snapshot().last_attempt == seen.last_attempt {
                    self.refresh(&provider, source, issuer, now, false).await;
                }
            }
            let after = provider.snapshot();
            return match after.find(kid, alg) {
                Some(key) => KeyLookup::Found(key),
                // The provider answered without it: the key was withdrawn.
                None if after.failure.is_none() => KeyLookup::Unknown,
                None => KeyLookup::Found(key),
            };
        }
        let forced_due = Snapshot::due(seen.last_forced, now);
        if regular_due || forced_due {
            let _turn = provider.fetching.lock().await;
            // Another login may have fetched while this one waited.
            // Counted as a re-fetch for an unknown kid even when the cache was stale
            // anyway (a flood of unknown kids then costs one fetch a minute, not two);
            // the very first fetch of a provider is not one.
            if provider.snapshot().last_attempt == seen.last_attempt {
                let forced = seen.last_attempt.is_some();
                self.refresh(&provider, source, issuer, now, forced).await;
            }
        }
        let after = provider.snapshot();
        match (after.find(kid, alg), after.failure) {
            (Some(key), _) => KeyLookup::Found(key),
            (None, Some(failure)) => KeyLookup::Unavailable(failure),
            (None, None) if after.last_attempt.is_none() => {
                KeyLookup::Unavailable("the provider's keys were never fetched".into())
            }
            (None, None) => KeyLookup::Unknown,
        }
    }

    async fn refresh(
        &self,
        provider: &Provider,
        source: &KeySource,
        issuer: &str,
        now: Millis,
        forced: bool,
    ) {
        let fetched = self.fetch(source, issuer).await;
        provider.update(|s| {
            s.last_attempt = Some(now);
            if forced {
                s.last_forced = Some(now);
            }
            match fetched {
                Ok((keys, fresh_ms)) => {
                    s.keys = Arc::new(keys);
                    s.fresh_until = now + fresh_ms;
                    s.failure = None;
                }
                Err(failure) => {
                    tracing::warn!(source = ?source, %failure, "OpenID provider keys unavailable");
                    s.failure = Some(failure);
                }
            }
        });
    }

    /// Discovery (unless the JWKS is named) and the JWKS: the usable keys, and how
    /// long to trust them.
    async fn fetch(
        &self,
        source: &KeySource,
        issuer: &str,
    ) -> Result<(Vec<Arc<ProviderKey>>, Millis), String> {
        let jwks_uri = match source {
            KeySource::Jwks(uri) => uri.clone(),
            KeySource::Discovery(url) => {
                let (document, _) = self.get_json(url, "discovery document").await?;
                // OpenID Connect Discovery §4.3: the document must be the issuer's own.
                if document.get("issuer").and_then(Value::as_str) != Some(issuer) {
                    return Err(format!(
                        "the discovery document at {url} names another issuer than {issuer}"
                    ));
                }
                document
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("the discovery document at {url} has no jwks_uri"))?
                    .to_string()
            }
        };
        let (jwks, fresh_ms) = self.get_json(&jwks_uri, "JWKS").await?;
        let keys = parse_jwks(&jwks);
        if keys.is_empty() {
            return Err(format!("the JWKS at {jwks_uri} has no usable signing key"));
        }
        Ok((keys, fresh_ms))
    }

    /// One GET with the guard, the timeout and the size cap: the JSON and its freshness.
    async fn get_json(&self, url: &str, what: &str) -> Result<(Value, Millis), String> {
        let parsed =
            Url::parse(url).map_err(|e| format!("the {what} URL {url} is invalid ({e})"))?;
        let exchange = async {
            let mut response = self
                .client
                .get(parsed)
                .map_err(|e| format!("the {what} at {url}: {e}"))?
                .header(header::ACCEPT, HeaderValue::from_static("application/json"))
                .timeout(FETCH_TIMEOUT)
                .send()
                .await
                .map_err(|e| format!("the {what} at {url}: {}", RequestFailed::classify(e)))?;
            if response.status() != StatusCode::OK {
                return Err(format!(
                    "the {what} at {url} answered with status {}",
                    response.status().as_u16()
                ));
            }
            let fresh_ms = freshness(response.headers());
            let (body, too_large) = read_capped(&mut response, MAX_DOCUMENT_BYTES)
                .await
                .map_err(|e| format!("the {what} at {url}: {}", RequestFailed::classify(e)))?;
            if too_large {
                return Err(format!("the {what} at {url} is larger than 256 KiB"));
            }
            let value: Value = serde_json::from_slice(&body)
                .map_err(|_| format!("the {what} at {url} is not JSON"))?;
            Ok((value, fresh_ms))
        };
        tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("the {what} at {url} did not answer in time")))
    }
}

/// How long an answer may be used: its `Cache-Control` `max-age` (`no-store` and
/// `no-cache` count as zero), between one minute and one hour; ten minutes when it
/// does not say.
pub fn freshness(headers: &HeaderMap) -> Millis {
    let directives = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase());
    let mut said = None;
    for directive in directives {
        if directive == "no-store" || directive == "no-cache" {
            said = Some(0);
            break;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            if let Ok(seconds) = seconds.trim_matches('"').parse::<i64>() {
                said = Some(seconds.saturating_mul(1000));
            }
        }
    }
    said.unwrap_or(DEFAULT_FRESH_MS)
        .clamp(MIN_FETCH_INTERVAL_MS, MAX_FRESH_MS)
}

/// The signing keys of a JWKS that can verify an accepted algorithm; anything else
/// (encryption keys, symmetric keys, other curves, broken entries) is left out.
pub fn parse_jwks(jwks: &Value) -> Vec<Arc<ProviderKey>> {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    keys.iter().filter_map(parse_jwk).map(Arc::new).collect()
}

fn parse_jwk(jwk: &Value) -> Option<ProviderKey> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array) {
        if !ops.iter().any(|op| op == "verify") {
            return None;
        }
    }
    let (key_type, decoding) = match (text("kty")?, text("crv")) {
        ("RSA", _) => (
            KeyType::Rsa,
            DecodingKey::from_rsa_components(text("n")?, text("e")?).ok()?,
        ),
        ("EC", Some(curve @ ("P-256" | "P-384"))) => (
            if curve == "P-256" {
                KeyType::P256
            } else {
                KeyType::P384
            },
            DecodingKey::from_ec_components(text("x")?, text("y")?).ok()?,
        ),
        ("OKP", Some("Ed25519")) => (
            KeyType::Ed25519,
            DecodingKey::from_ed_components(text("x")?).ok()?,
        ),
        _ => return None,
    };
    let alg = text("alg").map(str::to_string);
    // A key that names an algorithm it cannot verify is broken, not merely unusual.
    if let Some(name) = &alg {
        if !Algorithm::parse(name).is_some_and(|a| key_type.fits(a)) {
            return None;
        }
    }
    Some(ProviderKey {
        kid: text("kid").map(str::to_string),
        alg,
        key_type,
        decoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cache_control(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn freshness_follows_cache_control_within_bounds() {
        assert_eq!(freshness(&HeaderMap::new()), DEFAULT_FRESH_MS);
        assert_eq!(freshness(&cache_control("public, max-age=300")), 300_000);
        assert_eq!(freshness(&cache_control("max-age=86400")), MAX_FRESH_MS);
        assert_eq!(
            freshness(&cache_control("max-age=5")),
            MIN_FETCH_INTERVAL_MS
        );
        assert_eq!(freshness(&cache_control("no-store")), MIN_FETCH_INTERVAL_MS);
        assert_eq!(freshness(&cache_control("max-age=x")), DEFAULT_FRESH_MS);
    }

    #[test]
    fn only_usable_signing_keys_are_kept() {
        let jwks = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "X25519", "kid": "x", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "liar", "alg": "RS256", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "RSA", "kid": "broken"},
            "not an object"
        ]});
        let keys = parse_jwks(&jwks);
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert_eq!(keys[0].kid.as_deref(), Some("ed"));
        assert_eq!(keys[0].key_type, KeyType::Ed25519);
        assert!(parse_jwks(&json!({"nokeys": []})).is_empty());
    }

    #[test]
    fn algorithms_fit_their_key_types() {
        assert!(KeyType::Rsa.fits(Algorithm::RS256));
        assert!(KeyType::Rsa.fits(Algorithm::PS512));
        assert!(!KeyType::Rsa.fits(Algorithm::ES256));
        assert!(KeyType::P256.fits(Algorithm::ES256));
        assert!(!KeyType::P256.fits(Algorithm::ES384));
        assert!(!KeyType::Ed25519.fits(Algorithm::RS256));
    }
}
