//! ID-token login settings of a site (SPEC §5.3): the OpenID provider whose ID tokens
//! sign users in, the audience Tessera requires, the algorithms it accepts, where the
//! profile is in the claims, and how old and how skewed a token may be. Stored in the
//! site's settings JSON, validated when set (CLI, admin API, console), each error one
//! sentence.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::cookie_login::{field_path, Field};

pub const DEFAULT_MAX_AGE_S: u64 = 600;
pub const MAX_MAX_AGE_S: u64 = 24 * 3600;
pub const DEFAULT_SKEW_S: u64 = 30;
pub const MAX_SKEW_S: u64 = 60;
const MAX_URL_CHARS: usize = 2048;
const MAX_CLIENT_ID_CHARS: usize = 255;

/// The signature algorithms an ID token may use: asymmetric only. `none` has no
/// signature and `HS*` would need the provider's client secret, which a page-held
/// token must never be checked with (SPEC §5.3).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum Algorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl Algorithm {
    pub const ALL: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    pub const DEFAULT: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

    /// The JOSE name (`alg`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The algorithm named exactly `name` (JOSE names are case-sensitive).
    pub fn parse(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// Everything ID-token login needs for one site. Login works once both the issuer
/// and the client id are set; the other settings have defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct IdTokenLoginSettings {
    /// The provider's issuer identifier: `iss` must equal it exactly.
    pub issuer: Option<String>,
    /// The audience Tessera requires (`aud`, and `azp` when `aud` has several).
    pub client_id: Option<String>,
    /// Where the signing keys are; `None`: found by discovery at the issuer.
    pub jwks_uri: Option<String>,
    pub algorithms: Vec<Algorithm>,
    pub mapping: ClaimMapping,
    /// Oldest `iat` accepted, in seconds before the login.
    #[schema(minimum = 1, maximum = 86400)]
    pub max_age_s: u64,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    #[schema(maximum = 60)]
    pub skew_s: u64,
}

impl Default for IdTokenLoginSettings {
    fn default() -> Self {
        Self {
            issuer: None,
            client_id: None,
            jwks_uri: None,
            algorithms: Algorithm::DEFAULT.to_vec(),
            mapping: ClaimMapping::default(),
            max_age_s: DEFAULT_MAX_AGE_S,
            skew_s: DEFAULT_SKEW_S,
        }
    }
}

impl IdTokenLoginSettings {
    /// Issuer and client id, when ID-token login is fully configured.
    pub fn configured(&self) -> Option<(&str, &str)> {
        Some((self.issuer.as_deref()?, self.client_id.as_deref()?))
    }

    /// Where the provider's keys are: the explicit `jwks_uri`, else discovery.
    pub fn key_source(&self) -> Option<KeySource> {
        let (issuer, _) = self.configured()?;
        Some(match &self.jwks_uri {
            Some(uri) => KeySource::Jwks(uri.clone()),
            None => KeySource::Discovery(discovery_url(issuer)),
        })
    }

    /// The skew, never more than the ceiling even if a stored value is.
    pub fn skew(&self) -> Duration {
        Duration::from_secs(self.skew_s.min(MAX_SKEW_S))
    }

    /// The settings as administrators see them (nothing here is secret).
    pub fn view(&self) -> IdTokenLoginView {
        IdTokenLoginView {
            configured: self.configured().is_some(),
            settings: self.clone(),
        }
    }
}

/// ID-token login settings as administrators see them (nothing in them is secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IdTokenLoginView {
    /// Both the issuer and the client id are set: ID-token login works.
    pub configured: bool,
    #[serde(flatten)]
    pub settings: IdTokenLoginSettings,
}

/// Where a provider's signing keys are fetched from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// `{issuer}/.well-known/openid-configuration`, which names the `jwks_uri`.
    Discovery(String),
    /// The JWKS itself.
    Jwks(String),
}

/// OpenID Connect Discovery 1.0 §4: the issuer without its trailing `/`, then the
/// well-known path.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Which claim holds each profile field: a claim name, or a dotted path into
/// nested claims. Defaults: the standard OpenID Connect claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ClaimMapping {
    pub uid: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
    pub email: String,
    #[serde(rename = "photoURL")]
    pub photo_url: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            uid: "sub".into(),
            display_name: "name".into(),
            email: "email".into(),
            photo_url: "picture".into(),
        }
    }
}

impl ClaimMapping {
    /// The fields an ID token can give (no `error`: a provider refuses by not
    /// issuing; no `socialData`).
    pub const FIELDS: [Field; 4] = [
        Field::Uid,
        Field::DisplayName,
        Field::Email,
        Field::PhotoUrl,
    ];

    /// The claim path of `field`; `None` for a field ID tokens do not map.
    pub fn path(&self, field: Field) -> Option<&str> {
        match field {
            Field::Uid => Some(&self.uid),
            Field::DisplayName => Some(&self.display_name),
            Field::Email => Some(&self.email),
            Field::PhotoUrl => Some(&self.photo_url),
            Field::Error | Field::SocialData => None,
        }
    }

    /// Sets `field` (by its name) to the claim `path`, both validated.
    pub fn set(&mut self, field: &str, path: &str) -> Result<(), String> {
        let slot = match Field::parse(field.trim()) {
            Some(Field::Uid) => &mut self.uid,
            Some(Field::DisplayName) => &mut self.display_name,
            Some(Field::Email) => &mut self.email,
            Some(Field::PhotoUrl) => &mut self.photo_url,
            _ => {
                return Err(format!(
                    "{:?} is not a mapped field; use uid, displayName, email or photoURL",
                    field.trim()
                ))
            }
        };
        *slot = field_path(path)?;
        Ok(())
    }
}

/// An absolute http(s) URL without credentials or fragment, at most 2048 characters.
/// Whether `http` and internal addresses are allowed is the server's decision,
/// checked by the caller with its endpoint policy.
fn absolute_url(raw: &str, what: &str, example: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > MAX_URL_CHARS {
        return Err(format!(
            "the {what} must be at most {MAX_URL_CHARS} characters"
        ));
    }
    let bad = || format!("{text:?} is not an absolute http(s) URL like {example}");
    let url = Url::parse(text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "the {what} must not contain a user name or password"
        ));
    }
    if url.fragment().is_some() {
        return Err(format!("the {what} must not contain a #fragment"));
    }
    Ok(text.to_string())
}

/// The issuer: kept exactly as given (an ID token's `iss` is compared with it
/// character for character), with no query.
pub fn issuer(raw: &str) -> Result<String, String> {
    let issuer = absolute_url(raw, "issuer", "https://login.example.com/realms/main")?;
    if issuer.contains('?') {
        return Err(
            "the issuer must not contain a query (OpenID Connect issuers have none)".into(),
        );
    }
    Ok(issuer)
}

pub fn jwks_uri(raw: &str) -> Result<String, String> {
    absolute_url(raw, "JWKS URI", "https://login.example.com/jwks.json")
}

/// The client id: 1–255 visible characters, compared exactly with `aud`.
pub fn client_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > MAX_CLIENT_ID_CHARS {
        return Err(format!(
            "the client id must be 1 to {MAX_CLIENT_ID_CHARS} characters"
        ));
    }
    if id.chars().any(char::is_control) {
        return Err("the client id must not contain control characters".into());
    }
    Ok(id.to_string())
}

/// The accepted algorithms: at least one, each asymmetric, none twice.
pub fn algorithms<S: AsRef<str>>(names: &[S]) -> Result<Vec<Algorithm>, String> {
    if names.is_empty() {
        return Err("at least one algorithm must be accepted".into());
    }
    let mut list = Vec::with_capacity(names.len());
    for name in names {
        let name = name.as_ref().trim();
        let alg = Algorithm::parse(name).ok_or_else(|| {
            if name.eq_ignore_ascii_case("none") || name.to_ascii_uppercase().starts_with("HS") {
                format!("{name} is never accepted: ID tokens must be signed with the provider's private key")
            } else {
                format!("{name:?} is not a supported algorithm; use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA")
            }
        })?;
        if list.contains(&alg) {
            return Err(format!("algorithm {name} is given more than once"));
        }
        list.push(alg);
    }
    Ok(list)
}

pub fn max_age(seconds: u64) -> Result<u64, String> {
    if (1..=MAX_MAX_AGE_S).contains(&seconds) {
        Ok(seconds)
    } else {
        Err("max_age must be between 1 second and 24 hours".into())
    }
}

pub fn skew(seconds: u64) -> Result<u64, String> {
    if seconds <= MAX_SKEW_S {
        Ok(seconds)
    } else {
        Err(format!(
            "the clock skew must be at most {MAX_SKEW_S} seconds"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_kept_exactly_and_discovered_at_the_well_known_path() {
        assert_eq!(
            issuer(" https://login.example.com/realms/main/ ").unwrap(),
            "https://login.example.com/realms/main/"
        );
        assert_eq!(
            discovery_url("https://login.example.com/realms/main/"),
            "https://login.example.com/realms/main/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://accounts.example"),
            "https://accounts.example/.well-known/openid-configuration"
        );
        for bad in [
            "",
            "login.example.com",
            "ftp://login.example.com",
            "https://u:p@login.example.com",
            "https://login.example.com/#x",
            "https://login.example.com/?tenant=1",
        ] {
            assert!(issuer(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn algorithms_are_asymmetric_only() {
        assert_eq!(
            algorithms(&["RS256", "EdDSA"]).unwrap(),
            vec![Algorithm::RS256, Algorithm::EdDSA]
        );
        for never in ["none", "HS256", "hs512", "None"] {
            let e = algorithms(&[never]).unwrap_err();
            assert!(e.contains("never accepted"), "{never}: {e}");
        }
        assert!(algorithms(&["rs256"]).is_err());
        assert!(algorithms::<&str>(&[]).is_err());
        assert!(algorithms(&["RS256", "RS256"]).is_err());
    }

    #[test]
    fn mapping_takes_the_four_fields() {
        let mut m = ClaimMapping::default();
        m.set("uid", "preferred_username").unwrap();
        m.set("photoURL", "profile.avatar").unwrap();
        assert_eq!(m.path(Field::Uid), Some("preferred_username"));
        assert_eq!(m.path(Field::PhotoUrl), Some("profile.avatar"));
        assert_eq!(m.path(Field::Error), None);
        assert!(m.set("error", "x").is_err());
        assert!(m.set("socialData", "x").is_err());
        assert!(m.set("uid", "a..b").is_err());
    }

    #[test]
    fn bounds() {
        assert!(max_age(0).is_err());
        assert_eq!(max_age(600).unwrap(), 600);
        assert!(max_age(MAX_MAX_AGE_S + 1).is_err());
        assert_eq!(skew(0).unwrap(), 0);
        assert!(skew(61).is_err());
        assert!(client_id("").is_err());
        assert!(client_id("a\u{1}b").is_err());
        assert_eq!(client_id(" tessera ").unwrap(), "tessera");
    }

    #[test]
    fn stored_settings_without_new_fields_get_defaults() {
        let s: IdTokenLoginSettings =
            serde_json::from_str(r#"{"issuer":"https://a.example","client_id":"c"}"#).unwrap();
        assert_eq!(s.algorithms, Algorithm::DEFAULT.to_vec());
        assert_eq!(s.max_age_s, DEFAULT_MAX_AGE_S);
        assert_eq!(
            s.key_source(),
            Some(KeySource::Discovery(
                "https://a.example/.well-known/openid-configuration".into()
            ))
        );
    }
}
