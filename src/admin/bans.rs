//! The rules of a new ban, shared by the CLI, the admin API and the console.

use crate::clock::Millis;
use crate::store::users::Ban;

/// Longest reason shown to the user, and longest private note, in characters.
pub const MAX_REASON_CHARS: usize = 500;
pub const MAX_NOTE_CHARS: usize = 2000;

/// A refused ban: the field at fault (`until`, `reason`, `note`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BanError {
    pub field: &'static str,
    pub message: String,
}

/// A ban starting `now`: permanent without `until`, else until that time, which must
/// be in the future. The reason (shown to the user) is required; the note is private.
pub fn new_ban(
    now: Millis,
    until: Option<Millis>,
    reason: &str,
    note: &str,
) -> Result<Ban, BanError> {
    let fail = |field: &'static str, message: String| BanError { field, message };
    check_ban(now, until, reason, note).map_err(|(field, m)| fail(field, m))
}

fn check_ban(
    now: Millis,
    until: Option<Millis>,
    reason: &str,
    note: &str,
) -> Result<Ban, (&'static str, String)> {
    if let Some(until) = until {
        if until <= now {
            return Err(("until", "the ban end (until) must be in the future".into()));
        }
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(("reason", "the ban reason must not be empty".into()));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err((
            "reason",
            format!("the ban reason must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    if reason.chars().any(char::is_control) {
        return Err((
            "reason",
            "the ban reason must not contain control characters".into(),
        ));
    }
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err((
            "note",
            format!("the ban note must be at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    // A moderator's note may span lines; other control characters are garbage.
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err((
            "note",
            "the ban note must not contain control characters".into(),
        ));
    }
    Ok(Ban {
        banned_at: now,
        ends_at: until,
        reason: reason.to_string(),
        note: note.to_string(),
    })
}

/// Parses an RFC 3339 time (`2026-12-31T23:59:59Z`) to epoch milliseconds.
pub fn parse_time(text: &str) -> Result<Millis, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("{text:?} is not an RFC 3339 time like 2026-12-31T23:59:59Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bans() {
        let ban = new_ban(1000, None, " Spam ", "").unwrap();
        assert!(ban.is_permanent());
        assert_eq!(ban.reason, "Spam");
        assert!(new_ban(1000, Some(1000), "Spam", "").is_err());
        assert!(new_ban(1000, Some(2000), "Spam", "line 1\nline 2").is_ok());
        assert!(new_ban(1000, None, "  ", "").is_err());
        assert!(new_ban(1000, None, &"x".repeat(501), "").is_err());
        assert!(new_ban(1000, None, "a\u{7}", "").is_err());
        assert!(new_ban(1000, None, "Spam", "\u{1b}[31m").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T01:00:01+01:00").unwrap(), 1000);
        assert!(parse_time("tomorrow").is_err());
    }
}
