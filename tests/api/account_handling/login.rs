//! `POST /rest/v1/users/login/password` (SPEC §6.1): the widget's own sign-in. The
//! password check and brute-force limits are password login's, the refusals and the
//! audited commit the sign-in pipeline's; the site's switch turns it off.

use std::time::Duration;

use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::password::rate_limit::ACCOUNT_RULES;
use tessera::settings::AccountHandling;
use tessera::store::audit::AuditFilter;

use super::*;
use crate::both_stores;
use crate::password::{create_user, PASSWORD};

const WRONG: &str = "not the right password";

async fn sign_in(app: &TestApp, body: &Value) -> Answer {
    Answer::of(
        app.client
            .post(app.url("/rest/v1/users/login/password"))
            .header("Origin", MY_ORIGIN)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn sign_in_as(app: &TestApp, username: &str, password: &str) -> Answer {
    sign_in(
        app,
        &json!({"site_id": app.site_id, "username": username, "password": password}),
    )
    .await
}

/// The site's login events, newest first: `(outcome, detail)`.
async fn login_events(app: &TestApp) -> Vec<(String, Value)> {
    let filter = AuditFilter {
        action: Some("user.login".into()),
        ..AuditFilter::default()
    };
    app.store
        .search_audit(app.site_id, &filter, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.outcome, e.detail.0))
        .collect()
}

both_stores! {
    async fn a_local_user_signs_in_and_gets_a_platform_session(app) {
        let user_id = create_user(&app, app.site_id, "ada", Some("ada@example.com"), PASSWORD).await;
        let answer = sign_in_as(&app, "ada", PASSWORD).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let body = answer.json();
        let session = body["session"].as_str().unwrap().to_string();
        assert_eq!(body, json!({
            "user_id": user_id, "session": session,
            "user": {"user_id": user_id, "name": "ada", "photo_url": null},
        }));
        assert_eq!(answer.headers["cache-control"], "no-store");
        // Readable by the site's pages, like the other browser endpoints.
        assert_eq!(answer.headers["access-control-allow-origin"], MY_ORIGIN);
        let shown = lookup(&app, &session).await;
        assert_eq!(shown.status, 200, "{}", shown.text);
        assert_eq!(shown.json()["user_id"], user_id);
        assert!(shown.json().get("reverify_at").is_none(), "no re-verification: {}", shown.text);
        // By email, in any case, too; every login audited with its flow.
        assert_eq!(sign_in_as(&app, "ADA@Example.com", PASSWORD).await.status, 200);
        let events = login_events(&app).await;
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events.iter().all(|(outcome, detail)| outcome == "success" && detail["flow"] == "native"), "{events:?}");
        // The profile change works on such a session.
        let changed = app.client.patch(app.url("/rest/v1/session/profile")).header("X-Tessera-Session", &session)
            .json(&json!({"display_name": "Ada"})).send().await.unwrap();
        assert_eq!(changed.status(), 200);
    }

    async fn wrong_password_and_unknown_user_get_the_same_answer(app) {
        let user_id = create_user(&app, app.site_id, "grace", None, PASSWORD).await;
        let wrong = sign_in_as(&app, "grace", WRONG).await;
        let unknown = sign_in_as(&app, "nobody", WRONG).await;
        let body = wrong.assert_error(401, "invalid_credentials");
        assert_eq!(wrong.text, unknown.text, "the same bytes");
        assert_eq!(unknown.status, 401);
        assert!(body["error_description"].is_string());
        // A deleted user is unknown, whatever the password.
        assert!(app.store.mark_user_deleted(app.site_id, user_id, app.clock.now_ms(), &Actor::Cli).await.unwrap());
        assert_eq!(sign_in_as(&app, "grace", PASSWORD).await.text, unknown.text);
        let failures = login_events(&app).await.into_iter().filter(|(o, _)| o == "failure").count();
        assert_eq!(failures, 3, "failed logins are audited");
    }

    async fn banned_and_inactive_users_are_refused_without_a_session(app) {
        let user_id = create_user(&app, app.site_id, "mallory", None, PASSWORD).await;
        let ban = tessera::store::users::Ban {
            banned_at: app.clock.now_ms(), ends_at: Some(app.clock.now_ms() + 86_400_000),
            reason: "Cool down for a day".into(), note: "private".into(),
        };
        assert!(app.store.ban_user(app.site_id, user_id, &ban, &Actor::Cli).await.unwrap());
        let answer = sign_in_as(&app, "mallory", PASSWORD).await;
        assert_eq!(answer.status, 403);
        assert_eq!(answer.json(), json!({
            "error": "user_banned", "ban_level": "temporary", "is_permanent": false,
            "end_date": ban.ends_at, "reason": "Cool down for a day",
        }));
        // Only the right password learns of the ban.
        sign_in_as(&app, "mallory", WRONG).await.assert_error(401, "invalid_credentials");
        assert!(app.store.unban_user(app.site_id, user_id, app.clock.now_ms(), &Actor::Cli).await.unwrap());
        assert!(app.store.set_user_active(app.site_id, user_id, false, app.clock.now_ms(), &Actor::Cli).await.unwrap());
        sign_in_as(&app, "mallory", PASSWORD).await.assert_error(403, "user_inactive");
        assert_eq!(app.store.count_user_sessions(app.site_id, user_id, app.clock.now_ms()).await.unwrap(), 0);
    }

    async fn switched_off_the_endpoint_refuses_before_the_password(app) {
        let user_id = create_user(&app, app.site_id, "ada", None, PASSWORD).await;
        set_switches(&app, app.site_id, AccountHandling { disable_account_handling: true, ..AccountHandling::default() }).await;
        let answer = sign_in_as(&app, "ada", PASSWORD).await;
        let body = answer.assert_error(403, "account_handling_disabled");
        assert!(body["error_description"].is_string());
        assert_eq!(answer.headers["access-control-allow-origin"], MY_ORIGIN);
        assert_eq!(app.store.count_user_sessions(app.site_id, user_id, app.clock.now_ms()).await.unwrap(), 0);
        // Refused before any password is checked: no guess is counted.
        for _ in 0..ACCOUNT_RULES[0].limit + 2 {
            sign_in_as(&app, "ada", WRONG).await.assert_error(403, "account_handling_disabled");
        }
        set_switches(&app, app.site_id, AccountHandling::default()).await;
        assert_eq!(sign_in_as(&app, "ada", PASSWORD).await.status, 200);
    }

    async fn brute_force_is_limited_with_password_logins_counters(app) {
        create_user(&app, app.site_id, "ada", None, PASSWORD).await;
        let limit = ACCOUNT_RULES[0].limit;
        // Guesses through the Faveo API and the widget count against one limit.
        let faveo = app.client.post(app.url("/api/v1/authenticate"))
            .form(&[("username", "ada"), ("password", WRONG), ("site_id", &app.site_id.to_string())])
            .send().await.unwrap();
        assert_eq!(faveo.status(), 401);
        for _ in 1..limit {
            sign_in_as(&app, "ada", WRONG).await.assert_error(401, "invalid_credentials");
        }
        let blocked = sign_in_as(&app, "Ada", PASSWORD).await;
        blocked.assert_error(429, "too_many_attempts");
        let wait: u64 = blocked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        let window = (ACCOUNT_RULES[0].window_ms / 1000) as u64;
        assert!(wait >= 1 && wait <= 2 * window, "Retry-After {wait}");
        app.clock.advance(Duration::from_millis(2 * ACCOUNT_RULES[0].window_ms as u64));
        assert_eq!(sign_in_as(&app, "ada", PASSWORD).await.status, 200);
    }

    async fn malformed_requests_are_refused_naming_the_field(app) {
        create_user(&app, app.site_id, "ada", None, PASSWORD).await;
        for (body, needle) in [
            (json!({"username": "ada", "password": PASSWORD}), "site_id"),
            (json!({"site_id": "one", "username": "ada", "password": PASSWORD}), "site_id"),
            (json!({"site_id": 999_999, "username": "ada", "password": PASSWORD}), "site_id"),
            (json!({"site_id": app.site_id, "password": PASSWORD}), "username"),
            (json!({"site_id": app.site_id, "username": "", "password": PASSWORD}), "username"),
            (json!({"site_id": app.site_id, "username": "x".repeat(256), "password": PASSWORD}), "username"),
            (json!({"site_id": app.site_id, "username": "ada"}), "password"),
            (json!({"site_id": app.site_id, "username": "ada", "password": "x".repeat(1025)}), "password"),
            (json!({"site_id": app.site_id, "username": ["ada"], "password": PASSWORD}), "object of strings"),
        ] {
            let answer = sign_in(&app, &body).await;
            let error = answer.assert_error(400, "invalid_request");
            assert!(error["error_description"].as_str().unwrap().contains(needle), "{body}: {error}");
        }
        // A site id that names no site: readable by any site's page, to stop trying.
        let unknown = sign_in(&app, &json!({"site_id": 999_999, "username": "ada", "password": PASSWORD})).await;
        assert_eq!(unknown.headers["access-control-allow-origin"], MY_ORIGIN);
        let bad_json = app.client.post(app.url("/rest/v1/users/login/password"))
            .header("content-type", "application/json").body("{\"site_id\":").send().await.unwrap();
        Answer::of(bad_json).await.assert_error(400, "invalid_request");
        assert!(login_events(&app).await.is_empty(), "nothing reached the password check");
    }
}
