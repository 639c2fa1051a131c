//! `tessera jwt-keys rotate`: a new current signing key for password-login JWTs.
//! Old keys keep verifying (and stay in the JWKS) until their tokens have expired.

use clap::Subcommand;
use serde_json::json;

use super::{CliResult, Output};
use crate::clock::{Clock, SystemClock};
use crate::password::keys;
use crate::store::audit::Actor;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum JwtKeysCommand {
    /// Make a new current signing key; the old ones are retired.
    Rotate,
}

pub async fn run(cmd: JwtKeysCommand, store: &Store, out: &Output) -> CliResult {
    match cmd {
        JwtKeysCommand::Rotate => {
            let kid = keys::rotate(store, SystemClock.now_ms(), &Actor::Cli).await?;
            out.emit(json!({ "kid": kid }), || {
                format!(
                    "New signing key {kid}. Servers use it within seconds; tokens signed \
                     with older keys stay valid until they expire."
                )
            });
            Ok(())
        }
    }
}
