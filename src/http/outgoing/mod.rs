//! Requests Tessera makes to a site's own servers (cookie verification, OpenID
//! discovery and JWKS): one guarded client for all of them. In production a request
//! goes only to `https` and only to public addresses — the check lives in the
//! client's resolver ([`resolver`]), so the connection goes to the very addresses
//! that were checked, and IP literals are checked here before connecting. Redirects
//! are never followed and no proxy is used. `--allow-private-endpoints` lifts both
//! rules, for development and tests.
//!
//! - [`address`]: which addresses are public
//! - [`resolver`]: DNS with the address check
//! - [`EndpointPolicy`]: the same rules applied when settings are saved

pub mod address;
pub mod resolver;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

use address::is_public;
pub use resolver::EndpointRefused;
use resolver::GuardedResolver;

/// The HTTP client for sites' endpoints, with the address guard built in.
#[derive(Clone)]
pub struct GuardedClient {
    client: reqwest::Client,
    allow_private: bool,
}

impl GuardedClient {
    /// `idle_per_host`: keep-alive connections kept per endpoint host (a flow that
    /// may have many requests in flight to one site keeps as many).
    pub fn new(allow_private: bool, user_agent: &'static str, idle_per_host: usize) -> Self {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect on our behalf to addresses we never checked.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(user_agent)
            .pool_max_idle_per_host(idle_per_host)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()
            // Only fails if the TLS backend cannot start, which no input can cause.
            .expect("the guarded HTTP client must build");
        Self {
            client,
            allow_private,
        }
    }

    /// A GET of `url`, refused before any connection when the policy forbids it.
    pub fn get(&self, url: Url) -> Result<reqwest::RequestBuilder, EndpointRefused> {
        if !self.allow_private {
            check_url(&url)?;
        }
        Ok(self.client.get(url))
    }
}

/// The checks the resolver cannot make: the scheme, and IP literals (which are never resolved).
pub fn check_url(url: &Url) -> Result<(), EndpointRefused> {
    if url.scheme() != "https" {
        return Err(EndpointRefused::NotHttps);
    }
    match ip_literal(url) {
        Some(ip) if !is_public(ip) => Err(EndpointRefused::InternalAddress {
            host: url.host_str().unwrap_or_default().to_string(),
            ip,
        }),
        _ => Ok(()),
    }
}

fn ip_literal(url: &Url) -> Option<IpAddr> {
    match url.host() {
        Some(Host::Ipv4(ip)) => Some(ip.into()),
        Some(Host::Ipv6(ip)) => Some(ip.into()),
        _ => None,
    }
}

/// The body of `response`, read as a stream and cut at `cap` bytes whatever
/// `Content-Length` claims; the flag says whether it went on past the cap.
pub async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// Why an outgoing request failed, fit for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestFailed {
    #[error("{0}")]
    Refused(#[from] EndpointRefused),
    #[error("the endpoint did not answer in time")]
    Timeout,
    #[error("the endpoint could not be reached: {0}")]
    Transport(String),
}

impl RequestFailed {
    /// A reqwest error as a reason fit for the audit log: never with the URL, which
    /// may carry a secret (a cookie value).
    pub fn classify(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            return RequestFailed::Timeout;
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(e) = source {
            if let Some(refused) = e.downcast_ref::<EndpointRefused>() {
                return RequestFailed::Refused(refused.clone());
            }
            source = e.source();
        }
        let error = error.without_url();
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(e) = source {
            text.push_str(": ");
            text.push_str(&e.to_string());
            source = e.source();
        }
        RequestFailed::Transport(text)
    }
}

/// Where requests to sites' endpoints may go: decided by the server's configuration
/// (`--allow-private-endpoints`), and checked when settings are saved as well as
/// on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointPolicy {
    pub allow_private: bool,
}

impl EndpointPolicy {
    /// The URL, refused with one sentence when it is `http` or an internal IP
    /// literal and private endpoints are not allowed. Names are checked at request
    /// time (they may resolve differently then).
    pub fn check(&self, endpoint: &str) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        let url = Url::parse(endpoint).map_err(|e| format!("the endpoint is invalid ({e})"))?;
        match check_url(&url) {
            Ok(()) => Ok(()),
            Err(EndpointRefused::InternalAddress { ip, .. }) => Err(format!(
                "the endpoint host {ip} is an internal address (allowed only with --allow-private-endpoints, for development)"
            )),
            Err(_) => Err("the endpoint must use https (http is allowed only when the server runs with --allow-private-endpoints, for development)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_and_ip_literals_are_checked() {
        let check = |u: &str| check_url(&Url::parse(u).unwrap());
        assert_eq!(check("http://a.example/"), Err(EndpointRefused::NotHttps));
        assert!(check("https://a.example/").is_ok());
        assert!(check("https://93.184.216.34/").is_ok());
        for internal in [
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://10.0.0.1/",
            "https://[::1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[fd00::1]/",
        ] {
            assert!(
                matches!(
                    check(internal),
                    Err(EndpointRefused::InternalAddress { .. })
                ),
                "{internal}"
            );
        }
    }

    #[test]
    fn the_saved_settings_policy_says_why() {
        let strict = EndpointPolicy {
            allow_private: false,
        };
        assert!(strict.check("https://a.example/x").is_ok());
        assert!(strict
            .check("http://a.example/x")
            .unwrap_err()
            .contains("https"));
        assert!(strict
            .check("https://10.1.2.3/x")
            .unwrap_err()
            .contains("internal address"));
        let open = EndpointPolicy {
            allow_private: true,
        };
        assert!(open.check("http://127.0.0.1:9/x").is_ok());
    }
}
