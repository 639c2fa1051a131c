//! A broken or hanging endpoint costs only its own site: the circuit breaker stops
//! calling an endpoint that keeps failing, a hanging one cannot hold up other
//! sites' logins, and its site's limit falls to the floor and grows back once the
//! endpoint answers again.

use std::time::Duration;

use futures_util::StreamExt;

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
        assert!(metrics.contains(r#"tessera_logins_total{outcome="cookie_verification_unavailable"} 5"#), "{metrics}");

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

    async fn a_hanging_endpoint_costs_only_its_own_site_and_recovers(app) {
        let hanging = Endpoint::start(Answer::Delay(Duration::from_secs(120), Box::new(Answer::Json(200, json!({}))))).await;
        configure(&app, app.site_id, &hanging.url("/v?sid="), |s| s.timeout_ms = 3_000).await;
        let other = app.store.create_site("Other", &[], app.clock.now_ms(), &Actor::Cli).await.unwrap();
        let healthy = Endpoint::start(Answer::Json(200, answer("b", "B", "b@x.example"))).await;
        configure(&app, other.site_id, &healthy.url("/v?sid="), |_| {}).await;

        // More hanging logins than the site's starting limit: the rest wait for a slot.
        let initial = tessera::cookie_login::LimitSettings::default().initial;
        let queued = 16;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = app.url("/rest/v1/users/login/cookie");
        let site_a = app.site_id;
        let stuck: Vec<_> = (0..initial + queued)
            .map(|i| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    let response = client.post(url).json(&json!({"site_id": site_a, "cookie": format!("a{i}")})).send().await.unwrap();
                    let status = response.status();
                    (status, response.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let waited = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                let m = metrics(&app).await;
                if hanging.count() == initial && site_metric(&m, "tessera_cookie_login_queued", site_a, "") == Some(queued as f64) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }).await;
        assert!(waited.is_ok(), "saw {} hanging requests; {}", hanging.count(), metrics(&app).await);

        // Site B logs in while site A's logins hang or wait, none of them answered yet.
        for i in 0..10 {
            let (status, body) = login(&app, other.site_id, &format!("b{i}")).await;
            assert_eq!(status, 200, "{body}");
        }
        assert!(stuck.iter().all(|h| !h.is_finished()), "site B's logins waited for site A's timeout");

        // At A's timeout, every one of its logins ends with 502, the ones still
        // queued included; the limit falls to the floor and the breaker opens.
        for handle in stuck {
            let (status, body) = tokio::time::timeout(Duration::from_secs(10), handle).await.expect("answered").unwrap();
            assert_error(status, &body, 502, "verification_unavailable");
        }
        assert_eq!(hanging.count(), initial, "never more than the limit at the endpoint");
        let m = metrics(&app).await;
        let floor = tessera::cookie_login::LimitSettings::default().floor as f64;
        assert_eq!(site_metric(&m, "tessera_cookie_login_limit", site_a, ""), Some(floor), "{m}");
        assert_eq!(site_metric(&m, "tessera_cookie_login_circuit_open", site_a, ""), Some(1.0), "{m}");
        assert_eq!(site_metric(&m, "tessera_cookie_login_in_flight", site_a, ""), Some(0.0), "{m}");

        // From now on A's logins fail fast: answered without calling the endpoint.
        for i in 0..20 {
            let (status, body) = login(&app, site_a, &format!("again{i}")).await;
            assert_error(status, &body, 502, "verification_unavailable");
        }
        assert_eq!(hanging.count(), initial);
        let m = metrics(&app).await;
        let fast = site_metric(&m, "tessera_cookie_login_shed_total", site_a, ",reason=\"circuit_open\"").unwrap();
        assert!(fast >= 20.0, "{m}");

        // The endpoint comes back; after the breaker's cool-down (the server's clock)
        // one probe closes it, and the limit grows back with use.
        hanging.answer(Answer::Delay(Duration::from_millis(50), Box::new(Answer::UserOfCookie)));
        app.clock.advance(tessera::cookie_login::breaker::COOL_DOWN + Duration::from_secs(1));
        let (status, body) = login(&app, site_a, "probe").await;
        assert_eq!(status, 200, "{body}");
        let results: Vec<(reqwest::StatusCode, Value)> = futures_util::stream::iter(0..200)
            .map(|i| {
                let app = &app;
                async move { login(app, site_a, &format!("back{i}")).await }
            })
            .buffer_unordered(100)
            .collect()
            .await;
        for (status, body) in &results {
            assert_eq!(*status, 200, "{body}");
        }
        let m = metrics(&app).await;
        let limit = site_metric(&m, "tessera_cookie_login_limit", site_a, "").unwrap();
        assert!(limit > floor, "the limit recovered: {limit}");
        assert_eq!(site_metric(&m, "tessera_cookie_login_circuit_open", site_a, ""), Some(0.0), "{m}");
    }
}
