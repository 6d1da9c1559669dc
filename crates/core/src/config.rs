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
    /// Background workers running training jobs: how many bots train at once. Two by default,
    /// so that a small site created while a large one trains is learned alongside it instead
    /// of waiting for all of it (measured: answered after 0.7 s instead of 137 s, trained after
    /// 49 s instead of 160 s, behind the Python FAQ on two cores).
    pub training_workers: usize,
    /// How many times a job found running after the process died is resumed before it fails
    /// with `crashed_the_server` (a guard against crash loops).
    pub max_job_resumes: u32,
    /// How long a worker's claim on a running job lasts without being renewed, in seconds. The
    /// worker renews it every quarter of that while the job runs, however long one step takes;
    /// a job whose claim ran out (its process died or froze) is claimed by another worker.
    pub job_lease_seconds: u64,
    /// How often due re-crawls and idle conversations are looked for, in seconds.
    pub scheduler_interval_seconds: u64,
    /// Conversations without a message for this many seconds are ended; 0 never ends them.
    pub conversation_idle_seconds: u64,
    /// Crawl limits applied to every training (a bot may lower `max_pages`).
    pub crawl: CrawlLimits,
    /// Accept `http://` webhook URLs (otherwise HTTPS is required).
    pub allow_http_webhooks: bool,
    /// Delays between webhook delivery attempts, comma-separated with s/m/h/d suffixes
    /// (`ms` for tests); each gets up to 10% of jitter. Attempts = 1 + steps.
    pub webhook_retry_schedule: String,
    /// Timeout of one webhook delivery attempt, in seconds.
    pub webhook_timeout_seconds: u64,
    /// Delays between attempts to send a message through a messaging channel (Telegram,
    /// WhatsApp), like `webhook_retry_schedule`; a longer `Retry-After` from the platform wins.
    pub channel_retry_schedule: String,
    /// How long the secret replaced by a rotation keeps signing, in seconds.
    pub webhook_secret_grace_seconds: u64,
    /// An endpoint whose deliveries have all failed for this many days is disabled; 0 never.
    pub webhook_disable_after_days: u64,
    /// Requests an hour one client IP may make to the public widget endpoints (no key); 0: no
    /// limit.
    pub public_requests_per_hour_per_ip: u32,
    /// Messages an hour one widget visitor (one visitor token's conversation) may send through
    /// the public visitor API; 0: no limit.
    pub visitor_messages_per_hour: u32,
    /// Dashboard sign-in attempts an hour per email address; each client IP may make five times
    /// as many. Applies even when `rate_limits` is off; 0: no limit.
    pub sign_in_attempts_per_hour: u32,
    /// Take the client IP from the left-most `X-Forwarded-For` entry (only behind a proxy that
    /// sets it).
    pub trust_forwarded_for: bool,
    /// Where `make models` unpacked the model packages; unset: `$SITECHAT_MODELS_DIR`, else
    /// `~/.cache/sitechat/models`.
    pub models_dir: Option<PathBuf>,
    /// Semantic retrieval with the embedding model (when its files are there); off: BM25 only.
    pub embeddings: bool,
    /// The GGUF file bots with the `local` engine run (any llama-architecture model with a
    /// byte-level BPE tokenizer); unset: SmolLM2-135M-Instruct as `make models` unpacks it
    /// under `models_dir`.
    pub local_model: Option<PathBuf>,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <metrics_token>`;
    /// unset, it is open to anyone who can reach the port.
    pub metrics_token: Option<SecretString>,
}

/// The default retry schedule of messages sent through messaging channels.
pub const DEFAULT_CHANNEL_RETRY_SCHEDULE: &str = "2s,10s,1m,5m,30m,2h";

/// The default webhook retry schedule.
pub const DEFAULT_WEBHOOK_RETRY_SCHEDULE: &str = "10s,1m,5m,30m,2h,6h,12h";

/// Parses a retry schedule such as `10s,1m,5m,30m,2h,6h,12h` (suffixes `ms`, `s`, `m`, `h`, `d`).
pub fn parse_retry_schedule(value: &str) -> Result<Vec<std::time::Duration>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|step| {
            let split = step
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("`{step}` has no unit; use s, m, h or d (e.g. 30s)"))?;
            let (number, unit) = step.split_at(split);
            let n: u64 = number
                .parse()
                .map_err(|_| format!("`{step}` does not start with a number"))?;
            let ms = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(format!("`{step}`: unknown unit `{unit}`; use s, m, h or d")),
            };
            Ok(std::time::Duration::from_millis(n.saturating_mul(ms)))
        })
        .collect()
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
            training_workers: 2,
            max_job_resumes: 2,
            job_lease_seconds: 60,
            scheduler_interval_seconds: 60,
            conversation_idle_seconds: 24 * 60 * 60,
            crawl: CrawlLimits::default(),
            allow_http_webhooks: false,
            webhook_retry_schedule: DEFAULT_WEBHOOK_RETRY_SCHEDULE.to_owned(),
            webhook_timeout_seconds: 10,
            channel_retry_schedule: DEFAULT_CHANNEL_RETRY_SCHEDULE.to_owned(),
            webhook_secret_grace_seconds: 24 * 60 * 60,
            webhook_disable_after_days: 3,
            public_requests_per_hour_per_ip: 200,
            visitor_messages_per_hour: 60,
            sign_in_attempts_per_hour: 10,
            trust_forwarded_for: false,
            models_dir: None,
            embeddings: true,
            local_model: None,
            metrics_token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_default_retry_schedule_parses() {
        let steps = parse_retry_schedule(DEFAULT_WEBHOOK_RETRY_SCHEDULE).unwrap();
        assert_eq!(steps.len(), 7);
        assert_eq!(steps[0], Duration::from_secs(10));
        assert_eq!(steps[6], Duration::from_secs(12 * 3600));
        assert_eq!(
            parse_retry_schedule(" 100ms, 2m ,1d").unwrap(),
            [
                Duration::from_millis(100),
                Duration::from_secs(120),
                Duration::from_secs(86_400)
            ]
        );
    }

    #[test]
    fn a_bad_retry_step_is_named() {
        assert!(parse_retry_schedule("10s,5").unwrap_err().contains("`5`"));
        assert!(parse_retry_schedule("10x").unwrap_err().contains("10x"));
        assert!(parse_retry_schedule("s").is_err());
    }
}
