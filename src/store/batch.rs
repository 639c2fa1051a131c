//! Group commit for the hottest inserts (access tokens, sessions and their login
//! audit events).
//!
//! Issuing a token or starting a session is one small insert, but a commit costs
//! far more than the insert itself (on SQLite every commit rewrites the touched
//! pages into the WAL; on PostgreSQL it waits for the WAL flush). Callers hand
//! their row to one writer task, which drains whatever has queued up meanwhile
//! and writes it as multi-row inserts in a single transaction. Under load a batch
//! holds many rows; when idle a batch is a single row, so latency is unchanged.
//! Every caller still waits for its own commit before answering.

use sqlx::QueryBuilder;
use tokio::sync::{mpsc, oneshot};

use super::access_tokens::NewAccessToken;
use super::audit::NewAuditEvent;
use super::sessions::NewSession;
use super::{on_store, Backend, StoreError};

/// Rows per transaction at most; bounds the statement size and the wait of the last row.
const MAX_BATCH: usize = 256;
/// Queued rows before callers wait for room (backpressure instead of unbounded memory).
const QUEUE: usize = 4096;

pub(crate) enum Insert {
    AccessToken(NewAccessToken),
    /// A session, with the audit event of the login that started it (same commit).
    Session(NewSession, Option<NewAuditEvent>),
}

type Reply = oneshot::Sender<Result<(), StoreError>>;

/// Handle to the writer task; the task ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct WriteBatcher {
    queue: mpsc::Sender<(Insert, Reply)>,
}

impl WriteBatcher {
    pub(crate) fn spawn(backend: Backend) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(backend, receiver));
        Self { queue }
    }

    /// Queues one insert and waits until it is committed.
    pub(crate) async fn insert(&self, row: Insert) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((row, reply))
            .await
            .map_err(|_| StoreError::Corrupt("the write batcher has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Corrupt("the write batcher dropped a write".into()))?
    }
}

async fn run(backend: Backend, mut receiver: mpsc::Receiver<(Insert, Reply)>) {
    let store = Batch { backend: &backend };
    let mut batch: Vec<(Insert, Reply)> = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let rows: Vec<&Insert> = batch.iter().map(|(row, _)| row).collect();
        match store.write_all(&rows).await {
            Ok(()) => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(()));
                }
            }
            // One bad row (e.g. its key was deleted meanwhile) must not fail the others:
            // fall back to one transaction per row so each caller gets its own answer.
            Err(_) => {
                for (row, reply) in batch.drain(..) {
                    let _ = reply.send(store.write_all(&[&row]).await);
                }
            }
        }
    }
}

struct Batch<'a> {
    backend: &'a Backend,
}

impl Batch<'_> {
    fn backend(&self) -> &Backend {
        self.backend
    }

    async fn write_all(&self, rows: &[&Insert]) -> Result<(), StoreError> {
        let tokens: Vec<&NewAccessToken> = rows
            .iter()
            .filter_map(|r| match r {
                Insert::AccessToken(t) => Some(t),
                Insert::Session(..) => None,
            })
            .collect();
        let sessions: Vec<&NewSession> = rows
            .iter()
            .filter_map(|r| match r {
                Insert::Session(s, _) => Some(s),
                Insert::AccessToken(_) => None,
            })
            .collect();
        let events: Vec<&NewAuditEvent> = rows
            .iter()
            .filter_map(|r| match r {
                Insert::Session(_, event) => event.as_ref(),
                Insert::AccessToken(_) => None,
            })
            .collect();
        on_store!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            if !tokens.is_empty() {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO access_tokens (token_hash, site_id, key_id, scope, issued_at, expires_at) ",
                );
                insert.push_values(&tokens, |mut row, t| {
                    row.push_bind(t.hash.as_bytes())
                        .push_bind(t.site_id)
                        .push_bind(t.key_id)
                        .push_bind(t.scope.as_str())
                        .push_bind(t.issued_at)
                        .push_bind(t.expires_at);
                });
                insert.build().execute(&mut *tx).await?;
            }
            if !sessions.is_empty() {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO sessions (session_hash, site_id, user_id, kind, created_at, last_seen_at, \
                     idle_expires_at, expires_at, reverify_at) ",
                );
                insert.push_values(&sessions, |mut row, s| {
                    row.push_bind(s.hash.as_bytes())
                        .push_bind(s.site_id)
                        .push_bind(s.user_id)
                        .push_bind(s.kind.as_str())
                        .push_bind(s.created_at)
                        .push_bind(s.created_at)
                        .push_bind(s.idle_expires_at)
                        .push_bind(s.expires_at)
                        .push_bind(s.reverify_at);
                });
                insert.build().execute(&mut *tx).await?;
            }
            if !events.is_empty() {
                let mut insert = QueryBuilder::new(
                            "INSERT INTO audit_events (site_id, at, actor, action, outcome, client_ip, detail) ",
                        );
                insert.push_values(&events, |mut row, e| {
                    row.push_bind(e.site_id)
                        .push_bind(e.at)
                        .push_bind(e.actor.as_str())
                        .push_bind(e.action)
                        .push_bind(e.outcome.as_str())
                        .push_bind(e.client_ip.as_deref())
                        .push_bind(e.detail.to_string());
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
