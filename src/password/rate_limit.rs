//! Limits on failed password logins, per account and per client IP, counted in the
//! store in fixed windows so that they hold across nodes.
//!
//! An account is named by [`AccountKey`] whatever spelling the login used: its user id
//! when the login names a user (by user name or email, any case), else the login
//! lower-cased. Counting per spelling let guesses by user name and by email run on
//! separate counters, and let the right password typed as the email log in while the
//! user name was locked out.
//!
//! A rule allows `limit` failures per `window`. It blocks while the current and the
//! previous window together hold `limit` failures: any span of one window length
//! overlaps at most two fixed windows, so no rolling window ever sees more than
//! `limit` failures (the hourly account rule is OWASP ASVS 2.2.1's 100 per hour).
//! Successes never reset a counter, so interleaving one's own successful logins
//! with guesses gains nothing.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::clock::Millis;
use crate::store::users::{lookup_key, User};
use crate::store::StoreResult;

/// One limit: at most `limit` failures in any `window_ms` span.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub window_ms: Millis,
    pub limit: i64,
}

const MINUTE: Millis = 60_000;

/// Per account: a short burst limit and the ASVS hourly ceiling.
pub const ACCOUNT_RULES: [Rule; 2] = [
    Rule {
        name: "acct5m",
        window_ms: 5 * MINUTE,
        limit: 10,
    },
    Rule {
        name: "acct1h",
        window_ms: 60 * MINUTE,
        limit: 100,
    },
];

/// Per client IP: looser, since many users can share one address behind a NAT.
pub const IP_RULES: [Rule; 2] = [
    Rule {
        name: "ip5m",
        window_ms: 5 * MINUTE,
        limit: 100,
    },
    Rule {
        name: "ip1h",
        window_ms: 60 * MINUTE,
        limit: 500,
    },
];

/// Counters older than this are never looked at again (purged).
pub const RETENTION_MS: Millis = 2 * 60 * MINUTE;

/// The one name of an account for brute-force limits (SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountKey(String);

impl AccountKey {
    /// `user` is what the login resolved to on `site_id`, if anything.
    pub fn of(site_id: i64, login: &str, user: Option<&User>) -> Self {
        match user {
            Some(user) => Self(format!("{site_id}:user:{}", user.user_id)),
            None => Self(format!("{site_id}:login:{}", lookup_key(login))),
        }
    }

    /// The name kept in the store and in memory: a digest, since people type
    /// passwords into the user name field.
    pub fn digest(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The counters a login attempt is subject to.
#[derive(Debug, Clone)]
pub struct Subject {
    buckets: Vec<(Rule, String)>,
}

impl Subject {
    pub fn new(account: &AccountKey, ip: Option<IpAddr>) -> Self {
        let account = account.digest();
        let mut buckets: Vec<(Rule, String)> = ACCOUNT_RULES
            .iter()
            .map(|r| (*r, format!("{}:{account}", r.name)))
            .collect();
        if let Some(ip) = ip {
            buckets.extend(IP_RULES.iter().map(|r| (*r, format!("{}:{ip}", r.name))));
        }
        Self { buckets }
    }

    /// Only the counters of a client IP (for operators' tools and tests).
    pub fn ip_only(ip: IpAddr) -> Self {
        let buckets = IP_RULES
            .iter()
            .map(|r| (*r, format!("{}:{ip}", r.name)))
            .collect();
        Self { buckets }
    }

    /// `(bucket, window_start)` of every counter a failure at `now` increments.
    pub fn windows(&self, now: Millis) -> Vec<(String, Millis)> {
        self.buckets
            .iter()
            .map(|(rule, bucket)| (bucket.clone(), window_start(now, rule.window_ms)))
            .collect()
    }
}

fn window_start(now: Millis, window_ms: Millis) -> Millis {
    now - now.rem_euclid(window_ms)
}

/// Seconds until `rule` stops blocking, or `None` when it does not block.
fn blocked_for(rule: &Rule, now: Millis, previous: i64, current: i64) -> Option<u64> {
    if previous + current < rule.limit {
        return None;
    }
    let start = window_start(now, rule.window_ms);
    // A full current window still counts as "previous" during the next one.
    let until = if current >= rule.limit {
        start + 2 * rule.window_ms
    } else {
        start + rule.window_ms
    };
    Some(((until - now) as u64).div_ceil(1000).max(1))
}

/// Seconds until the subject may try again, when any rule blocks it.
pub async fn blocked_for_secs(
    state: &AppState,
    subject: &Subject,
    now: Millis,
) -> StoreResult<Option<u64>> {
    let longest = subject
        .buckets
        .iter()
        .map(|(r, _)| r.window_ms)
        .max()
        .unwrap_or(0);
    let names: Vec<String> = subject.buckets.iter().map(|(_, b)| b.clone()).collect();
    let rows = state
        .store
        .login_failures(&names, now - 2 * longest)
        .await?;
    let mut wait: Option<u64> = None;
    for (rule, bucket) in &subject.buckets {
        let current_start = window_start(now, rule.window_ms);
        let count = |start: Millis| {
            rows.iter()
                .filter(|(b, s, _)| b == bucket && *s == start)
                .map(|(_, _, n)| *n)
                .sum::<i64>()
        };
        let current = count(current_start);
        let previous = count(current_start - rule.window_ms);
        if let Some(seconds) = blocked_for(rule, now, previous, current) {
            wait = Some(wait.map_or(seconds, |w| w.max(seconds)));
        }
    }
    Ok(wait)
}

/// Counts one failure against every counter of the subject.
pub async fn record_failure(state: &AppState, subject: &Subject, now: Millis) -> StoreResult<()> {
    let counts = state
        .store
        .record_login_failure(&subject.windows(now))
        .await?;
    for ((rule, _), count) in subject.buckets.iter().zip(counts) {
        if count == rule.limit {
            tracing::warn!(rule = rule.name, "failed password logins reached a limit");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_on_two_windows_and_says_when_to_retry() {
        let rule = ACCOUNT_RULES[0];
        let start = 10 * rule.window_ms;
        let now = start + 60_000;
        assert_eq!(blocked_for(&rule, now, 0, 9), None);
        assert_eq!(blocked_for(&rule, now, 4, 5), None);
        // Previous + current reach the limit: free again when the next window starts.
        assert_eq!(blocked_for(&rule, now, 5, 5), Some(240));
        // The current window alone is full: it will be "previous" in the next one too.
        assert_eq!(blocked_for(&rule, now, 0, 10), Some(540));
    }

    #[test]
    fn accounts_are_case_insensitive_and_not_stored_in_clear() {
        let a = Subject::new(&AccountKey::of(1, "Alice", None), None);
        let b = Subject::new(&AccountKey::of(1, "alice", None), None);
        assert_eq!(a.windows(0), b.windows(0));
        assert!(a
            .windows(0)
            .iter()
            .all(|(bucket, _)| !bucket.contains("lice")));
        let other_site = Subject::new(&AccountKey::of(2, "alice", None), None);
        assert_ne!(a.windows(0), other_site.windows(0));
    }
}
