//! Purging what can no longer matter: revocations past the refresh window, old
//! failure counters, and retired keys whose tokens can no longer be used or refreshed.

use tessera::clock::Clock;
use tessera::password::keys;
use tessera::password::rate_limit::{AccountKey, Subject};
use tessera::secrets::SecretHash;
use tessera::store::audit::{Actor, NewAuditEvent};

use crate::both_stores;

both_stores! {
    async fn expired_rows_are_purged_and_live_ones_kept(app) {
        let store = &app.store;
        let now = app.clock.now_ms();
        let old = SecretHash::of("old jti");
        let live = SecretHash::of("live jti");
        let event = NewAuditEvent::new(Some(app.site_id), now, &Actor::Cli, "jwt.logout");
        assert!(store.revoke_jti(&old, now, now + 1_000, &event).await.unwrap());
        assert!(store.revoke_jti(&live, now, now + 10_000, &event).await.unwrap());
        assert!(!store.revoke_jti(&live, now, now + 10_000, &event).await.unwrap(), "revoking twice is refused");
        assert_eq!(store.purge_expired_revocations(now + 5_000).await.unwrap(), 1);
        assert!(!store.is_jti_revoked(&old).await.unwrap());
        assert!(store.is_jti_revoked(&live).await.unwrap());

        let windows = Subject::new(&AccountKey::of(1, "alice", None), Some("10.0.0.1".parse().unwrap())).windows(now);
        assert_eq!(store.record_login_failure(&windows).await.unwrap(), vec![1; 4]);
        assert_eq!(store.record_login_failure(&windows).await.unwrap(), vec![2; 4]);
        assert_eq!(store.purge_login_failures(now - 7_200_000).await.unwrap(), 0);
        assert_eq!(store.purge_login_failures(now + 7_200_000).await.unwrap(), 4);

        let first = keys::ensure_signing_key(store, now).await.unwrap();
        assert_eq!(keys::ensure_signing_key(store, now).await.unwrap(), first, "created once");
        let second = keys::rotate(store, now + 1, &Actor::Cli).await.unwrap();
        assert_eq!(store.current_jwt_kid().await.unwrap(), Some(second.clone()));
        assert_eq!(store.purge_retired_jwt_keys(now).await.unwrap(), 0);
        assert_eq!(store.purge_retired_jwt_keys(now + 2).await.unwrap(), 1);
        let left: Vec<String> = store.list_jwt_keys().await.unwrap().into_iter().map(|k| k.kid).collect();
        assert_eq!(left, vec![second]);
    }
}

both_stores! {
    async fn the_openapi_document_lists_the_password_endpoints(app) {
        let doc: serde_json::Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        for path in ["/api/v1/authenticate", "/api/v1/authenticate/user", "/api/v1/refresh", "/api/v1/logout", "/.well-known/jwks.json"] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
        }
        assert!(doc["components"]["schemas"].get("FaveoErrorSchema").is_some());
    }
}
