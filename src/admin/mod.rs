//! Administration of a site: its keys, settings, users, sessions and audit log.
//!
//! One service layer, called by every entry point — the CLI (`cli/`), the admin JSON
//! API ([`api`], `/admin/api/v1`) and the console — so each rule is written once:
//! every operation validates its input, changes the store in one transaction that
//! also writes its audit event with the actor, and returns a typed result that the
//! API serialises and the CLI prints (`--json` prints the same shape).
//!
//! - [`keys`], [`site`], [`sso_secrets`], [`users`], [`audit`]: the operations
//! - [`cookie_test`]: one cookie-login verification with saved or unsaved settings
//! - [`id_token_test`]: every check of a pasted ID token with the saved settings
//! - [`bans`], [`validate`]: input rules shared with the CLI's argument parsing
//! - [`api`]: `/admin/api/v1/*` over these operations

pub mod api;
pub mod audit;
pub mod bans;
pub mod cookie_test;
pub mod id_token_test;
pub mod keys;
pub mod site;
pub mod sso_secrets;
pub mod users;
pub mod validate;

use std::borrow::Cow;

use crate::clock::{rfc3339, Millis};
use crate::store::audit::{Actor, NewAuditEvent};
use crate::store::{Store, StoreError};

/// Who acts, on which site, and when: every operation is confined to `site_id`.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub site_id: i64,
    pub actor: Actor,
    pub client_ip: Option<String>,
    pub now: Millis,
}

impl Ctx<'_> {
    /// An audit event of this caller about this site.
    pub fn event(&self, action: &'static str) -> NewAuditEvent {
        NewAuditEvent::new(Some(self.site_id), self.now, &self.actor, action)
            .from_ip(self.client_ip.clone())
    }
}

/// Why an administrative operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input: the field at fault (as the admin API names it) and one sentence.
    #[error("{message}")]
    Invalid {
        field: Cow<'static, str>,
        message: String,
    },
    /// No such object on the caller's site (another site's objects look the same).
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the current state (e.g. a user name that is taken).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AdminError {
    pub fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        AdminError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<crate::cookie_login::patch::FieldError> for AdminError {
    fn from(e: crate::cookie_login::patch::FieldError) -> Self {
        AdminError::invalid(e.field, e.message)
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// A page size: `default` when not given, else 1 to `max`.
fn page_limit(given: Option<i64>, default: i64, max: i64) -> AdminResult<i64> {
    match given {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(AdminError::invalid(
            "limit",
            format!("limit must be 1 to {max}"),
        )),
    }
}

/// RFC 3339 text of a stored time, as every admin answer shows times.
fn time(ms: Millis) -> String {
    rfc3339(ms)
}
