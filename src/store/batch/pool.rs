//! The batch writer on a sqlx pool (PostgreSQL, in-memory SQLite): a task that writes
//! each batch as multi-row statements.

use std::collections::{HashMap, HashSet};

use sqlx::{Database, Encode, QueryBuilder, Type};
use tokio::sync::mpsc;

use super::{note_use, rows, Insert, KeyUses, Reply, Written, MAX_BATCH, RECORD_KEY_USE};
use crate::clock::Millis;
use crate::store::access_tokens::NewAccessToken;
use crate::store::api_keys::LAST_USED_RESOLUTION_MS;
use crate::store::audit::NewAuditEvent;
use crate::store::logins::{LoginOutcome, LoginUser, NewLogin};
use crate::store::sessions::{NewSession, Slide, SLIDE_SESSION};
use crate::store::used_tokens::{INSERT_INTO_USED_TOKENS, SPENT_RETURNING};
use crate::store::users::{User, UserRow};
use crate::store::BeginWrite;
use crate::store::{on_store, Backend, StoreError};

pub(super) async fn run(backend: Backend, mut receiver: mpsc::Receiver<(Insert, Reply)>) {
    let mut store = Batch {
        backend: &backend,
        key_uses: KeyUses::default(),
    };
    let mut batch: Vec<(Insert, Reply)> = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let rows: Vec<&Insert> = batch.iter().map(|(row, _)| row).collect();
        match store.write_all(&rows).await {
            Ok(written) => {
                for ((_, reply), written) in batch.drain(..).zip(written) {
                    let _ = reply.send(Ok(written));
                }
            }
            // One bad row (e.g. a session of a user deleted meanwhile) must not fail the
            // others: fall back to one transaction per row, each caller its own answer.
            Err(_) => {
                for (row, reply) in batch.drain(..) {
                    let written = store
                        .write_all(&[&row])
                        .await
                        .and_then(|mut w| w.pop().ok_or_else(lost));
                    let _ = reply.send(written);
                }
            }
        }
    }
}

fn lost() -> StoreError {
    StoreError::Corrupt("the write batcher lost a row".into())
}

struct Batch<'a> {
    backend: &'a Backend,
    key_uses: KeyUses,
}

/// A login's user as the batch's transaction read it, and its site's state.
type Decided = (User, bool);

impl Batch<'_> {
    fn backend(&self) -> &Backend {
        self.backend
    }

    /// Writes the rows in one transaction; for each row, what became of it.
    async fn write_all(&mut self, rows: &[&Insert]) -> Result<Vec<Written>, StoreError> {
        let tokens: Vec<&NewAccessToken> = rows
            .iter()
            .filter_map(|r| match r {
                Insert::AccessToken(t) => Some(t),
                _ => None,
            })
            .collect();
        let logins: Vec<&NewLogin> = rows
            .iter()
            .filter_map(|r| match r {
                Insert::Login(login) => Some(&**login),
                _ => None,
            })
            .collect();
        let mut sessions: Vec<NewSession> = Vec::new();
        let mut events: Vec<NewAuditEvent> = Vec::new();
        let mut slides: Vec<&Slide> = Vec::new();
        for row in rows {
            match row {
                Insert::Session(s) => sessions.push(s.clone()),
                Insert::Audit(e) => events.push(e.clone()),
                Insert::Slide(s) => slides.push(s),
                Insert::AccessToken(_) | Insert::Login(_) => {}
            }
        }
        let mut inserted: Vec<IssuedToken> = Vec::new();
        let mut outcomes: Vec<LoginOutcome> = Vec::with_capacity(logins.len());
        let mut slid: Vec<bool> = Vec::with_capacity(slides.len());
        on_store!(self, write, |pool| {
            if sessions.is_empty() && events.is_empty() && logins.is_empty() && slides.is_empty() {
                // One statement is a transaction of its own: one round trip to the
                // database instead of three, and tokens are most of what is written.
                inserted = token_insert(&tokens)
                    .build_query_as()
                    .fetch_all(pool)
                    .await?;
            } else {
                let mut tx = pool.begin_write().await?;
                if !tokens.is_empty() {
                    inserted = token_insert(&tokens)
                        .build_query_as()
                        .fetch_all(&mut *tx)
                        .await?;
                }
                for s in &slides {
                    let done = sqlx::query(SLIDE_SESSION)
                        .bind(s.now)
                        .bind(s.idle_expires_at)
                        .bind(s.hash.as_bytes())
                        .execute(&mut *tx)
                        .await?;
                    slid.push(done.rows_affected() == 1);
                }
                // Logins: the users as this transaction sees them (profile changes
                // first, each in a savepoint so that a refusal undoes it), then one
                // decision each.
                let mut decided: HashMap<usize, Decided> = HashMap::new();
                let existing: Vec<(usize, i64)> = logins
                    .iter()
                    .enumerate()
                    .filter_map(|(i, l)| match l.user {
                        LoginUser::Existing { user_id } => Some((i, user_id)),
                        LoginUser::Profile(_) => None,
                    })
                    .collect();
                let mut site_ids: Vec<i64> = logins.iter().map(|l| l.site_id).collect();
                site_ids.sort_unstable();
                site_ids.dedup();
                let mut sites: HashMap<i64, bool> = HashMap::new();
                if !site_ids.is_empty() {
                    let mut query =
                        QueryBuilder::new("SELECT site_id, active FROM sites WHERE site_id IN (");
                    let mut list = query.separated(", ");
                    for id in &site_ids {
                        list.push_bind(*id);
                    }
                    query.push(")");
                    let found: Vec<(i64, bool)> =
                        query.build_query_as().fetch_all(&mut *tx).await?;
                    sites.extend(found);
                }
                if !existing.is_empty() {
                    let mut query = QueryBuilder::new(concat!(
                        "SELECT ",
                        crate::store::users::user_columns!(),
                        " FROM users WHERE user_id IN ("
                    ));
                    let mut list = query.separated(", ");
                    for (_, id) in &existing {
                        list.push_bind(*id);
                    }
                    query.push(")");
                    let found: Vec<UserRow> = query.build_query_as().fetch_all(&mut *tx).await?;
                    let by_id: HashMap<i64, User> = found
                        .into_iter()
                        .map(|r| {
                            let u = r.into_user();
                            (u.user_id, u)
                        })
                        .collect();
                    // One user may log in several times in one batch.
                    for (i, user_id) in existing {
                        // Missing only if it never existed (users are marked deleted, never
                        // removed): then that login alone fails, in the per-row retry.
                        let user = by_id.get(&user_id).cloned().ok_or_else(|| {
                            StoreError::Corrupt(format!("user {user_id} of a login is missing"))
                        })?;
                        let active = sites.get(&user.site_id).copied().unwrap_or(false);
                        decided.insert(i, (user, active));
                    }
                }
                // The tokens first, all in one statement; each spent now goes to the
                // first login of the batch that presents it, the others are replays.
                let mut spent: HashSet<Vec<u8>> = HashSet::new();
                let once: Vec<_> = logins.iter().filter_map(|l| l.once.as_ref()).collect();
                if !once.is_empty() {
                    let mut query = QueryBuilder::new(INSERT_INTO_USED_TOKENS);
                    query.push_values(&once, |mut row, t| {
                        row.push_bind(t.key.as_bytes())
                            .push_bind(t.site_id)
                            .push_bind(t.used_at)
                            .push_bind(t.expires_at);
                    });
                    query.push(SPENT_RETURNING);
                    let rows: Vec<Vec<u8>> = query.build_query_scalar().fetch_all(&mut *tx).await?;
                    spent.extend(rows);
                }
                for (i, login) in logins.iter().enumerate() {
                    if let Some(t) = &login.once {
                        if !spent.remove(t.key.as_bytes()) {
                            decided.remove(&i);
                            outcomes.push(LoginOutcome::Replayed);
                            continue;
                        }
                    }
                    let (user, site_active) = match &login.user {
                        LoginUser::Profile(profile) => {
                            let mut savepoint = sqlx::Acquire::begin(&mut *tx).await?;
                            let row = profile
                                .upsert_query(login.site_id, login.at)
                                .fetch_one(&mut *savepoint)
                                .await?;
                            let user = row.into_user();
                            let active = sites.get(&user.site_id).copied().unwrap_or(false);
                            if (login.policy)(&user, active, login.at).is_some() {
                                // A refused user is not touched.
                                savepoint.rollback().await?;
                            } else {
                                savepoint.commit().await?;
                            }
                            (user, active)
                        }
                        LoginUser::Existing { .. } => decided.remove(&i).ok_or_else(lost)?,
                    };
                    let (reason, event, session) = login.decide(&user, site_active);
                    events.push(event);
                    sessions.extend(session);
                    outcomes.push(match reason {
                        None => LoginOutcome::Admitted(user),
                        Some(_) => LoginOutcome::Refused { user, site_active },
                    });
                }
                if !sessions.is_empty() {
                    rows::sessions(&sessions).build().execute(&mut *tx).await?;
                }
                if !events.is_empty() {
                    rows::events(&events).build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        });
        self.outcome(rows, inserted, outcomes, slid).await
    }

    /// For each row, whether it was written; and the use of each key that issued a
    /// token, recorded when due.
    async fn outcome(
        &mut self,
        rows: &[&Insert],
        inserted: Vec<IssuedToken>,
        logins: Vec<LoginOutcome>,
        slid: Vec<bool>,
    ) -> Result<Vec<Written>, StoreError> {
        let mut used: HashMap<i64, Millis> = HashMap::new();
        let mut issued: HashSet<Vec<u8>> = HashSet::with_capacity(inserted.len());
        for (token_hash, key_id, issued_at) in inserted {
            note_use(&mut used, key_id, issued_at);
            issued.insert(token_hash);
        }
        for (key_id, at) in self.key_uses.due(used) {
            // Advisory: the tokens are committed whatever happens to this write.
            if let Err(e) = self.record_key_use(key_id, at).await {
                tracing::warn!(error = %e, key_id, "could not record an API key's last use");
            }
        }
        let mut logins = logins.into_iter();
        let mut slid = slid.into_iter();
        rows.iter()
            .map(|row| match row {
                Insert::AccessToken(t) => Ok(Written::Inserted(issued.contains(t.hash.as_bytes()))),
                Insert::Session(_) | Insert::Audit(_) => Ok(Written::Inserted(true)),
                Insert::Login(_) => logins
                    .next()
                    .map(|o| Written::Login(Box::new(o)))
                    .ok_or_else(lost),
                Insert::Slide(_) => slid.next().map(Written::Inserted).ok_or_else(lost),
            })
            .collect()
    }

    async fn record_key_use(&self, key_id: i64, at: Millis) -> Result<(), StoreError> {
        on_store!(self, write, |pool| {
            sqlx::query(RECORD_KEY_USE)
                .bind(at)
                .bind(key_id)
                .bind(at - LAST_USED_RESOLUTION_MS)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

/// A token the batch inserted: its hash, key and issue time.
type IssuedToken = (Vec<u8>, i64, Millis);

/// The insert of a batch of tokens, each only if its key matches (module documentation).
fn token_insert<'a, DB>(tokens: &[&'a NewAccessToken]) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    &'a [u8]: Encode<'a, DB> + Type<DB>,
{
    let mut insert = QueryBuilder::new(
        "WITH requested (token_hash, key_hash, site_id, scope, issued_at, expires_at) AS (",
    );
    insert.push_values(tokens, |mut row, t| {
        row.push_bind(t.hash.as_bytes())
            .push_bind(t.key_hash.as_bytes())
            .push_bind(t.site_id)
            .push_bind(t.scope.as_str())
            .push_bind(t.issued_at)
            .push_bind(t.expires_at);
    });
    // Exact equality of SHA-256 digests of 256-bit keys: nothing for a timing attack
    // to learn, as with the key lookup of every other endpoint.
    insert.push(
        ") INSERT INTO access_tokens (token_hash, site_id, key_id, scope, issued_at, expires_at) \
         SELECT r.token_hash, k.site_id, k.key_id, r.scope, r.issued_at, r.expires_at \
         FROM requested r \
         JOIN api_keys k ON k.secret_hash = r.key_hash AND k.site_id = r.site_id \
         JOIN sites s ON s.site_id = k.site_id AND s.active \
         RETURNING token_hash, key_id, issued_at",
    );
    insert
}
