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
        // Slow enough that all fifty logins arrive while the first is in flight.
        let site = Endpoint::start(Answer::Delay(Duration::from_millis(1500), Box::new(Answer::UserOfCookie))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
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
