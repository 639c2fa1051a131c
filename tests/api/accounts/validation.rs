//! Every validation failure of SPEC §3.1: 400 (413 for an oversized body) in the
//! `{"error","error_description"}` shape, and nothing created.

use serde_json::Value;

use super::error_of;
use crate::both_stores;
use crate::helpers::TestApp;

/// A raw login request: body text and content type.
async fn raw_login(
    app: &TestApp,
    token: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/rest/v1/accounts/login"))
        .bearer_auth(token)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("login request")
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json");

async fn assert_nothing_created(app: &TestApp) {
    assert_eq!(app.store.count_site_users(app.site_id).await.unwrap(), 0);
    assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 0);
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

both_stores! {
    async fn every_field_rule_is_a_400_naming_the_field(app) {
        let token = app.token("accounts").await;
        let long = "x".repeat(256);
        let long_email = format!("{}@example.com", "a".repeat(244));
        let control_name = "Ann\u{7}".to_string();
        let mut cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![("name", "Ann")], "id is required"),
            (vec![("id", ""), ("name", "Ann")], "id is required"),
            (vec![("id", "   "), ("name", "Ann")], "id"),
            (vec![("id", &long), ("name", "Ann")], "id"),
            (vec![("id", "a\u{0}b"), ("name", "Ann")], "id"),
            (vec![("id", "a\nb"), ("name", "Ann")], "id"),
            (vec![("id", "a\u{1f}b"), ("name", "Ann")], "id"),
            (vec![("id", "a\u{7f}b"), ("name", "Ann")], "id"),
            (vec![("id", "a\u{85}b"), ("name", "Ann")], "id"),
            (vec![("id", "u1")], "name is required"),
            (vec![("id", "u1"), ("name", "")], "name"),
            (vec![("id", "u1"), ("name", " \t ")], "name"),
            (vec![("id", "u1"), ("name", &long)], "name"),
            (vec![("id", "u1"), ("name", &control_name)], "name"),
            (vec![("id", "u1"), ("name", "Ann"), ("email", "ann")], "email"),
            (vec![("id", "u1"), ("name", "Ann"), ("email", "@example.com")], "email"),
            (vec![("id", "u1"), ("name", "Ann"), ("email", "ann@")], "email"),
            (vec![("id", "u1"), ("name", "Ann"), ("email", "ann@@example.com")], "email"),
            (vec![("id", "u1"), ("name", "Ann"), ("email", "a nn@example.com")], "email"),
            (vec![("id", "u1"), ("name", "Ann"), ("email", &long_email)], "email"),
        ];
        let placeholders: Vec<String> = ["null", "none", "nil", "undefined", "blank", "NULL", "None", "NiL", "UNDEFINED", "Blank", " null ", "\tundefined"]
            .iter().map(|p| p.to_string()).collect();
        for p in &placeholders {
            cases.push((vec![("id", p.as_str()), ("name", "Ann")], "id"));
        }
        for (fields, needle) in &cases {
            let response = raw_login(&app, &token, FORM, form(fields)).await;
            let description = error_of(response, 400, "invalid_request").await;
            assert!(description.contains(needle), "{fields:?}: {description:?} lacks {needle:?}");
            assert!(description.len() < 200 && !description.contains('\n'), "one sentence: {description}");
        }
        // The same rules for JSON bodies.
        for (fields, needle) in &cases {
            let object: serde_json::Map<String, Value> = fields.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
            let response = raw_login(&app, &token, JSON, serde_json::to_vec(&object).unwrap()).await;
            let description = error_of(response, 400, "invalid_request").await;
            assert!(description.contains(needle), "JSON {fields:?}: {description:?}");
        }
        assert_nothing_created(&app).await;
    }

    async fn malformed_bodies_are_400_and_create_nothing(app) {
        let token = app.token("accounts").await;
        let cases: Vec<(Option<&str>, Vec<u8>, &str)> = vec![
            (FORM, b"id=u1&id=u2&name=Ann".to_vec(), "id"),
            (FORM, b"id=u1&name=Ann&name=Bob".to_vec(), "name"),
            (FORM, b"id=u1&name=%FF%FE".to_vec(), "UTF-8"),
            (FORM, b"id=u1&name=\xff".to_vec(), "UTF-8"),
            (JSON, b"{\"id\": \"u1\", \"name\": ".to_vec(), "JSON"),
            (JSON, b"[\"u1\", \"Ann\"]".to_vec(), "JSON"),
            (JSON, b"{\"id\": {\"x\": 1}, \"name\": \"Ann\"}".to_vec(), "JSON"),
            (JSON, b"{\"id\": [1], \"name\": \"Ann\"}".to_vec(), "JSON"),
            (JSON, b"{\"id\": \"u1\", \"name\": \"Ann\", \"id\": \"u2\"}".to_vec(), "id"),
            (JSON, b"\xff\xfe".to_vec(), "UTF-8"),
            (Some("text/plain"), b"id=u1&name=Ann".to_vec(), "application/x-www-form-urlencoded"),
            (Some("multipart/form-data; boundary=x"), b"--x--".to_vec(), "application/json"),
            (None, b"id=u1&name=Ann".to_vec(), "application/x-www-form-urlencoded"),
            (FORM, Vec::new(), "id is required"),
            (None, Vec::new(), "id is required"),
            (JSON, b"{}".to_vec(), "id is required"),
            (JSON, b"{\"id\": null, \"name\": \"Ann\"}".to_vec(), "id is required"),
        ];
        for (content_type, body, needle) in cases {
            let shown = String::from_utf8_lossy(&body).to_string();
            let response = raw_login(&app, &token, content_type, body).await;
            let description = error_of(response, 400, "invalid_request").await;
            assert!(description.contains(needle), "{content_type:?} {shown:?}: {description:?} lacks {needle:?}");
        }
        // Over 64 KiB: refused without being buffered (413, the status for an oversized body).
        let mut big = b"id=u1&name=Ann&pad=".to_vec();
        big.extend(std::iter::repeat_n(b'a', 64 * 1024));
        let response = raw_login(&app, &token, FORM, big).await;
        let description = error_of(response, 413, "invalid_request").await;
        assert!(description.contains("64 KiB"), "{description}");
        // Just under the cap is fine (unknown fields are ignored).
        let mut fits = b"id=u1&name=Ann&pad=".to_vec();
        fits.extend(std::iter::repeat_n(b'a', 64 * 1024 - fits.len()));
        let response = raw_login(&app, &token, FORM, fits).await;
        assert_eq!(response.status(), 200);
        assert_eq!(app.store.count_site_users(app.site_id).await.unwrap(), 1);
        assert_eq!(app.store.count_site_sessions(app.site_id).await.unwrap(), 1);
    }

    async fn validation_failures_create_nothing(app) {
        let token = app.token("accounts").await;
        for body in [form(&[("id", "null"), ("name", "Ann")]), form(&[("id", "u1"), ("name", "Ann"), ("email", "nope")]),
                     form(&[("id", "u1"), ("name", " ")])] {
            let response = raw_login(&app, &token, FORM, body).await;
            assert_eq!(response.status(), 400);
        }
        assert_nothing_created(&app).await;
        // And the audit log records no login.
        let events = app.store.list_audit(app.site_id, None, 100).await.unwrap();
        assert!(events.iter().all(|e| e.action != "user.login"), "{events:?}");
    }
}
