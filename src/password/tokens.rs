//! Issuing password-login JWTs and checking the ones presented back to us.

use axum::http::{header, HeaderMap, StatusCode};
use secrecy::SecretString;

use super::error::FaveoError;
use super::jwt::{self, Claims, LEEWAY_SECS};
use crate::app::AppState;
use crate::clock::{duration_ms, Millis};
use crate::http::ClientIp;
use crate::secrets::{random_urlsafe, SecretHash};
use crate::signin::{policy, Attempt, Flow};
use crate::store::audit::{Actor, NewAuditEvent};
use crate::store::users::User;

/// The `iss` claim: the authenticate URL of this installation.
pub fn issuer(state: &AppState) -> String {
    format!("{}/api/v1/authenticate", state.config.public_base())
}

/// Signs a new token for `user`; `auth_time` (seconds) is the original login.
pub async fn issue(
    state: &AppState,
    user: &User,
    auth_time: i64,
) -> Result<SecretString, FaveoError> {
    let now = state.now();
    let key = state.password.keys.current(&state.store, now).await?;
    let iat = now.div_euclid(1000);
    let claims = Claims {
        iss: issuer(state),
        sub: user.user_id.to_string(),
        iat,
        nbf: iat,
        exp: iat + state.config.jwt_ttl.as_secs() as i64,
        // 128 random bits.
        jti: random_urlsafe(16),
        site_id: user.site_id,
        role: user.role.clone(),
        auth_time,
    };
    Ok(SecretString::from(jwt::sign(&key, &claims)))
}

/// The token of a request: `Authorization: Bearer …`, else a `token` parameter.
pub fn presented(headers: &HeaderMap, param: Option<&str>) -> Result<String, FaveoError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().unwrap_or_default();
        let token = text
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| FaveoError::unauthorized("token_invalid"))?;
        return Ok(token.to_string());
    }
    param
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| FaveoError::bad_request("token is required"))
}

/// What a token is being used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Calling an API: the token must be unexpired.
    Access,
    /// Refreshing or logging out: an expired token is fine within the refresh window.
    Renew,
}

/// A verified token and the user behind it, still allowed to log in.
#[derive(Debug)]
pub struct Verified {
    pub claims: Claims,
    pub user: User,
}

impl Verified {
    pub fn jti_hash(&self) -> SecretHash {
        SecretHash::of(&self.claims.jti)
    }

    /// How long the revocation of this token must be kept: it cannot be used after
    /// `exp`, nor refreshed after the end of the refresh window.
    pub fn revoke_until(&self, state: &AppState) -> Millis {
        let refresh_end =
            self.claims.auth_time * 1000 + duration_ms(state.config.jwt_refresh_window);
        (self.claims.exp * 1000).max(refresh_end) + LEEWAY_SECS * 1000
    }
}

/// Checks everything about a presented token: EdDSA signature with a key of the
/// store, issuer, times, revocation, and that its user may still log in.
pub async fn verify(state: &AppState, token: &str, usage: Use) -> Result<Verified, FaveoError> {
    let invalid = || FaveoError::unauthorized("token_invalid");
    let unverified = jwt::parse(token).map_err(|_| invalid())?;
    let key = state
        .password
        .keys
        .find(&state.store, &unverified.kid)
        .await?
        .ok_or_else(invalid)?;
    let claims = unverified.verify(&key.verifying).map_err(|_| invalid())?;
    if claims.iss != issuer(state) {
        return Err(invalid());
    }
    let now = state.now();
    let now_s = now.div_euclid(1000);
    if claims.nbf > now_s + LEEWAY_SECS || claims.iat > now_s + LEEWAY_SECS {
        return Err(invalid());
    }
    match usage {
        Use::Access if now_s >= claims.exp + LEEWAY_SECS => {
            return Err(FaveoError::unauthorized("token_expired"));
        }
        Use::Renew => {
            let window = state.config.jwt_refresh_window.as_secs() as i64;
            if now_s >= claims.auth_time + window {
                return Err(FaveoError::unauthorized("token_expired_refresh_window"));
            }
        }
        Use::Access => {}
    }
    if state
        .store
        .is_jti_revoked(&SecretHash::of(&claims.jti))
        .await?
    {
        return Err(FaveoError::unauthorized("token_revoked"));
    }
    let user_id = claims.user_id().ok_or_else(invalid)?;
    let user = state
        .store
        .get_user(claims.site_id, user_id)
        .await?
        .ok_or_else(invalid)?;
    // The token is only as good as its user's right to log in (the one policy).
    let site_active = state
        .store
        .get_site(claims.site_id)
        .await?
        .is_some_and(|site| site.active);
    policy::decide(&user, site_active, now)?;
    // "Log out everywhere" (admin API, CLI): `iat` has whole seconds, so a token of the
    // same second as the cut-off is refused too; refusing one too many is the safe side.
    if user
        .tokens_not_before
        .is_some_and(|cut| claims.iat.saturating_mul(1000) <= cut)
    {
        return Err(FaveoError::unauthorized("token_revoked"));
    }
    Ok(Verified { claims, user })
}

/// Revokes the token, recording `action` (`user.token_refreshed`, `user.logout`) in the
/// same transaction; `token_revoked` if it already was (a racing refresh or logout).
pub async fn revoke(
    state: &AppState,
    verified: &Verified,
    action: &'static str,
    client_ip: &ClientIp,
) -> Result<(), FaveoError> {
    let attempt = Attempt::new(verified.user.site_id, Flow::Password, client_ip);
    let event = attempt.event(
        state,
        action,
        serde_json::json!({ "user_id": verified.user.user_id }),
    );
    let event = NewAuditEvent {
        actor: Actor::User {
            user_id: verified.user.user_id,
        }
        .label(),
        ..event
    };
    let fresh = state
        .store
        .revoke_jti(
            &verified.jti_hash(),
            state.now(),
            verified.revoke_until(state),
            &event,
        )
        .await?;
    if fresh {
        Ok(())
    } else {
        Err(FaveoError::new(StatusCode::UNAUTHORIZED, "token_revoked"))
    }
}
