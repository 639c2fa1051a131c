//! The batch writer on a sqlx pool (PostgreSQL, in-memory SQLite): a task that writes
//! each batch as multi-row statements.

use std::collections::{BTreeSet, HashMap, HashSet};

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

/// A login's user as the batch read it, and its site's state.
type Decided = (User, bool);

/// The users of a batch's logins (a list of ids follows, then `)`), each with whether its
/// site is active: one statement, one round trip.
const USERS_OF_LOGINS: &str = concat!(
    "SELECT ",
    crate::store::users::user_columns!(),
    ", EXISTS (SELECT 1 FROM sites WHERE sites.site_id = users.site_id AND sites.active) \
     AS site_active FROM users WHERE user_id IN ("
);

/// Whether each site is active (a list of ids follows).
const SITES_ACTIVE: &str = "SELECT site_id, active FROM sites WHERE site_id IN (";

/// `sql`, which ends in `IN (`, with the distinct `ids` bound and the list closed;
/// `None` for no ids. (One user may log in several times in one batch.)
fn in_list<'a, DB>(sql: &str, ids: impl Iterator<Item = i64>) -> Option<QueryBuilder<'a, DB>>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
{
    let ids: BTreeSet<i64> = ids.collect();
    if ids.is_empty() {
        return None;
    }
    let mut query = QueryBuilder::new(sql);
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(")");
    Some(query)
}

#[derive(sqlx::FromRow)]
struct UserOfLogin {
    #[sqlx(flatten)]
    user: UserRow,
    site_active: bool,
}

/// The writes of a batch, in a transaction begun on first use ([`Writes::tx`]). A batch
/// whose only write is its last statement needs none: logins of known users, the
/// commonest batch under load, are one statement (`rows`), atomic by itself, where BEGIN
/// and COMMIT would be two more round trips to the database.
struct Writes<'p, P: BeginWrite> {
    pool: &'p P,
    tx: Option<sqlx::Transaction<'static, P::Db>>,
}

impl<P: BeginWrite> Writes<'_, P> {
    /// The batch's transaction, begun now if it was not.
    async fn tx(&mut self) -> sqlx::Result<&mut <P::Db as Database>::Connection> {
        let tx = match self.tx.take() {
            Some(tx) => tx,
            None => self.pool.begin_write().await?,
        };
        Ok(&mut **self.tx.insert(tx))
    }

    async fn commit(self) -> sqlx::Result<()> {
        match self.tx {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }
}

impl Batch<'_> {
    fn backend(&self) -> &Backend {
        self.backend
    }

    /// Writes the rows, in one transaction when they need more than one statement; for
    /// each row, what became of it.
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
                // The reads first, outside any transaction: under PostgreSQL's READ
                // COMMITTED each statement sees what was committed before it started, in
                // a transaction or not (and on SQLite this writer is the only one).
                let users = logins.iter().filter_map(|l| match l.user {
                    LoginUser::Existing { user_id } => Some(user_id),
                    LoginUser::Profile(_) => None,
                });
                let mut found: HashMap<i64, Decided> = HashMap::new(); // by user id
                if let Some(mut query) = in_list(USERS_OF_LOGINS, users) {
                    let rows: Vec<UserOfLogin> = query.build_query_as().fetch_all(pool).await?;
                    found.extend(rows.into_iter().map(|r| {
                        let user = r.user.into_user();
                        (user.user_id, (user, r.site_active))
                    }));
                }
                // The sites of the profiles written below.
                let profile_sites = logins
                    .iter()
                    .filter(|l| matches!(l.user, LoginUser::Profile(_)))
                    .map(|l| l.site_id);
                let mut sites: HashMap<i64, bool> = HashMap::new();
                if let Some(mut query) = in_list(SITES_ACTIVE, profile_sites) {
                    let found: Vec<(i64, bool)> = query.build_query_as().fetch_all(pool).await?;
                    sites.extend(found);
                }
                let mut writes = Writes { pool, tx: None };
                if !tokens.is_empty() {
                    inserted = token_insert(&tokens)
                        .build_query_as()
                        .fetch_all(writes.tx().await?)
                        .await?;
                }
                for s in &slides {
                    let done = sqlx::query(SLIDE_SESSION)
                        .bind(s.now)
                        .bind(s.idle_expires_at)
                        .bind(s.hash.as_bytes())
                        .execute(writes.tx().await?)
                        .await?;
                    slid.push(done.rows_affected() == 1);
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
                    let rows: Vec<Vec<u8>> = query
                        .build_query_scalar()
                        .fetch_all(writes.tx().await?)
                        .await?;
                    spent.extend(rows);
                }
                for login in &logins {
                    if let Some(t) = &login.once {
                        if !spent.remove(t.key.as_bytes()) {
                            outcomes.push(LoginOutcome::Replayed);
                            continue;
                        }
                    }
                    let (user, site_active) = match &login.user {
                        LoginUser::Profile(profile) => {
                            // Each in a savepoint, so that a refusal undoes it.
                            let mut savepoint = sqlx::Acquire::begin(writes.tx().await?).await?;
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
                        // Missing only if it never existed (users are marked deleted,
                        // never removed): then that login alone fails, in the per-row retry.
                        LoginUser::Existing { user_id } => {
                            found.get(user_id).cloned().ok_or_else(|| {
                                StoreError::Corrupt(format!("user {user_id} of a login is missing"))
                            })?
                        }
                    };
                    let (reason, event, session) = login.decide(&user, site_active);
                    events.push(event);
                    sessions.extend(session);
                    outcomes.push(match reason {
                        None => LoginOutcome::Admitted(user),
                        Some(_) => LoginOutcome::Refused { user, site_active },
                    });
                }
                let mut inserts = rows::inserts(&sessions, &events);
                if writes.tx.is_none() && inserts.len() <= 1 {
                    // At most one statement, atomic by itself.
                    if let Some(mut insert) = inserts.pop() {
                        insert.build().execute(pool).await?;
                    }
                } else {
                    let connection = writes.tx().await?;
                    for mut insert in inserts {
                        insert.build().execute(&mut *connection).await?;
                    }
                    writes.commit().await?;
                }
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
