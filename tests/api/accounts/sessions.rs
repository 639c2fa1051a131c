//! Session lookup (SPEC §3.3): the profile, sliding idle expiry written at most once a
//! minute, idle and absolute expiry, browser logout, purge.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tessera::clock::{rfc3339, Clock};
use tessera::store::audit::Actor;

use super::{assert_dead, assert_live, login_ok, lookup};
use crate::both_stores;
use crate::helpers::TestApp;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

async fn browser_logout(app: &TestApp, session: Option<&str>) -> (u16, Value) {
    let mut request = app.client.post(app.url("/rest/v1/session/logout"));
    if let Some(session) = session {
        request = request.header("X-Tessera-Session", session);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

both_stores! {
    async fn lookup_shows_the_user_and_slides_at_most_once_a_minute(app) {
        let token = app.token("accounts").await;
        let started = app.clock.now_ms();
        let (user_id, session) = login_ok(&app, &token, "u1", "Ann").await;
        let info = assert_live(&app, &session).await;
        let keys: Vec<&str> = info.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 6, "no reverify_at for a server session: {info}");
        assert_eq!(info["user_id"], user_id);
        assert_eq!(info["site_id"], app.site_id);
        assert_eq!(info["name"], "Ann");
        assert_eq!(info["photo_url"], Value::Null);
        assert_eq!(info["idle_expires_at"], rfc3339(started + 12 * 3600 * 1000));
        assert_eq!(info["expires_at"], rfc3339(started + 30 * 24 * 3600 * 1000));

        // Within the minute: no write, the idle expiry stays where it was.
        app.clock.advance(Duration::from_secs(59));
        let info = assert_live(&app, &session).await;
        assert_eq!(info["idle_expires_at"], rfc3339(started + 12 * 3600 * 1000));
        // A minute after the last write: slides to now + 12 h.
        app.clock.advance(Duration::from_secs(2));
        let slid_at = app.clock.now_ms();
        let info = assert_live(&app, &session).await;
        assert_eq!(info["idle_expires_at"], rfc3339(slid_at + 12 * 3600 * 1000));
        // And again not before another minute has passed since that write.
        app.clock.advance(Duration::from_secs(30));
        let info = assert_live(&app, &session).await;
        assert_eq!(info["idle_expires_at"], rfc3339(slid_at + 12 * 3600 * 1000));
        // The write really happened: the session survives past its first idle expiry.
        app.clock.advance(Duration::from_secs(12 * 3600 - 61));
        let again_at = app.clock.now_ms();
        assert!(again_at > started + 12 * 3600 * 1000);
        let info = assert_live(&app, &session).await;
        assert_eq!(info["idle_expires_at"], rfc3339(again_at + 12 * 3600 * 1000));
        // A lookup within the minute does not extend it: 12 h after the last write it is over.
        app.clock.advance(Duration::from_secs(59));
        assert_live(&app, &session).await;
        app.clock.advance(12 * HOUR - Duration::from_secs(59));
        assert_dead(&app, &session).await;
    }

    async fn sessions_end_after_12_hours_idle(app) {
        let token = app.token("accounts").await;
        let (_, idle) = login_ok(&app, &token, "idle", "Idle").await;
        let (_, used) = login_ok(&app, &token, "used", "Used").await;
        // Used every 6 hours for two days: still live; never used for 12 h: dead.
        for _ in 0..8 {
            app.clock.advance(6 * HOUR);
            assert_live(&app, &used).await;
        }
        assert_dead(&app, &idle).await;
        // Exactly at the idle expiry it is over (a fresh token: the first one expired).
        let token = app.token("accounts").await;
        let (_, edge) = login_ok(&app, &token, "edge", "Edge").await;
        app.clock.advance(12 * HOUR - Duration::from_millis(1));
        assert_live(&app, &edge).await;
        app.clock.advance(12 * HOUR);
        assert_dead(&app, &edge).await;
    }

    async fn sessions_end_after_30_days_however_much_they_are_used(app) {
        let token = app.token("accounts").await;
        let started = app.clock.now_ms();
        let (_, session) = login_ok(&app, &token, "u1", "Ann").await;
        let lifetime = 30 * 24 * 3600 * 1000_i64;
        let mut last = Value::Null;
        while app.clock.now_ms() + 11 * 3600 * 1000 < started + lifetime {
            app.clock.advance(11 * HOUR);
            last = assert_live(&app, &session).await;
        }
        // Near the end, the idle expiry is capped at the absolute one.
        assert_eq!(last["idle_expires_at"], rfc3339(started + lifetime));
        let remaining = started + lifetime - app.clock.now_ms();
        app.clock.advance(Duration::from_millis(remaining as u64));
        assert_dead(&app, &session).await;
        // The user logs in again and gets a fresh session.
        let token = app.token("accounts").await;
        let (_, fresh) = login_ok(&app, &token, "u1", "Ann").await;
        assert_live(&app, &fresh).await;
    }

    async fn malformed_and_unknown_sessions_are_invalid_session(app) {
        let token = app.token("accounts").await;
        let (_, session) = login_ok(&app, &token, "u1", "Ann").await;
        let no_header = app.client.get(app.url("/rest/v1/session")).send().await.unwrap();
        assert_eq!(no_header.status(), 401);
        let body: Value = no_header.json().await.unwrap();
        assert_eq!(body["error"], "invalid_session");
        assert!(body["error_description"].as_str().is_some());
        for bad in ["unknown", "a b", &"x".repeat(300), "é"] {
            let response = app.client.get(app.url("/rest/v1/session"))
                .header("X-Tessera-Session", reqwest::header::HeaderValue::from_bytes(bad.as_bytes()).unwrap())
                .send().await.unwrap();
            assert_eq!(response.status(), 401, "{bad}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "invalid_session");
        }
        let twice = app.client.get(app.url("/rest/v1/session"))
            .header("X-Tessera-Session", &session).header("X-Tessera-Session", &session).send().await.unwrap();
        assert_eq!(twice.status(), 401);
        // A session id in a query string or cookie is not looked at.
        let query = app.client.get(app.url(&format!("/rest/v1/session?session={session}"))).send().await.unwrap();
        assert_eq!(query.status(), 401);
        let (status, _) = lookup(&app, &format!(" {session} ")).await;
        assert_eq!(status, 200, "surrounding spaces of a header value are not part of it");
    }

    async fn browser_logout_ends_the_session_idempotently(app) {
        let token = app.token("accounts").await;
        let (user_id, session) = login_ok(&app, &token, "u1", "Ann").await;
        let (_, other) = login_ok(&app, &token, "u1", "Ann").await;
        let (status, body) = browser_logout(&app, Some(&session)).await;
        assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));
        assert_dead(&app, &session).await;
        assert_live(&app, &other).await;
        let (status, body) = browser_logout(&app, Some(&session)).await;
        assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));
        let (status, body) = browser_logout(&app, None).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "invalid_session");
        // Recorded once, as the user's own logout.
        let events = app.store.list_audit(app.site_id, None, 100).await.unwrap();
        let logouts: Vec<_> = events.iter().filter(|e| e.action == "user.logout").collect();
        assert_eq!(logouts.len(), 1, "{events:?}");
        assert_eq!(logouts[0].actor, format!("user:{user_id}"));
        assert_eq!(logouts[0].client_ip.as_deref(), Some("127.0.0.1"));
    }

    async fn a_disabled_site_has_no_live_sessions(app) {
        let token = app.token("accounts").await;
        let (_, session) = login_ok(&app, &token, "u1", "Ann").await;
        let now = app.clock.now_ms();
        assert!(app.store.set_site_active(app.site_id, false, now, &Actor::Cli).await.unwrap());
        assert_dead(&app, &session).await;
        assert!(app.store.set_site_active(app.site_id, true, now, &Actor::Cli).await.unwrap());
        assert_live(&app, &session).await;
    }

    async fn purge_removes_only_expired_sessions(app) {
        let token = app.token("accounts").await;
        let (_, old) = login_ok(&app, &token, "old", "Old").await;
        app.clock.advance(6 * HOUR);
        let token = app.token("accounts").await;
        let (_, young) = login_ok(&app, &token, "young", "Young").await;
        let (_, kept_alive) = login_ok(&app, &token, "alive", "Alive").await;
        app.clock.advance(6 * HOUR + MINUTE);
        // `old` is past its idle expiry; `young` and `kept_alive` are not.
        assert_live(&app, &kept_alive).await;
        let state = tessera::app::AppState::new(
            app.store.clone(),
            tessera::config::Config::default(),
            Arc::new(app.clock.clone()),
        );
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 3);
        let purged = tessera::purge::purge_once(&state).await.unwrap();
        assert!(purged >= 1);
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 2);
        assert_dead(&app, &old).await;
        assert_live(&app, &young).await;
        assert_live(&app, &kept_alive).await;
        // Nothing else to purge; a second pass deletes no session.
        tessera::purge::purge_once(&state).await.unwrap();
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 2);
        // Once all are past their expiry, all go.
        app.clock.advance(13 * HOUR);
        tessera::purge::purge_once(&state).await.unwrap();
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);
    }
}

both_stores! {
    async fn openapi_documents_the_accounts_and_session_endpoints(app) {
        let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        for (path, method) in [("/rest/v1/accounts/login", "post"), ("/rest/v1/accounts/logout", "post"),
                               ("/rest/v1/session", "get"), ("/rest/v1/session/logout", "post")] {
            assert!(doc["paths"][path][method].is_object(), "{path} {method} missing");
        }
        let info = &doc["components"]["schemas"]["SessionInfo"]["properties"];
        for field in ["user_id", "site_id", "name", "photo_url", "idle_expires_at", "expires_at", "reverify_at"] {
            assert!(info[field].is_object(), "SessionInfo.{field} missing: {info}");
        }
        assert!(doc["components"]["schemas"]["LoginResponse"]["properties"]["session"].is_object());
    }
}
