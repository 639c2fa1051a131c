//! The token logins in Chromium: the demo's ID-token page (Acme as its own OpenID
//! provider) and a page with `data-sso-token`; `tessera.login` with a bad token.

use serde_json::json;
use tessera::clock::Clock;
use tessera::store::audit::Actor;

use super::*;
use crate::both_stores;

fn has_event(name: &str) -> String {
    format!("(window.__events || []).some(function (e) {{ return e.event === '{name}'; }})")
}

both_stores! {
    async fn the_demo_id_token_page_logs_the_widget_in(app) {
        let env = DemoEnv::start(&app).await;
        with_browser(|browser| async move {
            browser.goto(&format!("{}/id-token", env.url)).await.unwrap();
            demo_sign_in(&browser, "grace").await;
            assert_eq!(widget_name(&browser).await, "Grace Hopper");
            wait_js(&browser, &has_event("login")).await;
            screenshot(&browser, "widget-id-token").await;
            // A reload presents the same token: the session it started is reused.
            browser.refresh().await.unwrap();
            assert_eq!(widget_name(&browser).await, "Grace Hopper");
            let failures = browser.execute("return (window.__events || []).filter(function (e) { return e.event === 'failure'; }).length;", vec![]).await.unwrap();
            assert_eq!(failures, json!(0));
        }).await;
    }

    async fn a_signed_sso_token_logs_the_widget_in(app) {
        let env = DemoEnv::start(&app).await;
        let ctx = tessera::admin::Ctx { store: &app.store, site_id: env.site_id, actor: Actor::Cli, client_ip: None, now: app.clock.now_ms() };
        let created = tessera::admin::sso_secrets::create(&ctx).await.unwrap();
        let secret = secrecy::ExposeSecret::expose_secret(&created.secret).to_string();
        let claims = crate::sso_token::claims(&app, "acme-7", "page-view-1");
        let token = crate::sso_token::sign(&created.kid, &secret, &claims);
        let before = "<script>window.tesseraQ = [function () { ['login','failure'].forEach(function (e) {\
            tessera.$subscribe('authentication', e, function (d) { window.__events.push({event: e, data: d}); }); }); }];</script>";
        let page = embed_page(&app, env.site_id, &format!("data-sso-token=\"{token}\""), before);
        let url = env.set_page("sso", page);
        let forged = crate::sso_token::sign(&created.kid, "not-the-secret", &crate::sso_token::claims(&app, "acme-8", "x"));
        with_browser(|browser| async move {
            browser.goto(&url).await.unwrap();
            assert_eq!(widget_name(&browser).await, "User acme-7");
            wait_js(&browser, &has_event("login")).await;
            screenshot(&browser, "widget-sso-token").await;
            // tessera.login with a forged token: failure with the error key, logged out.
            let script = format!("tessera.login({{ssoToken: '{forged}'}}).then(function (u) {{ window.__result = u; }});");
            browser.execute(&script, vec![]).await.unwrap();
            wait_js(&browser, &has_event("failure")).await;
            let failure = wait_js(&browser, "window.__events.filter(function (e) { return e.event === 'failure'; })[0].data").await;
            assert_eq!(failure["error_key"], "login_failed", "{failure}");
            wait_js(&browser, "document.querySelector('.tessera-identity [data-state=logged-out]')").await;
        }).await;
    }
}
