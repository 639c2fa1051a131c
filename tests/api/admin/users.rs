//! `/admin/api/v1/users/{id}…`: the effect of every change on live sessions and
//! password-login JWTs, and the audit trail each change leaves.

use std::time::Duration;

use serde_json::{json, Value};

use super::{assert_error, session_status, sso_login, AdminApi};
use crate::both_stores;
use crate::password::{login, me, PASSWORD};

/// Password login (`/api/v1/authenticate`) of a local user; the JWT.
async fn jwt(app: &crate::helpers::TestApp, username: &str) -> String {
    let site = app.site_id.to_string();
    let form = [
        ("username", username),
        ("password", PASSWORD),
        ("site_id", &site),
    ];
    let answer = login(app, &form).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["token"].as_str().unwrap().to_string()
}

async fn jwt_status(app: &crate::helpers::TestApp, token: &str) -> (u16, Value) {
    let answer = me(app, token).await;
    (answer.status, answer.json())
}

both_stores! {
    async fn local_users_are_created_and_their_sessions_and_jwts_end(app) {
        let api = AdminApi::new(&app).await;
        let (status, user) = api.post("/users", json!({
            "username": "ann", "password": PASSWORD, "email": "ann@example.com",
            "first_name": "Ann", "role": "agent",
        })).await;
        assert_eq!(status, 201, "{user}");
        assert_eq!(user["username"], "ann");
        assert_eq!(user["role"], "agent");
        assert_eq!(user["status"], "active");
        assert!(!user.to_string().contains("argon2"), "no hash in the answer");
        let user_id = user["user_id"].as_i64().unwrap();
        let (status, body) = api.post("/users", json!({"username": "ANN", "password": PASSWORD})).await;
        assert_error(status, &body, 409, "conflict");
        for (body, field) in [
            (json!({"username": "a b", "password": PASSWORD}), "username"),
            (json!({"username": "bo", "password": "short"}), "password"),
            (json!({"username": "bo", "password": PASSWORD, "email": "nope"}), "email"),
            (json!({"username": "bo", "password": PASSWORD, "role": "root"}), "role"),
            (json!({"username": "bo"}), "password"),
        ] {
            let (status, answer) = api.post("/users", body.clone()).await;
            let description = assert_error(status, &answer, 400, "invalid_request");
            assert!(description.contains(field), "{body}: {description}");
        }

        // "Log out everywhere" ends the JWT at once; a later login works again.
        let token = jwt(&app, "ann").await;
        assert_eq!(jwt_status(&app, &token).await.0, 200);
        let (status, ended) = api.post(&format!("/users/{user_id}/logout"), json!({})).await;
        assert_eq!(status, 200, "{ended}");
        assert_eq!(ended["ended"], 0);
        let (status, body) = jwt_status(&app, &token).await;
        assert_eq!((status, body["Error"].as_str()), (401, Some("token_revoked")), "{body}");
        app.clock.advance(Duration::from_secs(2));
        let fresh = jwt(&app, "ann").await;
        assert_eq!(jwt_status(&app, &fresh).await.0, 200);

        // A ban ends the JWT too, with the ban body; unban lets it work again.
        let (status, banned) = api.post(&format!("/users/{user_id}/ban"), json!({
            "reason": "Spamming", "note": "three reports",
        })).await;
        assert_eq!(status, 200, "{banned}");
        assert_eq!(banned["status"], "banned");
        assert_eq!(banned["ban"]["level"], "permanent");
        assert_eq!(banned["ban"]["by"], format!("api_key:{}", app.key_id));
        let (status, body) = jwt_status(&app, &fresh).await;
        assert_eq!((status, body["reason"].as_str()), (403, Some("Spamming")), "{body}");
        let (status, unbanned) = api.delete(&format!("/users/{user_id}/ban")).await;
        assert_eq!(status, 200);
        assert_eq!(unbanned["ban"], Value::Null);
        assert_eq!(jwt_status(&app, &fresh).await.0, 200);
        // Unbanning a user who is not banned changes and audits nothing.
        let before = app.store.list_audit(app.site_id, None, 100).await.unwrap().len();
        let (status, _) = api.delete(&format!("/users/{user_id}/ban")).await;
        assert_eq!(status, 200);
        assert_eq!(app.store.list_audit(app.site_id, None, 100).await.unwrap().len(), before);

        // Deactivation and deletion.
        let (status, patched) = api.patch(&format!("/users/{user_id}"), json!({"active": false, "role": "admin"})).await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!((patched["status"].as_str(), patched["role"].as_str()), (Some("inactive"), Some("admin")));
        assert_eq!(jwt_status(&app, &fresh).await.0, 403);
        let (status, body) = api.patch(&format!("/users/{user_id}"), json!({"role": "god"})).await;
        assert_error(status, &body, 400, "invalid_request");
        let (status, _) = api.delete(&format!("/users/{user_id}")).await;
        assert_eq!(status, 204);
        let (_, gone) = api.get(&format!("/users/{user_id}")).await;
        assert_eq!(gone["status"], "deleted");
        assert_eq!((gone["username"].clone(), gone["email"].clone(), gone["display_name"].clone()),
                   (Value::Null, Value::Null, json!("")), "the profile is erased");
        assert_eq!(jwt_status(&app, &fresh).await.0, 403, "user_deleted");
        let (status, body) = api.patch(&format!("/users/{user_id}"), json!({"active": true})).await;
        assert_error(status, &body, 409, "conflict");
        // The id is never reused.
        let (_, next) = api.post("/users", json!({"username": "ann", "password": PASSWORD})).await;
        assert!(next["user_id"].as_i64().unwrap() > user_id, "{next}");

        // Every change was audited with the key that made it.
        let actor = format!("api_key:{}", app.key_id);
        let events = app.store.list_audit(app.site_id, None, 100).await.unwrap();
        for action in ["user.created", "user.logged_out", "user.banned", "user.unbanned",
                       "user.role_changed", "user.deactivated", "user.deleted"] {
            let event = events.iter().find(|e| e.action == action && e.user_id == Some(user_id))
                .unwrap_or_else(|| panic!("no {action} about user {user_id}"));
            assert_eq!(event.actor, actor, "{action}");
        }
    }

    async fn sessions_are_listed_by_reference_and_ended(app) {
        let api = AdminApi::new(&app).await;
        let accounts = app.token("accounts").await;
        let (user_id, first) = sso_login(&app, &accounts, "s-1", "Sam", "sam@example.com").await;
        app.clock.advance(Duration::from_secs(1));
        let (_, second) = sso_login(&app, &accounts, "s-1", "Sam", "sam@example.com").await;
        let (status, list) = api.get(&format!("/users/{user_id}/sessions")).await;
        assert_eq!(status, 200);
        let sessions = list["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0]["kind"], "server");
        assert_eq!(sessions[0]["client_ip"], "127.0.0.1");
        let text = list.to_string();
        assert!(!text.contains(&first) && !text.contains(&second), "never the session id");
        let (_, user) = api.get(&format!("/users/{user_id}")).await;
        assert_eq!(user["active_sessions"], 2);
        assert!(user["last_login_at"].is_string(), "{user}");

        // The newest session ends; the other stays.
        let newest = sessions[0]["session_ref"].as_str().unwrap().to_string();
        let (status, _) = api.delete(&format!("/users/{user_id}/sessions/{newest}")).await;
        assert_eq!(status, 204);
        assert_eq!(session_status(&app, &second).await, 401);
        assert_eq!(session_status(&app, &first).await, 200);
        let (status, body) = api.delete(&format!("/users/{user_id}/sessions/{newest}")).await;
        assert_error(status, &body, 404, "not_found");

        // Log out everywhere ends the rest.
        let (_, ended) = api.post(&format!("/users/{user_id}/logout"), json!({})).await;
        assert_eq!(ended["ended"], 1);
        assert_eq!(session_status(&app, &first).await, 401);

        // A ban ends sessions at once too.
        let (_, third) = sso_login(&app, &accounts, "s-1", "Sam", "sam@example.com").await;
        let (status, _) = api.post(&format!("/users/{user_id}/ban"), json!({
            "reason": "Cool down", "until": "2999-01-01T00:00:00Z",
        })).await;
        assert_eq!(status, 200);
        assert_eq!(session_status(&app, &third).await, 401);
        let (_, user) = api.get(&format!("/users/{user_id}")).await;
        assert_eq!(user["ban"]["level"], "temporary");
        assert_eq!(user["ban"]["until"], "2999-01-01T00:00:00Z");
        for body in [json!({"reason": ""}), json!({"reason": "x", "until": "tomorrow"}),
                     json!({"reason": "x", "until": "2000-01-01T00:00:00Z"}), json!({"note": "x"})] {
            let (status, answer) = api.post(&format!("/users/{user_id}/ban"), body).await;
            assert_error(status, &answer, 400, "invalid_request");
        }
    }

    async fn the_audit_log_is_filtered_paged_and_exported(app) {
        let api = AdminApi::new(&app).await;
        let accounts = app.token("accounts").await;
        let (user_id, _) = sso_login(&app, &accounts, "a-1", "Al, \"the\" =cmd", "al@example.com").await;
        for n in 0..5 {
            let (status, _) = api.post("/keys", json!({"label": format!("k{n}")})).await;
            assert_eq!(status, 201);
        }
        let (_, page) = api.get("/audit?limit=3&action=api_key.created").await;
        let events = page["events"].as_array().unwrap();
        assert_eq!(events.len(), 3);
        assert!(events.iter().all(|e| e["action"] == "api_key.created"));
        assert!(events[0]["event_id"].as_i64() > events[1]["event_id"].as_i64(), "newest first");
        let before = page["next_before"].as_i64().unwrap();
        let (_, older) = api.get(&format!("/audit?limit=3&action=api_key.created&before={before}")).await;
        // Three of this test's keys and the site's first key.
        assert_eq!(older["events"].as_array().unwrap().len(), 3);
        assert_eq!(older["next_before"], Value::Null);
        let (_, mine) = api.get(&format!("/audit?user_id={user_id}")).await;
        let mine = mine["events"].as_array().unwrap();
        assert!(!mine.is_empty() && mine.iter().all(|e| e["user_id"] == user_id));
        assert_eq!(mine[0]["action"], "user.login");
        for query in ["limit=0", "limit=1001", "limit=x", "outcome=maybe", "user_id=abc", "limit=1&limit=2"] {
            let (status, body) = api.get(&format!("/audit?{query}")).await;
            assert_error(status, &body, 400, "invalid_request");
        }

        let response = app.client.get(app.url("/admin/api/v1/audit.csv"))
            .bearer_auth(&api.token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = response.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "event_id,at,action,actor,outcome,client_ip,user_id,detail");
        let total = app.store.list_audit(app.site_id, None, 1000).await.unwrap().len();
        assert_eq!(lines.len(), total + 1);
        let filtered = app.client.get(app.url("/admin/api/v1/audit.csv?action=api_key.created"))
            .bearer_auth(&api.token).send().await.unwrap().text().await.unwrap();
        assert_eq!(filtered.lines().count(), 7);
    }
}
