//! Every check of SPEC §5.4 on one signed SSO token, up to the profile it asserts:
//! shape, `HS256` with a `kid`, the site's secret of that `kid`, signature, times
//! (`exp - iat` at most ten minutes), `jti`, the `user` claims. Single use (the
//! replay cache) is the caller's, since it writes.

use jsonwebtoken::{DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::clock::Millis;
use crate::cookie_login::mapping::{map_fields, MappedProfile};
use crate::jose::{self, Refusal, TimeRules};
use crate::secrets::SecretHash;
use crate::settings::cookie_login::Field;
use crate::store::used_tokens::token_key;
use crate::store::{Store, StoreError};

/// The replay cache's name for this flow.
pub const FLOW: &str = "sso_token";
/// Longest `exp - iat`: a token is minted for one page view, not kept.
pub const MAX_LIFETIME_MS: Millis = 600_000;
/// Clock skew allowed between the site's servers and Tessera.
pub const SKEW_MS: Millis = 30_000;
/// Longest `jti` accepted.
const MAX_JTI_CHARS: usize = 255;

/// A token that passed every check but single use.
#[derive(Debug)]
pub struct Verified {
    pub profile: MappedProfile,
    pub replay_key: SecretHash,
    pub remember_until: Millis,
    pub kid: String,
}

/// Why a token did not log anyone in.
#[derive(Debug)]
pub enum Failure {
    /// 401 `invalid_sso_token` (the refusal is audited, never shown).
    Invalid(Refusal),
    /// The store failed (a 500, like any store failure).
    Store(StoreError),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Invalid(r)
    }
}

/// Where each profile field is in the claims: the `user` object.
fn user_path(field: Field) -> Option<&'static str> {
    match field {
        Field::Uid => Some("user.id"),
        Field::DisplayName => Some("user.name"),
        Field::Email => Some("user.email"),
        Field::PhotoUrl => Some("user.avatar"),
        Field::Error | Field::SocialData => None,
    }
}

/// Verifies `token` for `site_id` with the site's secrets in `store`.
pub async fn verify(
    store: &Store,
    site_id: i64,
    token: &str,
    now: Millis,
) -> Result<Verified, Failure> {
    let jws = jose::read(token)?;
    if jws.alg != "HS256" {
        return Err(Refusal::AlgorithmNotAllowed(jws.alg.clone()).into());
    }
    let kid = jws.kid.clone().ok_or(Refusal::MissingKid)?;
    let key = store
        .sso_signing_key(site_id, &kid)
        .await
        .map_err(Failure::Store)?
        .ok_or_else(|| Refusal::UnknownKey(kid.clone()))?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = u64::try_from(SKEW_MS / 1000).unwrap_or(0);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    // SSO tokens have no audience: the site's own secret is what binds them to it.
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    // The signature against the wall clock; the times again below on the server's.
    // `IgnoredAny`: the claims are read once, by `jose::read`; this decoding only
    // verifies (its own JSON pass keeps no map).
    jsonwebtoken::decode::<IgnoredAny>(
        token,
        &DecodingKey::from_secret(key.secret.expose_secret()),
        &validation,
    )
    .map_err(|e| Refusal::from_jwt(&e))?;
    let claims = &jws.claims;
    let exp = jose::check_times(
        claims,
        now,
        TimeRules {
            skew_ms: SKEW_MS,
            max_age_ms: Some(MAX_LIFETIME_MS),
            max_lifetime_ms: Some(MAX_LIFETIME_MS),
        },
    )?;
    let jti = match claims.get("jti") {
        Some(Value::String(jti)) if !jti.is_empty() && jti.chars().count() <= MAX_JTI_CHARS => jti,
        _ => return Err(Refusal::MissingClaim("jti").into()),
    };
    let replay_key = token_key(FLOW, site_id, jti.as_bytes());
    let profile = map_fields(&Value::Object(jws.claims), user_path).map_err(Refusal::from)?;
    Ok(Verified {
        profile,
        replay_key,
        remember_until: exp + SKEW_MS,
        kid,
    })
}
