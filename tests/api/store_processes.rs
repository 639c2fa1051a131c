//! Several processes write one database: nodes sharing a file or a PostgreSQL, the CLI
//! beside a running server. A change must not fail because another one committed.

use std::sync::mpsc;
use std::time::Duration;

use tessera::clock::Clock;
use tessera::store::audit::{Actor, NewAuditEvent};
use tessera::store::users::{Ban, SsoProfile};
use tessera::store::Store;

use crate::both_stores;

both_stores! {
    async fn a_change_holds_when_another_process_writes_between_its_read_and_its_write(app) {
        // `edit_site` reads the site, lets `edit` change it, then writes. Here another
        // process bans a user while `edit` runs, i.e. after the read. On SQLite a
        // transaction that only read so far could not wait for the file's write lock
        // and failed at once with SQLITE_BUSY; it must take the lock first.
        let now = app.clock.now_ms();
        let user = app.store.upsert_sso_user(app.site_id, &SsoProfile {
            external_id: "u".into(), display_name: "U".into(), email: None,
            photo_url: None, social_data: None, replace_all: false,
        }, now).await.unwrap();
        let (url, site_id) = (app.store_url(), app.site_id);
        let (go, wait) = mpsc::channel::<()>();
        let (ready, is_ready) = mpsc::channel::<()>();
        let other_process = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let store = Store::open(&url, &Default::default()).await.unwrap();
                ready.send(()).unwrap();
                wait.recv().unwrap();
                let ban = Ban { banned_at: now, ends_at: None, reason: "r".into(), note: String::new() };
                let banned = store.ban_user(site_id, user.user_id, &ban, &Actor::Cli).await;
                store.close().await;
                banned
            })
        });
        is_ready.recv().unwrap();
        let event = NewAuditEvent::new(Some(site_id), now, &Actor::Cli, "site.configured");
        let edited = app.store.edit_site(site_id, event, |site| {
            go.send(()).unwrap();
            // Time for the other process to commit, if it can.
            std::thread::sleep(Duration::from_millis(200));
            site.name = "Renamed".into();
            Ok::<(), ()>(())
        }).await;
        assert!(matches!(edited, Ok(Ok(true))), "{edited:?}");
        assert!(other_process.join().unwrap().unwrap(), "the other process's ban is written too");
        assert_eq!(app.store.get_site(site_id).await.unwrap().unwrap().name, "Renamed");
        let banned = app.store.get_user(site_id, user.user_id).await.unwrap().unwrap();
        assert!(banned.ban.is_some());
    }
}
