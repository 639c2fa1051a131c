//! `tessera user …`: operators' user commands, straight on the store.

use clap::Subcommand;
use serde_json::json;

use super::sites::no_such_site;
use super::{site_id_arg, time_text, CliError, CliResult, Output};
use crate::admin::bans;
use crate::clock::{Clock, Millis, SystemClock};
use crate::store::audit::Actor;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Ban a user: ends their sessions at once and refuses their logins.
    Ban {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        #[arg(value_parser = user_id_arg)]
        user_id: i64,
        /// End of a temporary ban (RFC 3339, in the future); permanent without it.
        #[arg(long, value_parser = bans::parse_time)]
        until: Option<Millis>,
        /// Shown to the user when a login is refused.
        #[arg(long)]
        reason: String,
        /// Private note for moderators.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Lift a user's ban.
    Unban {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        #[arg(value_parser = user_id_arg)]
        user_id: i64,
    },
}

/// Parses a USER_ID argument.
fn user_id_arg(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("{text:?} is not a user id (a positive integer)"))
}

fn no_such_user(site: i64, user_id: i64) -> CliError {
    CliError(format!("site {site} has no user {user_id}"))
}

pub async fn run(cmd: UserCommand, store: &Store, out: &Output) -> CliResult {
    let now = SystemClock.now_ms();
    match cmd {
        UserCommand::Ban {
            site,
            user_id,
            until,
            reason,
            note,
        } => {
            let ban = bans::new_ban(now, until, &reason, &note)?;
            if store.get_site(site).await?.is_none() {
                return Err(no_such_site(site));
            }
            if !store.ban_user(site, user_id, &ban, &Actor::Cli).await? {
                return Err(no_such_user(site, user_id));
            }
            let level = if ban.is_permanent() {
                "permanent"
            } else {
                "temporary"
            };
            out.emit(
                json!({
                    "banned": true, "site_id": site, "user_id": user_id,
                    "ban_level": level, "ends_at": time_text(ban.ends_at),
                    "end_date": ban.ends_at, "reason": ban.reason,
                }),
                || match ban.ends_at {
                    None => format!(
                        "Banned user {user_id} of site {site} permanently; their sessions are ended."
                    ),
                    Some(end) => format!(
                        "Banned user {user_id} of site {site} until {}; their sessions are ended.",
                        crate::clock::rfc3339(end)
                    ),
                },
            );
        }
        UserCommand::Unban { site, user_id } => {
            if store.get_site(site).await?.is_none() {
                return Err(no_such_site(site));
            }
            if !store.unban_user(site, user_id, now, &Actor::Cli).await? {
                return Err(no_such_user(site, user_id));
            }
            out.emit(
                json!({ "unbanned": true, "site_id": site, "user_id": user_id }),
                || format!("Lifted the ban of user {user_id} of site {site}."),
            );
        }
    }
    Ok(())
}
