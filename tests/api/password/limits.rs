//! Brute-force limits: per account and per client IP, counted in the shared store.

use std::time::Duration;

use tessera::clock::Clock;
use tessera::password::rate_limit::{Subject, ACCOUNT_RULES, IP_RULES};

use super::*;
use crate::both_databases;

const WRONG: &str = "a wrong password guess";

#[track_caller]
fn assert_limited(answer: &Answer, max_wait_secs: u64) {
    answer.assert_error(429, "too_many_attempts");
    let wait: u64 = answer
        .retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(wait >= 1 && wait <= max_wait_secs, "Retry-After {wait}");
}

both_databases! {
    async fn an_account_is_locked_after_too_many_failures(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "alice", None, PASSWORD).await;
        create_user(&app, 1, "bob", None, PASSWORD).await;
        let limit = ACCOUNT_RULES[0].limit;
        for _ in 0..limit {
            login(&app, &[("username", "alice"), ("password", WRONG)]).await.assert_error(401, "invalid_credentials");
        }
        // Blocked, even with the right password, and in any letter case.
        let window = (ACCOUNT_RULES[0].window_ms / 1000) as u64;
        assert_limited(&login(&app, &[("username", "alice"), ("password", PASSWORD)]).await, 2 * window);
        assert_limited(&login(&app, &[("username", "ALICE"), ("password", WRONG)]).await, 2 * window);
        // Another account from the same address is not affected.
        assert_eq!(login(&app, &[("username", "bob"), ("password", PASSWORD)]).await.status, 200);
        // Unknown accounts are limited alike (no hint that they do not exist).
        for _ in 0..limit {
            login(&app, &[("username", "nobody"), ("password", WRONG)]).await;
        }
        assert_limited(&login(&app, &[("username", "nobody"), ("password", WRONG)]).await, 2 * window);
        // Blocked attempts cost no hash and are not counted: the lock ends as announced.
        app.clock.advance(Duration::from_millis(2 * ACCOUNT_RULES[0].window_ms as u64));
        assert_eq!(login(&app, &[("username", "alice"), ("password", PASSWORD)]).await.status, 200);
        app.stop().await;
    }

    async fn successes_do_not_reset_the_ip_counter(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "mallory", None, PASSWORD).await;
        // Bring the address close to its limit, as if from many earlier guesses.
        let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let windows = Subject::ip_only(ip).windows(app.clock.now_ms());
        for _ in 0..IP_RULES[0].limit - 3 {
            app.store.record_login_failure(&windows).await.unwrap();
        }
        // The attacker interleaves guesses on other accounts with their own good logins.
        for victim in ["victim1", "victim2", "victim3"] {
            login(&app, &[("username", victim), ("password", WRONG)]).await.assert_error(401, "invalid_credentials");
            let own = login(&app, &[("username", "mallory"), ("password", PASSWORD)]).await;
            if victim != "victim3" {
                assert_eq!(own.status, 200, "{}", own.text);
            } else {
                assert_limited(&own, 600);
            }
        }
        assert_limited(&login(&app, &[("username", "victim4"), ("password", WRONG)]).await, 600);
        app.stop().await;
    }

    async fn counters_are_shared_by_servers_on_one_database(db) {
        let first_node = spawn(&db).await;
        let second_node = spawn(&db).await;
        create_user(&first_node, 1, "alice", None, PASSWORD).await;
        let limit = ACCOUNT_RULES[0].limit;
        for i in 0..limit {
            let node = if i % 2 == 0 { &first_node } else { &second_node };
            login(node, &[("username", "alice"), ("password", WRONG)]).await.assert_error(401, "invalid_credentials");
        }
        assert_limited(&login(&first_node, &[("username", "alice"), ("password", PASSWORD)]).await, 600);
        assert_limited(&login(&second_node, &[("username", "alice"), ("password", PASSWORD)]).await, 600);
        first_node.stop().await;
        second_node.stop().await;
    }
}
