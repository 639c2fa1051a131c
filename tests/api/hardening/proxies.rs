//! Client IP behind proxies (SPEC §8): `X-Forwarded-For` is read only from a trusted
//! proxy, from the right. It used to be read from anyone, from the left, so any client
//! could pick the address its audit events and brute-force counters were charged to.

use tessera::config::Config;
use tessera::http::TrustedProxies;

use crate::accounts::login_ok;
use crate::both_databases;
use crate::helpers::{test_config, TestApp};

/// The client IP recorded by the newest audit event of the test site.
async fn last_audit_ip(app: &TestApp) -> Option<String> {
    let events = app.store.list_audit(app.site_id, None, 1).await.unwrap();
    events.first().and_then(|e| e.client_ip.clone())
}

async fn login_via(app: &TestApp, token: &str, forwarded: Option<&str>) {
    let mut request = app
        .client
        .post(app.url("/rest/v1/accounts/login"))
        .bearer_auth(token)
        .form(&[("id", "u1"), ("name", "Ada")]);
    if let Some(value) = forwarded {
        request = request.header("x-forwarded-for", value);
    }
    assert_eq!(request.send().await.unwrap().status(), 200);
}

both_databases! {
    async fn forwarded_for_counts_only_from_trusted_proxies_and_from_the_right(db) {
        // No proxy trusted (the default): the header is ignored.
        let app = TestApp::spawn(&db, test_config(&db)).await;
        let token = app.token("accounts").await;
        login_ok(&app, &token, "u0", "Zed").await;
        login_via(&app, &token, Some("6.6.6.6")).await;
        assert_eq!(last_audit_ip(&app).await.as_deref(), Some("127.0.0.1"));
        app.stop().await;

        // The test client (127.0.0.1) is a trusted proxy, as is 10.0.0.0/8 behind it.
        let config = Config {
            trusted_proxies: TrustedProxies::parse(&["127.0.0.1/32", "10.0.0.0/8"]).unwrap(),
            ..test_config(&db)
        };
        let app = TestApp::spawn(&db, config).await;
        let token = app.token("accounts").await;
        // The left-most entry is whatever the client wrote: never believed.
        login_via(&app, &token, Some("6.6.6.6, 203.0.113.9")).await;
        assert_eq!(last_audit_ip(&app).await.as_deref(), Some("203.0.113.9"));
        login_via(&app, &token, Some("6.6.6.6, 203.0.113.10, 10.1.2.3")).await;
        assert_eq!(last_audit_ip(&app).await.as_deref(), Some("203.0.113.10"));
        // A trusted peer without the header is the client itself.
        login_via(&app, &token, None).await;
        assert_eq!(last_audit_ip(&app).await.as_deref(), Some("127.0.0.1"));
        app.stop().await;
    }
}
