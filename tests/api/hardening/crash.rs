//! Crash safety: a server process killed with SIGKILL under concurrent logins, logouts
//! and token revocations loses nothing it acknowledged and revives nothing it ended.
//! Each store gets three kills of a real `tessera serve` process, ~1.5 s of load each.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

use super::cli::free_port;
use crate::both_databases;

const ROUNDS: usize = 3;
const WORKERS: usize = 6;
const LOAD: Duration = Duration::from_millis(1500);

/// What the server acknowledged about one session or token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Acknowledged as started (issued) and never asked to end.
    Live,
    /// An end was asked but not acknowledged before the kill: either outcome is fine.
    Unknown,
    /// Acknowledged as ended (logged out, revoked).
    Ended,
}

#[derive(Default)]
struct Ledger {
    sessions: HashMap<String, Fate>,
    tokens: HashMap<String, Fate>,
}

struct Node {
    child: Child,
    base: String,
}

/// Starts a server on `listen`; on the first run, returns the bootstrap site it prints.
async fn start(url: &str, listen: &str, first_run: bool) -> (Node, Option<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "serve",
            "--json",
            "--listen",
            listen,
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .args(["--database-url", url])
        .env_remove("TESSERA_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let bootstrap = if first_run {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("bootstrap printed")
            .unwrap()
            .expect("a line");
        Some(serde_json::from_str(&line).unwrap())
    } else {
        None
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (Node { child, base }, bootstrap)
}

async fn sigkill(node: &mut Node) {
    let pid = node.child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = node.child.wait().await;
}

async fn token(client: &reqwest::Client, base: &str, site: &str, key: &str) -> Option<String> {
    let response = client
        .post(format!("{base}/oauth2/token"))
        .basic_auth(site, Some(key))
        .form(&[("grant_type", "client_credentials"), ("scope", "accounts")])
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["access_token"].as_str().map(str::to_string)
}

/// One worker's loop: log in, sometimes log out, get and revoke tokens, recording
/// every acknowledgement in the ledger (marking ends as Unknown before asking).
async fn worker(id: usize, base: String, site: String, key: String, ledger: Arc<Mutex<Ledger>>) {
    let client = reqwest::Client::new();
    let Some(bearer) = token(&client, &base, &site, &key).await else {
        return;
    };
    for n in 0.. {
        let user = format!("w{id}-{n}");
        let login = client
            .post(format!("{base}/rest/v1/accounts/login"))
            .bearer_auth(&bearer)
            .form(&[("id", user.as_str()), ("name", "Crash Test")])
            .send()
            .await;
        let Ok(login) = login else { return };
        if login.status() != 200 {
            return;
        }
        let Ok(body) = login.json::<Value>().await else {
            return;
        };
        let session = body["session"].as_str().unwrap().to_string();
        ledger
            .lock()
            .unwrap()
            .sessions
            .insert(session.clone(), Fate::Live);
        if n % 2 == 0 {
            ledger
                .lock()
                .unwrap()
                .sessions
                .insert(session.clone(), Fate::Unknown);
            let logout = client
                .post(format!("{base}/rest/v1/accounts/logout"))
                .bearer_auth(&bearer)
                .form(&[("session", session.as_str())])
                .send()
                .await;
            match logout {
                Ok(r) if r.status() == 200 => {
                    ledger.lock().unwrap().sessions.insert(session, Fate::Ended);
                }
                _ => return,
            }
        }
        if n % 3 == 0 {
            let Some(issued) = token(&client, &base, &site, &key).await else {
                return;
            };
            ledger
                .lock()
                .unwrap()
                .tokens
                .insert(issued.clone(), Fate::Live);
            if n % 2 == 0 {
                ledger
                    .lock()
                    .unwrap()
                    .tokens
                    .insert(issued.clone(), Fate::Unknown);
                let revoke = client
                    .post(format!("{base}/oauth2/revoke"))
                    .basic_auth(&site, Some(&key))
                    .form(&[("token", issued.as_str())])
                    .send()
                    .await;
                match revoke {
                    Ok(r) if r.status() == 200 => {
                        ledger.lock().unwrap().tokens.insert(issued, Fate::Ended);
                    }
                    _ => return,
                }
            }
        }
    }
}

/// Checks every acknowledged fate against a fresh server on the same store.
async fn verify(base: &str, site: &str, key: &str, ledger: &Ledger) {
    let client = reqwest::Client::new();
    for (session, fate) in &ledger.sessions {
        let response = client
            .get(format!("{base}/rest/v1/session"))
            .header("X-Tessera-Session", session)
            .send()
            .await
            .unwrap();
        match fate {
            Fate::Live => assert_eq!(response.status(), 200, "an acknowledged login was lost"),
            Fate::Ended => assert_eq!(response.status(), 401, "an acknowledged logout was revived"),
            Fate::Unknown => {}
        }
    }
    for (token, fate) in &ledger.tokens {
        let response = client
            .post(format!("{base}/oauth2/introspect"))
            .basic_auth(site, Some(key))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        match fate {
            Fate::Live => assert_eq!(body["active"], true, "an acknowledged token was lost"),
            Fate::Ended => assert_eq!(
                body["active"], false,
                "an acknowledged revocation was undone"
            ),
            Fate::Unknown => {}
        }
    }
}

/// In the store itself: no session without the audit event of its login, and no
/// login's event without its session (still there, or ended by a recorded logout).
async fn sessions_match_their_events(url: &str, site: &str) {
    let store = tessera::store::Store::connect(url, &tessera::store::PoolSizes::default())
        .await
        .unwrap();
    let site_id: i64 = site.parse().unwrap();
    let mut events = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_audit(site_id, before, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.event_id);
        events.extend(page);
    }
    let refs = |action: &str| -> HashSet<String> {
        events
            .iter()
            .filter(|e| e.action == action && e.outcome == "success")
            .filter_map(|e| e.detail.0["session_ref"].as_str().map(str::to_string))
            .collect()
    };
    let (logins, logouts) = (refs("user.login"), refs("user.logout"));
    let users: HashSet<i64> = events
        .iter()
        .filter(|e| e.action == "user.login")
        .filter_map(|e| e.user_id)
        .collect();
    let mut live = HashSet::new();
    for user_id in users {
        for session in store.user_sessions(site_id, user_id, 0).await.unwrap() {
            live.insert(session.session_ref());
        }
    }
    assert!(!logins.is_empty());
    for session in &live {
        assert!(
            logins.contains(session),
            "a session without its login's audit event"
        );
    }
    for login in &logins {
        assert!(
            live.contains(login) || logouts.contains(login),
            "a login's audit event without its session"
        );
    }
    store.close().await;
}

both_databases! {
    async fn sigkill_under_load_loses_and_revives_nothing_acknowledged(db) {
        let listen = format!("127.0.0.1:{}", free_port());
        let (mut node, bootstrap) = start(&db.url, &listen, true).await;
        let bootstrap = bootstrap.expect("first run prints the bootstrap site");
        let site = bootstrap["site_id"].as_i64().unwrap().to_string();
        let key = bootstrap["api_key"].as_str().unwrap().to_string();
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        for round in 0..ROUNDS {
            let workers: Vec<_> = (0..WORKERS)
                .map(|w| tokio::spawn(worker(round * WORKERS + w, node.base.clone(), site.clone(), key.clone(), ledger.clone())))
                .collect();
            tokio::time::sleep(LOAD).await;
            sigkill(&mut node).await;
            for w in workers {
                let _ = w.await;
            }
            node = start(&db.url, &listen, false).await.0;
            let snapshot = {
                let ledger = ledger.lock().unwrap();
                Ledger { sessions: ledger.sessions.clone(), tokens: ledger.tokens.clone() }
            };
            let acknowledged = snapshot.sessions.values().filter(|f| **f != Fate::Unknown).count();
            assert!(acknowledged > 0, "round {round}: no load got through");
            verify(&node.base, &site, &key, &snapshot).await;
            sessions_match_their_events(&db.url, &site).await;
        }
        sigkill(&mut node).await;
    }
}
