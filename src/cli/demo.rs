//! `tessera demo`: Tessera and the Acme demo customer site on two localhost ports,
//! wired together (cookie login, server-side login, and the platform's own sign-in on
//! a second site), ready to open in a browser.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{connect_store, CliError, CliResult, Missing, Output};
use crate::admin::users::NewUser;
use crate::app::{shutdown_signal, AppState, Server};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DatabaseUrl, LogFormat};
use crate::embed::demo::{self, DemoConfig, DemoSite};
use crate::store::users::Role;
use crate::store::PoolSizes;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Tessera's listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The demo customer site's listen address.
    #[arg(long, default_value = "127.0.0.1:8081")]
    site_listen: SocketAddr,
}

/// A temporary directory for the demo's SQLite file, removed when the demo stops.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn run(args: DemoArgs, database_url: Option<String>, out: &Output) -> CliResult {
    crate::telemetry::init(LogFormat::Text);
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| CliError(format!("cannot listen on {addr}: {e}")))
    };
    let public = bind(args.listen).await?;
    let site_listener = bind(args.site_listen).await?;
    let tessera_addr = public.local_addr()?;
    let site_addr = site_listener.local_addr()?;

    // Without --database-url on its own command line (TESSERA_DATABASE_URL does not
    // count) the demo starts from an empty SQLite file every time.
    let (url, _temp) = match database_url {
        Some(url) => (url, None),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "tessera-demo-{}",
                crate::secrets::random_urlsafe(6).replace(['-', '_'], "x")
            ));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}", dir.join("tessera.db").display());
            (url, Some(TempDir(dir)))
        }
    };
    let config_url = url.clone();
    let config = Config {
        listen: tessera_addr,
        metrics_listen: None,
        database_url: DatabaseUrl::new(url),
        // The demo site's verification endpoint is http:// on localhost.
        allow_private_endpoints: true,
        ..Config::default()
    };
    let store = connect_store(
        config.database_url.expose(),
        &PoolSizes::default(),
        Missing::Create,
    )
    .await?;
    store.migrate().await?;

    let tessera_url = format!("http://{tessera_addr}");
    let site_url = format!("http://{site_addr}");
    let created = demo::create_demo_site(&store, &site_url, SystemClock.now_ms()).await?;
    // A site admin for the console, so that a newcomer can open it in the first minute
    // (the demo's store is a throwaway one, so its password may be printed).
    let admin_password = crate::secrets::random_urlsafe(12);
    let admin = NewUser {
        username: "admin".into(),
        password: SecretString::from(admin_password.clone()),
        email: None,
        first_name: "Demo".into(),
        last_name: "Admin".into(),
        role: Some(Role::Admin),
    };
    crate::admin::users::create(&super::ctx(&store, created.site_id), &admin, None).await?;
    // The `/native` page's site, where the platform signs users in (SPEC §6.1).
    let native = demo::native::create_native_site(&store, &site_url, SystemClock.now_ms()).await?;
    let demo_site = DemoSite::new(DemoConfig {
        tessera_url: tessera_url.clone(),
        site_id: created.site_id,
        api_key: created.api_key.clone(),
        public_url: site_url.clone(),
        native_site_id: Some(native.site_id),
    });

    let state = AppState::new(store.clone(), config, Arc::new(SystemClock));
    let server = Server::from_listeners(state, public, None);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let site_server = tokio::spawn(async move {
        axum::serve(site_listener, demo::router(demo_site))
            .with_graceful_shutdown(async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            })
            .await
    });

    out.emit(
        serde_json::json!({
            "open": format!("{site_url}/"),
            "tessera_url": tessera_url,
            "database_url": config_url,
            "site_id": created.site_id,
            "api_key": created.api_key.expose_secret(),
            "console": format!("{tessera_url}/admin"),
            "admin_username": "admin",
            "admin_password": admin_password,
            "native_site_id": native.site_id,
            "native_username": native.username,
            "native_password": native.password.expose_secret(),
        }),
        || {
            format!(
                "Tessera demo is running.\n\n  Open {site_url}/ in a browser.\n\n  \
                 Acme News (demo customer site): {site_url}/  (users ada, grace, mallory; any password)\n  \
                 Tessera:                        {tessera_url}/  (Site ID {site}, embed script {tessera_url}/embed.js)\n  \
                 API key of the demo site:       {key}\n  \
                 Admin console:                  {tessera_url}/admin  (Site ID {site}, user admin, password {admin_password})\n  \
                 Native sign-in (Acme Community): {site_url}/native  (user {native_user}, password {native_password})\n\nPress Ctrl-C to stop.",
                site = created.site_id,
                key = created.api_key.expose_secret(),
                native_user = native.username,
                native_password = native.password.expose_secret(),
            )
        },
    );

    let result = server.run(shutdown_signal()).await;
    let _ = stop_tx.send(true);
    let _ = site_server.await;
    store.close().await;
    result.map_err(|e| CliError(format!("the server failed: {e}")))
}
