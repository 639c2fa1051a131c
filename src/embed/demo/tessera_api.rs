//! What the demo site's server asks Tessera: an access token (OAuth 2.0 client
//! credentials), then sessions for its users through the accounts API (SPEC §2, §3).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{DemoConfig, DemoUser};

pub struct TesseraApi {
    http: reqwest::Client,
    base: String,
    site_id: i64,
    api_key: SecretString,
    /// The current access token and when to stop using it.
    token: Mutex<Option<(SecretString, Instant)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TesseraApiError {
    #[error("Tessera could not be reached: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("Tessera answered {status} to {what}: {body}")]
    Refused {
        what: &'static str,
        status: u16,
        body: String,
    },
}

impl TesseraApi {
    pub fn new(config: &DemoConfig) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            base: config.tessera_url.clone(),
            site_id: config.site_id,
            api_key: config.api_key.clone(),
            token: Mutex::new(None),
        }
    }

    async fn token(&self) -> Result<SecretString, TesseraApiError> {
        if let Some((token, until)) = self
            .token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth(self.site_id, Some(self.api_key.expose_secret()))
            .form(&[("grant_type", "client_credentials"), ("scope", "accounts")])
            .send()
            .await?;
        let body = checked(response, "the token request").await?;
        let token = SecretString::from(body["access_token"].as_str().unwrap_or_default());
        let lifetime = body["expires_in"].as_u64().unwrap_or(60);
        // Renew a minute early so a token never expires between check and use.
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60));
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some((token.clone(), until));
        Ok(token)
    }

    /// Starts a platform session for `user`: `(user_id, session)`.
    pub async fn login(&self, user: &DemoUser) -> Result<(i64, String), TesseraApiError> {
        let token = self.token().await?;
        let id = format!("acme-{}", user.username);
        let response = self
            .http
            .post(format!("{}/rest/v1/accounts/login", self.base))
            .bearer_auth(token.expose_secret())
            .form(&[
                ("id", id.as_str()),
                ("name", user.name),
                ("email", user.email),
            ])
            .send()
            .await?;
        let body = checked(response, "the accounts login").await?;
        let user_id = body["user_id"].as_i64().unwrap_or_default();
        let session = body["session"].as_str().unwrap_or_default().to_string();
        Ok((user_id, session))
    }

    /// Ends a platform session (idempotent on Tessera's side).
    pub async fn logout(&self, session: &SecretString) -> Result<(), TesseraApiError> {
        let token = self.token().await?;
        let response = self
            .http
            .post(format!("{}/rest/v1/accounts/logout", self.base))
            .bearer_auth(token.expose_secret())
            .form(&[("session", session.expose_secret())])
            .send()
            .await?;
        checked(response, "the accounts logout").await.map(|_| ())
    }
}

async fn checked(
    response: reqwest::Response,
    what: &'static str,
) -> Result<Value, TesseraApiError> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(TesseraApiError::Refused {
            what,
            status: status.as_u16(),
            body: body.to_string(),
        })
    }
}
