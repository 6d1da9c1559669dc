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
    /// Largest file upload accepted (spreadsheets, documents), in bytes.
    pub max_upload_bytes: usize,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Whether plan rate limits and quotas are enforced.
    pub rate_limits: bool,
    /// Let fetches reach loopback and private networks (for tests and intranets).
    pub allow_private_networks: bool,
    /// Background workers running training jobs.
    pub training_workers: usize,
    /// How often due re-crawls and idle conversations are looked for, in seconds.
    pub scheduler_interval_seconds: u64,
    /// Conversations without a message for this many seconds are ended; 0 never ends them.
    pub conversation_idle_seconds: u64,
    /// Crawl limits applied to every training (a bot may lower `max_pages`).
    pub crawl: CrawlLimits,
}

/// Limits of one website crawl.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrawlLimits {
    pub max_pages: usize,
    pub max_depth: usize,
    /// Largest page or document fetched, in bytes.
    pub max_page_bytes: usize,
    /// Longest a crawl may run, in seconds.
    pub max_seconds: u64,
    /// Pages fetched at once.
    pub concurrency: usize,
    /// Least delay between two requests to one host, in milliseconds (robots.txt may ask more).
    pub delay_ms: u64,
    /// Timeout of one request, in seconds.
    pub timeout_seconds: u64,
}

impl Default for CrawlLimits {
    fn default() -> Self {
        Self {
            max_pages: 500,
            max_depth: 10,
            max_page_bytes: 5 * 1024 * 1024,
            max_seconds: 1800,
            concurrency: 4,
            delay_ms: 250,
            timeout_seconds: 20,
        }
    }
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
            max_upload_bytes: 20 * 1024 * 1024,
            log_format: LogFormat::Text,
            rate_limits: true,
            allow_private_networks: false,
            training_workers: 1,
            scheduler_interval_seconds: 60,
            conversation_idle_seconds: 24 * 60 * 60,
            crawl: CrawlLimits::default(),
        }
    }
}
