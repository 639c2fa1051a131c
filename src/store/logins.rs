//! The commit of a login: every flow's last step (`crate::signin`), written through the
//! group-commit writer (`batch`) so that a login costs a share of one commit.
//!
//! For each login the writer
//! 0. spends the login's single-use token, if any (a replay stops here);
//! 1. brings the user's profile up to date, only when the flow saw it change;
//! 2. reads the user and its site (after step 1, or before the transaction when step 1
//!    has nothing to write), and asks the caller's policy whether that user may log in
//!    now (the policy is the caller's, passed in as a function: the store knows no
//!    flow's rules);
//! 3. admitted: starts the session (if the flow grants one) and records the login's
//!    audit event; refused: undoes step 1 and records the refusal instead.
//!
//! Steps 0, 1 and 3 are one transaction, or one statement when they write nothing but
//! the batch's sessions and events. So a session never exists without its audit event
//! nor the reverse, and a ban that commits before the login's read is always seen by
//! the policy. On SQLite the writer is the only one (transactions are serial), so that
//! holds exactly; on PostgreSQL a ban committing between the read and the batch's
//! commit may be missed, and the session lookup (which applies the same conditions)
//! refuses the session anyway.

use super::audit::{Actor, NewAuditEvent};
use super::batch::Insert;
use super::node_cache::Scope;
use super::sessions::{session_ref, NewSession};
use super::used_tokens::UsedToken;
use super::users::{SsoProfile, User};
use super::{Store, StoreResult};
use crate::clock::Millis;

/// Whether a user may log in: `None`, or the reason it is refused (recorded in the
/// refusal's audit event). Arguments: the user, whether its site is active, and now.
pub type Policy = fn(&User, bool, Millis) -> Option<&'static str>;

/// Who is logging in, as the flow knows it.
#[derive(Debug, Clone)]
pub enum LoginUser {
    /// A profile the site asserts, which differs from the stored one (or is new):
    /// created or updated in the login's transaction.
    Profile(SsoProfile),
    /// A user that exists and needs no change.
    Existing { user_id: i64 },
}

/// A login about to be committed.
#[derive(Debug)]
pub struct NewLogin {
    pub site_id: i64,
    pub user: LoginUser,
    pub at: Millis,
    /// The session to start; `user_id` is filled in by the writer. `None` when the flow
    /// grants no session (a password-login JWT is signed once the login is committed).
    pub session: Option<NewSession>,
    /// The login's audit event; the writer adds the user, and on refusal marks it
    /// failed with the reason.
    pub event: NewAuditEvent,
    /// The user logs in by itself: the event's actor is the user (else the actor the
    /// event names, e.g. the site's API key).
    pub by_user: bool,
    pub policy: Policy,
    /// The single-use token this login spends (SPEC §5.3, §5.4), recorded in the
    /// login's transaction before anything else: a token used before (here, earlier in
    /// the batch, or on another node) makes the login [`LoginOutcome::Replayed`]. Spent
    /// whatever the decision, so a refused token stays refused.
    pub once: Option<UsedToken>,
}

/// What the commit decided, with the user as the transaction saw it.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    Admitted(User),
    /// Refused by the policy; `site_active` is what it was told about the site.
    Refused {
        user: User,
        site_active: bool,
    },
    /// Its single-use token was used before; nothing else was written.
    Replayed,
}

impl NewLogin {
    /// Decides on `user` (read in the login's transaction): the refusal reason if any,
    /// and the rows to write, the session's and the event's user filled in (the
    /// session only when admitted). Used by both writers.
    pub(crate) fn decide(
        &self,
        user: &User,
        site_active: bool,
    ) -> (Option<&'static str>, NewAuditEvent, Option<NewSession>) {
        let refused = (self.policy)(user, site_active, self.at);
        let mut event = self.event.clone();
        event.set("user_id", user.user_id.into());
        if self.by_user {
            event.actor = Actor::User {
                user_id: user.user_id,
            }
            .label();
        }
        match refused {
            Some(reason) => {
                event = event.failed();
                event.set("reason", reason.into());
                (refused, event, None)
            }
            None => {
                let session = self.session.clone().map(|mut s| {
                    s.user_id = user.user_id;
                    event.set("session_ref", session_ref(s.hash.as_bytes()).into());
                    s
                });
                (None, event, session)
            }
        }
    }
}

impl Store {
    /// Commits a login (see the module documentation); waits for its commit.
    pub async fn commit_login(&self, login: NewLogin) -> StoreResult<LoginOutcome> {
        let profile_written = matches!(login.user, LoginUser::Profile(_));
        let outcome = self.batcher.login(login).await?;
        if let (Some(cache), true, LoginOutcome::Admitted(user)) =
            (&self.node_cache, profile_written, &outcome)
        {
            // This node must read the new profile from now on; the trigger's
            // notification tells the other nodes (and this one, again, later).
            cache.revoke(Scope::User(user.user_id));
        }
        Ok(outcome)
    }

    /// Records an audit event through the group-commit writer: for the events of
    /// failed logins, which an attack can make as frequent as logins.
    pub async fn record_audit_batched(&self, event: NewAuditEvent) -> StoreResult<()> {
        self.batcher.insert(Insert::Audit(event)).await.map(drop)
    }
}
