//! One table: every login flow (accounts API, cookie login, password login with JWT)
//! against every state of a user or its site, asserting status, error code and the
//! audit event the login left.

use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::store::audit::Actor;
use tessera::store::users::Ban;

use crate::both_stores;
use crate::cookie_login::endpoint::{Answer, Endpoint};
use crate::cookie_login::{self, answer};
use crate::helpers::TestApp;
use crate::password::{self, PASSWORD};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fine,
    BannedTemporarily,
    BannedPermanently,
    BanExpired,
    Inactive,
    Deleted,
    SiteDisabled,
}

const STATES: [State; 7] = [
    State::Fine,
    State::BannedTemporarily,
    State::BannedPermanently,
    State::BanExpired,
    State::Inactive,
    State::Deleted,
    State::SiteDisabled,
];

#[derive(Debug, Clone, Copy)]
enum Flow {
    Accounts,
    Cookie,
    Password,
}

/// What a login in `state` answers through `flow`: status, error code (`None`: signed
/// in), and the audit event's `detail.reason` (`None`: no event, refused at the door).
fn expected(flow: Flow, state: State) -> (u16, Option<&'static str>, Option<&'static str>) {
    match (state, flow) {
        (State::Fine | State::BanExpired, _) => (200, None, None),
        (State::BannedTemporarily | State::BannedPermanently, _) => {
            (403, Some("user_banned"), Some("user_banned"))
        }
        (State::Inactive, _) => (403, Some("user_inactive"), Some("user_inactive")),
        // A deleted user's password is erased: to password login it is unknown (§4.1).
        (State::Deleted, Flow::Password) => (
            401,
            Some("invalid_credentials"),
            Some("invalid_credentials"),
        ),
        (State::Deleted, _) => (403, Some("user_deleted"), Some("user_deleted")),
        // A disabled site's credentials stop at the door (README, "Login refusals").
        (State::SiteDisabled, Flow::Accounts) => (401, Some("invalid_token"), None),
        (State::SiteDisabled, Flow::Cookie) => (400, Some("cookie_login_not_configured"), None),
        (State::SiteDisabled, Flow::Password) => {
            (403, Some("site_disabled"), Some("site_disabled"))
        }
    }
}

/// A site with cookie login on `endpoint`, an SSO user `ext-1` and a local user `local`.
struct Setup {
    site_id: i64,
    token: String,
    sso_user: i64,
    local_user: i64,
}

async fn setup(app: &TestApp, endpoint: &Endpoint) -> Setup {
    let now = app.clock.now_ms();
    let site = app
        .store
        .create_site("states", &[], now, &Actor::Cli)
        .await
        .unwrap();
    let site_id = site.site_id;
    let token: Value = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(site_id.to_string(), Some(site.api_key.expose_secret()))
        .form(&[("grant_type", "client_credentials"), ("scope", "accounts")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    cookie_login::configure(app, site_id, &endpoint.url("/validate?sid="), |_| {}).await;
    let (status, body) = accounts_login(app, &token).await;
    assert_eq!(status, 200, "{body}");
    let sso_user = body["user_id"].as_i64().unwrap();
    let local_user = password::create_user(app, site_id, "local", None, PASSWORD).await;
    Setup {
        site_id,
        token,
        sso_user,
        local_user,
    }
}

async fn accounts_login(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/rest/v1/accounts/login"))
        .bearer_auth(token)
        .form(&[
            ("id", "ext-1"),
            ("name", "Ext One"),
            ("email", "ext1@example.com"),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn put_in(app: &TestApp, setup: &Setup, state: State) {
    let now = app.clock.now_ms();
    let store = &app.store;
    for user_id in [setup.sso_user, setup.local_user] {
        let ban = |ends_at| Ban {
            banned_at: now - 10_000,
            ends_at,
            reason: "spam".into(),
            note: String::new(),
        };
        match state {
            State::Fine | State::SiteDisabled => {}
            State::BannedTemporarily => {
                assert!(store
                    .ban_user(
                        setup.site_id,
                        user_id,
                        &ban(Some(now + 3_600_000)),
                        &Actor::Cli
                    )
                    .await
                    .unwrap());
            }
            State::BannedPermanently => {
                assert!(store
                    .ban_user(setup.site_id, user_id, &ban(None), &Actor::Cli)
                    .await
                    .unwrap());
            }
            State::BanExpired => {
                assert!(store
                    .ban_user(setup.site_id, user_id, &ban(Some(now - 1)), &Actor::Cli)
                    .await
                    .unwrap());
            }
            State::Inactive => {
                assert!(store
                    .set_user_active(setup.site_id, user_id, false, now, &Actor::Cli)
                    .await
                    .unwrap());
            }
            State::Deleted => {
                assert!(store
                    .mark_user_deleted(setup.site_id, user_id, now, &Actor::Cli)
                    .await
                    .unwrap());
            }
        }
    }
    if state == State::SiteDisabled {
        assert!(store
            .set_site_active(setup.site_id, false, now, &Actor::Cli)
            .await
            .unwrap());
    }
}

async fn log_in(app: &TestApp, setup: &Setup, flow: Flow) -> (u16, Value) {
    match flow {
        Flow::Accounts => accounts_login(app, &setup.token).await,
        Flow::Cookie => {
            let (status, body) = cookie_login::login(app, setup.site_id, "sid-1").await;
            (status.as_u16(), body)
        }
        Flow::Password => {
            let site = setup.site_id.to_string();
            let answer = password::login(
                app,
                &[
                    ("username", "local"),
                    ("password", PASSWORD),
                    ("site_id", &site),
                ],
            )
            .await;
            (answer.status, answer.json())
        }
    }
}

fn error_code(body: &Value) -> Option<&str> {
    body.get("error")
        .or_else(|| body.get("Error"))
        .and_then(Value::as_str)
}

both_stores! {
    async fn every_flow_answers_every_state_alike(app) {
        let endpoint = Endpoint::start(Answer::Json(200, answer("ext-1", "Ext One", "ext1@example.com"))).await;
        for state in STATES {
            let setup = setup(&app, &endpoint).await;
            put_in(&app, &setup, state).await;
            for flow in [Flow::Accounts, Flow::Cookie, Flow::Password] {
                let before = app.store.list_audit(setup.site_id, None, 1).await.unwrap();
                let (status, body) = log_in(&app, &setup, flow).await;
                let (want_status, want_code, want_reason) = expected(flow, state);
                let case = format!("{flow:?} in {state:?}: {body}");
                assert_eq!(status, want_status, "{case}");
                assert_eq!(error_code(&body), want_code, "{case}");
                if want_code == Some("user_banned") {
                    let permanent = state == State::BannedPermanently;
                    assert_eq!(body["is_permanent"], json!(permanent), "{case}");
                    assert_eq!(body["reason"], "spam", "{case}");
                }
                let after = app.store.list_audit(setup.site_id, None, 1).await.unwrap();
                let newest = after.first().filter(|e| before.first().map(|b| b.event_id) != Some(e.event_id));
                match (status, want_reason) {
                    (200, _) => {
                        let event = newest.unwrap_or_else(|| panic!("no audit event: {case}"));
                        assert_eq!((event.action.as_str(), event.outcome.as_str()), ("user.login", "success"), "{case}");
                        assert_eq!(event.detail.0["flow"], format!("{flow:?}").to_lowercase(), "{case}");
                        assert!(event.user_id.is_some(), "{case}");
                    }
                    (_, Some(reason)) => {
                        let event = newest.unwrap_or_else(|| panic!("no audit event: {case}"));
                        assert_eq!((event.action.as_str(), event.outcome.as_str()), ("user.login", "failure"), "{case}");
                        assert_eq!(event.detail.0["reason"], reason, "{case}");
                        assert_eq!(event.detail.0["flow"], format!("{flow:?}").to_lowercase(), "{case}");
                    }
                    (_, None) => assert!(newest.is_none(), "refused at the door, not audited: {case}"),
                }
            }
        }
    }

    async fn cookie_login_of_an_unchanged_profile_does_not_write_the_user(app) {
        let endpoint = Endpoint::start(Answer::Json(200, answer("ext-1", "Ext One", "ext1@example.com"))).await;
        let setup = setup(&app, &endpoint).await;
        let (status, body) = cookie_login::login(&app, setup.site_id, "sid-1").await;
        assert_eq!(status, 200, "{body}");
        let first = app.store.get_user(setup.site_id, setup.sso_user).await.unwrap().unwrap();
        app.clock.advance(std::time::Duration::from_secs(60));
        let (status, body) = cookie_login::login(&app, setup.site_id, "sid-1").await;
        assert_eq!(status, 200, "{body}");
        let second = app.store.get_user(setup.site_id, setup.sso_user).await.unwrap().unwrap();
        assert_eq!(second.updated_at, first.updated_at, "an unchanged profile is not rewritten");
        // A changed one is, in the login's own commit.
        endpoint.answer(Answer::Json(200, answer("ext-1", "Ext Renamed", "ext1@example.com")));
        app.clock.advance(std::time::Duration::from_secs(60));
        let (status, body) = cookie_login::login(&app, setup.site_id, "sid-1").await;
        assert_eq!(status, 200, "{body}");
        let third = app.store.get_user(setup.site_id, setup.sso_user).await.unwrap().unwrap();
        assert_eq!(third.display_name, "Ext Renamed");
        assert!(third.updated_at > second.updated_at);
    }
}
