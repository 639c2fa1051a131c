//! Login: the seed's curl flow, create-or-update, Unicode names, scopes, refusals, races.

use serde_json::Value;
use tessera::clock::Clock;
use tessera::store::audit::Actor;

use super::{assert_dead, assert_live, error_of, login, login_ok, lookup};
use crate::both_stores;

/// Runs the real curl binary; returns (status line + headers, body).
async fn curl(args: &[&str]) -> (String, String) {
    let output = tokio::process::Command::new("curl")
        .arg("-sS")
        .arg("-i")
        .args(args)
        .output()
        .await
        .expect("curl runs");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("headers and body");
    (head.to_string(), body.to_string())
}

fn json_of(head: &str, body: &str) -> Value {
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

both_stores! {
    async fn seed_curl_commands_token_login_logout(app) {
        // Step 2 of the seed, as written there: token, login, logout, with the real curl.
        let (head, body) = curl(&["--user", &format!("{}:{}", app.site_id, app.api_key),
            "-d", "grant_type=client_credentials", "-d", "scope=accounts", &app.url("/oauth2/token")]).await;
        let token = json_of(&head, &body)["access_token"].as_str().unwrap().to_string();

        let auth = format!("Authorization: Bearer {token}");
        let (head, body) = curl(&["-H", &auth, "-d", "id=YOUR_OWN_USER_ID", "-d", "name=John Doe",
            "-d", "email=jd@example.com", &app.url("/rest/v1/accounts/login")]).await;
        assert!(head.to_ascii_lowercase().contains("cache-control: no-store"), "{head}");
        let login: Value = json_of(&head, &body);
        let user_id = login["user_id"].as_i64().unwrap();
        assert!(user_id > 0 && user_id < (1_i64 << 53));
        let session = login["session"].as_str().unwrap().to_string();
        // 256 random bits, URL-safe.
        assert!(session.len() >= 43 && session.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(login.as_object().unwrap().len(), 2, "{login}");

        // Step 3 uses the session: the lookup names the user.
        let info = assert_live(&app, &session).await;
        assert_eq!(info["user_id"], user_id);
        assert_eq!(info["site_id"], app.site_id);
        assert_eq!(info["name"], "John Doe");
        let user = app.store.get_user(app.site_id, user_id).await.unwrap().unwrap();
        assert_eq!(user.external_id.as_deref(), Some("YOUR_OWN_USER_ID"));
        assert_eq!(user.email.as_deref(), Some("jd@example.com"));

        let (head, body) = curl(&["-H", &auth, "-d", &format!("session={session}"),
            &app.url("/rest/v1/accounts/logout")]).await;
        assert_eq!(json_of(&head, &body), serde_json::json!({"status": "ok"}));
        assert_dead(&app, &session).await;
        // Idempotent.
        let (head, body) = curl(&["-H", &auth, "-d", &format!("session={session}"),
            &app.url("/rest/v1/accounts/logout")]).await;
        assert_eq!(json_of(&head, &body), serde_json::json!({"status": "ok"}));
    }

    async fn login_creates_then_updates_the_same_user(app) {
        let token = app.token("accounts").await;
        let (first, old_session) = login_ok(&app, &token, "u-1", "Ann").await;
        let (again, _) = login_ok(&app, &token, "u-1", "Ann").await;
        assert_eq!(first, again);
        let before = app.store.get_user(app.site_id, first).await.unwrap().unwrap();

        // A changed name: same user, visible through the lookup of old and new sessions.
        let response = login(&app, &token, &[("id", "u-1"), ("name", "  Ann Smith "), ("email", "ann@example.com")]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["user_id"], first);
        let new_session = body["session"].as_str().unwrap();
        assert_eq!(assert_live(&app, new_session).await["name"], "Ann Smith");
        assert_eq!(assert_live(&app, &old_session).await["name"], "Ann Smith");
        let after = app.store.get_user(app.site_id, first).await.unwrap().unwrap();
        assert_eq!(after.display_name, "Ann Smith");
        assert_eq!(after.email.as_deref(), Some("ann@example.com"));
        assert_eq!(after.created_at, before.created_at);

        // A JSON body with a numeric id is the same user as the form id "42".
        let (by_form, _) = login_ok(&app, &token, "42", "Forty Two").await;
        let response = app.client.post(app.url("/rest/v1/accounts/login")).bearer_auth(&token)
            .json(&serde_json::json!({"id": 42, "name": "Forty Two", "email": null})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["user_id"], by_form);

        // Another id is another user; ids are exact (case matters).
        let (other, _) = login_ok(&app, &token, "U-1", "Ann").await;
        assert_ne!(other, first);
        assert_eq!(app.store.count_site_users(app.site_id).await.unwrap(), 3);
    }

    async fn unicode_and_emoji_names(app) {
        let token = app.token("accounts").await;
        for (i, name) in ["Zoë Ålund-Ñúñez", "山田 太郎", "Анна Каренина", "محمد", "👩🏽‍💻 dev", "\u{00A0}Ünïcödé\u{00A0}"].iter().enumerate() {
            let (_, session) = login_ok(&app, &token, &format!("uni-{i}"), name).await;
            let info = assert_live(&app, &session).await;
            assert_eq!(info["name"], name.trim(), "{name}");
        }
        // Counted in characters, not bytes: 255 emoji (1020 bytes) fit, 256 do not.
        let (_, session) = login_ok(&app, &token, "emoji", &"😀".repeat(255)).await;
        assert_eq!(assert_live(&app, &session).await["name"], "😀".repeat(255));
        let response = login(&app, &token, &[("id", "emoji-2"), ("name", &"😀".repeat(256))]).await;
        let description = error_of(response, 400, "invalid_request").await;
        assert!(description.contains("name"), "{description}");
        assert!(app.store.find_user_by_external_id(app.site_id, "emoji-2").await.unwrap().is_none());
        // Unicode ids too.
        let (_, session) = login_ok(&app, &token, "ユーザー/7 ✓", "Kana").await;
        assert_live(&app, &session).await;
    }

    async fn tokens_without_accounts_scope_or_valid_token_are_refused(app) {
        let admin_only = app.token("admin").await;
        for path in ["/rest/v1/accounts/login", "/rest/v1/accounts/logout"] {
            let response = app.client.post(app.url(path)).bearer_auth(&admin_only)
                .form(&[("id", "u"), ("name", "N")]).send().await.unwrap();
            let www = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
            error_of(response, 403, "insufficient_scope").await;
            assert!(www.unwrap().contains("insufficient_scope"));

            let no_token = app.client.post(app.url(path)).form(&[("id", "u"), ("name", "N")]).send().await.unwrap();
            assert!(no_token.headers().get("www-authenticate").unwrap().to_str().unwrap().starts_with("Bearer"));
            error_of(no_token, 401, "invalid_token").await;

            let garbage = app.client.post(app.url(path)).bearer_auth("not-a-token")
                .form(&[("id", "u"), ("name", "N")]).send().await.unwrap();
            assert!(garbage.headers().get("www-authenticate").unwrap().to_str().unwrap().contains("invalid_token"));
            error_of(garbage, 401, "invalid_token").await;

            // The API key itself is not a bearer token, and Basic is not Bearer.
            let key = app.client.post(app.url(path)).bearer_auth(&app.api_key)
                .form(&[("id", "u"), ("name", "N")]).send().await.unwrap();
            error_of(key, 401, "invalid_token").await;
            let basic = app.client.post(app.url(path)).basic_auth(app.site_id, Some(&app.api_key))
                .form(&[("id", "u"), ("name", "N")]).send().await.unwrap();
            error_of(basic, 401, "invalid_token").await;
        }
        // A token of both scopes works; an expired one does not.
        let both = app.token("accounts admin").await;
        login_ok(&app, &both, "u", "N").await;
        app.clock.advance(std::time::Duration::from_secs(3601));
        let response = login(&app, &both, &[("id", "u"), ("name", "N")]).await;
        error_of(response, 401, "invalid_token").await;
        assert_eq!(app.store.count_site_users(app.site_id).await.unwrap(), 1);
    }

    async fn deleted_and_inactive_users_are_refused_without_a_session(app) {
        let token = app.token("accounts").await;
        let (gone, gone_session) = login_ok(&app, &token, "gone", "Gone").await;
        let (idle, idle_session) = login_ok(&app, &token, "idle", "Idle").await;
        let now = app.clock.now_ms();
        assert!(app.store.mark_user_deleted(app.site_id, gone, now, &Actor::Cli).await.unwrap());
        assert!(app.store.set_user_active(app.site_id, idle, false, now, &Actor::Cli).await.unwrap());
        assert_dead(&app, &gone_session).await;
        assert_dead(&app, &idle_session).await;
        let sessions_before = app.store.count_site_sessions(app.site_id).await.unwrap();
        assert_eq!(sessions_before, 0);

        let response = login(&app, &token, &[("id", "gone"), ("name", "Renamed")]).await;
        error_of(response, 403, "user_deleted").await;
        let response = login(&app, &token, &[("id", "idle"), ("name", "Idle")]).await;
        error_of(response, 403, "user_inactive").await;
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);
        // A refused user is not touched (its profile was erased by the deletion).
        let user = app.store.get_user(app.site_id, gone).await.unwrap().unwrap();
        assert_eq!(user.display_name, "", "not renamed by the refused login");

        // Reactivated: logs in again.
        assert!(app.store.set_user_active(app.site_id, idle, true, app.clock.now_ms(), &Actor::Cli).await.unwrap());
        let (again, session) = login_ok(&app, &token, "idle", "Idle").await;
        assert_eq!(again, idle);
        assert_live(&app, &session).await;
    }

    async fn concurrent_first_logins_create_exactly_one_user(app) {
        let token = app.token("accounts").await;
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for i in 0..50 {
            let app = app.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                // Half of them with a different name, so updates race with inserts too.
                let name = if i % 2 == 0 { "Racer" } else { "Racer Two" };
                let response = login(&app, &token, &[("id", "racer"), ("name", name), ("email", "r@example.com")]).await;
                let status = response.status();
                let body: Value = response.json().await.unwrap();
                assert_eq!(status, 200, "{body}");
                (body["user_id"].as_i64().unwrap(), body["session"].as_str().unwrap().to_string())
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut sessions = std::collections::BTreeSet::new();
        for task in tasks {
            let (id, session) = task.await.unwrap();
            ids.insert(id);
            sessions.insert(session);
        }
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(sessions.len(), 50);
        assert_eq!(app.store.count_site_users(app.site_id).await.unwrap(), 1);
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 50);
        for session in sessions.iter().take(3) {
            let (status, _) = lookup(&app, session).await;
            assert_eq!(status, 200);
        }
    }

    async fn same_external_id_on_two_sites_is_two_users(app) {
        let token = app.token("accounts").await;
        let (other_site, other_token) = crate::accounts::second_site(&app, "https://two.example").await;
        let (mine, my_session) = login_ok(&app, &token, "shared-id", "Mine").await;
        let (theirs, their_session) = login_ok(&app, &other_token, "shared-id", "Theirs").await;
        assert_ne!(mine, theirs);
        assert_eq!(assert_live(&app, &my_session).await["site_id"], app.site_id);
        let info = assert_live(&app, &their_session).await;
        assert_eq!(info["site_id"], other_site);
        assert_eq!(info["name"], "Theirs");
        assert_eq!(assert_live(&app, &my_session).await["name"], "Mine");
    }
}
