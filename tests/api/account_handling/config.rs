//! The switches reach the embed script through the public embed configuration.

use reqwest::header;
use serde_json::{json, Value};
use tessera::settings::AccountHandling;

use super::*;
use crate::both_stores;

async fn config(app: &TestApp, site_id: i64) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/rest/v1/sites/{site_id}/embed-config")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    response.json().await.unwrap()
}

both_stores! {
    async fn embed_config_shows_the_three_switches(app) {
        // Off by default: the platform handles accounts, profiles may be changed.
        assert_eq!(config(&app, app.site_id).await["account_handling"], json!({
            "disable_account_handling": false,
            "disable_avatar_changing": false,
            "disable_display_name_changing": false,
        }));
        set_switches(&app, app.site_id, AccountHandling {
            disable_account_handling: true,
            disable_avatar_changing: false,
            disable_display_name_changing: true,
        }).await;
        let body = config(&app, app.site_id).await;
        assert_eq!(body, json!({
            "site_id": app.site_id, "login_mode": "server", "cookie_name": null,
            "account_handling": {
                "disable_account_handling": true,
                "disable_avatar_changing": false,
                "disable_display_name_changing": true,
            },
        }));
        let openapi: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        let schema = &openapi["components"]["schemas"]["EmbedConfig"]["properties"];
        assert!(schema["account_handling"].is_object(), "documented: {schema}");
    }
}
