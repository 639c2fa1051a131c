//! A circuit breaker per site: after repeated endpoint failures, logins of that
//! site fail fast for a while instead of each waiting for the timeout; then one
//! probe request decides whether to close again.
//!
//! Times are the server's clock ([`crate::clock::Clock`]), so tests move past
//! the cool-down instead of waiting it out.

use std::time::Duration;

use crate::clock::{duration_ms, Millis};

pub const FAILURE_THRESHOLD: u32 = 5;
pub const COOL_DOWN: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Millis>,
    probe_in_flight: bool,
    threshold: u32,
    cool_down: Millis,
}

/// How a request was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Normal operation.
    Closed,
    /// The one request that tests an endpoint after the cool-down.
    Probe,
}

/// The breaker is open: answer without contacting the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open;

impl Default for Breaker {
    fn default() -> Self {
        Self::new(FAILURE_THRESHOLD, COOL_DOWN)
    }
}

impl Breaker {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            consecutive_failures: 0,
            open_until: None,
            probe_in_flight: false,
            threshold: threshold.max(1),
            cool_down: duration_ms(cool_down),
        }
    }

    pub fn admit(&mut self, now: Millis) -> Result<Admission, Open> {
        match self.open_until {
            None => Ok(Admission::Closed),
            Some(until) if now < until => Err(Open),
            Some(_) if self.probe_in_flight => Err(Open),
            Some(_) => {
                self.probe_in_flight = true;
                Ok(Admission::Probe)
            }
        }
    }

    /// The endpoint answered (whatever it said): it is reachable.
    pub fn on_success(&mut self) {
        self.consecutive_failures = 0;
        self.open_until = None;
        self.probe_in_flight = false;
    }

    /// Transport failure, timeout or 5xx.
    pub fn on_failure(&mut self, admission: Admission, now: Millis) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if admission == Admission::Probe {
            self.probe_in_flight = false;
        }
        if admission == Admission::Probe || self.consecutive_failures >= self.threshold {
            self.open_until = Some(now.saturating_add(self.cool_down));
        }
    }

    /// A probe that ended without an answer (the client went away): let the next request probe.
    pub fn on_abandoned(&mut self, admission: Admission) {
        if admission == Admission::Probe {
            self.probe_in_flight = false;
        }
    }

    /// Tripped and not yet closed again by a probe's answer (open, or waiting for a probe).
    pub fn tripped(&self) -> bool {
        self.open_until.is_some()
    }

    pub fn is_open(&self, now: Millis) -> bool {
        self.open_until.is_some_and(|until| now < until)
    }

    /// [`Breaker::admit`] would refuse: open, or its one probe is already out.
    /// Checked before a request queues for a slot, so it does not wait for nothing.
    pub fn refuses(&self, now: Millis) -> bool {
        self.open_until.is_some() && (self.probe_in_flight || self.is_open(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_probes_after_the_cool_down() {
        let t0: Millis = 1_700_000_000_000;
        let mut b = Breaker::new(3, Duration::from_secs(30));
        for _ in 0..2 {
            assert_eq!(b.admit(t0), Ok(Admission::Closed));
            b.on_failure(Admission::Closed, t0);
        }
        assert!(!b.is_open(t0), "two failures are below the threshold");
        b.on_failure(Admission::Closed, t0);
        assert!(b.is_open(t0));
        assert_eq!(b.admit(t0 + 29000), Err(Open));

        let later = t0 + 30000;
        assert_eq!(b.admit(later), Ok(Admission::Probe));
        assert_eq!(b.admit(later), Err(Open), "one probe at a time");
        b.on_failure(Admission::Probe, later);
        assert_eq!(b.admit(later + 1000), Err(Open), "a failed probe re-opens");

        let again = later + 30000;
        assert_eq!(b.admit(again), Ok(Admission::Probe));
        b.on_success();
        assert_eq!(b.admit(again), Ok(Admission::Closed));
        assert!(!b.is_open(again));
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0: Millis = 1_700_000_000_000;
        let mut b = Breaker::new(3, Duration::from_secs(30));
        b.on_failure(Admission::Closed, t0);
        b.on_failure(Admission::Closed, t0);
        b.on_success();
        b.on_failure(Admission::Closed, t0);
        b.on_failure(Admission::Closed, t0);
        assert!(!b.is_open(t0));
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_request_probe() {
        let t0: Millis = 1_700_000_000_000;
        let mut b = Breaker::new(1, Duration::from_secs(30));
        b.on_failure(Admission::Closed, t0);
        let later = t0 + 31000;
        assert_eq!(b.admit(later), Ok(Admission::Probe));
        b.on_abandoned(Admission::Probe);
        assert_eq!(b.admit(later), Ok(Admission::Probe));
    }

    #[test]
    fn refuses_says_what_admit_would_answer() {
        let t0: Millis = 1_700_000_000_000;
        let mut b = Breaker::new(1, Duration::from_secs(30));
        assert!(!b.refuses(t0));
        b.on_failure(Admission::Closed, t0);
        assert!(b.refuses(t0 + 29_000));
        let later = t0 + 30_000;
        assert!(!b.refuses(later), "the probe may go");
        assert_eq!(b.admit(later), Ok(Admission::Probe));
        assert!(b.refuses(later), "one probe at a time");
        b.on_success();
        assert!(!b.refuses(later));
    }
}
