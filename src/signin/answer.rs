//! What every browser login answers (cookie login, the widget's password sign-in, the
//! token logins of SPEC §5.3–5.4): the envelope around the flow's own login
//! ([`respond`]), and the body of a login that started a session (§5.2 step 7; the
//! token logins give it without `reverify_at`).

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Serialize;

use super::{SignedIn, StartedSession};
use crate::app::AppState;
use crate::http::ApiError;
use crate::sessions::cors::{self, CorsSite};
use crate::store::sites::Site;

/// A browser login's request, which names its site.
pub trait NamesSite {
    fn site_id(&self) -> i64;
}

/// The envelope of every browser login: the site the request names is looked up,
/// `login` runs with it (`None`: no such site; each flow says how it refuses that),
/// and the answer, error or not, is readable from that site's origins (from any
/// site's when no site is known: the page must be able to read why).
pub async fn respond<R: NamesSite>(
    state: &AppState,
    headers: &HeaderMap,
    request: Result<R, ApiError>,
    login: impl AsyncFnOnce(Option<Site>, R) -> Result<Response, ApiError>,
) -> Response {
    let (site_id, result) = match request {
        Ok(request) => match state.store.get_site(request.site_id()).await {
            Ok(site) => (site.as_ref().map(|s| s.site_id), login(site, request).await),
            Err(e) => (None, Err(e.into())),
        },
        Err(e) => (None, Err(e)),
    };
    let site = site_id.map_or(CorsSite::Unknown, CorsSite::Site);
    let response = result.unwrap_or_else(IntoResponse::into_response);
    cors::allow_origin(state, headers, site, response).await
}

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
