//! Console sessions: the login form, the `tessera_admin` cookie, and the checks of
//! every request (a live console session of an admin of the site, looked up in the
//! store on each request so that a logout, ban, deactivation or role change on any
//! node ends it at once), the CSRF token and the same-origin rule.

use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::page::{self, ConsoleError, Form, Layout};
use crate::admin::Ctx;
use crate::app::AppState;
use crate::clock::duration_ms;
use crate::http::{read_body, ClientIp};
use crate::password::credentials::{self, CredentialError, MAX_USERNAME_CHARS};
use crate::password::hashing::MAX_PASSWORD_CHARS;
use crate::secrets::{constant_time_eq, TimedHash};
use crate::signin::{self, Attempt, Flow, Grant, Identity, SignInError, SignedIn};
use crate::store::audit::Actor;
use crate::store::sessions::SessionKind;
use crate::store::StoreError;

/// The session cookie of the console.
pub const COOKIE: &str = "tessera_admin";
/// A console session ends after this long without use…
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// …and this long after login, however much it is used.
pub const LIFETIME: Duration = Duration::from_secs(24 * 3600);

const CSRF_LABEL: &[u8] = b"tessera console csrf v1\0";

/// A logged-in site admin.
#[derive(Debug, Clone)]
pub struct Console {
    pub site_id: i64,
    pub user_id: i64,
    pub client_ip: Option<String>,
    /// The CSRF token of this session (forms' `csrf_token`, the API's `X-CSRF-Token`).
    pub csrf_token: String,
}

impl Console {
    /// The service layer's context: this admin acts on their own site.
    pub fn ctx<'a>(&self, state: &'a AppState) -> Ctx<'a> {
        Ctx {
            store: &state.store,
            site_id: self.site_id,
            actor: Actor::User {
                user_id: self.user_id,
            },
            client_ip: self.client_ip.clone(),
            now: state.now(),
        }
    }
}

/// The CSRF token bound to a session id: derived, never stored.
pub fn csrf_token(session_id: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(CSRF_LABEL);
    digest.update(session_id.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.finalize())
}

/// The value of the `tessera_admin` cookie, if the request carries one.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    crate::http::cookie(headers, COOKIE)
}

/// The console session of the request: a live `console` session of a user who is
/// still an admin of an active site. Slides its idle expiry.
pub async fn lookup(state: &AppState, headers: &HeaderMap) -> Result<Option<Console>, StoreError> {
    let Some(secret) = cookie_value(headers) else {
        return Ok(None);
    };
    let hash = TimedHash::of(secret);
    let now = state.now();
    let Some(record) = state.store.find_session(&hash, now).await? else {
        return Ok(None);
    };
    if record.kind != SessionKind::Console.as_str() || record.role != "admin" {
        return Ok(None);
    }
    if let Err(e) = state
        .store
        .slide_session(&hash, &record, now, duration_ms(IDLE))
        .await
    {
        tracing::warn!(error = %e, "could not slide a console session's idle expiry");
    }
    Ok(Some(Console {
        site_id: record.site_id,
        user_id: record.user_id,
        client_ip: None,
        csrf_token: csrf_token(secret),
    }))
}

async fn client_ip(parts: &mut Parts, state: &AppState) -> Option<String> {
    match ClientIp::from_request_parts(parts, state).await {
        Ok(ClientIp(ip)) => ip.map(|ip| ip.to_string()),
        Err(never) => match never {},
    }
}

/// A page of the console: the admin, or a redirect to the login form.
impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match lookup(state, &parts.headers).await {
            Ok(Some(mut console)) => {
                console.client_ip = client_ip(parts, state).await;
                Ok(console)
            }
            Ok(None) => Err(Redirect::to("/admin/login").into_response()),
            Err(e) => Err(ConsoleError::from(e).into_response()),
        }
    }
}

/// This server's own origin: the public URL's, else the one the request was sent to.
fn own_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    match &state.config.public_url {
        Some(url) => Some(url.origin().ascii_serialization()),
        None => headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|host| format!("http://{host}")),
    }
}

/// False when the browser says the request comes from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` that is not this server's.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|v| v.eq_ignore_ascii_case("cross-site")) {
        return false;
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let origin = origin.to_str().unwrap_or("null");
            own_origin(state, headers).is_some_and(|own| own.eq_ignore_ascii_case(origin))
        }
    }
}

fn forbidden_cross_site() -> ConsoleError {
    ConsoleError::Forbidden(
        "This request came from another site and was refused; nothing was changed.".into(),
    )
}

/// A state-changing console request: same origin, a live session, the right
/// `csrf_token` field; its form fields. Refused with a 403 page and no change otherwise.
pub struct ConsolePost {
    pub console: Console,
    pub form: Form,
}

impl FromRequest<AppState> for ConsolePost {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        if !same_origin(state, &parts.headers) {
            return Err(forbidden_cross_site().into_response());
        }
        let mut console = match lookup(state, &parts.headers).await {
            Ok(Some(console)) => console,
            Ok(None) => return Err(Redirect::to("/admin/login").into_response()),
            Err(e) => return Err(ConsoleError::from(e).into_response()),
        };
        console.client_ip = client_ip(&mut parts, state).await;
        let bytes = read_body(body)
            .await
            .map_err(|e| ConsoleError::Invalid(e.to_string()).into_response())?;
        let form = Form::parse(&bytes).map_err(IntoResponse::into_response)?;
        let given = form.get("csrf_token").unwrap_or("");
        if !constant_time_eq(given, &console.csrf_token) {
            return Err(ConsoleError::Forbidden(
                "The form's security token is missing or out of date; nothing was changed. Reload the page and try again.".into(),
            )
            .into_response());
        }
        Ok(ConsolePost { console, form })
    }
}

/// The admin API's caller from a console session (SPEC §7.2): the cookie, the
/// same-origin rule, and `X-CSRF-Token`. `Ok(None)` when there is no live session.
pub async fn api_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Console>, crate::http::ApiError> {
    let Some(console) = lookup(state, headers).await? else {
        return Ok(None);
    };
    let given = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !same_origin(state, headers) || !constant_time_eq(given, &console.csrf_token) {
        return Err(crate::http::ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_csrf_token",
            "a console session must send its X-CSRF-Token header from the console's origin",
        ));
    }
    Ok(Some(console))
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    layout: Layout,
    site_id: String,
}

/// `GET /admin/login`
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if let Ok(Some(_)) = lookup(&state, &headers).await {
        return Redirect::to("/admin/keys").into_response();
    }
    let query = Form::query(query.as_deref());
    let page = LoginPage {
        layout: Layout::bare("Log in").with_flash(&query),
        site_id: query.non_empty("site_id").unwrap_or("").to_string(),
    };
    page::ok(&page)
}

/// The one message of every failed login, whatever failed.
const LOGIN_FAILED: &str =
    "Login failed. Check the Site ID, user name and password; only the site's admins can log in.";

fn login_failed(site_id: &str) -> Response {
    let page = LoginPage {
        layout: Layout::bare("Log in").with_error(Some(LOGIN_FAILED.into())),
        site_id: site_id.to_string(),
    };
    page::render(StatusCode::UNAUTHORIZED, &page)
}

fn set_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = state
        .config
        .public_url
        .as_ref()
        .is_some_and(|u| u.scheme() == "https");
    let cookie = format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/admin; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).expect("a cookie of URL-safe characters")
}

/// `POST /admin/login`: Argon2 and the brute-force limits of password login (§4.4).
pub async fn login(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    if !same_origin(&state, &parts.headers) {
        return forbidden_cross_site().into_response();
    }
    let ClientIp(ip) = match ClientIp::from_request_parts(&mut parts, &state).await {
        Ok(ip) => ip,
        Err(never) => match never {},
    };
    let form = match read_body(body).await {
        Ok(bytes) => match Form::parse(&bytes) {
            Ok(form) => form,
            Err(e) => return e.into_response(),
        },
        Err(e) => return ConsoleError::Invalid(e.to_string()).into_response(),
    };
    let site_text = form.non_empty("site_id").unwrap_or("").to_string();
    let username = form.get("username").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    if username.is_empty()
        || password.is_empty()
        || username.chars().count() > MAX_USERNAME_CHARS
        || password.chars().count() > MAX_PASSWORD_CHARS
    {
        return login_failed(&site_text);
    }
    // Unknown or malformed: a site that does not exist, checked the same way.
    let site_id = crate::http::parse_site_id(&site_text).unwrap_or(0);
    let attempt = Attempt::new(site_id, Flow::Console, &ClientIp(ip));
    let password = SecretString::from(password.to_string());
    let user = match credentials::check(&state, &attempt, username, password, ip).await {
        Ok(user) => user,
        Err(CredentialError::Invalid) => return login_failed(&site_text),
        Err(CredentialError::TooMany(seconds)) => return too_many(seconds),
        Err(CredentialError::Busy) => {
            return ConsoleError::Internal(anyhow::anyhow!("the password hashing pool is full"))
                .into_response()
        }
        Err(CredentialError::Store(e)) => return ConsoleError::from(e).into_response(),
    };
    if user.role != "admin" {
        attempt
            .failed(
                &state,
                "not_an_admin",
                serde_json::json!({ "user_id": user.user_id }),
            )
            .await;
        return login_failed(&site_text);
    }
    let session = Grant::Session {
        kind: SessionKind::Console,
        reverify_after_ms: None,
    };
    // Banned, deactivated, deleted or on a disabled site: refused (and audited) by
    // the pipeline, answered like a wrong password.
    let started = match signin::sign_in(&state, &attempt, Identity::Known(Box::new(user)), session)
        .await
    {
        Ok(SignedIn {
            user,
            session: Some(started),
        }) => (user, started),
        Ok(_) => {
            return ConsoleError::Internal(anyhow::anyhow!("a session grant started no session"))
                .into_response()
        }
        // The console spends no single-use token: a replay cannot happen here.
        Err(SignInError::Refused(_) | SignInError::Replayed) => return login_failed(&site_text),
        Err(SignInError::Store(e)) => return ConsoleError::from(e).into_response(),
    };
    let (user, started) = started;
    tracing::info!(
        user_id = user.user_id,
        site_id = user.site_id,
        "console login"
    );
    let mut response = Redirect::to("/admin/keys").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(
            &state,
            started.session_id.expose_secret(),
            LIFETIME.as_secs(),
        ),
    );
    response
}

fn too_many(seconds: u64) -> Response {
    let mut response = ConsoleError::Forbidden(format!(
        "Too many failed logins. Try again in {} minute(s).",
        seconds.div_ceil(60)
    ))
    .into_response();
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// `POST /admin/logout`: ends the session in the store and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    post: ConsolePost,
) -> Response {
    let hash = TimedHash::of(cookie_value(&headers).unwrap_or(""));
    let ctx = post.console.ctx(&state);
    let ended = state
        .store
        .end_session_audited(&hash, Some(ctx.site_id), |ended| {
            ctx.event("console.logout")
                .with_detail(serde_json::json!({ "user_id": ended.user_id }))
        })
        .await;
    if let Err(e) = ended {
        return ConsoleError::from(e).into_response();
    }
    let mut response = page::done("/admin/login", "logged_out");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_admin_x=2"),
        );
        assert_eq!(cookie_value(&headers), None);
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("b=3; tessera_admin=abc; c=4"),
        );
        assert_eq!(cookie_value(&headers), Some("abc"));
        let mut empty = HeaderMap::new();
        empty.append(header::COOKIE, HeaderValue::from_static("tessera_admin="));
        assert_eq!(cookie_value(&empty), None);
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session_and_reveal_nothing() {
        let a = csrf_token("session-a");
        assert_eq!(a, csrf_token("session-a"));
        assert_ne!(a, csrf_token("session-b"));
        assert_eq!(a.len(), 43);
        assert!(!a.contains("session"));
    }
}
