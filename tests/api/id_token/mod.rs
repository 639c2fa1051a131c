//! ID-token login (SPEC §5.3) against a real OpenID provider: a small axum server on
//! port 0 that serves discovery and a JWKS of keys made in the test, counts every
//! request, and can be taken down.

mod checks;
mod keys;
mod login;
mod settings;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::StatusCode as ReqStatus;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::settings::IdTokenLoginSettings;
use tessera::store::audit::Actor;

use crate::helpers::TestApp;

pub const CLIENT_ID: &str = "tessera-test-client";

/// A signing key of the provider, made in the test, with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    pub jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One 2048-bit RSA key per test binary: making one costs about a second unoptimised.
fn rsa_key() -> &'static (Vec<u8>, Value) {
    static KEY: OnceLock<(Vec<u8>, Value)> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key");
        let der = key.to_pkcs1_der().expect("PKCS#1").as_bytes().to_vec();
        let jwk = json!({"kty": "RSA", "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be())});
        (der, jwk)
    })
}

impl TestKey {
    /// An RSA key (RS256). Every RSA key of a test binary is the same key material
    /// under its own kid; tests that need two different signers use another type.
    pub fn rsa(kid: &str) -> Self {
        let (der, jwk) = rsa_key();
        Self::with(
            kid,
            Algorithm::RS256,
            EncodingKey::from_rsa_der(der),
            jwk.clone(),
        )
    }

    pub fn es256(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let jwk =
            json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
        Self::with(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        )
    }

    pub fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())});
        Self::with(
            kid,
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk,
        )
    }

    fn with(kid: &str, alg: Algorithm, encoding: EncodingKey, mut jwk: Value) -> Self {
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        Self {
            kid: kid.to_string(),
            alg,
            encoding,
            jwk,
        }
    }

    /// The same key under another kid.
    pub fn renamed(&self, kid: &str) -> Self {
        let mut key = self.clone();
        key.kid = kid.to_string();
        key.jwk["kid"] = json!(kid);
        key
    }

    /// A token with exactly this header and payload text, signed with this key.
    pub fn sign_raw(&self, header: &str, payload: &str) -> String {
        let message = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, self.alg).expect("sign");
        format!("{message}.{signature}")
    }

    /// A token of `claims` with the usual header (alg, kid, typ).
    pub fn sign(&self, claims: &Value) -> String {
        let alg = serde_json::to_value(self.alg).unwrap();
        let header = json!({"alg": alg, "kid": self.kid, "typ": "JWT"});
        self.sign_raw(&header.to_string(), &claims.to_string())
    }
}

#[derive(Default)]
struct ProviderState {
    issuer: Mutex<String>,
    keys: Mutex<Vec<Value>>,
    down: AtomicBool,
    discovery_requests: AtomicUsize,
    jwks_requests: AtomicUsize,
}

/// A local OpenID provider: discovery at the well-known path, the JWKS at `/jwks`.
pub struct Provider {
    pub issuer: String,
    state: Arc<ProviderState>,
    _server: tokio::task::JoinHandle<()>,
}

async fn discovery(State(state): State<Arc<ProviderState>>) -> Response {
    state.discovery_requests.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let issuer = state.issuer.lock().unwrap().clone();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
    }))
    .into_response()
}

async fn jwks(State(state): State<Arc<ProviderState>>) -> Response {
    state.jwks_requests.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = state.keys.lock().unwrap().clone();
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({ "keys": keys })),
    )
        .into_response()
}

impl Provider {
    pub async fn start(keys: &[&TestKey]) -> Provider {
        let state = Arc::new(ProviderState::default());
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        *state.issuer.lock().unwrap() = issuer.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let provider = Provider {
            issuer,
            state,
            _server: server,
        };
        provider.publish(keys);
        provider
    }

    /// Replaces the published keys.
    pub fn publish(&self, keys: &[&TestKey]) {
        *self.state.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// Every request answered 503 while down.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    pub fn jwks_requests(&self) -> usize {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    pub fn discovery_requests(&self) -> usize {
        self.state.discovery_requests.load(Ordering::SeqCst)
    }

    /// Claims of a fresh token for `sub` on the app's clock.
    pub fn claims(&self, app: &TestApp, sub: &str) -> Value {
        let now = app.clock.now_ms() / 1000;
        json!({
            "iss": self.issuer, "aud": CLIENT_ID, "sub": sub,
            "iat": now, "exp": now + 300,
            "name": format!("User {sub}"), "email": format!("{sub}@example.com"),
            "picture": "https://img.example.com/a.png",
        })
    }
}

/// Turns ID-token login on for the app's site with this provider (by discovery),
/// then lets `edit` adjust the settings.
pub async fn configure(
    app: &TestApp,
    provider: &Provider,
    edit: impl FnOnce(&mut IdTokenLoginSettings) + Send,
) {
    let mut settings = IdTokenLoginSettings {
        issuer: Some(provider.issuer.clone()),
        client_id: Some(CLIENT_ID.into()),
        ..IdTokenLoginSettings::default()
    };
    edit(&mut settings);
    let found = app
        .store
        .configure_site(
            app.site_id,
            None,
            move |s| s.id_token_login = Some(settings),
            app.clock.now_ms(),
            &Actor::Cli,
        )
        .await
        .expect("configure site");
    assert!(found);
}

/// `POST /rest/v1/users/login/id-token` with a JSON body.
pub async fn login_raw(app: &TestApp, base: &str, body: Value) -> (ReqStatus, Value) {
    let response = app
        .client
        .post(format!("{base}/rest/v1/users/login/id-token"))
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("id-token login request");
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

pub async fn login(app: &TestApp, token: &str) -> (ReqStatus, Value) {
    login_raw(
        app,
        &app.base,
        json!({ "site_id": app.site_id, "id_token": token }),
    )
    .await
}

/// The `cause` of the newest failed login in the site's audit log.
pub async fn last_cause(app: &TestApp) -> String {
    let events = app.store.list_audit(app.site_id, None, 10).await.unwrap();
    let event = events
        .iter()
        .find(|e| e.outcome == "failure")
        .expect("a failed login in the audit log");
    event.detail.0["cause"]
        .as_str()
        .or(event.detail.0["reason"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Asserts a 401 `invalid_id_token` whose audited cause is `cause`, with nothing of
/// the cause in the answer.
pub async fn assert_refused(app: &TestApp, token: &str, cause: &str) {
    let (status, body) = login(app, token).await;
    assert_eq!(status, 401, "{cause}: {body}");
    assert_eq!(body["error"], "invalid_id_token", "{body}");
    assert_eq!(body["error_description"], "the ID token is not valid");
    assert_eq!(last_cause(app).await, cause, "{body}");
}
