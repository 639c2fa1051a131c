//! Without `--allow-private-endpoints` (production), verification requests go only
//! to https endpoints on public addresses: loopback and friends are refused before
//! any connection, whether named by IP literal or by a name that resolves there.

use serde_json::json;

use super::endpoint::{Answer, Endpoint};
use super::*;
use crate::both_databases;
use crate::helpers::test_config;

both_databases! {
    async fn private_and_plain_http_endpoints_are_refused_in_production(db) {
        let config = tessera::config::Config {
            allow_private_endpoints: false,
            ..test_config(&db)
        };
        let app = TestApp::spawn(&db, config).await;
        let site = Endpoint::start(Answer::Json(200, answer("1", "A", "a@x.example"))).await;
        let port = site.base.rsplit(':').next().unwrap().to_string();
        let cases = [
            (site.url("/v?sid="), "https"),
            (format!("https://127.0.0.1:{port}/v?sid="), "internal address 127.0.0.1"),
            (format!("https://[::1]:{port}/v?sid="), "internal address ::1"),
            (format!("https://localhost:{port}/v?sid="), "internal address"),
            (format!("https://2130706433:{port}/v?sid="), "internal address 127.0.0.1"),
            (format!("https://169.254.169.254:{port}/latest/meta-data?x="), "internal address 169.254.169.254"),
            (format!("https://10.0.0.1:{port}/v?sid="), "internal address 10.0.0.1"),
        ];
        for (endpoint, reason) in cases {
            configure(&app, app.site_id, &endpoint, |_| {}).await;
            let (status, body) = login(&app, app.site_id, "c1").await;
            assert_error(status, &body, 502, "verification_unavailable");
            let last = audit(&app, app.site_id).await.into_iter().next().unwrap();
            let detail = last.detail.0["detail"].as_str().unwrap().to_string();
            assert!(detail.contains(reason), "{endpoint}: {detail}");
        }
        assert_eq!(site.count(), 0, "no request reached the private endpoint");
        assert!(app.store.find_user_by_external_id(app.site_id, "1").await.unwrap().is_none());

        // The same endpoint works where private endpoints are allowed (development).
        let dev = TestApp::spawn(&db, test_config(&db)).await;
        configure(&dev, dev.site_id, &site.url("/v?sid="), |_| {}).await;
        let (status, body) = login_raw(&dev, json!({"site_id": dev.site_id, "cookie": "c1"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(site.count(), 1);
        dev.stop().await;
        app.stop().await;
    }
}
