//! The test harness: a real server on port 0 over a fresh database per test,
//! on SQLite (a temporary file) and on PostgreSQL (a new database on the local server).

use std::future::Future;
use std::io::Write as _;
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::Value;
use sqlx::Connection;
use tessera::app::{AppState, Server};
use tessera::clock::{Clock, ManualClock};
use tessera::config::{Config, DatabaseUrl};
use tessera::store::audit::Actor;
use tessera::store::{PoolSizes, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `test` once per backend as two tests: `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! both_stores {
    ($(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::helpers::with_app($crate::helpers::Backend::Sqlite, concat!(module_path!(), "::sqlite"), |$app| async move $body).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::helpers::with_app($crate::helpers::Backend::Postgres, concat!(module_path!(), "::postgres"), |$app| async move $body).await
            }
        }
    )*};
}

/// Same as `both_stores!` for tests that need only a database URL (CLI tests).
#[macro_export]
macro_rules! both_databases {
    ($(async fn $name:ident($db:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::helpers::with_db($crate::helpers::Backend::Sqlite, concat!(module_path!(), "::sqlite"), |$db| async move $body).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::helpers::with_db($crate::helpers::Backend::Postgres, concat!(module_path!(), "::postgres"), |$db| async move $body).await
            }
        }
    )*};
}

/// A fresh, empty database.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>, // (admin url, database name)
}

fn pg_base_url() -> String {
    std::env::var("TESSERA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn pg_required() -> bool {
    std::env::var("TESSERA_REQUIRE_PG").is_ok_and(|v| v == "1" || v == "true")
}

impl TestDb {
    /// `None` when PostgreSQL is unreachable and not required (the test is then skipped, loudly).
    pub async fn create(backend: Backend, test_name: &str) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
                Some(TestDb {
                    url,
                    backend,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Backend::Postgres => {
                let admin_url = format!("{}/postgres", pg_base_url().trim_end_matches('/'));
                let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
                    Ok(conn) => conn,
                    Err(e) if !pg_required() => {
                        // Written past libtest's output capture, so it is seen even when the test "passes".
                        let _ = writeln!(
                            std::io::stderr(),
                            "SKIPPED {test_name}: PostgreSQL unreachable at {admin_url} ({e}); set TESSERA_REQUIRE_PG=1 to fail instead"
                        );
                        return None;
                    }
                    Err(e) => panic!("PostgreSQL is required (TESSERA_REQUIRE_PG) but unreachable at {admin_url}: {e}"),
                };
                let name = format!(
                    "tessera_test_{}",
                    tessera::secrets::random_urlsafe(9)
                        .to_lowercase()
                        .replace(['-', '_'], "x")
                );
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = format!("{}/{name}", pg_base_url().trim_end_matches('/'));
                Some(TestDb {
                    url,
                    backend,
                    _dir: None,
                    pg: Some((admin_url, name)),
                })
            }
        }
    }

    pub async fn open_store(&self) -> Store {
        open_store(&self.url).await
    }

    /// Drops a PostgreSQL test database (SQLite files go with their temp dir).
    pub async fn destroy(self) {
        if let Some((admin_url, name)) = &self.pg {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

async fn open_store(url: &str) -> Store {
    let sizes = PoolSizes {
        sqlite_readers: 4,
        postgres: 8,
    };
    Store::open(url, &sizes).await.expect("open test store")
}

/// A running server with its store, clock and first site.
pub struct TestApp {
    pub base: String,
    pub metrics_base: String,
    pub store: Store,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    pub site_id: i64,
    pub key_id: i64,
    pub api_key: String,
    config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The configuration every test server starts from.
pub fn test_config(db: &TestDb) -> Config {
    Config {
        database_url: DatabaseUrl::new(db.url.clone()),
        allow_private_endpoints: true,
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn(db: &TestDb, config: Config) -> TestApp {
        let store = db.open_store().await.with_node_cache(&config.node_cache());
        Self::spawn_on_store(store, ManualClock::starting_now(), config).await
    }

    /// Another node on the same database, sharing this node's clock (its own first site).
    pub async fn spawn_peer(&self) -> TestApp {
        let store = open_store(self.config.database_url.expose())
            .await
            .with_node_cache(&self.config.node_cache());
        Self::spawn_on_store(store, self.clock.clone(), self.config.clone()).await
    }

    async fn spawn_on_store(store: Store, clock: ManualClock, config: Config) -> TestApp {
        let created = store
            .create_site(
                "Test site",
                &["http://127.0.0.1:9".to_string()],
                clock.now_ms(),
                &Actor::Cli,
            )
            .await
            .expect("create site");
        let public = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let metrics = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind metrics");
        let base = format!("http://{}", public.local_addr().unwrap());
        let metrics_base = format!("http://{}", metrics.local_addr().unwrap());
        let config = Config {
            listen: public.local_addr().unwrap(),
            metrics_listen: Some(metrics.local_addr().unwrap()),
            ..config
        };
        let state = AppState::new(store.clone(), config.clone(), Arc::new(clock.clone()));
        let server = Server::from_listeners(state, public, Some(metrics));
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            metrics_base,
            store,
            clock,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            site_id: created.site_id,
            key_id: created.key_id,
            api_key: created.api_key.expose_secret().to_string(),
            config,
            shutdown: Some(tx),
            server: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The database URL, for opening the same store as another process would.
    pub fn store_url(&self) -> String {
        self.config.database_url.expose().to_string()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            handle.await.expect("server task").expect("server result");
        }
        self.store.close().await;
    }

    /// POSTs a form to `path` with HTTP Basic `site_id:api_key`.
    pub async fn post_form_basic(
        &self,
        path: &str,
        user: &str,
        password: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .basic_auth(user, Some(password))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// A fresh access token of the test site with `scope`.
    pub async fn token(&self, scope: &str) -> String {
        let site = self.site_id.to_string();
        let response = self
            .post_form_basic(
                "/oauth2/token",
                &site,
                &self.api_key,
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(response.status(), 200, "token request failed");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Spawns an app on a fresh database of `backend`, runs `test`, and cleans up even if it panics.
pub async fn with_app<F, Fut>(backend: Backend, test_name: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_db(backend, test_name, |db| async move {
        let app = TestApp::spawn(&db, test_config(&db)).await;
        // `db` must outlive the test (its temp dir holds the SQLite file).
        let result = tokio::spawn(test(app)).await;
        drop(db);
        if let Err(e) = result {
            std::panic::resume_unwind(e.into_panic());
        }
    })
    .await
}

/// Runs `test` with a fresh database of `backend`, dropped afterwards even on panic.
pub async fn with_db<F, Fut>(backend: Backend, test_name: &str, test: F)
where
    F: FnOnce(Arc<TestDb>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = TestDb::create(backend, test_name).await else {
        return;
    };
    let db = Arc::new(db);
    let result = tokio::spawn(test(db.clone())).await;
    if let Ok(db) = Arc::try_unwrap(db) {
        db.destroy().await;
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs statements (each ending with `;`) straight on a test database, as another
/// process would.
pub async fn sql(url: &str, statements: &str) {
    let statements = statements
        .split_terminator(';')
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        for statement in statements {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        for statement in statements {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
    }
}
