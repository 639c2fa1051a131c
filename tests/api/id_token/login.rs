//! ID-token login that works: each algorithm, the profile from the claims, the
//! session, and the answers every login path gives (ban, inactive, not configured).

use serde_json::json;
use tessera::clock::Clock;
use tessera::store::audit::Actor;
use tessera::store::users::Ban;

use super::{configure, login, login_raw, Provider, TestKey, CLIENT_ID};
use crate::both_stores;
use crate::helpers::TestApp;

/// Looks the session up as the widget would.
async fn session_user(app: &TestApp, session: &str) -> serde_json::Value {
    let (status, body) = crate::accounts::lookup(app, session).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn logs_in_with(app: &TestApp, key: TestKey) {
    let provider = Provider::start(&[&key]).await;
    configure(app, &provider, |_| {}).await;
    let token = key.sign(&provider.claims(app, "alice"));
    let (status, body) = login(app, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], "User alice");
    assert_eq!(body["user"]["photo_url"], "https://img.example.com/a.png");
    assert!(body.get("reverify_at").is_none(), "{body}");
    let session = body["session"].as_str().unwrap();
    let looked_up = session_user(app, session).await;
    assert_eq!(looked_up["user_id"], body["user_id"]);
    assert!(looked_up.get("reverify_at").is_none_or(|r| r.is_null()));
    let user = app
        .store
        .find_user_by_external_id(app.site_id, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    let events = app.store.list_audit(app.site_id, None, 5).await.unwrap();
    let ok = events.iter().find(|e| e.action == "user.login").unwrap();
    assert_eq!(ok.outcome, "success");
    assert_eq!(ok.detail.0["flow"], "id_token");
}

both_stores! {
    async fn rs256_logs_in(app) {
        logs_in_with(&app, TestKey::rsa("rsa-1")).await;
    }

    async fn es256_logs_in(app) {
        logs_in_with(&app, TestKey::es256("ec-1")).await;
    }

    async fn eddsa_logs_in(app) {
        logs_in_with(&app, TestKey::ed25519("ed-1")).await;
    }

    async fn the_mapping_and_nonce_are_applied_and_the_profile_follows_the_provider(app) {
        let key = TestKey::ed25519("k");
        let provider = Provider::start(&[&key]).await;
        configure(&app, &provider, |s| {
            s.mapping.uid = "preferred_username".into();
            s.mapping.display_name = "profile.nick".into();
        }).await;
        let mut claims = provider.claims(&app, "sub-1");
        claims["preferred_username"] = json!("ada");
        claims["profile"] = json!({"nick": "Ada L."});
        claims["nonce"] = json!("n-123");
        let (status, body) = login_raw(&app, &app.base, json!({
            "site_id": app.site_id, "id_token": key.sign(&claims), "nonce": "n-123",
        })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "Ada L.");
        // The provider is the source of truth: a new token with another name and no
        // picture overwrites the profile.
        claims["profile"] = json!({"nick": "Ada Lovelace"});
        claims.as_object_mut().unwrap().remove("picture");
        claims["jti"] = json!("second");
        let (status, body) = login_raw(&app, &app.base, json!({
            "site_id": app.site_id, "id_token": key.sign(&claims), "nonce": "n-123",
        })).await;
        assert_eq!(status, 200, "{body}");
        let user = app.store.find_user_by_external_id(app.site_id, "ada").await.unwrap().unwrap();
        assert_eq!(user.display_name, "Ada Lovelace");
        assert_eq!(user.photo_url, None);
    }

    async fn a_banned_or_inactive_user_is_answered_like_every_login_path(app) {
        let key = TestKey::es256("k");
        let provider = Provider::start(&[&key]).await;
        configure(&app, &provider, |_| {}).await;
        let (status, body) = login(&app, &key.sign(&provider.claims(&app, "troll"))).await;
        assert_eq!(status, 200, "{body}");
        let user_id = body["user_id"].as_i64().unwrap();
        let now = app.clock.now_ms();
        let ban = Ban { banned_at: now, ends_at: None, reason: "Spam".into(), note: "private".into() };
        assert!(app.store.ban_user(app.site_id, user_id, &ban, &Actor::Cli).await.unwrap());
        let mut claims = provider.claims(&app, "troll");
        claims["jti"] = json!("2");
        let (status, body) = login(&app, &key.sign(&claims)).await;
        assert_eq!(status, 403);
        assert_eq!(body, json!({
            "error": "user_banned", "ban_level": "permanent", "is_permanent": true,
            "end_date": null, "reason": "Spam",
        }));
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);

        let (status, body) = login(&app, &key.sign(&provider.claims(&app, "quiet"))).await;
        assert_eq!(status, 200, "{body}");
        let quiet = body["user_id"].as_i64().unwrap();
        assert!(app.store.set_user_active(app.site_id, quiet, false, now, &Actor::Cli).await.unwrap());
        let mut claims = provider.claims(&app, "quiet");
        claims["jti"] = json!("2");
        let (status, body) = login(&app, &key.sign(&claims)).await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (403, Some("user_inactive")), "{body}");
    }

    async fn sites_without_id_token_login_and_bad_requests_are_400(app) {
        let key = TestKey::ed25519("k");
        let provider = Provider::start(&[&key]).await;
        let token = key.sign(&provider.claims(&app, "a"));
        let (status, body) = login(&app, &token).await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (400, Some("id_token_login_not_configured")));
        let (status, body) = login_raw(&app, &app.base, json!({"site_id": 999_999, "id_token": token})).await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (400, Some("id_token_login_not_configured")));
        configure(&app, &provider, |_| {}).await;
        for bad in [
            json!({"id_token": token}),
            json!({"site_id": app.site_id}),
            json!({"site_id": 0, "id_token": token}),
            json!({"site_id": "x", "id_token": token}),
            json!({"site_id": app.site_id, "id_token": token, "extra": 1}),
            json!({"site_id": app.site_id, "id_token": token, "nonce": "n".repeat(1025)}),
        ] {
            let (status, body) = login_raw(&app, &app.base, bad.clone()).await;
            assert_eq!((status.as_u16(), body["error"].as_str()), (400, Some("invalid_request")), "{bad}: {body}");
        }
        let response = app.client.post(app.url("/rest/v1/users/login/id-token"))
            .header("Content-Type", "text/plain").body("{}").send().await.unwrap();
        assert_eq!(response.status(), 400);
        // Disabled site: not configured, as for cookie login.
        assert!(app.store.set_site_active(app.site_id, false, app.clock.now_ms(), &Actor::Cli).await.unwrap());
        let (status, body) = login(&app, &token).await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (400, Some("id_token_login_not_configured")));
        assert_eq!(CLIENT_ID, "tessera-test-client");
    }

    async fn a_page_of_the_site_may_read_the_answer(app) {
        let key = TestKey::ed25519("k");
        let provider = Provider::start(&[&key]).await;
        configure(&app, &provider, |_| {}).await;
        let origin = "http://127.0.0.1:9";
        let preflight = app.client.request(reqwest::Method::OPTIONS, app.url("/rest/v1/users/login/id-token"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send().await.unwrap();
        assert!(preflight.status().is_success());
        let response = app.client.post(app.url("/rest/v1/users/login/id-token"))
            .header("Origin", origin)
            .json(&json!({"site_id": app.site_id, "id_token": key.sign(&provider.claims(&app, "a"))}))
            .send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["access-control-allow-origin"], origin);
        let response = app.client.post(app.url("/rest/v1/users/login/id-token"))
            .header("Origin", "https://evil.example")
            .json(&json!({"site_id": app.site_id, "id_token": "x"}))
            .send().await.unwrap();
        assert!(response.headers().get("access-control-allow-origin").is_none());
    }
}
