//! The replay cache of token logins (SPEC §5.3, §5.4): a token used once is refused
//! again until it expires, on every node, because the insert that records its use
//! is the check.

use sha2::{Digest, Sha256};

use super::{on_store, Store, StoreResult};
use crate::clock::Millis;
use crate::secrets::SecretHash;

/// What names one token of one flow on one site in the cache: the SHA-256 of the
/// three (never the token). Separators keep `("a", 12)` and `("a1", 2)` apart.
pub fn token_key(flow: &str, site_id: i64, identity: &[u8]) -> SecretHash {
    let mut digest = Sha256::new();
    digest.update(flow.as_bytes());
    digest.update([0]);
    digest.update(site_id.to_be_bytes());
    digest.update([0]);
    digest.update(identity);
    SecretHash(digest.finalize().into())
}

impl Store {
    /// Records the first use of a token, kept until `expires_at`; false when it was
    /// used before (here or on another node), which refuses the login.
    pub async fn use_token_once(
        &self,
        key: &SecretHash,
        site_id: i64,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<bool> {
        let inserted = on_store!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO used_tokens (token_hash, site_id, used_at, expires_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO NOTHING",
            )
            .bind(key.as_bytes())
            .bind(site_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    /// Forgets tokens that have expired (they are refused for that already).
    pub async fn purge_used_tokens(&self, now: Millis) -> StoreResult<u64> {
        let deleted = on_store!(self, write, |pool| {
            sqlx::query("DELETE FROM used_tokens WHERE expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_flows_sites_and_tokens() {
        let a = token_key("id_token", 1, b"x");
        assert_eq!(a, token_key("id_token", 1, b"x"));
        assert_ne!(a, token_key("sso_token", 1, b"x"));
        assert_ne!(a, token_key("id_token", 2, b"x"));
        assert_ne!(a, token_key("id_token", 1, b"y"));
    }
}
