//! A change to a site's ID-token login settings, as the admin API receives it and
//! as `tessera site configure --oidc-*` builds it from its flags: one type, one
//! validation, so every entry point refuses the same input with the same sentence.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::cookie_login::patch::FieldError;
use crate::http::outgoing::EndpointPolicy;
use crate::settings::id_token::{self as settings, IdTokenLoginSettings};

/// Fields to change; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdTokenLoginPatch {
    /// The provider's issuer identifier (`iss`), e.g. `https://login.example.com/realms/main`;
    /// `""` turns ID-token login off.
    #[schema(max_length = 2048)]
    pub issuer: Option<String>,
    /// The audience required in `aud`.
    #[schema(max_length = 255)]
    pub client_id: Option<String>,
    /// The provider's JWKS, when it is not found by discovery; `""` goes back to discovery.
    #[schema(max_length = 2048)]
    pub jwks_uri: Option<String>,
    /// Accepted signature algorithms (`RS256`, `ES256`, `EdDSA`, …; never `none` or `HS*`).
    pub algorithms: Option<Vec<String>>,
    /// Field → claim (or dotted path): `uid`, `displayName`, `email`, `photoURL`;
    /// fields not named keep their claim.
    pub mapping: Option<BTreeMap<String, String>>,
    /// Oldest `iat` accepted, in seconds (default 600).
    #[schema(minimum = 1, maximum = 86400)]
    pub max_age_s: Option<u64>,
    /// Clock skew allowed on `exp`, `nbf`, `iat`, in seconds (default 30).
    #[schema(minimum = 0, maximum = 60)]
    pub skew_s: Option<u64>,
}

impl IdTokenLoginPatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Validates every field and applies them to a copy of `current`; the caller
    /// stores the copy.
    pub fn apply_to(
        &self,
        current: Option<&IdTokenLoginSettings>,
        policy: EndpointPolicy,
    ) -> Result<Option<IdTokenLoginSettings>, FieldError> {
        if self.is_empty() {
            return Ok(current.cloned());
        }
        let field = |name: &str| format!("id_token_login.{name}");
        let url = |raw: &str, name: &str, check: fn(&str) -> Result<String, String>| {
            let url = check(raw).map_err(|m| FieldError::new(field(name), m))?;
            policy
                .check(&url)
                .map_err(|m| FieldError::new(field(name), m))?;
            Ok::<_, FieldError>(url)
        };
        let mut next = current.cloned().unwrap_or_default();
        if let Some(raw) = &self.issuer {
            next.issuer = if raw.trim().is_empty() {
                None
            } else {
                Some(url(raw, "issuer", settings::issuer)?)
            };
        }
        if let Some(raw) = &self.client_id {
            next.client_id =
                Some(settings::client_id(raw).map_err(|m| FieldError::new(field("client_id"), m))?);
        }
        if let Some(raw) = &self.jwks_uri {
            next.jwks_uri = if raw.trim().is_empty() {
                None
            } else {
                Some(url(raw, "jwks_uri", settings::jwks_uri)?)
            };
        }
        if let Some(names) = &self.algorithms {
            next.algorithms =
                settings::algorithms(names).map_err(|m| FieldError::new(field("algorithms"), m))?;
        }
        if let Some(mapping) = &self.mapping {
            for (name, claim) in mapping {
                next.mapping
                    .set(name, claim)
                    .map_err(|m| FieldError::new(field(&format!("mapping.{name}")), m))?;
            }
        }
        if let Some(seconds) = self.max_age_s {
            next.max_age_s =
                settings::max_age(seconds).map_err(|m| FieldError::new(field("max_age_s"), m))?;
        }
        if let Some(seconds) = self.skew_s {
            next.skew_s =
                settings::skew(seconds).map_err(|m| FieldError::new(field("skew_s"), m))?;
        }
        Ok(Some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `json` as a patch, applied to `current` under the server's policy.
    fn apply(
        json: &str,
        current: Option<&IdTokenLoginSettings>,
        allow_private: bool,
    ) -> Result<Option<IdTokenLoginSettings>, FieldError> {
        let patch: IdTokenLoginPatch = serde_json::from_str(json).unwrap();
        patch.apply_to(current, EndpointPolicy { allow_private })
    }

    #[test]
    fn fields_apply_and_keep_the_rest() {
        let first = apply(
            r#"{"issuer":"https://id.example","mapping":{"uid":"preferred_username"}}"#,
            None,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(first.configured(), None);
        let second = apply(
            r#"{"client_id":"tessera","algorithms":["ES256"],"skew_s":10}"#,
            Some(&first),
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(second.configured(), Some(("https://id.example", "tessera")));
        assert_eq!(second.mapping.uid, "preferred_username");
        assert_eq!(second.skew_s, 10);
        let off = apply(r#"{"issuer":""}"#, Some(&second), false)
            .unwrap()
            .unwrap();
        assert_eq!(off.configured(), None);
        assert_eq!(apply("{}", None, true).unwrap(), None);
    }

    #[test]
    fn errors_name_the_field() {
        for (json, field) in [
            (r#"{"issuer":"ftp://x"}"#, "id_token_login.issuer"),
            (r#"{"issuer":"http://id.example"}"#, "id_token_login.issuer"),
            (r#"{"issuer":"https://10.0.0.1"}"#, "id_token_login.issuer"),
            (
                r#"{"jwks_uri":"http://id.example/k"}"#,
                "id_token_login.jwks_uri",
            ),
            (r#"{"client_id":""}"#, "id_token_login.client_id"),
            (r#"{"algorithms":["HS256"]}"#, "id_token_login.algorithms"),
            (r#"{"algorithms":[]}"#, "id_token_login.algorithms"),
            (
                r#"{"mapping":{"error":"x"}}"#,
                "id_token_login.mapping.error",
            ),
            (r#"{"max_age_s":0}"#, "id_token_login.max_age_s"),
            (r#"{"skew_s":61}"#, "id_token_login.skew_s"),
        ] {
            let error = apply(json, None, false).unwrap_err();
            assert_eq!(error.field, field, "{json}: {error}");
        }
        assert!(apply(r#"{"issuer":"http://127.0.0.1:9"}"#, None, true).is_ok());
        assert!(serde_json::from_str::<IdTokenLoginPatch>(r#"{"secret":"x"}"#).is_err());
    }
}
