//! Acme as its own OpenID provider (SPEC §5.3), so the ID-token flow can be watched
//! end to end: discovery, a JWKS with one Ed25519 key made when the demo starts, and
//! the `/id-token` page, where Acme's server mints an ID token for the signed-in Acme
//! user and writes it into the script tag (`data-id-token`, `data-nonce`).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

use super::pages::{esc, events_card, integration_script, layout};
use super::{DemoConfig, DemoSite, DemoUser};
use crate::clock::{Clock, SystemClock};

/// The audience Acme's ID tokens name: the client id configured on the Tessera site.
pub const CLIENT_ID: &str = "acme-news";
const KID: &str = "acme-demo-1";
/// ID tokens are minted per page view and live five minutes.
const TOKEN_LIFETIME_S: i64 = 300;

/// Acme's signing key; the private half never leaves this process.
pub struct Provider {
    key: SigningKey,
}

impl Provider {
    pub fn generate() -> Self {
        Self {
            key: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": KID,
            "x": URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
        })
    }

    /// A signed ID token for `user` (compact JWS, EdDSA).
    fn id_token(&self, config: &DemoConfig, user: &DemoUser, nonce: &str) -> String {
        let now = SystemClock.now_ms() / 1000;
        let header = json!({"alg": "EdDSA", "kid": KID, "typ": "JWT"});
        let claims = json!({
            "iss": config.public_url, "aud": CLIENT_ID, "sub": format!("acme-{}", user.username),
            "iat": now, "exp": now + TOKEN_LIFETIME_S, "nonce": nonce,
            "jti": crate::secrets::random_urlsafe(12),
            "name": user.name, "email": user.email,
            "picture": format!("{}/avatars/{}.svg", config.public_url, user.username),
        });
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// `GET /.well-known/openid-configuration`
pub async fn discovery(State(site): State<DemoSite>) -> Json<Value> {
    let issuer = &site.config().public_url;
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/oidc/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
    }))
}

/// `GET /oidc/jwks`
pub async fn jwks(State(site): State<DemoSite>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({ "keys": [site.0.oidc.jwk()] })),
    )
        .into_response()
}

/// `GET /id-token`: the widget logs in with an ID token Acme's server minted.
pub async fn page(State(site): State<DemoSite>, headers: HeaderMap) -> Html<String> {
    let user = site.current(&headers).map(|(_, u)| u);
    let config = site.config();
    let (token_attrs, note) = match user {
        Some(user) => {
            let nonce = crate::secrets::random_urlsafe(12);
            let token = site.0.oidc.id_token(config, user, &nonce);
            (
                format!(" data-id-token=\"{}\" data-nonce=\"{}\"", esc(&token), esc(&nonce)),
                format!(
                    "<p class=\"hint\">Acme's server signed this ID token (EdDSA, kid <code>{KID}</code>) \
                     and put it into the script tag:</p><pre id=\"id-token\" class=\"card\">{}</pre>",
                    esc(&token)
                ),
            )
        }
        None => (
            String::new(),
            "<p class=\"hint\">Sign in to Acme first: its server then mints an ID token for you.</p>"
                .to_string(),
        ),
    };
    let body = format!(
        "<div class=\"card\"><h2>Comments</h2><div class=\"tessera-identity\"></div>\
         <p class=\"hint\">ID-token login: Acme is its own OpenID provider (<a href=\"/.well-known/openid-configuration\">discovery</a>, \
         <a href=\"/oidc/jwks\">JWKS</a>). Tessera checks the token's signature with Acme's published key, \
         its issuer, audience <code>{CLIENT_ID}</code>, times and nonce, then signs the user in; \
         it never calls Acme back.</p>{note}</div>{events}{script}\
         <script id=\"tessera-platform\" async src=\"{base}/embed.js\" data-site=\"{site_id}\"{token_attrs}></script>",
        events = events_card(),
        script = integration_script("/id-token"),
        base = esc(&config.tessera_url),
        site_id = config.site_id,
    );
    Html(layout("ID-token login", user, "/id-token", &body))
}
