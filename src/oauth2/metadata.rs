//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::scope::Scope;
use crate::app::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerMetadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    /// No authorization endpoint: only the client credentials grant is offered.
    pub response_types_supported: Vec<&'static str>,
    pub scopes_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub service_documentation: String,
}

#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server", operation_id = "oauth2_metadata",
    tag = "oauth2",
    responses((status = 200, description = "Authorization server metadata", body = ServerMetadata))
)]
pub async fn metadata(State(state): State<AppState>) -> Json<ServerMetadata> {
    let base = state.config.public_base();
    let auth_methods = vec!["client_secret_basic", "client_secret_post"];
    Json(ServerMetadata {
        issuer: base.clone(),
        token_endpoint: format!("{base}/oauth2/token"),
        introspection_endpoint: format!("{base}/oauth2/introspect"),
        revocation_endpoint: format!("{base}/oauth2/revoke"),
        grant_types_supported: vec!["client_credentials"],
        response_types_supported: vec![],
        scopes_supported: Scope::ALL.iter().map(|s| s.as_str()).collect(),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        introspection_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods,
        service_documentation: format!("{base}/openapi.json"),
    })
}
