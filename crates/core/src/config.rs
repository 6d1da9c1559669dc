//! The server's configuration, as read from defaults, then an optional `sitechat.toml`, then
//! `SITECHAT_*` environment variables, then command-line flags (the loading lives with the binary).

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

/// Everything `sitechat serve` can be told.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// Where the database and search indexes live.
    pub data_dir: PathBuf,
    /// The operator's API key. When absent, one is generated at first start.
    pub admin_key: Option<SecretString>,
    /// Origins allowed to call the API from a browser; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Whether plan rate limits and quotas are enforced.
    pub rate_limits: bool,
    /// Let fetches reach loopback and private networks (for tests and intranets).
    pub allow_private_networks: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            admin_key: None,
            cors_origins: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
            log_format: LogFormat::Text,
            rate_limits: true,
            allow_private_networks: false,
        }
    }
}
