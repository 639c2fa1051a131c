//! Prometheus metrics, owned by the application state (no global recorder, so
//! several servers can run in one test process).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::app::AppState;

// Label values that cost no allocation per request: the standard methods are static,
// the route template is shared between the two families, the status is a number.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: Cow<'static, str>,
    pub route: Route,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: Cow<'static, str>,
    pub route: Route,
}

/// A route template, shared by the two families of one request.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Route(Arc<str>);

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        EncodeLabelValue::encode(&&*self.0, encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram>,
    /// Logins by flow and outcome (`accounts_ok`, `cookie_login_failed`, `password_user_banned`, …).
    pub logins: Family<OutcomeLabels, Counter>,
    pub tokens_issued: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~4 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let http_requests = Family::<RequestLabels, Counter>::default();
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let logins = Family::<OutcomeLabels, Counter>::default();
        let tokens_issued = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests answered",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            http_duration.clone(),
        );
        registry.register("logins", "User logins by flow and outcome", logins.clone());
        registry.register(
            "oauth2_tokens_issued",
            "OAuth 2.0 access tokens issued",
            tokens_issued.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            logins,
            tokens_issued,
        }
    }
}

impl Metrics {
    pub fn login(&self, outcome: &str) {
        self.logins
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn render(&self) -> String {
        self.render_with(|_| Ok(()))
    }

    /// These metrics, then those `more` appends (registries owned elsewhere,
    /// e.g. cookie login's per-site bound), then the closing `# EOF`.
    pub fn render_with(&self, more: impl FnOnce(&mut String) -> std::fmt::Result) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut text = String::new();
        encode_registry(&mut text, &self.registry)
            .and_then(|()| more(&mut text))
            .and_then(|()| encode_eof(&mut text))
            .expect("writing to a String cannot fail");
        text
    }
}

/// Middleware recording count and latency per route (the route template, never the raw path).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = Route(
        request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", |p| p.as_str())
            .into(),
    );
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .http_duration
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

fn method_label(method: &Method) -> Cow<'static, str> {
    const STANDARD: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "CONNECT", "PATCH", "TRACE",
    ];
    match STANDARD.iter().find(|m| **m == method.as_str()) {
        Some(standard) => Cow::Borrowed(standard),
        None => Cow::Owned(method.as_str().to_string()),
    }
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render_with(|text| {
            state.cookie_login.encode_metrics(text)?;
            state.store.encode_cache_metrics(text)
        }),
    )
        .into_response()
}
