//! The batch writer of a SQLite file: a thread with a read-write connection of its
//! own, writing each batch in one synchronous transaction.
//!
//! The store's other writes go through the sqlx writer pool. So that the two never
//! meet on SQLite's lock (whose busy handler sleeps for milliseconds), both take the
//! store's write gate first; only another process (the CLI) can then make this
//! connection wait, which its busy timeout covers on this thread of its own.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, Mutex};

use super::{note_use, Insert, KeyUses, Reply, Written, MAX_BATCH, RECORD_KEY_USE};
use crate::clock::Millis;
use crate::store::access_tokens::NewAccessToken;
use crate::store::api_keys::LAST_USED_RESOLUTION_MS;
use crate::store::audit::{NewAuditEvent, AUDIT_INSERT_SQLITE};
use crate::store::checkpoint::WAL_SIZE_LIMIT;
use crate::store::logins::{LoginOutcome, LoginUser, NewLogin};
use crate::store::sessions::{NewSession, SESSION_INSERT_SQLITE, SLIDE_SESSION};
use crate::store::used_tokens::INSERT_USED_TOKEN;
use crate::store::users::{UserRow, UPSERT_SSO_PROFILE, USER_BY_ID};
use crate::store::StoreError;

/// How long a commit waits for another process's write before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The key check of the module documentation of `batch`: the key with this hash, if it
/// belongs to this site and the site is active. SQLite-only SQL: `?N` binds by number
/// (`$N` would number parameters by first appearance).
const MATCHING_KEY: &str = "SELECT k.key_id FROM api_keys k \
     JOIN sites s ON s.site_id = k.site_id AND s.active \
     WHERE k.secret_hash = ?1 AND k.site_id = ?2";

const INSERT_TOKEN: &str = "INSERT INTO access_tokens \
     (token_hash, site_id, key_id, scope, issued_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Whether a site is active, read once per site and batch by a login's decision.
const SITE_ACTIVE: &str = "SELECT active FROM sites WHERE site_id = ?1";

type Queue = mpsc::Receiver<(Insert, Reply)>;

/// Opens the connection and starts the thread; on failure the queue is handed back
/// for the pool writer to serve.
pub(super) fn spawn(
    path: &Path,
    checkpointed: bool,
    gate: Arc<Mutex<()>>,
    queue: Queue,
) -> Result<(), (String, Queue)> {
    let connection = match open(path, checkpointed) {
        Ok(connection) => connection,
        Err(e) => return Err((e.to_string(), queue)),
    };
    // The queue moves into the thread only once the thread is sure to start.
    let (handoff, handed) = std::sync::mpsc::sync_channel::<Queue>(1);
    let started = std::thread::Builder::new()
        .name("sqlite-batch-writer".into())
        .spawn(move || {
            if let Ok(queue) = handed.recv() {
                run(connection, &gate, queue);
            }
        });
    match started {
        Ok(_) => {
            handoff
                .send(queue)
                .expect("the writer thread waits for its queue");
            Ok(())
        }
        Err(e) => Err((e.to_string(), queue)),
    }
}

fn open(path: &Path, checkpointed: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // The same settings as the sqlx writer (see `Store::connect`).
    connection.pragma_update(None, "foreign_keys", true)?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    if checkpointed {
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        connection.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    }
    connection.set_prepared_statement_cache_capacity(8);
    Ok(connection)
}

/// Until every handle of the queue is dropped: take what has queued up, write it,
/// answer each caller.
fn run(mut connection: Connection, gate: &Mutex<()>, mut queue: Queue) {
    let mut key_uses = KeyUses::default();
    let mut batch: Vec<(Insert, Reply)> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let written = {
            let _turn = gate.blocking_lock();
            write(&mut connection, &batch, &mut key_uses)
        };
        match written {
            Ok(outcomes) => {
                for ((_, reply), outcome) in batch.drain(..).zip(outcomes) {
                    let _ = reply.send(outcome.map_err(StoreError::Sqlite));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rows = batch.len(), "a SQLite write batch failed");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::Sqlite(copy_error(&e))));
                }
            }
        }
    }
}

/// One transaction for the whole batch, with each row's own outcome: a row that fails
/// (e.g. a session of a user deleted meanwhile) is left out, the others committed.
fn write(
    connection: &mut Connection,
    batch: &[(Insert, Reply)],
    key_uses: &mut KeyUses,
) -> rusqlite::Result<Vec<rusqlite::Result<Written>>> {
    let mut tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut keys = MatchingKeys::default();
    let mut sites: HashMap<i64, bool> = HashMap::new();
    let mut used: HashMap<i64, Millis> = HashMap::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    for (row, _) in batch {
        outcomes.push(match row {
            Insert::AccessToken(token) => {
                issue(&tx, token, &mut keys, &mut used).map(Written::Inserted)
            }
            Insert::Session(session) => {
                insert_session(&tx, session).map(|()| Written::Inserted(true))
            }
            Insert::Audit(event) => insert_event(&tx, event).map(|()| Written::Inserted(true)),
            Insert::Login(login) => {
                log_in(&mut tx, login, &mut sites).map(|o| Written::Login(Box::new(o)))
            }
            Insert::Slide(slide) => tx
                .prepare_cached(SLIDE_SESSION)
                .and_then(|mut update| {
                    update.execute((slide.now, slide.idle_expires_at, slide.hash.as_bytes()))
                })
                .map(|n| Written::Inserted(n == 1)),
        });
    }
    for (key_id, at) in key_uses.due(used) {
        tx.prepare_cached(RECORD_KEY_USE)?
            .execute((at, key_id, at - LAST_USED_RESOLUTION_MS))?;
    }
    tx.commit()?;
    Ok(outcomes)
}

/// The keys checked in this transaction, by (key hash, site): a batch is mostly tokens
/// of a few keys, and nothing else writes while it holds the write lock, so each key is
/// looked up once per batch.
#[derive(Default)]
struct MatchingKeys {
    checked: HashMap<([u8; 32], i64), Option<i64>>,
}

impl MatchingKeys {
    fn key_id(
        &mut self,
        tx: &Transaction<'_>,
        token: &NewAccessToken,
    ) -> rusqlite::Result<Option<i64>> {
        let presented = (token.key_hash.0, token.site_id);
        if let Some(found) = self.checked.get(&presented) {
            return Ok(*found);
        }
        let found = tx
            .prepare_cached(MATCHING_KEY)?
            .query_row((token.key_hash.as_bytes(), token.site_id), |row| row.get(0))
            .optional()?;
        self.checked.insert(presented, found);
        Ok(found)
    }
}

/// Inserts the token if its key matches; notes the key's use.
fn issue(
    tx: &Transaction<'_>,
    token: &NewAccessToken,
    keys: &mut MatchingKeys,
    used: &mut HashMap<i64, Millis>,
) -> rusqlite::Result<bool> {
    let Some(key_id) = keys.key_id(tx, token)? else {
        return Ok(false);
    };
    tx.prepare_cached(INSERT_TOKEN)?.execute((
        token.hash.as_bytes(),
        token.site_id,
        key_id,
        token.scope.as_str(),
        token.issued_at,
        token.expires_at,
    ))?;
    note_use(used, key_id, token.issued_at);
    Ok(true)
}

fn insert_session(tx: &Connection, session: &NewSession) -> rusqlite::Result<()> {
    tx.prepare_cached(SESSION_INSERT_SQLITE)?
        .execute(session.values())
        .map(drop)
}

fn insert_event(tx: &Connection, event: &NewAuditEvent) -> rusqlite::Result<()> {
    tx.prepare_cached(AUDIT_INSERT_SQLITE)?
        .execute(event.values())
        .map(drop)
}

/// A login (`store::logins`): its token spent, the profile change, the decision on the
/// user as this transaction sees it, then the session and event, or the refusal alone.
fn log_in(
    tx: &mut Transaction<'_>,
    login: &NewLogin,
    sites: &mut HashMap<i64, bool>,
) -> rusqlite::Result<LoginOutcome> {
    if let Some(t) = &login.once {
        let first = tx.prepare_cached(INSERT_USED_TOKEN)?.execute((
            t.key.as_bytes(),
            t.site_id,
            t.used_at,
            t.expires_at,
        ))?;
        if first == 0 {
            return Ok(LoginOutcome::Replayed);
        }
    }
    let savepoint = tx.savepoint()?;
    let row = match &login.user {
        LoginUser::Profile(profile) => savepoint.prepare_cached(UPSERT_SSO_PROFILE)?.query_row(
            profile.upsert_values(login.site_id, login.at),
            UserRow::from_direct,
        )?,
        LoginUser::Existing { user_id } => savepoint
            .prepare_cached(USER_BY_ID)?
            .query_row((login.site_id, user_id), UserRow::from_direct)?,
    };
    let user = row.into_user();
    let site_active = match sites.get(&login.site_id) {
        Some(active) => *active,
        None => {
            let active = savepoint
                .prepare_cached(SITE_ACTIVE)?
                .query_row([login.site_id], |r| r.get(0))
                .optional()?
                .unwrap_or(false);
            sites.insert(login.site_id, active);
            active
        }
    };
    let (refused, event, session) = login.decide(&user, site_active);
    if refused.is_some() {
        // A refused user is not touched: the profile change is undone (the savepoint
        // rolls back when dropped), only the refusal is recorded.
        drop(savepoint);
        insert_event(tx, &event)?;
        return Ok(LoginOutcome::Refused { user, site_active });
    }
    if let Some(session) = &session {
        insert_session(&savepoint, session)?;
    }
    insert_event(&savepoint, &event)?;
    savepoint.commit()?;
    Ok(LoginOutcome::Admitted(user))
}

/// The same failure for every caller of a batch that failed as a whole.
fn copy_error(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}
