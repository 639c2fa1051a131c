//! `tessera site sso-secret …`: a thin printer over the admin service layer
//! (`admin::sso_secrets`).

use clap::Subcommand;
use secrecy::ExposeSecret;

use super::{ctx, site_id_arg, CliResult, Output};
use crate::admin::sso_secrets;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum SsoSecretCommand {
    /// Create a secret for signed-token SSO (shown once; at most two per site).
    Create {
        #[arg(value_parser = site_id_arg)]
        site: i64,
    },
    /// List a site's secrets (their kids, never the secrets).
    List {
        #[arg(value_parser = site_id_arg)]
        site: i64,
    },
    /// Delete a secret: tokens signed with it are refused from now on.
    Delete {
        #[arg(value_parser = site_id_arg)]
        site: i64,
        /// The secret's kid, as `list` shows it.
        // Random URL-safe base64, so it may start with `-`: still the kid, not an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

pub async fn run(cmd: SsoSecretCommand, store: &Store, out: &Output) -> CliResult {
    match cmd {
        SsoSecretCommand::Create { site } => {
            let created = sso_secrets::create(&ctx(store, site)).await?;
            let secret = created.secret.expose_secret();
            out.emit(
                serde_json::json!({ "kid": created.kid, "secret": secret }),
                || {
                    format!(
                        "Created SSO secret {} for site {site}.\nSecret (shown once, store it now): {secret}\nSign tokens with HS256, header kid {:?}, using this text's bytes as the key.",
                        created.kid, created.kid
                    )
                },
            );
        }
        SsoSecretCommand::List { site } => {
            super::sites::require_site(store, site).await?;
            let list = sso_secrets::list(&ctx(store, site)).await?;
            let json = super::site_json(&list, site)?;
            out.emit(json, || {
                let mut text = format!("{:<12} CREATED", "KID");
                for s in &list.secrets {
                    text.push_str(&format!("\n{:<12} {}", s.kid, s.created_at));
                }
                text
            });
        }
        SsoSecretCommand::Delete { site, kid } => {
            sso_secrets::delete(&ctx(store, site), &kid).await?;
            out.emit(
                serde_json::json!({ "deleted": true, "site_id": site, "kid": kid }),
                || format!("Deleted SSO secret {kid} of site {site}; tokens signed with it are refused."),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::Cli;

    #[test]
    fn a_kid_that_starts_with_a_hyphen_is_a_kid() {
        let args = ["tessera", "site", "sso-secret", "delete", "1", "-eBlunSv"];
        let parsed = Cli::try_parse_from(args).expect("parsed");
        assert!(
            format!("{parsed:?}").contains("kid: \"-eBlunSv\""),
            "{parsed:?}"
        );
    }
}
