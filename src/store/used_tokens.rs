//! The replay cache of token logins (SPEC §5.3, §5.4): a token used once is refused
//! again until it expires, on every node, because the insert that records its use
//! is the check.

use sha2::{Digest, Sha256};

use super::{on_store, Store, StoreResult};
use crate::clock::Millis;
use crate::secrets::SecretHash;

/// The first use of a token, recorded by the login that spends it
/// (`NewLogin::once`, in the group-commit writer).
#[derive(Debug, Clone)]
pub struct UsedToken {
    pub key: SecretHash,
    pub site_id: i64,
    pub used_at: Millis,
    pub expires_at: Millis,
}

/// The table and columns a spent token is written to, in bind order.
macro_rules! insert_into_used_tokens {
    () => {
        "INSERT INTO used_tokens (token_hash, site_id, used_at, expires_at) "
    };
}

/// Inserts one [`UsedToken`] (binds in field order); nothing when it is there already.
/// `$N` are positional for sqlx and numbered parameters for rusqlite alike.
pub(crate) const INSERT_USED_TOKEN: &str = concat!(
    insert_into_used_tokens!(),
    "VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO NOTHING"
);

/// The tokens of a whole batch spent in one statement (the pool's group commit):
/// this, one row of the four values per token, then [`SPENT_RETURNING`], which names
/// each token spent now (a token used before, or twice in the statement, once).
pub(crate) const INSERT_INTO_USED_TOKENS: &str = insert_into_used_tokens!();
pub(crate) const SPENT_RETURNING: &str =
    " ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash";

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
