//! Cookie login (SPEC §5) against real verification endpoints: small axum servers
//! on port 0 that record every request they receive.

mod cli;
mod cors;
pub mod endpoint;
mod failures;
mod flash_crowd;
mod isolation;
mod login;
mod private;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::settings::CookieLoginSettings;
use tessera::store::audit::{Actor, AuditEvent};

use crate::helpers::TestApp;

/// Turns cookie login on for `site_id` with `endpoint`, then lets `edit` adjust the settings.
pub async fn configure(
    app: &TestApp,
    site_id: i64,
    endpoint: &str,
    edit: impl FnOnce(&mut CookieLoginSettings) + Send,
) {
    let mut settings = CookieLoginSettings {
        cookie_name: Some("loggedinCookie_sid".into()),
        endpoint: Some(endpoint.into()),
        ..CookieLoginSettings::default()
    };
    edit(&mut settings);
    let found = app
        .store
        .configure_site(
            site_id,
            None,
            move |s| s.cookie_login = Some(settings),
            app.clock.now_ms(),
            &Actor::Cli,
        )
        .await
        .expect("configure site");
    assert!(found);
}

/// `POST /rest/v1/users/login/cookie` with a JSON body.
pub async fn login_raw(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/rest/v1/users/login/cookie"))
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("cookie login request");
    let status = response.status();
    let body = response.json().await.expect("a JSON answer");
    (status, body)
}

pub async fn login(app: &TestApp, site_id: i64, cookie: &str) -> (StatusCode, Value) {
    login_raw(app, json!({ "site_id": site_id, "cookie": cookie })).await
}

/// The endpoint's answer for a user, in the seed's shape.
pub fn answer(uid: &str, name: &str, email: &str) -> Value {
    json!({ "uid": uid, "displayName": name, "email": email, "error": "", "photoURL": "", "socialData": "" })
}

/// The site's audit events, newest first.
pub async fn audit(app: &TestApp, site_id: i64) -> Vec<AuditEvent> {
    app.store
        .list_audit(site_id, None, 100)
        .await
        .expect("audit log")
}

/// Asserts a 502 `verification_unavailable`-family answer in the `{"error","error_description"}` shape.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_error: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["error"], want_error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

/// The server's `/metrics` text.
pub async fn metrics(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .expect("metrics request")
        .text()
        .await
        .expect("metrics text")
}

/// The value of `name{site_id="SITE"…}` (the first such series), if present.
pub fn site_metric(metrics: &str, name: &str, site_id: i64, extra_label: &str) -> Option<f64> {
    let prefix = format!("{name}{{site_id=\"{site_id}\"{extra_label}}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().parse().expect("a number"))
}
