//! Strict parsing of request parameters from form-encoded or JSON bodies.
//!
//! axum's `Form`/`Json` extractors answer bad input with plain-text errors, and
//! form parsing there is lossy (invalid UTF-8 becomes U+FFFD) and silently keeps
//! one of duplicated parameters. Identity endpoints need the opposite: reject
//! anything ambiguous, in the JSON error shape of their API family.

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap};
use bytes::Bytes;

/// Why parameters could not be read; each message is one sentence for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the request body must be application/x-www-form-urlencoded")]
    NotForm,
    #[error("the request body must be application/x-www-form-urlencoded or application/json")]
    UnsupportedContentType,
    #[error("the request body is not valid UTF-8")]
    InvalidUtf8,
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the JSON body must be an object of strings and numbers")]
    JsonNotFlat,
    #[error("parameter {0} is given more than once")]
    Duplicate(String),
}

/// Request parameters by name, each present at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter treated as absent when empty (RFC 6749 §3.1: empty means omitted).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The first parameter not in `known`, for endpoints that refuse unknown fields
    /// (a misspelt field must not be silently ignored).
    pub fn unknown<'a>(&'a self, known: &[&str]) -> Option<&'a str> {
        self.0
            .keys()
            .map(String::as_str)
            .find(|name| !known.contains(name))
    }

    /// Adds every parameter of `later`, replacing ones of the same name.
    pub fn overlay(&mut self, later: Params) {
        self.0.extend(later.0);
    }

    /// Parses `application/x-www-form-urlencoded` text strictly.
    pub fn from_urlencoded(body: &[u8]) -> Result<Self, FormError> {
        let mut params = BTreeMap::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            if params.contains_key(&name) {
                return Err(FormError::Duplicate(name));
            }
            params.insert(name, value);
        }
        Ok(Self(params))
    }

    /// Parses a flat JSON object; numbers and booleans become their text.
    pub fn from_json(body: &[u8]) -> Result<Self, FormError> {
        let text = std::str::from_utf8(body).map_err(|_| FormError::InvalidUtf8)?;
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| FormError::InvalidJson(e.to_string()))?;
        let serde_json::Value::Object(object) = value else {
            return Err(FormError::JsonNotFlat);
        };
        let mut params = BTreeMap::new();
        for (name, value) in object {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                // JSON null is the same as leaving the field out.
                serde_json::Value::Null => continue,
                _ => return Err(FormError::JsonNotFlat),
            };
            params.insert(name, text);
        }
        // serde_json keeps the last of duplicated keys silently; an identity endpoint
        // must not guess which `id` was meant. (Checked once the object is known flat.)
        if let Some(name) = first_duplicate_key(text) {
            return Err(FormError::Duplicate(name));
        }
        Ok(Self(params))
    }

    /// A form body; an empty body without a content type is an empty form.
    pub fn from_form_body(headers: &HeaderMap, body: &Bytes) -> Result<Self, FormError> {
        match body_kind(headers) {
            BodyKind::Form => Self::from_urlencoded(body),
            BodyKind::Absent if body.is_empty() => Ok(Self::default()),
            _ => Err(FormError::NotForm),
        }
    }

    /// A form or JSON body, chosen by `Content-Type`.
    pub fn from_form_or_json_body(headers: &HeaderMap, body: &Bytes) -> Result<Self, FormError> {
        match body_kind(headers) {
            BodyKind::Form => Self::from_urlencoded(body),
            BodyKind::Json => Self::from_json(body),
            BodyKind::Absent if body.is_empty() => Ok(Self::default()),
            _ => Err(FormError::UnsupportedContentType),
        }
    }
}

/// Parses JSON strictly: the first error names its path (`cookie_login.timeout_ms:
/// invalid type…`), duplicate keys are refused.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, super::ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| invalid_json_request("the request body is not valid UTF-8"))?;
    // serde_json keeps the last of duplicated keys silently; refuse them instead.
    if let Some(key) = first_duplicate_key(text) {
        return Err(invalid_json_request(format!("{key}: given more than once")));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde_json appends " at line L column C", which says nothing to the caller.
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        if path == "." || path.is_empty() {
            invalid_json_request(format!("the request body is not valid: {message}"))
        } else {
            invalid_json_request(format!("{path}: {message}"))
        }
    })?;
    de.end().map_err(|_| {
        invalid_json_request("the request body has trailing characters after the JSON value")
    })?;
    Ok(value)
}

fn invalid_json_request(description: impl Into<std::borrow::Cow<'static, str>>) -> super::ApiError {
    super::ApiError::bad_request("invalid_request", description)
}

/// The first key that appears twice in one JSON object, at any depth, with its path
/// (`cookie_login.timeout_ms`); `None` for valid JSON without one (or invalid JSON,
/// which the caller's parse then refuses).
pub fn first_duplicate_key(text: &str) -> Option<String> {
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    struct Walk(Option<String>);
    impl<'de> Deserialize<'de> for Walk {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(WalkVisitor)
        }
    }
    struct WalkVisitor;
    impl<'de> Visitor<'de> for WalkVisitor {
        type Value = Walk;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Walk, A::Error> {
            let mut seen = std::collections::BTreeSet::new();
            let mut duplicate = None;
            while let Some(key) = map.next_key::<String>()? {
                let inner: Walk = map.next_value()?;
                if duplicate.is_some() {
                    continue;
                }
                if !seen.insert(key.clone()) {
                    duplicate = Some(key);
                } else if let Some(path) = inner.0 {
                    duplicate = Some(format!("{key}.{path}"));
                }
            }
            Ok(Walk(duplicate))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Walk, A::Error> {
            let mut duplicate = None;
            let mut index = 0;
            while let Some(inner) = seq.next_element::<Walk>()? {
                if duplicate.is_none() {
                    duplicate = inner.0.map(|path| format!("[{index}].{path}"));
                }
                index += 1;
            }
            Ok(Walk(duplicate))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Walk, E> {
            Ok(Walk(None))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Walk, E> {
            Ok(Walk(None))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Walk, E> {
            Ok(Walk(None))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Walk, E> {
            Ok(Walk(None))
        }
        fn visit_str<E>(self, _: &str) -> Result<Walk, E> {
            Ok(Walk(None))
        }
        fn visit_unit<E>(self) -> Result<Walk, E> {
            Ok(Walk(None))
        }
    }
    serde_json::from_str::<Walk>(text).ok().and_then(|w| w.0)
}

enum BodyKind {
    Form,
    Json,
    Absent,
    Other,
}

fn body_kind(headers: &HeaderMap) -> BodyKind {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return BodyKind::Absent;
    };
    let Ok(value) = value.to_str() else {
        return BodyKind::Other;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => BodyKind::Form,
        "application/json" => BodyKind::Json,
        _ if essence.starts_with("application/") && essence.ends_with("+json") => BodyKind::Json,
        _ => BodyKind::Other,
    }
}

/// `+` is a space, `%XX` a byte; the decoded bytes must be UTF-8.
pub fn decode_component(raw: &[u8]) -> Result<String, FormError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| FormError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let p = Params::from_urlencoded(b"a=b+c&d=%C3%A9%2B&e").unwrap();
        assert_eq!(p.get("a"), Some("b c"));
        assert_eq!(p.get("d"), Some("é+"));
        assert_eq!(p.get("e"), Some(""));
        assert_eq!(p.non_empty("e"), None);
    }

    #[test]
    fn rejects_duplicates_and_bad_utf8() {
        assert_eq!(
            Params::from_urlencoded(b"a=1&a=2"),
            Err(FormError::Duplicate("a".into()))
        );
        assert_eq!(
            Params::from_urlencoded(b"a=%FF"),
            Err(FormError::InvalidUtf8)
        );
        assert_eq!(
            Params::from_urlencoded(b"a=\xff"),
            Err(FormError::InvalidUtf8)
        );
    }

    #[test]
    fn json_objects_are_flattened_to_text() {
        let p =
            Params::from_json(r#"{"id": 42, "name": "Zoë", "email": null}"#.as_bytes()).unwrap();
        assert_eq!(p.get("id"), Some("42"));
        assert_eq!(p.get("name"), Some("Zoë"));
        assert!(!p.contains("email"));
        assert_eq!(
            Params::from_json(br#"{"id": {"x": 1}}"#),
            Err(FormError::JsonNotFlat)
        );
        assert_eq!(Params::from_json(b"[1]"), Err(FormError::JsonNotFlat));
        assert!(matches!(
            Params::from_json(b"{"),
            Err(FormError::InvalidJson(_))
        ));
    }

    #[test]
    fn duplicated_json_keys_are_refused() {
        assert_eq!(
            Params::from_json(br#"{"id": "a", "name": "N", "id": "b"}"#),
            Err(FormError::Duplicate("id".into()))
        );
        // Nested keys are not parameters.
        assert_eq!(
            Params::from_json(br#"{"a": {"k": 1, "k": 2}}"#),
            Err(FormError::JsonNotFlat)
        );
        assert!(Params::from_json(br#"{"id": "a", "name": "N"}"#).is_ok());
    }

    #[test]
    fn content_type_decides_the_parser() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        let body = Bytes::from_static(br#"{"a":"b"}"#);
        assert_eq!(
            Params::from_form_or_json_body(&headers, &body)
                .unwrap()
                .get("a"),
            Some("b")
        );
        assert_eq!(
            Params::from_form_body(&headers, &body),
            Err(FormError::NotForm)
        );
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(
            Params::from_form_or_json_body(&headers, &body),
            Err(FormError::UnsupportedContentType)
        );
    }
}
