//! The admin JSON API (SPEC §7.2) over real HTTP on both stores: a site's own servers
//! with a token of scope `admin`, confined to their site.

mod auth;
mod cli_parity;
mod cookie_test;
mod keys;
mod site;
mod users;
mod users_search;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

/// A client of the admin API with a fresh token of the test site.
pub struct AdminApi<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl<'a> AdminApi<'a> {
    pub async fn new(app: &'a TestApp) -> AdminApi<'a> {
        let token = app.token("admin").await;
        AdminApi { app, token }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(&format!("/admin/api/v1{path}")))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin request");
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }
}

/// Asserts `{"error": code, "error_description": …}` with this status; returns the description.
#[track_caller]
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, code: &str) -> String {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    body["error_description"]
        .as_str()
        .expect("a description")
        .to_string()
}

/// Signs a site user in through the accounts API; returns (user_id, session id).
pub async fn sso_login(
    app: &TestApp,
    token: &str,
    id: &str,
    name: &str,
    email: &str,
) -> (i64, String) {
    let response = app
        .client
        .post(app.url("/rest/v1/accounts/login"))
        .bearer_auth(token)
        .form(&[("id", id), ("name", name), ("email", email)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    (
        body["user_id"].as_i64().unwrap(),
        body["session"].as_str().unwrap().to_string(),
    )
}

/// The status of `GET /rest/v1/session` for a session id.
pub async fn session_status(app: &TestApp, session: &str) -> u16 {
    app.client
        .get(app.url("/rest/v1/session"))
        .header("X-Tessera-Session", session)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
