//! The session a login grants: a fresh opaque id (shown once) and the row to store
//! (only its hash), with the idle timeout and lifetime of its kind.

use secrecy::{ExposeSecret, SecretString};

use crate::app::AppState;
use crate::clock::{duration_ms, Millis};
use crate::secrets::{self, TimedHash};
use crate::store::sessions::{NewSession, SessionKind};

/// A session just started: the id goes to the caller once, only its hash is stored.
#[derive(Debug)]
pub struct StartedSession {
    pub session_id: SecretString,
    pub idle_expires_at: Millis,
    pub expires_at: Millis,
    pub reverify_at: Option<Millis>,
}

/// Idle timeout and lifetime (ms): the console's own for console sessions (an admin's
/// session is shorter-lived), the configured ones for every platform session.
fn lifetimes(state: &AppState, kind: SessionKind) -> (Millis, Millis) {
    match kind {
        SessionKind::Console => (
            duration_ms(crate::console::session::IDLE),
            duration_ms(crate::console::session::LIFETIME),
        ),
        _ => (
            duration_ms(state.config.session_idle_timeout),
            duration_ms(state.config.session_max_lifetime),
        ),
    }
}

/// A fresh session id and the row to store for it; `user_id` is filled in by the
/// login's commit.
pub(super) fn new_session(
    state: &AppState,
    site_id: i64,
    kind: SessionKind,
    reverify_after_ms: Option<Millis>,
    client_ip: Option<String>,
    now: Millis,
) -> (NewSession, StartedSession) {
    let session_id = secrets::new_timed_secret(now);
    let (idle, lifetime) = lifetimes(state, kind);
    let expires_at = now + lifetime;
    let idle_expires_at = (now + idle).min(expires_at);
    let reverify_at = reverify_after_ms.map(|after| now + after);
    let session = NewSession {
        hash: TimedHash::of(session_id.expose_secret()),
        site_id,
        user_id: 0,
        kind,
        created_at: now,
        idle_expires_at,
        expires_at,
        reverify_at,
        client_ip,
    };
    let started = StartedSession {
        session_id,
        idle_expires_at,
        expires_at,
        reverify_at,
    };
    (session, started)
}
