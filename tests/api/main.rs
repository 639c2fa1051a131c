//! Integration tests: real servers on port 0, real databases (SQLite and PostgreSQL),
//! real HTTP clients. One binary, so the crate is linked once.

mod helpers;

mod account_handling;
mod accounts;
mod admin;
mod browser;
mod cli;
mod console;
mod cookie_login;
mod embed;
mod hardening;
mod id_token;
mod oauth2;
mod ops;
mod sso_token;
mod store_batch;
mod store_direct;
mod store_processes;

mod password;
mod scale_out;
mod signin;
