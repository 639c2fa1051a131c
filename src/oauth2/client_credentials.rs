//! The client credentials grant (RFC 6749 §4.4): a site's server gets a bearer token.

use secrecy::ExposeSecret;

use super::client_auth::AuthenticatedClient;
use super::error::{invalid_client, invalid_scope};
use super::scope::Scopes;
use super::token::TokenResponse;
use crate::app::AppState;
use crate::clock::duration_ms;
use crate::http::form::Params;
use crate::http::ApiError;
use crate::secrets::{self, TimedHash};
use crate::store::access_tokens::NewAccessToken;

#[tracing::instrument(skip_all, fields(site_id = client.site_id))]
pub async fn grant(
    state: &AppState,
    client: AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, ApiError> {
    let scopes = Scopes::parse_requested(params.get("scope"))
        .map_err(|unknown| invalid_scope(format!("unknown scope: {unknown}")))?;
    let now = state.now();
    let token = secrets::new_timed_secret(now);
    let ttl = duration_ms(state.config.access_token_ttl);
    let stored = state
        .store
        .insert_access_token(&NewAccessToken {
            hash: TimedHash::of(token.expose_secret()),
            site_id: client.site_id,
            key_id: client.key_id,
            scope: scopes.to_string(),
            issued_at: now,
            expires_at: now + ttl,
        })
        .await;
    match stored {
        // The key was deleted between authentication and now.
        Err(e) if e.is_foreign_key_violation() => {
            return Err(invalid_client("client authentication failed"))
        }
        other => other?,
    }
    state.metrics.tokens_issued.inc();
    Ok(TokenResponse {
        access_token: token.expose_secret().to_string(),
        token_type: "bearer",
        expires_in: ttl / 1000,
        scope: scopes.to_string(),
    })
}
