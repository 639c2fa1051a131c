//! Health, readiness, metrics, OpenAPI, request ids, graceful shutdown.

use serde_json::Value;

use crate::both_stores;

both_stores! {
    async fn health_and_readiness(app) {
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        // Once the store is closed, readiness fails with 503 (and liveness does not).
        app.store.close().await;
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    }

    async fn metrics_are_on_their_own_listener(app) {
        app.token("accounts").await;
        let public = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(public.status(), 404);
        let scrape = app.client.get(format!("{}/metrics", app.metrics_base)).send().await.unwrap();
        assert_eq!(scrape.status(), 200);
        let text = scrape.text().await.unwrap();
        assert!(text.contains("tessera_oauth2_tokens_issued_total 1"), "{text}");
        assert!(text.contains("route=\"/oauth2/token\""), "{text}");
        assert!(text.contains("tessera_http_request_duration_seconds_bucket"), "{text}");
    }

    async fn openapi_lists_the_endpoints(app) {
        let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/.well-known/oauth-authorization-server", "/healthz", "/readyz",
                     "/rest/v1/users/login/id-token", "/rest/v1/users/login/sso-token"] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        assert!(doc["components"]["securitySchemes"]["client_basic"].is_object());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        // Every admin operation, with a request schema where it takes a body.
        for (path, methods) in [
            ("/admin/api/v1/site", &["get", "patch"][..]),
            ("/admin/api/v1/site/cookie-login/test", &["post"]),
            ("/admin/api/v1/site/id-token-login/test", &["post"]),
            ("/admin/api/v1/sso-secrets", &["get", "post"]),
            ("/admin/api/v1/sso-secrets/{kid}", &["delete"]),
            ("/admin/api/v1/keys", &["get", "post"]),
            ("/admin/api/v1/keys/{key_id}", &["delete"]),
            ("/admin/api/v1/users", &["get", "post"]),
            ("/admin/api/v1/users/{user_id}", &["get", "patch", "delete"]),
            ("/admin/api/v1/users/{user_id}/sessions", &["get"]),
            ("/admin/api/v1/users/{user_id}/sessions/{session_ref}", &["delete"]),
            ("/admin/api/v1/users/{user_id}/ban", &["post", "delete"]),
            ("/admin/api/v1/users/{user_id}/logout", &["post"]),
            ("/admin/api/v1/audit", &["get"]),
            ("/admin/api/v1/audit.csv", &["get"]),
        ] {
            for method in methods {
                let operation = &doc["paths"][path][method];
                assert!(operation.is_object(), "{method} {path} missing");
                assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]), "{method} {path}");
                // Creating an SSO secret takes nothing: the server makes it.
                let bodiless = path.ends_with("/logout") || path.ends_with("/ban") || path.ends_with("/sso-secrets");
                if matches!(*method, "post" | "patch") && !bodiless {
                    assert!(operation["requestBody"].is_object(), "{method} {path} has no body schema");
                }
            }
        }
        let mut ids: Vec<String> = Vec::new();
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, operation) in item.as_object().unwrap() {
                if let Some(id) = operation["operationId"].as_str() {
                    ids.push(id.to_string());
                }
            }
        }
        let admin: Vec<&String> = ids.iter().filter(|id| id.starts_with("admin_")).collect();
        assert_eq!(admin.len(), 22);
        let unique: std::collections::BTreeSet<&&String> = admin.iter().collect();
        assert_eq!(unique.len(), admin.len(), "admin operationIds are unique");
    }

    async fn every_response_has_a_request_id(app) {
        for path in ["/healthz", "/nope", "/oauth2/token"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            let id = response.headers().get("x-request-id").unwrap_or_else(|| panic!("{path}: no request id"));
            assert!(id.len() >= 16);
        }
        // A caller's own request id is kept, so logs can be correlated across services.
        let response = app.client.get(app.url("/healthz")).header("x-request-id", "caller-123").send().await.unwrap();
        assert_eq!(response.headers()["x-request-id"], "caller-123");
    }

    async fn graceful_shutdown_stops_the_server(app) {
        let url = app.url("/healthz");
        let client = app.client.clone();
        app.stop().await;
        assert!(client.get(url).send().await.is_err());
    }
}
