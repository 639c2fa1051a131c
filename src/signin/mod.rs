//! The sign-in pipeline every login flow goes through (accounts API, cookie login,
//! password login with JWT, the widget's own sign-in, the console, and the token
//! logins of SPEC §5.3–5.4). A flow only learns who the user is; then
//! 1. [`Attempt`]: which site, which flow, who acts, from where;
//! 2. [`sign_in`]: the one policy decision ([`policy::decide`]: ban, deleted,
//!    inactive, site disabled) and the one commit (`store::logins`): the profile
//!    upserted only when it changed, the session started (or nothing, for a JWT the
//!    flow signs afterwards) and the audit event, all or nothing, through the
//!    group-commit writer;
//! 3. a refusal comes back as a [`policy::Refusal`], which each API family renders
//!    (`ApiError` for the REST APIs, `FaveoError` for the Faveo API).
//!
//! Failures before a user is known (bad password, the site's endpoint said no, a bad
//! token) are recorded with [`Attempt::failed`].

pub mod answer;
pub mod policy;
pub mod session;

use axum::http::StatusCode;
use serde_json::{json, Value};

pub use policy::Refusal;
pub use session::StartedSession;

use crate::app::AppState;
use crate::clock::Millis;
use crate::http::{ApiError, ClientIp};
use crate::password::error::FaveoError;
use crate::secrets::SecretHash;
use crate::store::audit::{Actor, NewAuditEvent};
use crate::store::logins::{LoginOutcome, LoginUser, NewLogin};
use crate::store::sessions::SessionKind;
use crate::store::used_tokens::UsedToken;
use crate::store::users::{SsoProfile, User};
use crate::store::StoreError;

/// The ways in; named in audit events (`detail.flow`) and metrics (`{flow}_{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// `POST /rest/v1/accounts/login` (SPEC §3.1).
    Accounts,
    /// `POST /rest/v1/users/login/cookie` (SPEC §5.2).
    Cookie,
    /// `POST /api/v1/authenticate` and its JWT (SPEC §4).
    Password,
    /// The widget's own sign-in form (SPEC §6.1).
    Native,
    /// `POST /admin/login` (SPEC §7.3).
    Console,
    /// `POST /rest/v1/users/login/id-token` (SPEC §5.3).
    IdToken,
    /// `POST /rest/v1/users/login/sso-token` (SPEC §5.4).
    SsoToken,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Accounts => "accounts",
            Flow::Cookie => "cookie",
            Flow::Password => "password",
            Flow::Native => "native",
            Flow::Console => "console",
            Flow::IdToken => "id_token",
            Flow::SsoToken => "sso_token",
        }
    }

    /// The audit action of its logins.
    pub fn action(self) -> &'static str {
        match self {
            Flow::Console => "console.login",
            _ => "user.login",
        }
    }
}

/// One login attempt: the site, the flow, who acts and from where.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub site_id: i64,
    pub flow: Flow,
    /// Who acts, when it is not the user itself (the site's API key).
    pub actor: Option<Actor>,
    pub client_ip: Option<String>,
    /// The single-use token the login spends (the token logins): see [`Attempt::spending`].
    pub once: Option<UsedToken>,
}

impl Attempt {
    pub fn new(site_id: i64, flow: Flow, client_ip: &ClientIp) -> Self {
        Self {
            site_id,
            flow,
            actor: None,
            client_ip: client_ip.text(),
            once: None,
        }
    }

    /// The login spends the single-use token `replay_key` (kept until `remember_until`),
    /// in its own commit: a token used before is [`SignInError::Replayed`].
    pub fn spending(
        mut self,
        state: &AppState,
        replay_key: &SecretHash,
        remember_until: Millis,
    ) -> Self {
        self.once = Some(UsedToken {
            key: replay_key.clone(),
            site_id: self.site_id,
            used_at: state.now(),
            expires_at: remember_until,
        });
        self
    }

    /// The login is made by `actor` on the user's behalf (the accounts API's key).
    pub fn by(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// This attempt's audit event; `detail` gets the flow added.
    pub fn event(
        &self,
        state: &AppState,
        action: &'static str,
        mut detail: Value,
    ) -> NewAuditEvent {
        detail["flow"] = json!(self.flow.as_str());
        let actor = self.actor.clone().unwrap_or(Actor::Anonymous);
        // Site 0 is a form's site id that names no site (the console's login).
        let site_id = Some(self.site_id).filter(|id| *id > 0);
        NewAuditEvent::new(site_id, state.now(), &actor, action)
            .from_ip(self.client_ip.clone())
            .with_detail(detail)
    }

    /// Counts `outcome` of this flow in the metrics (`tessera_logins_total`).
    pub fn count(&self, state: &AppState, outcome: &str) {
        state
            .metrics
            .login(&format!("{}_{outcome}", self.flow.as_str()));
    }

    /// Records a login that failed before a user was known: metrics, and an audit event
    /// (`reason` and `detail`) through the group-commit writer. The answer to the
    /// client does not depend on that write: a lost event is logged loudly instead of
    /// turning a 401 into a 500.
    pub async fn failed(&self, state: &AppState, reason: &'static str, mut detail: Value) {
        self.count(state, reason);
        detail["reason"] = json!(reason);
        let event = self.event(state, self.flow.action(), detail).failed();
        if let Err(e) = state.store.record_audit_batched(event).await {
            tracing::error!(site_id = self.site_id, flow = self.flow.as_str(), error = %e, "could not record a failed login");
        }
    }
}

/// Who the flow found the user to be.
#[derive(Debug, Clone)]
pub enum Identity {
    /// The site asserts this profile (accounts API, cookie, ID token, signed token):
    /// the user is created, or updated when the profile changed.
    Asserted(SsoProfile),
    /// A user the flow has read and authenticated (password, console).
    Known(Box<User>),
}

/// What a successful login grants.
#[derive(Debug, Clone, Copy)]
pub enum Grant {
    /// A platform session; `reverify_after_ms` for a session that must be re-verified.
    Session {
        kind: SessionKind,
        reverify_after_ms: Option<i64>,
    },
    /// Nothing stored: the flow signs a JWT once the login is committed.
    Jwt,
}

/// A login that went through.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    /// The started session (`None` for [`Grant::Jwt`]).
    pub session: Option<StartedSession>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("login refused: {}", .0.code())]
    Refused(Refusal),
    /// The attempt's single-use token was used before (the token flows refuse it as
    /// they refuse any bad token).
    #[error("the login's single-use token was used before")]
    Replayed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Refused(refusal) => refusal.into(),
            SignInError::Replayed => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the token was used before",
            ),
            SignInError::Store(e) => e.into(),
        }
    }
}

impl From<SignInError> for FaveoError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Refused(refusal) => refusal.into(),
            SignInError::Replayed => FaveoError::unauthorized("token_used"),
            SignInError::Store(e) => e.into(),
        }
    }
}

/// Signs `identity` in on the attempt's site: see the module documentation. A
/// returning user whose profile did not change costs one indexed read and a share of
/// one group commit.
#[tracing::instrument(skip_all, fields(site_id = attempt.site_id, flow = attempt.flow.as_str()))]
pub async fn sign_in(
    state: &AppState,
    attempt: &Attempt,
    identity: Identity,
    grant: Grant,
) -> Result<SignedIn, SignInError> {
    let now = state.now();
    let user = match identity {
        Identity::Known(user) => LoginUser::Existing {
            user_id: user.user_id,
        },
        Identity::Asserted(profile) => {
            match state
                .store
                .find_user_by_external_id(attempt.site_id, &profile.external_id)
                .await?
            {
                Some(user) if profile.matches(&user) => LoginUser::Existing {
                    user_id: user.user_id,
                },
                _ => LoginUser::Profile(profile),
            }
        }
    };
    let (session, started) = match grant {
        Grant::Session {
            kind,
            reverify_after_ms,
        } => {
            let (row, started) = session::new_session(
                state,
                attempt.site_id,
                kind,
                reverify_after_ms,
                attempt.client_ip.clone(),
                now,
            );
            (Some(row), Some(started))
        }
        Grant::Jwt => (None, None),
    };
    let login = NewLogin {
        site_id: attempt.site_id,
        user,
        at: now,
        session,
        event: attempt.event(state, attempt.flow.action(), json!({})),
        by_user: attempt.actor.is_none(),
        policy: policy::refusal_reason,
        once: attempt.once.clone(),
    };
    match state.store.commit_login(login).await? {
        LoginOutcome::Admitted(user) => {
            attempt.count(state, "ok");
            Ok(SignedIn {
                user,
                session: started,
            })
        }
        LoginOutcome::Refused { user, site_active } => {
            let refusal = policy::decide(&user, site_active, now)
                .err()
                .unwrap_or(Refusal::SiteDisabled);
            attempt.count(state, refusal.code());
            Err(SignInError::Refused(refusal))
        }
        LoginOutcome::Replayed => Err(SignInError::Replayed),
    }
}
