//! The application: shared state, the router, and a server whose listeners and
//! shutdown signal are injected (port 0 and a oneshot in tests, flags and SIGTERM
//! in production).

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::http::{self, metrics::Metrics};
use crate::store::Store;
use crate::{
    accounts, admin, console, cookie_login, embed, id_token, oauth2, ops, password, purge,
    sessions, sso_token,
};

pub struct AppInner {
    pub store: Store,
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// The shared outgoing client of cookie login, with its per-site limits.
    pub cookie_login: cookie_login::Verifier,
    /// The OpenID providers' signing keys of ID-token login, fetched through the
    /// same guarded client code as cookie login.
    pub id_token: id_token::KeyCache,
    /// The password-hashing pool and JWT signing keys.
    pub password: password::PasswordState,
}

/// State shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, config: Config, clock: Arc<dyn Clock>) -> Self {
        let password = password::PasswordState::new(&config);
        Self(Arc::new(AppInner {
            store,
            cookie_login: cookie_login::Verifier::with_clock(
                config.allow_private_endpoints,
                cookie_login::limits::SiteLimits::new(cookie_login::limiter::LimitSettings {
                    floor: config.cookie_login_limit_floor,
                    ceiling: config.cookie_login_limit_ceiling,
                    ..Default::default()
                }),
                clock.clone(),
            ),
            id_token: id_token::KeyCache::new(config.allow_private_endpoints),
            config,
            clock,
            metrics: Metrics::default(),
            password,
        }))
    }

    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }
}

/// Every public endpoint, with the layers each request goes through.
///
/// The outer layers wrap the routed service once. `Router::layer` would instead wrap
/// every route again per layer, each wrap costing a boxed clone of the service and a
/// boxed future per request: about 4 µs of a 20 µs request, on every endpoint.
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new()
        .merge(oauth2::routes())
        .merge(ops::routes())
        .merge(accounts::routes())
        .merge(sessions::routes())
        .merge(cookie_login::routes())
        .merge(id_token::routes())
        .merge(sso_token::routes())
        .merge(password::routes())
        .merge(embed::routes())
        .merge(admin::api::routes())
        .merge(console::routes(&state));
    if state.config.metrics_listen.is_none() {
        routes = routes.route("/metrics", get(http::metrics::render));
    }
    let routes = routes
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        // A router layer: it labels each request with the route template it matched.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::metrics::track,
        ))
        .with_state(state);
    let layered = ServiceBuilder::new()
        .layer(http::request_context::RequestContextLayer)
        .layer(CatchPanicLayer::custom(|_| {
            http::error::internal_error_response()
        }))
        .service(routes);
    Router::new().fallback_service(layered)
}

/// The separate listener for Prometheus scrapes.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(http::metrics::render))
        .with_state(state)
}

/// A listener that could not be bound, with the address and the setting to change.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} for the {which}: {source}")]
pub struct BindError {
    pub addr: SocketAddr,
    pub which: &'static str,
    pub source: std::io::Error,
}

async fn listen(addr: SocketAddr, which: &'static str) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|source| BindError {
        addr,
        which,
        source,
    })
}

/// A bound, not yet running server.
pub struct Server {
    state: AppState,
    public: TcpListener,
    metrics: Option<TcpListener>,
}

impl Server {
    /// Binds the listeners named by the configuration; an error names the address and
    /// the setting it came from (two servers usually collide on the metrics port).
    pub async fn bind(state: AppState) -> Result<Self, BindError> {
        let public = listen(state.config.listen, "public listener (listen, --listen)").await?;
        let metrics = match state.config.metrics_listen {
            Some(addr) => {
                Some(listen(addr, "metrics listener (metrics_listen, --metrics-listen)").await?)
            }
            None => None,
        };
        Ok(Self::from_listeners(state, public, metrics))
    }

    /// Uses listeners bound by the caller (tests bind port 0).
    pub fn from_listeners(
        state: AppState,
        public: TcpListener,
        metrics: Option<TcpListener>,
    ) -> Self {
        Self {
            state,
            public,
            metrics,
        }
    }

    pub fn public_addr(&self) -> std::io::Result<SocketAddr> {
        self.public.local_addr()
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets requests in flight finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        // `tessera site configure` (another process) checks endpoints by this record.
        let allowed = self.state.config.allow_private_endpoints;
        if let Err(e) = self
            .state
            .store
            .record_private_endpoints_policy(allowed, self.state.now())
            .await
        {
            tracing::warn!(error = %e, "could not record the private-endpoints policy");
        }
        let limits = http::server::Limits::of(&self.state.config);
        let purger = tokio::spawn(purge::run(self.state.clone(), stop_rx.clone()));
        let metrics_server = self.metrics.map(|listener| {
            let app = metrics_router(self.state.clone());
            tokio::spawn(http::server::serve(listener, app, limits, stop_rx.clone()))
        });
        let app = router(self.state.clone());
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = stop_tx.send(true);
        });
        let result = http::server::serve(self.public, app, limits, stop_rx).await;
        if let Some(handle) = metrics_server {
            let _ = handle.await;
        }
        let _ = purger.await;
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
