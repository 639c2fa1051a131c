//! Errors raised before a handler runs are JSON in their family's shape (SPEC §9): a
//! path that is not UTF-8, a wrong method with an `Allow` listing exactly the route's
//! methods, headers over the limits (431), the Faveo shape under /api/v1/.

use serde_json::Value;

use crate::both_stores;

/// Every route with the methods it has, as a 405 must list them.
const ROUTES: &[(&str, &str)] = &[
    ("/oauth2/token", "POST"),
    ("/oauth2/introspect", "POST"),
    ("/oauth2/revoke", "POST"),
    ("/rest/v1/accounts/login", "POST"),
    ("/rest/v1/accounts/logout", "POST"),
    ("/rest/v1/session", "GET,HEAD,OPTIONS"),
    ("/rest/v1/session/logout", "OPTIONS,POST"),
    ("/rest/v1/session/profile", "OPTIONS,PATCH"),
    ("/rest/v1/users/login/cookie", "OPTIONS,POST"),
    ("/rest/v1/users/login/password", "OPTIONS,POST"),
    ("/api/v1/authenticate", "POST"),
    ("/api/v1/authenticate/user", "GET,HEAD"),
    ("/api/v1/refresh", "POST"),
    ("/api/v1/logout", "POST"),
    ("/healthz", "GET,HEAD"),
    ("/embed.js", "GET,HEAD"),
    ("/rest/v1/sites/1/embed-config", "GET,HEAD"),
];

fn methods(header: Option<&reqwest::header::HeaderValue>) -> String {
    let mut list: Vec<String> = header
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_uppercase())
        .filter(|m| !m.is_empty())
        .collect();
    list.sort();
    list.join(",")
}

both_stores! {
    async fn a_path_that_is_not_utf8_is_a_json_404(app) {
        let response = app.client.get(app.url("/rest/v1/sites/%FF/embed-config")).send().await.unwrap();
        assert_eq!(response.status(), 404);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }

    async fn allow_lists_exactly_the_routes_methods(app) {
        for (path, expected) in ROUTES {
            let response = app.client.delete(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 405, "{path}");
            assert_eq!(methods(response.headers().get("allow")), *expected, "DELETE {path}");
            let has_options = expected.split(',').any(|m| m == "OPTIONS");
            let options = app.client.request(reqwest::Method::OPTIONS, app.url(path)).send().await.unwrap();
            if has_options {
                assert!(options.status().is_success(), "OPTIONS {path}: {}", options.status());
            } else {
                assert_eq!(options.status(), 405, "OPTIONS {path}");
            }
            assert_eq!(methods(options.headers().get("allow")), *expected, "OPTIONS {path}");
            let family_faveo = path.starts_with("/api/v1/");
            let body: Value = response.json().await.unwrap();
            if family_faveo {
                assert_eq!(body["status_code"], 405, "{path}: {body}");
                assert!(body["Error"].is_string(), "{path}: {body}");
            } else {
                assert_eq!(body["error"], "method_not_allowed", "{path}: {body}");
            }
        }
    }

    async fn oversized_headers_are_a_json_431_in_the_familys_shape(app) {
        let big = "x".repeat(40 * 1024);
        let response = app.client.get(app.url("/healthz")).header("x-big", &big).send().await.unwrap();
        assert_eq!(response.status(), 431);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");
        let response = app.client.post(app.url("/api/v1/authenticate")).header("x-big", &big).send().await.unwrap();
        assert_eq!(response.status(), 431);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status_code"], 431, "{body}");
        let mut many = app.client.get(app.url("/healthz"));
        for i in 0..150 {
            many = many.header(format!("x-h{i}"), "1");
        }
        assert_eq!(many.send().await.unwrap().status(), 431);
        // Within the limits, nothing changes.
        assert_eq!(app.client.get(app.url("/healthz")).header("x-big", "y".repeat(8 * 1024)).send().await.unwrap().status(), 200);
    }

    async fn unknown_faveo_paths_answer_in_the_faveo_shape(app) {
        let response = app.client.get(app.url("/api/v1/nope")).send().await.unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status_code"], 404, "{body}");
    }
}
