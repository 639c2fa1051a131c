//! The embed script in Chromium: server-side and cookie login, following the site's
//! cookie, the event API (`$prepublish`, the queue), bans, and safe rendering.

use fantoccini::Locator;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::store::users::Ban;

use super::*;
use crate::both_stores;

both_stores! {
    async fn server_side_page_shows_the_user_and_logs_out(app) {
        let env = DemoEnv::start(&app).await;
        let app = &app;
        with_browser(|browser| async move {
            // The demo site's server-side page: its server calls the accounts API.
            browser.goto(&format!("{}/server", env.url)).await.unwrap();
            demo_sign_in(&browser, "ada").await;
            assert_eq!(widget_name(&browser).await, "Ada Lovelace");
            wait_js(&browser, &has_event("login")).await;
            let sid = wait_js(&browser, "document.getElementById('tessera-platform').dataset.sid")
                .await.as_str().unwrap().to_string();
            assert_eq!(session_status(app, &sid).await, 200);
            screenshot(&browser, "widget-server-side").await;

            browser.find(Locator::Css(".tessera-identity button.tsr-out")).await.unwrap()
                .click().await.unwrap();
            wait_js(&browser, &has_event("logout")).await;
            wait_js(&browser, "document.querySelector('.tessera-identity [data-state=logged-out]')").await;
            assert_eq!(session_status(app, &sid).await, 401, "the logout button ends the session on the server");
            // The site's subscriber logged the user out of the site too.
            wait_js(&browser, "document.cookie.indexOf('acme_sid=') < 0").await;
        }).await;
    }

    async fn cookie_login_follows_the_site_cookie(app) {
        let env = DemoEnv::start(&app).await;
        let app = &app;
        with_browser(|browser| async move {
            browser.goto(&format!("{}/cookie", env.url)).await.unwrap();
            wait_js(&browser, "document.querySelector('.tessera-identity [data-state=logged-out]')").await;
            // Signing in on the site logs the widget in without another click.
            demo_sign_in(&browser, "ada").await;
            assert_eq!(widget_name(&browser).await, "Ada Lovelace");
            wait_js(&browser, &has_event("login")).await;
            let avatar = wait_js(&browser, "document.querySelector('.tessera-identity img').src").await;
            assert!(avatar.as_str().unwrap().ends_with("/avatars/ada.svg"), "{avatar}");
            screenshot(&browser, "widget-cookie-login").await;
            let ada_sid = wait_js(&browser, &format!("JSON.parse(sessionStorage.getItem('tessera:{}')).sid", env.site_id))
                .await.as_str().unwrap().to_string();
            assert_eq!(session_status(app, &ada_sid).await, 200);
            let stored = browser.execute("return JSON.stringify(localStorage);", vec![]).await.unwrap();
            assert_eq!(stored, json!("{}"), "nothing in localStorage");

            // Another user signs in on the site (without reloading this page): the widget follows.
            browser.execute(
                "fetch('/login', {method: 'POST', body: new URLSearchParams({username: 'grace', password: 'x'})});",
                vec![]).await.unwrap();
            wait_js(&browser, "(document.querySelector('.tessera-identity .tsr-name') || {}).textContent === 'Grace Hopper'").await;
            let logins = wait_js(&browser, "window.__events.filter(function (e) { return e.event === 'login'; }).map(function (e) { return e.data.name; })").await;
            assert_eq!(logins, json!(["Ada Lovelace", "Grace Hopper"]));
            let grace_sid = wait_js(&browser, &format!("JSON.parse(sessionStorage.getItem('tessera:{}')).sid", env.site_id))
                .await.as_str().unwrap().to_string();
            assert_ne!(grace_sid, ada_sid);
            wait_session_ended(app, &ada_sid, "the replaced session is ended").await;

            // Signing out of the site (as another tab would) logs the widget out.
            browser.execute("fetch('/logout', {method: 'POST'});", vec![]).await.unwrap();
            wait_js(&browser, "document.querySelector('.tessera-identity [data-state=logged-out]')").await;
            wait_js(&browser, &has_event("logout")).await;
            wait_session_ended(app, &grace_sid, "the widget must end the platform session").await;
            // And it stays logged out after a reload.
            browser.refresh().await.unwrap();
            wait_js(&browser, "document.querySelector('.tessera-identity [data-state=logged-out]')").await;
        }).await;
    }

    async fn cookie_session_is_reverified_when_due(app) {
        let env = DemoEnv::start(&app).await;
        let app = &app;
        // The page's clock can be moved forward (the demo site re-verifies every 15 minutes).
        let before = format!("{RECORD_EVENTS}<script>window.__skew = 0; (function () {{\
            var real = Date.now; Date.now = function () {{ return real.call(Date) + window.__skew; }}; }})();</script>");
        let url = env.set_page("reverify", embed_page(app, env.site_id, "", &before));
        let key = format!("JSON.parse(sessionStorage.getItem('tessera:{}') || '{{}}').sid", env.site_id);
        with_browser(|browser| async move {
            browser.goto(&format!("{}/", env.url)).await.unwrap();
            demo_sign_in(&browser, "grace").await;
            wait_js(&browser, "document.getElementById('site-user')").await;
            browser.goto(&url).await.unwrap();
            assert_eq!(widget_name(&browser).await, "Grace Hopper");
            let first = wait_js(&browser, &key).await.as_str().unwrap().to_string();

            browser.execute("window.__skew = 16 * 60 * 1000;", vec![]).await.unwrap();
            wait_js(&browser, &format!("{key} && {key} !== '{first}'")).await;
            browser.execute("window.__skew = 0;", vec![]).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            let last = wait_js(&browser, &key).await.as_str().unwrap().to_string();
            wait_session_ended(app, &first, "the re-verified session replaced the old one").await;
            assert_eq!(session_status(app, &last).await, 200);
            assert_eq!(widget_name(&browser).await, "Grace Hopper");
            let logins = browser.execute("return window.__events.filter(function (e) { return e.event === 'login'; }).length;", vec![]).await.unwrap();
            assert_eq!(logins, json!(1), "a re-verification is not a new login: {}", events(&browser).await);
        }).await;
    }

    async fn banned_user_gets_the_reason_in_a_failure_event(app) {
        let env = DemoEnv::start(&app).await;
        let store = app.store.clone();
        let now = app.clock.now_ms();
        let site_id = env.site_id;
        with_browser(|browser| async move {
            browser.goto(&format!("{}/cookie", env.url)).await.unwrap();
            demo_sign_in(&browser, "mallory").await;
            assert_eq!(widget_name(&browser).await, "Mallory Troll");
            let user_id = wait_js(&browser, "tessera.user().user_id").await.as_i64().unwrap();
            let ban = Ban { banned_at: now, ends_at: None, reason: "Spamming the comments".into(), note: "private".into() };
            assert!(store.ban_user(site_id, user_id, &ban, &tessera::store::audit::Actor::Cli).await.unwrap());

            // Next page view: the session is gone, cookie login is refused with the ban.
            browser.refresh().await.unwrap();
            let failure = wait_js(&browser, "(window.__events.filter(function (e) { return e.event === 'failure'; })[0] || {}).data").await;
            assert_eq!(failure["error_key"], "login_banned", "{failure}");
            assert_eq!(failure["reason"], "Spamming the comments");
            assert_eq!(failure["is_permanent"], true);
            assert_eq!(failure["end_date"], Value::Null);
            assert!(!failure.to_string().contains("private"), "the moderator note stays private");
            let shown = wait_js(&browser, "document.querySelector('.tessera-identity .tsr-msg').textContent").await;
            assert_eq!(shown, json!("Banned: Spamming the comments"));
            screenshot(&browser, "widget-banned").await;
        }).await;
    }

    async fn prepublish_cancels_or_rewrites_events(app) {
        let env = DemoEnv::start(&app).await;
        // Logged out (no data-sid, no site cookie): the widget offers "Log in".
        let before = format!("{RECORD_EVENTS}<script>window.cancelRequired = true;\
            tesseraQ.push(function () {{\
              tessera.$prepublish(function (channel, event, ...args) {{\
                if (channel === 'authentication' && event === 'required' && window.cancelRequired) return false;\
                if (channel === 'demo' && event === 'ping') return {{channel: 'demo', event: 'pong', args: args.concat(['rewritten'])}};\
              }});\
              tessera.$subscribe('demo', 'pong', function (a, b) {{ window.__pong = [a, b]; }});\
            }});</script>");
        let url = env.set_page("prepublish", embed_page(&app, env.site_id, "", &before));
        with_browser(|browser| async move {
            browser.goto(&url).await.unwrap();
            let login = browser.wait().at_most(WAIT).for_element(Locator::Css(".tessera-identity button.tsr-in")).await.unwrap();
            login.click().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert_eq!(events(&browser).await, json!([]), "a cancelled event reaches no subscriber");

            browser.execute("window.cancelRequired = false;", vec![]).await.unwrap();
            browser.find(Locator::Css(".tessera-identity button.tsr-in")).await.unwrap().click().await.unwrap();
            wait_js(&browser, &has_event("required")).await;

            let published = browser.execute("return tessera.$publish('demo', 'ping', 1);", vec![]).await.unwrap();
            assert_eq!(published, json!(true));
            assert_eq!(wait_js(&browser, "window.__pong").await, json!([1, "rewritten"]));
        }).await;
    }

    async fn queue_works_before_and_after_load_and_names_are_text(app) {
        let env = DemoEnv::start(&app).await;
        // A hostile display name must show as text, never as markup.
        let hostile = "<img src=x onerror=\"window.__xss=1\"><b>Eve</b>";
        let (user_id, sid) = env.server_login(&app, "eve", hostile).await;
        let before = format!("{RECORD_EVENTS}<script>window.__order = [];\
            tesseraQ.push(function (api) {{ window.__order.push(typeof tessera.$subscribe + ':' + (api === tessera)); }});</script>");
        let attrs = format!("data-uid=\"{user_id}\" data-sid=\"{sid}\"");
        let url = env.set_page("queue", embed_page(&app, env.site_id, &attrs, &before));
        let app = &app;
        with_browser(|browser| async move {
            browser.goto(&url).await.unwrap();
            assert_eq!(widget_name(&browser).await, hostile);
            // Pushed before the script loaded: ran once it had, before the login event.
            assert_eq!(wait_js(&browser, "window.__order").await, json!(["function:true"]));
            let login = wait_js(&browser, "(window.__events[0] || {}).data").await;
            assert_eq!(login, json!({"user_id": user_id, "name": hostile, "photo_url": null}));
            // Pushed after load: runs at once.
            let now = browser.execute("var ran = false; tesseraQ.push(function () { ran = true; }); return ran;", vec![]).await.unwrap();
            assert_eq!(now, json!(true));
            // A widget element added later renders too.
            browser.execute("var d = document.createElement('div'); d.className = 'tessera-identity late'; document.body.appendChild(d);", vec![]).await.unwrap();
            let late = wait_js(&browser, "(document.querySelector('.late .tsr-name') || {}).textContent").await;
            assert_eq!(late, json!(hostile));
            let markup = browser.execute(
                "return [document.querySelectorAll('.tessera-identity img').length / 2, !!document.querySelector('.tessera-identity b'), window.__xss || 0];",
                vec![]).await.unwrap();
            assert_eq!(markup, json!([1, false, 0]), "the name is rendered as text");

            // tessera.publish('user.logout') is the Viafoura-style logout; it returns a Promise.
            let done = browser.execute_async(
                "var cb = arguments[0]; tessera.publish('user.logout').then(function () { cb('ok'); }, function (e) { cb('err ' + e); });",
                vec![]).await.unwrap();
            assert_eq!(done, json!("ok"));
            wait_js(&browser, &has_event("logout")).await;
            assert_eq!(session_status(app, &sid).await, 401);
        }).await;
    }
}
