//! The provider's keys (SPEC §5.3): cached per Cache-Control, a rotated key picked up
//! after one fetch, cached keys kept through an outage, and no token able to make
//! the provider's traffic grow: an unknown kid costs at most one fetch a minute.

use std::time::Duration;

use serde_json::json;

use super::{assert_refused, configure, login, Provider, TestKey};
use crate::both_stores;

both_stores! {
    async fn a_warm_cache_never_calls_the_provider(app) {
        let key = TestKey::ed25519("k1");
        let provider = Provider::start(&[&key]).await;
        configure(&app, &provider, |_| {}).await;
        for i in 0..5 {
            let (status, body) = login(&app, &key.sign(&provider.claims(&app, &format!("u{i}")))).await;
            assert_eq!(status, 200, "{body}");
        }
        assert_eq!((provider.discovery_requests(), provider.jwks_requests()), (1, 1));
        // Past its max-age (300 s) the set is fetched again, once.
        app.clock.advance(Duration::from_secs(301));
        for i in 0..3 {
            let (status, _) = login(&app, &key.sign(&provider.claims(&app, &format!("v{i}")))).await;
            assert_eq!(status, 200);
        }
        assert_eq!(provider.jwks_requests(), 2);
    }

    async fn a_named_jwks_skips_discovery(app) {
        let key = TestKey::es256("k1");
        let provider = Provider::start(&[&key]).await;
        let jwks = format!("{}/jwks", provider.issuer);
        configure(&app, &provider, |s| s.jwks_uri = Some(jwks)).await;
        let (status, body) = login(&app, &key.sign(&provider.claims(&app, "a"))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((provider.discovery_requests(), provider.jwks_requests()), (0, 1));
    }

    async fn a_rotated_key_is_accepted_after_one_fetch(app) {
        let old = TestKey::ed25519("2024");
        let new = TestKey::ed25519("2025");
        let provider = Provider::start(&[&old]).await;
        configure(&app, &provider, |_| {}).await;
        let (status, _) = login(&app, &old.sign(&provider.claims(&app, "a"))).await;
        assert_eq!(status, 200);
        provider.publish(&[&new]);
        let (status, body) = login(&app, &new.sign(&provider.claims(&app, "b"))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(provider.jwks_requests(), 2, "one fetch for the new kid");
        // The withdrawn key is gone from the cache with the fetch that brought the new one.
        assert_refused(&app, &old.sign(&provider.claims(&app, "c")), "unknown_kid").await;
        assert_eq!(provider.jwks_requests(), 2, "no second re-fetch within the minute");
    }

    async fn cached_keys_outlive_an_outage_and_unknown_kids_cost_one_fetch_a_minute(app) {
        let key = TestKey::ed25519("k1");
        let provider = Provider::start(&[&key]).await;
        configure(&app, &provider, |_| {}).await;
        let (status, _) = login(&app, &key.sign(&provider.claims(&app, "a"))).await;
        assert_eq!(status, 200);
        provider.set_down(true);
        // Fresh, then stale: the known key still logs in.
        let (status, _) = login(&app, &key.sign(&provider.claims(&app, "b"))).await;
        assert_eq!(status, 200);
        app.clock.advance(Duration::from_secs(3 * 3600));
        let (status, body) = login(&app, &key.sign(&provider.claims(&app, "c"))).await;
        assert_eq!(status, 200, "{body}");
        // Each fetch starts with discovery, which is all a down provider is asked.
        let fetches = provider.discovery_requests();
        assert_eq!(fetches, 2, "one refresh was tried");
        // A kid nobody knows while the provider is down: 502, nothing created.
        let rogue = TestKey::ed25519("rogue");
        let (status, body) = login(&app, &rogue.sign(&provider.claims(&app, "x0"))).await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (502, Some("issuer_unavailable")), "{body}");
        assert!(app.store.find_user_by_external_id(app.site_id, "x0").await.unwrap().is_none());
        // A flood of unknown kids: no fetch at all within the minute.
        for i in 0..30 {
            let forged = rogue.renamed(&format!("kid-{i}"));
            let (status, _) = login(&app, &forged.sign(&provider.claims(&app, &format!("x{i}")))).await;
            assert_eq!(status, 502);
        }
        assert_eq!(provider.discovery_requests(), fetches + 1);
        let (status, _) = login(&app, &key.sign(&provider.claims(&app, "d"))).await;
        assert_eq!(status, 200, "the known key still works");
        // A minute later, one more.
        app.clock.advance(Duration::from_secs(61));
        for i in 0..10 {
            let forged = rogue.renamed(&format!("later-{i}"));
            let _ = login(&app, &forged.sign(&provider.claims(&app, &format!("y{i}")))).await;
        }
        assert!(provider.discovery_requests() <= fetches + 2, "{}", provider.discovery_requests());
        // The provider comes back: a rotated key is picked up again.
        provider.set_down(false);
        let next = TestKey::ed25519("k2");
        provider.publish(&[&key, &next]);
        app.clock.advance(Duration::from_secs(61));
        let (status, body) = login(&app, &next.sign(&provider.claims(&app, "e"))).await;
        assert_eq!(status, 200, "{body}");
        let events = app.store.list_audit(app.site_id, None, 100).await.unwrap();
        assert!(events.iter().any(|e| e.detail.0["reason"] == json!("issuer_unavailable")));
    }

    async fn a_provider_never_reached_gives_issuer_unavailable(app) {
        let key = TestKey::ed25519("k1");
        let provider = Provider::start(&[&key]).await;
        provider.set_down(true);
        configure(&app, &provider, |_| {}).await;
        let (status, body) = login(&app, &key.sign(&provider.claims(&app, "a"))).await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (502, Some("issuer_unavailable")), "{body}");
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);
        // A discovery document naming another issuer is refused the same way.
        provider.set_down(false);
        let mut wrong = provider.issuer.clone();
        wrong.push('/');
        configure(&app, &provider, |s| s.issuer = Some(wrong)).await;
        app.clock.advance(Duration::from_secs(61));
        let (status, _) = login(&app, &key.sign(&provider.claims(&app, "b"))).await;
        assert_eq!(status, 502);
    }
}
