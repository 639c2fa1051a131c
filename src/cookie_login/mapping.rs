//! From the endpoint's JSON answer to a profile (SPEC §5.2 steps 4–5): pure
//! functions, so every rule is unit-tested without a network.

use serde_json::Value;

use crate::profile::{self, PhotoSchemes, MAX_DISPLAY_NAME_CHARS};
use crate::settings::cookie_login::{Field, FieldMapping};
use crate::store::users::SsoProfile;

pub const MAX_UID_CHARS: usize = 255;
pub const MAX_EMAIL_CHARS: usize = 255;
pub const MAX_SOCIAL_DATA_BYTES: usize = 16 * 1024;
/// How much of the site's error message is kept in the audit log.
const MAX_SITE_MESSAGE_CHARS: usize = 500;

/// The profile the site asserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedProfile {
    pub uid: String,
    pub display_name: String,
    pub email: String,
    pub photo_url: Option<String>,
    /// Serialized JSON.
    pub social_data: Option<String>,
}

impl MappedProfile {
    /// The profile as the site asserts it: the whole truth, so a field it no longer
    /// sends is cleared (cookie login, ID tokens, signed tokens).
    pub fn asserted(self) -> SsoProfile {
        SsoProfile {
            external_id: self.uid,
            display_name: self.display_name,
            email: Some(self.email),
            photo_url: self.photo_url,
            social_data: self.social_data,
            replace_all: true,
        }
    }
}

/// A required field the answer lacks or gets wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field} ({path}) of the verification answer {problem}")]
pub struct InvalidField {
    pub field: &'static str,
    pub path: String,
    pub problem: &'static str,
}

/// The value at a dotted path (`user.id`) inside nested objects.
pub fn lookup<'a>(answer: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(answer, |value, segment| value.as_object()?.get(segment))
}

/// The site's refusal, if its answer carries one: `error` that is present and
/// not empty. Fails closed: anything but null, `""` or `false` is a refusal.
pub fn site_error(answer: &Value, mapping: &FieldMapping) -> Option<String> {
    let message = match lookup(answer, mapping.path(Field::Error))? {
        Value::Null | Value::Bool(false) => return None,
        Value::String(s) if s.is_empty() => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(message.chars().take(MAX_SITE_MESSAGE_CHARS).collect())
}

/// Applies the mapping; a missing or invalid required field names itself.
pub fn map_profile(answer: &Value, mapping: &FieldMapping) -> Result<MappedProfile, InvalidField> {
    map_fields(answer, |field| Some(mapping.path(field)))
}

/// The profile at `path(field)` of each field in a JSON object (an endpoint's
/// answer, a token's claims), by the rules of SPEC §5.2 step 5; a field whose path
/// is `None` is not mapped (absent). Every flow that maps a site's assertion to a
/// profile goes through here, so they all keep and refuse the same values.
pub fn map_fields<'p>(
    answer: &Value,
    path: impl Fn(Field) -> Option<&'p str>,
) -> Result<MappedProfile, InvalidField> {
    let invalid = |field: Field, problem: &'static str| InvalidField {
        field: field.name(),
        path: path(field).unwrap_or_default().to_string(),
        problem,
    };
    if !answer.is_object() {
        return Err(invalid(
            Field::Uid,
            "is missing: the answer is not a JSON object",
        ));
    }
    let get = |field: Field| {
        path(field)
            .and_then(|p| lookup(answer, p))
            .filter(|v| !v.is_null())
    };

    let uid = match get(Field::Uid) {
        None => return Err(invalid(Field::Uid, "is missing")),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => number_text(n),
        Some(_) => return Err(invalid(Field::Uid, "must be a string or a number")),
    };
    if uid.trim().is_empty() {
        return Err(invalid(Field::Uid, "is empty"));
    }
    if uid.chars().count() > MAX_UID_CHARS {
        return Err(invalid(Field::Uid, "is longer than 255 characters"));
    }
    if uid.chars().any(char::is_control) {
        return Err(invalid(Field::Uid, "contains control characters"));
    }

    let email = match get(Field::Email) {
        None => return Err(invalid(Field::Email, "is missing")),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(invalid(Field::Email, "must be a string")),
    };
    if email.is_empty() {
        return Err(invalid(Field::Email, "is empty"));
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid(Field::Email, "is longer than 255 characters"));
    }
    let Some(local_part) = email_local_part(&email) else {
        return Err(invalid(Field::Email, "is not an email address"));
    };

    let given_name = match get(Field::DisplayName) {
        None => String::new(),
        Some(Value::String(s)) => clean_name(s),
        Some(Value::Number(n)) => number_text(n),
        Some(_) => return Err(invalid(Field::DisplayName, "must be a string")),
    };
    let name = if given_name.is_empty() {
        local_part.to_string()
    } else {
        given_name
    };

    Ok(MappedProfile {
        uid,
        display_name: truncate_chars(&name, MAX_DISPLAY_NAME_CHARS),
        email,
        photo_url: get(Field::PhotoUrl)
            .and_then(Value::as_str)
            .and_then(|url| profile::photo_url(url, PhotoSchemes::HttpOrHttps)),
        social_data: get(Field::SocialData).and_then(social_data),
    })
}

/// Integers as integers: `75453` and `75453.0` are both "75453".
fn number_text(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && f.fract() == 0.0 => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

/// `local@domain`: both parts non-empty, no spaces or control characters.
fn email_local_part(email: &str) -> Option<&str> {
    let (local, domain) = email.rsplit_once('@')?;
    let plain = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    (plain(local) && plain(domain) && !domain.contains('@')).then_some(local)
}

/// Trimmed, control characters removed (they have no place in a shown name).
fn clean_name(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

/// The first `max` characters (Unicode scalar values, never a split UTF-8 sequence).
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// Kept only if its JSON is at most 16 KiB; an empty string counts as absent.
fn social_data(value: &Value) -> Option<String> {
    if matches!(value, Value::String(s) if s.is_empty()) {
        return None;
    }
    let text = value.to_string();
    (text.len() <= MAX_SOCIAL_DATA_BYTES).then_some(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(answer: Value) -> Result<MappedProfile, InvalidField> {
        map_profile(&answer, &FieldMapping::default())
    }

    fn base() -> Value {
        json!({"uid": "75453", "displayName": "Ironman", "email": "tony@stark.example", "error": ""})
    }

    #[test]
    fn the_seed_example_maps() {
        let mut answer = base();
        answer["photoURL"] = json!("https://img.example/t.png");
        answer["socialData"] = json!([{"social": "data"}]);
        let p = map(answer).unwrap();
        assert_eq!(p.uid, "75453");
        assert_eq!(p.display_name, "Ironman");
        assert_eq!(p.email, "tony@stark.example");
        assert_eq!(p.photo_url.as_deref(), Some("https://img.example/t.png"));
        assert_eq!(p.social_data.as_deref(), Some(r#"[{"social":"data"}]"#));
    }

    #[test]
    fn nested_paths() {
        let answer = json!({"user": {"id": 7, "profile": {"name": "Zoë", "mail": "z@x.example"}}, "status": {"error": null}});
        let mapping = FieldMapping {
            uid: "user.id".into(),
            display_name: "user.profile.name".into(),
            email: "user.profile.mail".into(),
            error: "status.error".into(),
            ..FieldMapping::default()
        };
        let p = map_profile(&answer, &mapping).unwrap();
        assert_eq!((p.uid.as_str(), p.display_name.as_str()), ("7", "Zoë"));
        assert_eq!(site_error(&answer, &mapping), None);
        assert_eq!(lookup(&answer, "user.id.deeper"), None);
        assert_eq!(lookup(&answer, "user.nothing"), None);
    }

    #[test]
    fn uid_numbers_render_without_fraction() {
        for (uid, text) in [
            (json!(75453), "75453"),
            (json!(75453.0), "75453"),
            (json!(-3), "-3"),
            (json!(18446744073709551615u64), "18446744073709551615"),
            (json!(1.5), "1.5"),
        ] {
            let mut a = base();
            a["uid"] = uid;
            assert_eq!(map(a).unwrap().uid, text);
        }
    }

    #[test]
    fn uid_is_required_and_bounded() {
        for (uid, problem) in [
            (Value::Null, "is missing"),
            (json!(""), "is empty"),
            (json!("   "), "is empty"),
            (json!("x".repeat(256)), "is longer than 255 characters"),
            (json!(true), "must be a string or a number"),
            (json!({"id": 1}), "must be a string or a number"),
            (json!("a\nb"), "contains control characters"),
        ] {
            let mut a = base();
            a["uid"] = uid;
            let e = map(a).unwrap_err();
            assert_eq!((e.field, e.problem), ("uid", problem));
        }
        let mut a = base();
        a["uid"] = json!("é".repeat(255));
        assert_eq!(
            map(a).unwrap().uid.chars().count(),
            255,
            "characters, not bytes"
        );
        let mut a = base();
        a.as_object_mut().unwrap().remove("uid");
        assert_eq!(map(a).unwrap_err().field, "uid");
        assert_eq!(map(json!([1, 2])).unwrap_err().field, "uid");
    }

    #[test]
    fn email_is_required_and_must_look_like_one() {
        for email in [
            Value::Null,
            json!(""),
            json!("no-at-sign"),
            json!("@x.example"),
            json!("a@"),
            json!("a b@x.example"),
            json!(5),
            json!(format!("{}@x.example", "a".repeat(250))),
        ] {
            let mut a = base();
            a["email"] = email.clone();
            assert_eq!(map(a).unwrap_err().field, "email", "{email}");
        }
        let mut a = base();
        a.as_object_mut().unwrap().remove("email");
        let e = map(a).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field email (email) of the verification answer is missing"
        );
    }

    #[test]
    fn empty_display_name_becomes_the_email_local_part() {
        for name in [json!(""), json!("   "), Value::Null] {
            let mut a = base();
            a["displayName"] = name;
            a["email"] = json!("pparker@dailybugle.example");
            assert_eq!(map(a).unwrap().display_name, "pparker");
        }
        let mut a = base();
        a.as_object_mut().unwrap().remove("displayName");
        assert_eq!(map(a).unwrap().display_name, "tony");
    }

    #[test]
    fn display_names_are_truncated_by_characters() {
        let mut a = base();
        a["displayName"] = json!("a".repeat(300));
        assert_eq!(map(a).unwrap().display_name, "a".repeat(255));

        let emoji = "😀".repeat(300);
        let mut a = base();
        a["displayName"] = json!(emoji);
        let name = map(a).unwrap().display_name;
        assert_eq!(name.chars().count(), 255);
        assert_eq!(name, "😀".repeat(255));

        let mut a = base();
        a["displayName"] = json!("Zoë 👩‍🚀\u{7}");
        assert_eq!(map(a).unwrap().display_name, "Zoë 👩‍🚀");
        assert_eq!(truncate_chars("ab", 5), "ab");
    }

    #[test]
    fn photo_urls_are_kept_only_when_absolute_http() {
        let keep = |v: Value| {
            let mut a = base();
            a["photoURL"] = v;
            map(a).unwrap().photo_url
        };
        assert_eq!(
            keep(json!("http://img.example/a.png")).as_deref(),
            Some("http://img.example/a.png")
        );
        assert_eq!(keep(json!("")), None);
        assert_eq!(keep(json!("/relative.png")), None);
        assert_eq!(keep(json!("javascript:alert(1)")), None);
        assert_eq!(keep(json!("data:image/png;base64,AAAA")), None);
        assert_eq!(keep(json!(42)), None);
        let long = format!("https://img.example/{}", "a".repeat(2048));
        assert_eq!(keep(json!(long)), None);
    }

    #[test]
    fn social_data_is_kept_up_to_16_kib() {
        let keep = |v: Value| {
            let mut a = base();
            a["socialData"] = v;
            map(a).unwrap().social_data
        };
        assert_eq!(keep(json!({"fb": 1})).as_deref(), Some(r#"{"fb":1}"#));
        assert_eq!(keep(json!("")), None);
        // 16384 bytes exactly: a string of 16382 characters plus its quotes.
        assert!(keep(json!("x".repeat(16_382))).is_some());
        assert_eq!(keep(json!("x".repeat(16_383))), None);
    }

    #[test]
    fn errors_fail_closed() {
        let err = |v: Value| {
            let mut a = base();
            a["error"] = v;
            site_error(&a, &FieldMapping::default())
        };
        assert_eq!(err(json!("")), None);
        assert_eq!(err(Value::Null), None);
        assert_eq!(err(json!(false)), None);
        assert_eq!(
            err(json!("session expired")).as_deref(),
            Some("session expired")
        );
        assert_eq!(err(json!(true)).as_deref(), Some("true"));
        assert_eq!(err(json!({"code": 3})).as_deref(), Some(r#"{"code":3}"#));
        assert_eq!(err(json!("x".repeat(600))).unwrap().len(), 500);
        let mut a = base();
        a.as_object_mut().unwrap().remove("error");
        assert_eq!(site_error(&a, &FieldMapping::default()), None);
    }
}
