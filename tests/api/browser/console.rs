//! The admin console in Chromium: log in, create a key (the copy button appears with
//! the script), and every page fits 360 px without horizontal scrolling.

use fantoccini::Locator;

use super::*;
use crate::both_stores;
use crate::console::{create_user, PASSWORD};

/// Fills the field named `name` (by its form name, as SPEC §7.3 promises).
async fn fill(browser: &Client, name: &str, value: &str) {
    browser
        .find(Locator::Css(&format!("[name={name}]")))
        .await
        .unwrap_or_else(|_| panic!("a field named {name}"))
        .send_keys(value)
        .await
        .unwrap();
}

both_stores! {
    async fn an_admin_logs_in_creates_a_key_and_pages_fit_360px(app) {
        create_user(&app, "boss", "admin").await;
        let app = &app;
        with_browser(|browser| async move {
            browser.goto(&app.url("/admin")).await.unwrap();
            wait_js(&browser, "location.pathname === '/admin/login'").await;
            fill(&browser, "site_id", &app.site_id.to_string()).await;
            fill(&browser, "username", "boss").await;
            fill(&browser, "password", PASSWORD).await;
            browser.find(Locator::Css("form button[type=submit]")).await.unwrap().click().await.unwrap();
            wait_js(&browser, "location.pathname === '/admin/keys'").await;
            // The stylesheet applies under the CSP (no inline styles anywhere).
            wait_js(&browser, "getComputedStyle(document.querySelector('.bar')).display === 'flex'").await;

            fill(&browser, "label", "browser key").await;
            browser.find(Locator::Css("form[action='/admin/keys'] button")).await.unwrap().click().await.unwrap();
            let key = wait_js(&browser, "document.getElementById('new-key') && document.getElementById('new-key').value").await;
            let key = key.as_str().unwrap().to_string();
            assert!(key.starts_with("tsk_"));
            wait_js(&browser, "!document.querySelector('button.copy').hidden").await;
            let token = app.post_form_basic("/oauth2/token", &app.site_id.to_string(), &key,
                &[("grant_type", "client_credentials")]).await;
            assert_eq!(token.status(), 200);

            browser.set_window_size(360, 800).await.unwrap();
            let width = wait_js(&browser, "window.innerWidth").await.as_i64().unwrap();
            assert!(width <= 400, "the window is narrow ({width} px)");
            for path in ["/admin/keys", "/admin/authentication", "/admin/general", "/admin/users",
                         &format!("/admin/users/{}", app.store.find_user_by_login(app.site_id, "boss").await.unwrap().unwrap().user_id),
                         "/admin/audit"] {
                browser.goto(&app.url(path)).await.unwrap();
                wait_js(&browser, "document.readyState === 'complete'").await;
                let fits = browser.execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth;", vec![],
                ).await.unwrap();
                if fits != serde_json::Value::Bool(true) {
                    screenshot(&browser, "console-too-wide").await;
                }
                assert_eq!(fits, serde_json::Value::Bool(true), "{path} scrolls sideways at 360 px");
            }
            screenshot(&browser, "console-audit-360").await;
            browser.goto(&app.url("/admin/keys")).await.unwrap();
            screenshot(&browser, "console-keys-360").await;
            // The five pages at a desktop width, for the README (docs/console/).
            browser.set_window_size(1100, 800).await.unwrap();
            for page in ["keys", "authentication", "general", "users", "audit"] {
                browser.goto(&app.url(&format!("/admin/{page}"))).await.unwrap();
                wait_js(&browser, "document.readyState === 'complete'").await;
                screenshot(&browser, &format!("console-{page}")).await;
            }
        }).await;
    }
}
