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

/// Bytes of the issue time at the front of a timed secret (milliseconds, big-endian:
/// enough until the year 10889).
const ISSUED_AT_BYTES: usize = 6;
/// Base64url characters that encode exactly [`ISSUED_AT_BYTES`].
const ISSUED_AT_CHARS: usize = 8;

/// A new access token or session id: its issue time, then 256 random bits, URL-safe
/// base64 (51 characters). The time is not secret (the holder knows when it got the
/// token); it makes the stored [`TimedHash`]es of new secrets sort last, so storing
/// one appends to the indexes instead of writing to a random page of each.
pub fn new_timed_secret(issued_at_ms: i64) -> SecretString {
    let mut bytes = [0u8; ISSUED_AT_BYTES + 32];
    bytes[..ISSUED_AT_BYTES].copy_from_slice(&issued_at_ms.to_be_bytes()[8 - ISSUED_AT_BYTES..]);
    OsRng.fill_bytes(&mut bytes[ISSUED_AT_BYTES..]);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
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

/// The stored form of an access token or session id ([`new_timed_secret`]): its issue
/// time as it reads from the secret's first characters, then the SHA-256 of the whole
/// secret. Looked up by exact value, like a [`SecretHash`]. A presented value that is
/// not a timed secret gets an issue time of zero, which no stored secret has, so it
/// is simply not found.
#[derive(Clone, PartialEq, Eq)]
pub struct TimedHash([u8; ISSUED_AT_BYTES + 32]);

impl TimedHash {
    pub fn of(secret: &str) -> Self {
        let mut stored = [0u8; ISSUED_AT_BYTES + 32];
        if let Some(head) = secret.as_bytes().get(..ISSUED_AT_CHARS) {
            let mut issued_at = [0u8; ISSUED_AT_BYTES];
            if URL_SAFE_NO_PAD.decode_slice(head, &mut issued_at) == Ok(ISSUED_AT_BYTES) {
                stored[..ISSUED_AT_BYTES].copy_from_slice(&issued_at);
            }
        }
        stored[ISSUED_AT_BYTES..].copy_from_slice(&Sha256::digest(secret.as_bytes()));
        Self(stored)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for TimedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digest = &self.0[ISSUED_AT_BYTES..];
        write!(f, "TimedHash({:02x}{:02x}…)", digest[0], digest[1])
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
        let a = new_api_key();
        let b = new_api_key();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let h = SecretHash::of(a.expose_secret());
        assert!(h.matches(&SecretHash::of(a.expose_secret()).0));
        assert!(!h.matches(&SecretHash::of(b.expose_secret()).0));
        assert!(!h.matches(&[0u8; 31]));
    }

    #[test]
    fn timed_secrets_are_random_and_their_hashes_sort_by_issue_time() {
        let (a, b) = (
            new_timed_secret(1_700_000_000_000),
            new_timed_secret(1_700_000_000_000),
        );
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 51);
        assert!(a
            .expose_secret()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let later = new_timed_secret(1_700_000_000_001);
        let (ha, hl) = (
            TimedHash::of(a.expose_secret()),
            TimedHash::of(later.expose_secret()),
        );
        assert!(
            ha.as_bytes() < hl.as_bytes(),
            "a later secret's hash sorts after"
        );
        assert_eq!(ha, TimedHash::of(a.expose_secret()));
        assert_ne!(ha, TimedHash::of(b.expose_secret()));
        assert_eq!(
            &ha.as_bytes()[..6],
            &1_700_000_000_000i64.to_be_bytes()[2..]
        );
    }

    #[test]
    fn values_that_are_not_timed_secrets_hash_to_issue_time_zero() {
        for presented in ["", "short", "!!!!!!!!rest", "ünïcödé-and-more"] {
            let hash = TimedHash::of(presented);
            assert_eq!(&hash.as_bytes()[..6], &[0u8; 6], "{presented:?}");
            assert_eq!(
                &hash.as_bytes()[6..],
                Sha256::digest(presented.as_bytes()).as_slice()
            );
        }
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
