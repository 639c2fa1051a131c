//! Cookie-login settings of a site (SPEC §5.1): stored in the site's settings JSON,
//! validated when set (CLI, admin API, console), each error one sentence.

use std::fmt;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use url::Url;

pub const DEFAULT_TIMEOUT_MS: u64 = 3_000;
pub const MAX_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_REVERIFY_MS: u64 = 24 * 3600 * 1000;
const MIN_REVERIFY: Duration = Duration::from_secs(60);
const MAX_REVERIFY: Duration = Duration::from_secs(365 * 24 * 3600);
const MAX_ENDPOINT_CHARS: usize = 2048;
const MAX_COOKIE_NAME_CHARS: usize = 256;
const MAX_PATH_CHARS: usize = 200;
const MAX_PATH_SEGMENTS: usize = 8;
const MAX_HEADERS: usize = 20;
const MAX_HEADER_NAME_CHARS: usize = 100;
const MAX_HEADER_VALUE_CHARS: usize = 4096;

/// Headers a site may not set: they belong to the connection or to our own request.
const RESERVED_HEADERS: [&str; 14] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
    "accept",
    "accept-encoding",
    "content-encoding",
];

/// Everything cookie login needs for one site. Login works once both the cookie
/// name and the endpoint are set; the other settings have defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CookieLoginSettings {
    /// The site's cookie the embed script reads, e.g. `loggedinCookie_sid`.
    pub cookie_name: Option<String>,
    /// Absolute URL; the URL-encoded cookie value is appended to it.
    pub endpoint: Option<String>,
    pub mapping: FieldMapping,
    /// Sent with every verification request; values are write-only.
    pub headers: Vec<CustomHeader>,
    pub timeout_ms: u64,
    pub reverify_interval_ms: u64,
}

impl Default for CookieLoginSettings {
    fn default() -> Self {
        Self {
            cookie_name: None,
            endpoint: None,
            mapping: FieldMapping::default(),
            headers: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            reverify_interval_ms: DEFAULT_REVERIFY_MS,
        }
    }
}

impl CookieLoginSettings {
    /// The endpoint, when cookie login is fully configured (cookie name and endpoint).
    pub fn configured_endpoint(&self) -> Option<&str> {
        self.cookie_name.as_ref()?;
        self.endpoint.as_deref()
    }

    /// The per-request timeout, clamped to the allowed range even if the stored value is not.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.clamp(1, MAX_TIMEOUT_MS))
    }

    /// The settings as shown to administrators (CLI, admin API, console): header
    /// values masked.
    pub fn view(&self) -> CookieLoginView {
        CookieLoginView {
            configured: self.configured_endpoint().is_some(),
            cookie_name: self.cookie_name.clone(),
            endpoint: self.endpoint.clone(),
            mapping: self.mapping.clone(),
            headers: self
                .headers
                .iter()
                .map(|h| HeaderView {
                    name: h.name.clone(),
                    value: h.value.masked(),
                })
                .collect(),
            timeout_ms: self.timeout_ms,
            reverify_interval: humantime::format_duration(Duration::from_millis(
                self.reverify_interval_ms,
            ))
            .to_string(),
            reverify_interval_s: self.reverify_interval_ms / 1000,
        }
    }
}

/// Cookie-login settings as administrators see them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CookieLoginView {
    /// Both the cookie name and the endpoint are set: cookie login works.
    pub configured: bool,
    pub cookie_name: Option<String>,
    pub endpoint: Option<String>,
    pub mapping: FieldMapping,
    /// Values are masked: `****`, with the last four characters of long values.
    pub headers: Vec<HeaderView>,
    pub timeout_ms: u64,
    /// The re-verify interval in words, e.g. `24h`.
    pub reverify_interval: String,
    pub reverify_interval_s: u64,
}

/// A custom header with its value masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HeaderView {
    pub name: String,
    pub value: String,
}

/// The fields of the endpoint's answer (SPEC §5.1), with their names on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Uid,
    DisplayName,
    Email,
    Error,
    PhotoUrl,
    SocialData,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Uid,
        Field::DisplayName,
        Field::Email,
        Field::Error,
        Field::PhotoUrl,
        Field::SocialData,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Uid => "uid",
            Field::DisplayName => "displayName",
            Field::Email => "email",
            Field::Error => "error",
            Field::PhotoUrl => "photoURL",
            Field::SocialData => "socialData",
        }
    }

    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Where each field is found in the endpoint's JSON: a dotted path (`user.id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct FieldMapping {
    pub uid: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
    pub email: String,
    pub error: String,
    #[serde(rename = "photoURL")]
    pub photo_url: String,
    #[serde(rename = "socialData")]
    pub social_data: String,
}

impl Default for FieldMapping {
    fn default() -> Self {
        Self {
            uid: Field::Uid.name().into(),
            display_name: Field::DisplayName.name().into(),
            email: Field::Email.name().into(),
            error: Field::Error.name().into(),
            photo_url: Field::PhotoUrl.name().into(),
            social_data: Field::SocialData.name().into(),
        }
    }
}

impl FieldMapping {
    pub fn path(&self, field: Field) -> &str {
        match field {
            Field::Uid => &self.uid,
            Field::DisplayName => &self.display_name,
            Field::Email => &self.email,
            Field::Error => &self.error,
            Field::PhotoUrl => &self.photo_url,
            Field::SocialData => &self.social_data,
        }
    }

    pub fn set(&mut self, field: Field, path: String) {
        let slot = match field {
            Field::Uid => &mut self.uid,
            Field::DisplayName => &mut self.display_name,
            Field::Email => &mut self.email,
            Field::Error => &mut self.error,
            Field::PhotoUrl => &mut self.photo_url,
            Field::SocialData => &mut self.social_data,
        };
        *slot = path;
    }
}

/// One custom header sent with every verification request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    pub name: String,
    pub value: HeaderSecret,
}

/// A header value the site uses to recognise us: stored (it must be sent as is),
/// but never shown back in full, not even in `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HeaderSecret(String);

impl HeaderSecret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear value, for the outgoing request only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `****` and, for long values, their last four characters (enough to tell two apart).
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() >= 16 {
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("****{tail}")
        } else {
            "****".to_string()
        }
    }
}

impl fmt::Debug for HeaderSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeaderSecret({})", self.masked())
    }
}

/// A cookie name: an RFC 6265 token (visible ASCII without separators).
pub fn cookie_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("the cookie name must not be empty".into());
    }
    if name.len() > MAX_COOKIE_NAME_CHARS {
        return Err(format!(
            "the cookie name must be at most {MAX_COOKIE_NAME_CHARS} characters"
        ));
    }
    let is_token_char = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
    if !name.chars().all(is_token_char) {
        return Err(format!(
            "{name:?} is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only)"
        ));
    }
    Ok(name.to_string())
}

/// The verification endpoint: an absolute http(s) URL without credentials or fragment.
/// Whether `http` and private addresses are allowed is the server's decision
/// (`--allow-private-endpoints`), checked on every request.
pub fn endpoint(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > MAX_ENDPOINT_CHARS {
        return Err(format!(
            "the cookie endpoint must be at most {MAX_ENDPOINT_CHARS} characters"
        ));
    }
    let bad = || {
        format!("{text:?} is not an absolute http(s) URL like https://www.example.com/users/validate?sid=")
    };
    let url = Url::parse(text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the cookie endpoint must not contain a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("the cookie endpoint must not contain a #fragment".into());
    }
    Ok(url.to_string())
}

/// A dotted path into the endpoint's JSON: 1–8 non-empty segments.
pub fn field_path(raw: &str) -> Result<String, String> {
    let path = raw.trim();
    if path.is_empty() || path.len() > MAX_PATH_CHARS {
        return Err(format!(
            "a mapping path must be 1 to {MAX_PATH_CHARS} characters"
        ));
    }
    if path.chars().any(char::is_control) {
        return Err("a mapping path must not contain control characters".into());
    }
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "mapping path {path:?} has an empty segment (write user.id, not user..id)"
        ));
    }
    if segments.len() > MAX_PATH_SEGMENTS {
        return Err(format!(
            "mapping path {path:?} is nested more than {MAX_PATH_SEGMENTS} levels deep"
        ));
    }
    Ok(path.to_string())
}

/// `FIELD=PATH`, e.g. `uid=user.id`.
pub fn map_arg(raw: &str) -> Result<(Field, String), String> {
    let Some((field, path)) = raw.split_once('=') else {
        return Err(format!(
            "mapping {raw:?} must look like FIELD=PATH, e.g. uid=user.id"
        ));
    };
    let field = Field::parse(field.trim()).ok_or_else(|| {
        format!("{:?} is not a mapped field; use uid, displayName, email, error, photoURL or socialData", field.trim())
    })?;
    Ok((field, field_path(path)?))
}

/// `Name: value`, e.g. `X-Tessera-Secret: 7c2f…`.
pub fn header_arg(raw: &str) -> Result<CustomHeader, String> {
    let Some((name, value)) = raw.split_once(':') else {
        return Err("a custom header must look like 'Name: value'".into());
    };
    header(name, value)
}

/// One custom header: a valid name the server does not set itself, a visible value.
pub fn header(name: &str, value: &str) -> Result<CustomHeader, String> {
    let name = name.trim();
    let value = value.trim();
    if name.is_empty()
        || name.len() > MAX_HEADER_NAME_CHARS
        || HeaderName::from_bytes(name.as_bytes()).is_err()
    {
        return Err(format!("{name:?} is not a valid header name"));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "header {name} is set by the server and cannot be configured"
        ));
    }
    if value.is_empty() {
        return Err(format!("the value of header {name} must not be empty"));
    }
    let visible = value
        .chars()
        .all(|c| c == ' ' || c == '\t' || c.is_ascii_graphic());
    if value.len() > MAX_HEADER_VALUE_CHARS || !visible || HeaderValue::from_str(value).is_err() {
        return Err(format!(
            "the value of header {name} must be 1 to {MAX_HEADER_VALUE_CHARS} visible ASCII characters"
        ));
    }
    Ok(CustomHeader {
        name: name.to_string(),
        value: HeaderSecret::new(value),
    })
}

/// A list of custom headers: no name twice, at most 20.
pub fn header_list(list: Vec<CustomHeader>) -> Result<Vec<CustomHeader>, String> {
    if list.len() > MAX_HEADERS {
        return Err(format!("at most {MAX_HEADERS} custom headers can be set"));
    }
    for (i, header) in list.iter().enumerate() {
        if list[..i]
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(&header.name))
        {
            return Err(format!("header {} is given more than once", header.name));
        }
    }
    Ok(list)
}

/// `Name: value` arguments as a list of custom headers.
pub fn headers(raw: &[String]) -> Result<Vec<CustomHeader>, String> {
    header_list(
        raw.iter()
            .map(|r| header_arg(r))
            .collect::<Result<_, _>>()?,
    )
}

pub fn timeout_ms(ms: u64) -> Result<u64, String> {
    if (1..=MAX_TIMEOUT_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(format!(
            "the cookie timeout must be 1 to {MAX_TIMEOUT_MS} milliseconds"
        ))
    }
}

pub fn reverify_interval(interval: Duration) -> Result<u64, String> {
    if (MIN_REVERIFY..=MAX_REVERIFY).contains(&interval) {
        Ok(u64::try_from(interval.as_millis()).unwrap_or(u64::MAX))
    } else {
        Err("the re-verify interval must be between 1 minute and 365 days".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names_are_tokens() {
        assert_eq!(
            cookie_name(" loggedinCookie_sid ").unwrap(),
            "loggedinCookie_sid"
        );
        for bad in ["", "a b", "a;b", "a=b", "ä", "a\"b", &"x".repeat(257)] {
            assert!(cookie_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn endpoints_are_absolute_http_urls() {
        assert_eq!(
            endpoint("https://site.example/users/validate?sid=").unwrap(),
            "https://site.example/users/validate?sid="
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8081/v?c=").unwrap(),
            "http://127.0.0.1:8081/v?c="
        );
        for bad in [
            "",
            "/users/validate",
            "ftp://site.example/",
            "https://user:pw@site.example/",
            "https://site.example/v#x",
            "javascript:alert(1)",
            &format!("https://site.example/{}", "a".repeat(2048)),
        ] {
            assert!(endpoint(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mapping_arguments() {
        assert_eq!(
            map_arg("uid=user.id").unwrap(),
            (Field::Uid, "user.id".into())
        );
        assert_eq!(
            map_arg("photoURL=profile.avatar.url").unwrap(),
            (Field::PhotoUrl, "profile.avatar.url".into())
        );
        for bad in [
            "uid",
            "name=x",
            "uid=",
            "uid=a..b",
            "uid=.a",
            "uid=a.",
            "uid=a.b.c.d.e.f.g.h.i",
        ] {
            assert!(map_arg(bad).is_err(), "{bad:?}");
        }
        assert!(map_arg(&format!("uid={}", "a".repeat(201))).is_err());
    }

    #[test]
    fn header_arguments() {
        let h = header_arg("X-Site-Secret:  s3cr3t-value-0123456789 ").unwrap();
        assert_eq!(h.name, "X-Site-Secret");
        assert_eq!(h.value.expose(), "s3cr3t-value-0123456789");
        for bad in [
            "no colon",
            ": value",
            "Bad Name: v",
            "Host: evil.example",
            "content-length: 5",
            "Connection: close",
            "Accept: text/html",
            "X-Empty:",
            "X-Ctl: a\u{7}b",
            "X-Utf8: é",
        ] {
            assert!(header_arg(bad).is_err(), "{bad:?}");
        }
        assert!(headers(&["X-A: 1".into(), "x-a: 2".into()]).is_err());
    }

    #[test]
    fn header_values_are_never_printed_in_full() {
        let h = header_arg("X-Site-Secret: abcdefghijklmnopqrstuvwxyz").unwrap();
        let debug = format!("{h:?}");
        assert!(!debug.contains("abcdefghijklmnop"), "{debug}");
        assert!(debug.contains("****wxyz"), "{debug}");
        let short = header_arg("X-Short: short").unwrap();
        assert_eq!(short.value.masked(), "****");
        let settings = CookieLoginSettings {
            headers: vec![h],
            ..CookieLoginSettings::default()
        };
        assert!(!format!("{settings:?}").contains("abcdefghijklmnop"));
        let view = serde_json::to_string(&settings.view()).unwrap();
        assert!(!view.contains("abcdefghijklmnop"), "{view}");
    }

    #[test]
    fn timeout_and_interval_bounds() {
        assert!(timeout_ms(0).is_err());
        assert_eq!(timeout_ms(1).unwrap(), 1);
        assert_eq!(timeout_ms(10_000).unwrap(), 10_000);
        assert!(timeout_ms(10_001).is_err());
        assert!(reverify_interval(Duration::from_secs(59)).is_err());
        assert_eq!(
            reverify_interval(Duration::from_secs(3600)).unwrap(),
            3_600_000
        );
        assert!(reverify_interval(Duration::from_secs(366 * 24 * 3600)).is_err());
    }

    #[test]
    fn stored_settings_without_new_fields_get_defaults() {
        let s: CookieLoginSettings =
            serde_json::from_str(r#"{"cookie_name":"sid","endpoint":"https://a.example/?s="}"#)
                .unwrap();
        assert_eq!(s.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(s.reverify_interval_ms, DEFAULT_REVERIFY_MS);
        assert_eq!(s.mapping, FieldMapping::default());
    }
}
