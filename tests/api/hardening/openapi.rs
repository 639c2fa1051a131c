//! The OpenAPI document describes what the server does (issue #15): one operation id
//! per operation, every route, the JWT endpoints' 400 and `?token=`, the limits the
//! server enforces, and the server itself. The Schemathesis fuzz checks the rest.

use std::collections::HashSet;

use serde_json::Value;

use crate::both_stores;

both_stores! {
    async fn the_document_describes_the_server(app) {
        let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        let mut ids = HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
                assert!(ids.insert(id.to_string()), "operationId {id} used twice");
            }
        }
        assert!(doc["paths"]["/embed.js"]["get"].is_object(), "/embed.js missing");
        assert_eq!(doc["servers"][0]["url"], app.base);
        for path in ["/api/v1/authenticate/user", "/api/v1/refresh", "/api/v1/logout"] {
            let operation = doc["paths"][path].as_object().unwrap().values().next().unwrap();
            assert!(operation["responses"]["400"].is_object(), "{path}: 400 undeclared");
            let security = operation["security"].to_string();
            assert!(security.contains("jwt_query"), "{path}: ?token= undeclared: {security}");
        }
        assert_eq!(doc["components"]["securitySchemes"]["jwt_query"]["in"], "query");
        let login = &doc["components"]["schemas"]["LoginRequest"]["properties"];
        assert_eq!(login["id"]["minLength"], 1, "{login}");
        assert_eq!(login["id"]["maxLength"], 255, "{login}");
        let authenticate = &doc["components"]["schemas"]["AuthenticateRequest"]["properties"];
        assert_eq!(authenticate["site_id"]["minimum"], 1, "{authenticate}");
    }
}
