//! The rules of a user's profile fields, one definition for every flow that sets them:
//! the accounts API (SPEC §3.1), cookie login (§5.2) and the user's own change from the
//! widget (§6.1). Each flow decides what a failure means for it (a 400 naming its own
//! field, or a value the site sent that is dropped); the rule itself lives here.

use url::Url;

/// Longest display name, in characters (Unicode scalar values, so 255 emoji fit).
pub const MAX_DISPLAY_NAME_CHARS: usize = 255;
/// Longest photo URL, in characters.
pub const MAX_PHOTO_URL_CHARS: usize = 2048;

/// Why a display name is refused; the message completes a sentence that starts with
/// the caller's field name (`name must not be blank`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("must not be blank")]
    Blank,
    #[error("must be at most 255 characters")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacters,
}

/// A display name someone asserts: 1–255 characters after trimming, no control
/// characters (they have no place in a name shown to others); returned trimmed.
pub fn display_name(raw: &str) -> Result<String, NameProblem> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameProblem::Blank);
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(NameProblem::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(NameProblem::ControlCharacters);
    }
    Ok(name.to_string())
}

/// The URL schemes a photo may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoSchemes {
    /// What a site's verification endpoint may send (SPEC §5.2).
    HttpOrHttps,
    /// What a user may set from the widget: the avatar is shown on the site's pages,
    /// where an `http:` image would be mixed content and would reveal who looks at it.
    HttpsOnly,
}

/// A photo URL: absolute, with a host, the allowed scheme, at most 2048 characters
/// (before and after normalisation); returned normalised, `None` when refused.
pub fn photo_url(raw: &str, schemes: PhotoSchemes) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > MAX_PHOTO_URL_CHARS {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    let scheme_ok = match schemes {
        PhotoSchemes::HttpOrHttps => matches!(url.scheme(), "http" | "https"),
        PhotoSchemes::HttpsOnly => url.scheme() == "https",
    };
    let ok = scheme_ok
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.as_str().len() <= MAX_PHOTO_URL_CHARS;
    ok.then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_trimmed_and_bounded_by_characters() {
        assert_eq!(display_name("  John Doe ").unwrap(), "John Doe");
        assert!(display_name(&"😀".repeat(255)).is_ok());
        assert_eq!(display_name(&"😀".repeat(256)), Err(NameProblem::TooLong));
        assert_eq!(display_name(" \t "), Err(NameProblem::Blank));
        assert_eq!(display_name("a\nb"), Err(NameProblem::ControlCharacters));
    }

    #[test]
    fn photo_urls_follow_the_scheme_policy() {
        let https = "https://img.example/a.png";
        let http = "http://img.example/a.png";
        assert_eq!(
            photo_url(https, PhotoSchemes::HttpsOnly).as_deref(),
            Some(https)
        );
        assert_eq!(
            photo_url(http, PhotoSchemes::HttpOrHttps).as_deref(),
            Some(http)
        );
        assert_eq!(photo_url(http, PhotoSchemes::HttpsOnly), None);
        for bad in [
            "",
            "/a.png",
            "img.example/a.png",
            "javascript:alert(1)",
            "data:image/png,x",
            "https://",
        ] {
            assert_eq!(photo_url(bad, PhotoSchemes::HttpOrHttps), None, "{bad}");
        }
        let longest = format!(
            "https://img.example/{}",
            "a".repeat(MAX_PHOTO_URL_CHARS - 20)
        );
        assert!(photo_url(&longest, PhotoSchemes::HttpsOnly).is_some());
        let too_long = format!("{longest}a");
        assert_eq!(photo_url(&too_long, PhotoSchemes::HttpsOnly), None);
    }
}
