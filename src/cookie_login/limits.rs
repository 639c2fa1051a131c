//! Per-site protection of the server from slow or broken verification endpoints,
//! without turning away logins a healthy endpoint would answer:
//! - a bound on verifications in flight that follows the endpoint ([`AdaptiveLimit`]):
//!   it rises while the endpoint answers promptly, and a hanging one drives it to the floor;
//! - a FIFO queue in front of it: a verification that finds no free slot waits for
//!   one, and is shed only when its wait plus the endpoint's recent latency could
//!   not end within the deadline (the site's timeout), or the queue is full;
//! - a circuit breaker that answers at once while the endpoint keeps failing.
//!
//! Kept per site so one site's hanging endpoint cannot use up what other sites'
//! logins need. Node-local by design: it protects this process's resources. A site
//! that has not called for [`FORGET_IDLE_MS`] (nothing in flight or queued, its breaker
//! closed) is forgotten, so the memory follows the sites in use, not every site called
//! since the node started; it starts again from the initial limit.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::breaker::{Admission, Breaker};
use super::limiter::{AdaptiveLimit, LimitSettings, Outcome};
use crate::clock::{Clock, Millis};

/// A site idle this long is forgotten (module documentation).
pub const FORGET_IDLE_MS: Millis = 10 * 60_000;
/// How often the sites are looked through for idle ones (on a call, never on a timer).
const SWEEP_EVERY_MS: Millis = 60_000;

/// Why a verification was not even attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shed {
    /// No free slot, and waiting for one plus the endpoint's recent latency
    /// would not end within the deadline.
    Busy,
    /// Waited for a slot until there was no time left for the request.
    QueueTimeout,
    /// The most verifications a site may have waiting already wait.
    QueueFull,
    /// The site's endpoint kept failing; its breaker is open.
    CircuitOpen,
}

impl Shed {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Shed::Busy => "busy",
            Shed::QueueTimeout => "queue_timeout",
            Shed::QueueFull => "queue_full",
            Shed::CircuitOpen => "circuit_open",
        }
    }
}

/// How a site's endpoint has been doing on this node (metrics, admin console).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EndpointStats {
    /// Moving average over the last few verifications, failures included.
    pub recent_latency_ms: f64,
    /// Over the last 128 verifications.
    pub p50_latency_ms: f64,
    pub p99_latency_ms: f64,
    /// Moving share of verifications that failed (timeout, transport, 5xx), 0 to 1.
    pub error_rate: f64,
    /// Verifications that may be in flight at once now.
    pub limit: usize,
    pub in_flight: usize,
    /// Verifications waiting for a slot.
    pub queued: usize,
    pub circuit_open: bool,
}

struct SiteGuard {
    /// The endpoint the history is about; a new endpoint starts afresh.
    endpoint: String,
    /// One permit per slot, handed out in the order they were asked for.
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    /// When a verification last asked for a slot.
    last_called: AtomicI64,
    state: Mutex<GuardState>,
}

struct GuardState {
    limit: AdaptiveLimit,
    breaker: Breaker,
    in_flight: usize,
    /// The limit the semaphore's permits stand for.
    permits_for: usize,
    /// Permits held by verifications in flight that are forgotten instead of
    /// returned, because the limit fell below the number already handed out.
    debt: usize,
}

impl SiteGuard {
    fn new(endpoint: &str, settings: LimitSettings) -> Self {
        let limit = AdaptiveLimit::new(settings);
        let permits = limit.limit();
        Self {
            endpoint: endpoint.to_string(),
            slots: Arc::new(Semaphore::new(permits)),
            queued: AtomicUsize::new(0),
            last_called: AtomicI64::new(0),
            state: Mutex::new(GuardState {
                limit,
                breaker: Breaker::default(),
                in_flight: 0,
                permits_for: permits,
                debt: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, GuardState> {
        // A panic while holding this lock cannot leave the state inconsistent in a
        // way that matters (plain counters and assignments), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the semaphore stand for the current limit.
    fn resize(&self, state: &mut GuardState) {
        let target = state.limit.limit();
        if target > state.permits_for {
            let grow = target - state.permits_for;
            let repaid = grow.min(state.debt);
            state.debt -= repaid;
            // Wakes waiters in order, if any.
            self.slots.add_permits(grow - repaid);
        } else if target < state.permits_for {
            let mut cut = state.permits_for - target;
            while cut > 0 {
                match self.slots.try_acquire() {
                    Ok(idle) => idle.forget(),
                    Err(_) => break,
                }
                cut -= 1;
            }
            state.debt += cut;
        }
        state.permits_for = target;
    }

    fn give_back(&self, state: &mut GuardState, permit: OwnedSemaphorePermit) {
        if state.debt > 0 {
            state.debt -= 1;
            permit.forget();
        } else {
            drop(permit);
        }
    }

    /// Nothing to remember: not called for [`FORGET_IDLE_MS`], nothing in flight or
    /// queued (the caller checks that no `Pass` or waiter holds it), breaker closed.
    fn idle(&self, now: Millis) -> bool {
        let state = self.state();
        now.saturating_sub(self.last_called.load(Ordering::Relaxed)) >= FORGET_IDLE_MS
            && self.queued.load(Ordering::Relaxed) == 0
            && state.in_flight == 0
            && !state.breaker.tripped()
    }

    fn stats(&self, now: Millis) -> EndpointStats {
        let state = self.state();
        let latency = state.limit.summary();
        EndpointStats {
            recent_latency_ms: latency.recent_ms,
            p50_latency_ms: latency.p50_ms,
            p99_latency_ms: latency.p99_ms,
            error_rate: latency.error_rate,
            limit: state.limit.limit(),
            in_flight: state.in_flight,
            queued: self.queued.load(Ordering::Relaxed),
            circuit_open: state.breaker.is_open(now),
        }
    }
}

pub struct SiteLimits {
    settings: LimitSettings,
    guards: Mutex<Guards>,
}

#[derive(Default)]
struct Guards {
    by_site: HashMap<i64, Arc<SiteGuard>>,
    /// When idle sites were last forgotten.
    swept_at: Millis,
}

impl Default for SiteLimits {
    fn default() -> Self {
        Self::new(LimitSettings::default())
    }
}

impl fmt::Debug for SiteLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteLimits")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SiteLimits {
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            settings: settings.normalized(),
            guards: Mutex::new(Guards::default()),
        }
    }

    pub fn settings(&self) -> LimitSettings {
        self.settings
    }

    fn guards(&self) -> MutexGuard<'_, Guards> {
        self.guards.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The site's guard, called now; forgets the idle sites when due.
    fn guard(&self, site_id: i64, endpoint: &str, now: Millis) -> Arc<SiteGuard> {
        let mut guards = self.guards();
        if now.saturating_sub(guards.swept_at) >= SWEEP_EVERY_MS {
            guards.swept_at = now;
            // Held elsewhere means a verification in flight or waiting for a slot.
            guards
                .by_site
                .retain(|_, g| Arc::strong_count(g) > 1 || !g.idle(now));
        }
        let guard = match guards.by_site.get(&site_id) {
            Some(g) if g.endpoint == endpoint => g.clone(),
            _ => {
                let fresh = Arc::new(SiteGuard::new(endpoint, self.settings));
                guards.by_site.insert(site_id, fresh.clone());
                fresh
            }
        };
        guard.last_called.store(now, Ordering::Relaxed);
        guard
    }

    /// A slot for one verification of `site_id`, or the reason to answer without
    /// one. Waits for a slot at most `deadline` less the endpoint's recent latency.
    pub async fn admit(
        &self,
        site_id: i64,
        endpoint: &str,
        deadline: Duration,
        clock: &dyn Clock,
    ) -> Result<Pass, Shed> {
        let now = clock.now_ms();
        let guard = self.guard(site_id, endpoint, now);
        if guard.state().breaker.refuses(now) {
            return Err(Shed::CircuitOpen);
        }
        let permit = match guard.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => self.wait_for_slot(&guard, deadline).await?,
        };
        let mut state = guard.state();
        // Checked again with the slot held: the breaker may have opened meanwhile,
        // and only one request may be its probe.
        let Ok(admission) = state.breaker.admit(clock.now_ms()) else {
            guard.give_back(&mut state, permit);
            return Err(Shed::CircuitOpen);
        };
        state.in_flight += 1;
        drop(state);
        Ok(Pass {
            guard,
            admission,
            permit: Some(permit),
            started: Instant::now(),
        })
    }

    async fn wait_for_slot(
        &self,
        guard: &Arc<SiteGuard>,
        deadline: Duration,
    ) -> Result<OwnedSemaphorePermit, Shed> {
        let (limit, latency) = {
            let state = guard.state();
            let latency = state.limit.recent_latency().unwrap_or(Duration::ZERO);
            (state.limit.limit().max(1), latency)
        };
        let spot = QueueSpot::enter(guard, self.settings.max_queued).ok_or(Shed::QueueFull)?;
        // About `limit` slots free up per `latency`; those queued earlier take the
        // first ones. Before any answer the latency is unknown (zero): the wait is
        // then bounded by the deadline alone.
        let wait = latency.mul_f64((spot.ahead + 1) as f64 / limit as f64);
        if wait + latency > deadline {
            return Err(Shed::Busy);
        }
        let acquire = guard.slots.clone().acquire_owned();
        let permit = tokio::time::timeout(deadline - latency, acquire).await;
        drop(spot);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            // Closed cannot happen (the semaphore is never closed); the rest is the deadline.
            _ => Err(Shed::QueueTimeout),
        }
    }

    /// The state of `site_id`'s endpoint, if it was called since this node started (and
    /// not forgotten since, idle).
    pub fn stats(&self, site_id: i64, now: Millis) -> Option<EndpointStats> {
        let guard = self.guards().by_site.get(&site_id).cloned()?;
        Some(guard.stats(now))
    }

    /// Every site's, for metrics.
    pub fn all_stats(&self, now: Millis) -> Vec<(i64, EndpointStats)> {
        let guards: Vec<(i64, Arc<SiteGuard>)> = self
            .guards()
            .by_site
            .iter()
            .map(|(id, g)| (*id, g.clone()))
            .collect();
        guards
            .into_iter()
            .map(|(id, guard)| (id, guard.stats(now)))
            .collect()
    }
}

/// A place in a site's queue; counted while it lives.
struct QueueSpot<'a> {
    queued: &'a AtomicUsize,
    /// Verifications that were already waiting.
    ahead: usize,
}

impl<'a> QueueSpot<'a> {
    fn enter(guard: &'a SiteGuard, max: usize) -> Option<Self> {
        let ahead = guard
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(Self {
            queued: &guard.queued,
            ahead,
        })
    }
}

impl Drop for QueueSpot<'_> {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One admitted verification: reports its outcome to the limit and the breaker,
/// and frees its slot, when settled or dropped.
pub struct Pass {
    guard: Arc<SiteGuard>,
    admission: Admission,
    permit: Option<OwnedSemaphorePermit>,
    started: Instant,
}

impl Pass {
    /// The endpoint answered (whatever it said). Returns the time it took.
    pub fn answered(mut self) -> Duration {
        let latency = self.started.elapsed();
        let guard = self.guard.clone();
        let mut state = guard.state();
        let in_flight = state.in_flight;
        state
            .limit
            .on_sample(latency, Outcome::Answered, in_flight, Instant::now());
        if self.admission == Admission::Probe {
            state.limit.restart(latency);
        }
        state.breaker.on_success();
        self.release(&mut state);
        latency
    }

    /// Transport failure, timeout or 5xx, at `now` on the server's clock.
    pub fn failed(mut self, now: Millis) -> Duration {
        let latency = self.started.elapsed();
        let guard = self.guard.clone();
        let mut state = guard.state();
        let in_flight = state.in_flight;
        state
            .limit
            .on_sample(latency, Outcome::Failed, in_flight, Instant::now());
        state.breaker.on_failure(self.admission, now);
        self.release(&mut state);
        latency
    }

    fn release(&mut self, state: &mut GuardState) {
        if let Some(permit) = self.permit.take() {
            state.in_flight -= 1;
            self.guard.resize(state);
            self.guard.give_back(state, permit);
        }
    }
}

impl Drop for Pass {
    /// Neither answered nor failed: the caller went away. No sample, and a probe
    /// that ended so lets the next request probe.
    fn drop(&mut self) {
        if self.permit.is_some() {
            let guard = self.guard.clone();
            let mut state = guard.state();
            state.breaker.on_abandoned(self.admission);
            self.release(&mut state);
        }
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
