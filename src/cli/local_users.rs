//! `tessera user create|set-password`: local users for password login. The password
//! is read from stdin only (never argv, where `ps` and shell history would show it).

use clap::Args;
use secrecy::SecretString;
use serde_json::json;
use tokio::io::AsyncReadExt as _;

use super::sites::no_such_site;
use super::{site_id_arg, CliError, CliResult, Output};
use crate::admin::users::{self, NewUser};
use crate::clock::{Clock, SystemClock};
use crate::password::hashing::{self, MAX_PASSWORD_CHARS};
use crate::store::audit::Actor;
use crate::store::users::Role;
use crate::store::Store;

/// `tessera user set-password SITE USER_ID --password-stdin`
#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    #[arg(value_parser = site_id_arg)]
    site: i64,
    #[arg(value_parser = super::users::user_id_arg)]
    user_id: i64,
    /// Read the password from stdin (required: passwords are never taken from arguments).
    #[arg(long, required = true)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(value_parser = site_id_arg)]
    site: i64,
    #[arg(long)]
    username: String,
    #[arg(long)]
    email: Option<String>,
    #[arg(long, default_value = "")]
    first_name: String,
    #[arg(long, default_value = "")]
    last_name: String,
    #[arg(long, value_enum, default_value_t = Role::User)]
    role: Role,
    /// Read the password from stdin (required: passwords are never taken from arguments).
    #[arg(long, required = true)]
    password_stdin: bool,
}

pub async fn set_password(args: SetPasswordArgs, store: &Store, out: &Output) -> CliResult {
    let SetPasswordArgs { site, user_id, .. } = args;
    let password = read_password().await?;
    if store.get_site(site).await?.is_none() {
        return Err(no_such_site(site));
    }
    if store.get_user(site, user_id).await?.is_none() {
        return Err(CliError(format!("site {site} has no user {user_id}")));
    }
    let hash = hash(password).await?;
    let now = SystemClock.now_ms();
    if !store
        .set_user_password_hash(site, user_id, &hash, now, &Actor::Cli)
        .await?
    {
        return Err(CliError(format!("site {site} has no user {user_id}")));
    }
    out.emit(json!({ "user_id": user_id, "site_id": site }), || {
        format!("Set the password of user {user_id} of site {site}.")
    });
    Ok(())
}

pub async fn create(args: CreateArgs, store: &Store, out: &Output) -> CliResult {
    let password = read_password().await?;
    let new = NewUser {
        username: args.username,
        password,
        email: args.email,
        first_name: args.first_name,
        last_name: args.last_name,
        role: Some(args.role),
    };
    super::sites::require_site(store, args.site).await?;
    let user = users::create(&super::ctx(store, args.site), &new, None).await?;
    let mut json = serde_json::to_value(&user)?;
    json["site_id"] = args.site.into();
    out.emit(json, || {
        format!(
            "Created user {} ({}) on site {}.",
            user.user_id,
            user.username.as_deref().unwrap_or_default(),
            args.site
        )
    });
    Ok(())
}

/// The password on stdin, without its final line break, checked against the policy.
async fn read_password() -> Result<SecretString, CliError> {
    // Enough for the longest allowed password in 4-byte characters, plus a line break.
    let limit = (MAX_PASSWORD_CHARS * 4 + 2) as u64;
    let mut raw = String::new();
    tokio::io::stdin()
        .take(limit + 1)
        .read_to_string(&mut raw)
        .await
        .map_err(|_| CliError("the password on stdin is not valid UTF-8".into()))?;
    let password = raw
        .strip_suffix('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .unwrap_or(&raw);
    if password.is_empty() {
        return Err(CliError(
            "no password on stdin: pipe it in, e.g. from a password manager".into(),
        ));
    }
    if raw.len() as u64 > limit {
        return Err(CliError(hashing::PolicyError::TooLong.to_string()));
    }
    hashing::check_policy(password)?;
    Ok(SecretString::from(password.to_string()))
}

async fn hash(password: SecretString) -> Result<String, CliError> {
    tokio::task::spawn_blocking(move || hashing::hash_password(&password))
        .await
        .map_err(|e| CliError(format!("password hashing failed: {e}")))?
        .map_err(|e| CliError(format!("password hashing failed: {e}")))
}
