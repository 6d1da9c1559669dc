//! The `sitechat` binary: a thin layer of commands over the server library.

#![forbid(unsafe_code)]

mod backup;
mod client;
mod eval;

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sitechat_core::{config::LogFormat, model::UserRole, AccountId, KeyId, Scope};
use sitechat_server::{
    auth::generate_key,
    config::{load, Overrides},
    services::users,
    Bootstrap, Server,
};
use sitechat_store::{NewKey, PageRequest};

#[derive(Parser)]
#[command(name = "sitechat", version, about = "A self-hosted AI customer-support agent", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Configuration file (default: ./sitechat.toml when it exists).
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Where the database and indexes live [env: SITECHAT_DATA_DIR] [default: ./data].
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address and port to listen on [env: SITECHAT_BIND] [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR:PORT")]
        bind: Option<String>,
    },
    /// Manage API keys directly in the data directory (works while the server is stopped too).
    Keys {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage the people who sign in to the dashboard, directly in the data directory (works
    /// while the server is stopped too). The first owner of an account is made here.
    Users {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Rebuild search indexes from the database (run it while the server is stopped).
    Reindex {
        #[command(flatten)]
        common: Common,
    },
    /// Add a web page, a whole website (--crawl) or a file (PDF, DOCX, Markdown, HTML, text, CSV,
    /// XLSX) to a bot, through the running server, with progress.
    Ingest {
        /// An http(s) URL or a file path.
        target: String,
        /// The bot to teach (`bot_…`).
        #[arg(long)]
        bot: String,
        /// With a URL: learn the whole website (sets it as the bot's website and trains).
        #[arg(long)]
        crawl: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Measure a bot against a file of questions through the running server: retrieval (hit@k,
    /// MRR), citations, expected answers, declines, latency.
    #[command(after_long_help = eval::DEFINITIONS)]
    Eval(eval::EvalArgs),
    /// Manage bots through the running server.
    Bots {
        #[command(subcommand)]
        action: BotsAction,
    },
    /// Write a backup of the data directory to one file: a consistent copy of the database and
    /// the secret key, taken while the server keeps running.
    #[command(after_long_help = backup::BACKUP_HELP)]
    Backup {
        /// The backup file to write (a tar archive, mode 0600: it holds the secret key).
        file: PathBuf,
        /// Replace FILE if it already exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Restore a backup into a data directory and rebuild its search indexes (server stopped).
    #[command(after_long_help = backup::RESTORE_HELP)]
    Restore {
        /// The backup file, as written by `sitechat backup`.
        file: PathBuf,
        /// Replace the database, secret key and indexes of a data directory that is not empty.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args, Clone)]
struct Remote {
    /// The server's base URL.
    #[arg(long, env = "SITECHAT_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// API key (default: the operator key in <data-dir>/admin-key.txt).
    #[arg(long, env = "SITECHAT_API_KEY", hide_env_values = true)]
    key: Option<String>,
    /// The server's data directory, where admin-key.txt is.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum BotsAction {
    /// Crawl and index the bot's website (retrain when it was trained before).
    Train {
        /// The bot (`bot_…`).
        id: String,
        /// Follow the job with a progress bar until it ends.
        #[arg(long)]
        wait: bool,
        /// Re-index every page, even unchanged ones.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create a key and print its secret (shown only once).
    Create {
        /// A name to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Comma-separated scopes: admin, chat, read.
        #[arg(long, default_value = "admin", value_delimiter = ',')]
        scopes: Vec<String>,
        /// The account (default: the operator's).
        #[arg(long, value_name = "ACCOUNT_ID")]
        account: Option<String>,
    },
    /// List keys (prefixes only).
    List {
        /// The account (default: the operator's).
        #[arg(long, value_name = "ACCOUNT_ID")]
        account: Option<String>,
    },
    /// Revoke a key.
    Revoke {
        /// The key id (`key_…`).
        id: String,
        /// The account (default: the operator's).
        #[arg(long, value_name = "ACCOUNT_ID")]
        account: Option<String>,
    },
}

#[derive(Subcommand)]
enum UsersAction {
    /// Create a person who signs in with email and password. The password is read from standard
    /// input (asked for without echo on a terminal; one line when piped), at least 10 characters.
    Create {
        #[arg(long)]
        email: String,
        /// How the dashboard names them (agent replies carry it).
        #[arg(long)]
        name: String,
        /// owner, admin or agent.
        #[arg(long, default_value = "owner")]
        role: String,
        /// The account (default: the operator's).
        #[arg(long, value_name = "ACCOUNT_ID")]
        account: Option<String>,
    },
    /// Make a one-time link (valid three days) with which a person chooses a new password: the
    /// way back in for an owner who forgot theirs. Prints the link's path; open it on the server.
    ResetLink {
        #[arg(long)]
        email: String,
    },
    /// List the people of an account.
    List {
        /// The account (default: the operator's).
        #[arg(long, value_name = "ACCOUNT_ID")]
        account: Option<String>,
    },
}

/// The account given, or else the operator's.
async fn account_or_operator(
    store: &sitechat_store::Store,
    given: Option<String>,
) -> anyhow::Result<AccountId> {
    match given {
        Some(id) => Ok(AccountId::parse(&id)?),
        None => store
            .operator_account()
            .await?
            .map(|a| a.id)
            .context("no operator account yet: start the server once with `sitechat serve`"),
    }
}

/// A new password from standard input: asked for without echo on a terminal, else one line.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password (at least 10 characters): ")?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line
    };
    Ok(password.trim_end_matches(['\r', '\n']).to_owned())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SITECHAT_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,tower_http=info,sqlx=warn,tantivy=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// An error the user fixes (the configuration, an argument): reported as its message alone,
/// never with a backtrace.
#[derive(Debug)]
struct UserError(String);

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

fn config_of(
    common: &Common,
    bind: Option<String>,
) -> anyhow::Result<sitechat_core::config::Config> {
    load(
        common.config.as_deref(),
        Overrides {
            bind,
            data_dir: common.data_dir.as_ref().map(|p| p.display().to_string()),
        },
    )
    .map_err(|e| anyhow::Error::new(UserError(format!("{e:#}"))))
}

/// Prints a failed command's error on stderr and gives the exit code: 2 for an error the user
/// fixes (configuration, arguments), 1 for any other. Only other errors show their backtrace,
/// and only when `RUST_BACKTRACE` asks for one.
fn report(error: &anyhow::Error) -> ExitCode {
    if error.is::<UserError>() {
        eprintln!("error: {error:#}");
        return ExitCode::from(2);
    }
    let backtrace = std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0");
    if backtrace {
        eprintln!("error: {error:?}");
    } else {
        eprintln!("error: {error:#}");
    }
    ExitCode::FAILURE
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// mimalloc: model inference allocates and frees large buffers constantly, which glibc's
/// allocator hands back to the kernel each time (about a third of embedding time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { common, bind } => {
            let config = config_of(&common, bind)?;
            init_logging(config.log_format);
            let server = Server::start(config).await?;
            if let Bootstrap::Generated { secret, file } = server.bootstrap() {
                println!(
                    "Operator API key (shown once; also saved to {}):\n  {secret}",
                    file.display()
                );
            }
            println!(
                "sitechat listening on http://{addr}  (dashboard: http://{addr}/dashboard, \
                 API reference: http://{addr}/docs)",
                addr = server.addr()
            );
            server.run_until(shutdown_signal()).await
        }
        Command::Keys { common, action } => {
            let config = config_of(&common, None)?;
            let store = sitechat_store::Store::open(&config.data_dir.join("sitechat.db")).await?;
            let account = |given: Option<String>| account_or_operator(&store, given);
            match action {
                KeysAction::Create {
                    name,
                    scopes,
                    account: acc,
                } => {
                    let account = account(acc).await?;
                    store
                        .get_account(&account)
                        .await
                        .context("no such account")?;
                    let scopes = scopes
                        .iter()
                        .map(|s| {
                            Scope::parse(s.trim()).ok_or_else(|| {
                                anyhow::Error::new(UserError(format!(
                                    "`{s}` is not a scope (admin, chat, read)"
                                )))
                            })
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    let generated = generate_key();
                    let key = store
                        .insert_key(NewKey {
                            account_id: account,
                            name,
                            prefix: generated.prefix,
                            secret_hash: generated.hash,
                            scopes,
                        })
                        .await?;
                    println!("{}\t{}", key.id, generated.secret);
                }
                KeysAction::List { account: acc } => {
                    let account = account(acc).await?;
                    let mut after = None;
                    loop {
                        let page = store
                            .list_keys(&account, PageRequest { limit: 100, after })
                            .await?;
                        for k in &page.items {
                            let scopes: Vec<_> = k.scopes.iter().map(|s| s.as_str()).collect();
                            println!("{}\t{}…\t{}\t{}", k.id, k.prefix, scopes.join(","), k.name);
                        }
                        match page.next_cursor {
                            Some(c) => after = Some(c),
                            None => break,
                        }
                    }
                }
                KeysAction::Revoke { id, account: acc } => {
                    let account = account(acc).await?;
                    store.delete_key(&account, &KeyId::parse(&id)?).await?;
                    println!("revoked {id}");
                }
            }
            Ok(())
        }
        Command::Ingest {
            target,
            bot,
            crawl,
            remote,
        } => {
            let client = client::Client::new(&remote.server, remote.key, &remote.data_dir)?;
            client.ingest(&bot, &target, crawl).await
        }
        Command::Bots {
            action:
                BotsAction::Train {
                    id,
                    wait,
                    force,
                    remote,
                },
        } => {
            let client = client::Client::new(&remote.server, remote.key, &remote.data_dir)?;
            client.train(&id, force, wait).await
        }
        Command::Eval(args) => eval::run(args).await,
        Command::Backup {
            file,
            force,
            common,
        } => backup::backup(&config_of(&common, None)?.data_dir, &file, force).await,
        Command::Restore {
            file,
            force,
            common,
        } => backup::restore(&file, config_of(&common, None)?, force).await,
        Command::Users { common, action } => {
            let config = config_of(&common, None)?;
            let store = sitechat_store::Store::open(&config.data_dir.join("sitechat.db")).await?;
            match action {
                UsersAction::Create {
                    email,
                    name,
                    role,
                    account,
                } => {
                    let account = account_or_operator(&store, account).await?;
                    store
                        .get_account(&account)
                        .await
                        .context("no such account")?;
                    let role = UserRole::parse(role.trim()).ok_or_else(|| {
                        UserError(format!("`{role}` is not a role (owner, admin, agent)"))
                    })?;
                    let password = read_password()?;
                    let user = users::create(&store, &account, &email, &name, &password, role)
                        .await
                        .map_err(|e| UserError(e.to_string()))?;
                    println!("{}\t{}\t{}", user.id, user.email, user.role.as_str());
                }
                UsersAction::ResetLink { email } => {
                    let link = users::operator_reset_link(&store, &email)
                        .await
                        .map_err(|e| UserError(e.to_string()))?;
                    println!("{}", link.path);
                }
                UsersAction::List { account } => {
                    let account = account_or_operator(&store, account).await?;
                    for u in store.list_users(&account).await? {
                        println!("{}\t{}\t{}\t{}", u.id, u.email, u.role.as_str(), u.name);
                    }
                }
            }
            Ok(())
        }
        Command::Reindex { common } => {
            let config = config_of(&common, None)?;
            init_logging(config.log_format);
            let state = sitechat_server::open_state(config).await?;
            let rebuilt = sitechat_server::services::knowledge::reconcile_indexes(
                &state.store,
                &state.index,
                true,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            for (bot, n) in &rebuilt {
                println!("{bot}\t{n} passages");
            }
            println!("rebuilt {} bot index(es)", rebuilt.len());
            Ok(())
        }
    }
}
