//! Background deletion of expired tokens, sessions and replay-cache entries. Only rows past their
//! expiry are deleted, so a purge never ends anything still valid.

use tokio::sync::watch;

use crate::app::AppState;

/// Purges every `purge_interval` until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(state.config.purge_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = purge_once(&state).await {
                    tracing::warn!(error = %e, "purge of expired rows failed; will retry");
                }
            }
            // A change means stop (the only value ever sent); an error means the server is gone.
            _ = stop.changed() => return,
        }
    }
}

/// One pass; returns how many rows were deleted.
pub async fn purge_once(state: &AppState) -> Result<u64, crate::store::StoreError> {
    let now = state.now();
    let tokens = state.store.purge_expired_access_tokens(now).await?;
    let sessions = state.store.purge_expired_sessions(now).await?;
    let revocations = state.store.purge_expired_revocations(now).await?;
    let used_tokens = state.store.purge_used_tokens(now).await?;
    let failures = state
        .store
        .purge_login_failures(now - crate::password::rate_limit::RETENTION_MS)
        .await?;
    // A retired key verifies refreshes of its tokens until the refresh window ends.
    let keys_kept_for = crate::clock::duration_ms(state.config.jwt_refresh_window)
        + crate::clock::duration_ms(state.config.jwt_ttl);
    let keys = state
        .store
        .purge_retired_jwt_keys(now - keys_kept_for)
        .await?;
    let total = tokens + sessions + revocations + used_tokens + failures + keys;
    if total > 0 {
        tracing::debug!(
            tokens,
            sessions,
            revocations,
            used_tokens,
            failures,
            keys,
            "purged expired rows"
        );
    }
    Ok(total)
}
