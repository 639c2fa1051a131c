//! `PATCH /rest/v1/session/profile` (SPEC §6.1): a user changes their own display name
//! and avatar, within the site's switches; every refusal changes nothing.

use reqwest::Method;
use serde_json::{json, Value};
use tessera::settings::AccountHandling;
use tessera::store::audit::AuditFilter;

use super::*;
use crate::both_stores;

async fn patch_json(app: &TestApp, session: Option<&str>, body: &Value) -> Answer {
    let mut request = app
        .client
        .patch(app.url("/rest/v1/session/profile"))
        .json(body);
    if let Some(session) = session {
        request = request.header("X-Tessera-Session", session);
    }
    Answer::of(request.send().await.unwrap()).await
}

async fn profile_events(app: &TestApp, user_id: i64) -> Vec<Value> {
    let filter = AuditFilter {
        action: Some("user.profile_changed".into()),
        user_id: Some(user_id),
        ..AuditFilter::default()
    };
    app.store
        .search_audit(app.site_id, &filter, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| json!({"actor": e.actor, "outcome": e.outcome, "client_ip": e.client_ip, "detail": e.detail}))
        .collect()
}

/// What the session shows of its user: `(name, photo_url)`.
async fn shown(app: &TestApp, session: &str) -> (Value, Value) {
    let body = lookup(app, session).await.json();
    (body["name"].clone(), body["photo_url"].clone())
}

both_stores! {
    async fn a_user_changes_name_and_avatar_and_the_session_shows_it_at_once(app) {
        let (user_id, sid) = server_session(&app, "u-1", "Ada Lovelace").await;
        let answer = patch_json(&app, Some(&sid), &json!({
            "display_name": "  Countess of Lovelace ", "photo_url": "https://img.example/ada.png",
        })).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json(), json!({
            "user_id": user_id, "name": "Countess of Lovelace", "photo_url": "https://img.example/ada.png",
        }));
        assert_eq!(answer.headers["cache-control"], "no-store");
        assert_eq!(shown(&app, &sid).await, (json!("Countess of Lovelace"), json!("https://img.example/ada.png")));

        // Audited in the same transaction, with the user as the actor and both values.
        let events = profile_events(&app, user_id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["actor"], format!("user:{user_id}"));
        assert_eq!(events[0]["outcome"], "success");
        assert_eq!(events[0]["client_ip"], "127.0.0.1");
        assert_eq!(events[0]["detail"]["display_name"], json!({"from": "Ada Lovelace", "to": "Countess of Lovelace"}));
        assert_eq!(events[0]["detail"]["photo_url"], json!({"from": null, "to": "https://img.example/ada.png"}));

        // One field alone; the same values again change nothing and record nothing.
        let answer = patch_json(&app, Some(&sid), &json!({"display_name": "Ada"})).await;
        assert_eq!(answer.json()["photo_url"], "https://img.example/ada.png");
        let again = patch_json(&app, Some(&sid), &json!({"display_name": "Ada", "photo_url": "https://img.example/ada.png"})).await;
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(profile_events(&app, user_id).await.len(), 2);

        // An empty photo_url removes the avatar.
        let answer = patch_json(&app, Some(&sid), &json!({"photo_url": ""})).await;
        assert_eq!(answer.json()["photo_url"], Value::Null);
        assert_eq!(shown(&app, &sid).await, (json!("Ada"), Value::Null));

        // A form body works as well as JSON, like the accounts API.
        let form = app.client.patch(app.url("/rest/v1/session/profile"))
            .header("X-Tessera-Session", &sid).form(&[("display_name", "Ada L.")]).send().await.unwrap();
        assert_eq!(form.status(), 200);

        // The site stays the source of truth: its next SSO login overwrites the name.
        let (_, second) = server_session(&app, "u-1", "Ada Lovelace").await;
        assert_eq!(shown(&app, &second).await.0, json!("Ada Lovelace"));
        assert_eq!(shown(&app, &sid).await.0, json!("Ada Lovelace"));
    }

    async fn invalid_photo_urls_are_refused_and_change_nothing(app) {
        let (_, sid) = server_session(&app, "u-2", "Grace").await;
        patch_json(&app, Some(&sid), &json!({"photo_url": "https://img.example/g.png"})).await;
        for bad in [
            json!("http://img.example/g.png"),
            json!("/avatars/g.png"),
            json!("img.example/g.png"),
            json!("javascript:alert(1)"),
            json!("data:image/png;base64,AAAA"),
            json!("https://"),
            json!(42),
            json!(format!("https://img.example/{}", "a".repeat(2048))),
        ] {
            // A valid name beside a bad URL is not applied either.
            let answer = patch_json(&app, Some(&sid), &json!({"display_name": "Changed", "photo_url": bad})).await;
            let body = answer.assert_error(400, "invalid_request");
            assert!(body["error_description"].as_str().unwrap().starts_with("photo_url "), "{bad}: {body}");
        }
        assert_eq!(shown(&app, &sid).await, (json!("Grace"), json!("https://img.example/g.png")));
    }

    async fn names_out_of_bounds_and_malformed_bodies_are_refused(app) {
        let (_, sid) = server_session(&app, "u-3", "Grace").await;
        // 255 characters is the limit, counted in characters (emoji included).
        let longest = "😀".repeat(255);
        assert_eq!(patch_json(&app, Some(&sid), &json!({"display_name": longest})).await.status, 200);
        for (bad, needle) in [
            (json!("😀".repeat(256)), "must be at most 255 characters"),
            (json!("x".repeat(300)), "must be at most 255 characters"),
            (json!("   "), "must not be blank"),
            (json!(""), "must not be blank"),
            (json!("a\u{7}b"), "must not contain control characters"),
        ] {
            let answer = patch_json(&app, Some(&sid), &json!({"display_name": bad})).await;
            let body = answer.assert_error(400, "invalid_request");
            assert_eq!(body["error_description"], format!("display_name {needle}"), "{body}");
        }
        for (body, needle) in [
            (json!({}), "send display_name and/or photo_url"),
            (json!({"display_name": null}), "send display_name and/or photo_url"),
            (json!({"name": "Grace"}), "unknown field name"),
            (json!({"display_name": {"first": "G"}}), "object of strings"),
            (json!(["display_name"]), "object of strings"),
        ] {
            let answer = patch_json(&app, Some(&sid), &body).await;
            let error = answer.assert_error(400, "invalid_request");
            assert!(error["error_description"].as_str().unwrap().contains(needle), "{body}: {error}");
        }
        let raw = |body: &'static str, content_type: &'static str| {
            app.client.patch(app.url("/rest/v1/session/profile")).header("X-Tessera-Session", &sid)
                .header("content-type", content_type).body(body).send()
        };
        Answer::of(raw("{\"display_name\":", "application/json").await.unwrap()).await.assert_error(400, "invalid_request");
        Answer::of(raw("{\"display_name\":\"a\",\"display_name\":\"b\"}", "application/json").await.unwrap()).await
            .assert_error(400, "invalid_request");
        Answer::of(raw("display_name=x", "text/plain").await.unwrap()).await.assert_error(400, "invalid_request");
        let big = app.client.patch(app.url("/rest/v1/session/profile")).header("X-Tessera-Session", &sid)
            .json(&json!({"display_name": "x".repeat(70 * 1024)})).send().await.unwrap();
        assert_eq!(big.status(), 413);
        assert_eq!(shown(&app, &sid).await.0, json!("😀".repeat(255)));
    }

    async fn switched_off_fields_are_locked_and_name_the_field(app) {
        let (_, sid) = server_session(&app, "u-4", "Grace").await;
        set_switches(&app, app.site_id, AccountHandling {
            disable_display_name_changing: true,
            ..AccountHandling::default()
        }).await;
        let answer = patch_json(&app, Some(&sid), &json!({"display_name": "Amazing Grace"})).await;
        let body = answer.assert_error(403, "profile_field_locked");
        assert_eq!(body["field"], "display_name");
        assert_eq!(body["error_description"], "display_name cannot be changed on this site");
        // A locked field beside an allowed one: the whole request is refused.
        let answer = patch_json(&app, Some(&sid), &json!({"display_name": "Amazing Grace", "photo_url": "https://img.example/g.png"})).await;
        answer.assert_error(403, "profile_field_locked");
        assert_eq!(shown(&app, &sid).await, (json!("Grace"), Value::Null));
        // The avatar may still change, even when account handling itself is off.
        set_switches(&app, app.site_id, AccountHandling {
            disable_account_handling: true,
            disable_display_name_changing: true,
            ..AccountHandling::default()
        }).await;
        assert_eq!(patch_json(&app, Some(&sid), &json!({"photo_url": "https://img.example/g.png"})).await.status, 200);

        set_switches(&app, app.site_id, all_off()).await;
        let body = patch_json(&app, Some(&sid), &json!({"photo_url": "https://img.example/other.png"})).await
            .assert_error(403, "profile_field_locked");
        assert_eq!(body["field"], "photo_url");
        // Locks are checked before values: a locked field says so even with a bad value.
        patch_json(&app, Some(&sid), &json!({"photo_url": "not a url"})).await.assert_error(403, "profile_field_locked");
        assert_eq!(shown(&app, &sid).await, (json!("Grace"), json!("https://img.example/g.png")));
    }

    async fn unknown_or_ended_sessions_are_invalid(app) {
        let change = json!({"display_name": "Nobody"});
        patch_json(&app, None, &change).await.assert_error(401, "invalid_session");
        patch_json(&app, Some("not-a-session"), &change).await.assert_error(401, "invalid_session");
        patch_json(&app, Some(&"x".repeat(300)), &change).await.assert_error(401, "invalid_session");
        let (user_id, sid) = server_session(&app, "u-5", "Mallory").await;
        // Ended by a logout, or by a ban: the profile stays as it was.
        let logout = app.client.post(app.url("/rest/v1/session/logout")).header("X-Tessera-Session", &sid).send().await.unwrap();
        assert_eq!(logout.status(), 200);
        patch_json(&app, Some(&sid), &change).await.assert_error(401, "invalid_session");
        let (_, sid) = server_session(&app, "u-5", "Mallory").await;
        let ban = tessera::store::users::Ban {
            banned_at: tessera::clock::Clock::now_ms(&app.clock), ends_at: None,
            reason: "spam".into(), note: String::new(),
        };
        assert!(app.store.ban_user(app.site_id, user_id, &ban, &Actor::Cli).await.unwrap());
        patch_json(&app, Some(&sid), &change).await.assert_error(401, "invalid_session");
        let user = app.store.get_user(app.site_id, user_id).await.unwrap().unwrap();
        assert_eq!(user.display_name, "Mallory");
        assert!(profile_events(&app, user_id).await.is_empty());
    }

    async fn browsers_may_change_a_profile_only_from_the_sites_origins(app) {
        let (_, sid) = server_session(&app, "u-6", "Grace").await;
        // The preflight lets PATCH through for the site's origin.
        let preflight = app.client.request(Method::OPTIONS, app.url("/rest/v1/session/profile"))
            .header("Origin", MY_ORIGIN).header("Access-Control-Request-Method", "PATCH")
            .header("Access-Control-Request-Headers", "x-tessera-session, content-type")
            .send().await.unwrap();
        assert_eq!(preflight.status(), 204);
        let methods = preflight.headers()["access-control-allow-methods"].to_str().unwrap().to_string();
        assert!(methods.contains("PATCH"), "{methods}");
        let ok = app.client.patch(app.url("/rest/v1/session/profile")).header("X-Tessera-Session", &sid)
            .header("Origin", MY_ORIGIN).json(&json!({"display_name": "Grace H."})).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["access-control-allow-origin"], MY_ORIGIN);

        // A page of another site's origin cannot change this site's user.
        let other = "https://other.example";
        let created = app.store.create_site("Other", &[other.to_string()], tessera::clock::Clock::now_ms(&app.clock), &Actor::Cli)
            .await.unwrap();
        assert!(created.site_id != app.site_id);
        let refused = Answer::of(app.client.patch(app.url("/rest/v1/session/profile")).header("X-Tessera-Session", &sid)
            .header("Origin", other).json(&json!({"display_name": "Hijacked"})).send().await.unwrap()).await;
        refused.assert_error(403, "origin_not_allowed");
        assert!(refused.headers.get("access-control-allow-origin").is_none());
        assert_eq!(shown(&app, &sid).await.0, json!("Grace H."));
    }
}
