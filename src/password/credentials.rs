//! The password check shared by every password login (the Faveo API, the widget's own
//! sign-in, the console): Argon2 in the bounded pool, the same cost whether or not the
//! user exists, and the brute-force limits of SPEC §4.4. What comes after a correct
//! password (may this user log in?) is the sign-in pipeline's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::http::StatusCode;
use secrecy::SecretString;
use serde_json::json;

use super::error::FaveoError;
use super::rate_limit::{self, AccountKey, Subject};
use crate::app::AppState;
use crate::clock::Millis;
use crate::http::ApiError;
use crate::signin::Attempt;
use crate::store::users::User;
use crate::store::StoreError;

/// How often a brute-force refusal of one subject is audited at most: an attack must
/// not flood the log (the metrics count every refusal).
/// Longest user name or email a password login accepts (no stored one is longer).
pub const MAX_USERNAME_CHARS: usize = 255;

const REFUSAL_AUDIT_INTERVAL_MS: Millis = 60_000;
/// Subjects remembered for that; past this the memory starts over (an attack from many
/// addresses then costs at most one event per subject and minute, as intended).
const MAX_REMEMBERED: usize = 10_000;

/// Why a password login did not get past the password.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Wrong password, unknown user, or a deleted one: one answer for all (SPEC §4.1).
    #[error("invalid credentials")]
    Invalid,
    /// Over a brute-force limit: retry after this many seconds.
    #[error("too many attempts")]
    TooMany(u64),
    /// The hashing pool stayed full.
    #[error("the password hashing pool is busy")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CredentialError> for FaveoError {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::Invalid => FaveoError::invalid_credentials(),
            CredentialError::TooMany(seconds) => {
                FaveoError::retry_later(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", seconds)
            }
            CredentialError::Busy => {
                FaveoError::retry_later(StatusCode::SERVICE_UNAVAILABLE, "server_busy", 5)
            }
            CredentialError::Store(e) => e.into(),
        }
    }
}

impl From<CredentialError> for ApiError {
    fn from(e: CredentialError) -> Self {
        let retry = |status, code, description, seconds: u64| {
            ApiError::new(status, code, description).with_header(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds.max(1)),
            )
        };
        match e {
            CredentialError::Invalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "the user name or password is wrong",
            ),
            CredentialError::TooMany(seconds) => retry(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "too many failed logins; try again later",
                seconds,
            ),
            CredentialError::Busy => retry(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_busy",
                "the server is busy; try again shortly",
                5,
            ),
            CredentialError::Store(e) => e.into(),
        }
    }
}

/// The user of `attempt`'s site whose user name or email is `login` and whose password
/// is `password`. Failures are counted against the limits and audited (the
/// brute-force refusals at most once a minute per subject).
pub async fn check(
    state: &AppState,
    attempt: &Attempt,
    login: &str,
    password: SecretString,
    ip: Option<IpAddr>,
) -> Result<User, CredentialError> {
    let permit = state
        .password
        .hasher
        .acquire()
        .await
        .map_err(|_| CredentialError::Busy)?;
    // The user is looked up first, whether or not it exists (same cost either way), so
    // that every spelling of one account counts against one limit.
    let site_id = attempt.site_id;
    let user = state.store.find_user_by_login(site_id, login).await?;
    let account = AccountKey::of(site_id, login, user.as_ref());
    let subject = Subject::new(&account, ip);
    // Checked while holding a hashing slot, so at most the pool's size of guesses
    // per node can be in flight past the check at once.
    if let Some(seconds) = rate_limit::blocked_for_secs(state, &subject, state.now()).await? {
        attempt.count(state, "too_many_attempts");
        let key = format!(
            "{}|{}",
            account.digest(),
            ip.map(|ip| ip.to_string()).unwrap_or_default()
        );
        if state.password.refusal_audits.due(&key, state.now()) {
            let detail =
                json!({ "retry_after_s": seconds, "user_id": user.as_ref().map(|u| u.user_id) });
            attempt.failed(state, "too_many_attempts", detail).await;
        }
        return Err(CredentialError::TooMany(seconds));
    }
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = state
        .password
        .hasher
        .verify(permit, password, stored_hash)
        .await;
    match user {
        // A deleted user has no password (erased), so it never matches; checked anyway.
        Some(user) if matches && !user.deleted => Ok(user),
        user => {
            rate_limit::record_failure(state, &subject, state.now()).await?;
            let detail = json!({ "user_id": user.as_ref().map(|u| u.user_id) });
            attempt.failed(state, "invalid_credentials", detail).await;
            Err(CredentialError::Invalid)
        }
    }
}

/// When each brute-force subject's refusal was last audited (see [`check`]).
#[derive(Debug, Default)]
pub struct RefusalAudits {
    last: Mutex<HashMap<String, Millis>>,
}

impl RefusalAudits {
    /// True (and remembered) when `key`'s refusal is due to be audited at `now`.
    pub fn due(&self, key: &str, now: Millis) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.len() >= MAX_REMEMBERED && !last.contains_key(key) {
            last.clear();
        }
        match last.get(key) {
            Some(at) if now - at < REFUSAL_AUDIT_INTERVAL_MS => false,
            _ => {
                last.insert(key.to_string(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_audited_once_a_minute_per_subject() {
        let audits = RefusalAudits::default();
        assert!(audits.due("a", 0));
        assert!(!audits.due("a", 59_999));
        assert!(audits.due("b", 59_999));
        assert!(audits.due("a", 60_000));
    }
}
