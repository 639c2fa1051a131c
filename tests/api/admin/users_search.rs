//! `GET /admin/api/v1/users`: search by every field, status filters, and cursor paging
//! that stays correct while users are added.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{assert_error, sso_login, AdminApi};
use crate::both_stores;

fn ids(page: &Value) -> Vec<i64> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_i64().unwrap())
        .collect()
}

both_stores! {
    async fn users_are_found_by_each_field_and_status(app) {
        let api = AdminApi::new(&app).await;
        let accounts = app.token("accounts").await;
        let (sso, _) = sso_login(&app, &accounts, "EXT-77xq", "Zoë Quartz", "zoe@quartz.example").await;
        let (_, local) = api.post("/users", json!({
            "username": "Harbor_Master", "password": crate::password::PASSWORD, "email": "hm@docks.example",
        })).await;
        let local = local["user_id"].as_i64().unwrap();
        for (q, want) in [
            ("ext-77", vec![sso]),            // external id, any case
            ("ZOË QUA", vec![sso]),           // display name, non-ASCII, any case
            ("quartz.exa", vec![sso]),        // email
            ("bor_mas", vec![local]),         // user name, with an underscore (not a wildcard)
            ("docks", vec![local]),
            ("hm", vec![local]),              // shorter than a trigram
            ("%", vec![]),                    // a wildcard character is literal
            ("_", vec![local]),
            ("nobody-here", vec![]),
            ("\"x", vec![]),
        ] {
            let (status, page) = api.get(&format!("/users?q={}", urlencode(q))).await;
            assert_eq!(status, 200, "{q}: {page}");
            assert_eq!(ids(&page), want, "{q}");
        }
        let (_, by_id) = api.get(&format!("/users?q={local}")).await;
        assert!(ids(&by_id).contains(&local));

        let (_, all) = api.get("/users").await;
        assert_eq!(ids(&all), vec![local, sso], "newest first");
        api.post(&format!("/users/{sso}/ban"), json!({"reason": "spam"})).await;
        api.patch(&format!("/users/{local}"), json!({"active": false})).await;
        for (status, want) in [("banned", vec![sso]), ("inactive", vec![local]), ("active", vec![]), ("deleted", vec![])] {
            let (_, page) = api.get(&format!("/users?status={status}")).await;
            assert_eq!(ids(&page), want, "{status}");
        }
        api.delete(&format!("/users/{local}")).await;
        let (_, page) = api.get("/users?status=deleted").await;
        assert_eq!(ids(&page), vec![local]);
        let (_, page) = api.get("/users?q=harbor").await;
        assert_eq!(ids(&page), Vec::<i64>::new(), "an erased profile is not found by its old name");
        for query in ["status=gone", "limit=0", "limit=201", "limit=ten", "cursor=abc", "q=a%07b"] {
            let (status, body) = api.get(&format!("/users?{query}")).await;
            assert_error(status, &body, 400, "invalid_request");
        }
    }

    async fn paging_stays_correct_while_users_are_added(app) {
        let api = AdminApi::new(&app).await;
        let accounts = app.token("accounts").await;
        let mut created = BTreeSet::new();
        for n in 0..25 {
            let (id, _) = sso_login(&app, &accounts, &format!("p-{n}"), &format!("Pat {n}"), "p@example.com").await;
            created.insert(id);
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut added = 0;
        loop {
            let path = match &cursor {
                None => "/users?limit=7&q=pat".to_string(),
                Some(c) => format!("/users?limit=7&q=pat&cursor={c}"),
            };
            let (status, page) = api.get(&path).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(ids(&page));
            // New users arrive between pages: they are newer than every page already
            // read, so they neither shift nor repeat what follows.
            for _ in 0..3 {
                sso_login(&app, &accounts, &format!("late-{added}"), "Pat Late", "late@example.com").await;
                added += 1;
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25, "each user once: {seen:?}");
        assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), created);
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
    }

    async fn a_large_table_answers_exactly_what_a_full_scan_would(app) {
        // Past 50,000 users PostgreSQL asks its trigram index only for the uncommon
        // parts of the text (`store::trigrams`) and checks the whole text on what it
        // finds: here every user shares "person", "mail" and "example", and a few
        // have the uncommon parts without the whole text.
        let seed = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) \
             INSERT INTO users (site_id, external_id, display_name, email, email_key, created_at, updated_at) \
             SELECT {site}, 'ext-' || i, 'Person ' || i || ' x', 'person' || i || '@mail' || (i % 1000) || '.example', \
                    'person' || i || '@mail' || (i % 1000) || '.example', 0, 0 FROM n; \
             INSERT INTO users (site_id, external_id, display_name, created_at, updated_at) VALUES \
               ({site}, 'decoy-1', 'Bill12.Exact', 0, 0), ({site}, 'decoy-2', 'Agent 4567 Smith', 0, 0); \
             ANALYZE;",
            site = app.site_id
        );
        crate::helpers::sql(&app.store_url(), &seed).await;
        let api = AdminApi::new(&app).await;
        let mut twelve: Vec<String> = (1..=60000).filter(|i| i % 1000 == 12).map(|i| format!("ext-{i}")).collect();
        twelve.reverse();
        for (q, want) in [
            ("@MAIL12.exa", twelve),
            ("person 4567 x", vec!["ext-4567".to_string()]),
            ("ext-5999", vec!["ext-59999".into(), "ext-59998".into(), "ext-59997".into(), "ext-59996".into(),
                              "ext-59995".into(), "ext-59994".into(), "ext-59993".into(), "ext-59992".into(),
                              "ext-59991".into(), "ext-59990".into(), "ext-5999".into()]),
            ("l12.exa", std::iter::once("decoy-1".to_string())
                .chain((1..=60000).rev().filter(|i| i % 1000 == 12).map(|i| format!("ext-{i}"))).collect()),
        ] {
            let (status, page) = api.get(&format!("/users?limit=200&q={}", urlencode(q))).await;
            assert_eq!(status, 200, "{q}: {page}");
            let found: Vec<String> = page["users"].as_array().unwrap().iter()
                .map(|u| u["external_id"].as_str().unwrap_or_default().to_string())
                .collect();
            assert_eq!(found, want, "{q}");
        }
    }
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
