//! The verification request of SPEC §5.2 step 3: the shared guarded client
//! (`crate::http::outgoing`: rustls, no redirects, no proxy, guarded DNS,
//! keep-alive pool), the site's timeout over
//! the whole exchange, custom headers, and the answer read as a stream with a
//! hard cap. In front of it: one request per cookie in flight ([`flight`]) and
//! the site's adaptive bound ([`limits`]).
//!
//! [`flight`]: super::flight
//! [`limits`]: super::limits

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use super::flight::{self, Flights};
use super::limiter::LimitSettings;
use super::limits::{EndpointStats, Shed, SiteLimits};
use super::metrics::CookieLoginMetrics;
use crate::clock::{Clock, SystemClock};
use crate::http::outgoing::{read_capped, EndpointRefused, GuardedClient, RequestFailed};
use crate::settings::cookie_login::CookieLoginSettings;

/// Most bytes of an answer read; more is an oversize answer (SPEC §5.2 step 3).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Everything but RFC 3986 unreserved characters is percent-encoded, so `+`, `$`
/// or `%` in a cookie arrive at the site exactly as they were in the browser.
const COOKIE_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What the site's endpoint said about the cookie.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// 2xx with a JSON body.
    Answer(serde_json::Value),
    /// 4xx: the site does not recognise the cookie.
    Rejected(StatusCode),
}

/// Why the cookie could not be verified (all answered with 502 `verification_unavailable`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    #[error("{0}")]
    Refused(#[from] EndpointRefused),
    #[error("the endpoint could not be reached: {0}")]
    Transport(String),
    #[error("the endpoint did not answer within {0} ms")]
    Timeout(u64),
    #[error("the endpoint answered with status {0}")]
    Status(u16),
    #[error("the endpoint's answer is larger than 64 KiB")]
    TooLarge,
    #[error("the endpoint's answer is not JSON")]
    NotJson,
    #[error("too many verifications of this site are in progress")]
    Busy,
    #[error("the endpoint failed repeatedly; verification is paused")]
    CircuitOpen,
    #[error("the endpoint settings are invalid: {0}")]
    BadSettings(String),
}

impl Unavailable {
    /// Answered without contacting the endpoint.
    pub fn is_shed(&self) -> bool {
        matches!(self, Unavailable::Busy | Unavailable::CircuitOpen)
    }

    /// Failures that say the endpoint is unreachable or broken (they feed the breaker).
    fn is_endpoint_failure(&self) -> bool {
        match self {
            Unavailable::Refused(_) | Unavailable::Transport(_) | Unavailable::Timeout(_) => true,
            Unavailable::Status(status) => *status >= 500,
            _ => false,
        }
    }
}

/// The cookie-login machinery shared by every request: one HTTP client, one
/// request per cookie in flight, per-site limits and their metrics.
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    client: GuardedClient,
    limits: Arc<SiteLimits>,
    flights: Arc<Flights>,
    metrics: CookieLoginMetrics,
    /// For callers that bring no clock of their own ([`Verifier::verify`]).
    clock: Arc<dyn Clock>,
}

impl Verifier {
    pub fn new(allow_private: bool) -> Self {
        Self::with_limits(allow_private, SiteLimits::default())
    }

    pub fn with_limits(allow_private: bool, limits: SiteLimits) -> Self {
        Self::with_clock(allow_private, limits, Arc::new(SystemClock))
    }

    pub fn with_clock(allow_private: bool, limits: SiteLimits, clock: Arc<dyn Clock>) -> Self {
        // HTTP/1.1: one connection per verification in flight. Keeping as many
        // idle as a site may have in flight means a flash crowd reuses them
        // instead of opening (and TLS-handshaking) hundreds of new ones.
        let client = GuardedClient::new(
            allow_private,
            concat!("tessera-cookie-login/", env!("CARGO_PKG_VERSION")),
            limits.settings().ceiling,
        );
        let limits = Arc::new(limits);
        let metrics = CookieLoginMetrics::new(limits.clone(), clock.clone());
        Self {
            inner: Arc::new(Inner {
                client,
                limits,
                flights: Arc::new(Flights::default()),
                metrics,
                clock,
            }),
        }
    }

    /// Bounds of the per-site limits in force.
    pub fn limit_settings(&self) -> LimitSettings {
        self.inner.limits.settings()
    }

    /// Asks the site's endpoint about `cookie` (already validated by the caller).
    pub async fn verify(
        &self,
        site_id: i64,
        settings: &CookieLoginSettings,
        endpoint: &str,
        cookie: &str,
    ) -> Result<Verdict, Unavailable> {
        let clock = self.inner.clock.clone();
        self.verify_with_clock(&clock, site_id, settings, endpoint, cookie)
            .await
    }

    /// [`Verifier::verify`] with the breaker on `clock`: the server passes its
    /// own, so that tests move past a cool-down instead of waiting it out.
    pub async fn verify_with_clock(
        &self,
        clock: &Arc<dyn Clock>,
        site_id: i64,
        settings: &CookieLoginSettings,
        endpoint: &str,
        cookie: &str,
    ) -> Result<Verdict, Unavailable> {
        let key = flight::key(site_id, endpoint, cookie);
        let (answer, joined) = self.inner.flights.join_or_start(key, || {
            let (inner, clock) = (self.inner.clone(), clock.clone());
            let (settings, endpoint, cookie) =
                (settings.clone(), endpoint.to_string(), cookie.to_string());
            async move {
                inner
                    .verify_once(&*clock, site_id, &settings, &endpoint, &cookie)
                    .await
            }
        });
        if joined {
            self.inner.metrics.joined(site_id);
        }
        answer.await
    }

    /// One verification for an administrator's test of the settings: the same
    /// client, address guard, timeout and cap as a login, but outside the site's
    /// limits and breaker (a test must neither be shed nor trip live logins' breaker).
    pub async fn probe(
        &self,
        settings: &CookieLoginSettings,
        endpoint: &str,
        cookie: &str,
    ) -> Result<RawAnswer, Unavailable> {
        let exchange = self.inner.fetch_raw(settings, endpoint, cookie);
        match tokio::time::timeout(settings.timeout(), exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Unavailable::Timeout(settings.timeout_ms)),
        }
    }

    /// How the site's endpoint has been doing on this node; `None` if it was not
    /// called since the server started (or its endpoint changed since).
    pub fn site_stats(&self, site_id: i64) -> Option<EndpointStats> {
        self.inner.limits.stats(site_id, self.inner.clock.now_ms())
    }

    /// Appends the cookie-login metrics in the Prometheus text format (no `# EOF`).
    pub fn encode_metrics(&self, out: &mut String) -> std::fmt::Result {
        self.inner.metrics.encode(out)
    }
}

impl Inner {
    async fn verify_once(
        &self,
        clock: &dyn Clock,
        site_id: i64,
        settings: &CookieLoginSettings,
        endpoint: &str,
        cookie: &str,
    ) -> Result<Verdict, Unavailable> {
        let timeout = settings.timeout();
        // The site's timeout bounds the wait for a slot too: a login waits only
        // while its expected wait plus the endpoint's recent latency fit in it.
        // The request itself still gets the whole timeout, so the endpoint is not
        // judged on less time than the site allowed it.
        let pass = match self.limits.admit(site_id, endpoint, timeout, clock).await {
            Ok(pass) => pass,
            Err(shed) => {
                self.metrics.shed(site_id, shed);
                return Err(match shed {
                    Shed::CircuitOpen => Unavailable::CircuitOpen,
                    Shed::Busy | Shed::QueueTimeout | Shed::QueueFull => Unavailable::Busy,
                });
            }
        };
        let outcome =
            match tokio::time::timeout(timeout, self.fetch(settings, endpoint, cookie)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Unavailable::Timeout(settings.timeout_ms)),
            };
        let latency = match &outcome {
            Err(e) if e.is_endpoint_failure() => pass.failed(clock.now_ms()),
            _ => pass.answered(),
        };
        self.metrics.endpoint_latency(site_id, latency);
        outcome
    }

    async fn fetch(
        &self,
        settings: &CookieLoginSettings,
        endpoint: &str,
        cookie: &str,
    ) -> Result<Verdict, Unavailable> {
        self.fetch_raw(settings, endpoint, cookie).await?.judge()
    }

    /// The exchange of step 3 without its judgement: what the endpoint answered.
    async fn fetch_raw(
        &self,
        settings: &CookieLoginSettings,
        endpoint: &str,
        cookie: &str,
    ) -> Result<RawAnswer, Unavailable> {
        let url = verification_url(endpoint, cookie)?;
        let mut response = self
            .client
            .get(url)?
            .timeout(settings.timeout())
            .headers(request_headers(settings)?)
            .send()
            .await
            .map_err(|e| classify(e, settings.timeout_ms))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (body, too_large) = read_capped(&mut response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| classify(e, settings.timeout_ms))?;
        Ok(RawAnswer {
            status,
            content_type,
            body,
            too_large,
        })
    }
}

/// What the endpoint answered, before it is judged (at most 64 KiB of the body).
#[derive(Debug)]
pub struct RawAnswer {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// The body went on past the cap.
    pub too_large: bool,
}

impl RawAnswer {
    /// Step 4: a 4xx is the site's "no", a 2xx must be JSON within the cap, anything
    /// else means the endpoint is unavailable.
    pub fn judge(&self) -> Result<Verdict, Unavailable> {
        if self.status.is_client_error() {
            return Ok(Verdict::Rejected(self.status));
        }
        if !self.status.is_success() {
            return Err(Unavailable::Status(self.status.as_u16()));
        }
        if self.too_large {
            return Err(Unavailable::TooLarge);
        }
        serde_json::from_slice(&self.body)
            .map(Verdict::Answer)
            .map_err(|_| Unavailable::NotJson)
    }
}

/// `endpoint + urlencode(cookie)`.
pub fn verification_url(endpoint: &str, cookie: &str) -> Result<Url, Unavailable> {
    let text = format!("{endpoint}{}", utf8_percent_encode(cookie, COOKIE_VALUE));
    Url::parse(&text)
        .map_err(|e| Unavailable::BadSettings(format!("the endpoint URL is invalid ({e})")))
}

pub(super) fn request_headers(settings: &CookieLoginSettings) -> Result<HeaderMap, Unavailable> {
    let mut headers = HeaderMap::new();
    for custom in &settings.headers {
        let name = HeaderName::from_bytes(custom.name.as_bytes()).map_err(|_| {
            Unavailable::BadSettings(format!("header name {:?} is invalid", custom.name))
        })?;
        let mut value = HeaderValue::from_str(custom.value.expose()).map_err(|_| {
            Unavailable::BadSettings(format!("the value of header {} is invalid", custom.name))
        })?;
        value.set_sensitive(true);
        headers.append(name, value);
    }
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    Ok(headers)
}

/// A reqwest error as a reason fit for the audit log (never with the URL, which
/// carries the cookie value).
fn classify(error: reqwest::Error, timeout_ms: u64) -> Unavailable {
    match RequestFailed::classify(error) {
        RequestFailed::Timeout => Unavailable::Timeout(timeout_ms),
        RequestFailed::Refused(refused) => Unavailable::Refused(refused),
        RequestFailed::Transport(text) => Unavailable::Transport(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_appended_percent_encoded() {
        let url =
            verification_url("https://a.example/v?sid=", "a$b-c_d.e+f!g*h'i(j)k%20~").unwrap();
        assert_eq!(
            url.as_str(),
            "https://a.example/v?sid=a%24b-c_d.e%2Bf%21g%2Ah%27i%28j%29k%2520~"
        );
    }
}
