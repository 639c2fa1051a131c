//! The defect as it was found: with the file-descriptor limit at 1024, about a thousand
//! silent TCP connections made the server log `accept error: Too many open files` and
//! stop answering, `/healthz` included. The real binary runs under `ulimit -n 1024`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::process::Command;

use super::cli::free_port;

/// Raises this test process's own soft limit so that it can hold the sockets.
fn raise_own_fd_limit(to: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < to {
            limit.rlim_cur = to.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_with_a_thousand_idle_sockets_under_ulimit_1024() {
    raise_own_fd_limit(4096);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tessera.db", dir.path().display());
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new("sh")
        .args(["-c", r#"ulimit -n 1024 && exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "serve",
            "--listen",
            &listen,
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .args(["--database-url", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let healthz = format!("http://{listen}/healthz");
    let mut up = false;
    for _ in 0..300 {
        if client.get(&healthz).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "server did not come up");

    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(TcpStream::connect(&listen).await.expect("connect"));
    }
    // Let the server take in what it will.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for round in 0..3 {
        let response = client.get(&healthz).send().await;
        let response = response.unwrap_or_else(|e| {
            panic!("/healthz round {round} failed with 1000 idle sockets open: {e}")
        });
        assert_eq!(response.status(), 200);
    }
    drop(idle);
    let _ = child.start_kill();
    let _ = child.wait().await;
    let logs = logs.await.unwrap();
    assert!(!logs.contains("Too many open files"), "{logs}");
}
