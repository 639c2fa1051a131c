//! `/admin/api/v1/keys`: create (secret once), list, delete (its tokens die with it).

use serde_json::json;

use super::{assert_error, AdminApi};
use crate::both_stores;

both_stores! {
    async fn a_key_is_created_used_listed_and_deleted(app) {
        let api = AdminApi::new(&app).await;
        let (status, created) = api.post("/keys", json!({"label": "CI server"})).await;
        assert_eq!(status, 201, "{created}");
        let secret = created["api_key"].as_str().unwrap().to_string();
        assert!(secret.starts_with("tsk_"));
        assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
        assert_eq!(created["label"], "CI server");
        let key_id = created["key_id"].as_i64().unwrap();

        // The new key works for a token.
        let site = app.site_id.to_string();
        let response = app.post_form_basic("/oauth2/token", &site, &secret,
            &[("grant_type", "client_credentials"), ("scope", "admin")]).await;
        assert_eq!(response.status(), 200);
        let minted: serde_json::Value = response.json().await.unwrap();
        let minted = minted["access_token"].as_str().unwrap().to_string();

        let (status, list) = api.get("/keys").await;
        assert_eq!(status, 200);
        let listed = list["keys"].as_array().unwrap();
        assert_eq!(listed.len(), 2);
        let mine = listed.iter().find(|k| k["key_id"] == key_id).unwrap();
        assert_eq!(mine["label"], "CI server");
        assert_eq!(mine["prefix"], created["prefix"]);
        assert!(mine["last_used_at"].is_string(), "used once: {mine}");
        assert!(!list.to_string().contains(&secret), "the secret is never listed");

        let (status, body) = api.delete(&format!("/keys/{key_id}")).await;
        assert_eq!(status, 204, "{body}");
        // Its tokens and the key itself are refused from now on.
        let with_minted = AdminApi { app: &app, token: minted };
        let (status, body) = with_minted.get("/site").await;
        assert_error(status, &body, 401, "invalid_token");
        let response = app.post_form_basic("/oauth2/token", &site, &secret,
            &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), 401);
        let (status, body) = api.delete(&format!("/keys/{key_id}")).await;
        assert_error(status, &body, 404, "not_found");
        let (_, list) = api.get("/keys").await;
        assert_eq!(list["keys"].as_array().unwrap().len(), 1);
    }

    async fn deleting_the_callers_own_key_revokes_its_token_after_the_answer(app) {
        let api = AdminApi::new(&app).await;
        let (status, _) = api.delete(&format!("/keys/{}", app.key_id)).await;
        assert_eq!(status, 204);
        let (status, body) = api.get("/keys").await;
        assert_error(status, &body, 401, "invalid_token");
    }

    async fn bad_key_requests_change_nothing(app) {
        let api = AdminApi::new(&app).await;
        for (body, field) in [
            (json!({"label": "x".repeat(101)}), "label"),
            (json!({"label": "a\u{7}b"}), "label"),
            (json!({"label": 5}), "label"),
            (json!({"name": "x"}), "name"),
        ] {
            let (status, answer) = api.post("/keys", body.clone()).await;
            let description = assert_error(status, &answer, 400, "invalid_request");
            assert!(description.contains(field), "{body}: {description}");
        }
        for path in ["/keys/abc", "/keys/0", "/keys/-1", "/keys/99999999999999999999"] {
            let (status, body) = api.delete(path).await;
            assert_error(status, &body, 400, "invalid_request");
        }
        assert_eq!(app.store.list_api_keys(app.site_id).await.unwrap().len(), 1);
    }
}
