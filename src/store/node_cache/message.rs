//! The payloads on the cache's channel.

use super::rows::secret_key;
#[cfg(doc)]
use super::CHANNEL;

/// What a change ends, as its notification names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// One session or access token (the key of its row).
    Secret([u8; 32]),
    User(i64),
    Site(i64),
    Key(i64),
    All,
}

/// A payload on [`CHANNEL`]. The triggers of migration `0007_node_cache` write the
/// revocations: `session:HEX` and `token:HEX` (the stored hash), `user:ID`, `site:ID`,
/// `key:ID`, `all`. Nodes write `fence:NODE:N` and `heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Revoke(Scope),
    Fence { node: String, number: u64 },
    Heartbeat,
}

impl Message {
    /// A payload this version cannot read revokes everything: a newer node may be
    /// saying something that matters, and a flush is always safe.
    pub(crate) fn parse(payload: &str) -> Message {
        let (kind, rest) = payload.split_once(':').unwrap_or((payload, ""));
        let id = || rest.parse::<i64>().ok();
        let scope = match kind {
            "session" | "token" => decode_hex(rest).map(|bytes| Scope::Secret(secret_key(&bytes))),
            "user" => id().map(Scope::User),
            "site" => id().map(Scope::Site),
            "key" => id().map(Scope::Key),
            "all" if rest.is_empty() => Some(Scope::All),
            "heartbeat" if rest.is_empty() => return Message::Heartbeat,
            "fence" => {
                if let Some((node, number)) = rest.rsplit_once(':') {
                    if let Ok(number) = number.parse() {
                        return Message::Fence {
                            node: node.to_string(),
                            number,
                        };
                    }
                }
                None
            }
            _ => None,
        };
        Message::Revoke(scope.unwrap_or(Scope::All))
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.is_empty() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
