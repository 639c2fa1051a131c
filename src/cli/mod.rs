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
mod sso_secrets;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
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
    /// Whether `--database-url` was on the command line itself (not from the environment):
    /// `demo` uses only such a store.
    #[arg(skip)]
    pub database_url_on_command_line: bool,
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
    /// Validate what `serve` would run with: the file, TESSERA_* variables and flags.
    Check(Box<serve::ServeArgs>),
    /// Print a documented configuration file with every default.
    Example,
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
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    cli.database_url_on_command_line = on_command_line(&matches, "database_url");
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

/// Whether the global argument `id` was typed on the command line, at any level.
fn on_command_line(matches: &clap::ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        || matches
            .subcommand()
            .is_some_and(|(_, sub)| on_command_line(sub, id))
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
        // The demo creates a site and users: never in a store named only by the
        // environment, which is usually the operator's real one.
        Command::Demo(args) => {
            let url = database_url.filter(|_| cli.database_url_on_command_line);
            demo::run(args, url, &out).await
        }
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
        Command::Config(ConfigCommand::Check(args)) => {
            serve::layered_config(*args, database_url)?;
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
    connect_store(
        database_url(url).expose(),
        &PoolSizes::default(),
        Missing::Create,
    )
    .await
}

/// Opens the store for an operator command (migrating it, so an old file works). A
/// missing SQLite file is an error here: `site list` run in the wrong directory used
/// to create an empty ./tessera.db and list nothing.
async fn open_store(url: Option<String>) -> Result<Store, CliError> {
    let store = connect_store(
        database_url(url).expose(),
        &PoolSizes::default(),
        Missing::Refuse,
    )
    .await?;
    store.migrate().await?;
    Ok(store)
}

/// What to do when a SQLite file does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// `serve`, `migrate`, `demo`: make it.
    Create,
    /// Every other command: say which file is missing and how to make it.
    Refuse,
}

/// Connects to the store at `url`; an error names the file or server at fault.
pub async fn connect_store(
    url: &str,
    sizes: &PoolSizes,
    missing: Missing,
) -> Result<Store, CliError> {
    let sqlite_path = sqlite_path(url);
    if let Some(path) = &sqlite_path {
        if missing == Missing::Refuse && !path.exists() {
            return Err(CliError(format!(
                "the SQLite store {} does not exist: pass --database-url (or set \
                 TESSERA_DATABASE_URL) to name the existing one, or create it with \
                 `tessera migrate` or `tessera serve`",
                path.display()
            )));
        }
    }
    Store::connect(url, sizes)
        .await
        .map_err(|e| match &sqlite_path {
            Some(path) => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                match dir {
                    Some(dir) if !dir.is_dir() => CliError(format!(
                        "cannot open the SQLite store {}: the directory {} does not exist",
                        path.display(),
                        dir.display()
                    )),
                    _ => CliError(format!(
                        "cannot open the SQLite store {}: {e}",
                        path.display()
                    )),
                }
            }
            None => CliError(format!("cannot open the store: {e}")),
        })
}

/// The file of a `sqlite://` URL (`None` for PostgreSQL and in-memory databases).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    use std::str::FromStr as _;
    if !url.starts_with("sqlite:") {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    (!path.as_os_str().is_empty() && path != std::path::Path::new(":memory:"))
        .then(|| path.to_path_buf())
}

/// Parses a SITE argument.
fn site_id_arg(text: &str) -> Result<i64, String> {
    crate::http::parse_site_id(text)
        .ok_or_else(|| format!("{text:?} is not a site id (a positive integer)"))
}

/// `body` as JSON with the site it is about, as the `--json` output of a site's lists.
fn site_json<T: serde::Serialize>(body: &T, site: i64) -> Result<Value, CliError> {
    let mut json = serde_json::to_value(body)?;
    json["site_id"] = site.into();
    Ok(json)
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
