//! The console's Authentication page: cookie-login settings saved through the admin
//! layer (header values write-only) and the Test button on unsaved values.

use reqwest::StatusCode;
use serde_json::json;

use super::Console;
use crate::admin::AdminApi;
use crate::both_stores;
use crate::cookie_login::endpoint::{Answer, Endpoint};

both_stores! {
    async fn the_authentication_page_tests_and_saves_cookie_login(app) {
        let endpoint = Endpoint::start(Answer::Json(200, json!({
            "user": {"id": 42, "name": "Ann <b>"}, "email": "ann@example.com",
        }))).await;
        let console = Console::login(&app, "boss").await;
        let (status, html) = console.get("/admin/authentication").await;
        assert_eq!(status, 200);
        for field in ["cookie_name", "endpoint", "map_uid", "map_displayName", "map_email", "map_error",
                      "map_photoURL", "map_socialData", "timeout_ms", "reverify_interval",
                      "header_name", "header_value", "cookie"] {
            assert!(html.contains(&format!("name=\"{field}\"")), "{field}");
        }
        let url = endpoint.url("/validate?sid=");
        let form = |cookie: &'static str, secret: &'static str| {
            vec![
                ("cookie_name", "sid".to_string()), ("endpoint", url.clone()),
                ("map_uid", "user.id".into()), ("map_displayName", "user.name".into()),
                ("map_email", "email".into()), ("map_error", "error".into()),
                ("map_photoURL", "photoURL".into()), ("map_socialData", "socialData".into()),
                ("timeout_ms", "2000".into()), ("reverify_interval", "12h".into()),
                ("header_name", "X-Site-Secret".into()), ("header_value", secret.into()),
                ("header_name", "".into()), ("header_value", "".into()),
                ("cookie", cookie.into()),
            ]
        };
        let post = |path: &'static str, fields: Vec<(&'static str, String)>| {
            let console = &console;
            async move {
                let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                console.post(path, &fields).await
            }
        };

        // Test on unsaved values: request, pretty answer, mapped profile; nothing saved.
        let tested = post("/admin/authentication/test", form("abc", "s3cret-value-1234")).await;
        assert_eq!(tested.status(), 200);
        let html = tested.text().await.unwrap();
        assert!(html.contains("Test result"));
        assert!(html.contains("this cookie would log in"), "{html}");
        assert!(html.contains("Ann &#60;b&#62;"));
        assert!(html.contains("\n  &#34;email&#34;: &#34;ann@example.com&#34;"), "pretty-printed");
        assert!(html.contains("plain http"), "warns about http");
        assert!(!html.contains("s3cret-value-1234"));
        assert_eq!(endpoint.seen()[0].headers["x-site-secret"], "s3cret-value-1234");
        let api = AdminApi::new(&app).await;
        let (_, site) = api.get("/site").await;
        assert!(site["cookie_login"].is_null(), "{site}");

        // Save; the header value is never shown again, and an empty value keeps it.
        let saved = post("/admin/authentication", form("", "s3cret-value-1234")).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let (_, site) = api.get("/site").await;
        assert_eq!(site["cookie_login"]["endpoint"], url);
        assert_eq!(site["cookie_login"]["mapping"]["uid"], "user.id");
        assert_eq!(site["cookie_login"]["timeout_ms"], 2000);
        assert_eq!(site["cookie_login"]["reverify_interval_s"], 12 * 3600);
        let (_, html) = console.get("/admin/authentication").await;
        assert!(html.contains("X-Site-Secret") && !html.contains("s3cret-value-1234"));
        let kept = post("/admin/authentication", form("", "")).await;
        assert_eq!(kept.status(), StatusCode::SEE_OTHER);
        let tested = post("/admin/authentication/test", form("abc", "")).await;
        assert_eq!(tested.status(), 200);
        assert_eq!(endpoint.seen().last().unwrap().headers["x-site-secret"], "s3cret-value-1234");

        // Refused input names its field and changes nothing.
        let mut bad = form("", "");
        bad[8].1 = "soon".into();
        let refused = post("/admin/authentication", bad).await;
        assert_eq!(refused.status(), 400);
        assert!(refused.text().await.unwrap().contains("timeout_ms:"));
        let (_, after) = api.get("/site").await;
        assert_eq!(after["cookie_login"]["timeout_ms"], 2000);
        let mut bad = form("", "");
        bad[1].1 = "ftp://example.com/x".into();
        let refused = post("/admin/authentication", bad).await;
        assert_eq!(refused.status(), 400);
        assert!(refused.text().await.unwrap().contains("endpoint:"));
    }
}

both_stores! {
    async fn the_page_shows_how_the_endpoint_has_answered_logins(app) {
        let endpoint = Endpoint::start(Answer::Json(200, crate::cookie_login::answer("u1", "Una", "una@example.com"))).await;
        let console = Console::login(&app, "boss").await;
        let (_, before) = console.get("/admin/authentication").await;
        assert!(!before.contains("Your endpoint lately"), "no login yet: nothing to show");
        crate::cookie_login::configure(&app, app.site_id, &endpoint.url("/v?sid="), |_| {}).await;
        let (status, _) = crate::cookie_login::login(&app, app.site_id, "abc").await;
        assert_eq!(status, StatusCode::OK);
        let (status, after) = console.get("/admin/authentication").await;
        assert_eq!(status, StatusCode::OK);
        assert!(after.contains("Your endpoint lately") && after.contains("0 % failed"), "{after}");
    }
}
