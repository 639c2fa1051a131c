//! The one rule of who may log in, and its answers in each API family.
//!
//! Every flow asks [`decide`] (through the login's commit, `store::logins`, which
//! applies it to the user as the commit sees it); the session lookup applies the same
//! conditions in SQL (`store::sessions::LIVE_SESSION`) so that a session stops working
//! the moment its user or site could no longer log in.

use axum::http::StatusCode;

use crate::clock::Millis;
use crate::http::ApiError;
use crate::password::error::FaveoError;
use crate::store::users::{Ban, User};

/// Why a known user may not log in. The same state gives the same code on every
/// path (README, "Login refusals").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A ban in force: 403 with the ban body of SPEC §3.4.
    Banned(Ban),
    /// Deleted: the row stays (its id is never reused) but can never log in again.
    Deleted,
    /// Deactivated by an administrator; can be reactivated.
    Inactive,
    /// The user's site is disabled.
    SiteDisabled,
}

impl Refusal {
    /// The error code, also the reason recorded in the audit log and the metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Banned(_) => "user_banned",
            Refusal::Deleted => "user_deleted",
            Refusal::Inactive => "user_inactive",
            Refusal::SiteDisabled => "site_disabled",
        }
    }

    fn description(&self) -> &'static str {
        match self {
            Refusal::Banned(_) => "this user is banned",
            Refusal::Deleted => "this user was deleted and cannot log in",
            Refusal::Inactive => "this user's account is deactivated",
            Refusal::SiteDisabled => "this site is disabled",
        }
    }
}

/// The decision: `Ok` when `user` may log in at `now` on a site that is (or is not)
/// `site_active`. Checked in this order: a deleted user's ban no longer matters, and
/// a disabled site refuses everyone.
pub fn decide(user: &User, site_active: bool, now: Millis) -> Result<(), Refusal> {
    if !site_active {
        Err(Refusal::SiteDisabled)
    } else if user.deleted {
        Err(Refusal::Deleted)
    } else if let Some(ban) = user.ban_in_force(now) {
        Err(Refusal::Banned(ban.clone()))
    } else if !user.active {
        Err(Refusal::Inactive)
    } else {
        Ok(())
    }
}

/// [`decide`] in the shape the store's login commit takes (`store::logins::Policy`).
pub fn refusal_reason(user: &User, site_active: bool, now: Millis) -> Option<&'static str> {
    decide(user, site_active, now).err().map(|r| r.code())
}

/// The REST family (`{"error","error_description"}`; the ban body for a ban).
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match &refusal {
            Refusal::Banned(ban) => {
                let mut body = ban.public_fields();
                body.insert("error".into(), refusal.code().into());
                ApiError::Body {
                    status: StatusCode::FORBIDDEN,
                    body: serde_json::Value::Object(body),
                }
            }
            _ => ApiError::new(StatusCode::FORBIDDEN, refusal.code(), refusal.description()),
        }
    }
}

/// The Faveo family (`{"Error","status_code"}`, the ban fields merged in).
impl From<Refusal> for FaveoError {
    fn from(refusal: Refusal) -> Self {
        match &refusal {
            Refusal::Banned(ban) => FaveoError::banned(ban),
            _ => FaveoError::new(StatusCode::FORBIDDEN, refusal.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            user_id: 1,
            site_id: 1,
            external_id: None,
            username: None,
            email: None,
            display_name: "A".into(),
            first_name: String::new(),
            last_name: String::new(),
            photo_url: None,
            social_data: None,
            role: "user".into(),
            password_hash: None,
            language: None,
            active: true,
            deleted: false,
            ban: None,
            tokens_not_before: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn one_decision_in_a_fixed_order() {
        let now = 1_000;
        assert_eq!(decide(&user(), true, now), Ok(()));
        let ban = Ban {
            banned_at: 0,
            ends_at: Some(2_000),
            reason: "spam".into(),
            note: String::new(),
        };
        let banned = User {
            ban: Some(ban.clone()),
            active: false,
            ..user()
        };
        assert_eq!(decide(&banned, true, now), Err(Refusal::Banned(ban)));
        // Past its end a temporary ban no longer blocks; what remains is the deactivation.
        assert_eq!(decide(&banned, true, 2_000), Err(Refusal::Inactive));
        let deleted = User {
            deleted: true,
            ..banned.clone()
        };
        assert_eq!(decide(&deleted, true, now), Err(Refusal::Deleted));
        assert_eq!(decide(&deleted, false, now), Err(Refusal::SiteDisabled));
        assert_eq!(refusal_reason(&user(), false, now), Some("site_disabled"));
    }
}
