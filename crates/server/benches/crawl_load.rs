//! Crawl benchmark: how fast sitechat crawls, extracts, chunks and indexes a website.
//!
//! A site of `BENCH_CRAWL_PAGES` (default 2,000) generated pages is served on loopback by this
//! process; a real sitechat server (in-process) trains a bot on it, `BENCH_RUNS` times (default
//! 3), each into a fresh data directory. As a baseline measured in the same run, the same pages
//! are fetched with the same concurrency by a bare HTTP client that does nothing with them: the
//! ratio is what sitechat's pipeline (robots, canonicalisation, extraction, chunking, SQLite,
//! tantivy) costs over fetching alone. Peak memory is the process's peak resident set (VmHWM),
//! which includes the test site and the load generator. Retrieval here is BM25 only (no
//! embeddings yet). Bounded: each run stops after 10 minutes.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{extract::Path, response::Html, routing::get, Router};
use serde_json::{json, Value};
use sitechat_core::config::Config;
use sitechat_server::Server;

const KEY: &str = "sk_bench_operator_0123456789abcdef";
const WORDS: &[&str] = &[
    "planter",
    "terracotta",
    "balcony",
    "olive",
    "watering",
    "delivery",
    "warranty",
    "refund",
    "lavender",
    "compost",
    "trellis",
    "saucer",
    "frost",
    "drainage",
    "ceramic",
    "herb",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn page(n: usize, pages: usize) -> String {
    let links: String = (1..=4)
        .map(|k| (n * 4 + k) % pages)
        .map(|m| format!("<li><a href=\"/p/{m}\">Item {m}</a></li>"))
        .collect();
    let mut body = String::new();
    for s in 0..3 {
        let w = |i: usize| WORDS[(n * 7 + s * 3 + i) % WORDS.len()];
        body.push_str(&format!(
            "<h2>{} care</h2><p>The {} model {n}-{s} suits a {} and ships in {} days. Keep it away from {} and check the {} weekly. \
             Our {} guide explains how the {} reacts to {} in winter.</p>",
            w(0), w(1), w(2), (n + s) % 9 + 1, w(3), w(4), w(5), w(6), w(7)
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><title>Product {n}</title></head><body>\
         <header><nav><ul>{links}</ul></nav></header><main><h1>Product {n}</h1>{body}</main>\
         <footer>Shop footer, legal notice, cookies.</footer></body></html>"
    )
}

async fn serve_site(pages: usize) -> String {
    let app = Router::new()
        .route("/", get(move || async move { Html(page(0, pages)) }))
        .route(
            "/p/{n}",
            get(move |Path(n): Path<usize>| async move { Html(page(n % pages, pages)) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn baseline(site: &str, pages: usize, concurrency: usize) -> f64 {
    let client = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, next, site) = (client.clone(), next.clone(), site.to_owned());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= pages {
                        break;
                    }
                    let body = client
                        .get(format!("{site}/p/{n}"))
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                    assert!(!body.is_empty());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    pages as f64 / started.elapsed().as_secs_f64()
}

async fn crawl_once(site: &str, pages: usize, concurrency: usize) -> (f64, Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_key: Some(KEY.to_owned().into()),
        rate_limits: false,
        allow_private_networks: true,
        ..Config::default()
    };
    config.crawl.delay_ms = 0;
    config.crawl.concurrency = concurrency;
    config.crawl.max_pages = pages + 10;
    config.crawl.max_depth = 100;
    let server = Server::start(config).await.unwrap();
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::new();
    let started = Instant::now();
    let bot: Value = client
        .post(format!("{base}/v1/bots"))
        .bearer_auth(KEY)
        .json(&json!({"name": "bench", "website_url": format!("{site}/")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = bot["last_job_id"].as_str().unwrap().to_owned();
    let done = loop {
        let j: Value = client
            .get(format!("{base}/v1/jobs/{job}"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !matches!(j["state"].as_str(), Some("queued" | "running")) {
            break j;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "crawl took over 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    server.stop().await.unwrap();
    let indexed = done["pages_indexed"].as_f64().unwrap_or(0.0);
    (indexed / elapsed, done)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let pages = env_usize("BENCH_CRAWL_PAGES", 2000);
    let runs = env_usize("BENCH_RUNS", 3).max(1);
    let concurrency = env_usize("BENCH_CRAWL_CONCURRENCY", 4);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let site = serve_site(pages).await;
        println!(
            "crawl benchmark: {pages} pages on loopback, crawl concurrency {concurrency}, {runs} runs, {} cores",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        let mut crawl_rates = Vec::new();
        let mut base_rates = Vec::new();
        println!("{:<6} {:>14} {:>14} {:>10} {:>10} {:>10}", "run", "fetch-only p/s", "sitechat p/s", "indexed", "skipped", "chunks");
        for run in 1..=runs {
            let base = baseline(&site, pages, concurrency).await;
            let (rate, job) = crawl_once(&site, pages, concurrency).await;
            assert_eq!(job["state"], "succeeded", "{job}");
            println!(
                "{run:<6} {base:>14.1} {rate:>14.1} {:>10} {:>10} {:>10}",
                job["pages_indexed"], job["pages_skipped"], job["chunks_created"]
            );
            crawl_rates.push(rate);
            base_rates.push(base);
        }
        let (c, b) = (median(crawl_rates), median(base_rates));
        let peak = peak_rss_mib();
        println!("median  fetch-only {b:.1} pages/s   sitechat {c:.1} pages/s   ratio {:.3}   peak RSS {peak:.0} MiB", c / b);
        std::fs::create_dir_all("target/bench").ok();
        let out = json!({"pages": pages, "runs": runs, "concurrency": concurrency,
            "median_pages_per_second": c, "median_fetch_only_pages_per_second": b, "ratio": c / b, "peak_rss_mib": peak});
        std::fs::write("target/bench/crawl_load.json", serde_json::to_string_pretty(&out).unwrap()).ok();
    });
}
