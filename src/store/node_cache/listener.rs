//! The node cache's connection to PostgreSQL: it listens on [`CHANNEL`] and applies
//! what it hears, proves itself alive with heartbeats, and carries fences, by which a
//! node that made a change waits until its own cache has heard of it.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use super::{NodeCache, Scope, CHANNEL};

/// How long a node waits for its own fence before it drops its whole cache instead
/// (the database or the listening connection is in trouble: safe beats fast).
const FENCE_WAIT: Duration = Duration::from_secs(2);
/// First pause before listening again after a failure; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The listening and heartbeat tasks of one store; both stop with it (or when its
/// pool closes).
pub(crate) struct Listening {
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for Listening {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts listening for `cache` on `pool`'s database.
pub(crate) fn spawn(cache: Arc<NodeCache>, pool: PgPool, heartbeat: Duration) -> Listening {
    let beat = tokio::spawn(beat(pool.clone(), heartbeat));
    let listen = tokio::spawn(listen(cache, pool, heartbeat * 5));
    Listening {
        tasks: [listen, beat],
    }
}

/// Listens, applies, and on any doubt stops trusting the cache and listens anew.
async fn listen(cache: Arc<NodeCache>, pool: PgPool, silence: Duration) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let mut listener = match connect(&pool).await {
            Ok(listener) => listener,
            Err(_) if pool.is_closed() => return,
            Err(e) => {
                tracing::warn!(error = %e, ?backoff, "node cache: cannot listen for invalidations; reading from the store meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = FIRST_BACKOFF;
        // Listening from here on: whatever commits now is heard; what was cached
        // before may have missed a change, so it goes.
        cache.trust();
        tracing::debug!("node cache: listening for invalidations");
        let lost = loop {
            match tokio::time::timeout(silence, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => cache.apply(notification.payload()),
                Ok(Ok(None)) => break "the connection was lost".to_string(),
                Ok(Err(sqlx::Error::PoolClosed)) => {
                    cache.distrust();
                    return;
                }
                Ok(Err(e)) => break e.to_string(),
                Err(_) => break format!("nothing heard for {silence:?}, heartbeats included"),
            }
        };
        cache.distrust();
        tracing::warn!(reason = %lost, "node cache: stopped listening; reading from the store until listening again");
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // This loop reconnects itself, and must know when it does (to flush).
    listener.eager_reconnect(false);
    // Named for operators (`pg_stat_activity`), and for the test that kills it.
    sqlx::query("SET application_name = 'tessera node cache'")
        .execute(&mut listener)
        .await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Every `every`, a heartbeat on the channel: a listening connection that hears
/// nothing for long is dead even if no error said so.
async fn beat(pool: PgPool, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(e) = notify(&pool, "heartbeat").await {
            tracing::debug!(error = %e, "node cache: heartbeat not sent");
        }
    }
}

async fn notify(pool: &PgPool, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(pool)
        .await
        .map(drop)
}

/// Returns once this node's cache has applied every notification committed before
/// the call (a fence sent now comes back after them: PostgreSQL delivers notifications
/// in commit order). Called after a change, so that this node refuses at once what
/// the change ended. Without an answer in time, the whole cache is dropped instead.
pub(crate) async fn settle(cache: &NodeCache, pool: &PgPool) {
    if !cache.is_trusted() {
        // Not used now, and flushed before it is trusted again.
        return;
    }
    let (payload, number, seen) = cache.new_fence();
    let back = match notify(pool, &payload).await {
        Ok(()) => matches!(tokio::time::timeout(FENCE_WAIT, seen).await, Ok(Ok(()))),
        Err(e) => {
            tracing::warn!(error = %e, "node cache: fence not sent");
            false
        }
    };
    if !back {
        cache.forget_fence(number);
        cache.revoke(Scope::All);
    }
}
