//! The batch writer on a sqlx pool (PostgreSQL, in-memory SQLite): a task that writes
//! each batch as multi-row statements.

use std::collections::{HashMap, HashSet};

use sqlx::{Database, Encode, QueryBuilder, Type};
use tokio::sync::mpsc;

use super::{note_use, Insert, KeyUses, Reply, MAX_BATCH, RECORD_KEY_USE};
use crate::clock::Millis;
use crate::store::access_tokens::NewAccessToken;
use crate::store::api_keys::LAST_USED_RESOLUTION_MS;
use crate::store::audit::NewAuditEvent;
use crate::store::sessions::NewSession;
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
                    let written = store.write_all(&[&row]).await.map(|w| w[0]);
                    let _ = reply.send(written);
                }
            }
        }
    }
}

struct Batch<'a> {
    backend: &'a Backend,
    key_uses: KeyUses,
}

impl Batch<'_> {
    fn backend(&self) -> &Backend {
        self.backend
    }

    /// Writes the rows in one transaction; for each row, whether it was written.
    async fn write_all(&mut self, rows: &[&Insert]) -> Result<Vec<bool>, StoreError> {
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
        let mut inserted: Vec<IssuedToken> = Vec::new();
        on_store!(self, write, |pool| {
            if sessions.is_empty() {
                // One statement is a transaction of its own: one round trip to the
                // database instead of three, and tokens are most of what is written.
                inserted = token_insert(&tokens)
                    .build_query_as()
                    .fetch_all(pool)
                    .await?;
            } else {
                let mut tx = pool.begin().await?;
                if !tokens.is_empty() {
                    inserted = token_insert(&tokens)
                        .build_query_as()
                        .fetch_all(&mut *tx)
                        .await?;
                }
                // Not empty: a batch without sessions took the branch above.
                let mut insert =
                    QueryBuilder::new(crate::store::sessions::session_insert_columns!());
                insert.push_values(&sessions, |mut row, s| {
                    row.push_bind(s.hash.as_bytes())
                        .push_bind(s.site_id)
                        .push_bind(s.user_id)
                        .push_bind(s.kind.as_str())
                        .push_bind(s.created_at)
                        .push_bind(s.created_at)
                        .push_bind(s.idle_expires_at)
                        .push_bind(s.expires_at)
                        .push_bind(s.reverify_at)
                        .push_bind(s.client_ip.as_deref());
                });
                insert.build().execute(&mut *tx).await?;
                if !events.is_empty() {
                    let mut insert =
                        QueryBuilder::new(crate::store::audit::audit_insert_columns!());
                    insert.push_values(&events, |mut row, e| {
                        row.push_bind(e.site_id)
                            .push_bind(e.at)
                            .push_bind(e.actor.as_str())
                            .push_bind(e.action)
                            .push_bind(e.outcome.as_str())
                            .push_bind(e.client_ip.as_deref())
                            .push_bind(e.detail.to_string())
                            .push_bind(e.user_id());
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        });
        self.outcome(rows, inserted).await
    }

    /// For each row, whether it was written; and the use of each key that issued a
    /// token, recorded when due.
    async fn outcome(
        &mut self,
        rows: &[&Insert],
        inserted: Vec<IssuedToken>,
    ) -> Result<Vec<bool>, StoreError> {
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
        Ok(rows
            .iter()
            .map(|row| match row {
                Insert::AccessToken(t) => issued.contains(t.hash.as_bytes()),
                Insert::Session(..) => true,
            })
            .collect())
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
