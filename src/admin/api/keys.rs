//! `GET|POST /admin/api/v1/keys`, `DELETE /admin/api/v1/keys/{key_id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::extract::{path_id, Admin, AdminJson, Segments};
use super::{json, no_content, ok};
use crate::admin::keys::{self, CreatedKey, KeyList, NewKey};
use crate::app::AppState;
use crate::http::ApiError;

#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "admin", operation_id = "admin_list_keys",
    responses(
        (status = 200, description = "The site's keys (never their secrets)", body = KeyList),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn list_keys(State(state): State<AppState>, admin: Admin) -> Result<Response, ApiError> {
    Ok(ok(&keys::list(&admin.ctx(&state)).await?))
}

/// Creates a key; the answer is the only time its secret is shown.
#[utoipa::path(post, path = "/admin/api/v1/keys", tag = "admin", operation_id = "admin_create_key",
    request_body(content = NewKey, content_type = "application/json"),
    responses(
        (status = 201, description = "The key, with its secret (shown once)", body = CreatedKey),
        (status = 400, description = "`invalid_request` naming the field", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    admin: Admin,
    AdminJson(new): AdminJson<NewKey>,
) -> Result<Response, ApiError> {
    let created = keys::create(&admin.ctx(&state), &new).await?;
    Ok(json(StatusCode::CREATED, &created))
}

/// Deletes a key and revokes every access token minted with it (the calling
/// token too, once this answer is sent).
#[utoipa::path(delete, path = "/admin/api/v1/keys/{key_id}", tag = "admin", operation_id = "admin_delete_key",
    params(("key_id" = i64, Path, minimum = 1, description = "The key's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`invalid_request`: not an id", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn delete_key(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
) -> Result<Response, ApiError> {
    let key_id = path_id(&path[0], "key_id")?;
    keys::delete(&admin.ctx(&state), key_id).await?;
    Ok(no_content())
}
