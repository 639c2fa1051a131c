//! `GET|PATCH /admin/api/v1/site`, `POST /admin/api/v1/site/cookie-login/test`,
//! `POST /admin/api/v1/site/id-token-login/test`.

use axum::extract::State;
use axum::response::Response;

use super::extract::{Admin, AdminJson};
use super::ok;
use crate::admin::cookie_test::{self, CookieTestReport, CookieTestRequest};
use crate::admin::id_token_test::{self, IdTokenTestReport, IdTokenTestRequest};
use crate::admin::site::{self, SitePatch, SiteView};
use crate::app::AppState;
use crate::cookie_login::patch::EndpointPolicy;
use crate::http::ApiError;

/// What the server lets cookie-login endpoints be (`--allow-private-endpoints`).
pub fn endpoint_policy(state: &AppState) -> EndpointPolicy {
    EndpointPolicy {
        allow_private: state.config.allow_private_endpoints,
    }
}

/// The site's settings (custom header values masked).
#[utoipa::path(get, path = "/admin/api/v1/site", tag = "admin", operation_id = "admin_get_site",
    responses(
        (status = 200, description = "The site", body = SiteView),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn get_site(State(state): State<AppState>, admin: Admin) -> Result<Response, ApiError> {
    Ok(ok(&site::get(&admin.ctx(&state)).await?))
}

/// Changes the fields given; validated like `tessera site configure`.
#[utoipa::path(patch, path = "/admin/api/v1/site", tag = "admin", operation_id = "admin_patch_site",
    request_body(content = SitePatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The site as changed", body = SiteView),
        (status = 400, description = "`invalid_request` naming the field; nothing changed", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn patch_site(
    State(state): State<AppState>,
    admin: Admin,
    AdminJson(patch): AdminJson<SitePatch>,
) -> Result<Response, ApiError> {
    let policy = endpoint_policy(&state);
    Ok(ok(&site::patch(&admin.ctx(&state), &patch, policy).await?))
}

/// Runs one cookie verification with the saved settings (or unsaved ones laid over
/// them) exactly as a login would, creating nothing.
#[utoipa::path(post, path = "/admin/api/v1/site/cookie-login/test", tag = "admin",
    operation_id = "admin_test_cookie_login",
    request_body(content = CookieTestRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What was sent, what came back, and what a login would answer", body = CookieTestReport),
        (status = 400, description = "`invalid_request` naming the field", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn test_cookie_login(
    State(state): State<AppState>,
    admin: Admin,
    AdminJson(request): AdminJson<CookieTestRequest>,
) -> Result<Response, ApiError> {
    let policy = endpoint_policy(&state);
    let ctx = admin.ctx(&state);
    Ok(ok(&cookie_test::run(
        &ctx,
        &state.cookie_login,
        policy,
        &request,
    )
    .await?))
}

/// Runs every check of an ID-token login on a pasted token with the saved settings,
/// using nothing up and signing no one in; says the precise cause of a refusal.
#[utoipa::path(post, path = "/admin/api/v1/site/id-token-login/test", tag = "admin",
    operation_id = "admin_test_id_token_login",
    request_body(content = IdTokenTestRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What a login with this token would answer, and why", body = IdTokenTestReport),
        (status = 400, description = "`invalid_request` naming the field (also when ID-token login is not configured)", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn test_id_token_login(
    State(state): State<AppState>,
    admin: Admin,
    AdminJson(request): AdminJson<IdTokenTestRequest>,
) -> Result<Response, ApiError> {
    let ctx = admin.ctx(&state);
    Ok(ok(
        &id_token_test::run(&ctx, &state.id_token, &request).await?
    ))
}
