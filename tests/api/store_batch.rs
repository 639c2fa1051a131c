//! Group commit of tokens and sessions: every row committed, a token only for a key
//! that matches, a bad row fails alone.

use std::sync::Arc;

use tessera::clock::Clock;
use tessera::secrets::{SecretHash, TimedHash};
use tessera::store::access_tokens::NewAccessToken;
use tessera::store::api_keys::LAST_USED_RESOLUTION_MS;
use tessera::store::audit::{Actor, NewAuditEvent};
use tessera::store::logins::{LoginOutcome, LoginUser, NewLogin};
use tessera::store::sessions::{NewSession, SessionKind};
use tessera::store::used_tokens::{token_key, UsedToken};
use tessera::store::users::SsoProfile;
use tessera::store::{PoolSizes, Store};

use crate::both_stores;

fn token(site_id: i64, api_key: &str, n: usize, now: i64) -> NewAccessToken {
    NewAccessToken {
        hash: TimedHash::of(&format!("token-{n}")),
        key_hash: SecretHash::of(api_key),
        site_id,
        scope: "accounts".into(),
        issued_at: now,
        expires_at: now + 60_000,
    }
}

fn session(site_id: i64, user_id: i64, n: usize, now: i64) -> NewSession {
    NewSession {
        hash: TimedHash::of(&format!("session-{n}")),
        site_id,
        user_id,
        kind: SessionKind::Server,
        created_at: now,
        idle_expires_at: now + 60_000,
        expires_at: now + 120_000,
        reverify_at: None,
        client_ip: None,
    }
}

fn used_token(site_id: i64, jti: &str, now: i64) -> UsedToken {
    UsedToken {
        key: token_key("sso_token", site_id, jti.as_bytes()),
        site_id,
        used_at: now,
        expires_at: now + 60_000,
    }
}

/// Login `n` of `user_id` (session `session-{n}`), spending the token `jti`; even `n`
/// assert the user's profile, odd `n` name the user.
fn spending_login(site_id: i64, user_id: i64, n: usize, now: i64, jti: &str) -> NewLogin {
    let user = if n % 2 == 0 {
        LoginUser::Profile(user_u1())
    } else {
        LoginUser::Existing { user_id }
    };
    NewLogin {
        user,
        once: Some(used_token(site_id, jti, now)),
        ..known_login(site_id, user_id, n, now)
    }
}

/// Login `n` of the existing user `user_id` (session `session-{n}`).
fn known_login(site_id: i64, user_id: i64, n: usize, now: i64) -> NewLogin {
    NewLogin {
        site_id,
        user: LoginUser::Existing { user_id },
        at: now,
        session: Some(session(site_id, user_id, n, now)),
        event: NewAuditEvent::new(Some(site_id), now, &Actor::Cli, "user.login"),
        by_user: true,
        policy: tessera::signin::policy::refusal_reason,
        once: None,
    }
}

/// The profile of user `u1` that [`sso_user`] creates.
fn user_u1() -> SsoProfile {
    SsoProfile {
        external_id: "u1".into(),
        display_name: "U".into(),
        email: None,
        photo_url: None,
        social_data: None,
        replace_all: true,
    }
}

async fn sso_user(store: &Store, site_id: i64, now: i64) -> i64 {
    store
        .upsert_sso_user(site_id, &user_u1(), now)
        .await
        .unwrap()
        .user_id
}

both_stores! {
    async fn concurrent_issues_are_all_committed(app) {
        let now = app.clock.now_ms();
        let store = Arc::new(app.store.clone());
        let tasks: Vec<_> = (0..400)
            .map(|n| {
                let store = store.clone();
                let t = token(app.site_id, &app.api_key, n, now);
                tokio::spawn(async move { store.issue_access_token(&t).await })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().expect("issue"), "issued");
        }
        for n in [0, 199, 399] {
            let found = app.store.find_access_token(&TimedHash::of(&format!("token-{n}")), now).await.unwrap();
            assert_eq!(found.expect("committed").key_id, app.key_id);
        }
    }

    async fn a_token_used_many_times_at_once_is_used_once(app) {
        // Concurrent logins spending 4 tokens land in the same batches of the group-commit
        // writer: exactly one login per token goes through, whether the others come in the
        // same batch or later; a replay writes no session and no event. Half the logins
        // assert a profile and half name an existing user (two paths of each writer).
        let now = app.clock.now_ms();
        let user_id = sso_user(&app.store, app.site_id, now).await;
        let before = app.store.list_audit(app.site_id, None, 1000).await.unwrap().len();
        let store = Arc::new(app.store.clone());
        let tasks: Vec<_> = (0..64)
            .map(|n| {
                let login = spending_login(app.site_id, user_id, n, now, &format!("jti-{}", n % 4));
                let store = store.clone();
                tokio::spawn(async move { store.commit_login(login).await })
            })
            .collect();
        let mut admitted = 0;
        for t in tasks {
            match t.await.unwrap().expect("login") {
                LoginOutcome::Admitted(_) => admitted += 1,
                LoginOutcome::Replayed => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(admitted, 4, "one login per distinct token");
        let events = app.store.list_audit(app.site_id, None, 1000).await.unwrap();
        assert_eq!(events.len(), before + 4, "replays write no event");
        let mut live = 0;
        for n in 0..64 {
            let hash = TimedHash::of(&format!("session-{n}"));
            live += usize::from(app.store.find_session(&hash, now).await.unwrap().is_some());
        }
        assert_eq!(live, 4, "sessions of the admitted logins only");
        let again = spending_login(app.site_id, user_id, 99, now, "jti-0");
        assert!(matches!(app.store.commit_login(again).await.unwrap(), LoginOutcome::Replayed));
    }

    async fn tokens_are_issued_only_for_a_matching_key_of_an_active_site(app) {
        let now = app.clock.now_ms();
        let other = app.store.create_site("Other", &[], now, &Actor::Cli).await.unwrap();
        let disabled = app.store.create_site("Disabled", &[], now, &Actor::Cli).await.unwrap();
        assert!(app.store.set_site_active(disabled.site_id, false, now, &Actor::Cli).await.unwrap());
        let other_key = secrecy::ExposeSecret::expose_secret(&other.api_key).to_string();
        let disabled_key = secrecy::ExposeSecret::expose_secret(&disabled.api_key).to_string();
        // One batch: the good rows around the bad ones.
        let cases = [
            (token(app.site_id, &app.api_key, 0, now), true),
            (token(app.site_id, "tsk_unknown", 1, now), false),
            (token(app.site_id, &other_key, 2, now), false), // another site's key
            (token(other.site_id, &app.api_key, 3, now), false), // claims the wrong site
            (token(disabled.site_id, &disabled_key, 4, now), false),
            (token(other.site_id, &other_key, 5, now), true),
        ];
        let store = Arc::new(app.store.clone());
        let tasks: Vec<_> = cases
            .iter()
            .map(|(t, _)| {
                let (store, t) = (store.clone(), t.clone());
                tokio::spawn(async move { store.issue_access_token(&t).await })
            })
            .collect();
        for (n, (task, (_, expected))) in tasks.into_iter().zip(&cases).enumerate() {
            assert_eq!(task.await.unwrap().expect("no store error"), *expected, "case {n}");
            let found = app.store.find_access_token(&TimedHash::of(&format!("token-{n}")), now).await.unwrap();
            assert_eq!(found.is_some(), *expected, "case {n} stored");
        }
        let found = app.store.find_access_token(&TimedHash::of("token-5"), now).await.unwrap().unwrap();
        assert_eq!((found.site_id, found.key_id), (other.site_id, other.key_id));
    }

    async fn issuing_records_the_key_use_at_most_once_a_minute(app) {
        let now = app.clock.now_ms();
        let last_used = || async {
            app.store.list_api_keys(app.site_id).await.unwrap()[0].last_used_at
        };
        assert_eq!(last_used().await, None);
        assert!(app.store.issue_access_token(&token(app.site_id, &app.api_key, 0, now)).await.unwrap());
        assert_eq!(last_used().await, Some(now));
        let soon = now + LAST_USED_RESOLUTION_MS - 1;
        assert!(app.store.issue_access_token(&token(app.site_id, &app.api_key, 1, soon)).await.unwrap());
        assert_eq!(last_used().await, Some(now), "not rewritten within the resolution");
        let later = now + LAST_USED_RESOLUTION_MS;
        assert!(app.store.issue_access_token(&token(app.site_id, &app.api_key, 2, later)).await.unwrap());
        assert_eq!(last_used().await, Some(later));
    }

    async fn a_bad_row_fails_alone(app) {
        let now = app.clock.now_ms();
        let user_id = sso_user(&app.store, app.site_id, now).await;
        let store = Arc::new(app.store.clone());
        let tasks: Vec<_> = (0..100)
            .map(|n| {
                let store = store.clone();
                // Row 50 references a user that does not exist.
                let user_id = if n == 50 { 987_654 } else { user_id };
                let s = session(app.site_id, user_id, n, now);
                tokio::spawn(async move { store.create_session(&s).await })
            })
            .collect();
        let mut failures = 0;
        for (n, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(()) => assert_ne!(n, 50),
                Err(e) => {
                    assert_eq!(n, 50);
                    assert!(e.is_foreign_key_violation(), "{e}");
                    failures += 1;
                }
            }
        }
        assert_eq!(failures, 1);
        assert!(app.store.find_session(&TimedHash::of("session-49"), now).await.unwrap().is_some());
        assert!(app.store.find_session(&TimedHash::of("session-50"), now).await.unwrap().is_none());
    }

    async fn a_session_and_its_audit_event_are_written_together_or_not_at_all(app) {
        let now = app.clock.now_ms();
        let user_id = sso_user(&app.store, app.site_id, now).await;
        let before = app.store.list_audit(app.site_id, None, 100).await.unwrap().len();
        let store = Arc::new(app.store.clone());
        // In one batch: two logins whose sessions have the same id, so the second
        // session's insert fails; its audit event must not be written either.
        let tasks: Vec<_> = (0..2)
            .map(|n| {
                let mut login = known_login(app.site_id, user_id, 0, now);
                login.event = login.event.with_detail(serde_json::json!({ "n": n }));
                let store = store.clone();
                tokio::spawn(async move { store.commit_login(login).await })
            })
            .collect();
        let outcomes: Vec<_> = futures_util::future::join_all(tasks).await.into_iter().map(|t| t.unwrap()).collect();
        assert_eq!(outcomes.iter().filter(|o| matches!(o, Ok(LoginOutcome::Admitted(_)))).count(), 1, "{outcomes:?}");
        let failed = outcomes.iter().find_map(|o| o.as_ref().err()).expect("one login fails");
        assert!(failed.is_unique_violation(), "{failed}");
        let events = app.store.list_audit(app.site_id, None, 100).await.unwrap();
        assert_eq!(events.len(), before + 1, "only the good login's event");
        assert_eq!(events[0].actor, format!("user:{user_id}"));
        assert_eq!(events[0].user_id, Some(user_id));
        assert!(app.store.find_session(&TimedHash::of("session-0"), now).await.unwrap().is_some());
    }

    async fn a_refused_login_writes_its_refusal_and_nothing_else(app) {
        let now = app.clock.now_ms();
        let user_id = sso_user(&app.store, app.site_id, now).await;
        app.store.set_user_active(app.site_id, user_id, false, now, &Actor::Cli).await.unwrap();
        let profile = SsoProfile {
            external_id: "u1".into(),
            display_name: "Changed".into(),
            email: None,
            photo_url: None,
            social_data: None,
            replace_all: false,
        };
        let login = NewLogin {
            site_id: app.site_id,
            user: LoginUser::Profile(profile),
            at: now,
            session: Some(session(app.site_id, user_id, 7, now)),
            event: NewAuditEvent::new(Some(app.site_id), now, &Actor::Cli, "user.login"),
            by_user: false,
            policy: tessera::signin::policy::refusal_reason,
            once: Some(used_token(app.site_id, "refused", now)),
        };
        let outcome = app.store.commit_login(login).await.unwrap();
        let LoginOutcome::Refused { user, site_active } = outcome else { panic!("{outcome:?}") };
        assert!(site_active && !user.active);
        assert!(app.store.find_session(&TimedHash::of("session-7"), now).await.unwrap().is_none());
        let stored = app.store.get_user(app.site_id, user_id).await.unwrap().unwrap();
        assert_ne!(stored.display_name, "Changed", "a refused user is not touched");
        let events = app.store.list_audit(app.site_id, None, 1).await.unwrap();
        assert_eq!(events[0].outcome, "failure");
        assert_eq!(events[0].detail.0["reason"], "user_inactive");
        // The refused login spent its token: it stays refused once the user is back.
        app.store.set_user_active(app.site_id, user_id, true, now, &Actor::Cli).await.unwrap();
        let again = spending_login(app.site_id, user_id, 8, now, "refused");
        assert!(matches!(app.store.commit_login(again).await.unwrap(), LoginOutcome::Replayed));
    }

    async fn logins_of_known_users_are_each_decided_on_their_own_user_and_site(app) {
        // Concurrent logins of existing users, the commonest batch (on PostgreSQL written
        // as one statement, without a transaction): in the same batches, each login is
        // decided on its own user and site; an admitted one gets its session and event, a
        // refused one its refusal alone.
        let now = app.clock.now_ms();
        let disabled = app.store.create_site("Disabled", &[], now, &Actor::Cli).await.unwrap();
        let mut users = Vec::new();
        for (n, site_id) in [(0, app.site_id), (1, app.site_id), (2, disabled.site_id)] {
            let profile = SsoProfile { external_id: format!("k{n}"), ..user_u1() };
            users.push((site_id, app.store.upsert_sso_user(site_id, &profile, now).await.unwrap().user_id));
        }
        app.store.set_user_active(app.site_id, users[1].1, false, now, &Actor::Cli).await.unwrap();
        assert!(app.store.set_site_active(disabled.site_id, false, now, &Actor::Cli).await.unwrap());
        let store = Arc::new(app.store.clone());
        let tasks: Vec<_> = (0..90)
            .map(|n| {
                let (site_id, user_id) = users[n % 3];
                let login = known_login(site_id, user_id, n, now);
                let store = store.clone();
                tokio::spawn(async move { store.commit_login(login).await })
            })
            .collect();
        for (n, task) in tasks.into_iter().enumerate() {
            let outcome = task.await.unwrap().expect("login");
            let live = app.store.find_session(&TimedHash::of(&format!("session-{n}")), now).await.unwrap();
            match (n % 3, outcome) {
                (0, LoginOutcome::Admitted(user)) => {
                    assert_eq!(user.user_id, users[0].1);
                    assert_eq!(live.expect("the admitted login's session").user_id, users[0].1);
                }
                (1, LoginOutcome::Refused { user, site_active: true }) if !user.active => assert!(live.is_none()),
                (2, LoginOutcome::Refused { user, site_active: false }) if user.active => assert!(live.is_none()),
                (i, other) => panic!("login of user {i}: {other:?}"),
            }
        }
        for (site_id, user_ids) in [(app.site_id, [users[0].1, users[1].1]), (disabled.site_id, [users[2].1; 2])] {
            let events = app.store.list_audit(site_id, None, 1000).await.unwrap();
            let logins: Vec<_> = events.iter().filter(|e| e.action == "user.login").collect();
            assert_eq!(logins.len(), if site_id == app.site_id { 60 } else { 30 });
            for event in logins {
                let admitted = event.user_id == Some(user_ids[0]) && site_id == app.site_id;
                assert!(user_ids.contains(&event.user_id.unwrap()), "{event:?}");
                assert_eq!(event.outcome, if admitted { "success" } else { "failure" }, "{event:?}");
                assert_eq!(event.detail.0.get("session_ref").is_some(), admitted, "{event:?}");
                assert_eq!(event.detail.0.get("reason").is_some(), !admitted, "{event:?}");
            }
        }
    }
}

/// An in-memory SQLite database has no file for the writer thread: its batches go through
/// the pool writer, PostgreSQL's, with SQLite's statements.
#[tokio::test]
async fn an_in_memory_sqlite_database_batches_through_the_pool_writer() {
    let url = "sqlite:file:store_batch_memory?mode=memory&cache=shared";
    let store = Store::open(url, &PoolSizes::default())
        .await
        .expect("in-memory store");
    let now = 1_800_000_000_000;
    let site = store
        .create_site("Memory", &[], now, &Actor::Cli)
        .await
        .unwrap();
    let user_id = sso_user(&store, site.site_id, now).await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let mut login = known_login(site.site_id, user_id, n, now);
            if n % 4 == 0 {
                login.user = LoginUser::Profile(user_u1());
            }
            let store = store.clone();
            tokio::spawn(async move { store.commit_login(login).await })
        })
        .collect();
    for task in tasks {
        assert!(matches!(
            task.await.unwrap().expect("login"),
            LoginOutcome::Admitted(_)
        ));
    }
    for n in 0..40 {
        let found = store
            .find_session(&TimedHash::of(&format!("session-{n}")), now)
            .await
            .unwrap();
        assert_eq!(found.expect("committed").user_id, user_id);
    }
    let events = store.list_audit(site.site_id, None, 1000).await.unwrap();
    assert_eq!(
        events.iter().filter(|e| e.action == "user.login").count(),
        40
    );
}
