//! The embed script (`GET /embed.js`, SPEC §6), the public site configuration it
//! reads, and the demo customer site that shows both login modes in a browser.

mod asset;
pub mod config;
pub mod demo;

use axum::routing::get;
use axum::Router;

use crate::app::AppState;

pub use asset::EmbedAsset;

/// The embed script (documentation of the route below, which serves a prepared asset).
#[utoipa::path(get, path = "/embed.js", operation_id = "embed_script", tag = "embed",
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of a cached copy")),
    responses(
        (status = 200, description = "The script, with an ETag", content_type = "application/javascript", body = String),
        (status = 304, description = "The cached copy is current"),
    ))]
#[allow(dead_code)]
pub fn embed_script() {}

pub fn routes() -> Router<AppState> {
    let asset = EmbedAsset::new();
    Router::new()
        .route(
            "/embed.js",
            get(move |headers| asset::serve(asset.clone(), headers)),
        )
        .route(
            "/rest/v1/sites/{site_id}/embed-config",
            get(config::embed_config),
        )
}
