//! `/admin/api/v1/*` (SPEC §7.2): the admin service layer over HTTP, for a site's own
//! servers and tools. A Bearer access token with scope `admin` names the only site
//! the caller can see or change; JSON in and out; errors `{"error",
//! "error_description"}` with 400 `invalid_request` naming the field, 404
//! `not_found` (another site's objects look exactly like missing ones), 409 `conflict`.
//!
//! - [`extract`]: the caller, JSON bodies, query strings and path ids, strictly
//! - [`site`], [`keys`], [`sso_secrets`], [`users`], [`audit`]: the handlers, one per operation

pub mod audit;
pub mod extract;
pub mod keys;
pub mod site;
pub mod sso_secrets;
pub mod users;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::AdminError;
use crate::app::AppState;
use crate::http::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/api/v1/site",
            get(site::get_site).patch(site::patch_site),
        )
        .route(
            "/admin/api/v1/site/cookie-login/test",
            post(site::test_cookie_login),
        )
        .route(
            "/admin/api/v1/site/id-token-login/test",
            post(site::test_id_token_login),
        )
        .route(
            "/admin/api/v1/keys",
            get(keys::list_keys).post(keys::create_key),
        )
        .route("/admin/api/v1/keys/{key_id}", delete(keys::delete_key))
        .route(
            "/admin/api/v1/sso-secrets",
            get(sso_secrets::list_sso_secrets).post(sso_secrets::create_sso_secret),
        )
        .route(
            "/admin/api/v1/sso-secrets/{kid}",
            delete(sso_secrets::delete_sso_secret),
        )
        .route(
            "/admin/api/v1/users",
            get(users::search_users).post(users::create_user),
        )
        .route(
            "/admin/api/v1/users/{user_id}",
            get(users::get_user)
                .patch(users::patch_user)
                .delete(users::delete_user),
        )
        .route(
            "/admin/api/v1/users/{user_id}/sessions",
            get(users::list_sessions),
        )
        .route(
            "/admin/api/v1/users/{user_id}/sessions/{session_ref}",
            delete(users::end_session),
        )
        .route(
            "/admin/api/v1/users/{user_id}/ban",
            post(users::ban_user).delete(users::unban_user),
        )
        .route(
            "/admin/api/v1/users/{user_id}/logout",
            post(users::logout_user),
        )
        .route("/admin/api/v1/audit", get(audit::list_audit))
        .route("/admin/api/v1/audit.csv", get(audit::export_audit))
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid { field, message } => {
                ApiError::bad_request("invalid_request", format!("{field}: {message}"))
            }
            AdminError::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, "not_found", what),
            AdminError::Conflict(what) => ApiError::new(StatusCode::CONFLICT, "conflict", what),
            AdminError::Store(e) => e.into(),
            AdminError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// A JSON answer that no cache keeps (it is about one site's administration).
fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn ok<T: Serialize>(body: &T) -> Response {
    json(StatusCode::OK, body)
}

fn no_content() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
