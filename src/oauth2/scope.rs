//! The scopes a site's token can carry.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Log users in and out (`/rest/v1/accounts/*`).
    Accounts,
    /// The admin API (`/admin/api/v1/*`).
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::Accounts, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Accounts => "accounts",
            Scope::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Accounts => 1,
            Scope::Admin => 2,
        }
    }
}

/// A set of scopes, printed space-separated in a canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// Parses a `scope` parameter; absent or empty means `accounts` (SPEC §2.1).
    /// The error names the first unknown scope.
    pub fn parse_requested(requested: Option<&str>) -> Result<Self, String> {
        let text = requested.unwrap_or_default();
        if text.trim().is_empty() {
            return Ok(Scopes::of(&[Scope::Accounts]));
        }
        Self::parse(text)
    }

    /// Parses a stored or requested space-separated list.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut scopes = Scopes::default();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.as_str() == token)
                .ok_or_else(|| token.to_string())?;
            scopes.0 |= scope.bit();
        }
        Ok(scopes)
    }

    pub fn of(list: &[Scope]) -> Self {
        Scopes(list.iter().fold(0, |bits, s| bits | s.bit()))
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Scope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .map(Scope::as_str)
            .collect();
        f.write_str(&names.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_empty_scope_means_accounts() {
        assert_eq!(
            Scopes::parse_requested(None).unwrap().to_string(),
            "accounts"
        );
        assert_eq!(
            Scopes::parse_requested(Some(" ")).unwrap().to_string(),
            "accounts"
        );
    }

    #[test]
    fn scopes_are_deduplicated_and_ordered() {
        let s = Scopes::parse_requested(Some("admin accounts admin")).unwrap();
        assert_eq!(s.to_string(), "accounts admin");
        assert!(s.contains(Scope::Admin));
    }

    #[test]
    fn unknown_scope_is_named() {
        assert_eq!(
            Scopes::parse_requested(Some("accounts openid")),
            Err("openid".to_string())
        );
        // Scope names are case-sensitive (RFC 6749 §3.3).
        assert_eq!(
            Scopes::parse_requested(Some("Accounts")),
            Err("Accounts".to_string())
        );
    }
}
