//! Using, refreshing, revoking JWTs; forgeries; key rotation; several nodes.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};

use super::*;
use crate::both_databases;
use crate::cli::tessera_json;

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Signs `claims` with the store's real private key through jsonwebtoken.
async fn sign_with_real_key(app: &TestApp, kid: &str, claims: &Value) -> String {
    let keys = app.store.list_jwt_keys().await.unwrap();
    let stored = keys.iter().find(|k| k.kid == kid).unwrap();
    let seed: [u8; 32] = stored.private_key.as_slice().try_into().unwrap();
    let der = ed25519_dalek::SigningKey::from_bytes(&seed)
        .to_pkcs8_der()
        .unwrap();
    let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}

both_databases! {
    async fn the_user_behind_a_token_by_bearer_or_query(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "alice", Some("alice@example.com"), PASSWORD).await;
        let login_answer = login(&app, &[("username", "alice"), ("password", PASSWORD)]).await.json();
        let token = login_answer["token"].as_str().unwrap();
        let by_bearer = me(&app, token).await;
        assert_eq!(by_bearer.status, 200, "{}", by_bearer.text);
        assert_eq!(by_bearer.json(), json!({ "user": login_answer["user_id"] }));
        let by_query = app.client.get(app.url(&format!("/api/v1/authenticate/user?token={token}"))).send().await.unwrap();
        let by_query = Answer::of(by_query).await;
        assert_eq!(by_query.status, 200, "{}", by_query.text);
        let none = Answer::of(app.client.get(app.url("/api/v1/authenticate/user")).send().await.unwrap()).await;
        none.assert_error(400, "token is required");
        let basic = Answer::of(app.client.get(app.url("/api/v1/authenticate/user")).basic_auth("a", Some("b")).send().await.unwrap()).await;
        basic.assert_error(401, "token_invalid");
        app.stop().await;
    }

    async fn forged_and_tampered_tokens_are_token_invalid(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "alice", None, PASSWORD).await;
        let token = token_for(&app, "alice", PASSWORD).await;
        let kid = kid_of(&token);
        let claims = claims_of(&token);
        let parts: Vec<&str> = token.split('.').collect();

        // A flipped signature bit.
        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[0] ^= 1;
        let tampered_signature = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&signature));
        // Claims changed, signature kept.
        let mut promoted = claims.clone();
        promoted["role"] = json!("superadmin");
        let tampered_claims = format!("{}.{}.{}", parts[0], b64(&promoted), parts[2]);
        // alg: none, with and without a signature.
        let none_header = b64(&json!({ "alg": "none", "typ": "JWT", "kid": kid }));
        let alg_none = format!("{none_header}.{}.", parts[1]);
        let alg_none_signed = format!("{none_header}.{}.{}", parts[1], parts[2]);
        // HS256 keyed with the public key (the classic algorithm-confusion forgery).
        let set = jwks(&app).await;
        let jwk = serde_json::to_value(set.find(&kid).unwrap()).unwrap();
        let x = jwk["x"].as_str().unwrap().to_string();
        let mut hs = Header::new(jsonwebtoken::Algorithm::HS256);
        hs.kid = Some(kid.clone());
        let hs_raw_key = jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(&URL_SAFE_NO_PAD.decode(&x).unwrap())).unwrap();
        let hs_text_key = jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(x.as_bytes())).unwrap();
        // Right key, but claims we never issued.
        let now = claims["iat"].as_i64().unwrap();
        let mut future = claims.clone();
        future["nbf"] = json!(now + 600);
        future["iat"] = json!(now + 600);
        let not_yet_valid = sign_with_real_key(&app, &kid, &future).await;
        let mut foreign = claims.clone();
        foreign["iss"] = json!("https://elsewhere.example/api/v1/authenticate");
        let other_issuer = sign_with_real_key(&app, &kid, &foreign).await;
        // A key we do not know.
        let stranger = tessera::password::keys::generate(0);
        let mut unknown_header = Header::new(jsonwebtoken::Algorithm::EdDSA);
        unknown_header.kid = Some(stranger.kid.clone());
        let seed: [u8; 32] = stranger.private_key.as_slice().try_into().unwrap();
        let der = ed25519_dalek::SigningKey::from_bytes(&seed).to_pkcs8_der().unwrap();
        let unknown_kid = jsonwebtoken::encode(&unknown_header, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap();
        let mut stolen_kid_header = unknown_header.clone();
        stolen_kid_header.kid = Some(kid.clone());
        let wrong_key = jsonwebtoken::encode(&stolen_kid_header, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap();

        let forgeries = [
            ("tampered signature", tampered_signature), ("tampered claims", tampered_claims),
            ("alg none", alg_none), ("alg none signed", alg_none_signed),
            ("HS256 raw public key", hs_raw_key), ("HS256 x text", hs_text_key),
            ("nbf in the future", not_yet_valid), ("other issuer", other_issuer),
            ("unknown kid", unknown_kid), ("wrong key", wrong_key),
            ("garbage", "not.a.jwt".to_string()), ("two parts", format!("{}.{}", parts[0], parts[1])),
        ];
        for (what, forged) in &forgeries {
            let answer = me(&app, forged).await;
            assert_eq!(answer.status, 401, "{what}: {}", answer.text);
            assert_eq!(answer.json()["Error"], "token_invalid", "{what}");
            let refreshed = post_token(&app, "/api/v1/refresh", forged).await;
            assert_eq!(refreshed.json()["Error"], "token_invalid", "{what} at refresh");
        }
        // The genuine token still works.
        assert_eq!(me(&app, &token).await.status, 200);
        app.stop().await;
    }

    async fn tokens_expire_after_their_ttl_beyond_the_leeway(db) {
        let app = spawn_with(&db, |c| c.jwt_ttl = Duration::from_secs(600)).await;
        create_user(&app, 1, "alice", None, PASSWORD).await;
        let token = token_for(&app, "alice", PASSWORD).await;
        let claims = claims_of(&token);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);
        app.clock.advance(Duration::from_secs(590));
        assert_eq!(me(&app, &token).await.status, 200);
        app.clock.advance(Duration::from_secs(71));
        me(&app, &token).await.assert_error(401, "token_expired");
        app.stop().await;
    }

    async fn refresh_rotates_the_token_within_the_refresh_window(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "alice", None, PASSWORD).await;
        let first = token_for(&app, "alice", PASSWORD).await;
        let auth_time = claims_of(&first)["auth_time"].clone();

        app.clock.advance(Duration::from_secs(60));
        let refreshed = post_token(&app, "/api/v1/refresh", &first).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.text);
        let second = refreshed.json()["token"].as_str().unwrap().to_string();
        let claims = verify_independently(&app, &second).await;
        assert_ne!(claims["jti"], claims_of(&first)["jti"]);
        assert_eq!(claims["auth_time"], auth_time, "the refresh window counts from the login");
        assert_eq!(me(&app, &second).await.status, 200);
        // The old token is revoked everywhere, and cannot be refreshed twice.
        me(&app, &first).await.assert_error(401, "token_revoked");
        post_token(&app, "/api/v1/refresh", &first).await.assert_error(401, "token_revoked");

        // An expired token can still be refreshed until 14 days after the login…
        app.clock.advance(Duration::from_secs(13 * 86_400));
        me(&app, &second).await.assert_error(401, "token_expired");
        let later = post_token(&app, "/api/v1/refresh", &second).await;
        assert_eq!(later.status, 200, "{}", later.text);
        let third = later.json()["token"].as_str().unwrap().to_string();
        assert_eq!(me(&app, &third).await.status, 200);
        // …and not after.
        app.clock.advance(Duration::from_secs(86_400));
        post_token(&app, "/api/v1/refresh", &third).await.assert_error(401, "token_expired_refresh_window");
        app.stop().await;
    }

    async fn logout_revokes_the_token_on_every_node(db) {
        // Nodes behind one load balancer share the public URL (the issuer).
        let shared = |c: &mut Config| c.public_url = Some("https://login.example".parse().unwrap());
        let first_node = spawn_with(&db, shared).await;
        let second_node = spawn_with(&db, shared).await;
        create_user(&first_node, 1, "alice", None, PASSWORD).await;
        let token = token_for(&first_node, "alice", PASSWORD).await;
        assert_eq!(me(&second_node, &token).await.status, 200, "every node verifies with the shared keys");
        let out = post_token(&first_node, "/api/v1/logout", &token).await;
        assert_eq!(out.status, 200, "{}", out.text);
        me(&second_node, &token).await.assert_error(401, "token_revoked");
        post_token(&second_node, "/api/v1/refresh", &token).await.assert_error(401, "token_revoked");
        post_token(&second_node, "/api/v1/logout", &token).await.assert_error(401, "token_revoked");
        // Only the digest of the jti is stored.
        assert_eq!(sql_i64(&db, "SELECT COUNT(*) FROM revoked_jwts").await, 1);
        assert_eq!(sql_i64(&db, "SELECT COUNT(*) FROM revoked_jwts WHERE length(jti_hash) = 32").await, 1);
        first_node.stop().await;
        second_node.stop().await;
    }

    async fn rotated_keys_keep_verifying_their_tokens_until_they_expire(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "alice", None, PASSWORD).await;
        let old = token_for(&app, "alice", PASSWORD).await;
        let old_kid = kid_of(&old);
        let rotated = tessera_json(&db.url, &["jwt-keys", "rotate"]).await;
        let new_kid = rotated["kid"].as_str().unwrap().to_string();
        assert_ne!(new_kid, old_kid);

        let new = token_for(&app, "alice", PASSWORD).await;
        assert_eq!(kid_of(&new), new_kid, "new tokens use the new key at once");
        let published: Vec<String> = jwks(&app).await.keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
        assert!(published.contains(&old_kid) && published.contains(&new_kid), "{published:?}");
        verify_independently(&app, &old).await;
        verify_independently(&app, &new).await;
        assert_eq!(me(&app, &old).await.status, 200);
        assert_eq!(me(&app, &new).await.status, 200);

        // Once every token of the old key has expired, it leaves the JWKS.
        app.clock.advance(Duration::from_secs(3600 + 180));
        let published: Vec<String> = jwks(&app).await.keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
        assert_eq!(published, vec![new_kid.clone()]);
        let jwk = &jwks(&app).await.keys[0];
        let jwk = serde_json::to_value(jwk).unwrap();
        assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str(), jwk["use"].as_str()),
                   (Some("OKP"), Some("Ed25519"), Some("EdDSA"), Some("sig")));
        assert!(jwk.get("d").is_none(), "never the private key");
        app.stop().await;
    }
}
