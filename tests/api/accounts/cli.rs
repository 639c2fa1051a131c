//! `tessera user ban|unban` and `tessera audit list`, straight on the store.

use tessera::clock::{Clock, SystemClock};
use tessera::secrets::{self, TimedHash};
use tessera::store::audit::Actor;
use tessera::store::sessions::{NewSession, SessionKind};
use tessera::store::users::SsoProfile;
use tessera::store::Store;

use crate::both_databases;
use crate::cli::{tessera, tessera_fails, tessera_json};

/// A site with one SSO user holding one session: `(site_id, user_id, session hash)`.
async fn site_with_user(store: &Store) -> (i64, i64, TimedHash) {
    let now = SystemClock.now_ms();
    let site = store
        .create_site("CLI site", &[], now, &Actor::Cli)
        .await
        .unwrap()
        .site_id;
    let profile = SsoProfile {
        external_id: "ext-1".into(),
        display_name: "Ann".into(),
        email: None,
        photo_url: None,
        social_data: None,
        replace_all: false,
    };
    let user = store.upsert_sso_user(site, &profile, now).await.unwrap();
    let hash = TimedHash::of(secrecy::ExposeSecret::expose_secret(
        &secrets::new_timed_secret(now),
    ));
    store
        .create_session(&NewSession {
            hash: hash.clone(),
            site_id: site,
            user_id: user.user_id,
            kind: SessionKind::Server,
            created_at: now,
            idle_expires_at: now + 3_600_000,
            expires_at: now + 7_200_000,
            reverify_at: None,
            client_ip: None,
        })
        .await
        .unwrap();
    (site, user.user_id, hash)
}

both_databases! {
    async fn ban_unban_and_audit_round_trip(db) {
        let url = db.url.as_str();
        let store = db.open_store().await;
        let (site_id, user_id, hash) = site_with_user(&store).await;
        let (site, user) = (site_id.to_string(), user_id.to_string());
        let now = SystemClock.now_ms();
        assert!(store.find_session(&hash, now).await.unwrap().is_some());

        let banned = tessera_json(url, &["user", "ban", &site, &user, "--reason", "Spamming", "--note", "see ticket 12"]).await;
        assert_eq!(banned["banned"], true);
        assert_eq!(banned["ban_level"], "permanent");
        assert_eq!(banned["end_date"], serde_json::Value::Null);
        // The ban ended the session at once and is stored with its note.
        assert!(store.find_session(&hash, now).await.unwrap().is_none());
        assert_eq!(store.count_site_sessions(site_id).await.unwrap(), 0);
        let stored = store.get_user(site_id, user_id).await.unwrap().unwrap().ban.unwrap();
        assert_eq!((stored.reason.as_str(), stored.note.as_str(), stored.ends_at), ("Spamming", "see ticket 12", None));

        // A temporary ban replaces it.
        let until = chrono::Utc::now() + chrono::Duration::days(7);
        let until_text = until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let temporary = tessera_json(url, &["user", "ban", &site, &user, "--until", &until_text, "--reason", "Cool down"]).await;
        assert_eq!(temporary["ban_level"], "temporary");
        assert_eq!(temporary["ends_at"], until_text);
        assert_eq!(temporary["end_date"], until.timestamp() * 1000);

        let unbanned = tessera_json(url, &["user", "unban", &site, &user]).await;
        assert_eq!(unbanned["unbanned"], true);
        assert!(store.get_user(site_id, user_id).await.unwrap().unwrap().ban.is_none());

        let audit = tessera_json(url, &["audit", "list", &site]).await;
        assert_eq!(audit["site_id"], site_id);
        let events = audit["events"].as_array().unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions[..3], ["user.unbanned", "user.banned", "user.banned"], "{actions:?}");
        assert!(actions.contains(&"site.created"), "{actions:?}");
        assert_eq!(events[0]["actor"], "cli");
        assert_eq!(events[2]["detail"]["sessions_ended"], 1);
        assert!(events[0]["at"].as_str().unwrap().ends_with('Z'));
        let limited = tessera_json(url, &["audit", "list", &site, "--limit", "1"]).await;
        assert_eq!(limited["events"].as_array().unwrap().len(), 1);
        let older = tessera_json(url, &["audit", "list", &site, "--before", &events[1]["event_id"].to_string()]).await;
        assert_eq!(older["events"].as_array().unwrap().len(), events.len() - 2);
        assert_eq!(older["events"][0]["event_id"], events[2]["event_id"]);

        // Text output too.
        let run = tessera(url, &["audit", "list", &site]).await;
        assert!(run.status.success());
        assert!(run.stdout.contains("user.banned"), "{}", run.stdout);
        store.close().await;
    }

    async fn bad_ban_input_is_one_sentence_and_changes_nothing(db) {
        let url = db.url.as_str();
        let store = db.open_store().await;
        let (site_id, user_id, hash) = site_with_user(&store).await;
        let (site, user) = (site_id.to_string(), user_id.to_string());
        tessera_fails(url, &["user", "ban", &site, &user, "--until", "2001-01-01T00:00:00Z", "--reason", "x"], "in the future").await;
        tessera_fails(url, &["user", "ban", &site, &user, "--reason", "  "], "reason").await;
        tessera_fails(url, &["user", "ban", &site, &user, "--reason", &"r".repeat(501)], "at most 500").await;
        tessera_fails(url, &["user", "ban", &site, &user, "--reason", "ok", "--note", "\u{1b}[2J"], "control").await;
        tessera_fails(url, &["user", "ban", &site, "999999", "--reason", "x"], "has no user 999999").await;
        tessera_fails(url, &["user", "ban", "424242", &user, "--reason", "x"], "no site 424242").await;
        tessera_fails(url, &["user", "unban", &site, "999999"], "has no user 999999").await;
        tessera_fails(url, &["audit", "list", "424242"], "no site 424242").await;
        // Usage errors (clap): missing reason, bad ids, bad limit.
        for args in [vec!["user", "ban", &site, &user], vec!["user", "ban", &site, "abc", "--reason", "x"],
                     vec!["user", "ban", &site, "0", "--reason", "x"], vec!["audit", "list", &site, "--limit", "0"]] {
            let run = tessera(url, &args).await;
            assert!(!run.status.success(), "{args:?}");
            assert!(run.stdout.is_empty());
        }
        let run = tessera(url, &["user", "ban", &site, &user, "--until", "next week", "--reason", "x"]).await;
        assert!(!run.status.success());
        assert!(run.stderr.contains("RFC 3339"), "{}", run.stderr);
        // Nothing changed: not banned, session live, no ban in the audit log.
        assert!(store.get_user(site_id, user_id).await.unwrap().unwrap().ban.is_none());
        assert!(store.find_session(&hash, SystemClock.now_ms()).await.unwrap().is_some());
        let events = store.list_audit(site_id, None, 100).await.unwrap();
        assert!(events.iter().all(|e| e.action != "user.banned"));
        store.close().await;
    }
}
