//! The direct SQLite reads of the hottest lookups answer exactly as the pool does
//! (they decode columns by position, so a wrong position would show here).

use tessera::clock::Clock;
use tessera::secrets::{self, SecretHash, TimedHash};
use tessera::store::access_tokens::NewAccessToken;
use tessera::store::audit::Actor;
use tessera::store::sessions::{NewSession, SessionKind};
use tessera::store::users::{Ban, NewLocalUser, SsoProfile};

use crate::both_stores;

both_stores! {
    async fn direct_reads_answer_like_the_pool(app) {
        let store = &app.store;
        assert_eq!(store.has_direct_reads(), store.kind() == "sqlite", "direct reads on SQLite files only");
        let pool = store.without_direct_reads();
        assert!(!pool.has_direct_reads());
        let now = app.clock.now_ms();

        // Users: every column different from its neighbours, a ban, and one of each kind.
        let sso = store.upsert_sso_user(app.site_id, &SsoProfile {
            external_id: "ext-42".into(),
            display_name: "Zoë 🚀".into(),
            email: Some("zoe@example.com".into()),
            photo_url: Some("https://img.example/z.png".into()),
            social_data: Some(r#"{"k":1}"#.into()),
            replace_all: true,
        }, now).await.unwrap();
        let local_id = store.create_local_user(&NewLocalUser {
            site_id: app.site_id,
            username: "agent7".into(),
            email: Some("a7@example.com".into()),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            role: "agent".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        }, now, &Actor::Cli).await.unwrap().expect("created");
        let ban = Ban { banned_at: now + 1, ends_at: Some(now + 86_400_000), reason: "spam".into(), note: "private".into() };
        assert!(store.ban_user(app.site_id, local_id, &ban, &Actor::Cli).await.unwrap());
        for user_id in [sso.user_id, local_id, 999_999] {
            let direct = store.get_user(app.site_id, user_id).await.unwrap();
            assert_eq!(direct, pool.get_user(app.site_id, user_id).await.unwrap(), "user {user_id}");
            assert_eq!(direct.is_some(), user_id != 999_999);
        }
        let banned = store.get_user(app.site_id, local_id).await.unwrap().unwrap();
        assert_eq!((banned.ban, banned.role.as_str(), banned.first_name.as_str()), (Some(ban), "agent", "Ada"));
        for external_id in ["ext-42", "nobody"] {
            let direct = store.find_user_by_external_id(app.site_id, external_id).await.unwrap();
            assert_eq!(direct, pool.find_user_by_external_id(app.site_id, external_id).await.unwrap());
            assert_eq!(direct.is_some(), external_id == "ext-42");
        }

        // API keys, by the hash of the presented secret.
        for presented in [app.api_key.as_str(), "tsk_unknown"] {
            let hash = SecretHash::of(presented);
            let direct = store.find_api_key(&hash).await.unwrap();
            assert_eq!(direct, pool.find_api_key(&hash).await.unwrap());
            assert_eq!(direct.map(|k| (k.key_id, k.site_active)), (presented == app.api_key).then_some((app.key_id, true)));
        }

        // Access tokens.
        let token = secrets::new_timed_secret(now);
        let token_hash = TimedHash::of(secrecy::ExposeSecret::expose_secret(&token));
        assert!(store.issue_access_token(&NewAccessToken {
            hash: token_hash.clone(), key_hash: SecretHash::of(&app.api_key), site_id: app.site_id,
            scope: "accounts admin".into(), issued_at: now - 10, expires_at: now + 3_600_000,
        }).await.unwrap());
        for hash in [token_hash.clone(), TimedHash::of("not-a-token")] {
            let direct = store.find_access_token(&hash, now).await.unwrap();
            assert_eq!(direct, pool.find_access_token(&hash, now).await.unwrap());
            assert_eq!(direct.map(|t| (t.scope, t.issued_at)), (hash == token_hash).then(|| ("accounts admin".to_string(), now - 10)));
        }

        // Sessions: every time different, a cookie session with its re-verification time.
        let session_hash = TimedHash::of(secrecy::ExposeSecret::expose_secret(&secrets::new_timed_secret(now)));
        store.create_session(&NewSession {
            hash: session_hash.clone(), site_id: app.site_id, user_id: sso.user_id, kind: SessionKind::Cookie,
            created_at: now - 5, idle_expires_at: now + 1_000, expires_at: now + 2_000, reverify_at: Some(now + 500), client_ip: None,
        }).await.unwrap();
        for hash in [session_hash.clone(), TimedHash::of("unknown")] {
            let direct = store.find_session(&hash, now).await.unwrap();
            assert_eq!(direct, pool.find_session(&hash, now).await.unwrap());
            assert_eq!(store.session_site(&hash, now).await.unwrap(), pool.session_site(&hash, now).await.unwrap());
            if hash == session_hash {
                let s = direct.expect("live session");
                assert_eq!((s.kind.as_str(), s.created_at, s.idle_expires_at, s.expires_at, s.reverify_at),
                           ("cookie", now - 5, now + 1_000, now + 2_000, Some(now + 500)));
                assert_eq!((s.display_name.as_str(), s.photo_url.as_deref(), s.role.as_str()),
                           ("Zoë 🚀", Some("https://img.example/z.png"), "user"));
            } else {
                assert!(direct.is_none());
            }
        }
        // Past its idle expiry, neither path finds it.
        assert_eq!(store.find_session(&session_hash, now + 1_000).await.unwrap(), None);
        assert_eq!(pool.find_session(&session_hash, now + 1_000).await.unwrap(), None);

        // Allowed origins (the test site allows http://127.0.0.1:9).
        for origin in ["http://127.0.0.1:9", "https://evil.example"] {
            let direct = store.site_allows_origin(app.site_id, origin).await.unwrap();
            assert_eq!(direct, pool.site_allows_origin(app.site_id, origin).await.unwrap());
            assert_eq!(direct, origin == "http://127.0.0.1:9");
            assert_eq!(store.any_site_allows_origin(origin).await.unwrap(), direct);
            assert_eq!(pool.any_site_allows_origin(origin).await.unwrap(), direct);
        }
    }

    async fn direct_reads_see_a_ban_from_another_process_at_once(app) {
        // Another process (the CLI) writes through its own connections: no cache may hide it.
        let now = app.clock.now_ms();
        let user = app.store.upsert_sso_user(app.site_id, &SsoProfile {
            external_id: "u".into(), display_name: "U".into(), email: None,
            photo_url: None, social_data: None, replace_all: false,
        }, now).await.unwrap();
        let hash = TimedHash::of(secrecy::ExposeSecret::expose_secret(&secrets::new_timed_secret(now)));
        app.store.create_session(&NewSession {
            hash: hash.clone(), site_id: app.site_id, user_id: user.user_id, kind: SessionKind::Server,
            created_at: now, idle_expires_at: now + 60_000, expires_at: now + 120_000, reverify_at: None, client_ip: None,
        }).await.unwrap();
        assert!(app.store.find_session(&hash, now).await.unwrap().is_some());
        let other_process = tessera::store::Store::open(&app.store_url(), &Default::default()).await.unwrap();
        let ban = Ban { banned_at: now, ends_at: None, reason: "r".into(), note: String::new() };
        assert!(other_process.ban_user(app.site_id, user.user_id, &ban, &Actor::Cli).await.unwrap());
        other_process.close().await;
        // On PostgreSQL this node hears of the ban through its cache's notifications
        // (within the bound of `scale_out`); waiting for them makes the check exact.
        // A SQLite file has no cache: its direct reads see the ban at once.
        app.store.settle_node_cache().await;
        assert_eq!(app.store.find_session(&hash, now).await.unwrap(), None);
    }
}
