//! The embed script (`GET /embed.js`, SPEC §6), the public site configuration it
//! reads, and the demo customer site that shows both login modes in a browser.

mod asset;
pub mod config;
pub mod demo;

use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::app::AppState;

pub use asset::EmbedAsset;

/// The embed script, or 304 when the client's copy is current.
// Served from `EmbedAsset`, prepared with its ETag when the router is built.
#[utoipa::path(get, path = "/embed.js", operation_id = "embed_script", tag = "embed",
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of a cached copy")),
    responses(
        (status = 200, description = "The script, with an ETag", content_type = "application/javascript", body = String),
        (status = 304, description = "The cached copy is current"),
    ))]
pub async fn embed_script(asset: EmbedAsset, headers: HeaderMap) -> Response {
    asset::serve(asset, headers).await
}

pub fn routes() -> Router<AppState> {
    let asset = EmbedAsset::new();
    Router::new()
        .route(
            "/embed.js",
            get(move |headers| embed_script(asset.clone(), headers)),
        )
        .route(
            "/rest/v1/sites/{site_id}/embed-config",
            get(config::embed_config),
        )
}
