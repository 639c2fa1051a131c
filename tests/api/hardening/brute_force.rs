//! Brute-force limits count per account, whatever spelling names it (SPEC §9). They
//! used to count per spelling: while `victim` was locked out, the right password typed
//! as `victim@example.com` still logged in.

use tessera::password::rate_limit::ACCOUNT_RULES;

use crate::both_databases;
use crate::password::{create_user, login, spawn, PASSWORD};

const WRONG: &str = "a wrong password guess";

both_databases! {
    async fn every_spelling_of_an_account_shares_one_limit(db) {
        let app = spawn(&db).await;
        create_user(&app, 1, "victim", Some("victim@example.com"), PASSWORD).await;
        let spellings = ["victim", "victim@example.com", "VICTIM", "Victim@Example.COM"];
        for i in 0..ACCOUNT_RULES[0].limit as usize {
            let answer = login(&app, &[("username", spellings[i % spellings.len()]), ("password", WRONG)]).await;
            answer.assert_error(401, "invalid_credentials");
        }
        for spelling in spellings {
            let answer = login(&app, &[("username", spelling), ("password", PASSWORD)]).await;
            answer.assert_error(429, "too_many_attempts");
        }
        app.stop().await;
    }
}
