//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::schema::{AdditionalProperties, Object, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};

/// The error bodies, documented by the types that serialize them.
pub use crate::http::error::ErrorBody as ErrorSchema;
pub use crate::password::error::FaveoErrorBody as FaveoErrorSchema;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera",
        description = "Login service for embedded platforms: OAuth 2.0 for site servers, server-side SSO, cookie login, password login with JWT."
    ),
    paths(
        crate::oauth2::token::token,
        crate::oauth2::introspect::introspect,
        crate::oauth2::revoke::revoke,
        crate::oauth2::metadata::metadata,
        crate::cookie_login::login::login_cookie,
        crate::id_token::login::login_id_token,
        crate::sso_token::login::login_sso_token,

        crate::password::authenticate::authenticate,
        crate::password::token_endpoints::authenticated_user,
        crate::password::token_endpoints::refresh,
        crate::password::token_endpoints::logout,
        crate::password::token_endpoints::jwks,
        crate::ops::healthz,
        crate::ops::readyz,
        crate::ops::openapi,
        crate::embed::config::embed_config,
        crate::embed::embed_script,
        crate::accounts::login::login,
        crate::accounts::logout::logout,
        crate::sessions::lookup::lookup,
        crate::sessions::logout::logout,
        crate::sessions::profile::change_profile,
        crate::password::session_login::login_password_session,
        crate::admin::api::site::get_site,
        crate::admin::api::site::patch_site,
        crate::admin::api::site::test_cookie_login,
        crate::admin::api::site::test_id_token_login,
        crate::admin::api::keys::list_keys,
        crate::admin::api::keys::create_key,
        crate::admin::api::keys::delete_key,
        crate::admin::api::sso_secrets::list_sso_secrets,
        crate::admin::api::sso_secrets::create_sso_secret,
        crate::admin::api::sso_secrets::delete_sso_secret,
        crate::admin::api::users::search_users,
        crate::admin::api::users::create_user,
        crate::admin::api::users::get_user,
        crate::admin::api::users::patch_user,
        crate::admin::api::users::delete_user,
        crate::admin::api::users::list_sessions,
        crate::admin::api::users::end_session,
        crate::admin::api::users::ban_user,
        crate::admin::api::users::unban_user,
        crate::admin::api::users::logout_user,
        crate::admin::api::audit::list_audit,
        crate::admin::api::audit::export_audit,
    ),
    components(schemas(ErrorSchema, FaveoErrorSchema, crate::embed::config::EmbedConfig)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "oauth2", description = "OAuth 2.0 client credentials for site servers"),
        (name = "cookie login", description = "SSO through the site's own session cookie"),
        (name = "token login", description = "SSO with an ID token of the site's OpenID provider, or a token the site's server signed"),

        (name = "password", description = "Password login with JWT (Faveo-compatible)"),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "embed", description = "The embed script and its public site configuration"),
        (name = "accounts", description = "Site servers sign their users in and out (bearer token, scope accounts)"),
        (name = "admin", description = "The admin API of one site (bearer token, scope admin)"),
        (name = "sessions", description = "Session lookup, logout and profile change for browsers (X-Tessera-Session header, CORS for the site's origins)"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in components.schemas.iter_mut() {
            if name.ends_with("Request") || name == "TokenParam" {
                extra_fields_are_strings(schema);
            }
        }
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // The Faveo API's JWT: as a Bearer token, or as `?token=` (SPEC §4.3).
        let mut jwt = Http::new(HttpAuthScheme::Bearer);
        jwt.bearer_format = Some("JWT".to_string());
        components.add_security_scheme("jwt", SecurityScheme::Http(jwt));
        components.add_security_scheme(
            "jwt_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("token"))),
        );
    }
}

/// Request bodies are forms (or JSON) whose unknown fields are ignored but whose fields
/// may not repeat (parameter pollution): extra fields are said to be single strings.
fn extra_fields_are_strings(schema: &mut RefOr<Schema>) {
    match schema {
        // A body that refuses unknown fields (`deny_unknown_fields`) already says so.
        RefOr::T(Schema::Object(object)) if object.additional_properties.is_none() => {
            object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(RefOr::T(
                Schema::Object(Object::with_type(Type::String)),
            ))));
        }
        RefOr::T(Schema::OneOf(one_of)) => {
            one_of.items.iter_mut().for_each(extra_fields_are_strings)
        }
        _ => {}
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as this server serves it: with its own public URL as the server.
pub fn document_for(public_base: &str) -> utoipa::openapi::OpenApi {
    let mut doc = document();
    doc.servers = Some(vec![utoipa::openapi::server::Server::new(public_base)]);
    doc
}
