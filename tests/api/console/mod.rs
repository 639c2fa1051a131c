//! The admin console (SPEC §7.3) over plain HTTP on both stores: login, the session
//! cookie, CSRF and origin checks, and the pages' actions through the service layer.

mod audit;
mod authentication;
mod login;
mod pages;
mod token_login;

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;

use crate::admin::AdminApi;
use crate::helpers::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

/// A local user of the test site with `role`; returns its id.
pub async fn create_user(app: &TestApp, username: &str, role: &str) -> i64 {
    let api = AdminApi::new(app).await;
    let (status, body) = api
        .post(
            "/users",
            json!({"username": username, "password": PASSWORD, "role": role}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["user_id"].as_i64().unwrap()
}

/// POSTs the login form from the console's own origin.
pub async fn post_login(
    app: &TestApp,
    site_id: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/admin/login"))
        .header("Origin", &app.base)
        .form(&[
            ("site_id", site_id),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// The `tessera_admin` cookie a response sets, with its attributes.
pub fn set_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tessera_admin="))
        .map(str::to_string)
}

/// The value of `name="NAME" value="…"` in a page.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + 7;
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
}

/// A logged-in admin's browser, cookies handled by hand.
pub struct Console<'a> {
    pub app: &'a TestApp,
    pub user_id: i64,
    pub cookie: String,
    pub csrf: String,
}

impl<'a> Console<'a> {
    /// Creates an admin `username` and logs it in.
    pub async fn login(app: &'a TestApp, username: &str) -> Console<'a> {
        let user_id = create_user(app, username, "admin").await;
        let response = post_login(app, &app.site_id.to_string(), username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookie(response.headers()).expect("a session cookie");
        let cookie = cookie.split(';').next().unwrap().to_string();
        let mut console = Console {
            app,
            user_id,
            cookie,
            csrf: String::new(),
        };
        let (status, page) = console.get("/admin/keys").await;
        assert_eq!(status, 200, "{page}");
        console.csrf = field_value(&page, "csrf_token").expect("a CSRF token");
        console
    }

    pub async fn get_response(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url(path))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self.get_response(path).await;
        (response.status(), response.text().await.unwrap())
    }

    /// POSTs a form from the console's origin with the session's CSRF token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = form.to_vec();
        fields.push(("csrf_token", &self.csrf));
        self.post_raw(path, &fields, Some(&self.app.base)).await
    }

    /// POSTs exactly these fields, with this `Origin` (if any).
    pub async fn post_raw(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .app
            .client
            .post(self.app.url(path))
            .header("Cookie", &self.cookie)
            .form(form);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.unwrap()
    }
}

/// Where a redirect goes.
pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}
