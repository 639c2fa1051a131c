//! Every check of SPEC §5.3 on one ID token, in order, up to the profile it
//! asserts: shape, algorithm, key, signature, issuer, audience, times, nonce,
//! claims. Single use (the replay cache) is the caller's, since it writes.

use jsonwebtoken::Validation;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::jwks::{KeyCache, KeyLookup};
use crate::clock::{duration_ms, Millis};
use crate::cookie_login::mapping::{map_fields, MappedProfile};
use crate::jose::{self, Refusal, TimeRules};
use crate::secrets::SecretHash;
use crate::settings::id_token::{Algorithm, IdTokenLoginSettings};
use crate::store::used_tokens::token_key;

/// The replay cache's name for this flow.
pub const FLOW: &str = "id_token";

/// A token that passed every check but single use.
#[derive(Debug)]
pub struct Verified {
    pub profile: MappedProfile,
    /// Names this token in the replay cache.
    pub replay_key: SecretHash,
    /// Until when the replay cache must remember it (its `exp` plus the skew).
    pub remember_until: Millis,
    pub kid: Option<String>,
    pub alg: Algorithm,
}

/// Why a token did not log anyone in.
#[derive(Debug)]
pub enum Failure {
    /// 401 `invalid_id_token`; the refusal goes to the audit log only.
    Invalid(Refusal),
    /// 502 `issuer_unavailable`: no key to check it with, and the provider cannot
    /// be asked (why, for the audit log).
    Unavailable(String),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Invalid(r)
    }
}

/// The algorithm in `jsonwebtoken`'s terms.
fn jwt_algorithm(alg: Algorithm) -> jsonwebtoken::Algorithm {
    use jsonwebtoken::Algorithm as J;
    match alg {
        Algorithm::RS256 => J::RS256,
        Algorithm::RS384 => J::RS384,
        Algorithm::RS512 => J::RS512,
        Algorithm::PS256 => J::PS256,
        Algorithm::PS384 => J::PS384,
        Algorithm::PS512 => J::PS512,
        Algorithm::ES256 => J::ES256,
        Algorithm::ES384 => J::ES384,
        Algorithm::EdDSA => J::EdDSA,
    }
}

/// Verifies `token` for a site whose ID-token login is configured as `settings`.
pub async fn verify(
    keys: &KeyCache,
    site_id: i64,
    settings: &IdTokenLoginSettings,
    token: &str,
    nonce: Option<&str>,
    now: Millis,
) -> Result<Verified, Failure> {
    let (Some((issuer, client_id)), Some(source)) = (settings.configured(), settings.key_source())
    else {
        return Err(Failure::Unavailable(
            "ID-token login is not configured".into(),
        ));
    };
    let jws = jose::read(token)?;
    let alg = Algorithm::parse(&jws.alg)
        .filter(|a| settings.algorithms.contains(a))
        .ok_or_else(|| Refusal::AlgorithmNotAllowed(jws.alg.clone()))?;
    let key = match keys
        .key(&source, issuer, jws.kid.as_deref(), alg, now)
        .await
    {
        KeyLookup::Found(key) => key,
        KeyLookup::Unknown => {
            return Err(Refusal::UnknownKey(jws.kid.clone().unwrap_or_default()).into())
        }
        KeyLookup::Unavailable(why) => return Err(Failure::Unavailable(why)),
    };
    // The key's own type and algorithm decide, never the token's header alone: an
    // RSA public key must not verify an HMAC, nor a P-256 key an RS256 signature.
    if !key.key_type.fits(alg) || key.alg.as_deref().is_some_and(|a| a != alg.name()) {
        return Err(Refusal::KeyMismatch(jws.kid.clone().unwrap_or_default()).into());
    }
    let skew_ms = duration_ms(settings.skew());
    let mut validation = Validation::new(jwt_algorithm(alg));
    validation.leeway = settings.skew().as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    // The signature and the registered claims, against the wall clock; then the
    // same times again below on the server's clock (which tests move), with what
    // the crate does not check: `iat`, `max_age`, `azp`, `nonce`.
    // `IgnoredAny`: the claims are read once, by `jose::read`.
    jsonwebtoken::decode::<IgnoredAny>(token, &key.decoding, &validation)
        .map_err(|e| Refusal::from_jwt(&e))?;
    let claims = &jws.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(Refusal::WrongIssuer.into());
    }
    check_audience(claims.get("aud"), claims.get("azp"), client_id)?;
    let max_age_ms = i64::try_from(settings.max_age_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let exp = jose::check_times(
        claims,
        now,
        TimeRules {
            skew_ms,
            max_age_ms: Some(max_age_ms),
            max_lifetime_ms: None,
        },
    )?;
    if let Some(expected) = nonce {
        if claims.get("nonce").and_then(Value::as_str) != Some(expected) {
            return Err(Refusal::NonceMismatch.into());
        }
    }
    let replay_key = token_key(FLOW, site_id, jws.signing_input.as_bytes());
    let profile = map_fields(&Value::Object(jws.claims), |f| settings.mapping.path(f))
        .map_err(Refusal::from)?;
    Ok(Verified {
        profile,
        replay_key,
        remember_until: exp + skew_ms,
        kid: jws.kid,
        alg,
    })
}

/// `aud` is the client id or a list containing it; with several audiences, `azp`
/// must be the client id, and whenever `azp` is given it must be.
fn check_audience(
    aud: Option<&Value>,
    azp: Option<&Value>,
    client_id: &str,
) -> Result<(), Refusal> {
    let several = match aud {
        Some(Value::String(one)) if one == client_id => false,
        Some(Value::Array(list)) if list.iter().any(|a| a.as_str() == Some(client_id)) => {
            list.len() > 1
        }
        _ => return Err(Refusal::WrongAudience),
    };
    match azp {
        Some(Value::String(party)) if party == client_id => Ok(()),
        Some(_) => Err(Refusal::WrongAuthorizedParty),
        None if several => Err(Refusal::WrongAuthorizedParty),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audiences() {
        let check = |aud: Value, azp: Option<Value>| {
            check_audience(Some(&aud), azp.as_ref(), "me").map_err(|e| e.reason())
        };
        assert_eq!(check(json!("me"), None), Ok(()));
        assert_eq!(check(json!(["me"]), None), Ok(()));
        assert_eq!(check(json!(["me", "api"]), Some(json!("me"))), Ok(()));
        assert_eq!(check(json!(["me", "api"]), None), Err("wrong_azp"));
        assert_eq!(
            check(json!(["me", "api"]), Some(json!("api"))),
            Err("wrong_azp")
        );
        assert_eq!(check(json!("me"), Some(json!("other"))), Err("wrong_azp"));
        assert_eq!(check(json!("you"), None), Err("wrong_audience"));
        assert_eq!(
            check(json!(["you", "api"]), Some(json!("me"))),
            Err("wrong_audience")
        );
        assert_eq!(check(json!(7), None), Err("wrong_audience"));
        assert_eq!(
            check_audience(None, None, "me").map_err(|e| e.reason()),
            Err("wrong_audience")
        );
    }
}
