//! The console's audit log: filters, paging and the CSV download.

use serde_json::json;

use super::{post_login, Console};
use crate::admin::AdminApi;
use crate::both_stores;

both_stores! {
    async fn the_audit_page_filters_pages_and_downloads(app) {
        let console = Console::login(&app, "boss").await;
        let failed = post_login(&app, &app.site_id.to_string(), "boss", "not the password").await;
        assert_eq!(failed.status(), 401);
        let created = console.post("/admin/keys", &[("label", "audited")]).await;
        assert_eq!(created.status(), 200);

        let (status, html) = console.get("/admin/audit").await;
        assert_eq!(status, 200);
        for field in ["name=\"action\"", "name=\"user_id\"", "name=\"outcome\""] {
            assert!(html.contains(field), "{field}");
        }
        assert!(html.contains("console.login"));
        assert!(html.contains("api_key.created"));
        assert!(html.contains(&format!("user:{}", console.user_id)));
        assert!(html.contains("href=\"/admin/audit.csv\""));

        let (_, failures) = console.get("/admin/audit?outcome=failure").await;
        assert!(failures.contains("console.login") && !failures.contains("api_key.created"));
        assert!(failures.contains("href=\"/admin/audit.csv?outcome=failure\""));
        let (status, bad) = console.get("/admin/audit?user_id=abc").await;
        assert_eq!(status, 400);
        assert!(bad.contains("user_id:"));

        // Paging: 50 a page, newest first, then older ones.
        let api = AdminApi::new(&app).await;
        for i in 0..50 {
            let (status, _) = api.post("/keys", json!({"label": format!("k{i}")})).await;
            assert_eq!(status, 201);
        }
        let (_, first) = console.get("/admin/audit?action=api_key.created").await;
        let start = first.find("href=\"/admin/audit?action=api_key.created&#38;before=").expect("an older page");
        let href = &first[start + 6..];
        let href = href[..href.find('"').unwrap()].replace("&#38;", "&");
        let (status, older) = console.get(&href).await;
        assert_eq!(status, 200);
        assert!(older.contains("api_key.created"));
        assert!(!older.contains("Older events"));
        assert!(first.len() < 50 * 1024, "{} bytes", first.len());

        let csv = console.get_response("/admin/audit.csv?action=api_key.created").await;
        assert_eq!(csv.status(), 200);
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert_eq!(csv.headers()["cache-control"], "no-store");
        let text = csv.text().await.unwrap();
        assert!(text.starts_with("event_id,at,action,actor,outcome,client_ip,user_id,detail\r\n"));
        assert_eq!(text.matches("api_key.created").count(), 52, "{text}");
        // Without a session: the login form, never the log.
        let anonymous = app.client.get(app.url("/admin/audit.csv")).send().await.unwrap();
        assert_eq!(anonymous.status(), 303);
    }
}
