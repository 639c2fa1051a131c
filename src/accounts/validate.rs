//! The fields of the accounts API (SPEC §3.1). Each failure is one sentence that names
//! the field, answered as 400 `invalid_request`.

use crate::http::form::Params;
use crate::http::ApiError;
use crate::oauth2::error::invalid_request;
use crate::profile;

/// Longest `id` and `email`, in characters (Unicode scalar values).
pub const MAX_CHARS: usize = 255;

/// Values that a site's template emits when it has no user id; never a real id.
const PLACEHOLDER_IDS: [&str; 5] = ["null", "none", "nil", "undefined", "blank"];

/// The site's own user id: 1–255 characters, no control characters, no surrounding
/// whitespace (an id is compared exactly, so `"42 "` would silently be another user),
/// and not a placeholder such as `null` (any case).
pub fn external_id(params: &Params) -> Result<String, ApiError> {
    let id = params
        .non_empty("id")
        .ok_or_else(|| invalid_request("id is required"))?;
    if id.chars().count() > MAX_CHARS {
        return Err(invalid_request("id must be at most 255 characters"));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid_request("id must not contain control characters"));
    }
    let trimmed = id.trim();
    if trimmed.is_empty() {
        return Err(invalid_request("id must not be blank"));
    }
    if PLACEHOLDER_IDS
        .iter()
        .any(|p| trimmed.eq_ignore_ascii_case(p))
    {
        return Err(invalid_request(format!(
            "id must be the site's user id, not the placeholder {trimmed:?}"
        )));
    }
    if trimmed.len() != id.len() {
        return Err(invalid_request("id must not start or end with whitespace"));
    }
    Ok(id.to_string())
}

/// The display name (SPEC §3.1, the rule of [`profile::display_name`]); trimmed.
pub fn display_name(params: &Params) -> Result<String, ApiError> {
    let raw = params
        .get("name")
        .ok_or_else(|| invalid_request("name is required"))?;
    profile::display_name(raw).map_err(|problem| invalid_request(format!("name {problem}")))
}

/// The optional email: at most 255 characters, shaped like `local@domain`; trimmed.
/// Absent or empty means the user has no email (the login carries the whole profile).
pub fn email(params: &Params) -> Result<Option<String>, ApiError> {
    let Some(raw) = params.get("email") else {
        return Ok(None);
    };
    let email = raw.trim();
    if email.is_empty() {
        return Ok(None);
    }
    if email.chars().count() > MAX_CHARS {
        return Err(invalid_request("email must be at most 255 characters"));
    }
    if !looks_like_email(email) {
        return Err(invalid_request("email must look like local@domain"));
    }
    Ok(Some(email.to_string()))
}

/// `local@domain`: one `@`, a non-empty local part, a domain of non-empty dot-separated
/// labels, no whitespace or control characters anywhere. Deliverability is the site's
/// business; this only keeps obvious garbage out.
fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let clean = |s: &str| !s.chars().any(|c| c.is_whitespace() || c.is_control());
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && clean(local)
        && clean(domain)
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        Params::from_urlencoded(body.as_bytes()).unwrap()
    }

    fn description(e: ApiError) -> String {
        match e {
            ApiError::Client { description, .. } => description.into_owned(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn ids() {
        assert_eq!(external_id(&params(&[("id", "42")])).unwrap(), "42");
        assert_eq!(
            external_id(&params(&[("id", &"é".repeat(255))])).unwrap(),
            "é".repeat(255)
        );
        for (bad, needle) in [
            ("", "id is required"),
            (" ", "blank"),
            (" NuLL ", "placeholder"),
            ("Undefined", "placeholder"),
            ("a\u{0}b", "control"),
            ("a\tb", "control"),
            (" 42", "whitespace"),
        ] {
            let e = description(external_id(&params(&[("id", bad)])).unwrap_err());
            assert!(e.contains(needle), "{bad:?}: {e}");
            assert!(e.starts_with("id "), "{e}");
        }
        assert!(external_id(&params(&[("id", &"x".repeat(256))])).is_err());
        assert!(external_id(&params(&[])).is_err());
        // "nullable" is not a placeholder.
        assert!(external_id(&params(&[("id", "nullable")])).is_ok());
    }

    #[test]
    fn names() {
        assert_eq!(
            display_name(&params(&[("name", "  John Doe ")])).unwrap(),
            "John Doe"
        );
        assert!(display_name(&params(&[("name", &"😀".repeat(255))])).is_ok());
        assert!(display_name(&params(&[("name", &"😀".repeat(256))])).is_err());
        assert!(display_name(&params(&[("name", "   ")])).is_err());
        assert!(display_name(&params(&[("name", "a\nb")])).is_err());
        assert!(display_name(&params(&[])).is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            email(&params(&[("email", " jd@example.com ")])).unwrap(),
            Some("jd@example.com".into())
        );
        assert_eq!(email(&params(&[("email", "")])).unwrap(), None);
        assert_eq!(email(&params(&[])).unwrap(), None);
        assert!(email(&params(&[("email", "root@localhost")])).is_ok());
        for bad in [
            "jd",
            "@example.com",
            "jd@",
            "jd@@example.com",
            "j d@example.com",
            "jd@example..com",
            "jd@.example.com",
            "jd@example.com.",
        ] {
            assert!(email(&params(&[("email", bad)])).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(244));
        assert!(email(&params(&[("email", &long)])).is_err());
    }
}
