//! Per-site protection of the server from slow or broken verification endpoints:
//! a bound on concurrent verifications and a circuit breaker, kept per site so
//! one site's hanging endpoint cannot use up what other sites' logins need.
//! Node-local by design: it protects this process's resources.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::breaker::{Admission, Breaker};

/// Verifications of one site in flight at once on this node.
pub const MAX_CONCURRENT_PER_SITE: usize = 32;

/// Why a verification was not even attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// The site already has the maximum of verifications in flight.
    Busy,
    /// The site's endpoint kept failing; its breaker is open.
    CircuitOpen,
}

struct SiteGuard {
    /// The endpoint the breaker's history is about; a new endpoint starts afresh.
    endpoint: String,
    slots: Arc<Semaphore>,
    breaker: Mutex<Breaker>,
}

impl SiteGuard {
    fn breaker(&self) -> MutexGuard<'_, Breaker> {
        // A panic while holding this lock cannot leave the breaker inconsistent
        // (every update is a few plain assignments), so poisoning is ignored.
        self.breaker.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct SiteLimits {
    per_site: usize,
    guards: Mutex<HashMap<i64, Arc<SiteGuard>>>,
}

impl Default for SiteLimits {
    fn default() -> Self {
        Self::new(MAX_CONCURRENT_PER_SITE)
    }
}

impl SiteLimits {
    pub fn new(per_site: usize) -> Self {
        Self {
            per_site: per_site.max(1),
            guards: Mutex::new(HashMap::new()),
        }
    }

    fn guard(&self, site_id: i64, endpoint: &str) -> Arc<SiteGuard> {
        let mut guards = self.guards.lock().unwrap_or_else(|p| p.into_inner());
        match guards.get(&site_id) {
            Some(g) if g.endpoint == endpoint => g.clone(),
            _ => {
                let fresh = Arc::new(SiteGuard {
                    endpoint: endpoint.to_string(),
                    slots: Arc::new(Semaphore::new(self.per_site)),
                    breaker: Mutex::new(Breaker::default()),
                });
                guards.insert(site_id, fresh.clone());
                fresh
            }
        }
    }

    /// A slot for one verification of `site_id`, or the reason to answer at once.
    pub fn admit(&self, site_id: i64, endpoint: &str) -> Result<Pass, Shed> {
        let guard = self.guard(site_id, endpoint);
        let permit = guard
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| Shed::Busy)?;
        let admission = guard
            .breaker()
            .admit(Instant::now())
            .map_err(|_| Shed::CircuitOpen)?;
        Ok(Pass {
            guard,
            admission,
            settled: false,
            _permit: permit,
        })
    }
}

/// One admitted verification; reports its outcome to the breaker and frees the slot when dropped.
pub struct Pass {
    guard: Arc<SiteGuard>,
    admission: Admission,
    settled: bool,
    _permit: OwnedSemaphorePermit,
}

impl Pass {
    /// The endpoint answered.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.guard.breaker().on_success();
    }

    /// Transport failure, timeout or 5xx.
    pub fn failed(mut self) {
        self.settled = true;
        self.guard
            .breaker()
            .on_failure(self.admission, Instant::now());
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        if !self.settled {
            self.guard.breaker().on_abandoned(self.admission);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_site() {
        let limits = SiteLimits::new(2);
        let a1 = limits.admit(1, "https://a.example/?s=").unwrap();
        let _a2 = limits.admit(1, "https://a.example/?s=").unwrap();
        assert_eq!(
            limits.admit(1, "https://a.example/?s=").err(),
            Some(Shed::Busy)
        );
        assert!(
            limits.admit(2, "https://b.example/?s=").is_ok(),
            "other sites are unaffected"
        );
        drop(a1);
        assert!(
            limits.admit(1, "https://a.example/?s=").is_ok(),
            "a finished verification frees its slot"
        );
    }

    #[test]
    fn failures_open_the_breaker_of_that_site_only() {
        let limits = SiteLimits::new(8);
        for _ in 0..super::super::breaker::FAILURE_THRESHOLD {
            limits.admit(1, "https://a.example/?s=").unwrap().failed();
        }
        assert_eq!(
            limits.admit(1, "https://a.example/?s=").err(),
            Some(Shed::CircuitOpen)
        );
        assert!(limits.admit(2, "https://b.example/?s=").is_ok());
        // A corrected endpoint is not held responsible for the old one's failures.
        assert!(limits.admit(1, "https://a2.example/?s=").is_ok());
    }
}
