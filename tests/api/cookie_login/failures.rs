//! Every way a cookie login fails, in the order of SPEC §5.2: the right status and
//! error, no outgoing request where none may be made, and nothing created or changed.

use std::time::Duration;

use serde_json::{json, Value};
use tessera::store::users::User;

use super::endpoint::{Answer, Endpoint};
use super::*;
use crate::both_stores;

/// What must not change when a verification fails.
fn profile(user: &User) -> (String, Option<String>, Option<String>, Option<String>, i64) {
    (
        user.display_name.clone(),
        user.email.clone(),
        user.photo_url.clone(),
        user.social_data.clone(),
        user.updated_at,
    )
}

/// A 1 MiB JSON answer that would be valid if it were not so large.
fn huge_answer() -> Vec<u8> {
    let mut a = answer("new-user", "Big", "big@x.example");
    a["padding"] = json!("x".repeat(1024 * 1024));
    a.to_string().into_bytes()
}

both_stores! {
    async fn unavailable_or_invalid_answers_change_nothing(app) {
        let mut first = answer("existing", "Existing User", "existing@x.example");
        first["photoURL"] = json!("https://img.example/e.png");
        let site = Endpoint::start(Answer::Json(200, first)).await;
        let elsewhere = Endpoint::start(Answer::Json(200, answer("new-user", "Redirected", "r@x.example"))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |s| s.timeout_ms = 1000).await;
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
        let before = app.store.find_user_by_external_id(app.site_id, "existing").await.unwrap().unwrap();
        app.clock.advance(Duration::from_secs(10));

        let mut changed_existing = answer("existing", "Changed", "changed@x.example");
        changed_existing["photoURL"] = json!("https://img.example/changed.png");
        let mut missing_uid = answer("x", "No Uid", "n@x.example");
        missing_uid.as_object_mut().unwrap().remove("uid");
        let mut missing_email = answer("existing", "Changed", "x@x.example");
        missing_email.as_object_mut().unwrap().remove("email");
        let mut bad_email = answer("new-user", "Bad Email", "x");
        bad_email["email"] = json!("not an email");
        let cases: Vec<(&str, Answer, &str, &str)> = vec![
            ("5xx", Answer::Json(500, changed_existing.clone()), "verification_unavailable", "status 500"),
            ("503", Answer::Json(503, changed_existing.clone()), "verification_unavailable", "status 503"),
            ("timeout", Answer::Delay(Duration::from_secs(5), Box::new(Answer::Json(200, changed_existing.clone()))), "verification_unavailable", "within 1000 ms"),
            ("redirect", Answer::Redirect(elsewhere.url("/v?sid=c1")), "verification_unavailable", "status 302"),
            ("non-JSON", Answer::Raw(200, "text/html", b"<html>Welcome back!</html>".to_vec()), "verification_unavailable", "not JSON"),
            ("empty body", Answer::Raw(200, "application/json", Vec::new()), "verification_unavailable", "not JSON"),
            ("1 MiB body", Answer::Raw(200, "application/json", huge_answer()), "verification_unavailable", "larger than 64 KiB"),
            ("1 MiB streamed", Answer::Streamed(huge_answer()), "verification_unavailable", "larger than 64 KiB"),
            ("missing uid", Answer::Json(200, missing_uid), "verification_invalid_response", "field uid"),
            ("missing email", Answer::Json(200, missing_email), "verification_invalid_response", "field email"),
            ("bad email", Answer::Json(200, bad_email), "verification_invalid_response", "field email"),
            ("not an object", Answer::Json(200, json!(["existing"])), "verification_invalid_response", "field uid"),
        ];
        for (what, reply, error, audited) in cases {
            site.answer(reply);
            let seen_before = site.count();
            let (status, body) = login(&app, app.site_id, "c1").await;
            assert_error(status, &body, 502, error);
            assert_eq!(site.count(), seen_before + 1, "{what}: one verification request");
            if error == "verification_invalid_response" {
                let field = audited.trim_start_matches("field ");
                assert!(body["error_description"].as_str().unwrap().contains(field), "{what}: names the field: {body}");
            }
            let after = app.store.find_user_by_external_id(app.site_id, "existing").await.unwrap().unwrap();
            assert_eq!(profile(&after), profile(&before), "{what}: the existing user is unchanged");
            assert!(app.store.find_user_by_external_id(app.site_id, "new-user").await.unwrap().is_none(), "{what}: no user created");
            let last = audit(&app, app.site_id).await.into_iter().next().unwrap();
            assert_eq!((last.action.as_str(), last.outcome.as_str()), ("user.login", "failure"), "{what}");
            assert!(last.detail.0.to_string().contains(audited), "{what}: audit {:?}", last.detail);
        }
        assert_eq!(elsewhere.count(), 0, "redirects are never followed");
    }

    async fn the_sites_error_text_is_audited_never_shown(app) {
        let mut refused = answer("75453", "Ironman", "tony@stark.example");
        refused["error"] = json!("Session 77 expired for tony (internal ref 0xBEEF)");
        let site = Endpoint::start(Answer::Json(200, refused)).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let response = app.client.post(app.url("/rest/v1/users/login/cookie"))
            .json(&json!({"site_id": app.site_id, "cookie": "c1"})).send().await.unwrap();
        assert_eq!(response.status(), 401);
        let text = response.text().await.unwrap();
        assert!(!text.contains("0xBEEF") && !text.contains("expired"), "leaked: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"], "login_failed");
        assert!(app.store.find_user_by_external_id(app.site_id, "75453").await.unwrap().is_none());
        let last = audit(&app, app.site_id).await.into_iter().next().unwrap();
        assert_eq!(last.outcome, "failure");
        assert_eq!(last.detail.0["site_message"], "Session 77 expired for tony (internal ref 0xBEEF)");
        assert_eq!(last.client_ip.as_deref(), Some("127.0.0.1"));
    }

    async fn an_endpoint_4xx_is_login_failed(app) {
        let site = Endpoint::start(Answer::Json(403, json!({"error": "nope"}))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        for status_code in [400, 401, 403, 404, 410] {
            site.answer(Answer::Json(status_code, json!({"uid": "1", "email": "a@x.example"})));
            let (status, body) = login(&app, app.site_id, "c1").await;
            assert_error(status, &body, 401, "login_failed");
        }
        assert!(app.store.find_user_by_external_id(app.site_id, "1").await.unwrap().is_none());
        let last = audit(&app, app.site_id).await.into_iter().next().unwrap();
        assert_eq!(last.detail.0["status"], 410);
    }

    async fn invalid_cookie_values_never_reach_the_endpoint(app) {
        let site = Endpoint::start(Answer::Json(200, answer("1", "A", "a@x.example"))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let long = "x".repeat(4097);
        for bad in ["", long.as_str(), "a b", "a;b", "a\"b", "a<b", "caf\u{e9}", "a\u{1}b", "a\nb", "a,b", "a=b", "a/b", "~"] {
            let (status, body) = login(&app, app.site_id, bad).await;
            assert_error(status, &body, 400, "invalid_cookie");
        }
        let (status, body) = login_raw(&app, json!({"site_id": app.site_id})).await;
        assert_error(status, &body, 400, "invalid_cookie");
        let (status, body) = login_raw(&app, json!({"site_id": app.site_id, "cookie": ["a"]})).await;
        assert_error(status, &body, 400, "invalid_request");
        assert_eq!(site.count(), 0, "the endpoint saw nothing");
        // The longest valid value does reach it.
        let (status, body) = login(&app, app.site_id, &"x".repeat(4096)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(site.count(), 1);
    }

    async fn sites_without_cookie_login_are_refused_first(app) {
        let site = Endpoint::start(Answer::Json(200, answer("1", "A", "a@x.example"))).await;
        // Not configured at all; checked before the cookie (an invalid one here).
        let (status, body) = login(&app, app.site_id, "bad cookie").await;
        assert_error(status, &body, 400, "cookie_login_not_configured");
        // Half configured: a cookie name but no endpoint.
        configure(&app, app.site_id, &site.url("/v?sid="), |s| s.endpoint = None).await;
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_error(status, &body, 400, "cookie_login_not_configured");
        // Unknown site.
        let (status, body) = login(&app, app.site_id + 1000, "c1").await;
        assert_error(status, &body, 400, "cookie_login_not_configured");
        // Disabled site.
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let now = tessera::clock::Clock::now_ms(&app.clock);
        assert!(app.store.set_site_active(app.site_id, false, now, &tessera::store::audit::Actor::Cli).await.unwrap());
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_error(status, &body, 400, "cookie_login_not_configured");
        assert_eq!(site.count(), 0);

        // Malformed requests.
        for bad in [json!({"cookie": "c1"}), json!({"site_id": "x1", "cookie": "c1"}), json!({"site_id": 0, "cookie": "c1"}), json!([1])] {
            let (status, body) = login_raw(&app, bad).await;
            assert_error(status, &body, 400, "invalid_request");
        }
        let response = app.client.post(app.url("/rest/v1/users/login/cookie"))
            .header("content-type", "application/json").body("{\"site_id\": 1,").send().await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        let response = app.client.post(app.url("/rest/v1/users/login/cookie"))
            .header("content-type", "application/json").body(vec![b' '; 70 * 1024]).send().await.unwrap();
        assert_eq!(response.status(), 413);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(site.count(), 0);
    }
}
