//! `GET /embed.js` (headers, ETag revalidation, size), the public embed-config
//! endpoint, and the demo customer site's own endpoints — plain HTTP, no browser.

use reqwest::header;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::store::audit::Actor;

use crate::both_stores;

const SOURCE: &str = include_str!("../../src/embed/embed.js");

both_stores! {
    async fn embed_js_is_served_with_cache_headers_and_etag(app) {
        let response = app.client.get(app.url("/embed.js")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_TYPE], "application/javascript; charset=utf-8");
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=300");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let etag = headers[header::ETAG].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34, "strong ETag: {etag}");
        let body = response.text().await.unwrap();
        assert_eq!(body, SOURCE);
        assert!(body.len() < 25 * 1024, "embed.js is {} bytes; the budget is 25 KB", body.len());

        // The ETag is the same on every request (computed once, from the content).
        let again = app.client.get(app.url("/embed.js")).send().await.unwrap();
        assert_eq!(again.headers()[header::ETAG], etag.as_str());

        for matching in [etag.clone(), format!("W/{etag}"), format!("\"nope\", {etag}"), "*".to_string()] {
            let response = app.client.get(app.url("/embed.js"))
                .header(header::IF_NONE_MATCH, &matching).send().await.unwrap();
            assert_eq!(response.status(), 304, "If-None-Match: {matching}");
            assert_eq!(response.headers()[header::ETAG], etag.as_str());
            assert_eq!(response.headers()[header::CACHE_CONTROL], "public, max-age=300");
            assert!(response.bytes().await.unwrap().is_empty());
        }
        let stale = app.client.get(app.url("/embed.js"))
            .header(header::IF_NONE_MATCH, "\"0123\"").send().await.unwrap();
        assert_eq!(stale.status(), 200);
        assert_eq!(stale.text().await.unwrap(), SOURCE);

        let head = app.client.head(app.url("/embed.js")).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()[header::ETAG], etag.as_str());
        let post = app.client.post(app.url("/embed.js")).send().await.unwrap();
        assert_eq!(post.status(), 405);
    }

    async fn embed_config_is_public_and_names_only_the_login_mode(app) {
        let response = app.client.get(app.url(&format!("/rest/v1/sites/{}/embed-config", app.site_id)))
            .header(header::ORIGIN, "https://anywhere.example").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"site_id": app.site_id, "login_mode": "server", "cookie_name": null,
            "account_handling": {"disable_account_handling": false, "disable_avatar_changing": false,
                                 "disable_display_name_changing": false}}));

        for bad in ["999999", "0", "-1", "abc", "1e3", "99999999999999999999999", "%20"] {
            let response = app.client.get(app.url(&format!("/rest/v1/sites/{bad}/embed-config"))).send().await.unwrap();
            assert_eq!(response.status(), 404, "site {bad}");
            assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "site_not_found", "site {bad}");
        }

        let openapi: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(openapi["paths"]["/rest/v1/sites/{site_id}/embed-config"]["get"].is_object(), "documented in OpenAPI");

        // A disabled site looks exactly like an unknown one.
        assert!(app.store.set_site_active(app.site_id, false, app.clock.now_ms(), &Actor::Cli).await.unwrap());
        let response = app.client.get(app.url(&format!("/rest/v1/sites/{}/embed-config", app.site_id))).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }

    async fn demo_site_serves_the_viafoura_verification_json(app) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let created = tessera::embed::demo::create_demo_site(&app.store, &url, app.clock.now_ms()).await.unwrap();
        let site = app.store.get_site(created.site_id).await.unwrap().unwrap();
        assert_eq!(site.origins, vec![url.clone()], "the demo's origin is allowed");
        // Cookie login configured: the script learns the cookie name, and nothing else.
        let config = app.client.get(app.url(&format!("/rest/v1/sites/{}/embed-config", created.site_id)))
            .send().await.unwrap().text().await.unwrap();
        let parsed: Value = serde_json::from_str(&config).unwrap();
        // The seeds' cookie-login set-up: the site handles accounts and profiles.
        assert_eq!(parsed, json!({"site_id": created.site_id, "login_mode": "cookie", "cookie_name": "acme_sid",
            "account_handling": {"disable_account_handling": true, "disable_avatar_changing": true,
                                 "disable_display_name_changing": true}}));
        assert!(!config.contains("validate") && !config.contains(&url), "no endpoint in {config}");
        let demo = tessera::embed::demo::DemoSite::new(tessera::embed::demo::DemoConfig {
            tessera_url: app.base.clone(),
            site_id: created.site_id,
            api_key: created.api_key,
            public_url: url.clone(),
            native_site_id: None,
        });
        tokio::spawn(async move { axum::serve(listener, tessera::embed::demo::router(demo)).await });

        let login = app.client.post(format!("{url}/login"))
            .form(&[("username", "grace"), ("password", "anything"), ("return_to", "//evil.example/")])
            .send().await.unwrap();
        assert_eq!(login.status(), 303);
        assert_eq!(login.headers()[header::LOCATION], "/", "no open redirect");
        let cookie = login.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
        assert!(cookie.starts_with("acme_sid="), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("httponly"), "the embed script must read it: {cookie}");
        let sid = cookie["acme_sid=".len()..].split(';').next().unwrap().to_string();
        assert!(sid.len() >= 43, "256 random bits");

        let valid: Value = app.client.get(format!("{url}/users/validate?sid={sid}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(valid["uid"], "acme-grace");
        assert_eq!(valid["displayName"], "Grace Hopper");
        assert_eq!(valid["email"], "grace@acme.example");
        assert_eq!(valid["error"], "");
        assert_eq!(valid["photoURL"], format!("{url}/avatars/grace.svg"));

        let unknown: Value = app.client.get(format!("{url}/users/validate?sid=nope")).send().await.unwrap().json().await.unwrap();
        assert_eq!(unknown["error"], "not signed in");

        let bad_user = app.client.post(format!("{url}/login")).form(&[("username", "nobody")]).send().await.unwrap();
        assert_eq!(bad_user.status(), 401);

        let page = app.client.get(format!("{url}/cookie")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("src=\"{}/embed.js\" data-site=\"{}\"", app.base, created.site_id)), "{page}");
        assert!(!page.contains("data-sid=\""), "the cookie page uses cookie login");
    }
}

async fn page_text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// `tessera demo`: both servers start, the printed URL serves the demo, SIGTERM stops
/// it and removes its temporary database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tessera_demo_starts_tessera_and_the_demo_site() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--site-listen",
            "127.0.0.1:0",
            "--json",
        ])
        .env_remove("TESSERA_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run tessera demo");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the demo prints its URLs")
        .unwrap()
        .expect("one JSON line");
    let printed: Value = serde_json::from_str(&line).unwrap();
    let open = printed["open"].as_str().unwrap();
    let tessera_url = printed["tessera_url"].as_str().unwrap();
    let db_path = printed["database_url"]
        .as_str()
        .unwrap()
        .strip_prefix("sqlite://")
        .unwrap()
        .to_string();
    assert!(std::path::Path::new(&db_path).exists());

    let client = reqwest::Client::new();
    let home = client.get(open).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Acme News"));
    let page = page_text(&client, format!("{open}cookie")).await;
    assert!(
        page.contains(&format!("src=\"{tessera_url}/embed.js\"")),
        "{page}"
    );
    let config: Value = client
        .get(format!(
            "{tessera_url}/rest/v1/sites/{}/embed-config",
            printed["site_id"]
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["login_mode"], "cookie");
    assert_eq!(config["account_handling"]["disable_account_handling"], true);
    // The /native page: Acme Community lets the platform sign its users in, and the
    // printed user does sign in there.
    let native_site = printed["native_site_id"].as_i64().unwrap();
    let native = page_text(&client, format!("{open}native")).await;
    assert!(
        native.contains(&format!("data-site=\"{native_site}\"")),
        "{native}"
    );
    let signed_in = client
        .post(format!("{tessera_url}/rest/v1/users/login/password"))
        .json(&json!({
            "site_id": native_site,
            "username": printed["native_username"],
            "password": printed["native_password"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200, "{:?}", signed_in.text().await);
    assert_eq!(
        client
            .get(format!("{tessera_url}/embed.js"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "graceful stop: {status}");
    assert!(
        !std::path::Path::new(&db_path).exists(),
        "the temporary database is removed"
    );
}
