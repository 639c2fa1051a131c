//! Command-line errors that sent operators the wrong way (SPEC §8): each names the
//! thing to fix. And `tessera demo` never writes into a store it was not given on its
//! own command line.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio::process::Command;

use crate::both_databases;
use crate::cli::{tessera, tessera_fails};

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn bare_tessera() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    command
}

both_databases! {
    async fn a_taken_port_is_named_with_its_listener(db) {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = taken.local_addr().unwrap().to_string();
        let listen = format!("127.0.0.1:{}", free_port());
        let run = tessera(&db.url, &["serve", "--listen", &listen, "--metrics-listen", &taken]).await;
        assert!(!run.status.success());
        assert!(run.stderr.contains(&taken), "{}", run.stderr);
        assert!(run.stderr.contains("metrics listener"), "{}", run.stderr);
        assert!(run.stderr.contains("--metrics-listen"), "{}", run.stderr);
    }

    async fn config_check_reads_the_environment_and_flags_like_serve(db) {
        let check = |vars: &'static [(&'static str, &'static str)], args: &'static [&'static str]| {
            let url = db.url.clone();
            async move {
                let mut command = bare_tessera();
                command.arg("config").arg("check").args(args).env("TESSERA_DATABASE_URL", url);
                for (name, value) in vars {
                    command.env(name, value);
                }
                command.output().await.unwrap()
            }
        };
        let ok = check(&[], &[]).await;
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        let bad_env = check(&[("TESSERA_SESSION_IDLE_TIMEOUT", "1s")], &[]).await;
        assert!(!bad_env.status.success(), "config check ignored TESSERA_SESSION_IDLE_TIMEOUT");
        assert!(String::from_utf8_lossy(&bad_env.stderr).contains("session_idle_timeout"));
        let bad_flag = check(&[], &["--http-idle-timeout", "1ms"]).await;
        assert!(!bad_flag.status.success());
        assert!(String::from_utf8_lossy(&bad_flag.stderr).contains("http_idle_timeout"));
        let bad_proxy = check(&[("TESSERA_TRUSTED_PROXIES", "10.0.0.0/8,nonsense")], &[]).await;
        assert!(!bad_proxy.status.success());
        assert!(String::from_utf8_lossy(&bad_proxy.stderr).contains("nonsense"));
        let old = check(&[("TESSERA_TRUST_FORWARDED_FOR", "true")], &[]).await;
        assert!(!old.status.success(), "the replaced setting was silently ignored");
        assert!(String::from_utf8_lossy(&old.stderr).contains("trusted_proxies"));
    }

    async fn demo_ignores_the_environments_store(db) {
        let mut child = bare_tessera()
            .args(["demo", "--json", "--listen", &format!("127.0.0.1:{}", free_port())])
            .args(["--site-listen", &format!("127.0.0.1:{}", free_port())])
            .env("TESSERA_DATABASE_URL", &db.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("demo started")
            .unwrap()
            .expect("one line");
        let first: Value = serde_json::from_str(&first).unwrap();
        // The demo's site admin logs in to the console with what the demo printed.
        let tessera = first["tessera_url"].as_str().unwrap().to_string();
        assert_eq!(first["console"], format!("{tessera}/admin"));
        let site = first["site_id"].to_string();
        let password = first["admin_password"].as_str().unwrap().to_string();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = client.post(format!("{tessera}/admin/login"))
            .header("Origin", &tessera)
            .form(&[("site_id", site.as_str()), ("username", "admin"), ("password", password.as_str())])
            .send().await.unwrap();
        assert!(crate::console::set_cookie(login.headers()).is_some(), "console login: {}", login.status());
        let _ = child.start_kill();
        let _ = child.wait().await;
        assert_ne!(first["database_url"].as_str(), Some(db.url.as_str()));
        // Nothing was written to the environment's store: the SQLite file was not even
        // created, the PostgreSQL database has no sites.
        if db.url.starts_with("sqlite") {
            let path = db.url.trim_start_matches("sqlite://");
            assert!(!std::path::Path::new(path).exists(), "demo created {path}");
        } else {
            let store = db.open_store().await;
            assert_eq!(store.count_sites().await.unwrap(), 0, "demo wrote into TESSERA_DATABASE_URL");
            store.close().await;
        }
    }
}

#[tokio::test]
async fn a_missing_sqlite_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let url = format!("sqlite://{}/tessera.db", missing.display());
    tessera_fails(&url, &["migrate"], &missing.display().to_string()).await;
}

#[tokio::test]
async fn operator_commands_do_not_create_a_missing_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["site", "list"][..],
        &["key", "list", "1"],
        &["jwt-keys", "rotate"],
    ] {
        let output = bare_tessera()
            .args(args)
            .current_dir(dir.path())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded on no store");
        assert!(
            stderr.contains("tessera.db") && stderr.contains("does not exist"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("tessera migrate"), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            !dir.path().join("tessera.db").exists(),
            "{args:?} created ./tessera.db"
        );
    }
    // `migrate` creates it; then the same command works.
    let output = bare_tessera()
        .arg("migrate")
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let output = bare_tessera()
        .args(["site", "list"])
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
