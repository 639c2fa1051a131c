//! Every forgery and failed check of SPEC §5.3: each is answered 401
//! `invalid_id_token`, its precise cause audited, nothing created.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::{assert_refused, configure, login, login_raw, Provider, TestKey};
use crate::both_stores;
use crate::helpers::TestApp;

fn b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// A provider with one Ed25519 key, configured on the app's site.
async fn setup(app: &TestApp) -> (Provider, TestKey) {
    let key = TestKey::ed25519("main");
    let provider = Provider::start(&[&key]).await;
    configure(app, &provider, |_| {}).await;
    (provider, key)
}

fn with(mut claims: Value, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    edit(claims.as_object_mut().unwrap());
    claims
}

both_stores! {
    async fn claims_that_do_not_hold_are_refused(app) {
        let (provider, key) = setup(&app).await;
        let now = tessera::clock::Clock::now_ms(&app.clock) / 1000;
        let base = provider.claims(&app, "mallory");
        let cases: Vec<(Value, &str)> = vec![
            (with(base.clone(), |c| { c.insert("aud".into(), json!("another-client")); }), "wrong_audience"),
            (with(base.clone(), |c| { c.insert("aud".into(), json!(["another", crate::id_token::CLIENT_ID])); }), "wrong_azp"),
            (with(base.clone(), |c| { c.insert("azp".into(), json!("another")); }), "wrong_azp"),
            (with(base.clone(), |c| { c.insert("iss".into(), json!("https://evil.example")); }), "wrong_issuer"),
            (with(base.clone(), |c| { c.insert("iss".into(), json!(format!("{}/", provider.issuer))); }), "wrong_issuer"),
            (with(base.clone(), |c| { c.insert("exp".into(), json!(now - 31)); c.insert("iat".into(), json!(now - 100)); }), "expired"),
            (with(base.clone(), |c| { c.insert("iat".into(), json!(now - 631)); }), "too_old"),
            (with(base.clone(), |c| { c.insert("nbf".into(), json!(now + 120)); }), "not_yet_valid"),
            (with(base.clone(), |c| { c.insert("iat".into(), json!(now + 120)); }), "issued_in_future"),
            (with(base.clone(), |c| { c.remove("iat"); }), "missing_claim"),
            (with(base.clone(), |c| { c.remove("email"); }), "invalid_profile"),
            (with(base.clone(), |c| { c.remove("sub"); }), "invalid_profile"),
        ];
        for (claims, cause) in cases {
            assert_refused(&app, &key.sign(&claims), cause).await;
        }
        // Within the skew (30 s) is fine.
        let skewed = with(base, |c| { c.insert("iat".into(), json!(now + 20)); c.insert("nbf".into(), json!(now + 20)); });
        let (status, body) = login(&app, &key.sign(&skewed)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 1);
    }

    async fn an_old_token_is_refused_once_time_passes(app) {
        let (provider, key) = setup(&app).await;
        let token = key.sign(&provider.claims(&app, "late"));
        app.clock.advance(Duration::from_secs(331));
        assert_refused(&app, &token, "expired").await;
    }

    async fn forged_and_malformed_tokens_are_refused(app) {
        let (provider, key) = setup(&app).await;
        let claims = provider.claims(&app, "mallory");
        let good = key.sign(&claims);
        let parts: Vec<&str> = good.split('.').collect();

        // Tampered payload, original signature.
        let tampered = with(claims.clone(), |c| { c.insert("sub".into(), json!("admin")); });
        assert_refused(&app, &format!("{}.{}.{}", parts[0], b64(&tampered.to_string()), parts[2]), "bad_signature").await;
        // alg none, with and without a signature.
        let none_header = b64(r#"{"alg":"none","kid":"main"}"#);
        assert_refused(&app, &format!("{none_header}.{}.", parts[1]), "malformed").await;
        assert_refused(&app, &format!("{none_header}.{}.{}", parts[1], parts[2]), "alg_not_allowed").await;
        // HS256 keyed with the provider's public key (the classic key-confusion forgery).
        let hs_header = b64(r#"{"alg":"HS256","kid":"main"}"#);
        let message = format!("{hs_header}.{}", parts[1]);
        let public = serde_json::to_string(&key.jwk).unwrap();
        let mac = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, public.as_bytes()), message.as_bytes());
        let forged = format!("{message}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        assert_refused(&app, &forged, "alg_not_allowed").await;
        // A signer the provider never published, under a kid it does not have…
        let rogue = TestKey::ed25519("rogue");
        assert_refused(&app, &rogue.sign(&claims), "unknown_kid").await;
        // …and under the kid of a real key.
        assert_refused(&app, &rogue.renamed("main").sign(&claims), "bad_signature").await;
        // crit, duplicate names, garbage, oversize.
        let header = r#"{"alg":"EdDSA","kid":"main","crit":["exp"],"exp":1}"#;
        assert_refused(&app, &key.sign_raw(header, &claims.to_string()), "crit").await;
        let header = r#"{"alg":"EdDSA","kid":"main","kid":"other"}"#;
        assert_refused(&app, &key.sign_raw(header, &claims.to_string()), "duplicate_name").await;
        let payload = claims.to_string().replacen('{', r#"{"sub":"admin","#, 1);
        assert_refused(&app, &key.sign_raw(r#"{"alg":"EdDSA","kid":"main"}"#, &payload), "duplicate_name").await;
        assert_refused(&app, "not.a.token", "malformed").await;
        assert_refused(&app, "", "malformed").await;
        let mut big = claims.clone();
        big["padding"] = json!("x".repeat(20_000));
        assert_refused(&app, &key.sign(&big), "too_large").await;
        // Nothing was created by any of them.
        assert!(app.store.find_user_by_external_id(app.site_id, "mallory").await.unwrap().is_none());
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);
    }

    async fn algorithms_outside_the_sites_list_and_keys_of_another_type_are_refused(app) {
        let ed = TestKey::ed25519("ed");
        let ec = TestKey::es256("ec");
        let provider = Provider::start(&[&ed, &ec]).await;
        configure(&app, &provider, |s| s.algorithms = vec![tessera::settings::id_token::Algorithm::ES256]).await;
        let claims = provider.claims(&app, "a");
        assert_refused(&app, &ed.sign(&claims), "alg_not_allowed").await;
        // An ES256 token that names the Ed25519 key.
        assert_refused(&app, &ec.renamed("ed").sign(&claims), "alg_key_mismatch").await;
        let (status, body) = login(&app, &ec.sign(&claims)).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn the_nonce_must_match_when_the_request_has_one(app) {
        let (provider, key) = setup(&app).await;
        let mut claims = provider.claims(&app, "n");
        claims["nonce"] = json!("expected");
        let token = key.sign(&claims);
        let (status, body) = login_raw(&app, &app.base, json!({"site_id": app.site_id, "id_token": token, "nonce": "other"})).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(crate::id_token::last_cause(&app).await, "nonce_mismatch");
        let no_nonce = key.sign(&provider.claims(&app, "n"));
        let (status, _) = login_raw(&app, &app.base, json!({"site_id": app.site_id, "id_token": no_nonce, "nonce": "expected"})).await;
        assert_eq!(status, 401);
        let (status, body) = login_raw(&app, &app.base, json!({"site_id": app.site_id, "id_token": token, "nonce": "expected"})).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn a_token_is_used_once_on_every_node(app) {
        let (provider, key) = setup(&app).await;
        let token = key.sign(&provider.claims(&app, "once"));
        let (status, body) = login(&app, &token).await;
        assert_eq!(status, 200, "{body}");
        assert_refused(&app, &token, "replayed").await;
        // Another node on the same store refuses it too (the replay cache is in the store).
        let peer = app.spawn_peer().await;
        let (status, body) = login_raw(&app, &peer.base, json!({"site_id": app.site_id, "id_token": token})).await;
        assert_eq!((status.as_u16(), body["error"].as_str()), (401, Some("invalid_id_token")), "{body}");
        // A token first used on the peer is refused here.
        let mut claims = provider.claims(&app, "once");
        claims["jti"] = json!("fresh");
        let other = key.sign(&claims);
        let (status, _) = login_raw(&app, &peer.base, json!({"site_id": app.site_id, "id_token": other})).await;
        assert_eq!(status, 200);
        assert_refused(&app, &other, "replayed").await;
        // Once expired, the cache forgets it (and the token is refused as expired anyway).
        app.clock.advance(Duration::from_secs(400));
        let purged = app.store.purge_used_tokens(tessera::clock::Clock::now_ms(&app.clock)).await.unwrap();
        assert_eq!(purged, 2);
        assert_refused(&app, &token, "expired").await;
        peer.stop().await;
    }
}
