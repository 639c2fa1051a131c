//! ID-token login settings through the admin API and `tessera site configure --oidc-*`:
//! one validation, the field named, nothing changed on a refusal.

use serde_json::json;

use crate::admin::{assert_error, AdminApi};
use crate::cli::{tessera_fails, tessera_json};
use crate::{both_databases, both_stores};

both_stores! {
    async fn the_admin_api_reads_and_changes_id_token_login(app) {
        let admin = AdminApi::new(&app).await;
        let (status, site) = admin.get("/site").await;
        assert_eq!(status, 200);
        assert_eq!(site["id_token_login"], json!(null));
        let (status, site) = admin.patch("/site", json!({"id_token_login": {
            "issuer": "http://127.0.0.1:9/realms/main", "client_id": "widget",
            "mapping": {"uid": "preferred_username"}, "algorithms": ["RS256", "ES256"],
            "max_age_s": 300, "skew_s": 10,
        }})).await;
        assert_eq!(status, 200, "{site}");
        let oidc = &site["id_token_login"];
        assert_eq!(oidc["configured"], true);
        assert_eq!(oidc["issuer"], "http://127.0.0.1:9/realms/main");
        assert_eq!(oidc["jwks_uri"], json!(null));
        assert_eq!(oidc["algorithms"], json!(["RS256", "ES256"]));
        assert_eq!(oidc["mapping"], json!({"uid": "preferred_username", "displayName": "name", "email": "email", "photoURL": "picture"}));
        assert_eq!((oidc["max_age_s"].as_u64(), oidc["skew_s"].as_u64()), (Some(300), Some(10)));
        for (bad, field) in [
            (json!({"algorithms": ["HS256"]}), "id_token_login.algorithms"),
            (json!({"algorithms": ["none"]}), "id_token_login.algorithms"),
            (json!({"skew_s": 120}), "id_token_login.skew_s"),
            (json!({"issuer": "not a url"}), "id_token_login.issuer"),
            (json!({"mapping": {"socialData": "x"}}), "id_token_login.mapping.socialData"),
            (json!({"secret": "x"}), "id_token_login"),
        ] {
            let (status, body) = admin.patch("/site", json!({"id_token_login": bad, "name": "Changed"})).await;
            let description = assert_error(status, &body, 400, "invalid_request");
            assert!(description.starts_with(field), "{description}");
        }
        let (_, after) = admin.get("/site").await;
        assert_eq!(after["id_token_login"], site["id_token_login"], "nothing changed");
        assert_eq!(after["name"], site["name"]);
    }
}

both_databases! {
    async fn site_configure_sets_id_token_login(db) {
        let url = db.url.as_str();
        let created = tessera_json(url, &["site", "create", "--name", "News"]).await;
        let site = created["site_id"].as_i64().unwrap().to_string();
        let out = tessera_json(url, &[
            "site", "configure", &site,
            "--oidc-issuer", "https://login.news.example/realms/main",
            "--oidc-client-id", "comments",
            "--oidc-map", "uid=preferred_username", "--oidc-map", "photoURL=avatar",
            "--oidc-algorithms", "RS256,EdDSA", "--oidc-max-age", "5m", "--oidc-skew", "10s",
        ]).await;
        let oidc = &out["id_token_login"];
        assert_eq!(oidc["configured"], true, "{out}");
        assert_eq!(oidc["client_id"], "comments");
        assert_eq!(oidc["mapping"]["photoURL"], "avatar");
        assert_eq!(oidc["algorithms"], json!(["RS256", "EdDSA"]));
        assert_eq!((oidc["max_age_s"].as_u64(), oidc["skew_s"].as_u64()), (Some(300), Some(10)));
        let out = tessera_json(url, &["site", "configure", &site, "--oidc-jwks-uri", "https://login.news.example/keys"]).await;
        assert_eq!(out["id_token_login"]["jwks_uri"], "https://login.news.example/keys");
        assert_eq!(out["id_token_login"]["client_id"], "comments", "only the options given change");
        tessera_fails(url, &["site", "configure", &site, "--oidc-algorithms", "HS256"], "never accepted").await;
        tessera_fails(url, &["site", "configure", &site, "--oidc-issuer", "http://login.news.example"], "https").await;
        tessera_fails(url, &["site", "configure", &site, "--oidc-skew", "2m"], "skew").await;
        tessera_fails(url, &["site", "configure", &site, "--oidc-map", "error=x"], "not a mapped field").await;
        let out = tessera_json(url, &["site", "configure", &site, "--oidc-issuer", ""]).await;
        assert_eq!(out["id_token_login"]["configured"], false);
    }
}
