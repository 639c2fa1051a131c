//! WAL checkpoints off the writer's path (SQLite).
//!
//! By default the connection whose commit pushes the WAL past 1000 pages copies the
//! WAL back into the database file and syncs it, inside that commit: the one writer,
//! and with it every token and login waiting in its group commit, stalls for tens of
//! milliseconds each time. Instead, the writer's automatic checkpoints are turned off
//! and this thread, on a connection of its own, runs a `PASSIVE` checkpoint a few times
//! a second. A passive checkpoint never waits for readers or the writer, and the
//! writer starts the WAL over once a checkpoint has caught up, so the WAL stays small.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the WAL is checkpointed; bounds its size to what is written in that time.
const INTERVAL: Duration = Duration::from_millis(250);

/// The checkpointing thread; it stops when this handle is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the WAL of the database file at `path`.
    pub(crate) fn spawn(path: &Path) -> std::io::Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(std::io::Error::other)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // Ends with the last handle: `recv_timeout` then reports a disconnect.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    if let Err(e) = checkpoint(&connection) {
                        tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
                    }
                }
            })?;
        Ok(Self { _stop: stop })
    }
}

/// One passive checkpoint; answers (busy, WAL frames, frames checkpointed).
fn checkpoint(connection: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_wal_into_the_database_while_the_writer_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
                 CREATE TABLE t (v BLOB); INSERT INTO t VALUES (zeroblob(200000));",
            )
            .unwrap();
        // Only a checkpoint moves the committed row from the WAL into the file.
        let file_size = || std::fs::metadata(&path).unwrap().len();
        assert!(file_size() < 200_000);
        let _checkpointer = Checkpointer::spawn(&path).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while file_size() < 200_000 {
            assert!(std::time::Instant::now() < deadline, "never checkpointed");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(writer);
    }
}
