use super::*;
use crate::store::StoreError;

fn session(user_id: i64, site_id: i64) -> SessionRecord {
    SessionRecord {
        site_id,
        user_id,
        kind: "server".into(),
        created_at: 0,
        last_seen_at: 0,
        idle_expires_at: i64::MAX,
        expires_at: i64::MAX,
        reverify_at: None,
        display_name: format!("user {user_id}"),
        photo_url: None,
        role: "user".into(),
    }
}

fn trusted(settings: NodeCacheSettings) -> NodeCache {
    let cache = NodeCache::new(&settings);
    cache.trust();
    cache
}

fn key(n: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&n.to_le_bytes());
    key
}

/// Reads `key` through the cache; `store` answers a miss.
async fn read(cache: &NodeCache, key: [u8; 32], store: SessionRecord) -> Option<SessionRecord> {
    cache
        .sessions
        .read_through(
            key,
            |_| true,
            async move { Ok::<_, StoreError>(Some(store)) },
        )
        .await
        .unwrap()
}

fn cached(cache: &NodeCache, key: [u8; 32]) -> Option<SessionRecord> {
    cache.sessions.get(&key)
}

#[test]
fn payloads_of_the_triggers_and_of_nodes_are_read() {
    let stored: Vec<u8> = (0u8..40).collect();
    let hex: String = stored.iter().map(|b| format!("{b:02x}")).collect();
    let secret = secret_key(&stored);
    assert_eq!(secret[0], 8, "the SHA-256 part follows the issue time");
    for kind in ["session", "token"] {
        assert_eq!(
            Message::parse(&format!("{kind}:{hex}")),
            Message::Revoke(Scope::Secret(secret))
        );
    }
    assert_eq!(Message::parse("user:42"), Message::Revoke(Scope::User(42)));
    assert_eq!(Message::parse("site:7"), Message::Revoke(Scope::Site(7)));
    assert_eq!(Message::parse("key:9"), Message::Revoke(Scope::Key(9)));
    assert_eq!(Message::parse("all"), Message::Revoke(Scope::All));
    assert_eq!(Message::parse("heartbeat"), Message::Heartbeat);
    assert_eq!(
        Message::parse("fence:node-a:12"),
        Message::Fence {
            node: "node-a".into(),
            number: 12
        }
    );
    // What this version cannot read may matter: everything goes.
    for garbage in [
        "",
        "user:x",
        "session:zz",
        "session:abc",
        "fence:n",
        "newthing:1",
    ] {
        assert_eq!(
            Message::parse(garbage),
            Message::Revoke(Scope::All),
            "{garbage}"
        );
    }
}

#[tokio::test]
async fn an_untrusted_cache_is_neither_read_nor_filled() {
    let cache = NodeCache::new(&NodeCacheSettings::default());
    assert!(read(&cache, key(1), session(1, 1)).await.is_some());
    assert_eq!(cached(&cache, key(1)), None);
    assert_eq!(cache.sessions.len(), 0);
    assert_eq!(cache.sessions.lookups.bypass.get(), 2);
}

#[tokio::test]
async fn a_revocation_ends_what_it_concerns_and_nothing_else() {
    let cache = trusted(NodeCacheSettings::default());
    read(&cache, key(1), session(10, 1)).await;
    read(&cache, key(2), session(20, 1)).await;
    read(&cache, key(3), session(30, 2)).await;
    assert_eq!(cached(&cache, key(1)).unwrap().user_id, 10);

    cache.revoke(Scope::User(10));
    assert_eq!(cached(&cache, key(1)), None);
    assert!(cached(&cache, key(2)).is_some());

    cache.revoke(Scope::Site(1));
    assert_eq!(cached(&cache, key(2)), None);
    assert!(cached(&cache, key(3)).is_some());

    cache.revoke(Scope::Secret(key(3)));
    assert_eq!(cached(&cache, key(3)), None);
    assert_eq!(cache.sessions.len(), 0, "ended entries are dropped");
}

#[tokio::test]
async fn a_read_racing_a_revocation_does_not_put_back_what_it_ended() {
    let cache = trusted(NodeCacheSettings::default());
    // The store answers with the row as it was before the change; the change is
    // heard while the read is in flight.
    let filled = cache
        .sessions
        .read_through(key(1), |_| true, async {
            cache.apply("user:10");
            Ok::<_, StoreError>(Some(session(10, 1)))
        })
        .await
        .unwrap();
    assert!(filled.is_some(), "the reader gets what the store said");
    assert_eq!(
        cached(&cache, key(1)),
        None,
        "but the cache does not keep it"
    );
}

#[tokio::test]
async fn an_update_keeps_the_entry_revocable() {
    let cache = trusted(NodeCacheSettings::default());
    read(&cache, key(1), session(10, 1)).await;
    cache.sessions.update(&key(1), |s| s.last_seen_at = 5);
    assert_eq!(cached(&cache, key(1)).unwrap().last_seen_at, 5);
    cache.revoke(Scope::User(10));
    cache.sessions.update(&key(1), |s| s.last_seen_at = 6);
    assert_eq!(cached(&cache, key(1)), None);
}

#[tokio::test]
async fn losing_the_connection_drops_everything_until_listening_again() {
    let cache = trusted(NodeCacheSettings::default());
    read(&cache, key(1), session(10, 1)).await;
    cache.distrust();
    assert_eq!(cached(&cache, key(1)), None);
    cache.trust();
    assert_eq!(
        cached(&cache, key(1)),
        None,
        "nothing from before is trusted"
    );
    read(&cache, key(1), session(10, 1)).await;
    assert!(cached(&cache, key(1)).is_some());
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    let cache = trusted(NodeCacheSettings {
        ttl: Duration::from_millis(30),
        ..NodeCacheSettings::default()
    });
    read(&cache, key(1), session(10, 1)).await;
    assert!(cached(&cache, key(1)).is_some());
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(cached(&cache, key(1)), None);
}

#[tokio::test]
async fn a_flood_of_revocations_drops_everything_instead_of_growing() {
    let cache = trusted(NodeCacheSettings::default());
    read(&cache, key(1), session(0, 0)).await;
    for user in 1..=(MAX_REVOCATIONS as i64 + 1) {
        cache.revoke(Scope::User(user));
    }
    assert!(cache.shared.index().by_scope.len() <= MAX_REVOCATIONS);
    assert_eq!(cached(&cache, key(1)), None);
    assert!(cache.flushes.get() >= 2, "trust, then the flood");
}

#[tokio::test]
async fn a_fence_of_this_node_wakes_its_waiter_and_another_nodes_does_not() {
    let cache = trusted(NodeCacheSettings::default());
    let (payload, _, seen) = cache.new_fence();
    cache.apply("fence:someone-else:1");
    cache.apply(&payload);
    seen.await.expect("fence seen");
}

/// A million distinct sessions through a cache of the default size: it holds at
/// most its capacity, and the memory it takes is printed (`--nocapture`).
#[tokio::test]
async fn a_million_distinct_sessions_stay_within_the_bound() {
    let settings = NodeCacheSettings::default();
    let cache = trusted(settings.clone());
    let rss_before = resident_kib();
    for n in 0..1_000_000u64 {
        let user = n as i64;
        read(&cache, key(n), session(user, 1)).await;
    }
    let held = cache.sessions.len();
    assert!(
        held <= settings.entries,
        "{held} entries held, bound {}",
        settings.entries
    );
    assert!(held > settings.entries / 2, "the cache is used: {held}");
    let rss_after = resident_kib();
    println!(
        "1,000,000 distinct sessions: {held} cached (bound {}), resident memory {} -> {} MiB",
        settings.entries,
        rss_before / 1024,
        rss_after / 1024
    );
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_change_to_any_site_ends_the_answers_about_every_site() {
    let cache = trusted(NodeCacheSettings::default());
    let cache = &cache;
    let answer = |site| async move {
        cache
            .origins
            .read_through(
                origin_key(site, "https://a.example"),
                |_| true,
                async move {
                    Ok::<_, StoreError>(Some(OriginAllowed {
                        site,
                        allowed: false,
                    }))
                },
            )
            .await
            .unwrap()
    };
    answer(None).await;
    answer(Some(1)).await;
    answer(Some(2)).await;
    let cached = |site| cache.origins.get(&origin_key(site, "https://a.example"));
    assert!(cached(None).is_some() && cached(Some(1)).is_some());
    cache.apply("site:1");
    assert_eq!(cached(None), None, "any site: site 1 was one of them");
    assert_eq!(cached(Some(1)), None);
    assert!(cached(Some(2)).is_some(), "another site's answer stays");
}
