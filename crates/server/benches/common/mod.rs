//! What the in-process benchmarks share: a server on 127.0.0.1 with a known operator key, the
//! knobs read from the environment, and the order statistics they report.

#![allow(dead_code)] // Each benchmark uses its part.

use std::path::Path;

use sitechat_core::config::Config;
use sitechat_server::Server;

pub const OPERATOR_KEY: &str = "sk_bench_operator_0123456789abcdef";

/// A server on an ephemeral loopback port with its data in `dir`, without rate limits.
pub async fn start(dir: &Path) -> Server {
    Server::start(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        admin_key: Some(OPERATOR_KEY.to_owned().into()),
        rate_limits: false,
        ..Config::default()
    })
    .await
    .expect("server starts")
}

/// A count from the environment variable `name`, or `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The nearest-rank `p`th percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The median (the mean of the middle two of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
