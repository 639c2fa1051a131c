//! HTTP plumbing shared by every API family: body reading, parameters, client IP,
//! request ids, metrics and the JSON answers for unknown routes and methods.

pub mod body;
pub mod error;
pub mod form;
pub mod metrics;
pub mod outgoing;
pub mod request_context;
pub mod server;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

pub use error::ApiError;

use crate::app::AppState;

/// Largest request body accepted anywhere (SPEC §9).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than 64 KiB")]
    TooLarge,
    #[error("the request body could not be read")]
    Unreadable,
    #[error("the request body did not arrive in time")]
    TimedOut,
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable => StatusCode::BAD_REQUEST,
            BodyError::TimedOut => StatusCode::REQUEST_TIMEOUT,
        }
    }
}

/// Reads a whole body, refusing more than [`MAX_BODY_BYTES`] without buffering them.
pub async fn read_body(body: Body) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            // The cause sits a few wrappers deep (axum and the length limit each box it).
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(error) = cause {
                if error.is::<http_body_util::LengthLimitError>() {
                    return BodyError::TooLarge;
                }
                if error.is::<body::BodyTimeout>() {
                    return BodyError::TimedOut;
                }
                cause = error.source();
            }
            BodyError::Unreadable
        })
}

/// The client's IP, as [`client_ip`] finds it: what audit events, brute-force limits
/// and logs use.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn text(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(client_ip(
            &parts.headers,
            peer,
            &state.config.trusted_proxies,
        )))
    }
}

/// The one definition of a request's client IP (SPEC §8).
///
/// The peer address, unless the peer is a trusted proxy: then `X-Forwarded-For` is read
/// from the right, each hop being the address that the hop after it saw, and the client
/// is the first address that is not itself a trusted proxy (nginx's
/// `real_ip_recursive on`). Left of that, anyone can write anything, which is why the
/// left-most address must never be believed. A hop that does not parse ends the walk
/// at the last address a trusted proxy vouched for.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut client = peer.map(|ip| ip.to_canonical())?;
    if !trusted.contains(client) {
        return Some(client);
    }
    // Several X-Forwarded-For headers are one list, in order (RFC 9110 §5.3).
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = value.to_str() else {
            return Some(client);
        };
        for hop in text.rsplit(',') {
            let Some(ip) = parse_hop(hop.trim()) else {
                return Some(client);
            };
            client = ip;
            if !trusted.contains(ip) {
                return Some(ip);
            }
        }
    }
    Some(client)
}

/// An address in `X-Forwarded-For`: bare, or with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Whether `path` belongs to the Faveo-compatible API, whose errors have their own
/// shape (`{"Error","status_code"}`, SPEC §4).
fn is_faveo(path: &str) -> bool {
    path.starts_with("/api/v1/")
}

/// Most request header fields accepted, and their largest total size (names, values
/// and separators): far above what browsers and HTTP clients send.
pub const MAX_HEADERS: usize = 100;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// 431 in the shape of the path's family when the request's headers are over the
/// limits; `None` when they are within them.
pub fn headers_too_large(parts: &Parts) -> Option<Response> {
    let bytes: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if bytes <= MAX_HEADER_BYTES && parts.headers.len() <= MAX_HEADERS {
        return None;
    }
    let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    Some(if is_faveo(parts.uri.path()) {
        crate::password::error::FaveoError::new(status, "request headers too large").into_response()
    } else {
        ApiError::new(
            status,
            "invalid_request",
            "the request headers are larger than 32 KiB or more than 100 fields",
        )
        .into_response()
    })
}

/// Answers holding a secret (tokens, session ids) must never be cached (RFC 6749 §5.1).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Site ids are positive decimal integers.
pub fn parse_site_id(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|id| *id > 0)
}

/// The value of the cookie `name` the request carries, if any (and not empty).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Unknown path: JSON 404 in the shape of the path's API family.
pub async fn not_found(uri: Uri) -> Response {
    if is_faveo(uri.path()) {
        return crate::password::error::FaveoError::new(StatusCode::NOT_FOUND, "not_found")
            .into_response();
    }
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

/// Known path, wrong method: JSON 405 in the family's shape (axum adds the `Allow`
/// header, listing the route's methods); a page under the console's paths.
pub async fn method_not_allowed(uri: Uri) -> Response {
    if crate::console::page::is_console_path(uri.path()) {
        return crate::console::page::method_not_allowed().await;
    }
    if is_faveo(uri.path()) {
        return crate::password::error::FaveoError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .into_response();
    }
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that HTTP method",
    )
    .into_response()
}

/// The `trusted_proxies` setting: networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDR networks; a bare address is a network of one.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        items
            .iter()
            .map(|item| parse_net(item.as_ref()))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One network of `trusted_proxies`; the error names the value at fault.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| {
            format!("{text:?} is not a network like 10.0.0.0/8, 2001:db8::/32 or 192.0.2.7")
        })
}

impl From<Vec<IpNet>> for TrustedProxies {
    fn from(nets: Vec<IpNet>) -> Self {
        Self(nets.into_iter().map(|net| net.trunc()).collect())
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        Self::parse(&items).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_ids_are_positive_decimals() {
        assert_eq!(parse_site_id("42"), Some(42));
        for bad in ["", "0", "-1", "+1", "1e3", " 1", "99999999999999999999"] {
            assert_eq!(parse_site_id(bad), None, "{bad:?}");
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_peers_and_from_the_right() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8", "192.0.2.7"]).unwrap();
        let none = TrustedProxies::default();
        let spoofed = xff(&["6.6.6.6, 203.0.113.9"]);
        // No proxy trusted: the header is ignored.
        assert_eq!(
            client_ip(&spoofed, Some(ip("10.1.1.1")), &none),
            Some(ip("10.1.1.1"))
        );
        // An untrusted peer cannot name another client.
        assert_eq!(
            client_ip(&spoofed, Some(ip("198.51.100.1")), &trusted),
            Some(ip("198.51.100.1"))
        );
        // A trusted peer: the right-most address that is not a proxy, never the left-most.
        assert_eq!(
            client_ip(&spoofed, Some(ip("10.1.1.1")), &trusted),
            Some(ip("203.0.113.9"))
        );
        let chain = xff(&["6.6.6.6, 203.0.113.9, 10.2.2.2", "192.0.2.7"]);
        assert_eq!(
            client_ip(&chain, Some(ip("10.1.1.1")), &trusted),
            Some(ip("203.0.113.9"))
        );
        // Garbage ends the walk at the last address a proxy vouched for.
        let garbage = xff(&["203.0.113.9, junk, 10.2.2.2"]);
        assert_eq!(
            client_ip(&garbage, Some(ip("10.1.1.1")), &trusted),
            Some(ip("10.2.2.2"))
        );
        // IPv4-mapped peers (a dual-stack listener) match IPv4 networks.
        assert_eq!(
            client_ip(&spoofed, Some(ip("::ffff:10.1.1.1")), &trusted),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_ip(&HeaderMap::new(), Some(ip("10.1.1.1")), &trusted),
            Some(ip("10.1.1.1"))
        );
    }

    #[test]
    fn networks_parse_or_name_the_bad_value() {
        assert!(TrustedProxies::parse(&["10.0.0.0/8", "::1", "2001:db8::/32"]).is_ok());
        let error = TrustedProxies::parse(&["10.0.0.0/33"]).unwrap_err();
        assert!(error.contains("10.0.0.0/33"), "{error}");
    }
}
