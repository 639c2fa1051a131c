//! Connection limits and timeouts (SPEC §8 "Connections"), on raw sockets: what a
//! slowloris client, a stalled upload or a kept-alive client after an early answer
//! actually sees. Short timeouts (1 s) keep the tests fast; the checks give the
//! server many times that before calling it a failure, and measure nothing.

use std::time::Duration;

use tessera::config::Config;
use tokio::net::TcpStream;

use super::{closed_within, host_of, read_response, send};
use crate::both_databases;
use crate::helpers::{test_config, TestApp, TestDb};

/// Far longer than any 1 s timeout needs; a server that never closes fails here.
const GRACE: Duration = Duration::from_secs(20);

async fn spawn_short(db: &TestDb, edit: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config {
        http_header_timeout: Duration::from_secs(1),
        http_body_timeout: Duration::from_secs(1),
        http_idle_timeout: Duration::from_secs(1),
        ..test_config(db)
    };
    edit(&mut config);
    TestApp::spawn(db, config).await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(host_of(&app.base))
        .await
        .expect("connect")
}

/// A raw request with a form body of `body` bytes: head and body as separate writes.
fn head(path: &str, auth: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    )
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

both_databases! {
    async fn a_slowloris_head_is_cut_at_the_header_timeout(db) {
        let app = spawn_short(&db, |_| {}).await;
        // Silent from the start.
        let mut silent = connect(&app).await;
        // Trickling a head that never ends.
        let mut trickle = connect(&app).await;
        send(&mut trickle, b"GET /healthz HTTP/1.1\r\nHost: t\r\n").await;
        let trickling = async {
            for i in 0.. {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if !send(&mut trickle, format!("X-Slow-{i}: y\r\n").as_bytes()).await {
                    return true;
                }
                if i > 100 {
                    return false;
                }
            }
            false
        };
        let (silent_closed, trickle_cut) = tokio::join!(closed_within(&mut silent, GRACE), trickling);
        assert!(silent_closed, "a connection that never sent a head stayed open");
        assert!(trickle_cut, "a head trickled for 20 s was still being read");
        app.stop().await;
    }

    async fn a_stalled_body_is_answered_408_and_closed(db) {
        let app = spawn_short(&db, |_| {}).await;
        let token = app.token("accounts").await;
        let mut stream = connect(&app).await;
        let mut buffer = Vec::new();
        send(&mut stream, head("/rest/v1/accounts/login", &format!("Bearer {token}"), 100).as_bytes()).await;
        send(&mut stream, b"id=1&name=").await;
        let response = tokio::time::timeout(GRACE, read_response(&mut stream, &mut buffer))
            .await
            .expect("a stalled body was held past 20 s");
        if let Some(response) = response {
            assert_eq!(response.status, 408, "{response:?}");
            assert!(response.body.contains("invalid_request"), "{response:?}");
            assert!(response.closes(), "{response:?}");
        }
        assert!(closed_within(&mut stream, GRACE).await);
        app.stop().await;
    }

    async fn an_idle_keep_alive_connection_closes_after_the_idle_timeout(db) {
        let app = spawn_short(&db, |c| c.http_header_timeout = Duration::from_secs(30)).await;
        let mut stream = connect(&app).await;
        let mut buffer = Vec::new();
        send(&mut stream, HEALTHZ).await;
        let response = read_response(&mut stream, &mut buffer).await.expect("answer");
        assert_eq!(response.status, 200);
        assert!(!response.closes());
        // Idle at 1 s, not the 30 s header timeout.
        assert!(closed_within(&mut stream, GRACE).await, "idle connection kept open");
        app.stop().await;
    }

    async fn past_max_connections_new_clients_wait_and_are_served(db) {
        let app = spawn_short(&db, |c| {
            c.max_connections = Some(8);
            // Long: only the cap can make room, not the timeouts.
            c.http_header_timeout = Duration::from_secs(300);
            c.http_idle_timeout = Duration::from_secs(300);
        }).await;
        let mut idle = Vec::new();
        for _ in 0..40 {
            idle.push(connect(&app).await);
        }
        // A request in progress on a connection at the cap is not broken.
        let response = tokio::time::timeout(GRACE, app.client.get(app.url("/healthz")).send())
            .await
            .expect("a new client was locked out by idle connections")
            .expect("request");
        assert_eq!(response.status(), 200);
        drop(idle);
        app.stop().await;
    }

    async fn an_early_answer_never_strands_the_next_request(db) {
        let app = spawn_short(&db, |c| {
            c.http_body_timeout = Duration::from_secs(30);
            c.http_idle_timeout = Duration::from_secs(30);
            c.http_header_timeout = Duration::from_secs(30);
        }).await;
        let token = app.token("accounts").await;
        let body = "id=42&name=Ada";
        for (path, auth) in [
            ("/rest/v1/accounts/login", "Bearer wrong"),
            ("/rest/v1/accounts/logout", "Bearer wrong"),
            ("/rest/v1/accounts/login", "Basic d3Jvbmc6d3Jvbmc="),
        ] {
            let mut stream = connect(&app).await;
            let mut buffer = Vec::new();
            // The head alone: the server may answer before the body arrives.
            send(&mut stream, head(path, auth, body.len()).as_bytes()).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            send(&mut stream, body.as_bytes()).await;
            let first = read_response(&mut stream, &mut buffer).await.expect("first answer");
            assert!(first.status >= 400, "{path}: {first:?}");
            send(&mut stream, HEALTHZ).await;
            match read_response(&mut stream, &mut buffer).await {
                Some(second) => assert_eq!(second.status, 200, "{path}: {second:?}"),
                None => assert!(first.closes(), "{path}: {} closed without Connection: close; the next request was lost", first.status),
            }
        }
        // A body past the 64 KiB cap cannot be drained: the answer says so.
        let mut stream = connect(&app).await;
        let mut buffer = Vec::new();
        let big = "a".repeat(100 * 1024);
        send(&mut stream, head("/rest/v1/accounts/login", &format!("Bearer {token}"), big.len()).as_bytes()).await;
        send(&mut stream, big.as_bytes()).await;
        let first = read_response(&mut stream, &mut buffer).await.expect("413");
        assert_eq!(first.status, 413, "{first:?}");
        send(&mut stream, HEALTHZ).await;
        if read_response(&mut stream, &mut buffer).await.is_none() {
            assert!(first.closes(), "413 closed without Connection: close");
        }
        app.stop().await;
    }
}
