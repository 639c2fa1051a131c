//! Account handling (SPEC §6.1): the three switches in the embed configuration, the
//! user's own profile change, and the widget's password sign-in endpoint.

mod config;
mod login;
mod profile;

use serde_json::Value;
use tessera::clock::Clock;
use tessera::settings::AccountHandling;
use tessera::store::audit::Actor;

use crate::helpers::TestApp;

/// The test site's allowed origin (see `TestApp::spawn`).
pub const MY_ORIGIN: &str = "http://127.0.0.1:9";

/// Sets the site's three switches.
pub async fn set_switches(app: &TestApp, site_id: i64, switches: AccountHandling) {
    let changed = app
        .store
        .configure_site(
            site_id,
            None,
            |settings| settings.account_handling = switches,
            app.clock.now_ms(),
            &Actor::Cli,
        )
        .await
        .expect("configure site");
    assert!(changed, "site {site_id} exists");
}

/// Every switch on: what the seeds' cookie-login set-up asks for.
pub fn all_off() -> AccountHandling {
    AccountHandling {
        disable_account_handling: true,
        disable_avatar_changing: true,
        disable_display_name_changing: true,
    }
}

/// A session of a site user through the accounts API: `(user_id, session)`.
pub async fn server_session(app: &TestApp, id: &str, name: &str) -> (i64, String) {
    crate::accounts::login_ok(app, &app.token("accounts").await, id, name).await
}

/// A response reduced to status and body text (for byte-for-byte comparisons).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub async fn of(response: reqwest::Response) -> Answer {
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// Asserts `{"error": code, …}` with `status`; returns the body.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        body
    }
}

/// `GET /rest/v1/session`.
pub async fn lookup(app: &TestApp, session: &str) -> Answer {
    Answer::of(
        app.client
            .get(app.url("/rest/v1/session"))
            .header("X-Tessera-Session", session)
            .send()
            .await
            .unwrap(),
    )
    .await
}
