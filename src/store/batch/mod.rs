//! Group commit for the hottest writes: access tokens, logins (single-use token, profile
//! change, session and audit event, see `store::logins`), the audit events of failed
//! logins and the slides of sessions' idle expiry.
//!
//! Issuing a token or starting a session is one small insert, but a commit costs
//! far more than the insert itself (on SQLite every commit rewrites the touched
//! pages into the WAL; on PostgreSQL it waits for the WAL flush). Callers hand
//! their row to one writer, which drains whatever has queued up meanwhile and
//! writes it in a single transaction. Under load a batch holds many rows; when idle
//! a batch is a single row, so latency is unchanged. Every caller still waits for
//! its own commit before answering, and a row that fails fails alone.
//!
//! A token is issued to whoever presented an API key, and the check of that key is
//! part of the write: the writer looks the presented key hash up in `api_keys` and
//! `sites` in the transaction that inserts the token, so the request path reads
//! nothing, and the lookups run on the writer, whose page cache no other commit
//! invalidates. A token whose key does not match is simply not inserted, and its
//! caller is told so (it then looks the key up itself, for the precise error).
//!
//! Two writers implement it:
//! - [`sqlite_file`]: on a SQLite file, a thread with a connection of its own writes
//!   each batch in one synchronous transaction, looking each key up once per batch.
//!   The rows reach it with one thread wake-up and the answers go back with one;
//!   through sqlx every statement of the batch, and the return of the connection to
//!   its pool, would cost two more.
//! - [`pool`]: otherwise (PostgreSQL, in-memory SQLite), a task writes each batch
//!   through the sqlx pool as multi-row statements, the key check joined into the
//!   token insert: on PostgreSQL the round trips are what counts. A batch of logins
//!   of known users is two: one read, one statement that writes every session and
//!   event (no BEGIN, no COMMIT: a statement is atomic by itself).

mod pool;
mod rows;
mod sqlite_file;

use std::collections::HashMap;
use std::path::Path;

use tokio::sync::{mpsc, oneshot};

use super::access_tokens::NewAccessToken;
use super::api_keys::LAST_USED_RESOLUTION_MS;
use super::audit::NewAuditEvent;
use super::logins::{LoginOutcome, NewLogin};
use super::sessions::{NewSession, Slide};
use super::{Backend, StoreError};
use crate::clock::Millis;

/// Rows per transaction at most; bounds the statement size and the wait of the last row.
const MAX_BATCH: usize = 256;
/// Queued rows before callers wait for room (backpressure instead of unbounded memory).
const QUEUE: usize = 4096;
/// Keys whose last recorded use is remembered; past that the memory starts over.
const MAX_KEYS_REMEMBERED: usize = 10_000;

/// Records that a key was used, unless it was within [`LAST_USED_RESOLUTION_MS`]
/// (the condition keeps several nodes from writing it more often than that).
const RECORD_KEY_USE: &str = "UPDATE api_keys SET last_used_at = $1 \
     WHERE key_id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)";

pub(crate) enum Insert {
    /// Written only if its API key matches; see the module documentation.
    AccessToken(NewAccessToken),
    /// A session alone (its login recorded elsewhere; tests and tools).
    Session(NewSession),
    /// A login: decided and written by the batch (`store::logins`).
    Login(Box<NewLogin>),
    /// An audit event alone (a failed login).
    Audit(NewAuditEvent),
    /// A session's idle expiry pushed forward: `Inserted(false)` when the session is
    /// gone or another node slid it further already.
    Slide(Slide),
}

/// What became of one queued write.
pub(crate) enum Written {
    /// Whether the row was inserted (false: a token whose key did not match).
    Inserted(bool),
    Login(Box<LoginOutcome>),
}

type Reply = oneshot::Sender<Result<Written, StoreError>>;

/// Handle to the writer; the writer ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct WriteBatcher {
    queue: mpsc::Sender<(Insert, Reply)>,
}

impl WriteBatcher {
    /// Starts the writer: a thread of its own for the SQLite file at `sqlite_file`
    /// (with automatic checkpoints off when `checkpointed` elsewhere), otherwise a
    /// task on the pool.
    pub(crate) fn spawn(backend: Backend, sqlite_file: Option<&Path>, checkpointed: bool) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = match (sqlite_file, &backend) {
            (Some(path), Backend::Sqlite { write_gate, .. }) => {
                match sqlite_file::spawn(path, checkpointed, write_gate.clone(), receiver) {
                    Ok(()) => None,
                    Err((e, receiver)) => {
                        tracing::warn!(error = %e, "no SQLite writer thread; writing batches through the pool");
                        Some(receiver)
                    }
                }
            }
            _ => Some(receiver),
        };
        if let Some(receiver) = receiver {
            tokio::spawn(pool::run(backend, receiver));
        }
        Self { queue }
    }

    /// Queues one write and waits until it is committed.
    async fn write(&self, row: Insert) -> Result<Written, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((row, reply))
            .await
            .map_err(|_| StoreError::Corrupt("the write batcher has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Corrupt("the write batcher dropped a write".into()))?
    }

    /// Queues one insert and waits until it is committed; false when it was not
    /// written because its condition did not hold.
    pub(crate) async fn insert(&self, row: Insert) -> Result<bool, StoreError> {
        match self.write(row).await? {
            Written::Inserted(written) => Ok(written),
            Written::Login(_) => Err(StoreError::Corrupt("a login answered an insert".into())),
        }
    }

    /// Queues a login and waits until it is committed (`store::logins`).
    pub(crate) async fn login(&self, login: NewLogin) -> Result<LoginOutcome, StoreError> {
        match self.write(Insert::Login(Box::new(login))).await? {
            Written::Login(outcome) => Ok(*outcome),
            Written::Inserted(_) => Err(StoreError::Corrupt("an insert answered a login".into())),
        }
    }
}

/// When this node last recorded each key's use: a hot key must not cost a write per
/// token, nor a statement per batch.
#[derive(Default)]
struct KeyUses {
    recorded: HashMap<i64, Millis>,
}

impl KeyUses {
    /// Of the keys just used (key id, last use), those whose use is due to be recorded;
    /// they are remembered as recorded.
    fn due(&mut self, used: HashMap<i64, Millis>) -> Vec<(i64, Millis)> {
        if self.recorded.len() > MAX_KEYS_REMEMBERED {
            self.recorded.clear();
        }
        used.into_iter()
            .filter(|&(key_id, at)| {
                let due = self
                    .recorded
                    .get(&key_id)
                    .is_none_or(|recorded| at - recorded >= LAST_USED_RESOLUTION_MS);
                if due {
                    self.recorded.insert(key_id, at);
                }
                due
            })
            .collect()
    }
}

/// Notes a key's use at `at` in `used` (the latest use of each key counts).
fn note_use(used: &mut HashMap<i64, Millis>, key_id: i64, at: Millis) {
    let last = used.entry(key_id).or_insert(at);
    *last = (*last).max(at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_use_is_due_once_per_resolution() {
        let mut uses = KeyUses::default();
        let mut used = HashMap::new();
        note_use(&mut used, 1, 1_000);
        note_use(&mut used, 1, 900);
        assert_eq!(uses.due(used.clone()), vec![(1, 1_000)]);
        assert!(uses.due(used).is_empty());
        let soon = HashMap::from([(1, 1_000 + LAST_USED_RESOLUTION_MS - 1)]);
        assert!(uses.due(soon).is_empty());
        let later = HashMap::from([(1, 1_000 + LAST_USED_RESOLUTION_MS)]);
        assert_eq!(uses.due(later), vec![(1, 1_000 + LAST_USED_RESOLUTION_MS)]);
    }
}
