//! The demo's third page, `/native`: **Acme Community**, a second Tessera site on the
//! same origin that lets the platform handle accounts (SPEC §6.1, every switch off).
//! The widget's *Log in* opens its own sign-in form for the site's local users, and a
//! signed-in user changes their display name and avatar from the widget. The other
//! two pages keep Acme News, whose switches are all on, as cookie login recommends.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use secrecy::SecretString;

use super::pages::{embed_tag, esc, events_card, layout, EVENT_LOG_SCRIPT};
use super::DemoSite;
use crate::admin::users::NewUser;
use crate::admin::{AdminResult, Ctx};
use crate::clock::Millis;
use crate::store::audit::Actor;
use crate::store::Store;

/// The local user the demo creates on Acme Community.
pub const NATIVE_USERNAME: &str = "newcomer";

/// Acme Community as `tessera demo` creates it.
#[derive(Debug)]
pub struct NativeSite {
    pub site_id: i64,
    pub username: &'static str,
    /// Random, printed once by `tessera demo` (its store is a throwaway one).
    pub password: SecretString,
}

/// Creates Acme Community: the demo's origin allowed, the account-handling switches
/// left at their defaults (the platform signs users in), and one local user.
pub async fn create_native_site(
    store: &Store,
    demo_origin: &str,
    now: Millis,
) -> AdminResult<NativeSite> {
    let origins = [demo_origin.to_string()];
    let created = store
        .create_site("Acme Community (demo)", &origins, now, &Actor::System)
        .await?;
    let password = SecretString::from(crate::secrets::random_urlsafe(12));
    let user = NewUser {
        username: NATIVE_USERNAME.into(),
        password: password.clone(),
        email: Some("newcomer@community.acme.example".into()),
        first_name: "New".into(),
        last_name: "Comer".into(),
        role: None,
    };
    let ctx = Ctx {
        store,
        site_id: created.site_id,
        actor: Actor::System,
        client_ip: None,
        now,
    };
    crate::admin::users::create(&ctx, &user, None).await?;
    Ok(NativeSite {
        site_id: created.site_id,
        username: NATIVE_USERNAME,
        password,
    })
}

#[tracing::instrument(skip_all)]
pub(super) async fn native_page(State(site): State<DemoSite>, headers: HeaderMap) -> Html<String> {
    let user = site.current(&headers).map(|(_, u)| u);
    let config = site.config();
    let body = match config.native_site_id {
        Some(site_id) => format!(
            "<div class=\"card\"><h2>Acme Community</h2><div class=\"tessera-identity\"></div>\
             <p class=\"hint\">Acme Community lets the platform handle accounts: <b>Log in</b> opens \
             the widget's own form (user <b>{username}</b>, with the password <code>tessera demo</code> \
             printed). Signed in, <b>Profile</b> changes your display name and avatar. No \
             <code>$prepublish</code> intercepts <code>required</code> here; Acme's own sign-in at the \
             top is not involved.</p></div>{events}{script}{tag}",
            username = esc(NATIVE_USERNAME),
            events = events_card(),
            script = EVENT_LOG_SCRIPT,
            tag = embed_tag(config, site_id, None)
        ),
        None => "<div class=\"card\"><p>This demo was started without Acme Community.</p></div>"
            .to_string(),
    };
    Html(layout("Native sign-in", user, "/native", &body))
}
