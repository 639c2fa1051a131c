//! Signed-token SSO (SPEC §5.4): the site's server signs its user's profile with a
//! per-site secret made by the admin API or the CLI; the page passes the token on.

mod secrets;

use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::store::audit::Actor;
use tessera::store::users::Ban;

use crate::admin::AdminApi;
use crate::both_stores;
use crate::helpers::TestApp;

/// A secret of the app's site made through the admin API: (kid, secret).
pub async fn new_secret(app: &TestApp) -> (String, String) {
    let admin = AdminApi::new(app).await;
    let (status, body) = admin
        .call(reqwest::Method::POST, "/sso-secrets", None)
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["kid"].as_str().unwrap().to_string(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

/// A token as the site's server signs it: HS256 with the secret text's bytes.
pub fn sign(kid: &str, secret: &str, claims: &Value) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Claims for user `id`, issued now on the app's clock, valid five minutes.
pub fn claims(app: &TestApp, id: &str, jti: &str) -> Value {
    let now = app.clock.now_ms() / 1000;
    json!({
        "user": {"id": id, "name": format!("User {id}"), "email": format!("{id}@example.com"), "avatar": "https://img.example.com/u.png"},
        "iat": now, "exp": now + 300, "jti": jti,
    })
}

pub async fn login_at(app: &TestApp, base: &str, site_id: i64, token: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!("{base}/rest/v1/users/login/sso-token"))
        .json(&json!({ "site_id": site_id, "token": token }))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

pub async fn login(app: &TestApp, token: &str) -> (StatusCode, Value) {
    login_at(app, &app.base, app.site_id, token).await
}

/// 401 `invalid_sso_token` with `cause` audited.
async fn assert_refused(app: &TestApp, token: &str, cause: &str) {
    let (status, body) = login(app, token).await;
    assert_eq!(status, 401, "{cause}: {body}");
    assert_eq!(body["error"], "invalid_sso_token");
    let events = app.store.list_audit(app.site_id, None, 5).await.unwrap();
    let failed = events.iter().find(|e| e.outcome == "failure").unwrap();
    assert_eq!(failed.detail.0["cause"], cause, "{:?}", failed.detail);
}

both_stores! {
    async fn a_signed_token_logs_in_once(app) {
        let (kid, secret) = new_secret(&app).await;
        let token = sign(&kid, &secret, &claims(&app, "7", "j1"));
        let (status, body) = login(&app, &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "User 7");
        assert_eq!(body["user"]["photo_url"], "https://img.example.com/u.png");
        assert!(body["session"].as_str().is_some_and(|s| s.len() > 40));
        assert!(body.get("reverify_at").is_none());
        let user = app.store.find_user_by_external_id(app.site_id, "7").await.unwrap().unwrap();
        assert_eq!(user.email.as_deref(), Some("7@example.com"));
        assert_refused(&app, &token, "replayed").await;
        // Another node refuses the same jti, even in another token.
        let peer = app.spawn_peer().await;
        let again = sign(&kid, &secret, &claims(&app, "7", "j1"));
        let (status, _) = login_at(&app, &peer.base, app.site_id, &again).await;
        assert_eq!(status, 401);
        peer.stop().await;
    }

    async fn times_secrets_and_shapes_that_do_not_hold_are_refused(app) {
        let (kid, secret) = new_secret(&app).await;
        let now = app.clock.now_ms() / 1000;
        let mut long = claims(&app, "7", "long");
        long["exp"] = json!(now + 601);
        assert_refused(&app, &sign(&kid, &secret, &long), "too_long_lived").await;
        let mut expired = claims(&app, "7", "old");
        expired["iat"] = json!(now - 400);
        expired["exp"] = json!(now - 100);
        assert_refused(&app, &sign(&kid, &secret, &expired), "expired").await;
        let mut no_jti = claims(&app, "7", "x");
        no_jti.as_object_mut().unwrap().remove("jti");
        assert_refused(&app, &sign(&kid, &secret, &no_jti), "missing_claim").await;
        let mut no_user = claims(&app, "7", "nouser");
        no_user.as_object_mut().unwrap().remove("user");
        assert_refused(&app, &sign(&kid, &secret, &no_user), "invalid_profile").await;
        assert_refused(&app, &sign(&kid, "not-the-secret", &claims(&app, "7", "w")), "bad_signature").await;
        assert_refused(&app, &sign("nope", &secret, &claims(&app, "7", "k")), "unknown_kid").await;
        let mut header = Header::new(jsonwebtoken::Algorithm::HS512);
        header.kid = Some(kid.clone());
        let hs512 = jsonwebtoken::encode(&header, &claims(&app, "7", "a"), &EncodingKey::from_secret(secret.as_bytes())).unwrap();
        assert_refused(&app, &hs512, "alg_not_allowed").await;
        let no_kid = jsonwebtoken::encode(&Header::new(jsonwebtoken::Algorithm::HS256), &claims(&app, "7", "b"), &EncodingKey::from_secret(secret.as_bytes())).unwrap();
        assert_refused(&app, &no_kid, "missing_kid").await;
        assert_refused(&app, "garbage", "malformed").await;
        // Time passes: a token minted now is refused once it expired.
        let token = sign(&kid, &secret, &claims(&app, "7", "later"));
        app.clock.advance(Duration::from_secs(331));
        assert_refused(&app, &token, "expired").await;
        assert!(app.store.find_user_by_external_id(app.site_id, "7").await.unwrap().is_none());
    }

    async fn rotation_keeps_two_live_secrets_and_a_deleted_one_stops_working(app) {
        let (old_kid, old_secret) = new_secret(&app).await;
        let (new_kid, new_secret_text) = new_secret(&app).await;
        let admin = AdminApi::new(&app).await;
        let (status, body) = admin.call(reqwest::Method::POST, "/sso-secrets", None).await;
        crate::admin::assert_error(status, &body, 409, "conflict");
        let (status, _) = login(&app, &sign(&old_kid, &old_secret, &claims(&app, "a", "1"))).await;
        assert_eq!(status, 200);
        let (status, _) = login(&app, &sign(&new_kid, &new_secret_text, &claims(&app, "a", "2"))).await;
        assert_eq!(status, 200);
        let (status, _) = admin.delete(&format!("/sso-secrets/{old_kid}")).await;
        assert_eq!(status, 204);
        assert_refused(&app, &sign(&old_kid, &old_secret, &claims(&app, "a", "3")), "unknown_kid").await;
        let (status, _) = login(&app, &sign(&new_kid, &new_secret_text, &claims(&app, "a", "4"))).await;
        assert_eq!(status, 200);
    }

    async fn another_sites_secret_does_not_log_in_here(app) {
        let (kid, secret) = new_secret(&app).await;
        // A second site with a secret of its own.
        let other = app.store.create_site("Other", &[], app.clock.now_ms(), &Actor::Cli).await.unwrap();
        let (status, body) = login_at(&app, &app.base, other.site_id, &sign(&kid, &secret, &claims(&app, "a", "x"))).await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (400, Some("sso_token_login_not_configured")));
        let ctx = tessera::admin::Ctx { store: &app.store, site_id: other.site_id, actor: Actor::Cli, client_ip: None, now: app.clock.now_ms() };
        let theirs = tessera::admin::sso_secrets::create(&ctx).await.unwrap();
        let token = sign(&theirs.kid, secrecy::ExposeSecret::expose_secret(&theirs.secret), &claims(&app, "a", "y"));
        assert_refused(&app, &token, "unknown_kid").await;
        let (status, _) = login_at(&app, &app.base, other.site_id, &token).await;
        assert_eq!(status, 200);
    }

    async fn sites_without_secrets_and_banned_users(app) {
        let (status, body) = login(&app, "a.b.c").await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (400, Some("sso_token_login_not_configured")));
        let (kid, secret) = new_secret(&app).await;
        let (status, body) = login(&app, &sign(&kid, &secret, &claims(&app, "troll", "1"))).await;
        assert_eq!(status, 200);
        let user_id = body["user_id"].as_i64().unwrap();
        let ban = Ban { banned_at: app.clock.now_ms(), ends_at: Some(app.clock.now_ms() + 86_400_000), reason: "Cool down".into(), note: "n".into() };
        assert!(app.store.ban_user(app.site_id, user_id, &ban, &Actor::Cli).await.unwrap());
        let (status, body) = login(&app, &sign(&kid, &secret, &claims(&app, "troll", "2"))).await;
        assert_eq!(status, 403);
        assert_eq!(body["error"], "user_banned");
        assert_eq!(body["ban_level"], "temporary");
        assert_eq!(body["end_date"], json!(ban.ends_at));
        let response = app.client.post(app.url("/rest/v1/users/login/sso-token"))
            .json(&json!({"site_id": app.site_id})).send().await.unwrap();
        assert_eq!(response.status(), 400);
    }
}
