//! A site's cookie-verification endpoint for benchmarks (bench/cookie_login.sh):
//! `GET /ok?sid=X` answers at once with user X; `GET /slow?sid=X` after 50 ms (a
//! healthy site under load); `GET /hang?sid=X` never answers.
//!
//! ```sh
//! cargo run --release --example cookie_endpoint -- 127.0.0.1:18090
//! ```

use axum::extract::RawQuery;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

async fn ok(RawQuery(query): RawQuery) -> Json<Value> {
    let sid = query
        .as_deref()
        .and_then(|q| q.strip_prefix("sid="))
        .unwrap_or("anonymous")
        .to_string();
    Json(json!({
        "uid": sid,
        "displayName": format!("User {sid}"),
        "email": format!("{sid}@bench.example"),
        "error": "",
        "photoURL": "",
    }))
}

async fn slow(query: RawQuery) -> Json<Value> {
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    ok(query).await
}

async fn hang() -> &'static str {
    std::future::pending::<()>().await;
    unreachable!("a pending future never completes")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".into());
    let app = Router::new()
        .route("/ok", get(ok))
        .route("/slow", get(slow))
        .route("/hang", get(hang));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("cookie endpoint on http://{listen} (/ok, /slow, /hang)");
    axum::serve(listener, app).await
}
