//! Tessera: a multi-tenant login service for platforms embedded in other web sites.
//!
//! Where each login flow lives:
//! - [`oauth2`]: site servers trade `site_id:api_key` for a bearer token.
//! - [`store`]: SQLite or PostgreSQL, one set of queries for both.
//! - [`cli`]: the `tessera` command (server, sites, keys).

pub mod accounts;
pub mod admin;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cookie_login;
pub mod embed;
pub mod http;
pub mod oauth2;
pub mod openapi;
pub mod ops;
pub mod password;
pub mod purge;
pub mod secrets;
pub mod sessions;
pub mod store;
pub mod telemetry;
