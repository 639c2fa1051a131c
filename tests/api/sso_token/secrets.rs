//! SSO secrets through the CLI and the admin API: shown once, never listed, never in
//! the audit log, at most two.

use serde_json::Value;

use super::{claims, login_at, sign};
use crate::admin::AdminApi;
use crate::cli::{tessera, tessera_fails, tessera_json};
use crate::{both_databases, both_stores};

both_databases! {
    async fn the_cli_creates_lists_and_deletes_secrets(db) {
        let url = db.url.as_str();
        let created = tessera_json(url, &["site", "create", "--name", "News"]).await;
        let site = created["site_id"].as_i64().unwrap().to_string();
        let first = tessera_json(url, &["site", "sso-secret", "create", &site]).await;
        let kid = first["kid"].as_str().unwrap().to_string();
        let secret = first["secret"].as_str().unwrap().to_string();
        assert_eq!(secret.len(), 43, "256 bits of base64url");
        assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let text = tessera(url, &["site", "sso-secret", "create", &site]).await;
        assert!(text.status.success() && text.stdout.contains("shown once"), "{}", text.stdout);
        tessera_fails(url, &["site", "sso-secret", "create", &site], "already has 2").await;
        let list = tessera_json(url, &["site", "sso-secret", "list", &site]).await;
        assert_eq!(list["secrets"].as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains(&secret));
        let listed = tessera(url, &["site", "sso-secret", "list", &site]).await;
        assert!(listed.stdout.contains(&kid) && !listed.stdout.contains(&secret));
        let audit = tessera(url, &["audit", "list", &site, "--json"]).await;
        assert!(audit.stdout.contains("sso_secret.created") && !audit.stdout.contains(&secret));
        let deleted = tessera_json(url, &["site", "sso-secret", "delete", &site, &kid]).await;
        assert_eq!(deleted["deleted"], true);
        tessera_fails(url, &["site", "sso-secret", "delete", &site, &kid], "no SSO secret").await;
        tessera_fails(url, &["site", "sso-secret", "list", "999"], "there is no site 999").await;
    }
}

both_stores! {
    async fn the_admin_api_shows_a_secret_once(app) {
        let admin = AdminApi::new(&app).await;
        let (status, created) = admin.call(reqwest::Method::POST, "/sso-secrets", None).await;
        assert_eq!(status, 201);
        let secret = created["secret"].as_str().unwrap();
        let (status, list) = admin.get("/sso-secrets").await;
        assert_eq!(status, 200);
        assert_eq!(list["secrets"][0]["kid"], created["kid"]);
        assert!(!list.to_string().contains(secret));
        let (_, audit) = admin.get("/audit?action=sso_secret.created").await;
        assert_eq!(audit["events"].as_array().map(Vec::len), Some(1));
        assert!(!audit.to_string().contains(secret));
        let token = sign(created["kid"].as_str().unwrap(), secret, &claims(&app, "u", "1"));
        let (status, body) = login_at(&app, &app.base, app.site_id, &token).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = admin.delete("/sso-secrets/unknown").await;
        crate::admin::assert_error(status, &body, 404, "not_found");
        let _: Value = body;
    }
}
