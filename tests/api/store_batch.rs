//! Group commit of tokens and sessions: every row committed, a bad row fails alone.

use std::sync::Arc;

use tessera::clock::Clock;
use tessera::secrets::TimedHash;
use tessera::store::access_tokens::NewAccessToken;

use crate::both_stores;

fn token(app_site: i64, key_id: i64, n: usize, now: i64) -> NewAccessToken {
    NewAccessToken {
        hash: TimedHash::of(&format!("token-{n}")),
        site_id: app_site,
        key_id,
        scope: "accounts".into(),
        issued_at: now,
        expires_at: now + 60_000,
    }
}

both_stores! {
    async fn concurrent_inserts_are_all_committed(app) {
        let now = app.clock.now_ms();
        let store = Arc::new(app.store.clone());
        let tasks: Vec<_> = (0..400)
            .map(|n| {
                let store = store.clone();
                let t = token(app.site_id, app.key_id, n, now);
                tokio::spawn(async move { store.insert_access_token(&t).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().expect("insert");
        }
        for n in [0, 199, 399] {
            let found = app.store.find_access_token(&TimedHash::of(&format!("token-{n}")), now).await.unwrap();
            assert_eq!(found.expect("committed").key_id, app.key_id);
        }
    }

    async fn a_bad_row_fails_alone(app) {
        let now = app.clock.now_ms();
        let store = Arc::new(app.store.clone());
        let tasks: Vec<_> = (0..100)
            .map(|n| {
                let store = store.clone();
                // Row 50 references a key that does not exist.
                let key_id = if n == 50 { 987_654 } else { app.key_id };
                let t = token(app.site_id, key_id, n, now);
                tokio::spawn(async move { store.insert_access_token(&t).await })
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
        assert!(app.store.find_access_token(&TimedHash::of("token-49"), now).await.unwrap().is_some());
        assert!(app.store.find_access_token(&TimedHash::of("token-50"), now).await.unwrap().is_none());
    }
}
