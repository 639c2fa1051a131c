//! Bans (SPEC §3.4): end sessions at once, refuse logins with the ban body, expire;
//! and the audit events of logins, logouts and bans.

use std::time::Duration;

use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::store::audit::Actor;
use tessera::store::users::Ban;

use super::{assert_dead, assert_live, login, login_ok, logout};
use crate::both_stores;
use crate::helpers::TestApp;

fn ban(app: &TestApp, ends_in: Option<Duration>, reason: &str) -> Ban {
    let now = app.clock.now_ms();
    Ban {
        banned_at: now,
        ends_at: ends_in.map(|d| now + d.as_millis() as i64),
        reason: reason.to_string(),
        note: "private moderator note".to_string(),
    }
}

async fn refused(app: &TestApp, token: &str, id: &str) -> Value {
    let response = login(app, token, &[("id", id), ("name", "Name")]).await;
    assert_eq!(response.status(), 403);
    response.json().await.unwrap()
}

both_stores! {
    async fn a_permanent_ban_ends_sessions_and_blocks_login(app) {
        let token = app.token("accounts").await;
        let (user_id, first) = login_ok(&app, &token, "troll", "Troll").await;
        let (_, second) = login_ok(&app, &token, "troll", "Troll").await;
        let (_, bystander) = login_ok(&app, &token, "nice", "Nice").await;
        assert!(app.store.ban_user(app.site_id, user_id, &ban(&app, None, "Spamming the comments"), &Actor::Cli).await.unwrap());
        assert_dead(&app, &first).await;
        assert_dead(&app, &second).await;
        assert_live(&app, &bystander).await;
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 1);

        let body = refused(&app, &token, "troll").await;
        assert_eq!(body, json!({
            "error": "user_banned", "ban_level": "permanent", "is_permanent": true,
            "end_date": null, "reason": "Spamming the comments",
        }));
        // No session was created, and the private note never leaks.
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 1);
        assert!(!body.to_string().contains("moderator"));
        // Still banned much later; a profile change in the refused login is not applied.
        app.clock.advance(Duration::from_secs(400 * 24 * 3600));
        let token = app.token("accounts").await;
        assert_eq!(refused(&app, &token, "troll").await["ban_level"], "permanent");
        let user = app.store.get_user(app.site_id, user_id).await.unwrap().unwrap();
        assert_eq!(user.display_name, "Troll");
    }

    async fn a_temporary_ban_blocks_until_its_end(app) {
        let token = app.token("accounts").await;
        let (user_id, session) = login_ok(&app, &token, "hothead", "Hot Head").await;
        let ban = ban(&app, Some(Duration::from_secs(24 * 3600)), "Cool down for a day");
        let end = ban.ends_at.unwrap();
        assert!(app.store.ban_user(app.site_id, user_id, &ban, &Actor::Cli).await.unwrap());
        assert_dead(&app, &session).await;
        let body = refused(&app, &token, "hothead").await;
        assert_eq!(body, json!({
            "error": "user_banned", "ban_level": "temporary", "is_permanent": false,
            "end_date": end, "reason": "Cool down for a day",
        }));
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);
        // Just before the end: still blocked. At the end: logs in again.
        app.clock.advance(Duration::from_millis((end - app.clock.now_ms() - 1) as u64));
        let token = app.token("accounts").await;
        refused(&app, &token, "hothead").await;
        app.clock.advance(Duration::from_millis(1));
        let (again, session) = login_ok(&app, &token, "hothead", "Hot Head").await;
        assert_eq!(again, user_id);
        assert_live(&app, &session).await;
    }

    async fn unban_lets_the_user_back_in(app) {
        let token = app.token("accounts").await;
        let (user_id, _) = login_ok(&app, &token, "u1", "Ann").await;
        app.store.ban_user(app.site_id, user_id, &ban(&app, None, "Oops"), &Actor::Cli).await.unwrap();
        refused(&app, &token, "u1").await;
        assert!(app.store.unban_user(app.site_id, user_id, app.clock.now_ms(), &Actor::Cli).await.unwrap());
        let (again, session) = login_ok(&app, &token, "u1", "Ann").await;
        assert_eq!(again, user_id);
        assert_live(&app, &session).await;
        assert!(app.store.get_user(app.site_id, user_id).await.unwrap().unwrap().ban.is_none());
        // Another site cannot ban or unban this user.
        let (other_site, _) = crate::accounts::second_site(&app, "https://two.example").await;
        assert!(!app.store.ban_user(other_site, user_id, &ban(&app, None, "x"), &Actor::Cli).await.unwrap());
        assert_live(&app, &session).await;
    }

    async fn logins_logouts_and_bans_are_audited(app) {
        let token = app.token("accounts").await;
        let (user_id, session) = login_ok(&app, &token, "u1", "Ann").await;
        logout(&app, &token, &[("session", &session)]).await;
        login_ok(&app, &token, "u1", "Ann").await;
        logout(&app, &token, &[("id", "u1")]).await;
        app.store.ban_user(app.site_id, user_id, &ban(&app, None, "Spam"), &Actor::Cli).await.unwrap();
        refused(&app, &token, "u1").await;

        let events = app.store.list_audit(app.site_id, None, 100).await.unwrap();
        let actions: Vec<(&str, &str)> = events.iter().rev()
            .filter(|e| e.action.starts_with("user."))
            .map(|e| (e.action.as_str(), e.outcome.as_str())).collect();
        assert_eq!(actions, [
            ("user.login", "success"), ("user.logout", "success"), ("user.login", "success"),
            ("user.logout", "success"), ("user.banned", "success"), ("user.login", "failure"),
        ]);
        let key_actor = format!("api_key:{}", app.key_id);
        for e in events.iter().filter(|e| e.action == "user.login" || e.action == "user.logout") {
            assert_eq!(e.actor, key_actor, "{e:?}");
            assert_eq!(e.client_ip.as_deref(), Some("127.0.0.1"), "{e:?}");
            assert_eq!(e.detail.0["user_id"], user_id, "{e:?}");
            assert_eq!(e.site_id, Some(app.site_id));
        }
        let failed = events.iter().find(|e| e.outcome == "failure").unwrap();
        assert_eq!(failed.detail.0["reason"], "user_banned");
        let by_id = events.iter().find(|e| e.action == "user.logout" && e.detail.0["by"] == "id").unwrap();
        assert_eq!(by_id.detail.0["sessions_ended"], 1);
        // Session ids never appear in the audit log.
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(&session));
    }
}
