//! The `tessera` command line: the server and the operators' commands, which work
//! straight on the store. `--json` prints one JSON object on stdout; errors are one
//! sentence on stderr with a non-zero exit status.

mod audit;
mod demo;
mod jwt_keys;
mod keys;
mod local_users;
mod serve;
mod sites;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::config::{Config, DatabaseUrl, EXAMPLE_TOML};
use crate::store::{PoolSizes, Store};

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "Login service for embedded platforms"
)]
pub struct Cli {
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://tessera.db]
    #[arg(
        long,
        global = true,
        env = "TESSERA_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(Box<serve::ServeArgs>),
    /// Apply pending database migrations.
    Migrate,
    /// Create, list, configure, disable and enable sites.
    #[command(subcommand)]
    Site(sites::SiteCommand),
    /// Create, list and delete a site's API keys.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Start Tessera and a demo customer site on localhost, and print the URL to open.
    Demo(demo::DemoArgs),
    /// Create, list, show, ban, deactivate, log out and delete users.
    #[command(subcommand)]
    User(users::UserCommand),
    /// End one session of a user.
    #[command(subcommand)]
    Session(users::SessionCommand),
    /// Read a site's audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Rotate the signing key of password-login JWTs.
    #[command(subcommand)]
    JwtKeys(jwt_keys::JwtKeysCommand),
    /// Check a configuration file or print a documented example.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file (and TESSERA_* variables).
    Check(ConfigFileArg),
    /// Print a documented configuration file with every default.
    Example,
}

#[derive(Debug, Args)]
pub struct ConfigFileArg {
    /// TOML configuration file.
    #[arg(long, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
}

/// A failed command: one sentence for the operator.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

pub type CliResult = Result<(), CliError>;

/// Prints results as text or as one JSON object.
pub struct Output {
    json: bool,
}

impl Output {
    pub fn emit(&self, json: Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{json}");
        } else {
            println!("{}", text());
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(cli: Cli) -> CliResult {
    let out = Output { json: cli.json };
    let database_url = cli.database_url.clone();
    match cli.command {
        Command::Serve(args) => serve::run(*args, database_url, &out).await,
        Command::Migrate => {
            let store = open_store_unmigrated(database_url).await?;
            let applied = store.migrate().await?;
            out.emit(
                serde_json::json!({ "applied": applied, "store": store.kind() }),
                || {
                    format!(
                        "{applied} migration(s) applied; the {} store is up to date",
                        store.kind()
                    )
                },
            );
            Ok(())
        }
        Command::Site(cmd) => sites::run(cmd, &open_store(database_url).await?, &out).await,
        Command::Key(cmd) => keys::run(cmd, &open_store(database_url).await?, &out).await,
        Command::Demo(args) => demo::run(args, database_url, &out).await,
        Command::User(cmd) => users::run(cmd, &open_store(database_url).await?, &out).await,
        Command::Session(cmd) => {
            users::run_session(cmd, &open_store(database_url).await?, &out).await
        }
        Command::Audit(cmd) => audit::run(cmd, &open_store(database_url).await?, &out).await,
        Command::JwtKeys(cmd) => jwt_keys::run(cmd, &open_store(database_url).await?, &out).await,
        Command::Config(ConfigCommand::Example) => {
            print!("{EXAMPLE_TOML}");
            Ok(())
        }
        Command::Config(ConfigCommand::Check(arg)) => {
            let config = load_config_file(arg.config.as_deref())?;
            config.validate()?;
            out.emit(serde_json::json!({ "valid": true }), || {
                "the configuration is valid".to_string()
            });
            Ok(())
        }
    }
}

/// Defaults, overlaid by the TOML file when one is given.
pub fn load_config_file(path: Option<&std::path::Path>) -> Result<Config, CliError> {
    match path {
        Some(path) => Ok(Config::from_file(path)?),
        None => Ok(Config::default()),
    }
}

fn database_url(flag: Option<String>) -> DatabaseUrl {
    flag.map(DatabaseUrl::new).unwrap_or_default()
}

async fn open_store_unmigrated(url: Option<String>) -> Result<Store, CliError> {
    let url = database_url(url);
    Store::connect(url.expose(), &PoolSizes::default())
        .await
        .map_err(|e| CliError(format!("cannot open the store: {e}")))
}

/// Opens the store for an operator command (migrating it, so a fresh file works).
async fn open_store(url: Option<String>) -> Result<Store, CliError> {
    let store = open_store_unmigrated(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Parses a SITE argument.
fn site_id_arg(text: &str) -> Result<i64, String> {
    crate::oauth2::client_auth::parse_site_id(text)
        .ok_or_else(|| format!("{text:?} is not a site id (a positive integer)"))
}

/// RFC 3339 text for CLI output.
fn time_text(ms: Option<i64>) -> Value {
    ms.map(|ms| Value::String(crate::clock::rfc3339(ms)))
        .unwrap_or(Value::Null)
}

/// The admin service layer's context for an operator acting on `site_id` now.
fn ctx(store: &Store, site_id: i64) -> crate::admin::Ctx<'_> {
    use crate::clock::Clock as _;
    crate::admin::Ctx {
        store,
        site_id,
        actor: crate::store::audit::Actor::Cli,
        client_ip: None,
        now: crate::clock::SystemClock.now_ms(),
    }
}
