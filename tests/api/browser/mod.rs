//! Real-browser tests of the embed script: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `.ci/run`) driven over WebDriver with fantoccini.
//! Each test starts its own chromedriver on a free port with a fresh profile, the Acme
//! demo site (the library's own, as `tessera demo` runs it) on port 0, and the test
//! server of `both_stores!`; extra test pages are served on the demo site's origin.

mod account_handling;
mod console;
mod flows;
mod tokens;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::embed::demo::{self, DemoConfig, DemoSite};
use tokio::net::TcpListener;

use crate::helpers::TestApp;

const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(15);

/// A free local port for chromedriver (it cannot be handed a bound socket).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

fn browser_required() -> bool {
    std::env::var("TESSERA_REQUIRE_BROWSER").is_ok_and(|v| v == "1" || v == "true")
}

/// Runs `test` with a fresh headless Chromium, and always ends the browser afterwards.
pub async fn with_browser<F, Fut>(test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let port = free_port();
    let spawned = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut driver = match spawned {
        Ok(driver) => driver,
        // Like PostgreSQL: loudly skipped on a developer's machine, mandatory in CI.
        Err(e) if !browser_required() => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED browser test: chromedriver unavailable ({e}); apt-get install chromium chromium-driver, or set TESSERA_REQUIRE_BROWSER=1 to fail instead"
            );
            return;
        }
        Err(e) => panic!("chromedriver must be installed (apt-get install chromium chromium-driver; .ci/run does): {e}"),
    };
    let driver_url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let http = reqwest::Client::new();
    while !http
        .get(format!("{driver_url}/status"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(started.elapsed() < WAIT, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().expect("profile dir");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1000,700",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    // chromedriver is plain HTTP on localhost: no TLS stack needed.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("start a Chromium session");
    let result = std::panic::AssertUnwindSafe(test(client.clone()))
        .catch_unwind()
        .await;
    let _ = client.close().await;
    let _ = driver.kill().await;
    drop(profile);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// The Acme demo site wired to the test server, plus test pages on its origin.
pub struct DemoEnv {
    pub url: String,
    pub site_id: i64,
    pub api_key: String,
    /// Acme Community, the `/native` page's site (account handling on).
    pub native: demo::native::NativeSite,
    pages: Arc<Mutex<HashMap<String, String>>>,
}

async fn test_page(
    State(pages): State<Arc<Mutex<HashMap<String, String>>>>,
    Path(name): Path<String>,
) -> Html<String> {
    Html(
        pages
            .lock()
            .unwrap()
            .get(&name)
            .cloned()
            .unwrap_or_default(),
    )
}

impl DemoEnv {
    /// Creates the demo's Tessera sites exactly as `tessera demo` does and starts the site.
    pub async fn start(app: &TestApp) -> DemoEnv {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let created = demo::create_demo_site(&app.store, &url, app.clock.now_ms())
            .await
            .expect("demo site");
        let native = demo::native::create_native_site(&app.store, &url, app.clock.now_ms())
            .await
            .expect("native demo site");
        let site = DemoSite::new(DemoConfig {
            tessera_url: app.base.clone(),
            site_id: created.site_id,
            api_key: created.api_key.clone(),
            public_url: url.clone(),
            native_site_id: Some(native.site_id),
        });
        let pages = Arc::new(Mutex::new(HashMap::new()));
        let router = Router::new()
            .route("/test/{name}", get(test_page))
            .with_state(pages.clone())
            .merge(demo::router(site));
        tokio::spawn(async move { axum::serve(listener, router).await });
        DemoEnv {
            url,
            site_id: created.site_id,
            api_key: created.api_key.expose_secret().to_string(),
            native,
            pages,
        }
    }

    /// Serves `html` at `/test/NAME` on the demo site's (allowed) origin.
    pub fn set_page(&self, name: &str, html: String) -> String {
        self.pages.lock().unwrap().insert(name.into(), html);
        format!("{}/test/{name}", self.url)
    }

    /// A session for a user of the demo site through the accounts API (SPEC §3.1).
    pub async fn server_login(&self, app: &TestApp, id: &str, name: &str) -> (i64, String) {
        let token = app
            .client
            .post(app.url("/oauth2/token"))
            .basic_auth(self.site_id, Some(&self.api_key))
            .form(&[("grant_type", "client_credentials"), ("scope", "accounts")])
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["access_token"]
            .as_str()
            .expect("access token")
            .to_string();
        let response = app
            .client
            .post(app.url("/rest/v1/accounts/login"))
            .bearer_auth(token)
            .form(&[("id", id), ("name", name)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "accounts login");
        let body: Value = response.json().await.unwrap();
        (
            body["user_id"].as_i64().unwrap(),
            body["session"].as_str().unwrap().to_string(),
        )
    }
}

/// Records every `authentication` event into `window.__events`, through the queue.
pub const RECORD_EVENTS: &str = "<script>window.tesseraQ = window.tesseraQ || [];\
  window.tesseraQ.push(function () {\
    ['required','login','logout','failure'].forEach(function (e) {\
      tessera.$subscribe('authentication', e, function (d) { window.__events.push({event: e, data: d === undefined ? null : d}); });\
    });\
  });</script>";

/// A JavaScript condition: the page has recorded an `authentication/NAME` event.
pub fn has_event(name: &str) -> String {
    format!("(window.__events || []).some(function (e) {{ return e.event === '{name}'; }})")
}

/// Status of `GET /rest/v1/session` for `sid`.
pub async fn session_status(app: &TestApp, sid: &str) -> u16 {
    app.client
        .get(app.url("/rest/v1/session"))
        .header("X-Tessera-Session", sid)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits until `sid` is no longer a live session: the widget ends replaced sessions
/// without waiting for the answer, so the server may see it a moment later.
pub async fn wait_session_ended(app: &TestApp, sid: &str, why: &str) {
    let started = Instant::now();
    while session_status(app, sid).await != 401 {
        assert!(started.elapsed() < WAIT, "{why}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls a JavaScript expression until it is truthy; returns its value.
pub async fn wait_js(browser: &Client, expression: &str) -> Value {
    let started = Instant::now();
    loop {
        // Errors are retried: a navigation may be under way.
        let value = browser
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap_or(Value::Null);
        let truthy = !matches!(&value, Value::Null | Value::Bool(false))
            && value != json!("")
            && value != json!(0);
        if truthy {
            return value;
        }
        assert!(
            started.elapsed() < WAIT,
            "timed out waiting for `{expression}`; events: {}",
            events(browser).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `window.__events` as recorded by the page.
pub async fn events(browser: &Client) -> Value {
    browser
        .execute("return window.__events || null;", vec![])
        .await
        .unwrap_or(Value::Null)
}

/// The name the widget shows, once it shows one.
pub async fn widget_name(browser: &Client) -> String {
    wait_js(
        browser,
        "(document.querySelector('.tessera-identity [data-state=logged-in] .tsr-name') || {}).textContent",
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

/// Signs in on the demo site with its own login form.
pub async fn demo_sign_in(browser: &Client, username: &str) {
    browser
        .execute(
            "document.getElementById('username').value = arguments[0];",
            vec![json!(username)],
        )
        .await
        .unwrap();
    browser
        .find(Locator::Css("#site-login button[type=submit]"))
        .await
        .expect("the demo site's login form")
        .click()
        .await
        .expect("submit");
}

/// Saves a screenshot under `target/browser-artifacts/` and prints its path.
pub async fn screenshot(browser: &Client, name: &str) -> PathBuf {
    let png = browser.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    // Written past libtest's capture, so CI logs show the artifact path of passing tests too.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "browser screenshot: {}", path.display());
    path
}

/// A page embedding the script with `attrs`, after `before` (scripts run before it loads).
pub fn embed_page(app: &TestApp, site_id: i64, attrs: &str, before: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>test</title></head><body>\
         <div class=\"tessera-identity\"></div><script>window.__events = [];</script>{before}\
         <script id=\"tessera-platform\" src=\"{base}/embed.js\" data-site=\"{site_id}\" {attrs}></script>\
         </body></html>",
        base = app.base
    )
}
