//! The admin console (SPEC §7.3): server-rendered HTML for a site's admins, over the
//! same service layer as the CLI and the admin JSON API ([`crate::admin`]).
//!
//! - [`session`]: log in and out, the `tessera_admin` cookie, CSRF and origin checks
//! - [`page`]: the layout, flash messages, forms, error pages and security headers
//! - [`keys`], [`authentication`] (with [`token_login`]), [`general`], [`users`],
//!   [`audit`]: one page each
//! - [`assets`]: the stylesheet and the small progressive script
//!
//! Templates live in `templates/console/` and are checked at compile time (askama);
//! every value is HTML-escaped. No page needs JavaScript.

pub mod assets;
pub mod audit;
pub mod authentication;
pub mod general;
pub mod keys;
pub mod page;
pub mod session;
pub mod token_login;
pub mod users;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::Router;

use crate::app::AppState;

/// Every console route, with the console's security headers on every answer and the
/// navigation bar on the error pages of a logged-in admin.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/admin", get(root))
        .route("/admin/", get(root))
        .route(
            "/admin/login",
            get(session::login_page).post(session::login),
        )
        .route("/admin/logout", post(session::logout))
        .route("/admin/static/console.css", get(assets::css))
        .route("/admin/static/console.js", get(assets::js))
        .route("/admin/keys", get(keys::page).post(keys::create))
        .route(
            "/admin/keys/{key_id}/delete",
            get(keys::confirm_delete).post(keys::delete),
        )
        .route(
            "/admin/authentication",
            get(authentication::page).post(authentication::save),
        )
        .route("/admin/authentication/test", post(authentication::test))
        .route(
            "/admin/authentication/tokens",
            get(token_login::page).post(token_login::save),
        )
        .route("/admin/authentication/tokens/test", post(token_login::test))
        .route(
            "/admin/authentication/sso-secrets",
            post(token_login::create_secret),
        )
        .route(
            "/admin/authentication/sso-secrets/{kid}/delete",
            get(token_login::confirm_delete_secret).post(token_login::delete_secret),
        )
        .route("/admin/general", get(general::page).post(general::save))
        .route("/admin/users", get(users::list))
        .route("/admin/users/{user_id}", get(users::show))
        .route("/admin/users/{user_id}/ban", post(users::ban))
        .route("/admin/users/{user_id}/unban", post(users::unban))
        .route("/admin/users/{user_id}/activate", post(users::activate))
        .route(
            "/admin/users/{user_id}/deactivate",
            get(users::confirm_deactivate).post(users::deactivate),
        )
        .route(
            "/admin/users/{user_id}/logout",
            get(users::confirm_logout).post(users::logout),
        )
        .route(
            "/admin/users/{user_id}/delete",
            get(users::confirm_delete).post(users::delete),
        )
        .route(
            "/admin/users/{user_id}/sessions/{session_ref}/end",
            post(users::end_session),
        )
        .route("/admin/audit", get(audit::page))
        .route("/admin/audit.csv", get(audit::csv))
        .route("/admin/{*rest}", any(page::not_found))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page::with_nav,
        ))
        .layer(axum::middleware::map_response(page::security_headers))
}

/// `GET /admin`: the keys page when logged in, else the login form.
async fn root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session::lookup(&state, &headers).await {
        Ok(Some(_)) => Redirect::to("/admin/keys").into_response(),
        Ok(None) => Redirect::to("/admin/login").into_response(),
        Err(e) => page::ConsoleError::from(e).into_response(),
    }
}
