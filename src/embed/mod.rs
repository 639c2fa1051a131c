//! The embed script (`GET /embed.js`, SPEC §6), the public site configuration it
//! reads, and the demo customer site that shows both login modes in a browser.

mod asset;
pub mod config;
pub mod demo;

use axum::routing::get;
use axum::Router;

use crate::app::AppState;

pub use asset::EmbedAsset;

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
