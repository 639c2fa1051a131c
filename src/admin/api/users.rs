//! `/admin/api/v1/users…`: search, create, read, change, ban, log out, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::extract::{int_param, path_id, query, Admin, AdminJson, RawQuery, Segments};
use super::{json, no_content, ok};
use crate::admin::users::{
    self, BanRequest, Ended, NewUser, SessionList, UserPage, UserPatch, UserSearch, UserView,
};
use crate::app::AppState;
use crate::http::ApiError;
use crate::store::user_admin::UserStatus;

/// Users newest first, by a case-insensitive substring of their external id, user
/// name, display name or email (or their user id), and by status.
#[utoipa::path(get, path = "/admin/api/v1/users", tag = "admin", operation_id = "admin_search_users",
    params(
        ("q" = Option<String>, Query, max_length = 255, description = "Search text"),
        ("status" = Option<UserStatus>, Query, description = "Only users in this state"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of users", body = UserPage),
        (status = 400, description = "`invalid_request` naming the parameter", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn search_users(
    State(state): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = query(&raw)?;
    let status = match params.non_empty("status") {
        None => None,
        Some(text) => Some(UserStatus::parse(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_request",
                "status: must be active, banned, inactive or deleted",
            )
        })?),
    };
    let search = UserSearch {
        q: params.get("q").map(str::to_string),
        status,
        limit: int_param(&params, "limit")?,
        cursor: params.get("cursor").map(str::to_string),
    };
    Ok(ok(&users::search(&admin.ctx(&state), &search).await?))
}

/// Creates a local user (same rules as `tessera user create`).
#[utoipa::path(post, path = "/admin/api/v1/users", tag = "admin", operation_id = "admin_create_user",
    request_body(content = NewUser, content_type = "application/json"),
    responses(
        (status = 201, description = "The user", body = UserView),
        (status = 400, description = "`invalid_request` naming the field", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 409, description = "`conflict`: the user name is taken", body = crate::openapi::ErrorSchema),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    admin: Admin,
    AdminJson(new): AdminJson<NewUser>,
) -> Result<Response, ApiError> {
    let ctx = admin.ctx(&state);
    let user = users::create(&ctx, &new, Some(&state.password.hasher)).await?;
    Ok(json(StatusCode::CREATED, &user))
}

#[utoipa::path(get, path = "/admin/api/v1/users/{user_id}", tag = "admin", operation_id = "admin_get_user",
    params(("user_id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The user, with its ban, last login and live sessions", body = UserView),
        (status = 400, description = "`invalid_request`: not an id", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn get_user(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
) -> Result<Response, ApiError> {
    let user_id = path_id(&path[0], "user_id")?;
    Ok(ok(&users::show(&admin.ctx(&state), user_id).await?))
}

/// Changes role (ends the user's console sessions) and/or active flag
/// (deactivating ends every session).
#[utoipa::path(patch, path = "/admin/api/v1/users/{user_id}", tag = "admin", operation_id = "admin_patch_user",
    params(("user_id" = i64, Path, minimum = 1)),
    request_body(content = UserPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The user as changed", body = UserView),
        (status = 400, description = "`invalid_request` naming the field", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
        (status = 409, description = "`conflict`: the user is deleted", body = crate::openapi::ErrorSchema),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn patch_user(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
    AdminJson(patch): AdminJson<UserPatch>,
) -> Result<Response, ApiError> {
    let user_id = path_id(&path[0], "user_id")?;
    Ok(ok(&users::patch(&admin.ctx(&state), user_id, &patch).await?))
}

/// Deletes the user: its sessions end, its profile is erased, its id is never reused.
#[utoipa::path(delete, path = "/admin/api/v1/users/{user_id}", tag = "admin", operation_id = "admin_delete_user",
    params(("user_id" = i64, Path, minimum = 1)),
    responses(
        (status = 204, description = "Deleted (or already deleted)"),
        (status = 400, description = "`invalid_request`: not an id", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn delete_user(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
) -> Result<Response, ApiError> {
    let user_id = path_id(&path[0], "user_id")?;
    users::delete(&admin.ctx(&state), user_id).await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/admin/api/v1/users/{user_id}/sessions", tag = "admin",
    operation_id = "admin_list_user_sessions",
    params(("user_id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The user's live sessions, newest first", body = SessionList),
        (status = 400, description = "`invalid_request`: not an id", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn list_sessions(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
) -> Result<Response, ApiError> {
    let user_id = path_id(&path[0], "user_id")?;
    Ok(ok(&users::sessions(&admin.ctx(&state), user_id).await?))
}

#[utoipa::path(delete, path = "/admin/api/v1/users/{user_id}/sessions/{session_ref}", tag = "admin",
    operation_id = "admin_end_user_session",
    params(("user_id" = i64, Path, minimum = 1), ("session_ref" = String, Path, max_length = 64)),
    responses(
        (status = 204, description = "The session ended"),
        (status = 400, description = "`invalid_request`: not an id", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn end_session(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
) -> Result<Response, ApiError> {
    let user_id = path_id(&path[0], "user_id")?;
    users::end_session(&admin.ctx(&state), user_id, &path[1]).await?;
    Ok(no_content())
}

/// Bans the user: its sessions end and its password-login JWTs are refused at once.
#[utoipa::path(post, path = "/admin/api/v1/users/{user_id}/ban", tag = "admin", operation_id = "admin_ban_user",
    params(("user_id" = i64, Path, minimum = 1)),
    request_body(content = BanRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The user, banned", body = UserView),
        (status = 400, description = "`invalid_request` naming the field", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn ban_user(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
    AdminJson(request): AdminJson<BanRequest>,
) -> Result<Response, ApiError> {
    let user_id = path_id(&path[0], "user_id")?;
    Ok(ok(&users::ban(&admin.ctx(&state), user_id, &request).await?))
}

/// Lifts the ban (a user who is not banned is left as it is).
#[utoipa::path(delete, path = "/admin/api/v1/users/{user_id}/ban", tag = "admin", operation_id = "admin_unban_user",
    params(("user_id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, description = "`invalid_request`: not an id", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn unban_user(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
) -> Result<Response, ApiError> {
    let user_id = path_id(&path[0], "user_id")?;
    let (user, _lifted) = users::unban(&admin.ctx(&state), user_id).await?;
    Ok(ok(&user))
}

/// Ends every session of the user and refuses its password-login JWTs issued so far.
#[utoipa::path(post, path = "/admin/api/v1/users/{user_id}/logout", tag = "admin", operation_id = "admin_logout_user",
    params(("user_id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "How many sessions ended", body = Ended),
        (status = 400, description = "`invalid_request`: not an id", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn logout_user(
    State(state): State<AppState>,
    admin: Admin,
    Segments(path): Segments,
) -> Result<Response, ApiError> {
    let user_id = path_id(&path[0], "user_id")?;
    Ok(ok(&users::logout(&admin.ctx(&state), user_id).await?))
}
