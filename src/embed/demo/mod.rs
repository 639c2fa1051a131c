//! A small demo "customer site" (Acme News) that uses Tessera the way a real site does:
//! its own login form and session cookie (`acme_sid`, readable by scripts, random), its
//! own verification endpoint in the Viafoura shape (`/users/validate?sid=`), its own
//! OpenID provider (`oidc.rs`), and pages that embed the widget — with cookie login,
//! with server-side login through the accounts API, with an ID token, and one
//! (`native.rs`) of a second site that lets the platform sign its users in.
//! `tessera demo` runs it next to Tessera; tests start it too.

pub mod native;
mod oidc;
mod pages;
mod tessera_api;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use tessera_api::TesseraApi;

/// The demo site's session cookie, which the embed script reads (not HttpOnly on purpose).
pub const DEMO_COOKIE: &str = "acme_sid";

/// A user of the demo site. Any password is accepted: this is a demo.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    pub username: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    /// Avatar colour of the SVG the demo site serves at `/avatars/USERNAME.svg`.
    pub color: &'static str,
}

pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        username: "ada",
        name: "Ada Lovelace",
        email: "ada@acme.example",
        color: "#7c3aed",
    },
    DemoUser {
        username: "grace",
        name: "Grace Hopper",
        email: "grace@acme.example",
        color: "#0891b2",
    },
    DemoUser {
        username: "mallory",
        name: "Mallory Troll",
        email: "mallory@acme.example",
        color: "#dc2626",
    },
];

fn demo_user(username: &str) -> Option<&'static DemoUser> {
    DEMO_USERS.iter().find(|u| u.username == username)
}

/// Where the demo site finds Tessera and which Tessera site it is.
pub struct DemoConfig {
    /// Tessera's base URL, as browsers and this server reach it (`http://127.0.0.1:8080`).
    pub tessera_url: String,
    pub site_id: i64,
    /// The Tessera site's API key, used by the server-side page (never sent to browsers).
    pub api_key: SecretString,
    /// This demo site's own origin (`http://127.0.0.1:8081`), for avatar URLs.
    pub public_url: String,
    /// Acme Community, the Tessera site of the `/native` page ([`native::create_native_site`]).
    pub native_site_id: Option<i64>,
}

struct DemoSession {
    user: &'static DemoUser,
    /// The Tessera session the server-side page started for this login, once it has.
    tessera: Option<(i64, SecretString)>,
}

struct Inner {
    config: DemoConfig,
    tessera: TesseraApi,
    /// Keyed by the `acme_sid` cookie value. A demo keeps them in memory.
    sessions: Mutex<HashMap<String, DemoSession>>,
    /// Acme's own OpenID provider (the `/id-token` page).
    oidc: oidc::Provider,
}

/// The demo site's state; cheap to clone.
#[derive(Clone)]
pub struct DemoSite(Arc<Inner>);

impl DemoSite {
    pub fn new(config: DemoConfig) -> Self {
        let tessera = TesseraApi::new(&config);
        DemoSite(Arc::new(Inner {
            config,
            tessera,
            sessions: Mutex::new(HashMap::new()),
            oidc: oidc::Provider::generate(),
        }))
    }

    pub fn config(&self) -> &DemoConfig {
        &self.0.config
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, DemoSession>> {
        // A panic while holding the lock leaves the map consistent: keep serving.
        self.0.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current(&self, headers: &HeaderMap) -> Option<(String, &'static DemoUser)> {
        let sid = read_cookie(headers, DEMO_COOKIE)?;
        let user = self.sessions().get(&sid)?.user;
        Some((sid, user))
    }
}

/// The demo site's routes.
pub fn router(site: DemoSite) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/cookie", get(cookie_page))
        .route("/server", get(server_page))
        .route("/native", get(native::native_page))
        .route("/id-token", get(oidc::page))
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route("/oidc/jwks", get(oidc::jwks))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/users/validate", get(validate))
        .route("/avatars/{file}", get(avatar))
        .with_state(site)
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    crate::http::cookie(headers, name).map(str::to_string)
}

/// Only local paths: the login form must not become an open redirect.
fn local_path(return_to: Option<&str>) -> String {
    match return_to {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.into(),
        _ => "/".into(),
    }
}

#[tracing::instrument(skip_all)]
async fn index(State(site): State<DemoSite>, headers: HeaderMap) -> Html<String> {
    let user = site.current(&headers).map(|(_, u)| u);
    Html(pages::index(user))
}

#[tracing::instrument(skip_all)]
async fn cookie_page(State(site): State<DemoSite>, headers: HeaderMap) -> Html<String> {
    let user = site.current(&headers).map(|(_, u)| u);
    Html(pages::cookie_page(site.config(), user))
}

#[derive(Deserialize)]
struct RenewQuery {
    renew: Option<String>,
}

/// Server-side login (SPEC §3): the site's server asks Tessera for a session of the
/// signed-in user and writes it into the page's `<script>` tag.
#[tracing::instrument(skip_all)]
async fn server_page(
    State(site): State<DemoSite>,
    headers: HeaderMap,
    Query(query): Query<RenewQuery>,
) -> Html<String> {
    let Some((sid, user)) = site.current(&headers) else {
        return Html(pages::server_page(site.config(), None, None, None));
    };
    let existing = site.sessions().get(&sid).and_then(|s| {
        s.tessera
            .as_ref()
            .map(|(uid, tsid)| (*uid, tsid.expose_secret().to_string()))
    });
    let existing = if query.renew.is_some() {
        None
    } else {
        existing
    };
    let tessera = match existing {
        Some(found) => Ok(found),
        None => site.0.tessera.login(user).await.inspect(|(uid, tsid)| {
            if let Some(s) = site.sessions().get_mut(&sid) {
                s.tessera = Some((*uid, SecretString::from(tsid.clone())));
            }
        }),
    };
    match tessera {
        Ok((uid, tsid)) => Html(pages::server_page(
            site.config(),
            Some(user),
            Some((uid, &tsid)),
            None,
        )),
        Err(e) => {
            tracing::warn!(error = %e, "demo: server-side login failed");
            Html(pages::server_page(
                site.config(),
                Some(user),
                None,
                Some(&e.to_string()),
            ))
        }
    }
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    #[allow(dead_code)]
    password: Option<String>,
    return_to: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn login(State(site): State<DemoSite>, Form(form): Form<LoginForm>) -> Response {
    let back = local_path(form.return_to.as_deref());
    let Some(user) = demo_user(form.username.trim()) else {
        return (
            StatusCode::UNAUTHORIZED,
            Html(pages::message(
                "Unknown demo user: try ada, grace or mallory.",
                &back,
            )),
        )
            .into_response();
    };
    // A fresh random value on every login, as the cookie-login guide asks (256 bits).
    let sid = crate::secrets::random_urlsafe(32);
    site.sessions().insert(
        sid.clone(),
        DemoSession {
            user,
            tessera: None,
        },
    );
    let cookie = format!("{DEMO_COOKIE}={sid}; Path=/; SameSite=Lax");
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct LogoutForm {
    return_to: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn logout(State(site): State<DemoSite>, headers: HeaderMap, body: bytes::Bytes) -> Response {
    // The form posts `return_to`; scripts post nothing at all.
    let form: Option<LogoutForm> = serde_urlencoded::from_bytes(&body).ok();
    let back = local_path(form.as_ref().and_then(|f| f.return_to.as_deref()));
    let ended = read_cookie(&headers, DEMO_COOKIE).and_then(|sid| site.sessions().remove(&sid));
    // The site's server ends the platform session it started (SPEC §3.2).
    if let Some((_, tsid)) = ended.and_then(|s| s.tessera) {
        if let Err(e) = site.0.tessera.logout(&tsid).await {
            tracing::warn!(error = %e, "demo: platform logout failed");
        }
    }
    let mut response = Redirect::to(&back).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("acme_sid=; Path=/; Max-Age=0; SameSite=Lax"),
    );
    response
}

#[derive(Deserialize)]
struct ValidateQuery {
    sid: Option<String>,
}

/// The verification endpoint Tessera calls with the cookie value (Viafoura's JSON shape).
#[tracing::instrument(skip_all)]
async fn validate(State(site): State<DemoSite>, Query(query): Query<ValidateQuery>) -> Response {
    let user = query
        .sid
        .and_then(|sid| site.sessions().get(&sid).map(|s| s.user));
    let body = match user {
        Some(user) => json!({
            "uid": format!("acme-{}", user.username),
            "displayName": user.name,
            "email": user.email,
            "error": "",
            "photoURL": format!("{}/avatars/{}.svg", site.config().public_url, user.username),
            "socialData": [{ "social": "data" }],
        }),
        None => json!({ "uid": "", "displayName": "", "email": "", "error": "not signed in",
                        "photoURL": "", "socialData": null }),
    };
    Json(body).into_response()
}

/// Generated avatars, so the demo works offline.
#[tracing::instrument(skip_all)]
async fn avatar(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let user = file.strip_suffix(".svg").and_then(demo_user);
    match user {
        Some(user) => (
            [(header::CONTENT_TYPE, "image/svg+xml")],
            pages::avatar_svg(user),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such avatar").into_response(),
    }
}

/// Creates the Tessera site the demo site plays: its origin allowed (CORS), cookie login
/// pointed at its verification endpoint, ID-token login trusting its OpenID provider,
/// account handling switched off. Used by `tessera demo` and by the tests.
pub async fn create_demo_site(
    store: &crate::store::Store,
    demo_origin: &str,
    now: crate::clock::Millis,
) -> Result<crate::store::sites::CreatedSite, crate::store::StoreError> {
    let actor = crate::store::audit::Actor::System;
    let origins = [demo_origin.to_string()];
    let created = store
        .create_site("Acme News (demo)", &origins, now, &actor)
        .await?;
    let cookie_login = crate::settings::CookieLoginSettings {
        cookie_name: Some(DEMO_COOKIE.to_string()),
        endpoint: Some(format!("{demo_origin}/users/validate?sid=")),
        // Short, so that re-verification can be watched in the demo.
        reverify_interval_ms: 15 * 60 * 1000,
        ..Default::default()
    };
    // As the seeds' cookie-login set-up recommends: the site handles accounts and
    // profiles, so the widget offers no sign-in form and no profile changes.
    let switches = crate::settings::AccountHandling {
        disable_account_handling: true,
        disable_avatar_changing: true,
        disable_display_name_changing: true,
    };
    store
        .configure_site(
            created.site_id,
            None,
            |settings| {
                settings.cookie_login = Some(cookie_login);
                settings.account_handling = switches;
                settings.id_token_login = Some(crate::settings::IdTokenLoginSettings {
                    issuer: Some(demo_origin.to_string()),
                    client_id: Some(oidc::CLIENT_ID.to_string()),
                    ..Default::default()
                });
            },
            now,
            &actor,
        )
        .await?;
    Ok(created)
}
