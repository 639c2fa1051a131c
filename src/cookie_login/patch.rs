//! A change to a site's cookie-login settings, as the admin API receives it and as
//! `tessera site configure` builds it from its flags: one type, one validation, so
//! every entry point refuses the same input with the same sentence.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::http::outgoing::EndpointPolicy;
use crate::settings::cookie_login::{self as settings, CookieLoginSettings, CustomHeader, Field};

/// The value that stands for "keep the stored value" in a header list (what `GET`
/// shows instead of the value).
pub const KEEP_VALUE: &str = "****";

/// Fields to change; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CookieLoginPatch {
    /// The site's cookie the embed script reads.
    #[schema(max_length = 256)]
    pub cookie_name: Option<String>,
    /// Absolute URL the URL-encoded cookie value is appended to; `""` turns cookie login off.
    #[schema(max_length = 2048)]
    pub endpoint: Option<String>,
    /// Field → dotted path in the endpoint's JSON (`{"uid": "user.id"}`); fields not
    /// named keep their path.
    pub mapping: Option<BTreeMap<String, String>>,
    /// Replaces the custom headers; a value of `****` (or the masked value `GET`
    /// shows) keeps the stored value of the header with that name.
    pub headers: Option<Vec<HeaderEntry>>,
    #[schema(minimum = 1, maximum = 10000)]
    pub timeout_ms: Option<u64>,
    #[schema(minimum = 60, maximum = 31536000)]
    pub reverify_interval_s: Option<u64>,
}

/// One custom header of a patch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderEntry {
    pub name: String,
    pub value: String,
}

/// A refused patch: the field at fault (as named in the admin API) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl CookieLoginPatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Validates every field against the stored settings (for kept header values)
    /// and applies them to a copy; the caller stores the copy.
    pub fn apply_to(
        &self,
        current: Option<&CookieLoginSettings>,
        policy: EndpointPolicy,
    ) -> Result<Option<CookieLoginSettings>, FieldError> {
        if self.is_empty() {
            return Ok(current.cloned());
        }
        let field = |name: &str| format!("cookie_login.{name}");
        let mut next = current.cloned().unwrap_or_default();
        if let Some(name) = &self.cookie_name {
            next.cookie_name = Some(
                settings::cookie_name(name)
                    .map_err(|m| FieldError::new(field("cookie_name"), m))?,
            );
        }
        if let Some(raw) = &self.endpoint {
            next.endpoint = if raw.trim().is_empty() {
                None
            } else {
                let endpoint =
                    settings::endpoint(raw).map_err(|m| FieldError::new(field("endpoint"), m))?;
                policy
                    .check(&endpoint)
                    .map_err(|m| FieldError::new(field("endpoint"), m))?;
                Some(endpoint)
            };
        }
        if let Some(mapping) = &self.mapping {
            for (name, path) in mapping {
                let at = field(&format!("mapping.{name}"));
                let f = Field::parse(name).ok_or_else(|| {
                    FieldError::new(&at, format!("{name:?} is not a mapped field; use uid, displayName, email, error, photoURL or socialData"))
                })?;
                let path = settings::field_path(path).map_err(|m| FieldError::new(&at, m))?;
                next.mapping.set(f, path);
            }
        }
        if let Some(entries) = &self.headers {
            let mut list = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                let at = field(&format!("headers[{i}]"));
                list.push(header_entry(entry, current, &at)?);
            }
            next.headers =
                settings::header_list(list).map_err(|m| FieldError::new(field("headers"), m))?;
        }
        if let Some(ms) = self.timeout_ms {
            next.timeout_ms =
                settings::timeout_ms(ms).map_err(|m| FieldError::new(field("timeout_ms"), m))?;
        }
        if let Some(s) = self.reverify_interval_s {
            next.reverify_interval_ms =
                settings::reverify_interval(std::time::Duration::from_secs(s))
                    .map_err(|m| FieldError::new(field("reverify_interval_s"), m))?;
        }
        Ok(Some(next))
    }
}

/// A header of a patch; a masked value keeps the stored one of the same name.
fn header_entry(
    entry: &HeaderEntry,
    current: Option<&CookieLoginSettings>,
    at: &str,
) -> Result<CustomHeader, FieldError> {
    if entry.value.starts_with(KEEP_VALUE) {
        let stored = current
            .into_iter()
            .flat_map(|c| c.headers.iter())
            .find(|h| h.name.eq_ignore_ascii_case(entry.name.trim()))
            .filter(|h| h.value.masked() == entry.value || entry.value == KEEP_VALUE);
        return stored.cloned().ok_or_else(|| {
            FieldError::new(
                at,
                format!(
                    "{KEEP_VALUE} keeps a stored value, but no header {:?} is stored; give its value",
                    entry.name.trim()
                ),
            )
        });
    }
    settings::header(&entry.name, &entry.value).map_err(|m| FieldError::new(at, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: EndpointPolicy = EndpointPolicy {
        allow_private: true,
    };
    const STRICT: EndpointPolicy = EndpointPolicy {
        allow_private: false,
    };

    fn patch(json: &str) -> CookieLoginPatch {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_empty_patch_changes_nothing() {
        assert_eq!(patch("{}").apply_to(None, OPEN).unwrap(), None);
    }

    #[test]
    fn fields_apply_and_keep_the_rest() {
        let first = patch(r#"{"cookie_name":"sid","mapping":{"uid":"user.id"}}"#)
            .apply_to(None, OPEN)
            .unwrap()
            .unwrap();
        assert_eq!(first.cookie_name.as_deref(), Some("sid"));
        assert_eq!(first.mapping.uid, "user.id");
        assert_eq!(first.mapping.email, "email");
        assert_eq!(first.configured_endpoint(), None);
        let second = patch(r#"{"endpoint":"https://site.example/v?sid="}"#)
            .apply_to(Some(&first), STRICT)
            .unwrap()
            .unwrap();
        assert_eq!(
            second.configured_endpoint(),
            Some("https://site.example/v?sid=")
        );
        assert_eq!(second.mapping.uid, "user.id");
        let off = patch(r#"{"endpoint":""}"#)
            .apply_to(Some(&second), STRICT)
            .unwrap()
            .unwrap();
        assert_eq!(off.configured_endpoint(), None);
    }

    #[test]
    fn errors_name_the_field() {
        for (json, field) in [
            (r#"{"cookie_name":"a b"}"#, "cookie_login.cookie_name"),
            (r#"{"endpoint":"ftp://x"}"#, "cookie_login.endpoint"),
            (
                r#"{"endpoint":"http://site.example/v"}"#,
                "cookie_login.endpoint",
            ),
            (
                r#"{"endpoint":"https://10.0.0.1/v"}"#,
                "cookie_login.endpoint",
            ),
            (r#"{"mapping":{"name":"x"}}"#, "cookie_login.mapping.name"),
            (r#"{"mapping":{"uid":"a..b"}}"#, "cookie_login.mapping.uid"),
            (
                r#"{"headers":[{"name":"Host","value":"x"}]}"#,
                "cookie_login.headers[0]",
            ),
            (
                r#"{"headers":[{"name":"X-A","value":"****"}]}"#,
                "cookie_login.headers[0]",
            ),
            (
                r#"{"headers":[{"name":"X-A","value":"1"},{"name":"x-a","value":"2"}]}"#,
                "cookie_login.headers",
            ),
            (r#"{"timeout_ms":0}"#, "cookie_login.timeout_ms"),
            (
                r#"{"reverify_interval_s":5}"#,
                "cookie_login.reverify_interval_s",
            ),
        ] {
            let error = patch(json).apply_to(None, STRICT).unwrap_err();
            assert_eq!(error.field, field, "{json}: {error}");
        }
        assert!(serde_json::from_str::<CookieLoginPatch>(r#"{"cookie":"x"}"#).is_err());
    }

    #[test]
    fn masked_header_values_keep_the_stored_ones() {
        let stored =
            patch(r#"{"headers":[{"name":"X-Secret","value":"abcdefghijklmnopqrstuvwxyz"}]}"#)
                .apply_to(None, OPEN)
                .unwrap()
                .unwrap();
        for kept in ["****", "****wxyz"] {
            let json = format!(
                r#"{{"headers":[{{"name":"x-secret","value":"{kept}"}},{{"name":"X-New","value":"v"}}]}}"#
            );
            let next = patch(&json).apply_to(Some(&stored), OPEN).unwrap().unwrap();
            assert_eq!(next.headers[0].value.expose(), "abcdefghijklmnopqrstuvwxyz");
            assert_eq!(next.headers[1].value.expose(), "v");
        }
        assert!(
            patch(r#"{"headers":[{"name":"X-Secret","value":"****abcd"}]}"#)
                .apply_to(Some(&stored), OPEN)
                .is_err()
        );
    }
}
