//! The session id a browser or site server presents in `X-Tessera-Session`, and the
//! `invalid_session` answer (SPEC §3.3).

use axum::http::{HeaderMap, StatusCode};

use crate::http::ApiError;
use crate::secrets::TimedHash;

pub const SESSION_HEADER: &str = "x-tessera-session";

/// Longest session id accepted; ours are 51 characters, anything much longer is garbage.
const MAX_SESSION_ID_CHARS: usize = 256;

/// 401 `invalid_session`.
pub fn invalid_session(description: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_session", description)
}

/// The hash of the session id in `X-Tessera-Session` (exactly one, visible ASCII).
/// The id itself is only hashed, never kept or logged.
pub fn session_hash(headers: &HeaderMap) -> Result<TimedHash, ApiError> {
    let mut values = headers.get_all(SESSION_HEADER).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(invalid_session(
            "send the session id in exactly one X-Tessera-Session header",
        ));
    };
    let id = value.to_str().unwrap_or_default().trim();
    let well_formed = !id.is_empty()
        && id.len() <= MAX_SESSION_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_graphic());
    if !well_formed {
        return Err(invalid_session("the session is unknown, expired or ended"));
    }
    Ok(TimedHash::of(id))
}
