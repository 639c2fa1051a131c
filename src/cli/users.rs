//! `tessera user …` and `tessera session …`: thin printers over the admin service
//! layer (`admin::users`); `--json` prints what the admin API answers.

use clap::Subcommand;
use serde_json::json;

use super::{ctx, local_users, site_id_arg, CliResult, Output};
use crate::admin::bans;
use crate::admin::users::{self, BanRequest, UserPatch, UserSearch, UserView};
use crate::store::user_admin::UserStatus;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local user who logs in with a password (read from stdin).
    Create(local_users::CreateArgs),
    /// Set a user's password (read from stdin).
    SetPassword(local_users::SetPasswordArgs),
    /// List a site's users, newest first, optionally searched and filtered.
    List {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        /// Case-insensitive part of the external id, user name, display name or email.
        #[arg(long)]
        query: Option<String>,
        #[arg(long, value_parser = status_arg)]
        status: Option<UserStatus>,
        /// How many users (1–200).
        #[arg(long)]
        limit: Option<i64>,
        /// The next_cursor of the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one user with its ban, last login and sessions.
    Show(UserArg),
    /// Ban a user: ends their sessions at once and refuses their logins.
    Ban {
        #[command(flatten)]
        user: UserArg,
        /// End of a temporary ban (RFC 3339, in the future); permanent without it.
        #[arg(long)]
        until: Option<String>,
        /// Shown to the user when a login is refused.
        #[arg(long)]
        reason: String,
        /// Private note for moderators.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Lift a user's ban.
    Unban(UserArg),
    /// Deactivate a user: their sessions end and they cannot log in.
    Deactivate(UserArg),
    /// Activate a deactivated user again.
    Activate(UserArg),
    /// End every session and password-login JWT of a user.
    Logout(UserArg),
    /// Delete a user: sessions end, the profile is erased, the id is never reused.
    Delete(UserArg),
}

#[derive(Debug, clap::Args)]
pub struct UserArg {
    #[arg(value_parser = site_id_arg)]
    site: i64,
    #[arg(value_parser = user_id_arg)]
    user_id: i64,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// End one session of a user, by the session_ref `user show` lists.
    End {
        #[command(flatten)]
        user: UserArg,
        session_ref: String,
    },
}

/// Parses a USER_ID argument.
pub(super) fn user_id_arg(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("{text:?} is not a user id (a positive integer)"))
}

fn status_arg(text: &str) -> Result<UserStatus, String> {
    UserStatus::parse(text).ok_or_else(|| "use active, banned, inactive or deleted".to_string())
}

/// One line per user for the text output.
fn user_line(u: &UserView) -> String {
    let name = u
        .username
        .as_deref()
        .or(u.external_id.as_deref())
        .unwrap_or("-");
    format!(
        "{:<16} {:<9} {:<7} {:<24} {:<28} {}",
        u.user_id,
        u.status.as_str(),
        u.role,
        name,
        u.email.as_deref().unwrap_or("-"),
        u.display_name
    )
}

impl UserCommand {
    /// The site a command about existing users acts on (checked first, so that a
    /// wrong site says so rather than "no such user").
    fn existing_users_site(&self) -> Option<i64> {
        match self {
            UserCommand::Create(_) | UserCommand::SetPassword(_) => None,
            UserCommand::List { site, .. }
            | UserCommand::Ban {
                user: UserArg { site, .. },
                ..
            } => Some(*site),
            UserCommand::Show(u)
            | UserCommand::Unban(u)
            | UserCommand::Deactivate(u)
            | UserCommand::Activate(u)
            | UserCommand::Logout(u)
            | UserCommand::Delete(u) => Some(u.site),
        }
    }
}

pub async fn run(cmd: UserCommand, store: &Store, out: &Output) -> CliResult {
    if let Some(site) = cmd.existing_users_site() {
        super::sites::require_site(store, site).await?;
    }
    match cmd {
        UserCommand::Create(args) => local_users::create(args, store, out).await?,
        UserCommand::SetPassword(args) => local_users::set_password(args, store, out).await?,
        UserCommand::List {
            site,
            query,
            status,
            limit,
            cursor,
        } => {
            let search = UserSearch {
                q: query,
                status,
                limit,
                cursor,
            };
            let page = users::search(&ctx(store, site), &search).await?;
            out.emit(serde_json::to_value(&page)?, || {
                let mut text = format!(
                    "{:<16} {:<9} {:<7} {:<24} {:<28} DISPLAY NAME",
                    "USER_ID", "STATUS", "ROLE", "USERNAME/EXTERNAL ID", "EMAIL"
                );
                for u in &page.users {
                    text.push('\n');
                    text.push_str(&user_line(u));
                }
                if let Some(next) = &page.next_cursor {
                    text.push_str(&format!("\n(more: --cursor {next})"));
                }
                text
            });
        }
        UserCommand::Show(UserArg { site, user_id }) => {
            let ctx = ctx(store, site);
            let user = users::show(&ctx, user_id).await?;
            let sessions = users::sessions(&ctx, user_id).await?;
            let mut json = serde_json::to_value(&user)?;
            json["sessions"] = serde_json::to_value(&sessions.sessions)?;
            out.emit(json, || {
                let mut text = user_line(&user);
                if let Some(ban) = &user.ban {
                    text.push_str(&format!(
                        "\nbanned ({}) until {}: {}",
                        ban.level,
                        ban.until.as_deref().unwrap_or("forever"),
                        ban.reason
                    ));
                }
                text.push_str(&format!(
                    "\nlast login: {}",
                    user.last_login_at.as_deref().unwrap_or("never")
                ));
                for s in &sessions.sessions {
                    text.push_str(&format!(
                        "\nsession {} ({}) started {} from {}",
                        s.session_ref,
                        s.kind,
                        s.started_at,
                        s.client_ip.as_deref().unwrap_or("-")
                    ));
                }
                text
            });
        }
        UserCommand::Ban {
            user: UserArg { site, user_id },
            until,
            reason,
            note,
        } => {
            let end_date = until.as_deref().and_then(|t| bans::parse_time(t).ok());
            let request = BanRequest {
                reason,
                note,
                until,
            };
            let user = users::ban(&ctx(store, site), user_id, &request).await?;
            let ban = user.ban.as_ref();
            out.emit(
                json!({
                    "banned": true, "site_id": site, "user_id": user_id,
                    "ban_level": ban.map(|b| b.level), "ends_at": ban.and_then(|b| b.until.clone()),
                    "end_date": end_date,
                    "reason": ban.map(|b| b.reason.clone()),
                }),
                || match ban.and_then(|b| b.until.as_deref()) {
                    None => format!(
                        "Banned user {user_id} of site {site} permanently; their sessions are ended."
                    ),
                    Some(end) => format!(
                        "Banned user {user_id} of site {site} until {end}; their sessions are ended."
                    ),
                },
            );
        }
        UserCommand::Unban(UserArg { site, user_id }) => {
            let (_, lifted) = users::unban(&ctx(store, site), user_id).await?;
            out.emit(
                json!({ "unbanned": lifted, "site_id": site, "user_id": user_id }),
                || {
                    if lifted {
                        format!("Lifted the ban of user {user_id} of site {site}.")
                    } else {
                        format!("User {user_id} of site {site} is not banned; nothing changed.")
                    }
                },
            );
        }
        UserCommand::Deactivate(UserArg { site, user_id })
        | UserCommand::Activate(UserArg { site, user_id }) => {
            let active = matches!(cmd, UserCommand::Activate(_));
            let patch = UserPatch {
                role: None,
                active: Some(active),
            };
            let user = users::patch(&ctx(store, site), user_id, &patch).await?;
            let word = if active {
                "active"
            } else {
                "deactivated; their sessions are ended"
            };
            out.emit(serde_json::to_value(&user)?, || {
                format!("User {user_id} of site {site} is {word}.")
            });
        }
        UserCommand::Logout(UserArg { site, user_id }) => {
            let ended = users::logout(&ctx(store, site), user_id).await?;
            out.emit(serde_json::to_value(&ended)?, || {
                format!(
                    "Ended {} session(s) of user {user_id} of site {site}; their password-login tokens no longer work.",
                    ended.ended
                )
            });
        }
        UserCommand::Delete(UserArg { site, user_id }) => {
            users::delete(&ctx(store, site), user_id).await?;
            out.emit(
                json!({ "deleted": true, "site_id": site, "user_id": user_id }),
                || format!("Deleted user {user_id} of site {site}; their profile is erased."),
            );
        }
    }
    Ok(())
}

pub async fn run_session(cmd: SessionCommand, store: &Store, out: &Output) -> CliResult {
    match cmd {
        SessionCommand::End {
            user: UserArg { site, user_id },
            session_ref,
        } => {
            super::sites::require_site(store, site).await?;
            users::end_session(&ctx(store, site), user_id, &session_ref).await?;
            out.emit(
                json!({ "ended": true, "site_id": site, "user_id": user_id, "session_ref": session_ref }),
                || format!("Ended session {session_ref} of user {user_id} of site {site}."),
            );
        }
    }
    Ok(())
}
