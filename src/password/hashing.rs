//! Argon2id password hashing with a policy, run off the async runtime through a
//! bounded pool so that a flood of password logins cannot starve other endpoints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{self, PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Checks a password against a PHC string with the parameters stored in it
/// (blocking), computing in `memory` instead of allocating 19 MiB per check: with
/// allocations on many blocking threads, malloc arenas kept hundreds of MiB.
fn verify_blocking(
    password: &str,
    phc: &str,
    memory: &mut Vec<Block>,
) -> Result<bool, password_hash::Error> {
    let parsed = PasswordHash::new(phc)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v)?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed)?;
    let expected = parsed.hash.ok_or(password_hash::Error::PhcStringField)?;
    let salt = parsed.salt.ok_or(password_hash::Error::PhcStringField)?;
    let mut salt_buffer = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buffer)?;
    memory.resize(params.block_count(), Block::default());
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out,
        &mut memory[..],
    )?;
    // `Output` compares in constant time.
    Ok(password_hash::Output::new(&out)? == expected)
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
    /// Argon2 working memory, one buffer per slot in use, reused from check to check.
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
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
            buffers: Arc::default(),
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
        let buffers = self.buffers.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // At most one buffer per permit exists, so this never grows past the pool size.
            let mut memory = buffers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
                .unwrap_or_default();
            let secret = password.expose_secret();
            let ok = match stored {
                Some(phc) => match verify_blocking(secret, &phc, &mut memory) {
                    Ok(ok) => ok,
                    Err(e) => {
                        tracing::warn!(error = %e, "stored password hash is unusable; login refused");
                        let _ = verify_blocking(secret, &dummy, &mut memory);
                        false
                    }
                },
                None => {
                    let _ = verify_blocking(secret, &dummy, &mut memory);
                    false
                }
            };
            buffers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(memory);
            ok
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
        let mut memory = Vec::new();
        assert!(verify_blocking(&long, &phc, &mut memory).unwrap());
        let mut changed = long.clone();
        changed.replace_range(999..1000, "b");
        assert!(!verify_blocking(&changed, &phc, &mut memory).unwrap());
        assert_eq!(memory.len(), MEMORY_KIB as usize, "one 1 KiB block per KiB");
        // Hashes with other parameters (e.g. made by another tool) still verify.
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 3, 1, None).unwrap(),
        )
        .hash_password(b"another password", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(verify_blocking("another password", &other, &mut memory).unwrap());
        assert!(!verify_blocking("not it", &other, &mut memory).unwrap());
        assert!(verify_blocking("x", "not a phc string", &mut memory).is_err());
    }
}
