//! Tessera: a multi-tenant login service for platforms embedded in other web sites.
//!
//! Where each capability lives:
//! - [`oauth2`]: site servers trade `site_id:api_key` for a bearer token.
//! - [`accounts`]: site servers sign their users in and out (SPEC §3).
//! - [`signin`]: the sign-in pipeline every login flow ends in (policy, commit, audit),
//!   and the envelope and answer of every browser login.
//! - [`sessions`]: session lookup and browser logout, shared by every flow.
//! - [`settings`]: what a site's admin sets, shared by the store, flows and admin side.
//! - [`cookie_login`]: SSO through the site's own session cookie (SPEC §5).
//! - [`id_token`]: ID-token login, OpenID Connect (SPEC §5.3).
//! - [`sso_token`]: signed-token SSO with per-site secrets (SPEC §5.4).
//! - [`jose`], [`token_login`]: what both token logins share (strict JWS reading, the
//!   replay cache, the answer).
//! - [`password`]: password login with JWT, Faveo-compatible (SPEC §4).
//! - [`profile`]: the rules of a user's profile fields, shared by every flow that sets them.
//! - [`embed`]: the embed script, its public site configuration and the demo.
//! - [`admin`]: the admin service layer and the admin JSON API (SPEC §7.2).
//! - [`console`]: the admin console, server-rendered HTML over the same layer (SPEC §7.3).
//! - [`store`]: SQLite or PostgreSQL, one set of queries for both.
//! - [`http`]: body reading, parameters, client IP, errors, metrics.
//! - [`cli`]: the `tessera` command (server and the operators' commands).

pub mod accounts;
pub mod admin;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod cookie_login;
pub mod embed;
pub mod http;
pub mod id_token;
pub mod jose;
pub mod oauth2;
pub mod openapi;
pub mod ops;
pub mod password;
pub mod profile;
pub mod purge;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod signin;
pub mod sso_token;
pub mod store;
pub mod telemetry;
pub mod token_login;
