//! How many verifications of one site may be in flight at once, learned from the
//! site's endpoint instead of fixed: additive increase while the endpoint answers
//! promptly under load, multiplicative decrease on every failure (timeout,
//! transport error, 5xx) and, at most once per round trip, when its latency
//! climbs well above its usual level. The AIMD scheme of Netflix's
//! concurrency-limits (`AIMDLimit`) with the latency signal of its gradient
//! limiters; the limit stays between a floor and a ceiling.
//!
//! Written here rather than taken from a crate: the maintained ones (tower-acc,
//! congestion-limiter) come with their own semaphore and queue, while the site
//! bound needs a FIFO queue whose deadline depends on this estimate, a breaker
//! next to it and per-site statistics (see `limits`). The arithmetic is small.
//!
//! Pure state, no clock of its own: every sample comes with its latency and the
//! time it was taken, so tests drive it without waiting.

use std::time::{Duration, Instant};

/// Bounds of the per-site limit, and of the queue in front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// The limit never falls below this, so a site whose endpoint misbehaves can
    /// still try (the breaker, not the limit, stops calling a dead endpoint).
    pub floor: usize,
    /// The limit of a site not seen yet (the fixed bound of earlier versions).
    pub initial: usize,
    /// Most verifications of one site in flight on this node, each holding one
    /// connection to the site (HTTP/1.1): what one site may cost the node at most.
    pub ceiling: usize,
    /// Most verifications of one site waiting for a slot; more are shed at once.
    pub max_queued: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            floor: 4,
            initial: 32,
            ceiling: 256,
            max_queued: 1024,
        }
    }
}

impl LimitSettings {
    /// The settings made consistent: `1 <= floor <= initial <= ceiling`.
    pub fn normalized(self) -> Self {
        let ceiling = self.ceiling.max(1);
        let floor = self.floor.clamp(1, ceiling);
        Self {
            floor,
            initial: self.initial.clamp(floor, ceiling),
            ceiling,
            max_queued: self.max_queued,
        }
    }
}

/// Multiplier of the limit on a failure (Netflix's default): a burst of timeouts
/// as long as the limit takes it to the floor (0.9^32 ≈ 0.03).
pub const BACKOFF: f64 = 0.9;
/// A success slower than this many times the usual latency (plus [`SLACK`]) is a
/// sign of a congested endpoint.
const TOLERANCE: f64 = 2.0;
/// Jitter of a few milliseconds (scheduling on a busy node) is not congestion.
const SLACK: Duration = Duration::from_millis(5);
/// Weight of a new sample in the recent latency (about the last eight answers).
const SHORT_WEIGHT: f64 = 1.0 / 8.0;
/// Weight of a new sample in the usual latency (about the last hundred).
const LONG_WEIGHT: f64 = 1.0 / 64.0;
/// Weight of a new sample in the error rate.
const ERROR_WEIGHT: f64 = 1.0 / 32.0;
/// Latencies kept for the percentiles of [`LatencySummary`].
const WINDOW: usize = 128;

/// How a verification ended, as far as the limit is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered (whatever it said).
    Answered,
    /// Timeout, transport error or 5xx.
    Failed,
}

/// The endpoint's recent behaviour, for operators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    /// Moving average of the last few verifications, failures included.
    pub recent_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Moving share of verifications that failed, 0 to 1.
    pub error_rate: f64,
}

#[derive(Debug)]
pub struct AdaptiveLimit {
    limit: f64,
    floor: usize,
    ceiling: usize,
    /// Recent latency in seconds (failures count with their full duration).
    short: Option<f64>,
    /// Usual latency of answers, in seconds.
    long: Option<f64>,
    error_rate: f64,
    last_decrease: Option<Instant>,
    /// The last [`WINDOW`] latencies in microseconds, a ring.
    window: Vec<u32>,
    next: usize,
}

impl AdaptiveLimit {
    pub fn new(settings: LimitSettings) -> Self {
        let settings = settings.normalized();
        Self {
            limit: settings.initial as f64,
            floor: settings.floor,
            ceiling: settings.ceiling,
            short: None,
            long: None,
            error_rate: 0.0,
            last_decrease: None,
            window: Vec::with_capacity(WINDOW),
            next: 0,
        }
    }

    pub fn limit(&self) -> usize {
        (self.limit as usize).clamp(self.floor, self.ceiling)
    }

    /// What a verification that starts now should expect to take; `None` before
    /// the first sample.
    pub fn recent_latency(&self) -> Option<Duration> {
        self.short.map(Duration::from_secs_f64)
    }

    /// One finished verification: `latency` from its start, `in_flight` counting it.
    pub fn on_sample(
        &mut self,
        latency: Duration,
        outcome: Outcome,
        in_flight: usize,
        now: Instant,
    ) {
        let secs = latency.as_secs_f64();
        self.short = Some(ewma(self.short, secs, SHORT_WEIGHT));
        self.record(latency);
        let failed = outcome == Outcome::Failed;
        self.error_rate += (f64::from(u8::from(failed)) - self.error_rate) * ERROR_WEIGHT;
        if failed {
            self.decrease(now);
            return;
        }
        let usual = *self.long.get_or_insert(secs);
        self.long = Some(ewma(Some(usual), secs, LONG_WEIGHT));
        let recent = self.short.unwrap_or(secs);
        let congested = recent > usual * TOLERANCE + SLACK.as_secs_f64();
        if congested {
            // Once per round trip: the answers of one slow round all report the
            // same congestion, and reacting to each would empty the limit.
            let round = Duration::from_secs_f64(recent);
            if self
                .last_decrease
                .is_none_or(|at| now.saturating_duration_since(at) >= round)
            {
                self.decrease(now);
            }
        } else if in_flight * 2 >= self.limit() {
            // Only a limit that is actually used grows: an idle site keeps its
            // limit rather than drifting to the ceiling untested.
            self.limit = (self.limit + 1.0).min(self.ceiling as f64);
        }
    }

    /// After an outage (the breaker's probe answered): the failures of the
    /// outage say nothing about the endpoint that is back, so the latency
    /// history starts again from this answer. The limit itself grows back by use.
    pub fn restart(&mut self, latency: Duration) {
        let secs = latency.as_secs_f64();
        self.short = Some(secs);
        self.long = Some(secs);
        self.error_rate = 0.0;
    }

    pub fn summary(&self) -> LatencySummary {
        let mut sorted = self.window.clone();
        sorted.sort_unstable();
        let percentile = |p: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
            f64::from(sorted[rank - 1]) / 1000.0
        };
        LatencySummary {
            recent_ms: self.short.unwrap_or(0.0) * 1000.0,
            p50_ms: percentile(0.50),
            p99_ms: percentile(0.99),
            error_rate: self.error_rate,
        }
    }

    fn decrease(&mut self, now: Instant) {
        self.limit = (self.limit * BACKOFF).max(self.floor as f64);
        self.last_decrease = Some(now);
    }

    fn record(&mut self, latency: Duration) {
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        if self.window.len() < WINDOW {
            self.window.push(micros);
        } else {
            self.window[self.next] = micros;
        }
        self.next = (self.next + 1) % WINDOW;
    }
}

fn ewma(previous: Option<f64>, sample: f64, weight: f64) -> f64 {
    match previous {
        Some(p) => p + (sample - p) * weight,
        None => sample,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn limiter() -> AdaptiveLimit {
        AdaptiveLimit::new(LimitSettings {
            floor: 4,
            initial: 32,
            ceiling: 256,
            max_queued: 1024,
        })
    }

    #[test]
    fn a_fast_endpoint_under_load_raises_the_limit_to_the_ceiling() {
        let mut l = limiter();
        let t0 = Instant::now();
        for i in 0..400u32 {
            let in_flight = l.limit();
            l.on_sample(50 * MS, Outcome::Answered, in_flight, t0 + i * MS);
        }
        assert_eq!(l.limit(), 256);
    }

    #[test]
    fn an_idle_site_keeps_its_limit() {
        let mut l = limiter();
        let t0 = Instant::now();
        for i in 0..100u32 {
            l.on_sample(50 * MS, Outcome::Answered, 1, t0 + i * 100 * MS);
        }
        assert_eq!(
            l.limit(),
            32,
            "one at a time says nothing about 33 at a time"
        );
    }

    #[test]
    fn a_round_of_timeouts_drives_the_limit_to_the_floor() {
        let mut l = limiter();
        let t0 = Instant::now();
        // The endpoint hangs: every verification in flight times out at once.
        for i in 0..32u32 {
            l.on_sample(Duration::from_secs(3), Outcome::Failed, 32 - i as usize, t0);
        }
        assert_eq!(l.limit(), 4);
        assert!(l.recent_latency().unwrap() > Duration::from_millis(2900));
        assert!(l.summary().error_rate > 0.5);
    }

    #[test]
    fn the_limit_recovers_when_the_endpoint_does() {
        let mut l = limiter();
        let t0 = Instant::now();
        for _ in 0..32 {
            l.on_sample(Duration::from_secs(3), Outcome::Failed, 32, t0);
        }
        assert_eq!(l.limit(), 4);
        l.restart(50 * MS);
        assert_eq!(l.recent_latency(), Some(50 * MS), "the outage is forgotten");
        for i in 0..100u32 {
            let in_flight = l.limit();
            l.on_sample(50 * MS, Outcome::Answered, in_flight, t0 + i * MS);
        }
        assert!(l.limit() >= 100, "limit {}", l.limit());
    }

    #[test]
    fn a_slowing_endpoint_lowers_the_limit_once_per_round_trip() {
        let mut l = limiter();
        let t0 = Instant::now();
        for i in 0..100u32 {
            l.on_sample(20 * MS, Outcome::Answered, 1, t0 + i * MS);
        }
        // Latency climbs to 200 ms: the recent average passes twice the usual.
        let mut now = t0 + 200 * MS;
        for _ in 0..5 {
            l.on_sample(200 * MS, Outcome::Answered, 32, now);
        }
        let after_first_round = l.limit();
        assert!(after_first_round < 32, "limit {after_first_round}");
        // More answers of the same round (well within one round trip): no further cut.
        for _ in 0..20 {
            l.on_sample(200 * MS, Outcome::Answered, 32, now + MS);
        }
        assert_eq!(l.limit(), after_first_round);
        // A round trip later, still slow: one more cut.
        now += 300 * MS;
        l.on_sample(200 * MS, Outcome::Answered, 32, now);
        assert!(l.limit() < after_first_round);
    }

    #[test]
    fn jitter_of_a_fast_endpoint_is_not_congestion() {
        let mut l = limiter();
        let t0 = Instant::now();
        for i in 0..200u32 {
            let latency = if i % 2 == 0 { MS / 2 } else { 3 * MS };
            let in_flight = l.limit();
            l.on_sample(latency, Outcome::Answered, in_flight, t0 + i * MS);
        }
        assert_eq!(l.limit(), 232, "every answer raised the limit by one");
    }

    #[test]
    fn percentiles_cover_the_last_answers() {
        let mut l = limiter();
        let t0 = Instant::now();
        for i in 1..=100u32 {
            l.on_sample(i * MS, Outcome::Answered, 1, t0);
        }
        let s = l.summary();
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.error_rate, 0.0);
    }

    #[test]
    fn settings_are_made_consistent() {
        let s = LimitSettings {
            floor: 0,
            initial: 1000,
            ceiling: 64,
            max_queued: 10,
        }
        .normalized();
        assert_eq!((s.floor, s.initial, s.ceiling), (1, 64, 64));
    }
}
