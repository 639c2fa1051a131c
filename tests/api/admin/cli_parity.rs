//! The CLI and the admin API are two printers over one service layer: for the same
//! operation on the same store they give the same answer (one table of operations).

use serde_json::{json, Value};

use super::{sso_login, AdminApi};
use crate::both_stores;
use crate::cli::tessera_json;

/// Removes the keys one side adds for its own readers (the CLI names the site).
fn without(mut value: Value, keys: &[&str]) -> Value {
    if let Value::Object(map) = &mut value {
        for key in keys {
            map.remove(*key);
        }
    }
    value
}

both_stores! {
    async fn cli_and_api_answer_the_same(app) {
        let api = AdminApi::new(&app).await;
        let accounts = app.token("accounts").await;
        let (user_id, _) = sso_login(&app, &accounts, "c-1", "Cleo", "cleo@example.com").await;
        api.post(&format!("/users/{user_id}/ban"), json!({"reason": "spam", "note": "n"})).await;
        api.post("/keys", json!({"label": "second"})).await;
        let url = app.store_url();
        let site = app.site_id.to_string();
        let user = user_id.to_string();
        // (CLI arguments, admin API path, keys only the CLI prints)
        let table: Vec<(Vec<&str>, String, Vec<&str>)> = vec![
            (vec!["key", "list", &site], "/keys".into(), vec!["site_id"]),
            (vec!["user", "list", &site], "/users".into(), vec![]),
            (vec!["user", "list", &site, "--query", "cleo", "--status", "banned"], "/users?q=cleo&status=banned".into(), vec![]),
            (vec!["user", "show", &site, &user], format!("/users/{user_id}"), vec!["sessions"]),
            (vec!["audit", "list", &site, "--limit", "5"], "/audit?limit=5".into(), vec!["site_id"]),
            (vec!["audit", "list", &site, "--user-id", &user], format!("/audit?user_id={user_id}"), vec!["site_id"]),
        ];
        for (args, path, cli_only) in table {
            let cli = without(tessera_json(&url, &args).await, &cli_only);
            let (status, from_api) = api.get(&path).await;
            assert_eq!(status, 200, "{path}: {from_api}");
            assert_eq!(cli, from_api, "{args:?} vs {path}");
        }
    }
}
