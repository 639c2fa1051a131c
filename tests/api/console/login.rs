//! Logging in and out of the console, the session cookie, CSRF and origin checks.

use reqwest::StatusCode;
use serde_json::json;

use super::{create_user, location, post_login, set_cookie, Console, PASSWORD};
use crate::admin::AdminApi;
use crate::both_stores;

both_stores! {
    async fn login_opens_the_console_with_a_strict_cookie(app) {
        let root = app.client.get(app.url("/admin")).send().await.unwrap();
        assert_eq!(root.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&root), "/admin/login");
        let form = app.client.get(app.url("/admin/login")).send().await.unwrap();
        assert_eq!(form.status(), 200);
        let headers = form.headers().clone();
        assert_eq!(headers["content-security-policy"], "default-src 'self'");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["cache-control"], "no-store");
        let html = form.text().await.unwrap();
        for field in ["name=\"site_id\"", "name=\"username\"", "name=\"password\""] {
            assert!(html.contains(field), "{field}");
        }
        assert!(!html.contains("<script>") && !html.contains("style="), "no inline script or style");

        create_user(&app, "boss", "admin").await;
        let response = post_login(&app, &app.site_id.to_string(), "boss", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/admin/keys");
        let cookie = set_cookie(response.headers()).unwrap();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain-http public URL: {cookie}");
        let value = cookie.split(';').next().unwrap();
        // Stored hashed: the cookie's value is nowhere in the sessions table.
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 1);

        let root = app.client.get(app.url("/admin")).header("Cookie", value).send().await.unwrap();
        assert_eq!(location(&root), "/admin/keys");
        let keys = app.client.get(app.url("/admin/keys")).header("Cookie", value).send().await.unwrap();
        assert_eq!(keys.status(), 200);
        let html = keys.text().await.unwrap();
        assert!(html.contains("Test site"));
        assert!(html.contains(&format!("<code>{}</code>", app.site_id)));
        for page in ["API keys", "Authentication", "General", "Users", "Audit log", "Log out"] {
            assert!(html.contains(page), "{page}");
        }
        assert!(html.len() < 50 * 1024);
        let css = app.client.get(app.url("/admin/static/console.css")).send().await.unwrap();
        assert_eq!(css.status(), 200);
        assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
        let missing = app.client.get(app.url("/admin/nothing-here")).header("Cookie", value).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        assert!(missing.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let wrong_method = app.client.put(app.url("/admin/keys")).header("Cookie", value).send().await.unwrap();
        assert_eq!(wrong_method.status(), 405);
        assert!(wrong_method.headers()["allow"].to_str().unwrap().contains("POST"));
        assert_eq!(wrong_method.headers()["content-security-policy"], "default-src 'self'");
        assert!(wrong_method.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let api_wrong_method = app.client.put(app.url("/admin/api/v1/keys")).send().await.unwrap();
        assert_eq!(api_wrong_method.status(), 405);
        assert!(api_wrong_method.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let api_missing = app.client.get(app.url("/admin/api/v1/nothing")).send().await.unwrap();
        assert_eq!(api_missing.status(), 404);
        assert!(api_missing.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    }

    async fn every_failed_login_gives_the_same_page(app) {
        create_user(&app, "boss", "admin").await;
        create_user(&app, "pleb", "user").await;
        let site = app.site_id.to_string();
        let mut pages = Vec::new();
        for (site, user, password) in [
            (site.as_str(), "boss", "wrong password here"),
            (site.as_str(), "nobody", PASSWORD),
            (site.as_str(), "pleb", PASSWORD),
            ("99999", "boss", PASSWORD),
        ] {
            let response = post_login(&app, site, user, password).await;
            let status = response.status();
            assert!(set_cookie(response.headers()).is_none());
            let html = response.text().await.unwrap().replace(&format!("value=\"{site}\""), "value=\"SITE\"");
            pages.push((status, html));
        }
        assert_eq!(pages[0].0, StatusCode::UNAUTHORIZED);
        assert!(pages[0].1.contains("Login failed"));
        for other in &pages[1..] {
            assert_eq!(other, &pages[0]);
        }
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);
    }

    async fn state_changes_need_the_csrf_token_and_the_same_origin(app) {
        let console = Console::login(&app, "boss").await;
        let keys_before = app.store.list_api_keys(app.site_id).await.unwrap().len();
        let base = app.base.clone();
        for (fields, origin) in [
            (vec![("label", "x")], Some(base.as_str())),
            (vec![("label", "x"), ("csrf_token", "wrong")], Some(base.as_str())),
            (vec![("label", "x"), ("csrf_token", console.csrf.as_str())], Some("https://evil.example")),
            (vec![("label", "x"), ("csrf_token", console.csrf.as_str())], Some("null")),
        ] {
            let response = console.post_raw("/admin/keys", &fields, origin).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{fields:?} {origin:?}");
            assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        }
        let cross = app.client.post(app.url("/admin/keys"))
            .header("Cookie", &console.cookie)
            .header("Sec-Fetch-Site", "cross-site")
            .form(&[("label", "x"), ("csrf_token", console.csrf.as_str())])
            .send().await.unwrap();
        assert_eq!(cross.status(), StatusCode::FORBIDDEN);
        let logout = console.post_raw("/admin/logout", &[], Some(&base)).await;
        assert_eq!(logout.status(), StatusCode::FORBIDDEN);
        let login = app.client.post(app.url("/admin/login")).header("Origin", "https://evil.example")
            .form(&[("site_id", "1"), ("username", "boss"), ("password", PASSWORD)]).send().await.unwrap();
        assert_eq!(login.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.store.list_api_keys(app.site_id).await.unwrap().len(), keys_before);
        let (status, _) = console.get("/admin/keys").await;
        assert_eq!(status, 200, "the session is still live");
        let ok = console.post("/admin/keys", &[("label", "x")]).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(app.store.list_api_keys(app.site_id).await.unwrap().len(), keys_before + 1);
    }

    async fn logout_ends_the_session(app) {
        let console = Console::login(&app, "boss").await;
        let response = console.post("/admin/logout", &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).starts_with("/admin/login"));
        let cleared = set_cookie(response.headers()).unwrap();
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        let after = console.get_response("/admin/keys").await;
        assert_eq!(after.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&after), "/admin/login");
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);
    }

    async fn a_ban_or_role_change_ends_the_console_session_at_once(app) {
        let banned = Console::login(&app, "boss").await;
        let demoted = Console::login(&app, "second").await;
        let api = AdminApi::new(&app).await;
        let (status, _) = api.post(&format!("/users/{}/ban", banned.user_id), json!({"reason": "gone"})).await;
        assert_eq!(status, 200);
        let (status, _) = api.patch(&format!("/users/{}", demoted.user_id), json!({"role": "agent"})).await;
        assert_eq!(status, 200);
        for console in [&banned, &demoted] {
            let response = console.get_response("/admin/keys").await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            let post = console.post("/admin/keys", &[("label", "x")]).await;
            assert_eq!(post.status(), StatusCode::SEE_OTHER);
            assert_eq!(location(&post), "/admin/login");
        }
        // Neither can log in again.
        for name in ["boss", "second"] {
            let response = post_login(&app, &app.site_id.to_string(), name, PASSWORD).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
    }

    async fn the_json_api_accepts_the_console_session_with_its_csrf_header(app) {
        let console = Console::login(&app, "boss").await;
        let call = |csrf: Option<&str>| {
            let mut request = app.client.get(app.url("/admin/api/v1/site")).header("Cookie", &console.cookie);
            if let Some(csrf) = csrf {
                request = request.header("X-CSRF-Token", csrf);
            }
            request.send()
        };
        let ok = call(Some(&console.csrf)).await.unwrap();
        assert_eq!(ok.status(), 200);
        // The console's session is not a platform session: the widget's lookup refuses it.
        let id = console.cookie.trim_start_matches("tessera_admin=").to_string();
        let lookup = app.client.get(app.url("/rest/v1/session")).header("X-Tessera-Session", id).send().await.unwrap();
        assert_eq!(lookup.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = ok.json().await.unwrap();
        assert_eq!(body["site_id"], app.site_id);
        for csrf in [None, Some("wrong")] {
            let refused = call(csrf).await.unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN);
            let body: serde_json::Value = refused.json().await.unwrap();
            assert_eq!(body["error"], "invalid_csrf_token", "{body}");
        }
        let created = app.client.post(app.url("/admin/api/v1/keys"))
            .header("Cookie", &console.cookie)
            .header("X-CSRF-Token", &console.csrf)
            .json(&json!({"label": "from the console"}))
            .send().await.unwrap();
        assert_eq!(created.status(), 201);
        let api = AdminApi::new(&app).await;
        let (_, audit) = api.get("/audit?action=api_key.created").await;
        assert_eq!(audit["events"][0]["actor"], format!("user:{}", console.user_id));
        // No cookie, no token: the API's own 401.
        let anonymous = app.client.get(app.url("/admin/api/v1/site")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
    }
}

both_stores! {
    async fn too_many_failed_logins_are_refused_even_with_the_right_password(app) {
        create_user(&app, "boss", "admin").await;
        let site = app.site_id.to_string();
        for _ in 0..10 {
            let response = post_login(&app, &site, "BOSS", "wrong password here").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        let response = post_login(&app, &site, "boss", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key("retry-after"));
        assert!(set_cookie(response.headers()).is_none());
        assert!(response.text().await.unwrap().contains("Too many failed logins"));
    }
}

crate::both_databases! {
    async fn the_cookie_is_secure_behind_an_https_public_url(db) {
        let config = tessera::config::Config {
            public_url: Some("https://console.example".parse().unwrap()),
            ..crate::helpers::test_config(&db)
        };
        let app = crate::helpers::TestApp::spawn(&db, config).await;
        create_user(&app, "boss", "admin").await;
        let login = |origin: &'static str| {
            app.client.post(app.url("/admin/login")).header("Origin", origin)
                .form(&[("site_id", app.site_id.to_string().as_str()), ("username", "boss"), ("password", PASSWORD)])
                .send()
        };
        // The server's origin is its public URL's.
        let refused = login("http://127.0.0.1").await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let response = login("https://console.example").await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookie(response.headers()).unwrap();
        assert!(cookie.contains("; Secure"), "{cookie}");
        app.stop().await;
    }
}
