//! Validation of administrator input (site names, origins, labels, user fields).

use url::Url;

/// A site name: 1–100 characters after trimming, no control characters.
pub fn site_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("the site name must not be empty".into());
    }
    if name.chars().count() > 100 {
        return Err("the site name must be at most 100 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("the site name must not contain control characters".into());
    }
    Ok(name.to_string())
}

/// A key label: at most 100 characters, no control characters (may be empty).
pub fn key_label(raw: &str) -> Result<String, String> {
    let label = raw.trim();
    if label.chars().count() > 100 {
        return Err("the key label must be at most 100 characters".into());
    }
    if label.chars().any(char::is_control) {
        return Err("the key label must not contain control characters".into());
    }
    Ok(label.to_string())
}

/// A web origin as browsers send it: `scheme://host[:port]`, http(s), nothing else.
/// Returned in its serialised form (lower-case host, default port dropped).
pub fn origin(raw: &str) -> Result<String, String> {
    let bad = || format!("{raw:?} is not a web origin like https://www.example.com");
    let url = Url::parse(raw.trim()).map_err(|_| bad())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

/// Validates and de-duplicates a list of origins, keeping their order.
pub fn origins(raw: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for r in raw {
        let o = origin(r)?;
        if !out.contains(&o) {
            out.push(o);
        }
    }
    Ok(out)
}

/// A trimmed text field within `min..=max` characters, without control characters.
pub fn text_field(what: &str, raw: &str, min: usize, max: usize) -> Result<String, String> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars < min {
        return Err(format!("the {what} must not be empty"));
    }
    if chars > max {
        return Err(format!("the {what} must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("the {what} must not contain control characters"));
    }
    Ok(text.to_string())
}

/// A local user name: 1–150 characters, no spaces.
pub fn username(raw: &str) -> Result<String, String> {
    let name = text_field("user name", raw, 1, 150)?;
    if name.chars().any(char::is_whitespace) {
        return Err("the user name must not contain spaces".into());
    }
    Ok(name)
}

/// An email address as far as it can be checked without sending mail.
pub fn email(raw: &str) -> Result<String, String> {
    let email = text_field("email", raw, 3, 254)?;
    let plausible = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !plausible || email.chars().any(char::is_whitespace) {
        return Err(format!("{email:?} is not an email address"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            origin("https://Example.COM").unwrap(),
            "https://example.com"
        );
        assert_eq!(
            origin("https://example.com:443/").unwrap(),
            "https://example.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
    }

    #[test]
    fn non_origins_are_refused() {
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://example.com/path",
            "https://user@example.com",
            "https://example.com?q=1",
            "javascript:alert(1)",
            "",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_labels() {
        assert_eq!(site_name("  Daily News ").unwrap(), "Daily News");
        assert!(site_name(" ").is_err());
        assert!(site_name(&"x".repeat(101)).is_err());
        assert!(site_name("a\nb").is_err());
        assert_eq!(key_label("").unwrap(), "");
        assert!(key_label("\u{7}").is_err());
    }

    #[test]
    fn user_fields() {
        assert_eq!(username(" ann ").unwrap(), "ann");
        assert!(username("a b").is_err());
        assert!(username("").is_err());
        assert_eq!(email("ann@example.com").unwrap(), "ann@example.com");
        for bad in ["ann", "@example.com", "ann@example", "a n@example.com"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
