//! The user object of the Faveo API (`user_id` in the login answer, `user` in
//! `/api/v1/authenticate/user`).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Millis;
use crate::store::users::User;

/// Field names and order as in Faveo; flags are 0/1 numbers there, so here too.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FaveoUser {
    pub id: i64,
    pub user_name: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub ban: u8,
    pub active: u8,
    pub is_delete: u8,
    pub role: String,
    pub profile_pic: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub created_at: String,
    pub updated_at: String,
    pub user_language: Option<String>,
}

impl FaveoUser {
    pub fn of(user: &User, now: Millis) -> Self {
        let profile_pic = user
            .photo_url
            .clone()
            .or_else(|| user.email.as_deref().map(gravatar));
        FaveoUser {
            id: user.user_id,
            user_name: user.username.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email: user.email.clone(),
            ban: user.ban_in_force(now).is_some().into(),
            active: user.active.into(),
            is_delete: user.deleted.into(),
            role: user.role.clone(),
            profile_pic,
            created_at: faveo_time(user.created_at),
            updated_at: faveo_time(user.updated_at),
            user_language: user.language.clone(),
        }
    }
}

/// Faveo's time format: `2018-08-13 14:22:49` (UTC).
pub fn faveo_time(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Faveo shows a Gravatar; Gravatar accepts SHA-256 of the trimmed, lower-cased email.
fn gravatar(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("https://secure.gravatar.com/avatar/{hex}?s=80&r=g&d=identicon")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_faveo_format() {
        assert_eq!(faveo_time(1_534_170_169_000), "2018-08-13 14:22:49");
    }
}
