//! Browsers may read cookie-login answers only from the site's allowed origins.

use reqwest::header;

use super::endpoint::{Answer, Endpoint};
use super::*;
use crate::both_stores;

both_stores! {
    async fn answers_are_readable_only_from_allowed_origins(app) {
        let allowed = "http://127.0.0.1:9"; // the test site's origin
        let url = app.url("/rest/v1/users/login/cookie");
        let preflight = |origin: &'static str| {
            app.client.request(reqwest::Method::OPTIONS, url.clone())
                .header(header::ORIGIN, origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
        };
        let ok = preflight("http://127.0.0.1:9").await.unwrap();
        assert_eq!(ok.status(), 204);
        assert_eq!(ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], allowed);
        assert!(ok.headers()[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("POST"));
        assert!(ok.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().contains("content-type"));
        let refused = preflight("https://evil.example").await.unwrap();
        assert_eq!(refused.status(), 403);
        assert!(refused.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

        let site = Endpoint::start(Answer::Json(200, answer("1", "A", "a@x.example"))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let post = |origin: &'static str, cookie: &'static str| {
            app.client.post(url.clone())
                .header(header::ORIGIN, origin)
                .json(&json!({"site_id": app.site_id, "cookie": cookie}))
                .send()
        };
        let ok = post(allowed, "c1").await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], allowed);
        assert_eq!(ok.headers()[header::CACHE_CONTROL], "no-store");
        // Errors are readable too, so the embed script can react to them.
        let error = post(allowed, "bad cookie").await.unwrap();
        assert_eq!(error.status(), 400);
        assert_eq!(error.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], allowed);
        let foreign = post("https://evil.example", "c2").await.unwrap();
        assert!(foreign.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert!(foreign.headers().get_all(header::VARY).iter().any(|v| v == "Origin"));

        let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["paths"]["/rest/v1/users/login/cookie"]["post"].is_object(), "documented");
        assert!(doc["components"]["schemas"]["CookieLoginResponse"].is_object());
    }
}
