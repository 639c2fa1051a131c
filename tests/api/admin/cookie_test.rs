//! `POST /admin/api/v1/site/cookie-login/test` against a real local endpoint: the
//! four outcomes a login would have, with what was sent and received, creating nothing.

use serde_json::json;

use super::{assert_error, AdminApi};
use crate::both_stores;
use crate::cookie_login::endpoint::{Answer, Endpoint};

both_stores! {
    async fn the_test_reports_each_outcome_and_creates_nothing(app) {
        let endpoint = Endpoint::start(Answer::Json(200, json!({
            "user": {"id": 42, "name": "Ann"}, "email": "ann@example.com",
        }))).await;
        let api = AdminApi::new(&app).await;
        let unsaved = json!({
            "cookie_name": "sid",
            "endpoint": endpoint.url("/validate?sid="),
            "mapping": {"uid": "user.id", "displayName": "user.name"},
            "headers": [{"name": "X-Site-Secret", "value": "abcdefghijklmnopqrstuvwxyz"}],
        });
        let test = |cookie: &str| json!({"cookie": cookie, "settings": unsaved.clone()});

        // ok: the mapped profile, the request with its header masked, the raw answer.
        let (status, report) = api.post("/site/cookie-login/test", test("abc$1")).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["outcome"], "ok");
        assert_eq!(report["mapped"]["uid"], "42");
        assert_eq!(report["mapped"]["displayName"], "Ann");
        assert_eq!(report["mapped"]["email"], "ann@example.com");
        assert_eq!(report["request"]["url"], endpoint.url("/validate?sid=abc%241"));
        assert_eq!(report["request"]["headers"][0], json!({"name": "X-Site-Secret", "value": "****wxyz"}));
        assert_eq!(report["response"]["status"], 200);
        assert!(report["response"]["body"].as_str().unwrap().contains("\"Ann\""));
        assert!(!report.to_string().contains("abcdefghijklmnop"));
        assert_eq!(endpoint.seen()[0].headers["x-site-secret"], "abcdefghijklmnopqrstuvwxyz");

        // login_failed: the site does not know the cookie.
        endpoint.answer(Answer::Json(404, json!({"error": "unknown session"})));
        let (_, report) = api.post("/site/cookie-login/test", test("abc")).await;
        assert_eq!(report["outcome"], "login_failed", "{report}");
        assert!(report["detail"].as_str().unwrap().contains("answered 404"), "{report}");
        assert_eq!(report["response"]["status"], 404);
        assert!(report["mapped"].is_null());

        // login_failed through the error field.
        endpoint.answer(Answer::Json(200, json!({"error": "expired"})));
        let (_, report) = api.post("/site/cookie-login/test", test("abc")).await;
        assert_eq!(report["outcome"], "login_failed", "{report}");
        assert!(report["detail"].as_str().unwrap().contains("expired"));

        // verification_unavailable: a 503, then a body that is not JSON.
        endpoint.answer(Answer::Json(503, json!({})));
        let (_, report) = api.post("/site/cookie-login/test", test("abc")).await;
        assert_eq!(report["outcome"], "verification_unavailable", "{report}");
        assert!(report["detail"].as_str().unwrap().contains("answered 503"));
        endpoint.answer(Answer::Raw(200, "text/html", b"<html>login</html>".to_vec()));
        let (_, report) = api.post("/site/cookie-login/test", test("abc")).await;
        assert_eq!(report["outcome"], "verification_unavailable", "{report}");
        assert_eq!(report["response"]["content_type"], "text/html");
        assert_eq!(report["response"]["body"], "<html>login</html>");

        // verification_invalid_response: the mapped uid is not where the mapping says.
        endpoint.answer(Answer::Json(200, json!({"user": {"name": "Ann"}, "email": "a@example.com"})));
        let (_, report) = api.post("/site/cookie-login/test", test("abc")).await;
        assert_eq!(report["outcome"], "verification_invalid_response", "{report}");
        let detail = report["detail"].as_str().unwrap();
        assert!(detail.contains("uid") && detail.contains("user.id"), "{detail}");

        // Unreachable endpoint: no answer at all.
        let gone = json!({"cookie": "abc", "settings": {"cookie_name": "sid", "endpoint": "http://127.0.0.1:9/v?sid="}});
        let (_, report) = api.post("/site/cookie-login/test", gone).await;
        assert_eq!(report["outcome"], "verification_unavailable", "{report}");
        assert!(report["response"].is_null());

        // Nothing was created or saved.
        assert_eq!(app.store.count_site_users(app.site_id).await.unwrap(), 0);
        let (_, site) = api.get("/site").await;
        assert_eq!(site["cookie_login"], serde_json::Value::Null, "nothing saved");
    }

    async fn the_test_uses_the_saved_settings_and_refuses_bad_input(app) {
        let endpoint = Endpoint::start(Answer::Json(200, json!({
            "uid": "u1", "displayName": "Bo", "email": "bo@example.com",
        }))).await;
        let api = AdminApi::new(&app).await;
        let (status, body) = api.post("/site/cookie-login/test", json!({"cookie": "abc"})).await;
        let description = assert_error(status, &body, 400, "invalid_request");
        assert!(description.contains("settings"), "{description}");
        let (status, _) = api.patch("/site", json!({"cookie_login": {
            "cookie_name": "sid", "endpoint": endpoint.url("/v?sid="),
        }})).await;
        assert_eq!(status, 200);
        let (status, report) = api.post("/site/cookie-login/test", json!({"cookie": "abc"})).await;
        assert_eq!(status, 200);
        assert_eq!(report["outcome"], "ok", "{report}");
        for (body, field) in [
            (json!({"cookie": "a b"}), "cookie"),
            (json!({"cookie": ""}), "cookie"),
            (json!({}), "cookie"),
            (json!({"cookie": "abc", "settings": {"timeout_ms": 0}}), "settings.timeout_ms"),
            (json!({"cookie": "abc", "settings": {"cookie": "x"}}), "settings"),
        ] {
            let (status, answer) = api.post("/site/cookie-login/test", body.clone()).await;
            let description = assert_error(status, &answer, 400, "invalid_request");
            assert!(description.contains(field), "{body}: {description}");
        }
        assert_eq!(endpoint.count(), 1, "refused tests send nothing");
    }
}
