//! OAuth 2.0 token endpoint, bearer errors, introspection, revocation, metadata.

use reqwest::StatusCode;
use serde_json::Value;

use crate::both_stores;
use crate::helpers::TestApp;

async fn error_of(response: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = response.json().await.expect("JSON error body");
    (status, headers, body)
}

fn assert_oauth_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "body: {body}");
    assert_eq!(body["error"], want_code, "body: {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "body: {body}"
    );
}

async fn introspect(app: &TestApp, site: &str, key: &str, token: &str) -> Value {
    let response = app
        .post_form_basic("/oauth2/introspect", site, key, &[("token", token)])
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

both_stores! {
    async fn seed_curl_command_gets_a_token(app) {
        // The seed's command, run by the real curl binary.
        let output = tokio::process::Command::new("curl")
            .args(["-sS", "-i", "--user", &format!("{}:{}", app.site_id, app.api_key),
                   "-d", "grant_type=client_credentials", "-d", "scope=accounts", &app.url("/oauth2/token")])
            .output().await.expect("curl runs");
        assert!(output.status.success(), "curl failed: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("headers and body");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("cache-control: no-store"), "{head}");
        assert!(lower.contains("pragma: no-cache"), "{head}");
        assert!(lower.contains("content-type: application/json"), "{head}");
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "accounts");
        let token = body["access_token"].as_str().unwrap();
        // At least 128 bits, URL-safe.
        assert!(token.len() >= 22 && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    async fn oauth2_library_gets_tokens_with_basic_and_post_auth(app) {
        use oauth2::basic::BasicClient;
        use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
            let client = BasicClient::new(ClientId::new(app.site_id.to_string()))
                .set_client_secret(ClientSecret::new(app.api_key.clone()))
                .set_token_uri(TokenUrl::new(app.url("/oauth2/token")).unwrap())
                .set_auth_type(auth_type.clone());
            let token = client
                .exchange_client_credentials()
                .add_scope(Scope::new("accounts".into()))
                .add_scope(Scope::new("admin".into()))
                .request_async(&http)
                .await
                .unwrap_or_else(|e| panic!("{auth_type:?}: {e:?}"));
            assert_eq!(token.expires_in().unwrap().as_secs(), 3600);
            let scopes: Vec<String> = token.scopes().unwrap().iter().map(|s| s.to_string()).collect();
            assert_eq!(scopes, ["accounts", "admin"]);
            let state = introspect(&app, &app.site_id.to_string(), &app.api_key, token.access_token().secret()).await;
            assert_eq!(state["active"], true);
        }
    }

    async fn absent_scope_means_accounts(app) {
        let site = app.site_id.to_string();
        let response = app.post_form_basic("/oauth2/token", &site, &app.api_key, &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scope"], "accounts");
    }

    async fn every_token_error_has_its_status_and_headers(app) {
        let site = app.site_id.to_string();
        let token_url = app.url("/oauth2/token");

        // Wrong key, unknown site, key of another site, malformed site id: invalid_client + Basic challenge.
        let other = app.store.create_site("Other", &[], app.clock_now(), &tessera::store::audit::Actor::Cli).await.unwrap();
        let other_key = secrecy::ExposeSecret::expose_secret(&other.api_key).to_string();
        for (user, password) in [
            (site.as_str(), "tsk_wrong"),
            ("999999", app.api_key.as_str()),
            (site.as_str(), other_key.as_str()),
            ("not-a-number", app.api_key.as_str()),
            ("0", app.api_key.as_str()),
        ] {
            let response = app.post_form_basic("/oauth2/token", user, password, &[("grant_type", "client_credentials")]).await;
            let (status, headers, body) = error_of(response).await;
            assert_oauth_error(status, &body, 401, "invalid_client");
            assert_eq!(headers["www-authenticate"], "Basic realm=\"tessera\"");
        }

        // No client authentication at all.
        let response = app.client.post(&token_url).form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        let (status, headers, body) = error_of(response).await;
        assert_oauth_error(status, &body, 401, "invalid_client");
        assert!(headers.contains_key("www-authenticate"));

        // client_id without a secret.
        let response = app.client.post(&token_url).form(&[("grant_type", "client_credentials"), ("client_id", site.as_str())]).send().await.unwrap();
        let (status, _, body) = error_of(response).await;
        assert_oauth_error(status, &body, 401, "invalid_client");

        // Both Basic and body credentials.
        let response = app.post_form_basic("/oauth2/token", &site, &app.api_key,
            &[("grant_type", "client_credentials"), ("client_id", site.as_str()), ("client_secret", app.api_key.as_str())]).await;
        let (status, _, body) = error_of(response).await;
        assert_oauth_error(status, &body, 400, "invalid_request");

        // Missing grant type, duplicated parameter, wrong content type, invalid UTF-8.
        let response = app.post_form_basic("/oauth2/token", &site, &app.api_key, &[("scope", "accounts")]).await;
        let (status, _, body) = error_of(response).await;
        assert_oauth_error(status, &body, 400, "invalid_request");
        for (content_type, raw) in [
            ("application/x-www-form-urlencoded", b"grant_type=client_credentials&grant_type=client_credentials".to_vec()),
            ("application/json", br#"{"grant_type":"client_credentials"}"#.to_vec()),
            ("application/x-www-form-urlencoded", b"grant_type=client_credentials&scope=%FF".to_vec()),
            ("application/x-www-form-urlencoded", b"grant_type=\xff\xfe".to_vec()),
        ] {
            let response = app.client.post(&token_url).basic_auth(&site, Some(&app.api_key))
                .header("content-type", content_type).body(raw).send().await.unwrap();
            let (status, _, body) = error_of(response).await;
            assert_oauth_error(status, &body, 400, "invalid_request");
        }

        // Unsupported grant types.
        for grant in ["password", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"] {
            let response = app.post_form_basic("/oauth2/token", &site, &app.api_key, &[("grant_type", grant)]).await;
            let (status, _, body) = error_of(response).await;
            assert_oauth_error(status, &body, 400, "unsupported_grant_type");
        }

        // Unknown scopes.
        for scope in ["openid", "accounts superuser", "ACCOUNTS"] {
            let response = app.post_form_basic("/oauth2/token", &site, &app.api_key, &[("grant_type", "client_credentials"), ("scope", scope)]).await;
            let (status, _, body) = error_of(response).await;
            assert_oauth_error(status, &body, 400, "invalid_scope");
        }

        // Any method but POST: 405 with Allow: POST and a JSON body.
        for method in [reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
            let response = app.client.request(method.clone(), &token_url).send().await.unwrap();
            assert_eq!(response.status(), 405, "{method}");
            assert_eq!(response.headers()["allow"], "POST", "{method}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "method_not_allowed");
        }
    }

    async fn disabled_site_is_an_invalid_client_and_its_tokens_stop(app) {
        let token = app.token("accounts").await;
        let actor = tessera::store::audit::Actor::Cli;
        assert!(app.store.set_site_active(app.site_id, false, app.clock_now(), &actor).await.unwrap());
        let site = app.site_id.to_string();
        let response = app.post_form_basic("/oauth2/token", &site, &app.api_key, &[("grant_type", "client_credentials")]).await;
        let (status, headers, body) = error_of(response).await;
        assert_oauth_error(status, &body, 401, "invalid_client");
        assert!(headers.contains_key("www-authenticate"));
        assert!(app.store.find_access_token(&tessera::secrets::TimedHash::of(&token), app.clock_now()).await.unwrap().is_none());
        // Enabled again: the key works again.
        assert!(app.store.set_site_active(app.site_id, true, app.clock_now(), &actor).await.unwrap());
        app.token("accounts").await;
    }

    async fn introspection_only_shows_a_site_its_own_tokens(app) {
        let site = app.site_id.to_string();
        let token = app.token("accounts admin").await;
        let state = introspect(&app, &site, &app.api_key, &token).await;
        assert_eq!(state["active"], true);
        assert_eq!(state["scope"], "accounts admin");
        assert_eq!(state["client_id"], site);
        assert_eq!(state["token_type"], "bearer");
        let iat = state["iat"].as_i64().unwrap();
        assert_eq!(state["exp"].as_i64().unwrap() - iat, 3600);

        let other = app.store.create_site("Other", &[], app.clock_now(), &tessera::store::audit::Actor::Cli).await.unwrap();
        let other_key = secrecy::ExposeSecret::expose_secret(&other.api_key).to_string();
        let seen_by_other = introspect(&app, &other.site_id.to_string(), &other_key, &token).await;
        assert_eq!(seen_by_other, serde_json::json!({ "active": false }));

        let unknown = introspect(&app, &site, &app.api_key, "no-such-token").await;
        assert_eq!(unknown, serde_json::json!({ "active": false }));

        // Expired (driven by the clock, not by sleeping).
        app.clock.advance(std::time::Duration::from_secs(3601));
        let expired = introspect(&app, &site, &app.api_key, &token).await;
        assert_eq!(expired, serde_json::json!({ "active": false }));

        // Introspection needs client authentication and a token parameter.
        let response = app.client.post(app.url("/oauth2/introspect")).form(&[("token", token.as_str())]).send().await.unwrap();
        let (status, _, body) = error_of(response).await;
        assert_oauth_error(status, &body, 401, "invalid_client");
        let response = app.post_form_basic("/oauth2/introspect", &site, &app.api_key, &[]).await;
        let (status, _, body) = error_of(response).await;
        assert_oauth_error(status, &body, 400, "invalid_request");
    }

    async fn revocation_ends_a_token_and_ignores_other_sites_tokens(app) {
        let site = app.site_id.to_string();
        let token = app.token("accounts").await;

        let other = app.store.create_site("Other", &[], app.clock_now(), &tessera::store::audit::Actor::Cli).await.unwrap();
        let other_key = secrecy::ExposeSecret::expose_secret(&other.api_key).to_string();
        let response = app.post_form_basic("/oauth2/revoke", &other.site_id.to_string(), &other_key, &[("token", token.as_str())]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(introspect(&app, &site, &app.api_key, &token).await["active"], true);

        let response = app.post_form_basic("/oauth2/revoke", &site, &app.api_key, &[("token", token.as_str()), ("token_type_hint", "access_token")]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(introspect(&app, &site, &app.api_key, &token).await["active"], false);
        // Idempotent, and unknown tokens are fine too.
        for t in [token.as_str(), "never-issued"] {
            let response = app.post_form_basic("/oauth2/revoke", &site, &app.api_key, &[("token", t)]).await;
            assert_eq!(response.status(), 200);
        }
        let response = app.post_form_basic("/oauth2/revoke", &site, "tsk_bad", &[("token", token.as_str())]).await;
        assert_eq!(response.status(), 401);
    }

    async fn deleting_a_key_revokes_its_tokens(app) {
        let actor = tessera::store::audit::Actor::Cli;
        let site = app.site_id.to_string();
        let second = app.store.create_api_key(app.site_id, "second", app.clock_now(), &actor).await.unwrap().unwrap();
        let second_key = secrecy::ExposeSecret::expose_secret(&second.api_key).to_string();
        let response = app.post_form_basic("/oauth2/token", &site, &second_key, &[("grant_type", "client_credentials")]).await;
        let doomed: Value = response.json().await.unwrap();
        let doomed = doomed["access_token"].as_str().unwrap().to_string();
        let survivor = app.token("accounts").await;

        assert!(app.store.delete_api_key(app.site_id, second.key_id, app.clock_now(), &actor).await.unwrap());
        assert_eq!(introspect(&app, &site, &app.api_key, &doomed).await["active"], false);
        assert_eq!(introspect(&app, &site, &app.api_key, &survivor).await["active"], true);
        let response = app.post_form_basic("/oauth2/token", &site, &second_key, &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), 401);
        // A key of one site cannot be deleted through another site.
        let other = app.store.create_site("Other", &[], app.clock_now(), &actor).await.unwrap();
        assert!(!app.store.delete_api_key(other.site_id, app.key_id, app.clock_now(), &actor).await.unwrap());
        let audit = app.store.list_audit(app.site_id, None, 50).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "api_key.deleted"));
    }

    async fn metadata_describes_the_endpoints(app) {
        let body: Value = app.client.get(app.url("/.well-known/oauth-authorization-server")).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["issuer"], app.base);
        assert_eq!(body["token_endpoint"], app.url("/oauth2/token"));
        assert_eq!(body["introspection_endpoint"], app.url("/oauth2/introspect"));
        assert_eq!(body["revocation_endpoint"], app.url("/oauth2/revoke"));
        assert_eq!(body["grant_types_supported"], serde_json::json!(["client_credentials"]));
        assert_eq!(body["scopes_supported"], serde_json::json!(["accounts", "admin"]));
        assert_eq!(body["token_endpoint_auth_methods_supported"], serde_json::json!(["client_secret_basic", "client_secret_post"]));
    }

    async fn garbage_input_gets_4xx_json_never_5xx(app) {
        let site = app.site_id.to_string();
        let token_url = app.url("/oauth2/token");
        let garbage_headers = [
            "Basic", "Basic ", "Basic ====", "Basic !!!", "Bearer x", "Digest a=b",
            "Basic YWJj", // "abc": no colon
            "Basic Og==", // ":"
            "basic OjE=", // ":1"
        ];
        for value in garbage_headers {
            let response = app.client.post(&token_url).header("authorization", value)
                .form(&[("grant_type", "client_credentials")]).send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or_else(|_| panic!("{value}: JSON"));
            assert!(status.is_client_error(), "{value}: {status}");
            assert!(body["error"].is_string(), "{value}");
        }
        // Non-ASCII bytes in the Authorization header.
        let response = app.client.post(&token_url)
            .header("authorization", reqwest::header::HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap())
            .form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        assert!(response.status().is_client_error());

        // Oversized body: 413 in the OAuth shape.
        let huge = format!("grant_type=client_credentials&pad={}", "a".repeat(70 * 1024));
        let response = app.client.post(&token_url).basic_auth(&site, Some(&app.api_key))
            .header("content-type", "application/x-www-form-urlencoded").body(huge).send().await.unwrap();
        let (status, _, body) = error_of(response).await;
        assert_oauth_error(status, &body, 413, "invalid_request");

        // Unknown paths are JSON 404s.
        let response = app.client.get(app.url("/nope")).send().await.unwrap();
        let (status, _, body) = error_of(response).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"], "not_found");

        // Nothing above created a token.
        let metrics = app.client.get(format!("{}/metrics", app.metrics_base)).send().await.unwrap().text().await.unwrap();
        assert!(!metrics.contains("status=\"500\""), "{metrics}");
    }
}

impl TestApp {
    pub fn clock_now(&self) -> i64 {
        tessera::clock::Clock::now_ms(&self.clock)
    }
}

both_stores! {
    async fn nodes_sharing_a_store_agree_on_tokens_and_revocation(app) {
        let peer = app.spawn_peer().await;
        let site = app.site_id.to_string();
        // Minted on one node, alive on the other.
        let token = app.token("accounts").await;
        let on_peer = peer.post_form_basic("/oauth2/introspect", &site, &app.api_key, &[("token", token.as_str())]).await;
        let on_peer: Value = on_peer.json().await.unwrap();
        assert_eq!(on_peer["active"], true);
        // Revoked on the peer: dead on the first node at once (no cache decides).
        let response = peer.post_form_basic("/oauth2/revoke", &site, &app.api_key, &[("token", token.as_str())]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(introspect(&app, &site, &app.api_key, &token).await["active"], false);
        // A key deleted through one node's store stops working on the other.
        let actor = tessera::store::audit::Actor::Cli;
        assert!(peer.store.delete_api_key(app.site_id, app.key_id, app.clock_now(), &actor).await.unwrap());
        let response = app.post_form_basic("/oauth2/token", &site, &app.api_key, &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), 401);
        peer.stop().await;
    }
}
