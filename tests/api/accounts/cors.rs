//! CORS of the browser endpoints: only the site's allowed origins.

use reqwest::header::HeaderMap;
use reqwest::Method;
use tessera::clock::Clock;
use tessera::store::audit::Actor;

use super::{assert_dead, assert_live, login_ok, second_site};
use crate::both_stores;
use crate::helpers::TestApp;

/// The test site's allowed origin (see `TestApp::spawn`).
const MY_ORIGIN: &str = "http://127.0.0.1:9";
const OTHER_ORIGIN: &str = "https://two.example";

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> (u16, HeaderMap) {
    let response = app
        .client
        .request(Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header(
            "Access-Control-Request-Headers",
            "x-tessera-session, content-type",
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

fn varies_on_origin(headers: &HeaderMap) -> bool {
    headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin"))
}

async fn get_with_origin(app: &TestApp, session: &str, origin: &str) -> (u16, HeaderMap) {
    let response = app
        .client
        .get(app.url("/rest/v1/session"))
        .header("X-Tessera-Session", session)
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

both_stores! {
    async fn preflight_is_allowed_only_for_sites_origins(app) {
        for (path, method) in [("/rest/v1/session", "GET"), ("/rest/v1/session/logout", "POST")] {
            let (status, headers) = preflight(&app, path, MY_ORIGIN, method).await;
            assert_eq!(status, 204, "{path}");
            assert_eq!(header(&headers, "access-control-allow-origin"), Some(MY_ORIGIN));
            let methods = header(&headers, "access-control-allow-methods").unwrap();
            assert!(methods.contains("GET") && methods.contains("POST"), "{methods}");
            let allowed = header(&headers, "access-control-allow-headers").unwrap().to_ascii_lowercase();
            assert!(allowed.contains("x-tessera-session") && allowed.contains("content-type"), "{allowed}");
            assert!(header(&headers, "access-control-allow-credentials").is_none());
            assert!(varies_on_origin(&headers));

            for stranger in [OTHER_ORIGIN, "http://127.0.0.1:99", "https://127.0.0.1:9", "null", "http://evil.example"] {
                let (status, headers) = preflight(&app, path, stranger, method).await;
                assert_eq!(status, 403, "{stranger}");
                assert!(header(&headers, "access-control-allow-origin").is_none(), "{stranger}");
                assert!(varies_on_origin(&headers));
            }
        }
        // Once another site allows an origin, its pages may send the preflight…
        second_site(&app, OTHER_ORIGIN).await;
        let (status, headers) = preflight(&app, "/rest/v1/session", OTHER_ORIGIN, "GET").await;
        assert_eq!(status, 204);
        assert_eq!(header(&headers, "access-control-allow-origin"), Some(OTHER_ORIGIN));
        // …but not while that site is disabled.
        let sites = app.store.list_sites().await.unwrap();
        let other = sites.iter().find(|s| s.site_id != app.site_id).unwrap().site_id;
        app.store.set_site_active(other, false, app.clock.now_ms(), &Actor::Cli).await.unwrap();
        let (status, _) = preflight(&app, "/rest/v1/session", OTHER_ORIGIN, "GET").await;
        assert_eq!(status, 403);
    }

    async fn responses_carry_acao_only_for_the_sessions_own_site(app) {
        let token = app.token("accounts").await;
        let (_, other_token) = second_site(&app, OTHER_ORIGIN).await;
        let (_, mine) = login_ok(&app, &token, "u1", "Ann").await;
        let (_, theirs) = login_ok(&app, &other_token, "u2", "Bob").await;

        let (status, headers) = get_with_origin(&app, &mine, MY_ORIGIN).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "access-control-allow-origin"), Some(MY_ORIGIN));
        assert!(header(&headers, "access-control-allow-credentials").is_none());
        assert!(varies_on_origin(&headers));
        assert_eq!(header(&headers, "cache-control"), Some("no-store"));

        // My session read from the other site's page: no ACAO, so the browser hides it.
        let (status, headers) = get_with_origin(&app, &mine, OTHER_ORIGIN).await;
        assert_eq!(status, 200);
        assert!(header(&headers, "access-control-allow-origin").is_none());
        assert!(varies_on_origin(&headers));
        let (_, headers) = get_with_origin(&app, &theirs, MY_ORIGIN).await;
        assert!(header(&headers, "access-control-allow-origin").is_none());
        let (_, headers) = get_with_origin(&app, &theirs, OTHER_ORIGIN).await;
        assert_eq!(header(&headers, "access-control-allow-origin"), Some(OTHER_ORIGIN));
        // A stranger's origin never gets one.
        let (_, headers) = get_with_origin(&app, &mine, "http://evil.example").await;
        assert!(header(&headers, "access-control-allow-origin").is_none());

        // An unknown session's 401 is readable by a legitimate page (so the embed script
        // can react), not by a stranger.
        let (status, headers) = get_with_origin(&app, "unknown-session", MY_ORIGIN).await;
        assert_eq!(status, 401);
        assert_eq!(header(&headers, "access-control-allow-origin"), Some(MY_ORIGIN));
        let (status, headers) = get_with_origin(&app, "unknown-session", "http://evil.example").await;
        assert_eq!(status, 401);
        assert!(header(&headers, "access-control-allow-origin").is_none());

        // Without Origin (a site's server, curl): no CORS headers at all.
        let response = app.client.get(app.url("/rest/v1/session")).header("X-Tessera-Session", &mine).send().await.unwrap();
        assert!(response.headers().get("access-control-allow-origin").is_none());
    }

    async fn browser_logout_only_from_the_sessions_own_site(app) {
        let token = app.token("accounts").await;
        second_site(&app, OTHER_ORIGIN).await;
        let (_, mine) = login_ok(&app, &token, "u1", "Ann").await;
        let logout = |origin: &'static str, session: String| {
            let request = app.client.post(app.url("/rest/v1/session/logout"))
                .header("X-Tessera-Session", session).header("Origin", origin);
            async move { request.send().await.unwrap() }
        };
        // Another site's page cannot end my session.
        let response = logout(OTHER_ORIGIN, mine.clone()).await;
        assert_eq!(response.status(), 403);
        assert!(response.headers().get("access-control-allow-origin").is_none());
        assert_live(&app, &mine).await;
        // My own page can, and reads the answer.
        let response = logout(MY_ORIGIN, mine.clone()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(response.headers(), "access-control-allow-origin"), Some(MY_ORIGIN));
        assert_dead(&app, &mine).await;
        // Already ended: still ok.
        let response = logout(MY_ORIGIN, mine.clone()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(response.headers(), "access-control-allow-origin"), Some(MY_ORIGIN));
    }
}
