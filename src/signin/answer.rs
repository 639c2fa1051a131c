//! The answer of a browser login that started a session (SPEC §5.2 step 7; the token
//! logins of §5.3–5.4 give it without `reverify_at`): one shape for every such flow.

use secrecy::ExposeSecret;
use serde::Serialize;

use super::{SignedIn, StartedSession};
use crate::http::ApiError;

/// `{"user_id","session","user":{…}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionLogin {
    pub user_id: i64,
    /// The session id for `X-Tessera-Session`; shown once.
    pub session: String,
    pub user: SessionUser,
}

/// What the widget shows of the user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionUser {
    pub user_id: i64,
    pub name: String,
    pub photo_url: Option<String>,
}

impl SessionLogin {
    /// The answer of a login granted a session, and that session.
    pub fn of(signed_in: SignedIn) -> Result<(Self, StartedSession), ApiError> {
        let started = signed_in
            .session
            .ok_or_else(|| anyhow::anyhow!("a session grant started no session"))?;
        let user = signed_in.user;
        let answer = SessionLogin {
            user_id: user.user_id,
            session: started.session_id.expose_secret().to_string(),
            user: SessionUser {
                user_id: user.user_id,
                name: user.display_name,
                photo_url: user.photo_url,
            },
        };
        Ok((answer, started))
    }
}
