//! Many browsers of one site logging in at once (issue #18): a healthy endpoint
//! never costs a login, and logins presenting the same cookie share one request.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::endpoint::{Answer, Endpoint};
use super::*;
use crate::both_stores;

/// Answers like a healthy site under load: 50 ms per verification.
fn healthy() -> Answer {
    Answer::Delay(Duration::from_millis(50), Box::new(Answer::UserOfCookie))
}

both_stores! {
    async fn four_hundred_browsers_two_hundred_at_once_all_log_in(app) {
        let site = Endpoint::start(healthy()).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let statuses: Vec<(StatusCode, Value)> = stream::iter(0..400)
            .map(|i| {
                let app = &app;
                async move { login(app, app.site_id, &format!("browser-{i}")).await }
            })
            .buffer_unordered(200)
            .collect()
            .await;
        for (status, body) in &statuses {
            assert_eq!(*status, 200, "{body}");
        }
        assert_eq!(site.count(), 400, "one verification per browser");
        // Connections are kept and reused: never more than were in use at once.
        assert!(site.connections() <= 200, "{} connections for 400 verifications", site.connections());

        let metrics = metrics(&app).await;
        let limit = site_metric(&metrics, "tessera_cookie_login_limit", app.site_id, "").unwrap();
        let initial = tessera::cookie_login::LimitSettings::default().initial as f64;
        assert!(limit > initial, "the limit rose with the load: {limit}");
        assert!(!metrics.contains("tessera_cookie_login_shed_total{"), "{metrics}");
        assert_eq!(site_metric(&metrics, "tessera_cookie_login_in_flight", app.site_id, ""), Some(0.0));
        assert_eq!(site_metric(&metrics, "tessera_cookie_login_queued", app.site_id, ""), Some(0.0));
        assert!(metrics.contains(&format!(
            "tessera_cookie_login_endpoint_duration_seconds_count{{site_id=\"{}\"}} 400", app.site_id
        )), "{metrics}");
        assert_eq!(app.store.count_site_users(app.site_id).await.unwrap(), 400);
    }

    async fn the_same_cookie_fifty_times_at_once_is_one_request(app) {
        // Slow enough that all fifty logins arrive while the first is in flight,
        // even on a loaded machine (within a timeout that allows it).
        let site = Endpoint::start(Answer::Delay(Duration::from_secs(3), Box::new(Answer::UserOfCookie))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |s| s.timeout_ms = 10_000).await;
        let answers: Vec<(StatusCode, Value)> = stream::iter(0..50)
            .map(|_| login(&app, app.site_id, "shared-session"))
            .buffer_unordered(50)
            .collect()
            .await;
        let mut sessions = std::collections::HashSet::new();
        for (status, body) in &answers {
            assert_eq!(*status, 200, "{body}");
            assert_eq!(body["user"]["name"], "User shared-session");
            sessions.insert(body["session"].as_str().unwrap().to_string());
        }
        assert_eq!(sessions.len(), 50, "each login still gets its own session");
        assert_eq!(site.count(), 1, "exactly one outgoing request");
        let metrics = metrics(&app).await;
        assert_eq!(site_metric(&metrics, "tessera_cookie_login_joined_total", app.site_id, ""), Some(49.0), "{metrics}");

        // Once answered, nothing is kept: the next login asks the site again.
        let (status, body) = login(&app, app.site_id, "shared-session").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(site.count(), 2);
    }
}

/// What the admin console will show: `Verifier::site_stats`, straight on a
/// verifier (no store involved) against a real endpoint, on a manual clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_stats_follow_the_endpoint() {
    use std::sync::Arc;
    use tessera::clock::ManualClock;
    use tessera::cookie_login::limits::SiteLimits;
    use tessera::cookie_login::Verifier;
    use tessera::settings::CookieLoginSettings;

    let clock = ManualClock::starting_now();
    let verifier = Verifier::with_clock(true, SiteLimits::default(), Arc::new(clock.clone()));
    let site = Endpoint::start(healthy()).await;
    let endpoint = site.url("/v?sid=");
    let settings = CookieLoginSettings {
        cookie_name: Some("sid".into()),
        endpoint: Some(endpoint.clone()),
        ..CookieLoginSettings::default()
    };
    assert!(verifier.site_stats(7).is_none(), "not called yet");
    for i in 0..10 {
        let verdict = verifier
            .verify(7, &settings, &endpoint, &format!("c{i}"))
            .await;
        assert!(verdict.is_ok(), "{verdict:?}");
    }
    let stats = verifier.site_stats(7).unwrap();
    assert!(stats.p50_latency_ms >= 50.0, "{stats:?}");
    assert!(stats.recent_latency_ms >= 50.0, "{stats:?}");
    assert_eq!(
        (stats.error_rate, stats.in_flight, stats.queued),
        (0.0, 0, 0)
    );
    assert_eq!(stats.limit, verifier.limit_settings().initial);
    assert!(!stats.circuit_open);

    site.answer(Answer::Json(503, json!({})));
    for i in 0..tessera::cookie_login::breaker::FAILURE_THRESHOLD {
        let verdict = verifier
            .verify(7, &settings, &endpoint, &format!("f{i}"))
            .await;
        assert!(
            matches!(
                verdict,
                Err(tessera::cookie_login::verifier::Unavailable::Status(503))
            ),
            "{verdict:?}"
        );
    }
    let stats = verifier.site_stats(7).unwrap();
    assert!(stats.circuit_open && stats.error_rate > 0.0, "{stats:?}");
    assert!(stats.limit < verifier.limit_settings().initial, "{stats:?}");
    let seen = site.count();
    let verdict = verifier.verify(7, &settings, &endpoint, "c0").await;
    assert!(matches!(verdict, Err(ref e) if e.is_shed()), "{verdict:?}");
    assert_eq!(site.count(), seen);

    // The endpoint recovers; past the cool-down on the verifier's clock, one probe closes the breaker.
    site.answer(healthy());
    clock.advance(tessera::cookie_login::breaker::COOL_DOWN);
    assert!(verifier.verify(7, &settings, &endpoint, "c0").await.is_ok());
    let stats = verifier.site_stats(7).unwrap();
    assert!(!stats.circuit_open && stats.error_rate == 0.0, "{stats:?}");
}
