//! Administration of sites, keys and users, shared by the CLI, the admin API and
//! the console: the input rules live here so every entry point applies the same ones.

pub mod bans;
pub mod validate;
