//! Persistence on SQLite (embedded default) or PostgreSQL (shared by many nodes).
//!
//! Every query is written once, with `$1` placeholders, and runs on both backends:
//! the [`on_store!`] macro expands a query body once per backend so that each
//! expansion is type-checked against its own driver. Times are epoch milliseconds.
//!
//! SQLite gets two pools: many read-only connections and exactly one writer, so
//! writers queue in the pool instead of fighting over the database lock
//! (`SQLITE_BUSY`), and WAL lets readers proceed while the writer commits.

pub mod access_tokens;
pub mod api_keys;
pub mod audit;
mod batch;
mod checkpoint;
mod direct;
pub mod installation;
mod node_cache;

pub mod jwt_keys;
pub mod login_failures;
pub mod logins;
pub mod passwords;
pub mod revoked_jwts;
pub mod sessions;
pub mod sites;
pub mod sso_secrets;
mod trigrams;
pub mod used_tokens;
pub mod user_admin;
pub mod user_status;
pub mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use node_cache::NodeCacheSettings;
use rusqlite::ffi;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Runs `body` with `pool` bound to the backend's pool for reads or for writes.
///
/// The body is duplicated at compile time (once per driver), never at run time.
macro_rules! on_store {
    // Written `on_store!(store, read, |pool| body)`: a closure-like form that rustfmt
    // lays out like any closure.
    ($store:expr, read, |$pool:ident| $body:expr) => {
        $crate::store::on_store!($store, read | $pool | $body)
    };
    ($store:expr, write, |$pool:ident| $body:expr) => {
        $crate::store::on_store!($store, write | $pool | $body)
    };
    ($store:expr, read |$pool:ident| $body:expr) => {
        match $store.backend() {
            $crate::store::Backend::Sqlite { reader: $pool, .. } => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
    ($store:expr, write |$pool:ident| $body:expr) => {
        match $store.backend() {
            $crate::store::Backend::Sqlite {
                writer: $pool,
                write_gate,
                ..
            } => {
                // Taken for the whole body: see `Backend::Sqlite::write_gate`.
                let _turn = write_gate.lock().await;
                $body
            }
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_store;

/// A change and its audit events, all or nothing; then this node's cache settled.
///
/// Written `audited_change!(store, |tx| body)`: `body` runs in a write transaction `tx`
/// and yields `(value, events)`, `events` being any iterator of audit events (mostly an
/// `Option`). With at least one event, the events are written and everything commits;
/// with none, the change did not happen (no such row, nothing to change) and the
/// transaction is rolled back. Either way [`Store::settle_node_cache`] runs before
/// `value` is returned, so that this node at once refuses what the change ended.
macro_rules! audited_change {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let store: &$crate::store::Store = &$store;
        let value = $crate::store::on_store!(store, write, |pool| {
            let mut $tx = $crate::store::BeginWrite::begin_write(pool).await?;
            let (value, events) = $body;
            let mut changed = false;
            // Mostly an `Option`; an array where a change has several events.
            #[allow(for_loops_over_fallibles)]
            for event in events {
                let event: &$crate::store::audit::NewAuditEvent =
                    ::std::borrow::Borrow::borrow(&event);
                $crate::store::audit::insert_query(event)
                    .execute(&mut *$tx)
                    .await?;
                changed = true;
            }
            if changed {
                $tx.commit().await?;
            }
            value
        });
        store.settle_node_cache().await;
        value
    }};
}
pub(crate) use audited_change;

/// A transaction of the write pool, begun.
type Begun<DB> = sqlx::Result<sqlx::Transaction<'static, DB>>;

/// Opens a transaction that will write, on either backend's write pool.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(&self) -> impl std::future::Future<Output = Begun<Self::Db>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    /// `BEGIN IMMEDIATE` takes the file's write lock first, waiting for it within the busy
    /// timeout. A plain (deferred) transaction that reads before it writes cannot wait:
    /// when another connection committed after its first read (another node or the CLI on
    /// the same file), SQLite refuses its first write at once with `SQLITE_BUSY_SNAPSHOT`,
    /// whatever the timeout (the store's answer was a 500).
    fn begin_write(&self) -> impl std::future::Future<Output = Begun<sqlx::Sqlite>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(&self) -> impl std::future::Future<Output = Begun<sqlx::Postgres>> + Send {
        self.begin()
    }
}

/// One optional row selected by `$sql`: read inline on a SQLite file (see `direct`),
/// else through the read pool; the very same SQL and binds on both paths (a test
/// compares them). `as Row, from_direct` maps a row type (`sqlx::FromRow` on the pool,
/// `from_direct` on rusqlite); `scalar T` reads the first column.
macro_rules! read_optional {
    ($store:expr, $sql:expr, as $row:ty, $direct:expr, ($($arg:expr),+ $(,)?)) => {
        match $store.direct_row($sql, ($($arg,)+), $direct) {
            Some(found) => found,
            None => $crate::store::on_store!($store, read, |pool| {
                sqlx::query_as::<_, $row>($sql)$(.bind($arg))+.fetch_optional(pool).await?
            }),
        }
    };
    ($store:expr, $sql:expr, scalar $t:ty, ($($arg:expr),+ $(,)?)) => {
        match $store.direct_row($sql, ($($arg,)+), |r| r.get::<_, $t>(0)) {
            Some(found) => found,
            None => $crate::store::on_store!($store, read, |pool| {
                sqlx::query_scalar::<_, $t>($sql)$(.bind($arg))+.fetch_optional(pool).await?
            }),
        }
    };
}
pub(crate) use read_optional;

/// A failure of the store itself. Callers turn it into a generic 500 and log it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "unsupported database URL (expected sqlite://PATH or postgres://USER@HOST/DB): {scheme}"
    )]
    UnsupportedUrl { scheme: String },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when the error is a unique-constraint violation (a lost race on insert).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            StoreError::Sqlite(e) => matches!(
                sqlite_extended_code(e),
                Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
            ),
            _ => false,
        }
    }

    /// True when a referenced row is gone (e.g. a user deleted while a session started).
    pub fn is_foreign_key_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_foreign_key_violation(),
            StoreError::Sqlite(e) => {
                sqlite_extended_code(e) == Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
            }
            _ => false,
        }
    }
}

fn sqlite_extended_code(error: &rusqlite::Error) -> Option<std::ffi::c_int> {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code),
        _ => None,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
pub enum Backend {
    Sqlite {
        reader: SqlitePool,
        writer: SqlitePool,
        /// Held by every write: the writer pool's and the batch writer thread's
        /// connections then never wait on each other's SQLite lock (see `batch`).
        write_gate: Arc<tokio::sync::Mutex<()>>,
    },
    Postgres(PgPool),
}

/// The handle to the store: cheap to clone (pools are reference-counted).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Group commit for tokens and sessions (see `batch`).
    batcher: batch::WriteBatcher,
    /// Inline reads for the hottest lookups on a SQLite file (see `direct`).
    direct: Option<Arc<direct::DirectReads>>,
    /// WAL checkpoints of a SQLite file, off the writer's path; stops with the last clone.
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
    /// Live sessions, tokens, keys and users held in memory on PostgreSQL (see `node_cache`).
    node_cache: Option<Arc<node_cache::NodeCache>>,
    /// Its listening connection; stops with the last clone.
    _listening: Option<Arc<node_cache::listener::Listening>>,
    /// Which trigrams most users share, for user search on PostgreSQL (see `trigrams`).
    trigram_shares: Arc<trigrams::Sampled>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("kind", &self.kind()).finish()
    }
}

/// Pool sizes; the defaults suit a small node.
#[derive(Debug, Clone)]
pub struct PoolSizes {
    pub sqlite_readers: u32,
    pub postgres: u32,
}

impl Default for PoolSizes {
    fn default() -> Self {
        Self {
            sqlite_readers: 8,
            postgres: 16,
        }
    }
}

/// The one connection that writes to a SQLite file: writers queue in the pool instead
/// of fighting over the database lock.
async fn sqlite_writer(options: SqliteConnectOptions) -> StoreResult<SqlitePool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // Same reason as for PostgreSQL; a local file connection does not go stale.
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    Ok(pool)
}

impl Store {
    /// Connects to `url` and brings the schema up to date.
    pub async fn open(url: &str, sizes: &PoolSizes) -> StoreResult<Self> {
        let store = Self::connect(url, sizes).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (used by `tessera migrate` to report progress itself).
    pub async fn connect(url: &str, sizes: &PoolSizes) -> StoreResult<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        let (mut direct, mut checkpointer, mut sqlite_file) = (None, None, None);
        let backend = match scheme {
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(sizes.postgres)
                    .acquire_timeout(Duration::from_secs(5))
                    // A ping before every checkout doubles the round trips of every query;
                    // a dead connection fails its query instead and is then discarded.
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                Backend::Postgres(pool)
            }
            "sqlite" => {
                let base = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // With WAL, NORMAL loses at most the last commits on power loss,
                    // never consistency; it avoids an fsync per commit.
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true);
                let mut writer = sqlite_writer(base.clone()).await?;
                // The writer has created the file; an in-memory database has none.
                let path = base.get_filename().to_path_buf();
                if path.is_file() {
                    sqlite_file = Some(path.clone());
                    let reads = direct::DirectReads::open(&path, sizes.sqlite_readers as usize)?;
                    direct = Some(Arc::new(reads));
                    // Once a thread checkpoints, the writer must not (see `checkpoint`).
                    if let Ok(thread) = checkpoint::Checkpointer::spawn(&path) {
                        checkpointer = Some(Arc::new(thread));
                        writer.close().await;
                        let options = base
                            .clone()
                            .pragma("wal_autocheckpoint", "0")
                            .pragma("journal_size_limit", checkpoint::WAL_SIZE_LIMIT.to_string());
                        writer = sqlite_writer(options).await?;
                    }
                }
                let reader = SqlitePoolOptions::new()
                    .max_connections(sizes.sqlite_readers.max(1))
                    .acquire_timeout(Duration::from_secs(10))
                    .test_before_acquire(false)
                    .connect_with(base.read_only(true))
                    .await?;
                Backend::Sqlite {
                    reader,
                    writer,
                    write_gate: Arc::default(),
                }
            }
            other => {
                return Err(StoreError::UnsupportedUrl {
                    scheme: other.to_string(),
                })
            }
        };
        let batcher = batch::WriteBatcher::spawn(
            backend.clone(),
            sqlite_file.as_deref(),
            checkpointer.is_some(),
        );
        Ok(Self {
            backend,
            batcher,
            direct,
            _checkpointer: checkpointer,
            node_cache: None,
            _listening: None,
            trigram_shares: Arc::default(),
        })
    }

    /// The same store with a node-local cache of live sessions, access tokens, API keys
    /// and users, on PostgreSQL (see `node_cache`); unchanged on SQLite or with
    /// `settings.entries` 0. For a long-running server: it holds a listening connection.
    pub fn with_node_cache(self, settings: &NodeCacheSettings) -> Self {
        match &self.backend {
            Backend::Postgres(pool) if settings.entries > 0 => {
                let cache = Arc::new(node_cache::NodeCache::new(settings));
                let listening =
                    node_cache::listener::spawn(cache.clone(), pool.clone(), settings.heartbeat);
                Self {
                    node_cache: Some(cache),
                    _listening: Some(Arc::new(listening)),
                    ..self
                }
            }
            _ => self,
        }
    }

    /// `read`'s row, through the node cache's `shelf` under `key` when there is a cache
    /// (a cached row only if `usable` accepts it); `read` alone otherwise.
    async fn read_cached<V: node_cache::Cached>(
        &self,
        shelf: fn(&node_cache::NodeCache) -> &node_cache::Shelf<V>,
        key: impl FnOnce() -> [u8; 32],
        usable: impl Fn(&V) -> bool,
        read: impl std::future::Future<Output = StoreResult<Option<V>>>,
    ) -> StoreResult<Option<V>> {
        match &self.node_cache {
            Some(cache) => shelf(cache).read_through(key(), usable, read).await,
            None => read.await,
        }
    }

    /// Whether the node cache is in use now (it listens for invalidations).
    pub fn node_cache_trusted(&self) -> bool {
        self.node_cache.as_ref().is_some_and(|c| c.is_trusted())
    }

    /// Returns once this node's cache has heard of every change committed so far, by
    /// any process: called after a change, so that this node refuses at once what the
    /// change ended (see `node_cache`). Immediate without a cache.
    pub async fn settle_node_cache(&self) {
        if let (Some(cache), Backend::Postgres(pool)) = (&self.node_cache, &self.backend) {
            node_cache::listener::settle(cache, pool).await;
        }
    }

    /// The node cache's metrics (nothing without a cache), in the Prometheus text format.
    pub fn encode_cache_metrics(&self, out: &mut String) -> std::fmt::Result {
        match &self.node_cache {
            Some(cache) => cache.encode_metrics(out),
            None => Ok(()),
        }
    }

    /// Deletes the rows `sql` selects as expired at `$1 = now`; returns how many. On
    /// PostgreSQL the deletion notifies no node cache: each refuses expired rows itself.
    async fn purge_expired(&self, sql: &str, now: i64) -> StoreResult<u64> {
        let purged = match &self.backend {
            Backend::Postgres(pool) => {
                let mut tx = pool.begin_write().await?;
                sqlx::query("SELECT set_config('tessera.purging', 'on', true)")
                    .execute(&mut *tx)
                    .await?;
                let purged = sqlx::query(sql).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                purged.rows_affected()
            }
            Backend::Sqlite { .. } => on_store!(self, write, |pool| {
                sqlx::query(sql)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }),
        };
        Ok(purged)
    }

    /// Whether the hottest lookups are read inline (a SQLite file; see `direct`).
    pub fn has_direct_reads(&self) -> bool {
        self.direct.is_some()
    }

    /// The same store with every read going through its pool: lets a test compare
    /// the direct SQLite reads with the pool's answers.
    #[doc(hidden)]
    pub fn without_direct_reads(&self) -> Self {
        Self {
            direct: None,
            ..self.clone()
        }
    }

    /// The row `sql` selects, read inline on SQLite (see `direct`): `Some(row or none)`
    /// when answered there, `None` when the caller must ask its pool instead
    /// (PostgreSQL, an in-memory database, or SQLite busy).
    pub(crate) fn direct_row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Option<T>> {
        self.direct.as_ref()?.optional_row(sql, params, map)
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// "sqlite" or "postgres", for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Applies pending migrations of this backend; returns how many were applied.
    pub async fn migrate(&self) -> StoreResult<usize> {
        // Absent before the first migration: counts as zero applied.
        let applied_before: i64 = on_store!(self, write, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
                .unwrap_or(0)
        });
        let known = match &self.backend {
            Backend::Sqlite { writer, .. } => {
                let migrator = sqlx::migrate!("./migrations/sqlite");
                migrator.run(writer).await?;
                migrator.iter().count()
            }
            Backend::Postgres(pool) => {
                let migrator = sqlx::migrate!("./migrations/postgres");
                migrator.run(pool).await?;
                migrator.iter().count()
            }
        };
        Ok(known.saturating_sub(applied_before as usize))
    }

    /// Readiness probe: the store answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        on_store!(self, read, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { reader, writer, .. } => {
                reader.close().await;
                writer.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}
