//! Who may call the admin API: a bearer token of scope `admin`, and only for its site.

use reqwest::Method;
use serde_json::json;
use tessera::clock::Clock;
use tessera::store::audit::Actor;

use super::{assert_error, session_status, sso_login, AdminApi};
use crate::both_stores;

both_stores! {
    async fn tokens_without_admin_scope_are_refused(app) {
        let no_token = app.client.get(app.url("/admin/api/v1/site")).send().await.unwrap();
        assert_eq!(no_token.status(), 401);
        assert!(no_token.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
        let body: serde_json::Value = no_token.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");

        let mut api = AdminApi::new(&app).await;
        api.token = "not-a-token".into();
        let (status, body) = api.get("/site").await;
        assert_error(status, &body, 401, "invalid_token");

        api.token = app.token("accounts").await;
        for (method, path) in [
            (Method::GET, "/site"), (Method::GET, "/keys"), (Method::GET, "/users"),
            (Method::GET, "/audit"), (Method::POST, "/users/1/logout"), (Method::DELETE, "/keys/1"),
        ] {
            let (status, body) = api.call(method, path, None).await;
            assert_error(status, &body, 403, "insufficient_scope");
        }
        let (status, _) = AdminApi::new(&app).await.get("/site").await;
        assert_eq!(status, 200);
    }

    async fn another_sites_objects_look_missing_and_stay_untouched(app) {
        let now = app.clock.now_ms();
        let other = app.store.create_site("Other", &[], now, &Actor::Cli).await.unwrap();
        // A user and a live session on the other site, through its own token.
        let other_token = {
            let response = app.post_form_basic("/oauth2/token", &other.site_id.to_string(),
                secrecy::ExposeSecret::expose_secret(&other.api_key),
                &[("grant_type", "client_credentials"), ("scope", "accounts")]).await;
            let body: serde_json::Value = response.json().await.unwrap();
            body["access_token"].as_str().unwrap().to_string()
        };
        let (their_user, their_session) = sso_login(&app, &other_token, "b-1", "Bea", "bea@example.com").await;
        let api = AdminApi::new(&app).await;
        let missing_id = their_user + 1000;
        for id in [their_user, missing_id] {
            let (status, body) = api.get(&format!("/users/{id}")).await;
            assert_error(status, &body, 404, "not_found");
            let (status, body) = api.post(&format!("/users/{id}/ban"), json!({"reason": "x"})).await;
            assert_error(status, &body, 404, "not_found");
            let (status, body) = api.post(&format!("/users/{id}/logout"), json!({})).await;
            assert_error(status, &body, 404, "not_found");
            let (status, body) = api.delete(&format!("/users/{id}")).await;
            assert_error(status, &body, 404, "not_found");
            let (status, body) = api.patch(&format!("/users/{id}"), json!({"active": false})).await;
            assert_error(status, &body, 404, "not_found");
            let (status, body) = api.get(&format!("/users/{id}/sessions")).await;
            assert_error(status, &body, 404, "not_found");
        }
        // The answers for their user and a missing one are the same, but for the id.
        let (_, a) = api.get(&format!("/users/{their_user}")).await;
        let (_, b) = api.get(&format!("/users/{missing_id}")).await;
        assert_eq!(
            a["error_description"].as_str().unwrap().replace(&format!("user {their_user}"), "user N"),
            b["error_description"].as_str().unwrap().replace(&format!("user {missing_id}"), "user N"),
        );
        let (status, body) = api.delete(&format!("/keys/{}", other.key_id)).await;
        assert_error(status, &body, 404, "not_found");
        let (_, search) = api.get("/users?q=bea").await;
        assert_eq!(search["users"], json!([]));
        // Nothing of theirs changed.
        assert_eq!(session_status(&app, &their_session).await, 200);
        let user = app.store.get_user(other.site_id, their_user).await.unwrap().unwrap();
        assert!(user.active && !user.deleted && user.ban.is_none());
        assert_eq!(app.store.list_api_keys(other.site_id).await.unwrap().len(), 1);
    }
}
