//! Successful cookie logins: the request the site receives, the mapping, the
//! profile kept in step with the site, sessions with their re-verify time.

use std::time::Duration;

use serde_json::json;
use tessera::clock::{rfc3339, Clock};
use tessera::secrets::TimedHash;
use tessera::settings::cookie_login::{header_arg, FieldMapping};
use tessera::store::audit::Actor;
use tessera::store::users::Ban;

use super::endpoint::{Answer, Endpoint};
use super::*;
use crate::both_stores;

both_stores! {
    async fn happy_path_sends_custom_headers_and_starts_a_session(app) {
        let mut seed = answer("75453", "Ironman", "tony@stark.example");
        seed["photoURL"] = json!("https://img.example/tony.png");
        seed["socialData"] = json!([{"social": "data"}]);
        let site = Endpoint::start(Answer::Json(200, seed)).await;
        configure(&app, app.site_id, &site.url("/users/validate?sid="), |s| {
            s.headers = vec![
                header_arg("X-Tessera-Secret: 7c2f0e1d9b8a7c6d5e4f").unwrap(),
                header_arg("X-Other: two").unwrap(),
            ];
        }).await;

        let cookie = "someKindaSessionID456745674567456745674567";
        let (status, body) = login(&app, app.site_id, cookie).await;
        assert_eq!(status, 200, "{body}");

        let seen = site.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path_and_query, format!("/users/validate?sid={cookie}"));
        assert_eq!(seen[0].headers["x-tessera-secret"], "7c2f0e1d9b8a7c6d5e4f");
        assert_eq!(seen[0].headers["x-other"], "two");
        assert_eq!(seen[0].headers["accept"], "application/json");

        let user_id = body["user_id"].as_i64().unwrap();
        assert!(user_id > 0);
        assert_eq!(body["user"], json!({"user_id": user_id, "name": "Ironman", "photo_url": "https://img.example/tony.png"}));
        let now = app.clock.now_ms();
        assert_eq!(body["reverify_at"], rfc3339(now + 24 * 3600 * 1000));
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["reverify_at", "session", "user", "user_id"]);

        let session = body["session"].as_str().unwrap();
        assert!(session.len() >= 22, "at least 128 bits: {session}");
        let record = app.store.find_session(&TimedHash::of(session), now).await.unwrap().expect("live session");
        assert_eq!((record.user_id, record.site_id, record.kind.as_str()), (user_id, app.site_id, "cookie"));
        assert_eq!(record.reverify_at, Some(now + 24 * 3600 * 1000));

        let user = app.store.find_user_by_external_id(app.site_id, "75453").await.unwrap().unwrap();
        assert_eq!(user.user_id, user_id);
        assert_eq!(user.email.as_deref(), Some("tony@stark.example"));
        assert_eq!(user.social_data.as_deref(), Some(r#"[{"social":"data"}]"#));

        let events = audit(&app, app.site_id).await;
        let ok = events.iter().find(|e| e.action == "user.login").expect("login audited");
        assert_eq!(ok.outcome, "success");
        assert_eq!(ok.client_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(ok.detail.0["user_id"], user_id);
        assert!(!format!("{events:?}").contains(cookie), "the cookie is never audited");

        // The same user again: same user id, a new session.
        let (status, again) = login(&app, app.site_id, cookie).await;
        assert_eq!(status, 200);
        assert_eq!(again["user_id"], user_id);
        assert_ne!(again["session"], body["session"]);
    }

    async fn the_cookie_value_is_appended_url_encoded(app) {
        let site = Endpoint::start(Answer::Json(200, answer("1", "A", "a@x.example"))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let (status, body) = login(&app, app.site_id, "a%b$c+d!e*f'g(h)i-j_k.l~0Z").await;
        // `~` is not allowed in a cookie value: refused before any request.
        assert_eq!(status, 400, "{body}");
        assert_eq!(site.count(), 0);

        let (status, body) = login(&app, app.site_id, "a%b$c+d!e*f'g(h)i-j_k.l0Z%20").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            site.seen()[0].path_and_query,
            "/v?sid=a%25b%24c%2Bd%21e%2Af%27g%28h%29i-j_k.l0Z%2520"
        );
    }

    async fn an_empty_display_name_becomes_the_email_local_part(app) {
        let site = Endpoint::start(Answer::Json(200, answer("u1", "", "pparker@dailybugle.example"))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "pparker");
        assert_eq!(body["user"]["photo_url"], serde_json::Value::Null);
    }

    async fn long_and_emoji_display_names_are_truncated_by_characters(app) {
        let site = Endpoint::start(Answer::Json(200, answer("long", &"n".repeat(300), "l@x.example"))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "n".repeat(255));

        site.answer(Answer::Json(200, answer("emoji", &"😀".repeat(300), "e@x.example")));
        let (status, body) = login(&app, app.site_id, "c2").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "😀".repeat(255));
        let stored = app.store.find_user_by_external_id(app.site_id, "emoji").await.unwrap().unwrap();
        assert_eq!(stored.display_name.chars().count(), 255);

        site.answer(Answer::Json(200, answer("astro", "Zoë 👩‍🚀 Ünïcødé", "z@x.example")));
        let (status, body) = login(&app, app.site_id, "c3").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "Zoë 👩‍🚀 Ünïcødé");

        // NUL and other control characters (which PostgreSQL text cannot hold) never reach the store.
        let mut nul = answer("nul", "Nul\u{0}By\u{7}te", "n@x.example");
        nul["socialData"] = json!({"k": "v\u{0}"});
        site.answer(Answer::Json(200, nul));
        let (status, body) = login(&app, app.site_id, "c4").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "NulByte");
        let stored = app.store.find_user_by_external_id(app.site_id, "nul").await.unwrap().unwrap();
        assert_eq!(stored.social_data.as_deref(), Some(r#"{"k":"v\u0000"}"#));
        let mut refused = answer("nul", "x", "n@x.example");
        refused["error"] = json!("bad\u{0}session");
        site.answer(Answer::Json(200, refused));
        let (status, body) = login(&app, app.site_id, "c5").await;
        assert_eq!(status, 401, "{body}");
    }

    async fn nested_mapping_paths_reach_into_objects(app) {
        let nested = json!({
            "user": {"id": 75453, "profile": {"name": "Ironman", "avatar": {"url": "https://img.example/i.png"}}},
            "contact": {"email": "tony@stark.example"},
            "status": {"error": ""},
            "social": {"data": {"twitter": "@tony"}},
        });
        let site = Endpoint::start(Answer::Json(200, nested)).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |s| {
            s.mapping = FieldMapping {
                uid: "user.id".into(),
                display_name: "user.profile.name".into(),
                email: "contact.email".into(),
                error: "status.error".into(),
                photo_url: "user.profile.avatar.url".into(),
                social_data: "social.data".into(),
            };
        }).await;
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "Ironman");
        assert_eq!(body["user"]["photo_url"], "https://img.example/i.png");
        let user = app.store.find_user_by_external_id(app.site_id, "75453").await.unwrap().expect("numeric uid as text");
        assert_eq!(user.email.as_deref(), Some("tony@stark.example"));
        assert_eq!(user.social_data.as_deref(), Some(r#"{"twitter":"@tony"}"#));
    }

    async fn the_profile_is_overwritten_on_each_verification(app) {
        let mut first = answer("42", "Old Name", "old@x.example");
        first["photoURL"] = json!("https://img.example/old.png");
        first["socialData"] = json!({"a": 1});
        let site = Endpoint::start(Answer::Json(200, first)).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |s| {
            s.reverify_interval_ms = 2 * 3600 * 1000;
        }).await;
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["reverify_at"], rfc3339(app.clock.now_ms() + 2 * 3600 * 1000));
        let user_id = body["user_id"].as_i64().unwrap();

        // The site stops sending a photo and social data, and renames the user.
        app.clock.advance(Duration::from_secs(60));
        site.answer(Answer::Json(200, json!({"uid": "42", "displayName": "New Name", "email": "new@x.example"})));
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user_id"], user_id);
        assert_eq!(body["user"], json!({"user_id": user_id, "name": "New Name", "photo_url": null}));
        let user = app.store.get_user(app.site_id, user_id).await.unwrap().unwrap();
        assert_eq!(user.display_name, "New Name");
        assert_eq!(user.email.as_deref(), Some("new@x.example"));
        assert_eq!(user.photo_url, None);
        assert_eq!(user.social_data, None);
    }

    async fn a_banned_user_gets_the_ban_body(app) {
        let site = Endpoint::start(Answer::Json(200, answer("troll", "Troll", "t@x.example"))).await;
        configure(&app, app.site_id, &site.url("/v?sid="), |_| {}).await;
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
        let user_id = body["user_id"].as_i64().unwrap();
        let now = app.clock.now_ms();
        let ban = Ban { banned_at: now, ends_at: None, reason: "Be nice.".into(), note: "private note".into() };
        assert!(app.store.ban_user(app.site_id, user_id, &ban, &Actor::Cli).await.unwrap());

        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body, json!({"error": "user_banned", "ban_level": "permanent", "is_permanent": true, "end_date": null, "reason": "Be nice."}));

        let ends = now + 3_600_000;
        let temporary = Ban { banned_at: now, ends_at: Some(ends), reason: "Cool down.".into(), note: String::new() };
        assert!(app.store.ban_user(app.site_id, user_id, &temporary, &Actor::Cli).await.unwrap());
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["ban_level"], "temporary");
        assert_eq!(body["end_date"], ends);

        // A temporary ban past its end no longer blocks.
        app.clock.advance(Duration::from_secs(3601));
        let (status, body) = login(&app, app.site_id, "c1").await;
        assert_eq!(status, 200, "{body}");
        let failed = audit(&app, app.site_id).await.into_iter()
            .filter(|e| e.action == "user.login" && e.outcome == "failure").count();
        assert_eq!(failed, 2, "both refusals are audited");
    }
}
