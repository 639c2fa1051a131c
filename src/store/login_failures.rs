//! Counters of failed password logins in fixed time windows, kept in the store so
//! that the limits hold across every node sharing it.

use super::{on_store, BeginWrite, Store, StoreResult};
use crate::clock::Millis;

impl Store {
    /// Failures counted for each of `buckets` in windows starting at or after `since`:
    /// `(bucket, window_start, failures)`.
    pub async fn login_failures(
        &self,
        buckets: &[String],
        since: Millis,
    ) -> StoreResult<Vec<(String, Millis, i64)>> {
        let mut all = Vec::new();
        // One indexed lookup per bucket (a handful), same SQL on both backends.
        for bucket in buckets {
            let rows = on_store!(self, read, |pool| {
                sqlx::query_as::<_, (String, Millis, i64)>(
                    "SELECT bucket, window_start, failures FROM login_failures \
                         WHERE bucket = $1 AND window_start >= $2",
                )
                .bind(bucket)
                .bind(since)
                .fetch_all(pool)
                .await?
            });
            all.extend(rows);
        }
        Ok(all)
    }

    /// Counts one failure in each `(bucket, window_start)`, atomically (an upsert, so
    /// concurrent failures on several nodes all count); returns the new counts.
    pub async fn record_login_failure(
        &self,
        windows: &[(String, Millis)],
    ) -> StoreResult<Vec<i64>> {
        let counts = on_store!(self, write, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut counts = Vec::with_capacity(windows.len());
            for (bucket, window_start) in windows {
                let count: i64 = sqlx::query_scalar(
                        "INSERT INTO login_failures (bucket, window_start, failures) VALUES ($1, $2, 1) \
                         ON CONFLICT (bucket, window_start) DO UPDATE SET failures = login_failures.failures + 1 \
                         RETURNING failures",
                    )
                    .bind(bucket)
                    .bind(window_start)
                    .fetch_one(&mut *tx)
                    .await?;
                counts.push(count);
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// Deletes windows that started before `before` (no limit looks that far back).
    pub async fn purge_login_failures(&self, before: Millis) -> StoreResult<u64> {
        let deleted = on_store!(self, write, |pool| {
            sqlx::query("DELETE FROM login_failures WHERE window_start < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }
}
