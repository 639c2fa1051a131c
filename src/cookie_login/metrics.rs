//! Cookie-login metrics per site, owned by the [`Verifier`](super::Verifier) (the
//! site bound lives there) and rendered with the server's other metrics by
//! `GET /metrics` (`crate::http::metrics`).
//!
//! The gauges (limit, in flight, queued, breaker) are read from the site bound at
//! scrape time, so the hot path only counts sheds and records latencies.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::limits::{EndpointStats, Shed, SiteLimits};
use crate::clock::Clock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SiteLabels {
    pub site_id: i64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShedLabels {
    pub site_id: i64,
    pub reason: &'static str,
}

pub struct CookieLoginMetrics {
    registry: Registry,
    shed: Family<ShedLabels, Counter>,
    joined: Family<SiteLabels, Counter>,
    latency: Family<SiteLabels, Histogram>,
}

fn endpoint_histogram() -> Histogram {
    // 1 ms … ~16 s: a timeout is at most 10 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl CookieLoginMetrics {
    pub fn new(limits: Arc<SiteLimits>, clock: Arc<dyn Clock>) -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let shed = Family::<ShedLabels, Counter>::default();
        let joined = Family::<SiteLabels, Counter>::default();
        let latency = Family::<SiteLabels, Histogram>::new_with_constructor(
            endpoint_histogram as fn() -> Histogram,
        );
        registry.register(
            "cookie_login_shed",
            "Cookie verifications answered 502 without calling the site, by reason",
            shed.clone(),
        );
        registry.register(
            "cookie_login_joined",
            "Cookie verifications that shared a request already in flight for the same cookie",
            joined.clone(),
        );
        registry.register(
            "cookie_login_endpoint_duration_seconds",
            "Time the site's verification endpoint took (timeouts included)",
            latency.clone(),
        );
        registry.register_collector(Box::new(BoundCollector { limits, clock }));
        Self {
            registry,
            shed,
            joined,
            latency,
        }
    }

    pub fn shed(&self, site_id: i64, reason: Shed) {
        self.shed
            .get_or_create(&ShedLabels {
                site_id,
                reason: reason.label(),
            })
            .inc();
    }

    pub fn joined(&self, site_id: i64) {
        self.joined.get_or_create(&SiteLabels { site_id }).inc();
    }

    pub fn endpoint_latency(&self, site_id: i64, latency: Duration) {
        self.latency
            .get_or_create(&SiteLabels { site_id })
            .observe(latency.as_secs_f64());
    }

    /// Appends these metrics, without the closing `# EOF`.
    pub fn encode(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::text::encode_registry(out, &self.registry)
    }
}

/// Reads each site's bound at scrape time.
struct BoundCollector {
    limits: Arc<SiteLimits>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for BoundCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundCollector").finish_non_exhaustive()
    }
}

type Read = fn(&EndpointStats) -> i64;

const GAUGES: [(&str, &str, Read); 4] = [
    (
        "cookie_login_limit",
        "Cookie verifications a site may have in flight now (adaptive)",
        |s| s.limit as i64,
    ),
    (
        "cookie_login_in_flight",
        "Cookie verifications waiting for the site's endpoint",
        |s| s.in_flight as i64,
    ),
    (
        "cookie_login_queued",
        "Cookie verifications waiting for a free slot",
        |s| s.queued as i64,
    ),
    (
        "cookie_login_circuit_open",
        "1 while the site's circuit breaker is open",
        |s| i64::from(s.circuit_open),
    ),
];

impl Collector for BoundCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut sites = self.limits.all_stats(self.clock.now_ms());
        sites.sort_by_key(|(site_id, _)| *site_id);
        for (name, help, read) in GAUGES {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (site_id, stats) in &sites {
                let labels = SiteLabels { site_id: *site_id };
                ConstGauge::new(read(stats)).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
