//! Password login with JWT (SPEC §4): the Faveo-compatible API, tokens checked by an
//! independent JWT library against our JWKS, brute-force limits, the CLI.

mod cli;
mod limits;
mod login;
mod purge;
mod tokens;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::Connection;
use tessera::clock::Clock;
use tessera::config::Config;
use tessera::store::audit::Actor;
use tessera::store::users::NewLocalUser;

use crate::helpers::{test_config, Backend, TestApp, TestDb};

pub const PASSWORD: &str = "correct horse battery staple";

/// A server whose default site is its first site (id 1).
pub async fn spawn(db: &TestDb) -> TestApp {
    spawn_with(db, |_| {}).await
}

pub async fn spawn_with(db: &TestDb, edit: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config {
        default_site_id: Some(1),
        ..test_config(db)
    };
    edit(&mut config);
    TestApp::spawn(db, config).await
}

/// Creates a local user on `site_id` with `password`; returns the user id.
pub async fn create_user(
    app: &TestApp,
    site_id: i64,
    username: &str,
    email: Option<&str>,
    password: &str,
) -> i64 {
    let hash = tessera::password::hashing::hash_password(&SecretString::from(password.to_string()))
        .expect("hash");
    let user = NewLocalUser {
        site_id,
        username: username.into(),
        email: email.map(str::to_string),
        first_name: "Demo".into(),
        last_name: "Admin".into(),
        role: "admin".into(),
        password_hash: hash,
    };
    app.store
        .create_local_user(&user, app.clock.now_ms(), &Actor::Cli)
        .await
        .expect("create user")
        .expect("user name free")
}

/// A response reduced to what the tests look at.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// Asserts a Faveo error: HTTP status equals `status_code`, and `Error` is `error`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) {
        let body = self.json();
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(body["Error"], error, "{}", self.text);
        assert_eq!(body["status_code"], status, "{}", self.text);
    }

    pub async fn of(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        Answer {
            status,
            retry_after,
            text: response.text().await.unwrap(),
        }
    }
}

/// `POST /api/v1/authenticate` with a form body.
pub async fn login(app: &TestApp, form: &[(&str, &str)]) -> Answer {
    let response = app
        .client
        .post(app.url("/api/v1/authenticate"))
        .form(form)
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

/// Logs in with the default site and returns the token.
pub async fn token_for(app: &TestApp, username: &str, password: &str) -> String {
    let answer = login(app, &[("username", username), ("password", password)]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["token"].as_str().unwrap().to_string()
}

/// `GET /api/v1/authenticate/user` with a Bearer token.
pub async fn me(app: &TestApp, token: &str) -> Answer {
    let response = app
        .client
        .get(app.url("/api/v1/authenticate/user"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

/// `POST` to `path` (refresh, logout) with a Bearer token.
pub async fn post_token(app: &TestApp, path: &str, token: &str) -> Answer {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

pub async fn jwks(app: &TestApp) -> JwkSet {
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Verifies `token` with the jsonwebtoken crate against the server's JWKS.
pub async fn verify_independently(app: &TestApp, token: &str) -> Value {
    let set = jwks(app).await;
    let header = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.expect("kid");
    let jwk = set.find(&kid).expect("kid published in the JWKS");
    let key = DecodingKey::from_jwk(jwk).expect("usable JWK");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[app.url("/api/v1/authenticate")]);
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "sub", "jti"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("token verifies with the JWKS")
        .claims
}

/// Runs one statement straight on the test database.
pub async fn sql(db: &TestDb, statement: &str) {
    crate::helpers::sql(&db.url, statement).await;
}

/// One integer straight from the test database.
pub async fn sql_i64(db: &TestDb, query: &str) -> i64 {
    match db.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(query)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(query)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    }
}
