//! Generating, hashing and comparing secrets (API keys, access tokens, session ids).
//!
//! Secrets come from the OS CSPRNG, are URL-safe base64, and are stored only as
//! SHA-256 digests: they carry at least 128 bits of entropy, so a fast hash is
//! enough (no password-style stretching) and lookups can go through an index.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of API keys, so that secret scanners can recognise leaked keys.
pub const API_KEY_PREFIX: &str = "tsk_";
/// Number of characters of an API key shown in listings (prefix included).
pub const API_KEY_PUBLIC_CHARS: usize = API_KEY_PREFIX.len() + 8;

/// `n` random bytes from the OS CSPRNG, URL-safe base64 without padding.
pub fn random_urlsafe(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API key: `tsk_` and 256 random bits.
pub fn new_api_key() -> SecretString {
    SecretString::from(format!("{API_KEY_PREFIX}{}", random_urlsafe(32)))
}

/// A new opaque bearer token or session id: 256 random bits.
pub fn new_opaque_token() -> SecretString {
    SecretString::from(random_urlsafe(32))
}

/// The public part of an API key, safe to show in lists and logs.
pub fn api_key_public_prefix(key: &SecretString) -> String {
    key.expose_secret()
        .chars()
        .take(API_KEY_PUBLIC_CHARS)
        .collect()
}

/// SHA-256 digest of a secret, the only form in which secrets are stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time comparison with a stored digest.
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() == 32 && bool::from(self.0.ct_eq(stored))
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Digests are not secrets, but printing them invites log correlation; keep it short.
        write!(f, "SecretHash({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// Constant-time equality of two strings (length is not hidden).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_prefixed_and_long() {
        let key = new_api_key();
        let key = key.expose_secret();
        assert!(key.starts_with("tsk_"));
        // 32 bytes of base64url without padding: 43 characters.
        assert_eq!(key.len(), 4 + 43);
        assert!(key[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn tokens_differ_and_hash_consistently() {
        let a = new_opaque_token();
        let b = new_opaque_token();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let h = SecretHash::of(a.expose_secret());
        assert!(h.matches(&SecretHash::of(a.expose_secret()).0));
        assert!(!h.matches(&SecretHash::of(b.expose_secret()).0));
        assert!(!h.matches(&[0u8; 31]));
    }

    #[test]
    fn debug_of_secrets_does_not_reveal_them() {
        let key = new_api_key();
        let printed = format!("{key:?}");
        assert!(!printed.contains(&key.expose_secret()[4..]));
    }

    #[test]
    fn public_prefix_is_short() {
        let key = new_api_key();
        let prefix = api_key_public_prefix(&key);
        assert_eq!(prefix.len(), API_KEY_PUBLIC_CHARS);
        assert!(key.expose_secret().starts_with(&prefix));
    }
}
