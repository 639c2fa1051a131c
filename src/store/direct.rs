//! Direct point reads on SQLite for the hottest lookups (API key, access token, live
//! session, user by the site's id, allowed origin).
//!
//! sqlx-sqlite runs every connection on a thread of its own: each query is two thread
//! hand-offs (a futex wake each way), which costs several times the read itself: an
//! indexed lookup on a page already cached costs a few microseconds. These reads
//! therefore run inline on the calling task, on a few read-only connections owned by
//! the store. That is safe on an async worker because
//! - they are single-row lookups through a primary or unique index;
//! - in WAL mode a reader never waits for the writer, and the connections have no busy
//!   timeout: in the rare case SQLite answers `SQLITE_BUSY` (e.g. a WAL restart), the
//!   caller falls back on the sqlx pool, whose thread may wait;
//! - a connection is held only for the synchronous call, never across an `.await`.
//!
//! Nothing is cached: every read sees the last commit, whichever process made it
//! (a ban from the CLI applies to the next lookup). The SQL is the very constant the
//! sqlx path runs (SQLite reads `$1` natively), so both paths answer alike.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, Row};

/// Read-only connections for inline reads; see the module documentation.
pub(crate) struct DirectReads {
    connections: Box<[Mutex<Connection>]>,
}

impl std::fmt::Debug for DirectReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectReads")
            .field("connections", &self.connections.len())
            .finish()
    }
}

impl DirectReads {
    /// Opens `count` read-only connections on the database file at `path`.
    pub(crate) fn open(path: &Path, count: usize) -> rusqlite::Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connections = (0..count.max(1))
            .map(|_| {
                let connection = Connection::open_with_flags(path, flags)?;
                // Fail at once instead of sleeping on an async worker (see above).
                connection.busy_timeout(std::time::Duration::ZERO)?;
                connection.set_prepared_statement_cache_capacity(32);
                Ok(Mutex::new(connection))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self {
            connections: connections.into_boxed_slice(),
        })
    }

    /// The row `sql` selects with `params`, mapped by `map`; `Some(None)` when there is
    /// none. `None` when this path cannot answer (every connection in use, or SQLite
    /// busy): the caller then asks the sqlx pool.
    pub(crate) fn optional_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Option<T>> {
        let connection = self.free_connection()?;
        let result = connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row(params, map).optional());
        match result {
            Ok(found) => Some(found),
            Err(e) if is_busy(&e) => {
                tracing::debug!(error = %e, "direct SQLite read busy; using the pool");
                None
            }
            Err(e) => {
                // A query or decoding bug: tests must see it, production falls back.
                debug_assert!(false, "direct SQLite read failed: {e} in {sql}");
                tracing::error!(error = %e, "direct SQLite read failed; using the pool");
                None
            }
        }
    }

    /// The first connection no one else holds; connections are held for microseconds
    /// and never across an await, so one of them is almost always free. Always the
    /// first: the few connections in use at once (about one per worker thread) keep
    /// their page caches and statements warm in the CPU's caches, where spreading the
    /// reads over all of them would not.
    fn free_connection(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        self.connections.iter().find_map(|c| c.try_lock().ok())
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);
                 INSERT INTO t VALUES (1, 'one');",
            )
            .unwrap();
        (dir, path)
    }

    #[test]
    fn reads_a_row_or_none_with_dollar_placeholders() {
        let (_dir, path) = database();
        let reads = DirectReads::open(&path, 2).unwrap();
        let sql = "SELECT v FROM t WHERE k = $1 AND $1 > 0";
        let one = reads.optional_row(sql, (1,), |r| r.get::<_, String>(0));
        assert_eq!(one, Some(Some("one".to_string())));
        assert_eq!(
            reads.optional_row(sql, (2,), |r| r.get::<_, String>(0)),
            Some(None)
        );
    }

    #[test]
    fn sees_commits_made_after_it_opened() {
        let (_dir, path) = database();
        let reads = DirectReads::open(&path, 1).unwrap();
        let sql = "SELECT v FROM t WHERE k = $1";
        assert_eq!(
            reads.optional_row(sql, (2,), |r| r.get::<_, String>(0)),
            Some(None)
        );
        Connection::open(&path)
            .unwrap()
            .execute("INSERT INTO t VALUES (2, 'two')", ())
            .unwrap();
        assert_eq!(
            reads.optional_row(sql, (2,), |r| r.get::<_, String>(0)),
            Some(Some("two".to_string()))
        );
    }

    #[test]
    fn answers_none_when_every_connection_is_held() {
        let (_dir, path) = database();
        let reads = DirectReads::open(&path, 1).unwrap();
        let _held = reads.connections[0].lock().unwrap();
        let answer = reads.optional_row("SELECT v FROM t WHERE k = $1", (1,), |r| {
            r.get::<_, String>(0)
        });
        assert_eq!(answer, None);
    }

    #[test]
    fn cannot_write() {
        let (_dir, path) = database();
        let reads = DirectReads::open(&path, 1).unwrap();
        let connection = reads.connections[0].lock().unwrap();
        assert!(connection.execute("DELETE FROM t", ()).is_err());
    }
}
