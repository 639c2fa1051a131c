//! `GET|PATCH /admin/api/v1/site`: settings with nested bodies, validated field by field.

use serde_json::{json, Value};

use super::{assert_error, AdminApi};
use crate::both_stores;

both_stores! {
    async fn the_site_is_read_and_patched(app) {
        let api = AdminApi::new(&app).await;
        let (status, before) = api.get("/site").await;
        assert_eq!(status, 200);
        assert_eq!(before["site_id"], app.site_id);
        assert_eq!(before["account_handling"], json!({
            "disable_account_handling": false, "disable_avatar_changing": false,
            "disable_display_name_changing": false,
        }));
        assert_eq!(before["cookie_login"], Value::Null, "never configured");

        let (status, after) = api.patch("/site", json!({
            "name": "Daily News",
            "origins": ["https://www.daily.example", "https://Daily.example:443"],
            "api_key_mandatory": true,
            "account_handling": {"disable_account_handling": true, "disable_avatar_changing": true},
            "cookie_login": {
                "cookie_name": "loggedinCookie_sid",
                "endpoint": "https://daily.example/users/validate?sid=",
                "mapping": {"uid": "user.id", "displayName": "user.name"},
                "headers": [{"name": "X-Site-Secret", "value": "abcdefghijklmnopqrstuvwxyz"}],
                "timeout_ms": 2500,
                "reverify_interval_s": 3600,
            },
        })).await;
        assert_eq!(status, 200, "{after}");
        assert_eq!(after["name"], "Daily News");
        assert_eq!(after["origins"], json!(["https://daily.example", "https://www.daily.example"]));
        assert_eq!(after["api_key_mandatory"], true);
        assert_eq!(after["account_handling"]["disable_account_handling"], true);
        assert_eq!(after["account_handling"]["disable_display_name_changing"], false);
        let cookie = &after["cookie_login"];
        assert_eq!(cookie["configured"], true);
        assert_eq!(cookie["mapping"]["uid"], "user.id");
        assert_eq!(cookie["mapping"]["email"], "email");
        assert_eq!(cookie["headers"], json!([{"name": "X-Site-Secret", "value": "****wxyz"}]));
        assert_eq!(cookie["reverify_interval_s"], 3600);
        assert!(!after.to_string().contains("abcdefghijklmnop"), "header values are never returned");
        let (_, read) = api.get("/site").await;
        assert_eq!(read, after, "PATCH answers the new GET body");

        // "****" keeps the stored value; only the fields given change.
        let (status, kept) = api.patch("/site", json!({"cookie_login": {
            "headers": [{"name": "X-Site-Secret", "value": "****"}, {"name": "X-More", "value": "v"}],
        }})).await;
        assert_eq!(status, 200, "{kept}");
        assert_eq!(kept["name"], "Daily News");
        let stored = app.store.get_site(app.site_id).await.unwrap().unwrap();
        let headers = &stored.settings.cookie_login.unwrap().headers;
        assert_eq!(headers[0].value.expose(), "abcdefghijklmnopqrstuvwxyz");
        assert_eq!(headers[1].value.expose(), "v");
        assert!(stored.settings.api_key_mandatory);

        // The change is audited with the key that made it.
        let events = app.store.list_audit(app.site_id, None, 10).await.unwrap();
        let configured = events.iter().find(|e| e.action == "site.configured").unwrap();
        assert_eq!(configured.actor, format!("api_key:{}", app.key_id));
    }

    async fn each_bad_field_is_named_and_nothing_changes(app) {
        let api = AdminApi::new(&app).await;
        let (_, before) = api.get("/site").await;
        let table: Vec<(Value, &str)> = vec![
            (json!({"name": ""}), "name"),
            (json!({"name": "x".repeat(101)}), "name"),
            (json!({"name": 7}), "name"),
            (json!({"origins": ["not an origin"]}), "origins"),
            (json!({"origins": "https://a.example"}), "origins"),
            (json!({"api_key_mandatory": "yes"}), "api_key_mandatory"),
            (json!({"account_handling": {"disable_everything": true}}), "disable_everything"),
            (json!({"account_handling": {"disable_avatar_changing": 1}}), "account_handling.disable_avatar_changing"),
            (json!({"cookie_login": {"cookie_name": "a b"}}), "cookie_login.cookie_name"),
            (json!({"cookie_login": {"endpoint": "https://u:p@daily.example/"}}), "cookie_login.endpoint"),
            (json!({"cookie_login": {"mapping": {"nickname": "user.nick"}}}), "cookie_login.mapping.nickname"),
            (json!({"cookie_login": {"mapping": {"uid": "user..id"}}}), "cookie_login.mapping.uid"),
            (json!({"cookie_login": {"mapping": {"uid": 5}}}), "cookie_login.mapping.uid"),
            (json!({"cookie_login": {"headers": [{"name": "Host", "value": "x"}]}}), "cookie_login.headers[0]"),
            (json!({"cookie_login": {"headers": [{"name": "X-A", "value": "****"}]}}), "cookie_login.headers[0]"),
            (json!({"cookie_login": {"headers": [{"name": "X-A"}]}}), "cookie_login.headers[0]"),
            (json!({"cookie_login": {"timeout_ms": 0}}), "cookie_login.timeout_ms"),
            (json!({"cookie_login": {"timeout_ms": 10001}}), "cookie_login.timeout_ms"),
            (json!({"cookie_login": {"timeout_ms": -1}}), "cookie_login.timeout_ms"),
            (json!({"cookie_login": {"reverify_interval_s": 1}}), "cookie_login.reverify_interval_s"),
            // A valid field beside a bad one: the valid one is not applied either.
            (json!({"name": "Renamed", "cookie_login": {"timeout_ms": 0}}), "cookie_login.timeout_ms"),
        ];
        for (body, field) in table {
            let (status, answer) = api.patch("/site", body.clone()).await;
            let description = assert_error(status, &answer, 400, "invalid_request");
            assert!(description.contains(field), "{body}: {description}");
        }
        let (_, after) = api.get("/site").await;
        assert_eq!(after, before, "nothing changed");
        let events = app.store.list_audit(app.site_id, None, 50).await.unwrap();
        assert!(events.iter().all(|e| e.action != "site.configured"), "nothing audited");
    }

    async fn garbage_bodies_are_400_and_never_500(app) {
        let api = AdminApi::new(&app).await;
        let deep = format!("{}{}", "{\"a\":".repeat(200), "}".repeat(200));
        let bodies: Vec<(&str, String)> = vec![
            ("application/json", "".into()),
            ("application/json", "not json".into()),
            ("application/json", "[1,2,3]".into()),
            ("application/json", "null".into()),
            ("application/json", "{\"name\":\"a\"} trailing".into()),
            ("application/json", "{\"name\":\"a\",\"name\":\"b\"}".into()),
            ("application/json", "{\"cookie_login\":{\"timeout_ms\":1,\"timeout_ms\":2}}".into()),
            ("application/json", deep),
            ("application/json", "{\"name\":\"\\ud800\"}".into()),
            ("text/plain", "{\"name\":\"a\"}".into()),
            ("application/x-www-form-urlencoded", "name=a".into()),
        ];
        for (content_type, body) in bodies {
            let response = app.client.patch(app.url("/admin/api/v1/site"))
                .bearer_auth(&api.token)
                .header("content-type", content_type)
                .body(body.clone())
                .send().await.unwrap();
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or_else(|e| panic!("{body}: not JSON: {e}"));
            assert_error(status, &answer, 400, "invalid_request");
        }
        let big = format!("{{\"name\":\"{}\"}}", "x".repeat(70 * 1024));
        let response = app.client.patch(app.url("/admin/api/v1/site"))
            .bearer_auth(&api.token).header("content-type", "application/json")
            .body(big).send().await.unwrap();
        assert_eq!(response.status(), 413);
        let (_, site) = api.get("/site").await;
        assert_eq!(site["name"], "Test site");
    }
}

crate::both_databases! {
    async fn production_refuses_http_and_internal_endpoints_when_saved(db) {
        let config = tessera::config::Config {
            allow_private_endpoints: false,
            ..crate::helpers::test_config(&db)
        };
        let app = crate::helpers::TestApp::spawn(&db, config).await;
        let api = AdminApi::new(&app).await;
        for (endpoint, needle) in [
            ("http://daily.example/v?sid=", "must use https"),
            ("https://169.254.169.254/v?sid=", "internal address"),
            ("https://[::1]/v?sid=", "internal address"),
            ("https://10.1.2.3/v?sid=", "internal address"),
        ] {
            let (status, body) = api.patch("/site", json!({"cookie_login": {"endpoint": endpoint}})).await;
            let description = assert_error(status, &body, 400, "invalid_request");
            assert!(description.contains("cookie_login.endpoint") && description.contains(needle), "{description}");
        }
        let (status, _) = api.patch("/site", json!({"cookie_login": {"endpoint": "https://daily.example/v?sid="}})).await;
        assert_eq!(status, 200);
        app.stop().await;
    }
}
