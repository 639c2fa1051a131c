//! Logout by session and by id: idempotent, confined to the token's site.

use serde_json::{json, Value};

use super::{assert_dead, assert_live, error_of, login_ok, logout, second_site};
use crate::both_stores;

async fn ok(response: reqwest::Response) {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok"}));
}

both_stores! {
    async fn logout_by_session_is_idempotent(app) {
        let token = app.token("accounts").await;
        let (_, first) = login_ok(&app, &token, "u1", "Ann").await;
        let (_, second) = login_ok(&app, &token, "u1", "Ann").await;
        ok(logout(&app, &token, &[("session", &first)]).await).await;
        assert_dead(&app, &first).await;
        // Only that session.
        assert_live(&app, &second).await;
        ok(logout(&app, &token, &[("session", &first)]).await).await;
        ok(logout(&app, &token, &[("session", "never-issued")]).await).await;
        // JSON works too.
        let response = app.client.post(app.url("/rest/v1/accounts/logout")).bearer_auth(&token)
            .json(&json!({"session": second})).send().await.unwrap();
        ok(response).await;
        assert_dead(&app, &second).await;
    }

    async fn logout_by_id_ends_every_session_of_that_user_only(app) {
        let token = app.token("accounts").await;
        let mut anns = Vec::new();
        for _ in 0..3 {
            anns.push(login_ok(&app, &token, "ann", "Ann").await.1);
        }
        let (_, bob) = login_ok(&app, &token, "bob", "Bob").await;
        ok(logout(&app, &token, &[("id", "ann")]).await).await;
        for session in &anns {
            assert_dead(&app, session).await;
        }
        assert_live(&app, &bob).await;
        // Idempotent, and an unknown id is fine too.
        ok(logout(&app, &token, &[("id", "ann")]).await).await;
        ok(logout(&app, &token, &[("id", "nobody")]).await).await;
        // The user can log in again.
        let (_, again) = login_ok(&app, &token, "ann", "Ann").await;
        assert_live(&app, &again).await;
        // A JSON number id.
        let (_, numeric) = login_ok(&app, &token, "7", "Seven").await;
        let response = app.client.post(app.url("/rest/v1/accounts/logout")).bearer_auth(&token)
            .json(&json!({"id": 7})).send().await.unwrap();
        ok(response).await;
        assert_dead(&app, &numeric).await;
        assert_live(&app, &again).await;
    }

    async fn cross_site_logout_does_nothing(app) {
        let token = app.token("accounts").await;
        let (_, other_token) = second_site(&app, "https://two.example").await;
        let (_, session) = login_ok(&app, &token, "victim", "Victim").await;
        // The other site's answer is exactly the one for an unknown session.
        let cross = logout(&app, &other_token, &[("session", &session)]).await;
        let unknown = logout(&app, &other_token, &[("session", "no-such-session")]).await;
        assert_eq!(cross.status(), unknown.status());
        assert_eq!(cross.text().await.unwrap(), unknown.text().await.unwrap());
        assert_live(&app, &session).await;
        // By id: the other site has no user "victim", so nothing ends.
        ok(logout(&app, &other_token, &[("id", "victim")]).await).await;
        assert_live(&app, &session).await;
        // Even when the other site has a user with the same id: only its own.
        let (_, theirs) = login_ok(&app, &other_token, "victim", "Theirs").await;
        ok(logout(&app, &other_token, &[("id", "victim")]).await).await;
        assert_dead(&app, &theirs).await;
        assert_live(&app, &session).await;
        // No audit event of the other site mentions our session's user.
        let events = app.store.list_audit(app.site_id, None, 100).await.unwrap();
        assert!(events.iter().all(|e| e.action != "user.logout"), "{events:?}");
    }

    async fn logout_needs_exactly_one_well_formed_field(app) {
        let token = app.token("accounts").await;
        let (_, session) = login_ok(&app, &token, "u1", "Ann").await;
        let description = error_of(logout(&app, &token, &[]).await, 400, "invalid_request").await;
        assert!(description.contains("session") && description.contains("id"), "{description}");
        error_of(logout(&app, &token, &[("session", "")]).await, 400, "invalid_request").await;
        error_of(logout(&app, &token, &[("session", &session), ("id", "u1")]).await, 400, "invalid_request").await;
        error_of(logout(&app, &token, &[("id", "null")]).await, 400, "invalid_request").await;
        error_of(logout(&app, &token, &[("id", "")]).await, 400, "invalid_request").await;
        error_of(logout(&app, &token, &[("session", &"x".repeat(300))]).await, 400, "invalid_request").await;
        let dup = app.client.post(app.url("/rest/v1/accounts/logout")).bearer_auth(&token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("session={session}&session=other")).send().await.unwrap();
        error_of(dup, 400, "invalid_request").await;
        let bad_json = app.client.post(app.url("/rest/v1/accounts/logout")).bearer_auth(&token)
            .header("content-type", "application/json").body("{\"session\":").send().await.unwrap();
        error_of(bad_json, 400, "invalid_request").await;
        // None of that ended anything.
        assert_live(&app, &session).await;
    }
}
