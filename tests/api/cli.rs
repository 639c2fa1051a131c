//! The `tessera` binary: operator commands straight on the store, `--json` output,
//! errors as one sentence on stderr with a non-zero status.

use serde_json::Value;
use tokio::process::Command;

use crate::both_databases;

pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

pub async fn tessera(database_url: &str, args: &[&str]) -> Run {
    // Operator commands refuse a SQLite file that does not exist (SPEC §8): like an
    // operator, the tests create the store first.
    let path = database_url
        .strip_prefix("sqlite://")
        .map(std::path::Path::new);
    let creates_it = matches!(
        args.first(),
        Some(&("migrate" | "serve" | "demo" | "config"))
    );
    if !creates_it && path.is_some_and(|p| !p.exists() && p.parent().is_some_and(|d| d.is_dir())) {
        let migrated = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("migrate")
            .env("TESSERA_DATABASE_URL", database_url)
            .output()
            .await
            .expect("run tessera migrate");
        assert!(migrated.status.success(), "{migrated:?}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", database_url)
        .env_remove("TESSERA_CONFIG")
        .output()
        .await
        .expect("run tessera");
    Run {
        status: output.status,
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs a command that must succeed with `--json` and returns its one JSON object.
pub async fn tessera_json(database_url: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let run = tessera(database_url, &all).await;
    assert!(run.status.success(), "{args:?} failed: {}", run.stderr);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "one JSON line expected: {}",
        run.stdout
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", run.stdout))
}

/// A failing command: non-zero status, nothing on stdout, one sentence on stderr.
pub async fn tessera_fails(database_url: &str, args: &[&str], needle: &str) {
    let run = tessera(database_url, args).await;
    assert!(!run.status.success(), "{args:?} should fail");
    assert!(run.stdout.is_empty(), "{args:?} printed {}", run.stdout);
    assert!(
        run.stderr.contains(needle),
        "{args:?}: stderr {:?} lacks {needle:?}",
        run.stderr
    );
    assert_eq!(
        run.stderr.trim().lines().count(),
        1,
        "{args:?}: one line expected: {}",
        run.stderr
    );
}

both_databases! {
    async fn sites_and_keys_round_trip(db) {
        let url = db.url.as_str();
        let created = tessera_json(url, &["site", "create", "--name", "Daily News", "--origin", "https://news.example", "--origin", "https://NEWS.example/"]).await;
        let site_id = created["site_id"].as_i64().unwrap();
        let site = site_id.to_string();
        assert!(created["api_key"].as_str().unwrap().starts_with("tsk_"));

        let list = tessera_json(url, &["site", "list"]).await;
        let sites = list["sites"].as_array().unwrap();
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0]["name"], "Daily News");
        assert_eq!(sites[0]["origins"], serde_json::json!(["https://news.example"]));
        assert_eq!(sites[0]["active"], true);

        let key = tessera_json(url, &["key", "create", &site, "--label", "backend"]).await;
        let key_id = key["key_id"].as_i64().unwrap();
        let secret = key["api_key"].as_str().unwrap().to_string();
        let keys = tessera_json(url, &["key", "list", &site]).await;
        let keys = keys["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        let listed = keys.iter().find(|k| k["key_id"] == key_id).unwrap();
        assert_eq!(listed["label"], "backend");
        assert!(secret.starts_with(listed["prefix"].as_str().unwrap()));
        // The listing never shows a secret.
        assert!(!serde_json::to_string(&keys).unwrap().contains(&secret[12..]));

        // The key is not stored in clear anywhere in the database.
        if db.backend == crate::helpers::Backend::Sqlite {
            let path = url.trim_start_matches("sqlite://");
            let mut raw = std::fs::read(path).unwrap();
            if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
                raw.extend(wal);
            }
            assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "API key stored in clear");
        }

        let deleted = tessera_json(url, &["key", "delete", &site, &key_id.to_string()]).await;
        assert_eq!(deleted["deleted"], true);
        tessera_fails(url, &["key", "delete", &site, &key_id.to_string()], "has no key").await;

        let disabled = tessera_json(url, &["site", "disable", &site]).await;
        assert_eq!(disabled["active"], false);
        let enabled = tessera_json(url, &["site", "enable", &site]).await;
        assert_eq!(enabled["active"], true);

        let configured = tessera_json(url, &["site", "configure", &site, "--api-key-mandatory", "true", "--origin", "http://localhost:3000"]).await;
        assert_eq!(configured["api_key_mandatory"], true);
        assert_eq!(configured["origins"], serde_json::json!(["http://localhost:3000"]));

        // Text output too.
        let run = tessera(url, &["site", "list"]).await;
        assert!(run.status.success());
        assert!(run.stdout.contains("Daily News"));
    }

    async fn bad_input_is_one_sentence_and_changes_nothing(db) {
        let url = db.url.as_str();
        tessera_fails(url, &["site", "create", "--name", "  "], "must not be empty").await;
        tessera_fails(url, &["site", "create", "--name", "x", "--origin", "news.example"], "not a web origin").await;
        tessera_fails(url, &["site", "disable", "42"], "no site 42").await;
        tessera_fails(url, &["key", "create", "42"], "no site 42").await;
        tessera_fails(url, &["key", "list", "42"], "no site 42").await;
        tessera_fails(url, &["site", "configure", "42", "--api-key-mandatory", "true"], "no site 42").await;
        let list = tessera_json(url, &["site", "list"]).await;
        assert_eq!(list["sites"], serde_json::json!([]));
        // Usage errors come from clap with a non-zero status.
        let run = tessera(url, &["site", "disable", "abc"]).await;
        assert!(!run.status.success());
        assert!(run.stderr.contains("not a site id"), "{}", run.stderr);
    }

    async fn migrate_reports_what_it_applied(db) {
        let first = tessera_json(&db.url, &["migrate"]).await;
        assert!(first["applied"].as_u64().unwrap() >= 1);
        let second = tessera_json(&db.url, &["migrate"]).await;
        assert_eq!(second["applied"], 0);
    }
}

#[tokio::test]
async fn config_example_is_valid_and_check_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/unused.db", dir.path().display());
    let example = tessera(&url, &["config", "example"]).await;
    assert!(example.status.success());
    let good = dir.path().join("good.toml");
    std::fs::write(&good, &example.stdout).unwrap();
    let checked = tessera_json(
        &url,
        &["config", "check", "--config", good.to_str().unwrap()],
    )
    .await;
    assert_eq!(checked["valid"], true);

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "listen = \"127.0.0.1:8080\"\nsession_idle_timeout = \"forever\"\n",
    )
    .unwrap();
    tessera_fails(
        &url,
        &["config", "check", "--config", bad.to_str().unwrap()],
        "session_idle_timeout",
    )
    .await;
    std::fs::write(&bad, "lissen = 1\n").unwrap();
    tessera_fails(
        &url,
        &["config", "check", "--config", bad.to_str().unwrap()],
        "unknown field",
    )
    .await;
    tessera_fails(
        &url,
        &["config", "check", "--config", "/nonexistent.toml"],
        "cannot read",
    )
    .await;
}

#[tokio::test]
async fn serve_bootstraps_a_first_site_and_answers_the_printed_curl() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tessera.db", dir.path().display());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "serve",
            "--listen",
            &listen,
            "--metrics-listen",
            "127.0.0.1:0",
            "--json",
        ])
        .env("TESSERA_DATABASE_URL", &url)
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    // Drained while the server runs, so a full pipe can never block it.
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let first: Value = serde_json::from_str(&first).unwrap();
    let site = first["site_id"].as_i64().unwrap().to_string();
    let key = first["api_key"].as_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let token_url = format!("http://{listen}/oauth2/token");
    let mut response = None;
    for _ in 0..100 {
        match client
            .post(&token_url)
            .basic_auth(&site, Some(&key))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
        {
            Ok(r) => {
                response = Some(r);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let response = response.expect("server came up");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    let introspected = client
        .post(format!("http://{listen}/oauth2/introspect"))
        .basic_auth(&site, Some(&key))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(introspected.status(), 200);
    // SIGTERM: graceful shutdown with a zero exit status.
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    // Even at debug level, the logs never contain the key or the token.
    let logs = logs.await.unwrap();
    assert!(logs.contains("tessera is serving"), "{logs}");
    assert!(!logs.contains(&key[4..]), "API key in the logs");
    assert!(!logs.contains(&token), "access token in the logs");
}
