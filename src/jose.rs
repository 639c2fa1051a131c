//! What the token logins (SPEC §5.3, §5.4) check of a compact JWS before, and
//! besides, its signature: its size and shape, that no header or claim name is
//! given twice (JSON parsers disagree on which one wins, so a token that says two
//! things is refused instead of read one way), no `crit` extension (none is
//! understood, RFC 7515 §4.1.11), and its times against the server's clock.
//!
//! The signature itself and the registered claims are verified by `jsonwebtoken`;
//! this module only reads, so that a refusal names its precise reason for the
//! audit log.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::clock::Millis;

/// Longest token accepted (bytes of its compact form). ID tokens are a few KiB at
/// most; a larger one is refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token was refused. `reason()` is the word the audit log records; the
/// client is only ever told that the token is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    #[error("the token is not a compact JWS ({0})")]
    Malformed(&'static str),
    #[error("the {part} names {name:?} more than once")]
    DuplicateName { part: &'static str, name: String },
    #[error("the header has a crit extension ({0}), which is not understood")]
    Crit(String),
    #[error("algorithm {0:?} is not accepted")]
    AlgorithmNotAllowed(String),
    #[error("the header has no kid")]
    MissingKid,
    #[error("no key of the issuer has kid {0:?}")]
    UnknownKey(String),
    #[error("key {0:?} is not a key for this algorithm")]
    KeyMismatch(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("iss is not the configured issuer")]
    WrongIssuer,
    #[error("aud does not contain the client id")]
    WrongAudience,
    #[error("azp is not the client id")]
    WrongAuthorizedParty,
    #[error("claim {0} is missing or not of its type")]
    MissingClaim(&'static str),
    #[error("the token expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the token was issued in the future (iat)")]
    IssuedInFuture,
    #[error("the token was issued too long ago (iat older than max_age)")]
    TooOld,
    #[error("the token lives longer than allowed (exp - iat)")]
    TooLongLived,
    #[error("nonce does not match")]
    NonceMismatch,
    #[error("the token was used before")]
    Replayed,
    #[error("{0}")]
    Profile(String),
}

impl Refusal {
    /// The word recorded as the audit event's `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::TooLarge => "too_large",
            Refusal::Malformed(_) => "malformed",
            Refusal::DuplicateName { .. } => "duplicate_name",
            Refusal::Crit(_) => "crit",
            Refusal::AlgorithmNotAllowed(_) => "alg_not_allowed",
            Refusal::MissingKid => "missing_kid",
            Refusal::UnknownKey(_) => "unknown_kid",
            Refusal::KeyMismatch(_) => "alg_key_mismatch",
            Refusal::BadSignature => "bad_signature",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::WrongAudience => "wrong_audience",
            Refusal::WrongAuthorizedParty => "wrong_azp",
            Refusal::MissingClaim(_) => "missing_claim",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::IssuedInFuture => "issued_in_future",
            Refusal::TooOld => "too_old",
            Refusal::TooLongLived => "too_long_lived",
            Refusal::NonceMismatch => "nonce_mismatch",
            Refusal::Replayed => "replayed",
            Refusal::Profile(_) => "invalid_profile",
        }
    }

    /// A verification error of `jsonwebtoken` in these terms (its checks run after
    /// ours, so most of its kinds cannot occur; the rest say the token is bad).
    pub fn from_jwt(error: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature => Refusal::BadSignature,
            ErrorKind::InvalidAlgorithm => Refusal::AlgorithmNotAllowed("?".into()),
            ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
            ErrorKind::InvalidAudience => Refusal::WrongAudience,
            ErrorKind::ExpiredSignature => Refusal::Expired,
            ErrorKind::ImmatureSignature => Refusal::NotYetValid,
            ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                "iss" => Refusal::MissingClaim("iss"),
                "aud" => Refusal::MissingClaim("aud"),
                "sub" => Refusal::MissingClaim("sub"),
                _ => Refusal::MissingClaim("exp"),
            },
            _ => Refusal::Malformed("rejected by the JOSE library"),
        }
    }
}

impl From<crate::cookie_login::mapping::InvalidField> for Refusal {
    /// A profile field the claims lack or get wrong, named by its claim.
    fn from(invalid: crate::cookie_login::mapping::InvalidField) -> Self {
        Refusal::Profile(format!(
            "claim {} ({}) {}",
            invalid.path, invalid.field, invalid.problem
        ))
    }
}

/// A compact JWS whose structure passed: the decoded header and claims, and the
/// signed part (`header.payload`).
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    pub token: &'a str,
    pub signing_input: &'a str,
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
}

/// Reads `token` as a compact JWS with a JSON object in the header and the payload.
pub fn read(token: &str) -> Result<Jws<'_>, Refusal> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Refusal::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed("not three dot-separated parts"));
    };
    if signature.is_empty() {
        return Err(Refusal::Malformed("the signature is empty"));
    }
    URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Refusal::Malformed("the signature is not base64url"))?;
    let header = object(header, "header")?;
    let claims = object(payload, "payload")?;
    if let Some(crit) = header.get("crit") {
        return Err(Refusal::Crit(crit.to_string()));
    }
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        _ => return Err(Refusal::Malformed("the header has no alg")),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(Refusal::Malformed("kid is not a string")),
    };
    Ok(Jws {
        token,
        signing_input: &token[..header.len_hint + 1 + payload.len()],
        alg,
        kid,
        claims: claims.map,
    })
}

struct Object {
    map: Map<String, Value>,
    /// Length of the encoded part it came from.
    len_hint: usize,
}

impl std::ops::Deref for Object {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        &self.map
    }
}

/// A base64url part holding one JSON object whose names are each given once.
fn object(encoded: &str, part: &'static str) -> Result<Object, Refusal> {
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| {
        Refusal::Malformed(if part == "header" {
            "the header is not base64url"
        } else {
            "the payload is not base64url"
        })
    })?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| Refusal::Malformed("a part is not UTF-8"))?;
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err(Refusal::Malformed("a part is not a JSON object"));
    };
    if let Some(name) = crate::http::form::first_duplicate_key(text) {
        return Err(Refusal::DuplicateName { part, name });
    }
    Ok(Object {
        map,
        len_hint: encoded.len(),
    })
}

/// A NumericDate claim (seconds, possibly fractional) in milliseconds.
pub fn time_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<Millis>, Refusal> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(seconds) if seconds.is_finite() && seconds.abs() < 1e13 => {
                Ok(Some((seconds * 1000.0) as Millis))
            }
            _ => Err(Refusal::MissingClaim(name)),
        },
        Some(_) => Err(Refusal::MissingClaim(name)),
    }
}

/// How old and how long-lived a token may be.
#[derive(Debug, Clone, Copy)]
pub struct TimeRules {
    pub skew_ms: Millis,
    /// Oldest `iat` accepted (ID tokens' `max_age`).
    pub max_age_ms: Option<Millis>,
    /// Longest `exp - iat` accepted (SSO tokens).
    pub max_lifetime_ms: Option<Millis>,
}

/// The times of a token, checked against `now` (the server's clock): `exp` and
/// `iat` required, `nbf` optional, each within the skew. Returns `exp`.
pub fn check_times(
    claims: &Map<String, Value>,
    now: Millis,
    rules: TimeRules,
) -> Result<Millis, Refusal> {
    let exp = time_claim(claims, "exp")?.ok_or(Refusal::MissingClaim("exp"))?;
    let iat = time_claim(claims, "iat")?.ok_or(Refusal::MissingClaim("iat"))?;
    let skew = rules.skew_ms;
    if now > exp + skew {
        return Err(Refusal::Expired);
    }
    if let Some(nbf) = time_claim(claims, "nbf")? {
        if nbf > now + skew {
            return Err(Refusal::NotYetValid);
        }
    }
    if iat > now + skew {
        return Err(Refusal::IssuedInFuture);
    }
    if rules.max_age_ms.is_some_and(|max| now - iat > max + skew) {
        return Err(Refusal::TooOld);
    }
    if rules.max_lifetime_ms.is_some_and(|max| exp - iat > max) {
        return Err(Refusal::TooLongLived);
    }
    Ok(exp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn a_well_formed_token_reads() {
        let t = format!(
            "{}.{}.c2ln",
            b64(&json!({"alg":"RS256","kid":"k1"})),
            b64(&json!({"sub":"7"}))
        );
        let jws = read(&t).unwrap();
        assert_eq!(jws.alg, "RS256");
        assert_eq!(jws.kid.as_deref(), Some("k1"));
        assert_eq!(jws.claims["sub"], "7");
        assert_eq!(jws.signing_input, &t[..t.rfind('.').unwrap()]);
    }

    #[test]
    fn shapes_that_are_refused() {
        let reason = |t: &str| read(t).unwrap_err().reason();
        assert_eq!(reason(&"a".repeat(MAX_TOKEN_BYTES + 1)), "too_large");
        assert_eq!(reason("a.b"), "malformed");
        assert_eq!(reason("a.b.c.d"), "malformed");
        assert_eq!(
            reason(&token(r#"{"alg":"RS256"}"#, "{}").replace(".c2ln", ".")),
            "malformed"
        );
        assert_eq!(reason(&token("[]", "{}")), "malformed");
        assert_eq!(reason(&token(r#"{"kid":"x"}"#, "{}")), "malformed");
        assert_eq!(
            reason(&token(r#"{"alg":"RS256"}"#, "not json")),
            "malformed"
        );
        assert_eq!(
            reason(&token(r#"{"alg":"RS256","alg":"none"}"#, "{}")),
            "duplicate_name"
        );
        assert_eq!(
            reason(&token(
                r#"{"alg":"RS256"}"#,
                r#"{"sub":"a","s\u0075b":"b"}"#
            )),
            "duplicate_name"
        );
        assert_eq!(
            reason(&token(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, "{}")),
            "crit"
        );
    }

    #[test]
    fn times_are_checked_within_the_skew() {
        let now = 1_000_000_000;
        let rules = TimeRules {
            skew_ms: 30_000,
            max_age_ms: Some(600_000),
            max_lifetime_ms: Some(600_000),
        };
        let check = |claims: Value| {
            check_times(claims.as_object().unwrap(), now, rules).map_err(|e| e.reason())
        };
        let s = now / 1000;
        assert_eq!(
            check(json!({"iat": s, "exp": s + 300})),
            Ok((s + 300) * 1000)
        );
        assert_eq!(
            check(json!({"iat": s - 40, "exp": s - 20})),
            Ok((s - 20) * 1000)
        );
        assert_eq!(
            check(json!({"iat": s - 100, "exp": s - 31})),
            Err("expired")
        );
        assert_eq!(
            check(json!({"iat": s, "exp": s + 60, "nbf": s + 31})),
            Err("not_yet_valid")
        );
        assert_eq!(
            check(json!({"iat": s + 31, "exp": s + 60})),
            Err("issued_in_future")
        );
        assert_eq!(
            check(json!({"iat": s - 631, "exp": s + 60})),
            Err("too_old")
        );
        assert_eq!(
            check(json!({"iat": s, "exp": s + 601})),
            Err("too_long_lived")
        );
        assert_eq!(check(json!({"exp": s + 60})), Err("missing_claim"));
        assert_eq!(
            check(json!({"iat": "now", "exp": s + 60})),
            Err("missing_claim")
        );
        assert_eq!(
            check(json!({"iat": s as f64 + 0.5, "exp": s as f64 + 60.25})),
            Ok((s + 60) * 1000 + 250)
        );
    }
}
