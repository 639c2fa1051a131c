//! WAL checkpoints off the writer's path (SQLite).
//!
//! By default the connection whose commit pushes the WAL past 1000 pages copies the
//! WAL back into the database file and syncs it, inside that commit: the one writer,
//! and with it every token and login waiting in its group commit, stalls for tens of
//! milliseconds each time. Instead, the writer's automatic checkpoints are turned off
//! and this thread, on a connection of its own, runs a `PASSIVE` checkpoint a few times
//! a second. A passive checkpoint never waits for readers or the writer, and the
//! writer starts the WAL over once a checkpoint has caught up and no reader still uses
//! the WAL.
//!
//! Under sustained load some reader always still uses it (each inline read is a short
//! read transaction, and they overlap without end), so the WAL was never started over
//! and grew without bound: 2 GB after 40 s of logins, every frame a newly allocated
//! block of the file. So once it is past [`RESTART_AT_FRAMES`], the thread runs a
//! `RESTART` checkpoint: it waits, at most [`RESTART_WAIT`], for the readers already in
//! the WAL to finish (new ones read the file, since the WAL is then all copied) and
//! holds the writer back meanwhile; the next commit then writes the WAL from its start.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the WAL is checkpointed; bounds its size to what is written in that time.
const INTERVAL: Duration = Duration::from_millis(250);

/// WAL length (pages of 4 KiB: 256 MiB) past which the WAL is started over even while
/// readers keep coming.
const RESTART_AT_FRAMES: i64 = 65_536;

/// Bytes the WAL file is cut back to when a writer starts it over (`journal_size_limit`
/// of the writers): a burst that made it long does not keep the disk space.
pub(crate) const WAL_SIZE_LIMIT: i64 = RESTART_AT_FRAMES * 4096;

/// Longest a restart waits for the writer and for the readers still in the WAL. It
/// holds the writer back while it waits, so it waits very little: the readers' gaps are
/// frequent, and a restart that could not be done now is tried at the next round.
const RESTART_WAIT: Duration = Duration::from_millis(2);

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
        connection
            .busy_timeout(RESTART_WAIT)
            .map_err(std::io::Error::other)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // Ends with the last handle: `recv_timeout` then reports a disconnect.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    if let Err(e) = round(&connection, RESTART_AT_FRAMES) {
                        tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
                    }
                }
            })?;
        Ok(Self { _stop: stop })
    }
}

/// One round: a passive checkpoint, then a restart when the WAL is `restart_at` frames
/// long or more. True when the WAL was started over.
fn round(connection: &Connection, restart_at: i64) -> rusqlite::Result<bool> {
    let (_, frames, _) = checkpoint(connection, "PASSIVE")?;
    if frames < restart_at {
        return Ok(false);
    }
    let (busy, _, _) = checkpoint(connection, "RESTART")?;
    Ok(busy == 0)
}

/// One checkpoint of `mode`; answers (busy, WAL frames, frames checkpointed).
fn checkpoint(connection: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file in WAL mode whose writer never checkpoints, with a table `t`.
    fn wal_database(dir: &tempfile::TempDir) -> (std::path::PathBuf, Connection) {
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (v BLOB);",
            )
            .unwrap();
        (path, writer)
    }

    #[test]
    fn copies_the_wal_into_the_database_while_the_writer_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_database(&dir);
        writer
            .execute("INSERT INTO t VALUES (zeroblob(200000))", [])
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

    #[test]
    fn a_wal_that_readers_never_leave_is_started_over_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_database(&dir);
        let wal_frames = |c: &Connection| checkpoint(c, "PASSIVE").unwrap().1;
        let write = || {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(40000))", [])
                .unwrap()
        };
        let checkpointer = Connection::open(&path).unwrap();
        checkpointer.busy_timeout(RESTART_WAIT).unwrap();
        // A reader is always in the WAL: each one starts before the last one ends.
        let mut reader = Connection::open(&path).unwrap();
        for _ in 0..10 {
            let next = Connection::open(&path).unwrap();
            next.execute_batch("BEGIN; SELECT count(*) FROM t;")
                .unwrap();
            reader.execute_batch("COMMIT;").ok();
            reader = next;
            write();
            round(&checkpointer, i64::MAX).unwrap();
        }
        let grown = wal_frames(&checkpointer);
        assert!(grown >= 100, "the WAL grew: {grown} frames");
        // Past the limit, the round restarts the WAL as soon as no reader is in it
        // (here the last one has ended); the next commit writes it from its start.
        assert!(
            !round(&checkpointer, 50).unwrap(),
            "a reader is still in the WAL"
        );
        reader.execute_batch("COMMIT;").unwrap();
        assert!(round(&checkpointer, 50).unwrap(), "restarted");
        write();
        let after = wal_frames(&checkpointer);
        assert!(after < 20, "started over: {after} frames, was {grown}");
    }
}
