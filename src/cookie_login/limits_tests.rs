//! The per-site bound: slots, queue, adaptive limit and breaker together, on a
//! manual clock (the breaker's) and real but short deadlines (the queue's).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::clock::ManualClock;

const A: &str = "https://a.example/?s=";
const B: &str = "https://b.example/?s=";
const LONG: Duration = Duration::from_secs(30);

fn fixed(n: usize, max_queued: usize) -> SiteLimits {
    SiteLimits::new(LimitSettings {
        floor: n,
        initial: n,
        ceiling: n,
        max_queued,
    })
}

/// Free slots must always be the limit less what is in flight.
fn assert_consistent(limits: &SiteLimits, site_id: i64) {
    let guard = limits.guards().by_site.get(&site_id).cloned().unwrap();
    let state = guard.state();
    assert_eq!(
        guard.slots.available_permits() + state.in_flight,
        state.limit.limit() + state.debt,
        "in flight {}, debt {}",
        state.in_flight,
        state.debt
    );
}

#[tokio::test]
async fn slots_are_per_site_and_freed_when_done() {
    let clock = ManualClock::starting_now();
    let limits = fixed(2, 0);
    let a1 = limits.admit(1, A, LONG, &clock).await.unwrap();
    let _a2 = limits.admit(1, A, LONG, &clock).await.unwrap();
    assert_eq!(
        limits.admit(1, A, LONG, &clock).await.err(),
        Some(Shed::QueueFull),
        "no queue allowed here"
    );
    assert!(
        limits.admit(2, B, LONG, &clock).await.is_ok(),
        "other sites are unaffected"
    );
    drop(a1);
    assert!(limits.admit(1, A, LONG, &clock).await.is_ok());
    assert_consistent(&limits, 1);
}

#[tokio::test]
async fn a_full_site_queues_in_order() {
    let clock = Arc::new(ManualClock::starting_now());
    let limits = Arc::new(fixed(1, 16));
    let held = limits.admit(1, A, LONG, &*clock).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut waiters = Vec::new();
    for i in 0..4 {
        let (mine, my_clock, tx) = (limits.clone(), clock.clone(), tx.clone());
        waiters.push(tokio::spawn(async move {
            let pass = mine.admit(1, A, LONG, &*my_clock).await.unwrap();
            tx.send(i).unwrap();
            pass.answered();
        }));
        // Each waiter is queued before the next one asks.
        while limits.stats(1, clock.now_ms()).unwrap().queued < i + 1 {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(limits.stats(1, clock.now_ms()).unwrap().queued, 4);
    held.answered();
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(rx.recv().await.unwrap());
    }
    assert_eq!(order, [0, 1, 2, 3], "first come, first served");
    for w in waiters {
        w.await.unwrap();
    }
    let stats = limits.stats(1, clock.now_ms()).unwrap();
    assert_eq!((stats.in_flight, stats.queued), (0, 0));
    assert_consistent(&limits, 1);
}

#[tokio::test]
async fn a_wait_that_cannot_end_in_time_is_shed_at_once() {
    let clock = ManualClock::starting_now();
    let limits = fixed(2, 16);
    let _a1 = limits.admit(1, A, LONG, &clock).await.unwrap();
    let _a2 = limits.admit(1, A, LONG, &clock).await.unwrap();
    {
        let guard = limits.guards().by_site.get(&1).cloned().unwrap();
        let mut state = guard.state();
        for _ in 0..20 {
            state
                .limit
                .on_sample(Duration::from_secs(1), Outcome::Answered, 1, Instant::now());
        }
    }
    // Two slots, each free again in about a second: the first waiter expects
    // 0.5 s of waiting and 1 s of request.
    let started = Instant::now();
    let shed = limits
        .admit(1, A, Duration::from_millis(1200), &clock)
        .await;
    assert_eq!(shed.err(), Some(Shed::Busy));
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "not after waiting"
    );
    // With a deadline that leaves room, it waits, and gives up when no time is left
    // for the request (1.55 s less 1 s of latency).
    let shed = limits
        .admit(1, A, Duration::from_millis(1550), &clock)
        .await;
    assert_eq!(shed.err(), Some(Shed::QueueTimeout));
    assert_eq!(limits.stats(1, clock.now_ms()).unwrap().queued, 0);
}

#[tokio::test]
async fn before_any_answer_a_waiter_waits_until_the_deadline() {
    let clock = ManualClock::starting_now();
    let limits = fixed(1, 16);
    let _held = limits.admit(1, A, LONG, &clock).await.unwrap();
    let shed = limits.admit(1, A, Duration::from_millis(30), &clock).await;
    assert_eq!(shed.err(), Some(Shed::QueueTimeout));
}

#[tokio::test]
async fn failures_lower_the_limit_and_answers_raise_it() {
    let clock = ManualClock::starting_now();
    let limits = SiteLimits::new(LimitSettings {
        floor: 2,
        initial: 8,
        ceiling: 16,
        max_queued: 64,
    });
    let mut passes = Vec::new();
    for _ in 0..8 {
        passes.push(limits.admit(1, A, LONG, &clock).await.unwrap());
    }
    // Four time out while four are still in flight: the limit falls below the
    // number held, and the slots of those four are not given back.
    for pass in passes.drain(..4) {
        pass.failed(clock.now_ms());
    }
    let stats = limits.stats(1, clock.now_ms()).unwrap();
    assert_eq!((stats.limit, stats.in_flight), (5, 4), "8 × 0.9⁴ = 5.2");
    assert_consistent(&limits, 1);
    assert!(stats.error_rate > 0.0);
    // Only one more may start.
    let extra = limits.admit(1, A, LONG, &clock).await.unwrap();
    assert_eq!(
        limits
            .admit(1, A, Duration::from_millis(20), &clock)
            .await
            .err(),
        Some(Shed::QueueTimeout)
    );
    extra.answered();
    for pass in passes {
        pass.answered();
    }
    assert_consistent(&limits, 1);
    // A busy, healthy endpoint earns its slots back.
    for _ in 0..10 {
        let limit = limits.stats(1, clock.now_ms()).unwrap().limit;
        let mut round = Vec::new();
        for _ in 0..limit {
            round.push(limits.admit(1, A, LONG, &clock).await.unwrap());
        }
        for pass in round {
            pass.answered();
        }
        assert_consistent(&limits, 1);
    }
    assert_eq!(limits.stats(1, clock.now_ms()).unwrap().limit, 16);
}

#[tokio::test]
async fn a_rising_limit_lets_waiters_in() {
    let clock = Arc::new(ManualClock::starting_now());
    let limits = Arc::new(SiteLimits::new(LimitSettings {
        floor: 1,
        initial: 2,
        ceiling: 8,
        max_queued: 16,
    }));
    let a1 = limits.admit(1, A, LONG, &*clock).await.unwrap();
    let _a2 = limits.admit(1, A, LONG, &*clock).await.unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (limits, clock) = (limits.clone(), clock.clone());
            tokio::spawn(async move { limits.admit(1, A, LONG, &*clock).await.map(|_| ()) })
        })
        .collect();
    while limits.stats(1, clock.now_ms()).unwrap().queued < 2 {
        tokio::task::yield_now().await;
    }
    // One answer under full load: its slot comes back and the limit grows by one.
    a1.answered();
    for w in waiters {
        assert_eq!(w.await.unwrap(), Ok(()));
    }
    assert_eq!(limits.stats(1, clock.now_ms()).unwrap().limit, 3);
}

#[tokio::test]
async fn the_breaker_opens_per_site_and_probes_after_the_cool_down() {
    let clock = ManualClock::starting_now();
    let limits = SiteLimits::default();
    for _ in 0..super::super::breaker::FAILURE_THRESHOLD {
        limits
            .admit(1, A, LONG, &clock)
            .await
            .unwrap()
            .failed(clock.now_ms());
    }
    assert_eq!(
        limits.admit(1, A, LONG, &clock).await.err(),
        Some(Shed::CircuitOpen)
    );
    assert!(limits.stats(1, clock.now_ms()).unwrap().circuit_open);
    assert!(limits.admit(2, B, LONG, &clock).await.is_ok());

    clock.advance(super::super::breaker::COOL_DOWN);
    let probe = limits.admit(1, A, LONG, &clock).await.unwrap();
    assert_eq!(
        limits.admit(1, A, LONG, &clock).await.err(),
        Some(Shed::CircuitOpen),
        "one probe at a time"
    );
    probe.answered();
    let stats = limits.stats(1, clock.now_ms()).unwrap();
    assert!(!stats.circuit_open);
    assert_eq!(stats.error_rate, 0.0, "the outage is forgotten");
    assert!(limits.admit(1, A, LONG, &clock).await.is_ok());

    // A corrected endpoint is not held responsible for the old one's failures.
    for _ in 0..super::super::breaker::FAILURE_THRESHOLD {
        limits
            .admit(1, A, LONG, &clock)
            .await
            .unwrap()
            .failed(clock.now_ms());
    }
    assert!(limits
        .admit(1, "https://a2.example/?s=", LONG, &clock)
        .await
        .is_ok());
}

#[tokio::test]
async fn an_abandoned_verification_frees_its_slot_without_a_sample() {
    let clock = ManualClock::starting_now();
    let limits = fixed(1, 0);
    let pass = limits.admit(1, A, LONG, &clock).await.unwrap();
    drop(pass);
    let stats = limits.stats(1, clock.now_ms()).unwrap();
    assert_eq!((stats.in_flight, stats.p50_latency_ms), (0, 0.0));
    assert!(limits.admit(1, A, LONG, &clock).await.is_ok());
}

#[tokio::test]
async fn idle_sites_are_forgotten_and_busy_ones_kept() {
    let clock = ManualClock::starting_now();
    let limits = fixed(2, 0);
    for site_id in 1..=100 {
        drop(limits.admit(site_id, A, LONG, &clock).await.unwrap());
    }
    let in_flight = limits.admit(101, A, LONG, &clock).await.unwrap();
    for _ in 0..super::super::breaker::FAILURE_THRESHOLD {
        let pass = limits.admit(103, B, LONG, &clock).await.unwrap();
        pass.failed(clock.now_ms());
    }
    let minute = Duration::from_secs(60);
    clock.advance(minute * 9);
    drop(limits.admit(1, A, LONG, &clock).await.unwrap());
    assert_eq!(
        limits.all_stats(clock.now_ms()).len(),
        102,
        "none idle for long enough"
    );
    clock.advance(minute * 2);
    drop(limits.admit(102, A, LONG, &clock).await.unwrap());
    let mut kept: Vec<i64> = limits
        .all_stats(clock.now_ms())
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    kept.sort_unstable();
    assert_eq!(
        kept,
        [1, 101, 102, 103],
        "called lately, in flight, just called, tripped"
    );
    // A forgotten site starts again, from the initial limit.
    assert!(limits.stats(50, clock.now_ms()).is_none());
    drop(limits.admit(50, A, LONG, &clock).await.unwrap());
    assert_eq!(limits.stats(50, clock.now_ms()).unwrap().limit, 2);
    drop(in_flight);
}
