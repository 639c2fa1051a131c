//! A node-local cache of live sessions, access tokens, API keys, users (by their site's
//! id for them), sites and allowed browser origins, for PostgreSQL, kept true by PostgreSQL
//! `LISTEN/NOTIFY`.
//!
//! On PostgreSQL every widget load would otherwise read its session from the database:
//! the database becomes the ceiling of the whole installation (one indexed read per
//! request, shared by every node). A cache hit costs a hash lookup in memory instead.
//!
//! The promise, and how each part of it is kept:
//! - **Every change that ends or alters a cached row notifies**, in the changing
//!   transaction itself: triggers (migration `0007_node_cache`) on `sessions`,
//!   `access_tokens`, `users`, `sites`, `site_origins` and `api_keys` send a payload on [`CHANNEL`]
//!   naming what changed ([`Message`]). Being triggers, no write path can forget them:
//!   not the server, not the CLI in another process, not SQL typed by hand.
//! - **Every node listens** (`listener`) and records each revocation with a sequence
//!   number. A cached entry carries the sequence number read *before* the database read
//!   that filled it, and is refused once a later revocation concerns it (its secret, its
//!   user, its site or its key). So a read racing a change can never put back what the
//!   change revoked, and a hit that follows no revocation costs one atomic load.
//! - **The node that made a change refuses at once**: the store waits, after its
//!   commit, for a fence of its own to come back on the channel (`listener::settle`);
//!   PostgreSQL delivers notifications in commit order, so the change's own
//!   notifications have been applied by then.
//! - **Other nodes refuse within milliseconds**: the time for a notification to reach
//!   them (measured by `tests/api/scale_out.rs`; the README states the figure).
//! - **No connection, no trust**: while the listening connection is down (or silent past
//!   its heartbeats) every read goes to the store and nothing is filled; once listening
//!   again, the node drops everything it held before trusting its cache again.
//! - Entries also expire on their own after a TTL (30 s by default), a last resort.
//! - Nothing negative is cached, an unknown secret is always asked of the store; except
//!   an origin's "no", which any change to a site's origins ends like its "yes".
//!
//! SQLite has no cache: its reads are in-process already (`direct`), and the CLI
//! writes it from another process without any notification.

pub(crate) mod listener;
mod message;
mod rows;

pub(crate) use message::{Message, Scope};
use rows::ANY_SITE;
pub(crate) use rows::{
    external_user_key, origin_key, secret_key, site_key, Cached, OriginAllowed, Tags,
};

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::oneshot;

use super::access_tokens::AccessTokenRecord;
use super::api_keys::KeyCredential;
use super::sessions::SessionRecord;
use super::sites::Site;
use super::users::User;
use super::StoreResult;

/// The notification channel of every invalidation (and of fences and heartbeats).
pub(crate) const CHANNEL: &str = "tessera_cache";

/// Revocations remembered at most before the whole cache is dropped instead: a flood of
/// changes must not make each lookup slower, nor the memory unbounded.
const MAX_REVOCATIONS: usize = 100_000;
/// Revocations older than the TTL concern no entry left (see [`Index::prune`]); they are
/// swept when this many have gathered.
const PRUNE_AT: usize = 4_096;

/// How large the caches are and how long an entry is trusted at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCacheSettings {
    /// Entries of each cache (sessions, access tokens, API keys, users); 0 turns caching off.
    pub entries: usize,
    /// An entry is read again from the store after this long, whatever happened.
    pub ttl: Duration,
    /// How often this node proves its listening connection alive; silent for five
    /// times this long, the connection is taken for dead.
    pub heartbeat: Duration,
}

impl Default for NodeCacheSettings {
    fn default() -> Self {
        Self {
            entries: 100_000,
            ttl: Duration::from_secs(30),
            heartbeat: Duration::from_secs(2),
        }
    }
}

/// When an entry's fill started: the revocation sequence then, and the time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    seq: u64,
    at: Instant,
}

struct Entry<V> {
    value: V,
    tags: Tags,
    ticket: Ticket,
    /// The revocation sequence up to which this entry is known to be unaffected.
    checked: AtomicU64,
}

/// Revocations since the oldest entry that may still be cached.
struct Index {
    /// The latest revocation of each scope, with when it was recorded.
    by_scope: HashMap<Scope, (u64, Instant)>,
    /// The last revocation of everything: no entry filled before it is trusted.
    all: u64,
    last_prune: Instant,
}

impl Index {
    /// Whether a revocation after `ticket` concerns an entry with `key` and `tags`.
    fn ends(&self, key: &[u8; 32], tags: &Tags, ticket: &Ticket) -> bool {
        if self.all > ticket.seq {
            return true;
        }
        let scopes = [
            Some(Scope::Secret(*key)),
            Some(Scope::Site(tags.site_id)),
            tags.user_id.map(Scope::User),
            tags.key_id.map(Scope::Key),
        ];
        scopes
            .iter()
            .flatten()
            .filter_map(|scope| self.by_scope.get(scope))
            .any(|(seq, _)| *seq > ticket.seq)
    }

    /// Drops revocations older than `ttl`: every entry whose fill started before them
    /// has expired (its ticket's time is taken before its read). False when even then
    /// too many remain, and the caller must revoke everything instead.
    fn prune(&mut self, ttl: Duration) -> bool {
        if self.by_scope.len() < PRUNE_AT || self.last_prune.elapsed() < Duration::from_secs(1) {
            return self.by_scope.len() <= MAX_REVOCATIONS;
        }
        self.last_prune = Instant::now();
        self.by_scope.retain(|_, (_, at)| at.elapsed() <= ttl);
        self.by_scope.len() <= MAX_REVOCATIONS
    }
}

/// What every shelf shares: the revocations, the trust and the TTL.
struct Shared {
    seq: AtomicU64,
    index: Mutex<Index>,
    trusted: AtomicBool,
    ttl: Duration,
}

impl Shared {
    fn index(&self) -> MutexGuard<'_, Index> {
        // A panic while holding it leaves the index as consistent as any state it had.
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How one cache's lookups went.
#[derive(Clone, Default)]
struct Lookups {
    hit: Counter,
    miss: Counter,
    /// Not trusted at the time (no listening connection): read from the store.
    bypass: Counter,
}

/// One cache (sessions, access tokens or API keys).
pub(crate) struct Shelf<V> {
    entries: quick_cache::sync::Cache<[u8; 32], Arc<Entry<V>>>,
    shared: Arc<Shared>,
    lookups: Lookups,
}

impl<V: Cached> Shelf<V> {
    fn new(
        entries: usize,
        shared: &Arc<Shared>,
        lookups: &Family<LookupLabels, Counter>,
        cache: &'static str,
    ) -> Self {
        let counter = |result| {
            lookups
                .get_or_create(&LookupLabels { cache, result })
                .clone()
        };
        Shelf {
            entries: quick_cache::sync::Cache::new(entries.max(1)),
            shared: shared.clone(),
            lookups: Lookups {
                hit: counter("hit"),
                miss: counter("miss"),
                bypass: counter("bypass"),
            },
        }
    }

    /// The cached row under `key`, if it may be trusted.
    fn get(&self, key: &[u8; 32]) -> Option<V> {
        if !self.shared.trusted.load(Ordering::Acquire) {
            self.lookups.bypass.inc();
            return None;
        }
        let found = self
            .entries
            .get(key)
            .filter(|entry| self.still_true(key, entry));
        match found {
            Some(entry) => {
                self.lookups.hit.inc();
                Some(entry.value.clone())
            }
            None => {
                self.lookups.miss.inc();
                None
            }
        }
    }

    fn still_true(&self, key: &[u8; 32], entry: &Entry<V>) -> bool {
        if entry.ticket.at.elapsed() >= self.shared.ttl {
            self.entries.remove(key);
            return false;
        }
        let last = self.shared.seq.load(Ordering::SeqCst);
        if entry.checked.load(Ordering::Relaxed) >= last {
            return true;
        }
        if self.shared.index().ends(key, &entry.tags, &entry.ticket) {
            self.entries.remove(key);
            return false;
        }
        entry.checked.fetch_max(last, Ordering::Relaxed);
        true
    }

    /// The row under `key`: from the cache when it holds a trusted one that `usable`
    /// accepts, else from `read` (the store), which then fills the cache.
    pub(crate) async fn read_through<F>(
        &self,
        key: [u8; 32],
        usable: impl Fn(&V) -> bool,
        read: F,
    ) -> StoreResult<Option<V>>
    where
        F: Future<Output = StoreResult<Option<V>>>,
    {
        if let Some(value) = self.get(&key).filter(|v| usable(v)) {
            return Ok(Some(value));
        }
        // Taken before the read: see the module documentation.
        let ticket = self.ticket();
        let found = read.await?;
        if let (Some(ticket), Some(value)) = (ticket, &found) {
            self.fill(key, ticket, value.clone());
        }
        Ok(found)
    }

    fn ticket(&self) -> Option<Ticket> {
        self.shared.trusted.load(Ordering::Acquire).then(|| Ticket {
            seq: self.shared.seq.load(Ordering::SeqCst),
            at: Instant::now(),
        })
    }

    fn fill(&self, key: [u8; 32], ticket: Ticket, value: V) {
        let entry = Entry {
            tags: value.tags(),
            value,
            ticket,
            checked: AtomicU64::new(ticket.seq),
        };
        self.entries.insert(key, Arc::new(entry));
    }

    /// Changes the cached row under `key` after this node wrote a change that no other
    /// node needs to hear of (a session's slide, a key's last use). The entry keeps its
    /// ticket, so a revocation that raced the change still ends it.
    pub(crate) fn update(&self, key: &[u8; 32], change: impl FnOnce(&mut V)) {
        if let Some(entry) = self.entries.peek(key) {
            let mut value = entry.value.clone();
            change(&mut value);
            let updated = Entry {
                value,
                tags: entry.tags,
                ticket: entry.ticket,
                checked: AtomicU64::new(entry.checked.load(Ordering::Relaxed)),
            };
            // Only if still there: a revoked entry is not put back.
            let _ = self.entries.replace(*key, Arc::new(updated), true);
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    cache: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabel {
    cache: &'static str,
}

/// The node's caches, their revocations and their metrics.
pub(crate) struct NodeCache {
    pub(crate) sessions: Shelf<SessionRecord>,
    pub(crate) tokens: Shelf<AccessTokenRecord>,
    pub(crate) keys: Shelf<KeyCredential>,
    /// Users by their site's id for them: a login of a returning user whose profile
    /// did not change then reads nothing before its commit (which reads the user
    /// again, in its transaction, before deciding).
    pub(crate) users: Shelf<User>,
    /// Allowed browser origins, yes or no (the CORS check of every widget request).
    pub(crate) origins: Shelf<OriginAllowed>,
    /// Sites with their origins and settings: every browser login reads its site first.
    pub(crate) sites: Shelf<Site>,
    shared: Arc<Shared>,
    /// Names this node's fences on the shared channel.
    node: String,
    next_fence: AtomicU64,
    fences: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    registry: Registry,
    entries: Family<CacheLabel, Gauge>,
    trusted_gauge: Gauge,
    invalidations: Counter,
    flushes: Counter,
    listen_lost: Counter,
}

impl std::fmt::Debug for NodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCache")
            .field("node", &self.node)
            .field("trusted", &self.is_trusted())
            .field("sessions", &self.sessions.len())
            .field("tokens", &self.tokens.len())
            .field("keys", &self.keys.len())
            .field("users", &self.users.len())
            .field("origins", &self.origins.len())
            .field("sites", &self.sites.len())
            .finish()
    }
}

impl NodeCache {
    /// Empty and not trusted until its listener says it listens (see [`NodeCache::trust`]).
    pub(crate) fn new(settings: &NodeCacheSettings) -> Self {
        let shared = Arc::new(Shared {
            seq: AtomicU64::new(0),
            index: Mutex::new(Index {
                by_scope: HashMap::new(),
                all: 0,
                last_prune: Instant::now(),
            }),
            trusted: AtomicBool::new(false),
            ttl: settings.ttl,
        });
        let mut registry = Registry::with_prefix("tessera_node_cache");
        let lookups = Family::<LookupLabels, Counter>::default();
        registry.register(
            "lookups",
            "Lookups of the node-local cache by cache and result (hit, miss, bypass: not trusted, read from the store)",
            lookups.clone(),
        );
        let sessions = Shelf::new(settings.entries, &shared, &lookups, "session");
        let tokens = Shelf::new(settings.entries, &shared, &lookups, "access_token");
        let keys = Shelf::new(settings.entries, &shared, &lookups, "api_key");
        let users = Shelf::new(settings.entries, &shared, &lookups, "user");
        let origins = Shelf::new(settings.entries, &shared, &lookups, "origin");
        let sites = Shelf::new(settings.entries, &shared, &lookups, "site");
        let entries = Family::<CacheLabel, Gauge>::default();
        registry.register("entries", "Entries held by each cache", entries.clone());
        let trusted_gauge = Gauge::default();
        registry.register(
            "trusted",
            "1 while the cache listens for invalidations and is used; 0 while every read goes to the store",
            trusted_gauge.clone(),
        );
        let invalidations = Counter::default();
        registry.register(
            "invalidations",
            "Invalidations applied (a session, token, user, site or key changed)",
            invalidations.clone(),
        );
        let flushes = Counter::default();
        registry.register(
            "flushes",
            "Times every entry was dropped (connection regained, fence lost, revocation flood)",
            flushes.clone(),
        );
        let listen_lost = Counter::default();
        registry.register(
            "listen_lost",
            "Times the listening connection was lost or fell silent",
            listen_lost.clone(),
        );
        Self {
            sessions,
            tokens,
            keys,
            users,
            origins,
            sites,
            shared,
            node: crate::secrets::random_urlsafe(9),
            next_fence: AtomicU64::new(1),
            fences: Mutex::new(HashMap::new()),
            registry,
            entries,
            trusted_gauge,
            invalidations,
            flushes,
            listen_lost,
        }
    }

    pub(crate) fn is_trusted(&self) -> bool {
        self.shared.trusted.load(Ordering::Acquire)
    }

    /// Applies one payload received on [`CHANNEL`].
    pub(crate) fn apply(&self, payload: &str) {
        match Message::parse(payload) {
            Message::Revoke(scope) => self.revoke(scope),
            Message::Fence { node, number } if node == self.node => {
                if let Some(waiter) = self.lock_fences().remove(&number) {
                    let _ = waiter.send(());
                }
            }
            Message::Fence { .. } | Message::Heartbeat => {}
        }
    }

    /// Ends every entry `scope` concerns, now and for any fill that started before.
    pub(crate) fn revoke(&self, scope: Scope) {
        let mut index = self.shared.index();
        // Bumped under the lock: a lookup that reads the new number and then takes
        // the lock finds the revocation recorded.
        let seq = self.shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
        self.invalidations.inc();
        let flush = match scope {
            Scope::All => true,
            scope => {
                let now = Instant::now();
                index.by_scope.insert(scope, (seq, now));
                if let Scope::Site(_) = scope {
                    // Whether any site allows an origin depends on this one too.
                    index.by_scope.insert(Scope::Site(ANY_SITE), (seq, now));
                }
                !index.prune(self.shared.ttl)
            }
        };
        if flush {
            index.all = seq;
            index.by_scope.clear();
            drop(index);
            self.flushes.inc();
            self.sessions.entries.clear();
            self.tokens.entries.clear();
            self.keys.entries.clear();
            self.users.entries.clear();
            self.origins.entries.clear();
        } else if let Scope::Secret(key) = scope {
            drop(index);
            // Freed at once; the index alone would refuse it anyway.
            self.sessions.entries.remove(&key);
            self.tokens.entries.remove(&key);
        }
    }

    /// The listener listens again: drop whatever was cached before, then trust.
    pub(crate) fn trust(&self) {
        self.revoke(Scope::All);
        self.shared.trusted.store(true, Ordering::Release);
        self.trusted_gauge.set(1);
    }

    /// The listening connection is gone: every read goes to the store until [`trust`].
    ///
    /// [`trust`]: NodeCache::trust
    pub(crate) fn distrust(&self) {
        if self.shared.trusted.swap(false, Ordering::AcqRel) {
            self.listen_lost.inc();
        }
        self.trusted_gauge.set(0);
        self.revoke(Scope::All);
        // Nobody will answer the fences in flight; their waiters flush on timeout.
        self.lock_fences().clear();
    }

    /// A new fence of this node: its payload, its number, and what fires when it is back.
    pub(crate) fn new_fence(&self) -> (String, u64, oneshot::Receiver<()>) {
        let number = self.next_fence.fetch_add(1, Ordering::Relaxed);
        let (sender, seen) = oneshot::channel();
        self.lock_fences().insert(number, sender);
        (format!("fence:{}:{number}", self.node), number, seen)
    }

    pub(crate) fn forget_fence(&self, number: u64) {
        self.lock_fences().remove(&number);
    }

    fn lock_fences(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<()>>> {
        self.fences.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This cache's metrics in the Prometheus text format.
    pub(crate) fn encode_metrics(&self, out: &mut String) -> std::fmt::Result {
        for (cache, len) in [
            ("session", self.sessions.len()),
            ("access_token", self.tokens.len()),
            ("api_key", self.keys.len()),
            ("user", self.users.len()),
            ("origin", self.origins.len()),
            ("site", self.sites.len()),
        ] {
            self.entries
                .get_or_create(&CacheLabel { cache })
                .set(len as i64);
        }
        prometheus_client::encoding::text::encode_registry(out, &self.registry)
    }
}

#[cfg(test)]
mod tests;
