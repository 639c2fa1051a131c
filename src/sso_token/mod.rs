//! Signed-token SSO (SPEC §5.4): the site's server signs its user's profile with a
//! per-site HS256 secret; the page passes the token on and Tessera signs the user in.
//!
//! - [`verify`]: every check of one token, up to the profile it asserts
//! - the secrets: `crate::store::sso_secrets`, administered by `crate::admin::sso_secrets`
//! - the shape, duplicate-name and time checks shared with ID tokens: `crate::jose`

pub mod verify;
