//! The console's pages: keys, general settings, users; values escaped, actions done
//! through the service layer.

use reqwest::StatusCode;

use super::{location, Console};
use crate::admin::{sso_login, AdminApi};
use crate::both_stores;

both_stores! {
    async fn a_key_created_in_the_console_gets_a_token_and_can_be_deleted(app) {
        let console = Console::login(&app, "boss").await;
        let response = console.post("/admin/keys", &[("label", "ci <server>")]).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        let start = html.find("id=\"new-key\" value=\"").expect("the new key") + 20;
        let api_key = &html[start..start + html[start..].find('"').unwrap()];
        assert!(api_key.starts_with("tsk_"));
        assert!(html.contains(&format!(
            "curl --user {}:{api_key} -d grant_type=client_credentials {}/oauth2/token",
            app.site_id, app.base
        )));
        assert!(html.contains("ci &#60;server&#62;"));
        let token = app.post_form_basic("/oauth2/token", &app.site_id.to_string(), api_key,
            &[("grant_type", "client_credentials")]).await;
        assert_eq!(token.status(), 200);

        // The list shows it without its secret.
        let (_, list) = console.get("/admin/keys").await;
        assert!(!list.contains(api_key));
        let keys = app.store.list_api_keys(app.site_id).await.unwrap();
        let created = keys.iter().find(|k| k.label == "ci <server>").unwrap();
        let confirm_path = format!("/admin/keys/{}/delete", created.key_id);
        assert!(list.contains(&confirm_path));
        let (status, confirm) = console.get(&confirm_path).await;
        assert_eq!(status, 200);
        assert!(confirm.contains(&format!("action=\"{confirm_path}\"")));
        assert_eq!(app.store.list_api_keys(app.site_id).await.unwrap().len(), 2, "asking changes nothing");
        let deleted = console.post(&confirm_path, &[]).await;
        assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&deleted), "/admin/keys?done=key_deleted");
        let (_, list) = console.get("/admin/keys?done=key_deleted").await;
        assert!(list.contains("The key was deleted"));
        let again = app.post_form_basic("/oauth2/token", &app.site_id.to_string(), api_key,
            &[("grant_type", "client_credentials")]).await;
        assert_eq!(again.status(), 401);
        let missing = console.post("/admin/keys/999999/delete", &[]).await;
        assert_eq!(missing.status(), 404);
        assert!(missing.text().await.unwrap().contains("<html"));
    }

    async fn the_general_page_saves_switches_and_origins(app) {
        let console = Console::login(&app, "boss").await;
        let (status, html) = console.get("/admin/general").await;
        assert_eq!(status, 200);
        for field in ["disable_account_handling", "disable_avatar_changing",
                      "disable_display_name_changing", "api_key_mandatory", "origins"] {
            assert!(html.contains(&format!("name=\"{field}\"")), "{field}");
            assert!(html.contains(&format!("for=\"{field}\"")), "label of {field}");
        }
        let saved = console.post("/admin/general", &[
            ("disable_account_handling", "on"), ("api_key_mandatory", "on"),
            ("origins", "https://a.example\r\n\r\nhttps://b.example\r\n"),
        ]).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let api = AdminApi::new(&app).await;
        let (_, site) = api.get("/site").await;
        assert_eq!(site["origins"], serde_json::json!(["https://a.example", "https://b.example"]));
        assert_eq!(site["api_key_mandatory"], true);
        assert_eq!(site["account_handling"]["disable_account_handling"], true);
        assert_eq!(site["account_handling"]["disable_avatar_changing"], false);

        let refused = console.post("/admin/general", &[("origins", "not a url")]).await;
        assert_eq!(refused.status(), 400);
        let html = refused.text().await.unwrap();
        assert!(html.contains("origins:"), "names the field");
        assert!(html.contains("not a url"), "keeps what was typed");
        let (_, unchanged) = api.get("/site").await;
        assert_eq!(unchanged, site);
    }

    async fn users_pages_escape_markup_and_act_on_users(app) {
        let console = Console::login(&app, "boss").await;
        let token = app.token("accounts").await;
        let (user_id, session) = sso_login(&app, &token, "ext-1", "<script>alert(1)</script>", "x@example.com").await;
        let (status, list) = console.get("/admin/users?q=script").await;
        assert_eq!(status, 200);
        assert!(list.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{list}");
        assert!(!list.contains("<script>alert"));
        assert!(list.contains(&format!("/admin/users/{user_id}")));
        let (_, none) = console.get("/admin/users?status=banned").await;
        assert!(!none.contains(&format!("/admin/users/{user_id}\"")));
        let (status, page) = console.get(&format!("/admin/users/{user_id}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("&#60;script&#62;") && !page.contains("<script>alert"));
        for field in ["name=\"reason\"", "name=\"note\"", "name=\"until\""] {
            assert!(page.contains(field), "{field}");
        }

        let refused = console.post(&format!("/admin/users/{user_id}/ban"), &[("reason", ""), ("note", ""), ("until", "")]).await;
        assert_eq!(refused.status(), 400);
        assert!(refused.text().await.unwrap().contains("reason:"));
        let banned = console.post(&format!("/admin/users/{user_id}/ban"),
            &[("reason", "Spam"), ("note", "<b>private</b>"), ("until", "2099-01-01T10:00")]).await;
        assert_eq!(banned.status(), StatusCode::SEE_OTHER);
        assert_eq!(crate::admin::session_status(&app, &session).await, 401);
        let (_, page) = console.get(&format!("/admin/users/{user_id}?done=user_banned")).await;
        assert!(page.contains("2099-01-01T10:00:00"));
        assert!(page.contains("&#60;b&#62;private&#60;/b&#62;"));
        assert!(page.contains("The user was banned"));
        let (_, list) = console.get("/admin/users?status=banned").await;
        assert!(list.contains(&format!("/admin/users/{user_id}\"")));
        let unbanned = console.post(&format!("/admin/users/{user_id}/unban"), &[]).await;
        assert_eq!(unbanned.status(), StatusCode::SEE_OTHER);

        let (status, confirm) = console.get(&format!("/admin/users/{user_id}/deactivate")).await;
        assert_eq!(status, 200);
        assert!(confirm.contains("&#60;script&#62;"));
        let user = app.store.get_user(app.site_id, user_id).await.unwrap().unwrap();
        assert!(user.active, "asking changes nothing");
        let done = console.post(&format!("/admin/users/{user_id}/deactivate"), &[]).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let user = app.store.get_user(app.site_id, user_id).await.unwrap().unwrap();
        assert!(!user.active && user.ban.is_none());
        let done = console.post(&format!("/admin/users/{user_id}/delete"), &[]).await;
        assert_eq!(location(&done), "/admin/users?done=user_deleted");
        let user = app.store.get_user(app.site_id, user_id).await.unwrap().unwrap();
        assert!(user.deleted);

        // The admin's own sessions are listed and one can be ended.
        let (_, me) = console.get(&format!("/admin/users/{}", console.user_id)).await;
        assert!(me.contains("console"));
        let api = AdminApi::new(&app).await;
        let (_, sessions) = api.get(&format!("/users/{}/sessions", console.user_id)).await;
        let session_ref = sessions["sessions"][0]["session_ref"].as_str().unwrap().to_string();
        let ended = console.post(&format!("/admin/users/{}/sessions/{session_ref}/end", console.user_id), &[]).await;
        assert_eq!(ended.status(), StatusCode::SEE_OTHER);
        let (status, _) = console.get("/admin/keys").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "that was this very session");
    }
}

both_stores! {
    async fn the_users_list_pages_by_cursor_keeping_the_search(app) {
        let console = Console::login(&app, "boss").await;
        let token = app.token("accounts").await;
        for i in 0..51 {
            sso_login(&app, &token, &format!("p-{i}"), &format!("Pager {i}"), &format!("p{i}@example.com")).await;
        }
        let (status, first) = console.get("/admin/users?q=pager").await;
        assert_eq!(status, 200);
        assert_eq!(first.matches("data-label=\"User\"").count(), 50);
        assert!(first.len() < 50 * 1024);
        let start = first.find("href=\"/admin/users?q=pager&#38;cursor=").expect("a next page") + 6;
        let href = first[start..start + first[start..].find('"').unwrap()].replace("&#38;", "&");
        let (status, second) = console.get(&href).await;
        assert_eq!(status, 200);
        assert_eq!(second.matches("data-label=\"User\"").count(), 1);
        assert!(second.contains("Pager 0"));
        assert!(!second.contains("Next page"));
        let (status, bad) = console.get("/admin/users?status=gone").await;
        assert_eq!(status, 400);
        assert!(bad.contains("status:"));
    }

    async fn error_pages_keep_the_navigation_bar_of_a_logged_in_admin(app) {
        let console = Console::login(&app, "boss").await;
        let site_id = format!("Site ID <code>{}</code>", app.site_id);
        for path in ["/admin/users/999999", "/admin/no-such-page", "/admin/keys/999999/delete"] {
            let (status, html) = console.get(path).await;
            assert_eq!(status, 404, "{path}");
            assert!(html.contains("<h1>Not found</h1>"), "{path}: {html}");
            assert!(html.contains("aria-label=\"Console\"") && html.contains(&site_id), "{path}: {html}");
        }
        // Without a session: the same page, without the bar.
        let anonymous = app.client.get(format!("{}/admin/no-such-page", app.base)).send().await.unwrap();
        assert_eq!(anonymous.status(), 404);
        assert_eq!(anonymous.headers()["content-security-policy"], "default-src 'self'");
        let html = anonymous.text().await.unwrap();
        assert!(html.contains("<h1>Not found</h1>") && !html.contains("aria-label=\"Console\""), "{html}");
    }
}
