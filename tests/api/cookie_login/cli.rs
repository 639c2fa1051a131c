//! `tessera site configure` with the cookie-login options (SPEC §7.1).

use tessera::store::Store;

use crate::both_databases;
use crate::cli::{tessera, tessera_fails, tessera_json};

both_databases! {
    async fn site_configure_sets_cookie_login_and_masks_header_values(db) {
        let url = db.url.as_str();
        let created = tessera_json(url, &["site", "create", "--name", "News"]).await;
        let site = created["site_id"].as_i64().unwrap().to_string();
        let secret = "7c2f0e1d9b8a7c6d5e4f3a2b";
        let header = format!("X-Tessera-Secret: {secret}");
        let out = tessera_json(url, &[
            "site", "configure", &site,
            "--cookie-name", "loggedinCookie_sid",
            "--cookie-endpoint", "https://news.example/users/validate?sid=",
            "--map", "uid=user.id", "--map", "displayName=user.name",
            "--header", &header, "--header", "X-Other: short",
            "--cookie-timeout-ms", "2500", "--reverify-interval", "12h",
        ]).await;
        let cookie = &out["cookie_login"];
        assert_eq!(cookie["configured"], true);
        assert_eq!(cookie["cookie_name"], "loggedinCookie_sid");
        assert_eq!(cookie["endpoint"], "https://news.example/users/validate?sid=");
        assert_eq!(cookie["mapping"]["uid"], "user.id");
        assert_eq!(cookie["mapping"]["displayName"], "user.name");
        assert_eq!(cookie["mapping"]["email"], "email");
        assert_eq!(cookie["headers"][0]["name"], "X-Tessera-Secret");
        assert_eq!(cookie["headers"][0]["value"], "****3a2b");
        assert_eq!(cookie["headers"][1]["value"], "****");
        assert_eq!(cookie["timeout_ms"], 2500);
        assert_eq!(cookie["reverify_interval"], "12h");
        assert!(!out.to_string().contains(secret), "the header value is never printed");

        let text = tessera(url, &["site", "configure", &site, "--cookie-timeout-ms", "3000"]).await;
        assert!(text.status.success(), "{}", text.stderr);
        assert!(text.stdout.contains("Cookie login: on") && text.stdout.contains("X-Tessera-Secret: ****"), "{}", text.stdout);
        assert!(!text.stdout.contains(secret));

        let store = Store::open(url, &Default::default()).await.unwrap();
        let stored = store.get_site(site.parse().unwrap()).await.unwrap().unwrap().settings.cookie_login.unwrap();
        assert_eq!(stored.headers[0].value.expose(), secret, "stored to be sent");
        assert_eq!(stored.timeout_ms, 3000, "only the options given change");
        assert_eq!(stored.mapping.uid, "user.id");
        assert_eq!(stored.reverify_interval_ms, 12 * 3600 * 1000);
        store.close().await;

        // Clearing the endpoint turns cookie login off but keeps the rest.
        let out = tessera_json(url, &["site", "configure", &site, "--cookie-endpoint", "", "--clear-headers"]).await;
        assert_eq!(out["cookie_login"]["configured"], false);
        assert_eq!(out["cookie_login"]["headers"], serde_json::json!([]));
        assert_eq!(out["cookie_login"]["cookie_name"], "loggedinCookie_sid");
    }

    async fn site_configure_refuses_bad_cookie_settings(db) {
        let url = db.url.as_str();
        let created = tessera_json(url, &["site", "create", "--name", "News"]).await;
        let site = created["site_id"].as_i64().unwrap().to_string();
        let cases: [(&[&str], &str); 10] = [
            (&["--cookie-name", "bad name"], "not a valid cookie name"),
            (&["--cookie-endpoint", "/relative"], "not an absolute http(s) URL"),
            (&["--cookie-endpoint", "https://u:p@news.example/v?s="], "user name or password"),
            (&["--cookie-endpoint", "https://news.example/v#s="], "fragment"),
            (&["--map", "nickname=user.nick"], "not a mapped field"),
            (&["--map", "uid=user..id"], "empty segment"),
            (&["--header", "Host: evil.example"], "cannot be configured"),
            (&["--header", "X-Bad Name: v"], "not a valid header name"),
            (&["--cookie-timeout-ms", "10001"], "1 to 10000 milliseconds"),
            (&["--reverify-interval", "10s"], "between 1 minute and 365 days"),
        ];
        for (flags, needle) in cases {
            let mut args = vec!["site", "configure", site.as_str()];
            args.extend_from_slice(flags);
            tessera_fails(url, &args, needle).await;
        }
        let listed = tessera_json(url, &["site", "configure", &site]).await;
        assert_eq!(listed["cookie_login"], serde_json::Value::Null, "nothing was stored");
    }
}

both_databases! {
    async fn site_configure_refuses_http_and_internal_endpoints_unless_allowed(db) {
        let url = db.url.as_str();
        let created = tessera_json(url, &["site", "create", "--name", "News"]).await;
        let site = created["site_id"].as_i64().unwrap().to_string();
        let configure = |endpoint: &'static str| vec!["site", "configure", "SITE", "--cookie-name", "sid", "--cookie-endpoint", endpoint];
        for (endpoint, needle) in [
            ("http://news.example/v?sid=", "must use https"),
            ("https://10.0.0.7/v?sid=", "internal address"),
            ("https://[::1]/v?sid=", "internal address"),
        ] {
            let args: Vec<&str> = configure(endpoint).into_iter().map(|a| if a == "SITE" { site.as_str() } else { a }).collect();
            tessera_fails(url, &args, needle).await;
            // Allowed by the command's own flag.
            let mut allowed = args.clone();
            allowed.push("--allow-private-endpoints");
            tessera_json(url, &allowed).await;
        }
        // Or by what the last server started on this store runs with.
        let store = Store::open(url, &Default::default()).await.unwrap();
        store.record_private_endpoints_policy(true, 0).await.unwrap();
        let out = tessera_json(url, &["site", "configure", &site, "--cookie-endpoint", "http://127.0.0.1:9/v?sid="]).await;
        assert_eq!(out["cookie_login"]["endpoint"], "http://127.0.0.1:9/v?sid=");
        store.record_private_endpoints_policy(false, 0).await.unwrap();
        store.close().await;
        tessera_fails(url, &["site", "configure", &site, "--cookie-endpoint", "http://127.0.0.1:9/v?sid="], "must use https").await;
    }
}
