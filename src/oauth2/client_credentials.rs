//! The client credentials grant (RFC 6749 §4.4): a site's server gets a bearer token.
//!
//! The key is checked in the transaction that stores the token (see `store::batch`),
//! so a token costs the request no read. Only when nothing was issued does the grant
//! look the key up, to answer with the precise error.

use secrecy::ExposeSecret;

use super::client_auth::{self, PresentedClient, AUTH_FAILED};
use super::error::{invalid_client, invalid_scope};
use super::scope::Scopes;
use super::token::TokenResponse;
use crate::app::AppState;
use crate::clock::duration_ms;
use crate::http::ApiError;
use crate::secrets::{self, TimedHash};
use crate::store::access_tokens::NewAccessToken;

/// Issue attempts: the second covers a key or site that became valid between the
/// batched check and the lookup that explains its failure.
const ATTEMPTS: usize = 2;

#[tracing::instrument(skip_all, fields(site_id = client.site_id))]
pub async fn grant(
    state: &AppState,
    client: &PresentedClient,
    scope: Option<&str>,
) -> Result<TokenResponse, ApiError> {
    let scopes = match Scopes::parse_requested(scope) {
        Ok(scopes) => scopes,
        Err(unknown) => {
            // An unauthenticated caller learns nothing about scopes (RFC 6749 §5.2 order).
            client_auth::verify(state, client).await?;
            return Err(invalid_scope(format!("unknown scope: {unknown}")));
        }
    };
    let ttl = duration_ms(state.config.access_token_ttl);
    for _ in 0..ATTEMPTS {
        let now = state.now();
        let token = secrets::new_timed_secret(now);
        let issued = state
            .store
            .issue_access_token(&NewAccessToken {
                hash: TimedHash::of(token.expose_secret()),
                key_hash: client.key_hash.clone(),
                site_id: client.site_id,
                scope: scopes.to_string(),
                issued_at: now,
                expires_at: now + ttl,
            })
            .await?;
        if issued {
            state.metrics.tokens_issued.inc();
            return Ok(TokenResponse {
                access_token: token.expose_secret().to_string(),
                token_type: "bearer",
                expires_in: ttl / 1000,
                scope: scopes.to_string(),
            });
        }
        client_auth::verify(state, client).await?;
    }
    Err(invalid_client(AUTH_FAILED))
}
