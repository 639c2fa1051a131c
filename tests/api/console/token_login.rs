//! The console's Token logins page: ID-token settings saved through the admin layer,
//! the Test button on a pasted ID token, and SSO secrets shown once.

use super::{field_value, Console};
use crate::admin::AdminApi;
use crate::both_stores;
use crate::id_token::{Provider, TestKey, CLIENT_ID};

both_stores! {
    async fn the_token_logins_page_saves_tests_and_makes_secrets(app) {
        let key = TestKey::ed25519("k1");
        let provider = Provider::start(&[&key]).await;
        let console = Console::login(&app, "boss").await;
        let (status, html) = console.get("/admin/authentication/tokens").await;
        assert_eq!(status, 200);
        for field in ["issuer", "client_id", "jwks_uri", "algorithms", "oidc_map_uid", "max_age_s", "skew_s", "id_token", "nonce"] {
            assert!(html.contains(&format!("name=\"{field}\"")), "{field}");
        }
        let save = |issuer: String, algorithms: &'static str| {
            let console = &console;
            async move {
                console.post("/admin/authentication/tokens", &[
                    ("issuer", issuer.as_str()), ("client_id", CLIENT_ID), ("jwks_uri", ""),
                    ("algorithms", algorithms), ("oidc_map_uid", "sub"), ("oidc_map_displayName", "name"),
                    ("oidc_map_email", "email"), ("oidc_map_photoURL", "picture"),
                    ("max_age_s", "600"), ("skew_s", "30"),
                ]).await
            }
        };
        // Refused: the field is named, the typed values stay, nothing is saved.
        let refused = save(provider.issuer.clone(), "RS256, HS256").await;
        assert_eq!(refused.status(), 400);
        let html = refused.text().await.unwrap();
        assert!(html.contains("never accepted"), "{html}");
        assert_eq!(field_value(&html, "algorithms").as_deref(), Some("RS256, HS256"));
        let api = AdminApi::new(&app).await;
        assert!(api.get("/site").await.1["id_token_login"].is_null());

        let saved = save(provider.issuer.clone(), "EdDSA, ES256").await;
        assert_eq!(saved.status(), 303);
        let (_, site) = api.get("/site").await;
        assert_eq!(site["id_token_login"]["algorithms"], serde_json::json!(["EdDSA", "ES256"]));

        // Test: a good token shows its profile (and is not used up), a bad one its cause.
        let token = key.sign(&provider.claims(&app, "ann"));
        let tested = console.post("/admin/authentication/tokens/test", &[("id_token", token.as_str()), ("nonce", "")]).await;
        assert_eq!(tested.status(), 200);
        let html = tested.text().await.unwrap();
        assert!(html.contains("Test result") && html.contains("ann@example.com"), "{html}");
        let mut wrong = provider.claims(&app, "ann");
        wrong["aud"] = serde_json::json!("someone-else");
        let tested = console.post("/admin/authentication/tokens/test", &[("id_token", key.sign(&wrong).as_str())]).await;
        let html = tested.text().await.unwrap();
        assert!(html.contains("wrong_audience"), "{html}");
        let (status, body) = crate::id_token::login(&app, &token).await;
        assert_eq!(status, 200, "the test did not use the token up: {body}");

        // SSO secrets: created and shown once, then only its kid.
        let created = console.post("/admin/authentication/sso-secrets", &[]).await;
        assert_eq!(created.status(), 200);
        let html = created.text().await.unwrap();
        let secret = field_value(&html, "new-secret").or_else(|| {
            html.split("id=\"new-secret\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).map(str::to_string)
        }).expect("the new secret");
        assert_eq!(secret.len(), 43);
        let (_, html) = console.get("/admin/authentication/tokens").await;
        assert!(!html.contains(&secret));
        let (_, list) = api.get("/sso-secrets").await;
        let kid = list["secrets"][0]["kid"].as_str().unwrap().to_string();
        assert!(html.contains(&kid));
        let (status, _) = console.get(&format!("/admin/authentication/sso-secrets/{kid}/delete")).await;
        assert_eq!(status, 200);
        let deleted = console.post(&format!("/admin/authentication/sso-secrets/{kid}/delete"), &[]).await;
        assert_eq!(deleted.status(), 303);
        assert_eq!(api.get("/sso-secrets").await.1["secrets"], serde_json::json!([]));
    }
}
