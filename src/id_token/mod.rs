//! ID-token login (SPEC §5.3): the site's page holds an ID token of the site's own
//! OpenID provider and hands it over; Tessera checks it against the provider's
//! published keys, without calling the site back, and signs the user in.
//!
//! - the per-site settings and their validation: `crate::settings::id_token`
//! - [`patch`]: a change to those settings (admin API, CLI, console)
//! - [`jwks`]: the providers' keys: discovery, JWKS, cache and fetch rations
//! - [`verify`]: every check of one token, up to the profile it asserts
//! - the shape, duplicate-name and time checks shared with SSO tokens: `crate::jose`

pub mod jwks;
pub mod patch;
pub mod verify;

pub use jwks::KeyCache;
