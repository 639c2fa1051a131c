//! What the node cache holds: the rows, what each depends on, and their keys.

use super::super::access_tokens::AccessTokenRecord;
use super::super::api_keys::KeyCredential;
use super::super::sessions::SessionRecord;
use super::super::sites::Site;
use super::super::users::User;

/// What a cached row depends on: a change to any of these ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tags {
    pub site_id: i64,
    pub user_id: Option<i64>,
    pub key_id: Option<i64>,
}

/// A row the cache may hold.
pub(crate) trait Cached: Clone + Send + Sync + 'static {
    fn tags(&self) -> Tags;
}

impl Cached for SessionRecord {
    fn tags(&self) -> Tags {
        Tags {
            site_id: self.site_id,
            user_id: Some(self.user_id),
            key_id: None,
        }
    }
}

impl Cached for AccessTokenRecord {
    fn tags(&self) -> Tags {
        Tags {
            site_id: self.site_id,
            user_id: None,
            key_id: Some(self.key_id),
        }
    }
}

impl Cached for User {
    fn tags(&self) -> Tags {
        Tags {
            site_id: self.site_id,
            user_id: Some(self.user_id),
            key_id: None,
        }
    }
}

impl Cached for Site {
    fn tags(&self) -> Tags {
        Tags {
            site_id: self.site_id,
            user_id: None,
            key_id: None,
        }
    }
}

/// The key of a cached site.
pub(crate) fn site_key(site_id: i64) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::new()
        .chain_update(b"site")
        .chain_update(site_id.to_le_bytes())
        .finalize()
        .into()
}

/// Whether a browser origin may read answers about a site (`site` `None`: about any
/// site, as a CORS preflight asks). Cached yes or no: a page's every request asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OriginAllowed {
    pub site: Option<i64>,
    pub allowed: bool,
}

/// The site of an answer that depends on every site: any site's change ends it.
pub(super) const ANY_SITE: i64 = i64::MIN;

impl Cached for OriginAllowed {
    fn tags(&self) -> Tags {
        Tags {
            site_id: self.site.unwrap_or(ANY_SITE),
            user_id: None,
            key_id: None,
        }
    }
}

/// The key of an origin's answer for `site` (`None`: any site).
pub(crate) fn origin_key(site: Option<i64>, origin: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::new()
        .chain_update(site.unwrap_or(ANY_SITE).to_le_bytes())
        .chain_update(origin.as_bytes())
        .finalize()
        .into()
}

/// The key of a user cached by its site and the site's id for it.
pub(crate) fn external_user_key(site_id: i64, external_id: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::new()
        .chain_update(site_id.to_le_bytes())
        .chain_update(external_id.as_bytes())
        .finalize()
        .into()
}

impl Cached for KeyCredential {
    fn tags(&self) -> Tags {
        Tags {
            site_id: self.site_id,
            user_id: None,
            key_id: Some(self.key_id),
        }
    }
}

/// The key of a cached row: the SHA-256 of its secret, i.e. the last 32 bytes of the
/// stored hash (a session's and a token's stored hash start with their issue time).
pub(crate) fn secret_key(stored_hash: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    let tail = &stored_hash[stored_hash.len().saturating_sub(32)..];
    key[32 - tail.len()..].copy_from_slice(tail);
    key
}
