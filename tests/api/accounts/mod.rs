//! Accounts API (SPEC §3.1, §3.2), sessions (§3.3), bans (§3.4), the user/audit CLI.

mod bans;
mod cli;
mod cors;
mod login;
mod logout;
mod sessions;
mod validation;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

/// POSTs a form to the login endpoint with a bearer token.
pub async fn login(app: &TestApp, token: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/rest/v1/accounts/login"))
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .expect("login request")
}

/// A login that must succeed: `(user_id, session)`.
pub async fn login_ok(app: &TestApp, token: &str, id: &str, name: &str) -> (i64, String) {
    let response = login(app, token, &[("id", id), ("name", name)]).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let body: Value = response.json().await.unwrap();
    (
        body["user_id"].as_i64().unwrap(),
        body["session"].as_str().unwrap().to_string(),
    )
}

/// POSTs a form to the accounts logout endpoint.
pub async fn logout(app: &TestApp, token: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/rest/v1/accounts/logout"))
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .expect("logout request")
}

/// `GET /rest/v1/session`: status and JSON body.
pub async fn lookup(app: &TestApp, session: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url("/rest/v1/session"))
        .header("X-Tessera-Session", session)
        .send()
        .await
        .expect("lookup request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

/// Asserts the session is live and returns its lookup body.
pub async fn assert_live(app: &TestApp, session: &str) -> Value {
    let (status, body) = lookup(app, session).await;
    assert_eq!(status, 200, "session should be live: {body}");
    body
}

/// Asserts the session is not live (401 invalid_session).
pub async fn assert_dead(app: &TestApp, session: &str) {
    let (status, body) = lookup(app, session).await;
    assert_eq!(status, 401, "session should be dead: {body}");
    assert_eq!(body["error"], "invalid_session");
}

/// Asserts the error body `{"error": code, "error_description": …}` and returns the description.
pub async fn error_of(response: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error"], code, "{body}");
    body["error_description"]
        .as_str()
        .unwrap_or_else(|| panic!("no description: {body}"))
        .to_string()
}

/// A second site with its own origin and an `accounts` token: `(site_id, token)`.
pub async fn second_site(app: &TestApp, origin: &str) -> (i64, String) {
    use secrecy::ExposeSecret;
    use tessera::store::audit::Actor;
    let created = app
        .store
        .create_site(
            "Other site",
            &[origin.to_string()],
            tessera::clock::Clock::now_ms(&app.clock),
            &Actor::Cli,
        )
        .await
        .unwrap();
    let response = app
        .post_form_basic(
            "/oauth2/token",
            &created.site_id.to_string(),
            created.api_key.expose_secret(),
            &[("grant_type", "client_credentials"), ("scope", "accounts")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    (
        created.site_id,
        body["access_token"].as_str().unwrap().to_string(),
    )
}
