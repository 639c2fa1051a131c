//! `GET /admin/api/v1/audit` and its CSV export `GET /admin/api/v1/audit.csv`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::extract::{int_param, query, Admin, RawQuery};
use super::ok;
use crate::admin::audit::{self, AuditPage, AuditQuery, CsvExport};
use crate::app::AppState;
use crate::http::ApiError;

fn audit_query(raw: &Option<String>) -> Result<AuditQuery, ApiError> {
    let params = query(raw)?;
    Ok(AuditQuery {
        limit: int_param(&params, "limit")?,
        before: int_param(&params, "before")?,
        action: params.get("action").map(str::to_string),
        user_id: int_param(&params, "user_id")?,
        outcome: params.get("outcome").map(str::to_string),
    })
}

/// The site's audit events, newest first.
#[utoipa::path(get, path = "/admin/api/v1/audit", tag = "admin", operation_id = "admin_list_audit",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Page size (default 50)"),
        ("before" = Option<i64>, Query, description = "`next_before` of the previous page"),
        ("action" = Option<String>, Query, max_length = 64, description = "e.g. `user.login`"),
        ("user_id" = Option<i64>, Query, description = "Events about this user"),
        ("outcome" = Option<String>, Query, description = "`success` or `failure`"),
    ),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, description = "`invalid_request` naming the parameter", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn list_audit(
    State(state): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = audit_query(&raw)?;
    Ok(ok(&audit::list(&admin.ctx(&state), &query).await?))
}

/// Every event the filters select (no `limit`), as CSV, streamed.
#[utoipa::path(get, path = "/admin/api/v1/audit.csv", tag = "admin", operation_id = "admin_export_audit",
    params(
        ("before" = Option<i64>, Query),
        ("action" = Option<String>, Query, max_length = 64),
        ("user_id" = Option<i64>, Query),
        ("outcome" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "CSV: event_id,at,action,actor,outcome,client_ip,user_id,detail", content_type = "text/csv", body = String),
        (status = 400, description = "`invalid_request` naming the parameter", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_token`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`insufficient_scope`, or `invalid_csrf_token` (a console session without its `X-CSRF-Token`, or cross-site)", body = crate::openapi::ErrorSchema),
    ),
    security(("bearer" = [])))]
pub async fn export_audit(
    State(state): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = audit_query(&raw)?;
    let export = CsvExport::new(&admin.ctx(&state), &query)?;
    let mut response = csv_download(export);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The export as a CSV download (the admin API's and the console's), streamed one
/// chunk per store read: memory stays at one chunk whatever the log's size.
pub fn csv_download(export: CsvExport) -> Response {
    let chunks = futures_util::stream::try_unfold(export, |mut export| async move {
        let chunk = export.next_chunk().await?;
        Ok::<_, crate::admin::AdminError>(chunk.map(|text| (text, export)))
    });
    let mut response = (StatusCode::OK, Body::from_stream(chunks)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.csv\""),
    );
    response
}
