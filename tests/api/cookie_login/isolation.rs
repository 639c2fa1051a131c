//! A broken or hanging endpoint costs only its own site: the circuit breaker stops
//! calling an endpoint that keeps failing, and a hanging one cannot hold up other
//! sites' logins.

use std::time::Duration;

use tessera::clock::Clock;
use tessera::store::audit::Actor;

use super::endpoint::{Answer, Endpoint};
use super::*;
use crate::both_stores;

both_stores! {
    async fn the_circuit_breaker_opens_after_repeated_failures(app) {
        let site = Endpoint::start(Answer::Json(500, json!({}))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        for _ in 0..5 {
            let (status, body) = login(&app, app.site_id, "c1").await;
            assert_error(status, &body, 502, "verification_unavailable");
        }
        assert_eq!(site.count(), 5);
        // Open: answered at once, without calling the endpoint.
        site.answer(Answer::Json(200, answer("1", "A", "a@x.example")));
        for _ in 0..3 {
            let (status, body) = login(&app, app.site_id, "c1").await;
            assert_error(status, &body, 502, "verification_unavailable");
        }
        assert_eq!(site.count(), 5, "no request while the breaker is open");
        let failures = audit(&app, app.site_id).await.into_iter()
            .filter(|e| e.action == "user.login" && e.outcome == "failure").count();
        assert_eq!(failures, 5, "shed requests are counted in metrics, not audited one by one");
        let metrics = app.client.get(format!("{}/metrics", app.metrics_base)).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains(r#"tessera_logins_total{outcome="cookie_shed"} 3"#), "{metrics}");
        assert!(metrics.contains(r#"tessera_logins_total{outcome="cookie_unavailable"} 5"#), "{metrics}");

        // Other sites are unaffected.
        let other = app.store.create_site("Other", &[], app.clock.now_ms(), &Actor::Cli).await.unwrap();
        let healthy = Endpoint::start(Answer::Json(200, answer("1", "A", "a@x.example"))).await;
        configure(&app, other.site_id, &healthy.url("/v?sid="), |_| {}).await;
        let (status, body) = login(&app, other.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");

        // A corrected endpoint starts with a clean slate.
        let fixed = Endpoint::start(Answer::Json(200, answer("1", "A", "a@x.example"))).await;
        configure(&app, app.site_id, &fixed.url("/v?sid="), |_| {}).await;
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
    }

    async fn a_hanging_endpoint_does_not_block_other_sites(app) {
        let hanging = Endpoint::start(Answer::Delay(Duration::from_secs(120), Box::new(Answer::Json(200, json!({}))))).await;
        configure(&app, app.site_id, &hanging.url("/v?sid="), |s| s.timeout_ms = 10_000).await;
        let other = app.store.create_site("Other", &[], app.clock.now_ms(), &Actor::Cli).await.unwrap();
        let healthy = Endpoint::start(Answer::Json(200, answer("b", "B", "b@x.example"))).await;
        configure(&app, other.site_id, &healthy.url("/v?sid="), |_| {}).await;

        // More hanging logins than the per-site bound.
        let bound = tessera::cookie_login::limits::MAX_CONCURRENT_PER_SITE;
        let extra = 8;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = app.url("/rest/v1/users/login/cookie");
        let site_a = app.site_id;
        let stuck: Vec<_> = (0..bound + extra)
            .map(|i| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    let response = client.post(url).json(&json!({"site_id": site_a, "cookie": format!("a{i}")})).send().await.unwrap();
                    let status = response.status();
                    (status, response.json::<Value>().await.unwrap())
                })
            })
            .collect();
        // The bound is reached: the endpoint holds `bound` requests, the rest were shed.
        let waited = tokio::time::timeout(Duration::from_secs(8), async {
            while hanging.count() < bound || stuck.iter().filter(|h| h.is_finished()).count() < extra {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }).await;
        assert!(waited.is_ok(), "saw {} hanging requests, {} shed", hanging.count(), stuck.iter().filter(|h| h.is_finished()).count());
        assert_eq!(hanging.count(), bound, "never more than the bound at the endpoint");

        // Site B logs in while site A's endpoint hangs (well within A's 10 s timeout).
        let b_logins = async {
            for i in 0..10 {
                let (status, body) = login(&app, other.site_id, &format!("b{i}")).await;
                assert_eq!(status, 200, "{body}");
            }
        };
        tokio::time::timeout(Duration::from_secs(8), b_logins).await.expect("site B's logins were held up by site A");

        let mut shed = 0;
        for handle in stuck {
            if handle.is_finished() {
                let (status, body) = handle.await.unwrap();
                assert_error(status, &body, 502, "verification_unavailable");
                shed += 1;
            } else {
                handle.abort();
            }
        }
        assert!(shed >= extra);
    }
}
