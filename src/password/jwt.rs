//! Compact JWS with Ed25519 (`alg: EdDSA`, RFC 8037), written by hand on
//! ed25519-dalek so that nothing but EdDSA can ever be accepted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::keys::JwtKey;

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 4096;
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: i64 = 30;

/// The claims of a password-login token. Times are seconds since the epoch.
#[derive(Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user id, as a string (RFC 7519 §4.1.2).
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// 128 random bits: the handle for revocation.
    pub jti: String,
    pub site_id: i64,
    pub role: String,
    /// When the password login that started this chain of refreshes happened.
    pub auth_time: i64,
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims")
            .field("sub", &self.sub)
            .field("site_id", &self.site_id)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

impl Claims {
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// Why a token is not accepted; the client only learns `token_invalid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("not three base64url parts")]
    Shape,
    #[error("header is not the EdDSA JWT header")]
    Header,
    #[error("signature does not verify")]
    Signature,
    #[error("claims are not valid")]
    Claims,
}

/// Signs `claims` with `key`.
pub fn sign(key: &JwtKey, claims: &Claims) -> String {
    let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": key.kid });
    let mut token = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"))
    );
    let signature = key.signing.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    token
}

/// A token whose header is acceptable, its signature not yet checked.
#[derive(Debug)]
pub struct Unverified<'a> {
    pub kid: String,
    signing_input: &'a str,
    payload: &'a str,
    signature: Signature,
}

/// Splits a token and checks its header: `alg` must be exactly `EdDSA` (never
/// `none`, HS256 or anything else), a `kid` must be present, and no `crit`
/// extensions (which we could not honour) may appear.
pub fn parse(token: &str) -> Result<Unverified<'_>, Malformed> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Malformed::Shape);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed::Shape);
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| Malformed::Shape)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&header_bytes).map_err(|_| Malformed::Header)?;
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA")
        || header.contains_key("crit")
        || header
            .get("typ")
            .is_some_and(|t| !t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT")))
    {
        return Err(Malformed::Header);
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(Malformed::Header)?
        .to_string();
    let signature_bytes = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Malformed::Shape)?;
    let signature = Signature::from_slice(&signature_bytes).map_err(|_| Malformed::Signature)?;
    let signing_input = &token[..header_len(token)];
    Ok(Unverified {
        kid,
        signing_input,
        payload,
        signature,
    })
}

/// Length of `header.payload` (everything before the last dot).
fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

impl Unverified<'_> {
    /// Checks the signature (strictly: no malleable or small-order forms) and decodes the claims.
    pub fn verify(self, key: &VerifyingKey) -> Result<Claims, Malformed> {
        key.verify_strict(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| Malformed::Signature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| Malformed::Claims)?;
        serde_json::from_slice(&payload).map_err(|_| Malformed::Claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::keys;

    fn key() -> JwtKey {
        let stored = keys::generate(0);
        let signing = ed25519_dalek::SigningKey::from_bytes(
            stored.private_key.as_slice().try_into().unwrap(),
        );
        JwtKey {
            kid: stored.kid,
            verifying: signing.verifying_key(),
            signing,
            created_at: 0,
            retired_at: None,
        }
    }

    fn claims() -> Claims {
        Claims {
            iss: "http://x/api/v1/authenticate".into(),
            sub: "1".into(),
            iat: 10,
            nbf: 10,
            exp: 3610,
            jti: "j".into(),
            site_id: 1,
            role: "user".into(),
            auth_time: 10,
        }
    }

    #[test]
    fn round_trip_and_tampering() {
        let key = key();
        let token = sign(&key, &claims());
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.kid, key.kid);
        assert_eq!(parsed.verify(&key.verifying).unwrap().sub, "1");

        let other = self::key();
        assert_eq!(
            parse(&token).unwrap().verify(&other.verifying).unwrap_err(),
            Malformed::Signature
        );
        let (head, _) = token.rsplit_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"2"}"#);
        let mut pieces: Vec<&str> = token.split('.').collect();
        pieces[1] = &forged_payload;
        let forged = pieces.join(".");
        assert!(head.len() < token.len());
        assert_eq!(
            parse(&forged).unwrap().verify(&key.verifying).unwrap_err(),
            Malformed::Signature
        );
    }

    #[test]
    fn other_algorithms_and_shapes_are_refused() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k"}"#),
            URL_SAFE_NO_PAD.encode(br#"{}"#)
        );
        assert_eq!(parse(&none).unwrap_err(), Malformed::Header);
        let hs = format!(
            "{}.{}.AAAA",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k"}"#),
            URL_SAFE_NO_PAD.encode(br#"{}"#)
        );
        assert_eq!(parse(&hs).unwrap_err(), Malformed::Header);
        let no_kid = format!(
            "{}.{}.AAAA",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA"}"#),
            URL_SAFE_NO_PAD.encode(br#"{}"#)
        );
        assert_eq!(parse(&no_kid).unwrap_err(), Malformed::Header);
        assert_eq!(parse("a.b").unwrap_err(), Malformed::Shape);
        assert_eq!(parse("a.b.c.d").unwrap_err(), Malformed::Shape);
        assert_eq!(parse(&"a".repeat(5000)).unwrap_err(), Malformed::Shape);
    }
}
