//! Argon2id password hashing with a policy, run off the async runtime through a
//! bounded pool so that a flood of password logins cannot starve other endpoints.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// Password length bounds, in characters (Unicode scalar values). Nothing is truncated.
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// How long a login may wait for a hashing slot before it is told to come back later.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// A password that breaks the policy, as one sentence for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the password is too short: it needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password is too long: it may have at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
}

pub fn check_policy(password: &str) -> Result<(), PolicyError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(PolicyError::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(PolicyError::TooLong)
    } else {
        Ok(())
    }
}

fn argon2id() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (blocking: tens of milliseconds of CPU).
pub fn hash_password(password: &SecretString) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2id()
        .hash_password(password.expose_secret().as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a PHC string with the parameters stored in it (blocking).
fn verify_blocking(password: &str, phc: &str) -> Result<bool, argon2::password_hash::Error> {
    let parsed = PasswordHash::new(phc)?;
    match argon2id().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The hashing pool is full for too long.
#[derive(Debug, thiserror::Error)]
#[error("every password hashing slot stayed busy")]
pub struct PoolBusy;

/// Bounded password hashing, plus the dummy hash that unknown users are checked
/// against so that they take as long as wrong passwords.
pub struct HashPool {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl HashPool {
    /// Computes the dummy hash once (blocking, at start-up).
    pub fn new(concurrency: usize) -> Self {
        let throwaway = SecretString::from(crate::secrets::random_urlsafe(24));
        let dummy_hash = hash_password(&throwaway).expect("hashing a random password");
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy_hash.into(),
        }
    }

    /// Waits for a hashing slot. Taken before the brute-force check so that logins
    /// queued behind a full pool cannot all pass the check at once.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, PoolBusy> {
        match tokio::time::timeout(QUEUE_TIMEOUT, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(PoolBusy),
        }
    }

    /// Verifies `password` against `stored` (or against the dummy hash when there is
    /// none, answering false) on a blocking thread; the slot is freed when done,
    /// even if the request is abandoned meanwhile.
    pub async fn verify(
        &self,
        permit: OwnedSemaphorePermit,
        password: SecretString,
        stored: Option<String>,
    ) -> bool {
        let dummy = self.dummy_hash.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let secret = password.expose_secret();
            match stored {
                Some(phc) => match verify_blocking(secret, &phc) {
                    Ok(ok) => ok,
                    Err(e) => {
                        tracing::warn!(error = %e, "stored password hash is unusable; login refused");
                        let _ = verify_blocking(secret, &dummy);
                        false
                    }
                },
                None => {
                    let _ = verify_blocking(secret, &dummy);
                    false
                }
            }
        });
        task.await.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_counts_characters_not_bytes() {
        assert_eq!(check_policy("short"), Err(PolicyError::TooShort));
        assert_eq!(check_policy("ééééééééééé"), Err(PolicyError::TooShort));
        assert_eq!(check_policy("éééééééééééé"), Ok(()));
        assert_eq!(check_policy(&"x".repeat(1024)), Ok(()));
        assert_eq!(check_policy(&"x".repeat(1025)), Err(PolicyError::TooLong));
    }

    #[test]
    fn hashes_are_argon2id_with_the_required_cost_and_do_not_truncate() {
        let long = "a".repeat(1000);
        let phc = hash_password(&SecretString::from(long.clone())).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking(&long, &phc).unwrap());
        let mut changed = long.clone();
        changed.replace_range(999..1000, "b");
        assert!(!verify_blocking(&changed, &phc).unwrap());
    }
}
