//! The demo site's header fits a 390 px wide phone and follows the widget's logins and
//! logouts (issue #15: it overflowed and stayed as the page was first drawn).

use fantoccini::Locator;

use crate::both_stores;
use crate::browser::{demo_sign_in, wait_js, with_browser, DemoEnv};

/// No horizontal scrolling: the page is no wider than the window.
const FITS: &str = "document.documentElement.scrollWidth <= window.innerWidth";

/// The elements that stick out on the right, to say what overflows.
const WIDEST: &str = "return Array.from(document.querySelectorAll('body *'))\
    .filter(function (e) { return e.getBoundingClientRect().right > window.innerWidth + 0.5; })\
    .map(function (e) { return e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right); })\
    .slice(0, 8).concat([document.documentElement.scrollWidth, window.innerWidth, document.documentElement.clientWidth,\
      Array.from(document.querySelectorAll('body *')).map(function (e) { return e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible' ? e.tagName + '.' + e.className + ' ' + e.scrollWidth : null; }).filter(Boolean).slice(0, 5)]);";

both_stores! {
    async fn the_demo_header_fits_a_phone_and_follows_the_widget(app) {
        let env = DemoEnv::start(&app).await;
        with_browser(|browser| async move {
            browser.set_window_size(390, 844).await.unwrap();
            browser.goto(&format!("{}/cookie", env.url)).await.unwrap();
            wait_js(&browser, "document.getElementById('platform-user').textContent === 'Tessera: signed out'").await;
            assert_eq!(browser.execute(&format!("return {FITS};"), vec![]).await.unwrap(), true, "signed out: wider than 390 px");
            demo_sign_in(&browser, "ada").await;
            wait_js(&browser, "document.getElementById('platform-user').textContent === 'Tessera: Ada Lovelace'").await;
            let wide = browser.execute(WIDEST, vec![]).await.unwrap();
            assert_eq!(browser.execute(&format!("return {FITS};"), vec![]).await.unwrap(), true, "signed in: wider than 390 px: {wide}");
            browser.find(Locator::Css(".tessera-identity button.tsr-out")).await.unwrap()
                .click().await.unwrap();
            wait_js(&browser, "document.getElementById('platform-user').textContent === 'Tessera: signed out'").await;
        }).await;
    }
}
