//! The JWT signing keys: generated on first start, kept in the store so that every
//! node signs and verifies alike, cached in memory only as a cache.
//!
//! Signing always asks the store for the current kid (one indexed read, next to an
//! Argon2 hash), so a rotation on any node takes effect at once. Verification uses
//! the cache, re-read periodically and when a token names an unknown kid.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::clock::{duration_ms, Millis};
use crate::store::audit::Actor;
use crate::store::jwt_keys::StoredJwtKey;
use crate::store::{Store, StoreError, StoreResult};

/// The cache is re-read at least this often (a rotation elsewhere is seen within it).
const CACHE_TTL: Duration = Duration::from_secs(30);
/// An unknown kid re-reads the store at most this often (forged kids cannot flood it).
const MISS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// Extra time a retired key stays published, covering clock leeway.
const PUBLISH_MARGIN_MS: Millis = 120_000;

/// One usable key. `Debug` never shows the private half.
pub struct JwtKey {
    pub kid: String,
    pub signing: SigningKey,
    pub verifying: VerifyingKey,
    pub created_at: Millis,
    pub retired_at: Option<Millis>,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl JwtKey {
    fn from_stored(stored: &StoredJwtKey) -> StoreResult<Self> {
        let corrupt = || StoreError::Corrupt(format!("JWT key {}", stored.kid));
        let seed: [u8; 32] = stored
            .private_key
            .as_slice()
            .try_into()
            .map_err(|_| corrupt())?;
        let signing = SigningKey::from_bytes(&seed);
        let verifying = signing.verifying_key();
        if verifying.as_bytes().as_slice() != stored.public_key.as_slice() {
            return Err(corrupt());
        }
        Ok(Self {
            kid: stored.kid.clone(),
            signing,
            verifying,
            created_at: stored.created_at,
            retired_at: stored.retired_at,
        })
    }

    /// Published in the JWKS while a token it signed may still be unexpired.
    pub fn is_published(&self, now: Millis, jwt_ttl: Duration) -> bool {
        self.retired_at
            .is_none_or(|retired| now < retired + duration_ms(jwt_ttl) + PUBLISH_MARGIN_MS)
    }

    /// The RFC 8037 JWK of the public key.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.verifying.as_bytes()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key: a kid every verifier can recompute.
fn thumbprint(public: &VerifyingKey) -> String {
    let x = URL_SAFE_NO_PAD.encode(public.as_bytes());
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A fresh key, ready to be stored.
pub fn generate(now: Millis) -> StoredJwtKey {
    let signing = SigningKey::generate(&mut OsRng);
    let verifying = signing.verifying_key();
    StoredJwtKey {
        kid: thumbprint(&verifying),
        public_key: verifying.as_bytes().to_vec(),
        private_key: signing.to_bytes().to_vec(),
        created_at: now,
        retired_at: None,
    }
}

/// Creates the first key if the store has none (called on start-up and lazily).
pub async fn ensure_signing_key(store: &Store, now: Millis) -> StoreResult<String> {
    if let Some(kid) = store.current_jwt_kid().await? {
        return Ok(kid);
    }
    let key = generate(now);
    store.insert_jwt_key(&key, false, &Actor::System).await?;
    // Nodes starting together may each add one; all agree on the newest.
    Ok(store.current_jwt_kid().await?.unwrap_or(key.kid))
}

/// Makes a new current key; the others are retired but still verify their tokens.
pub async fn rotate(store: &Store, now: Millis, actor: &Actor) -> StoreResult<String> {
    let key = generate(now);
    store.insert_jwt_key(&key, true, actor).await?;
    Ok(key.kid)
}

#[derive(Default)]
struct Cache {
    keys: Arc<Vec<Arc<JwtKey>>>,
    loaded_at: Option<Instant>,
    last_miss_reload: Option<Instant>,
}

/// The in-memory cache of the store's keys.
#[derive(Default)]
pub struct KeyRing {
    cache: RwLock<Cache>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing(…)")
    }
}

impl KeyRing {
    async fn reload(&self, store: &Store) -> StoreResult<Arc<Vec<Arc<JwtKey>>>> {
        let stored = store.list_jwt_keys().await?;
        let keys = stored
            .iter()
            .map(|k| JwtKey::from_stored(k).map(Arc::new))
            .collect::<StoreResult<Vec<_>>>()?;
        let keys = Arc::new(keys);
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.keys = keys.clone();
        cache.loaded_at = Some(Instant::now());
        Ok(keys)
    }

    /// Every key the store holds (cached for up to [`CACHE_TTL`]).
    pub async fn all(&self, store: &Store) -> StoreResult<Arc<Vec<Arc<JwtKey>>>> {
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if cache.loaded_at.is_some_and(|at| at.elapsed() < CACHE_TTL) {
                return Ok(cache.keys.clone());
            }
        }
        self.reload(store).await
    }

    /// The key named `kid`, re-reading the store on a miss (at most once a second).
    pub async fn find(&self, store: &Store, kid: &str) -> StoreResult<Option<Arc<JwtKey>>> {
        let keys = self.all(store).await?;
        if let Some(key) = keys.iter().find(|k| k.kid == kid) {
            return Ok(Some(key.clone()));
        }
        {
            let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
            if cache
                .last_miss_reload
                .is_some_and(|at| at.elapsed() < MISS_RELOAD_INTERVAL)
            {
                return Ok(None);
            }
            cache.last_miss_reload = Some(Instant::now());
        }
        let keys = self.reload(store).await?;
        Ok(keys.iter().find(|k| k.kid == kid).cloned())
    }

    /// The current signing key, as the store says now.
    pub async fn current(&self, store: &Store, now: Millis) -> StoreResult<Arc<JwtKey>> {
        let kid = ensure_signing_key(store, now).await?;
        let keys = self.all(store).await?;
        if let Some(key) = keys.iter().find(|k| k.kid == kid) {
            return Ok(key.clone());
        }
        let keys = self.reload(store).await?;
        keys.iter()
            .find(|k| k.kid == kid)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("JWT key {kid} vanished")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_private_key() {
        let stored = generate(0);
        let key = JwtKey::from_stored(&stored).unwrap();
        let private_b64 = URL_SAFE_NO_PAD.encode(&stored.private_key);
        let printed = format!("{key:?} {stored:?}");
        assert!(!printed.contains(&private_b64));
        assert!(!printed.contains(&format!("{:?}", stored.private_key)));
        assert!(printed.contains(&stored.kid));
    }

    #[test]
    fn retired_keys_stay_published_while_their_tokens_live() {
        let mut stored = generate(0);
        stored.retired_at = Some(1_000);
        let key = JwtKey::from_stored(&stored).unwrap();
        let ttl = Duration::from_secs(3600);
        assert!(key.is_published(1_000 + 3_600_000, ttl));
        assert!(!key.is_published(1_000 + 3_600_000 + PUBLISH_MARGIN_MS, ttl));
    }
}
