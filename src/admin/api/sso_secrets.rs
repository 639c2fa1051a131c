//! `GET|POST /admin/api/v1/sso-secrets`, `DELETE /admin/api/v1/sso-secrets/{kid}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::extract::{Admin, Segments};
use super::{json, no_content, ok};
use crate::admin::sso_secrets::{self, CreatedSsoSecret, SsoSecretList};
use crate::app::AppState;
use crate::http::ApiError;

#[utoipa::path(get, path = "/admin/api/v1/sso-secrets", tag = "admin",
    operation_id = "admin_list_sso_secrets",
    responses(
        (status = 200, description = "The site's signed-token SSO secrets (never their values)", body = SsoSecretList),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn list_sso_secrets(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Response, ApiError> {
    Ok(ok(&sso_secrets::list(&admin.ctx(&state)).await?))
}

/// Creates a secret; the answer is the only time it is shown.
#[utoipa::path(post, path = "/admin/api/v1/sso-secrets", tag = "admin",
    operation_id = "admin_create_sso_secret",
    responses(
        (status = 201, description = "The secret and its kid (shown once)", body = CreatedSsoSecret),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 409, description = "`conflict`: the site already has two secrets", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn create_sso_secret(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Response, ApiError> {
    let created = sso_secrets::create(&admin.ctx(&state)).await?;
    Ok(json(StatusCode::CREATED, &created))
}

/// Deletes a secret: tokens signed with it are refused from now on.
#[utoipa::path(delete, path = "/admin/api/v1/sso-secrets/{kid}", tag = "admin",
    operation_id = "admin_delete_sso_secret",
    params(("kid" = String, Path, description = "The secret's kid")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`invalid_request`: the path is not valid UTF-8", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn delete_sso_secret(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
) -> Result<Response, ApiError> {
    sso_secrets::delete(&admin.ctx(&state), &path[0]).await?;
    Ok(no_content())
}
