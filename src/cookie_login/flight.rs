//! One verification per cookie in flight: concurrent logins with the same site,
//! endpoint and cookie value share one outgoing request and its answer (a page
//! with several widgets, a browser retrying, a flash crowd behind one shared
//! session). Nothing is kept once the answer is in: this is not a cache.
//!
//! The map is keyed by a SHA-256 of the site, the endpoint and the cookie, never
//! by the cookie itself; the clear value lives only in the request's own future.
//! A login that joins gets the answer to the request made with the settings
//! (headers, timeout) of the login that started it: they differ only while a
//! site's settings are being changed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::future::{BoxFuture, FutureExt, Shared, WeakShared};
use sha2::{Digest, Sha256};

use super::verifier::{Unavailable, Verdict};

pub type Key = [u8; 32];
type Answer = Result<Verdict, Unavailable>;
type Request = BoxFuture<'static, Answer>;
pub type Flight = Shared<Request>;
/// The flights in progress: an id (to tell a flight from a later one of the same
/// key) and a weak handle, which does not keep an abandoned request alive.
type InFlight = HashMap<Key, (u64, WeakShared<Request>)>;

#[derive(Default)]
pub struct Flights {
    in_flight: Mutex<InFlight>,
    next_id: AtomicU64,
}

/// What identifies one verification: who asks (site), whom (endpoint), about what (cookie).
pub fn key(site_id: i64, endpoint: &str, cookie: &str) -> Key {
    let mut hash = Sha256::new();
    hash.update(site_id.to_be_bytes());
    // Lengths keep the parts apart: ("ab", "c") and ("a", "bc") differ.
    hash.update((endpoint.len() as u64).to_be_bytes());
    hash.update(endpoint.as_bytes());
    hash.update(cookie.as_bytes());
    hash.finalize().into()
}

impl Flights {
    fn map(&self) -> MutexGuard<'_, InFlight> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The verification of `key` already in flight, or a new one made by `start`.
    /// The second value says whether it was joined.
    ///
    /// The request goes on while any caller still waits for it, and is dropped
    /// (like an abandoned request) when the last one goes away.
    pub fn join_or_start<F>(self: &Arc<Self>, key: Key, start: impl FnOnce() -> F) -> (Flight, bool)
    where
        F: Future<Output = Answer> + Send + 'static,
    {
        let mut map = self.map();
        if let Some(flight) = map.get(&key).and_then(|(_, weak)| weak.upgrade()) {
            return (flight, true);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let leave = Leave {
            flights: self.clone(),
            key,
            id,
        };
        let request = start();
        let flight = async move {
            // Dropped when the answer is in, or when nobody waits any more.
            let _leave = leave;
            request.await
        }
        .boxed()
        .shared();
        if let Some(weak) = flight.downgrade() {
            map.insert(key, (id, weak));
        }
        (flight, false)
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Takes a flight off the map when it ends, unless a newer one took its place.
struct Leave {
    flights: Arc<Flights>,
    key: Key,
    id: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let mut map = self.flights.map();
        if map.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    fn counting(started: &Arc<AtomicUsize>) -> impl Future<Output = Answer> + Send + 'static {
        let started = started.clone();
        async move {
            started.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Verdict::Answer(serde_json::json!({"uid": "1"})))
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_request_and_nothing_is_kept() {
        let flights = Arc::new(Flights::default());
        let started = Arc::new(AtomicUsize::new(0));
        let k = key(1, "https://a.example/?s=", "c1");
        let (first, joined) = flights.join_or_start(k, || counting(&started));
        assert!(!joined);
        let (second, joined) = flights.join_or_start(k, || counting(&started));
        assert!(joined);
        let (other, joined) =
            flights.join_or_start(key(1, "https://a.example/?s=", "c2"), || counting(&started));
        assert!(!joined, "another cookie is another request");
        let (a, b, c) = tokio::join!(first, second, other);
        assert!(matches!((a, b, c), (Ok(_), Ok(_), Ok(_))));
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert!(flights.is_empty(), "answers are not cached");
        let (again, joined) = flights.join_or_start(k, || counting(&started));
        assert!(!joined);
        again.await.unwrap();
        assert_eq!(started.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_flight_nobody_waits_for_is_dropped_and_forgotten() {
        let flights = Arc::new(Flights::default());
        let started = Arc::new(AtomicUsize::new(0));
        let k = key(1, "https://a.example/?s=", "c1");
        let (flight, _) = flights.join_or_start(k, || counting(&started));
        // Polled once (the request starts), then abandoned.
        let _ = tokio::time::timeout(Duration::from_millis(1), flight).await;
        assert!(flights.is_empty());
        let (_, joined) = flights.join_or_start(k, || counting(&started));
        assert!(!joined);
    }

    #[test]
    fn keys_separate_sites_endpoints_and_cookies() {
        let base = key(1, "https://a.example/?s=", "c1");
        assert_eq!(base, key(1, "https://a.example/?s=", "c1"));
        assert_ne!(base, key(2, "https://a.example/?s=", "c1"));
        assert_ne!(base, key(1, "https://a.example/?s=c", "1"));
        assert_ne!(base, key(1, "https://a.example/?s=", "c2"));
    }
}
