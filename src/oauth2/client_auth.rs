//! Client authentication at the token, introspection and revocation endpoints:
//! HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1) or `client_id` and
//! `client_secret` in the body (`client_secret_post`), never both.
//! The client id is the site id; the client secret is one of the site's API keys.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use super::error::{invalid_client, invalid_request};
use crate::app::AppState;
use crate::http::form::{decode_component, Params};
use crate::http::{parse_site_id, read_body, ApiError};
use crate::secrets::SecretHash;

/// A site server that proved it holds one of the site's API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticatedClient {
    pub site_id: i64,
    pub key_id: i64,
}

/// Credentials as presented, before they are checked.
struct PresentedCredentials {
    client_id: String,
    secret: SecretString,
}

pub const AUTH_FAILED: &str = "client authentication failed";

/// Credentials parsed from a request but not yet checked: the site the caller claims
/// to be and the hash of the key it presented.
#[derive(Debug, Clone)]
pub struct PresentedClient {
    pub site_id: i64,
    pub key_hash: SecretHash,
}

/// `client_id` and `client_secret` as a form body carries them (`client_secret_post`),
/// each as sent: a field present but empty counts as sent.
#[derive(Clone, Copy)]
pub struct BodyCredentials<'a> {
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
}

impl<'a> BodyCredentials<'a> {
    pub fn of(params: &'a Params) -> Self {
        Self {
            client_id: params.get("client_id"),
            client_secret: params.get("client_secret"),
        }
    }
}

/// Parses the caller's credentials; the errors are those of a malformed request.
pub fn present(headers: &HeaderMap, body: BodyCredentials) -> Result<PresentedClient, ApiError> {
    let presented = presented_credentials(headers, body)?;
    let Some(site_id) = parse_site_id(&presented.client_id) else {
        return Err(invalid_client(AUTH_FAILED));
    };
    Ok(PresentedClient {
        site_id,
        key_hash: SecretHash::of(presented.secret.expose_secret()),
    })
}

/// Parses and checks the caller's credentials.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<AuthenticatedClient, ApiError> {
    let presented = present(headers, BodyCredentials::of(params))?;
    verify(state, &presented).await
}

/// Checks presented credentials against the store, with an error that says why they fail.
#[tracing::instrument(skip_all, fields(site_id = presented.site_id))]
pub async fn verify(
    state: &AppState,
    presented: &PresentedClient,
) -> Result<AuthenticatedClient, ApiError> {
    let site_id = presented.site_id;
    let key = state.store.find_api_key(&presented.key_hash).await?;
    let Some(key) = key else {
        tracing::info!("client authentication failed: unknown key");
        return Err(invalid_client(AUTH_FAILED));
    };
    // The hash lookup already matched; the constant-time check guards against any
    // collation or truncation surprise in the store.
    if key.site_id != site_id || !presented.key_hash.matches(&key.secret_hash) {
        tracing::info!("client authentication failed: key of another site");
        return Err(invalid_client(AUTH_FAILED));
    }
    if !key.site_active {
        tracing::info!("client authentication failed: site disabled");
        return Err(invalid_client("the site is disabled"));
    }
    let now = state.now();
    state.store.touch_api_key(&key, now).await?;
    Ok(AuthenticatedClient {
        site_id,
        key_id: key.key_id,
    })
}

/// The body of introspection and revocation (RFC 7662 §2.1, RFC 7009 §2.1), besides the
/// client's credentials.
#[derive(Debug, utoipa::ToSchema)]
pub struct TokenParam {
    /// The access token.
    #[schema(value_type = String, min_length = 1)]
    pub token: SecretString,
    /// Read and ignored: only access tokens exist, and an unknown hint is ignored too
    /// (RFC 7009 §2.1).
    #[schema(nullable = false)]
    pub token_type_hint: Option<String>,
}

/// Reads a client-authenticated form request naming a `token` (introspection and
/// revocation): the caller and the request.
pub async fn token_request(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(AuthenticatedClient, TokenParam), ApiError> {
    let body = read_body(body).await?;
    let params = Params::from_form_body(headers, &body)?;
    let client = authenticate(state, headers, &params).await?;
    let token = params
        .non_empty("token")
        .ok_or_else(|| invalid_request("token is required"))?;
    let request = TokenParam {
        token: SecretString::from(token),
        token_type_hint: params.get("token_type_hint").map(str::to_string),
    };
    Ok((client, request))
}

fn presented_credentials(
    headers: &HeaderMap,
    body: BodyCredentials,
) -> Result<PresentedCredentials, ApiError> {
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let authorization = authorizations.next();
    if authorizations.next().is_some() {
        return Err(invalid_request("more than one Authorization header"));
    }
    let in_body = body.client_id.is_some() || body.client_secret.is_some();
    match authorization {
        Some(value) => {
            if in_body {
                return Err(invalid_request(
                    "use either HTTP Basic or client_id/client_secret in the body, not both",
                ));
            }
            let value = value
                .to_str()
                .map_err(|_| invalid_client("the Authorization header is not valid ASCII"))?;
            basic_credentials(value).ok_or_else(|| {
                invalid_client("the Authorization header must be HTTP Basic with site_id:api_key")
            })
        }
        // RFC 6749 §3.1: an empty parameter is an omitted one.
        None => match (
            body.client_id.filter(|v| !v.is_empty()),
            body.client_secret.filter(|v| !v.is_empty()),
        ) {
            (Some(client_id), Some(secret)) => Ok(PresentedCredentials {
                client_id: client_id.to_string(),
                secret: SecretString::from(secret.to_string()),
            }),
            (Some(_), None) => Err(invalid_client("client_secret is required")),
            _ => Err(invalid_client(
                "client authentication is required (HTTP Basic with site_id:api_key)",
            )),
        },
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic_credentials(value: &str) -> Option<PresentedCredentials> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    let client_id = decode_component(&decoded[..colon]).ok()?;
    let secret = decode_component(&decoded[colon + 1..]).ok()?;
    Some(PresentedCredentials {
        client_id,
        secret: SecretString::from(secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        let c = basic_credentials(&basic("12:tsk_a%2Bb+c")).unwrap();
        assert_eq!(c.client_id, "12");
        assert_eq!(c.secret.expose_secret(), "tsk_a+b c");
    }

    #[test]
    fn malformed_basic_headers_are_refused() {
        assert!(basic_credentials("Bearer abc").is_none());
        assert!(basic_credentials("Basic !!!").is_none());
        assert!(basic_credentials(&basic("no-colon")).is_none());
        assert!(basic_credentials("Basic").is_none());
    }
}
