//! `tessera user create|set-password` (password on stdin) and `jwt-keys rotate`.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use super::*;
use crate::both_databases;
use crate::cli::tessera;

/// Runs `tessera ARGS --json` with `stdin` piped in.
async fn tessera_stdin(db: &TestDb, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .arg("--json")
        .env("TESSERA_DATABASE_URL", &db.url)
        .env_remove("TESSERA_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

both_databases! {
    async fn users_are_created_and_their_passwords_set_from_stdin(db) {
        let app = spawn(&db).await;
        let create = ["user", "create", "1", "--username", "carol", "--email", "carol@example.com",
                      "--first-name", "Carol", "--role", "agent", "--password-stdin"];

        let (ok, stdout, stderr) = tessera_stdin(&db, &create, "too short\n").await;
        assert!(!ok && stdout.is_empty());
        assert!(stderr.contains("too short") && stderr.trim().lines().count() == 1, "{stderr}");
        assert_eq!(sql_i64(&db, "SELECT COUNT(*) FROM users").await, 0, "nothing created");
        let (ok, _, stderr) = tessera_stdin(&db, &create, "").await;
        assert!(!ok && stderr.contains("no password on stdin"), "{stderr}");
        // Passwords never come from arguments.
        let argv = tessera(&db.url, &["user", "create", "1", "--username", "carol", "--password", PASSWORD]).await;
        assert!(!argv.status.success());
        let no_flag = tessera(&db.url, &["user", "create", "1", "--username", "carol"]).await;
        assert!(!no_flag.status.success());

        let (ok, stdout, stderr) = tessera_stdin(&db, &create, &format!("{PASSWORD}\n")).await;
        assert!(ok, "{stderr}");
        let created: Value = serde_json::from_str(&stdout).unwrap();
        let user_id = created["user_id"].as_i64().unwrap();
        let (ok, _, stderr) = tessera_stdin(&db, &create, &format!("{PASSWORD}\n")).await;
        assert!(!ok && stderr.contains("already has a user named"), "{stderr}");
        let (ok, _, stderr) = tessera_stdin(&db, &["user", "create", "99", "--username", "x", "--password-stdin"], PASSWORD).await;
        assert!(!ok && stderr.contains("99"), "{stderr}");

        let answer = login(&app, &[("username", "carol@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let user = &answer.json()["user_id"];
        assert_eq!((user["id"].as_i64(), user["role"].as_str(), user["first_name"].as_str()), (Some(user_id), Some("agent"), Some("Carol")));

        let id = user_id.to_string();
        let new_password = "a brand new passphrase";
        let (ok, _, stderr) = tessera_stdin(&db, &["user", "set-password", "1", &id, "--password-stdin"], "short").await;
        assert!(!ok && stderr.contains("too short"), "{stderr}");
        let (ok, _, stderr) = tessera_stdin(&db, &["user", "set-password", "1", "999", "--password-stdin"], new_password).await;
        assert!(!ok && stderr.contains("no user 999"), "{stderr}");
        let (ok, stdout, stderr) = tessera_stdin(&db, &["user", "set-password", "1", &id, "--password-stdin"], &format!("{new_password}\r\n")).await;
        assert!(ok, "{stderr}");
        assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["user_id"], user_id);
        login(&app, &[("username", "carol"), ("password", PASSWORD)]).await.assert_error(401, "invalid_credentials");
        assert_eq!(login(&app, &[("username", "carol"), ("password", new_password)]).await.status, 200);
        // The stored hash is Argon2id with the required cost.
        let argon = sql_i64(&db, &format!("SELECT COUNT(*) FROM users WHERE user_id = {user_id} AND password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'")).await;
        assert_eq!(argon, 1);
        app.stop().await;
    }
}
