//! Account handling in Chromium (SPEC §6.1): the widget's own sign-in form on the demo's
//! `/native` page, `required` alone when the site switched it off, and the profile panel
//! with its locked fields hidden.

use fantoccini::Locator;
use serde_json::json;
use tessera::clock::Clock;
use tessera::settings::AccountHandling;
use tessera::store::audit::Actor;

use super::*;
use crate::both_stores;

async fn set_switches(app: &TestApp, site_id: i64, switches: AccountHandling) {
    let now = app.clock.now_ms();
    let edit =
        |settings: &mut tessera::settings::SiteSettings| settings.account_handling = switches;
    assert!(app
        .store
        .configure_site(site_id, None, edit, now, &Actor::Cli)
        .await
        .unwrap());
}

/// Types `text` into the element `css` (replacing what it holds).
async fn type_into(browser: &Client, css: &str, text: &str) {
    let input = browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

async fn click(browser: &Client, css: &str) {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The `autocomplete` names of the inputs of the widget's open panel.
async fn panel_inputs(browser: &Client) -> Value {
    browser.execute(
        "return Array.prototype.map.call(document.querySelectorAll('.tessera-identity form.tsr-f input'), function (i) { return i.autocomplete; });",
        vec![]).await.unwrap()
}

both_stores! {
    async fn native_sign_in_form_signs_in_and_publishes_login(app) {
        let env = DemoEnv::start(&app).await;
        let app = &app;
        let native_site = env.native.site_id;
        let password = secrecy::ExposeSecret::expose_secret(&env.native.password).to_string();
        with_browser(|browser| async move {
            browser.goto(&format!("{}/native", env.url)).await.unwrap();
            wait_js(&browser, "document.querySelector('.tessera-identity [data-state=logged-out]')").await;
            // The log-in button opens the form, focus in its first field.
            click(&browser, ".tessera-identity button.tsr-in").await;
            wait_js(&browser, "document.activeElement && document.activeElement.autocomplete === 'username'").await;
            assert_eq!(panel_inputs(&browser).await, json!(["username", "current-password"]));
            let labelled = browser.execute(
                "return Array.prototype.map.call(document.querySelectorAll('.tsr-f label'), function (l) { return l.textContent; });",
                vec![]).await.unwrap();
            assert_eq!(labelled, json!(["User name or email", "Password"]));
            assert_eq!(wait_js(&browser, "document.querySelector('.tsr-in').getAttribute('aria-expanded')").await, json!("true"));
            wait_js(&browser, &has_event("required")).await;

            // A wrong password: the error line (a live region) says so, focus on the password.
            type_into(&browser, ".tsr-f input[autocomplete=username]", "newcomer").await;
            type_into(&browser, ".tsr-f input[autocomplete=current-password]", "not the password").await;
            click(&browser, ".tsr-f button[type=submit]").await;
            let error = wait_js(&browser, "document.querySelector('.tsr-f .tsr-err').textContent").await;
            assert_eq!(error, json!("Wrong user name or password."));
            assert_eq!(wait_js(&browser, "document.querySelector('.tsr-f .tsr-err').getAttribute('role')").await, json!("alert"));
            wait_js(&browser, "document.activeElement.autocomplete === 'current-password' && document.activeElement.value === ''").await;
            screenshot(&browser, "widget-native-sign-in-error").await;

            // The right one (by email, any case): signed in, the name shown, `login` published.
            type_into(&browser, ".tsr-f input[autocomplete=username]", "NewComer@community.acme.example").await;
            type_into(&browser, ".tsr-f input[autocomplete=current-password]", &password).await;
            click(&browser, ".tsr-f button[type=submit]").await;
            assert_eq!(widget_name(&browser).await, "newcomer");
            let login = wait_js(&browser, "(window.__events.filter(function (e) { return e.event === 'login'; })[0] || {}).data").await;
            assert_eq!(login["name"], "newcomer");
            assert!(login["user_id"].as_i64().is_some(), "{login}");
            assert_eq!(wait_js(&browser, "document.querySelector('#platform-user').textContent").await, json!("Tessera: newcomer"));
            // Focus stays in the widget; nothing secret in localStorage, the session only in sessionStorage.
            wait_js(&browser, "document.activeElement.closest('.tessera-identity') !== null").await;
            let stored = browser.execute("return JSON.stringify(localStorage);", vec![]).await.unwrap();
            assert_eq!(stored, json!("{}"));
            let saved = wait_js(&browser, &format!("JSON.parse(sessionStorage.getItem('tessera:{native_site}'))")).await;
            assert_eq!(saved["native"], true);
            let sid = saved["sid"].as_str().unwrap().to_string();
            assert_eq!(session_status(app, &sid).await, 200);
            assert!(!saved.to_string().contains(&password), "the password is kept nowhere");
            screenshot(&browser, "widget-native-signed-in").await;

            // A reload keeps the session; logging out ends it.
            browser.refresh().await.unwrap();
            assert_eq!(widget_name(&browser).await, "newcomer");
            click(&browser, ".tessera-identity button.tsr-out:not(.tsr-edit)").await;
            wait_js(&browser, "document.querySelector('.tessera-identity [data-state=logged-out]')").await;
            wait_session_ended(app, &sid, "the widget's logout ends its session").await;
            browser.refresh().await.unwrap();
            wait_js(&browser, "document.querySelector('.tessera-identity [data-state=logged-out]')").await;
        }).await;
    }

    async fn switched_off_the_button_only_publishes_required(app) {
        let env = DemoEnv::start(&app).await;
        // Acme News (the demo's cookie-login site) switched account handling off.
        let url = env.set_page("switched-off", embed_page(&app, env.site_id, "", RECORD_EVENTS));
        with_browser(|browser| async move {
            browser.goto(&url).await.unwrap();
            click(&browser, ".tessera-identity button.tsr-in").await;
            wait_js(&browser, &has_event("required")).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let form = browser.execute("return !!document.querySelector('.tessera-identity form');", vec![]).await.unwrap();
            assert_eq!(form, json!(false), "no sign-in form");
            let expanded = browser.execute("return document.querySelector('.tsr-in').hasAttribute('aria-expanded');", vec![]).await.unwrap();
            assert_eq!(expanded, json!(false), "the button opens nothing");
        }).await;
    }

    async fn profile_panel_changes_the_name_and_hides_locked_fields(app) {
        let env = DemoEnv::start(&app).await;
        // A site that signs its users in itself but lets them change their profile.
        set_switches(&app, env.site_id, AccountHandling { disable_account_handling: true, ..AccountHandling::default() }).await;
        let (user_id, sid) = env.server_login(&app, "acme-ada", "Ada Lovelace").await;
        let attrs = format!("data-uid=\"{user_id}\" data-sid=\"{sid}\"");
        let url = env.set_page("profile", embed_page(&app, env.site_id, &attrs, RECORD_EVENTS));
        let app = &app;
        let site_id = env.site_id;
        with_browser(|browser| async move {
            browser.goto(&url).await.unwrap();
            assert_eq!(widget_name(&browser).await, "Ada Lovelace");
            click(&browser, ".tessera-identity button.tsr-edit").await;
            assert_eq!(panel_inputs(&browser).await, json!(["nickname", "photo"]));
            wait_js(&browser, "document.activeElement.autocomplete === 'nickname' && document.activeElement.value === 'Ada Lovelace'").await;

            // A refused value: the server's sentence in the error line, nothing changed.
            type_into(&browser, ".tsr-f input[autocomplete=photo]", "http://img.example/ada.png").await;
            click(&browser, ".tsr-f button[type=submit]").await;
            let error = wait_js(&browser, "document.querySelector('.tsr-f .tsr-err').textContent").await;
            assert_eq!(error, json!("The avatar must be an https:// URL (or empty, for none)."));

            type_into(&browser, ".tsr-f input[autocomplete=photo]", "").await;
            type_into(&browser, ".tsr-f input[autocomplete=nickname]", "Countess of Lovelace").await;
            screenshot(&browser, "widget-profile-panel").await;
            click(&browser, ".tsr-f button[type=submit]").await;
            wait_js(&browser, "!document.querySelector('.tessera-identity form')").await;
            assert_eq!(widget_name(&browser).await, "Countess of Lovelace");
            assert_eq!(wait_js(&browser, "tessera.user().name").await, json!("Countess of Lovelace"));
            // Focus is back on the button that opened the panel.
            wait_js(&browser, "document.activeElement.classList.contains('tsr-edit')").await;
            let shown: Value = app.client.get(app.url("/rest/v1/session")).header("X-Tessera-Session", &sid)
                .send().await.unwrap().json().await.unwrap();
            assert_eq!(shown["name"], "Countess of Lovelace");

            // The avatar switched off: its control is gone, the name's stays.
            set_switches(app, site_id, AccountHandling {
                disable_account_handling: true, disable_avatar_changing: true, ..AccountHandling::default()
            }).await;
            browser.refresh().await.unwrap();
            assert_eq!(widget_name(&browser).await, "Countess of Lovelace");
            click(&browser, ".tessera-identity button.tsr-edit").await;
            assert_eq!(panel_inputs(&browser).await, json!(["nickname"]));

            // Both switched off: no profile control at all.
            set_switches(app, site_id, AccountHandling {
                disable_account_handling: true, disable_avatar_changing: true, disable_display_name_changing: true,
            }).await;
            browser.refresh().await.unwrap();
            assert_eq!(widget_name(&browser).await, "Countess of Lovelace");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let edit = browser.execute("return !!document.querySelector('.tessera-identity .tsr-edit');", vec![]).await.unwrap();
            assert_eq!(edit, json!(false), "no control for locked fields");
        }).await;
    }
}
