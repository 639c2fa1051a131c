//! `POST /api/v1/authenticate`: parameters, site resolution, API key, answers.

use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::store::audit::Actor;
use tessera::store::users::{Ban, SsoProfile};

use super::*;
use crate::both_databases;

fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

both_databases! {
    async fn the_seed_query_string_request_logs_in_with_the_faveo_answer(db) {
        let app = spawn(&db).await;
        assert_eq!(app.site_id, 1);
        let id = create_user(&app, 1, "demoadmin", Some("Demo@Example.com"), PASSWORD).await;
        let url = format!(
            "{}?username=demoadmin&password={}",
            app.url("/api/v1/authenticate"),
            PASSWORD.replace(' ', "+")
        );
        let answer = Answer::of(app.client.post(url).send().await.unwrap()).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let body = answer.json();
        assert_eq!(keys_of(&body), ["token", "user_id"]);
        let user = &body["user_id"];
        assert_eq!(
            keys_of(user),
            ["active", "ban", "created_at", "email", "first_name", "id", "is_delete", "last_name",
             "profile_pic", "role", "updated_at", "user_language", "user_name"]
        );
        assert_eq!(user["id"], id);
        assert_eq!(user["user_name"], "demoadmin");
        assert_eq!(user["first_name"], "Demo");
        assert_eq!(user["last_name"], "Admin");
        assert_eq!(user["email"], "Demo@Example.com");
        assert_eq!((user["ban"].clone(), user["active"].clone(), user["is_delete"].clone()), (json!(0), json!(1), json!(0)));
        assert_eq!(user["role"], "admin");
        assert_eq!(user["user_language"], Value::Null);
        assert!(user["profile_pic"].as_str().unwrap().starts_with("https://secure.gravatar.com/avatar/"));
        let created = user["created_at"].as_str().unwrap();
        let parsed = chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S").unwrap();
        assert!((parsed.and_utc().timestamp_millis() - app.clock.now_ms()).abs() < 2000);

        // The token, checked by an independent library against the published keys.
        let token = body["token"].as_str().unwrap();
        let claims = verify_independently(&app, token).await;
        assert_eq!(claims["sub"], id.to_string());
        assert_eq!(claims["site_id"], 1);
        assert_eq!(claims["role"], "admin");
        assert_eq!(claims["iss"], app.url("/api/v1/authenticate"));
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
        assert_eq!(claims["nbf"], claims["iat"]);
        assert_eq!(claims["auth_time"], claims["iat"]);
        // 128 random bits, base64url: 22 characters.
        assert!(claims["jti"].as_str().unwrap().len() >= 22);
        app.stop().await;
    }

    async fn email_or_user_name_in_any_case_from_form_or_json(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "Alice", Some("alice@example.com"), PASSWORD).await;
        let by_email = login(&app, &[("username", "ALICE@example.COM"), ("password", PASSWORD)]).await;
        assert_eq!(by_email.status, 200, "{}", by_email.text);
        assert_eq!(by_email.json()["user_id"]["user_name"], "Alice");

        let json_body = app.client.post(app.url("/api/v1/authenticate"))
            .json(&json!({ "username": "alice", "password": PASSWORD, "site_id": 1 }))
            .send().await.unwrap();
        let json_body = Answer::of(json_body).await;
        assert_eq!(json_body.status, 200, "{}", json_body.text);
        verify_independently(&app, json_body.json()["token"].as_str().unwrap()).await;
        app.stop().await;
    }

    async fn the_body_wins_over_the_query_string(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "alice", None, PASSWORD).await;
        let url = app.url("/api/v1/authenticate?username=alice&password=wrong-password-in-query");
        // Query < form.
        let form = Answer::of(app.client.post(&url).form(&[("password", PASSWORD)]).send().await.unwrap()).await;
        assert_eq!(form.status, 200, "{}", form.text);
        // Query < JSON.
        let json_body = Answer::of(app.client.post(&url).json(&json!({ "password": PASSWORD })).send().await.unwrap()).await;
        assert_eq!(json_body.status, 200, "{}", json_body.text);
        // And the other way round: a wrong body password beats a right query password.
        let right_query = app.url(&format!("/api/v1/authenticate?username=alice&password={}", PASSWORD.replace(' ', "+")));
        let wrong = Answer::of(app.client.post(&right_query).json(&json!({ "password": "not the password at all" })).send().await.unwrap()).await;
        wrong.assert_error(401, "invalid_credentials");
        app.stop().await;
    }

    async fn wrong_password_unknown_deleted_and_passwordless_users_look_the_same(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "alice", None, PASSWORD).await;
        let deleted = create_user(&app, 1, "dora", None, PASSWORD).await;
        sql(&db, &format!("UPDATE users SET deleted = TRUE WHERE user_id = {deleted}")).await;
        let sso = SsoProfile {
            external_id: "ext-1".into(), display_name: "Sam".into(), email: Some("sam@example.com".into()),
            photo_url: None, social_data: None, replace_all: false,
        };
        app.store.upsert_sso_user(1, &sso, app.clock.now_ms()).await.unwrap();

        let wrong = login(&app, &[("username", "alice"), ("password", "wrong password, long enough")]).await;
        let unknown = login(&app, &[("username", "nobody"), ("password", PASSWORD)]).await;
        let gone = login(&app, &[("username", "dora"), ("password", PASSWORD)]).await;
        let passwordless = login(&app, &[("username", "sam@example.com"), ("password", PASSWORD)]).await;
        wrong.assert_error(401, "invalid_credentials");
        assert_eq!(wrong.text, r#"{"Error":"invalid_credentials","status_code":401}"#);
        for other in [&unknown, &gone, &passwordless] {
            assert_eq!(other.status, 401);
            assert_eq!(other.text, wrong.text, "bodies must be byte-identical");
        }
        app.stop().await;
    }

    async fn missing_and_malformed_parameters_are_400_in_the_faveo_shape(db) {
        let app = spawn(&db).await;
        let none = login(&app, &[]).await;
        assert_eq!(none.status, 400);
        assert_eq!(none.text, r#"{"Error":"username is required","status_code":400}"#);
        login(&app, &[("username", "alice")]).await.assert_error(400, "password is required");
        login(&app, &[("username", ""), ("password", PASSWORD)]).await.assert_error(400, "username is required");
        let long_name = "a".repeat(256);
        login(&app, &[("username", &long_name), ("password", PASSWORD)]).await.assert_error(400, "username is too long");
        let long_password = "p".repeat(1025);
        login(&app, &[("username", "alice"), ("password", &long_password)]).await.assert_error(400, "password is too long");

        let post = |body: &'static str, content_type: &'static str| {
            let request = app.client.post(app.url("/api/v1/authenticate")).header("content-type", content_type).body(body);
            async move { Answer::of(request.send().await.unwrap()).await }
        };
        let bad_json = post("{\"username\":", "application/json").await;
        assert_eq!(bad_json.status, 400);
        assert_eq!(bad_json.json()["status_code"], 400);
        let nested = post(r#"{"username":{"a":1},"password":"x"}"#, "application/json").await;
        assert_eq!(nested.status, 400);
        let duplicate = post("username=a&username=b&password=x", "application/x-www-form-urlencoded").await;
        duplicate.assert_error(400, "parameter username is given more than once");
        let bad_utf8 = post("username=%FF&password=x", "application/x-www-form-urlencoded").await;
        assert_eq!(bad_utf8.status, 400);
        let text = post("username=a", "text/plain").await;
        assert_eq!(text.status, 415);
        assert_eq!(text.json()["status_code"], 415);
        let bad_site = login(&app, &[("username", "a"), ("password", PASSWORD), ("site_id", "abc")]).await;
        bad_site.assert_error(400, "site_id must be a positive integer");
        app.stop().await;
    }

    async fn the_site_comes_from_the_api_key_then_site_id_then_the_default(db) {
        let app = spawn(&db).await;
        let other = app.store.create_site("Other", &[], app.clock.now_ms(), &Actor::Cli).await.unwrap();
        let other_key = secrecy::ExposeSecret::expose_secret(&other.api_key).to_string();
        let other_site = other.site_id.to_string();
        // The same user name on both sites, with different passwords.
        create_user(&app, 1, "alice", None, PASSWORD).await;
        let other_password = "the other site's password";
        let other_id = create_user(&app, other.site_id, "alice", None, other_password).await;

        let by_key = login(&app, &[("username", "alice"), ("password", other_password), ("api_key", &other_key)]).await;
        assert_eq!(by_key.status, 200, "{}", by_key.text);
        assert_eq!(by_key.json()["user_id"]["id"], other_id);
        let by_site_id = login(&app, &[("username", "alice"), ("password", other_password), ("site_id", &other_site)]).await;
        assert_eq!(by_site_id.status, 200, "{}", by_site_id.text);
        let claims = verify_independently(&app, by_site_id.json()["token"].as_str().unwrap()).await;
        assert_eq!(claims["site_id"], other.site_id);
        let by_default = login(&app, &[("username", "alice"), ("password", PASSWORD)]).await;
        assert_eq!(by_default.status, 200, "{}", by_default.text);
        // The other site's password does not open the default site's account.
        login(&app, &[("username", "alice"), ("password", other_password)]).await.assert_error(401, "invalid_credentials");
        login(&app, &[("username", "alice"), ("password", PASSWORD), ("site_id", "999")]).await
            .assert_error(400, "site_id does not name a site");
        app.stop().await;

        // Without a default site, a request naming none is a 400.
        let bare = TestApp::spawn(&db, crate::helpers::test_config(&db)).await;
        login(&bare, &[("username", "alice"), ("password", PASSWORD)]).await.assert_error(400, "site_id is required");
        bare.stop().await;
    }

    async fn api_key_mandatory_on_and_off(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "alice", None, PASSWORD).await;
        let other = app.store.create_site("Other", &[], app.clock.now_ms(), &Actor::Cli).await.unwrap();
        let other_key = secrecy::ExposeSecret::expose_secret(&other.api_key).to_string();
        let wrong_key = "tsk_not-a-key-of-anyone-at-all-00000000000000000";

        // Off: no key is fine, a wrong key never is.
        assert_eq!(login(&app, &[("username", "alice"), ("password", PASSWORD)]).await.status, 200);
        login(&app, &[("username", "alice"), ("password", PASSWORD), ("api_key", wrong_key)]).await.assert_error(401, "invalid_api_key");

        app.store.configure_site(1, None, |s| s.api_key_mandatory = true, app.clock.now_ms(), &Actor::Cli).await.unwrap();
        let missing = login(&app, &[("username", "alice"), ("password", PASSWORD)]).await;
        assert_eq!(missing.text, r#"{"Error":"invalid_api_key","status_code":401}"#);
        assert_eq!(missing.status, 401);
        login(&app, &[("username", "alice"), ("password", PASSWORD), ("api_key", wrong_key)]).await.assert_error(401, "invalid_api_key");
        login(&app, &[("username", "alice"), ("password", PASSWORD), ("api_key", &other_key), ("site_id", "1")]).await
            .assert_error(401, "invalid_api_key");
        let right = login(&app, &[("username", "alice"), ("password", PASSWORD), ("api_key", &app.api_key)]).await;
        assert_eq!(right.status, 200, "{}", right.text);
        let right_with_site = login(&app, &[("username", "alice"), ("password", PASSWORD), ("api_key", &app.api_key), ("site_id", "1")]).await;
        assert_eq!(right_with_site.status, 200, "{}", right_with_site.text);
        app.stop().await;
    }

    async fn banned_and_inactive_users_are_refused_only_with_the_right_password(db) {
        let app = spawn(&db).await;
        let banned = create_user(&app, 1, "bob", None, PASSWORD).await;
        let inactive = create_user(&app, 1, "ivy", None, PASSWORD).await;
        let bob_token = token_for(&app, "bob", PASSWORD).await;
        let ivy_token = token_for(&app, "ivy", PASSWORD).await;
        let ends_at = app.clock.now_ms() + 86_400_000;
        let ban = Ban { banned_at: app.clock.now_ms(), ends_at: Some(ends_at), reason: "spam".into(), note: "private".into() };
        assert!(app.store.ban_user(1, banned, &ban, &Actor::Cli).await.unwrap());
        sql(&db, &format!("UPDATE users SET active = FALSE WHERE user_id = {inactive}")).await;

        let refused = login(&app, &[("username", "bob"), ("password", PASSWORD)]).await;
        refused.assert_error(403, "user_banned");
        let body = refused.json();
        assert_eq!(body["ban_level"], "temporary");
        assert_eq!(body["is_permanent"], false);
        assert_eq!(body["end_date"], ends_at);
        assert_eq!(body["reason"], "spam");
        assert!(!refused.text.contains("private"), "the moderators' note stays private");
        login(&app, &[("username", "bob"), ("password", "a wrong password here")]).await.assert_error(401, "invalid_credentials");
        login(&app, &[("username", "ivy"), ("password", PASSWORD)]).await.assert_error(403, "user_inactive");
        login(&app, &[("username", "ivy"), ("password", "a wrong password here")]).await.assert_error(401, "invalid_credentials");

        // Tokens issued before stop working at once.
        me(&app, &bob_token).await.assert_error(403, "user_banned");
        post_token(&app, "/api/v1/refresh", &bob_token).await.assert_error(403, "user_banned");
        me(&app, &ivy_token).await.assert_error(403, "user_inactive");
        post_token(&app, "/api/v1/refresh", &ivy_token).await.assert_error(403, "user_inactive");

        // A deleted user's token is refused like every login of a deleted user.
        let dora = create_user(&app, 1, "dora", None, PASSWORD).await;
        let dora_token = token_for(&app, "dora", PASSWORD).await;
        sql(&db, &format!("UPDATE users SET deleted = TRUE WHERE user_id = {dora}")).await;
        me(&app, &dora_token).await.assert_error(403, "user_deleted");
        app.stop().await;
    }
}
