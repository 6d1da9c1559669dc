//! Soak benchmark: a real sitechat server in-process on 127.0.0.1 under a steady, realistic load
//! for a long time, watching for what only time shows: errors that creep in, latency that drifts,
//! memory or file descriptors that leak, webhook deliveries that go missing.
//!
//! - **Visitors** (`SOAK_VISITORS`, 200) hold widget-like conversations one after another: start a
//!   conversation on the `widget` channel with a first question, ask 1–3 more after a think time,
//!   and close it; `SOAK_HANDOFF_PERCENT` (15) of them ask for a person instead of closing, and
//!   stay in the agents' queue.
//! - **Agents** (`SOAK_AGENTS`, 3) poll the queue (`status=waiting_for_agent`) every second, take
//!   each waiting conversation over, reply, and release it to the bot.
//! - **Webhooks**: an endpoint on a loopback receiver subscribes to `conversation.started`,
//!   `conversation.ended`, `escalation.requested`, `takeover.started` and `takeover.ended`. The
//!   events the server recorded (read from `GET /v1/events`) are the deliveries expected; those
//!   the receiver got (unique `webhook-id`s) are compared with them. After the load stops, the
//!   receiver is given up to 60 s to catch up; whatever has still not arrived is lost.
//!
//! Every `SOAK_REPORT_SECONDS` (60) a line shows the elapsed time, requests (total and in the
//! interval), errors, the interval's p50 and p99 latency, the process's resident memory (RSS,
//! `/proc/self/status`), its open file descriptors (`/proc/self/fd`) and webhook deliveries
//! received against expected. The summary checks the floors: 0 errors, 0 deliveries lost, and RSS
//! at most 10 % above its level at the end of the warm-up (`SOAK_WARMUP_SECONDS`, 300, or a sixth
//! of a shorter run), at its peak afterwards.
//!
//! ```text
//! make soak                                             # 30 minutes
//! SOAK_SECONDS=180 cargo bench -p sitechat-server --bench soak
//! ```
//!
//! Other settings: `SOAK_SECONDS` (1,800), `SOAK_THINK_MS` (mean think time between a visitor's
//! messages, 4,000; drawn uniformly from half to one and a half times it), `SOAK_MAX_REQUESTS`
//! (1,000,000: the visitors stop early past it), `SOAK_LOG` (e.g. `warn`) for the server's log.
//!
//! The server, the load generator and the webhook receiver share one process and one Tokio
//! runtime, so RSS and descriptors are those of all three (both ends of every loopback
//! connection are counted), with mimalloc as the allocator, as in the `sitechat` binary. The
//! generator's own memory is fixed in size (histograms of fixed buckets) except the sets of event
//! ids, 64-bit hashes (about 20 bytes per webhook event in each of two sets). Every request has a 30 s timeout; every loop ends at
//! the deadline.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::{json, Value};
use sitechat_core::config::Config;
use sitechat_server::Server;

const OPERATOR_KEY: &str = "sk_soak_operator_0123456789abcdef";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the receiver may take, after the load, to get every delivery.
const DRAIN: Duration = Duration::from_secs(60);
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const WEBHOOK_EVENTS: [&str; 5] = [
    "conversation.started",
    "conversation.ended",
    "escalation.requested",
    "takeover.started",
    "takeover.ended",
];
/// Floors.
const MAX_RSS_GROWTH: f64 = 0.10;

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    seconds: u64,
    visitors: usize,
    agents: usize,
    think_ms: u64,
    handoff_percent: usize,
    report_seconds: u64,
    warmup_seconds: u64,
    max_requests: u64,
}

fn env_number(name: &str, default: u64, least: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => match value.trim().replace('_', "").parse() {
            Ok(n) if n >= least => n,
            _ => panic!("{name} must be a whole number of at least {least} (got {value:?})"),
        },
        _ => default,
    }
}

impl Settings {
    fn from_env() -> Self {
        let seconds = env_number("SOAK_SECONDS", 1_800, 10);
        let handoff_percent = env_number("SOAK_HANDOFF_PERCENT", 15, 0) as usize;
        assert!(
            handoff_percent <= 100,
            "SOAK_HANDOFF_PERCENT is at most 100"
        );
        Settings {
            seconds,
            visitors: env_number("SOAK_VISITORS", 200, 1) as usize,
            agents: env_number("SOAK_AGENTS", 3, 1) as usize,
            think_ms: env_number("SOAK_THINK_MS", 4_000, 1),
            handoff_percent,
            report_seconds: env_number("SOAK_REPORT_SECONDS", 60, 1),
            warmup_seconds: env_number("SOAK_WARMUP_SECONDS", 300.min(seconds / 6), 1),
            max_requests: env_number("SOAK_MAX_REQUESTS", 1_000_000, 1),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The bot's knowledge and the visitors' questions

const FAQ: &str = "\
# Opening hours

Our Lyon shop is open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 4pm. \
We are closed on Sundays and public holidays.

# Returns and refunds

You can return any unused item within 30 days of delivery. Refunds are paid to the original \
payment method within 5 business days.

# Delivery times

Parcels leave our warehouse within 24 hours. Standard delivery takes 2 to 3 working days and \
express delivery arrives the next working day.

# Shipping costs

Standard shipping costs 4.90 euros and is free for orders over 50 euros. Express shipping costs \
9.90 euros.

# Payment methods

We accept Visa, Mastercard, PayPal and bank transfers. Your card is only charged when the order \
ships.

# Warranty

Every product comes with a two-year warranty against manufacturing defects. The warranty does \
not cover accidental damage.

# Gift cards

Gift cards are sold from 10 to 500 euros and are valid for one year. They can be used online and \
in the shop.

# Parking

The shop has 40 free parking spaces behind the building. Bicycle racks are next to the main \
entrance.

# Click and collect

Orders placed before 2pm can be collected at the shop the next day. Bring the confirmation email \
and a photo ID.

# Repairs

We repair broken products for a flat fee of 25 euros. Repairs take about a week and are free \
under warranty.";

const QUESTIONS: &[&str] = &[
    "When are you open on Saturdays?",
    "What are your opening hours?",
    "How long do refunds take?",
    "Can I return an item?",
    "How long does delivery take?",
    "How much does shipping cost?",
    "Is shipping free?",
    "Which payment methods do you accept?",
    "Can I pay with PayPal?",
    "How long is the warranty?",
    "How long is a gift card valid?",
    "Where can I park?",
    "Can I collect my order at the shop?",
    "How much does a repair cost?",
];

const ASK_FOR_A_PERSON: &str = "Can I talk to a human, please?";

/// A small deterministic generator (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Self {
        Lcg(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements

/// Latencies in fixed buckets of 100 µs up to 10 s (and one beyond): fixed memory however long
/// the run.
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
}

const BUCKET_MICROS: u64 = 100;
const BUCKETS: usize = 100_000;

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: vec![0; BUCKETS + 1],
            count: 0,
        }
    }

    fn record(&mut self, latency: Duration) {
        let i = (latency.as_micros() as u64 / BUCKET_MICROS).min(BUCKETS as u64) as usize;
        self.buckets[i] += 1;
        self.count += 1;
    }

    /// Nearest-rank percentile (the bucket's upper bound), in milliseconds.
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return ((i as u64 + 1) * BUCKET_MICROS) as f64 / 1_000.0;
            }
        }
        f64::INFINITY
    }

    fn clear(&mut self) {
        self.buckets.iter_mut().for_each(|b| *b = 0);
        self.count = 0;
    }
}

/// What the load generator counts.
struct Stats {
    requests: AtomicU64,
    errors: AtomicU64,
    error_samples: Mutex<Vec<String>>,
    interval: Mutex<Histogram>,
    total: Mutex<Histogram>,
    conversations: AtomicU64,
    handoffs_asked: AtomicU64,
    takeovers: AtomicU64,
    answered: AtomicU64,
    fallbacks: AtomicU64,
}

impl Stats {
    fn new() -> Self {
        Stats {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            error_samples: Mutex::new(Vec::new()),
            interval: Mutex::new(Histogram::new()),
            total: Mutex::new(Histogram::new()),
            conversations: AtomicU64::new(0),
            handoffs_asked: AtomicU64::new(0),
            takeovers: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        }
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut samples = self.error_samples.lock().unwrap();
        if samples.len() < 10 {
            samples.push(what);
        }
    }
}

/// Resident memory (kB) and open file descriptors of this process.
fn process_usage() -> (u64, usize) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    (rss, fds)
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// The load

/// What every task shares.
struct Load {
    http: reqwest::Client,
    base: String,
    bot: String,
    stats: Stats,
    deadline: Instant,
    /// Set when the visitors must stop (deadline or request cap).
    stop: AtomicBool,
    settings: Settings,
}

impl Load {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    /// One measured API call: a response other than 2xx, or none, is an error.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Option<Value> {
        if self.stats.requests.fetch_add(1, Ordering::Relaxed) + 1 >= self.settings.max_requests {
            self.stop.store(true, Ordering::Relaxed);
        }
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(OPERATOR_KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let sent = Instant::now();
        let outcome = match request.send().await {
            Ok(response) => {
                let status = response.status();
                response.bytes().await.map(|b| (status, b))
            }
            Err(e) => Err(e),
        };
        let latency = sent.elapsed();
        match outcome {
            Ok((status, body)) => {
                self.stats.interval.lock().unwrap().record(latency);
                self.stats.total.lock().unwrap().record(latency);
                if status.is_success() {
                    Some(serde_json::from_slice(&body).unwrap_or(Value::Null))
                } else {
                    let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
                    self.stats
                        .error(format!("{method} {path}: {status}: {text}"));
                    None
                }
            }
            Err(e) => {
                self.stats.error(format!("{method} {path}: {e}"));
                None
            }
        }
    }

    /// Sleeps a think time; false when the run ended meanwhile.
    async fn think(&self, rng: &mut Lcg) -> bool {
        let ms = self.settings.think_ms / 2 + rng.below(self.settings.think_ms + 1);
        let until = (Instant::now() + Duration::from_millis(ms)).min(self.deadline);
        tokio::time::sleep_until(until.into()).await;
        !self.stopped()
    }

    fn outcome(&self, reply: &Value) {
        match reply["outcome"].as_str() {
            Some("answered") | Some("curated") => {
                self.stats.answered.fetch_add(1, Ordering::Relaxed);
            }
            Some("fallback") => {
                self.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// One visitor: widget conversations one after another until the run ends.
async fn visitor(load: Arc<Load>, v: usize) {
    let mut rng = Lcg::new(v as u64 + 1);
    let pick = |rng: &mut Lcg| QUESTIONS[rng.below(QUESTIONS.len() as u64) as usize];
    // Arrivals spread over the first think time.
    let first = rng.below(load.settings.think_ms);
    tokio::time::sleep(Duration::from_millis(first)).await;
    while !load.stopped() {
        let Some(started) = load
            .call(
                Method::POST,
                "/v1/conversations",
                Some(json!({
                    "bot_id": load.bot,
                    "channel": "widget",
                    "contact": {"external_id": format!("soak-visitor-{v}"), "name": format!("Visitor {v}")},
                    "message": pick(&mut rng),
                })),
            )
            .await
        else {
            if !load.think(&mut rng).await {
                break;
            }
            continue;
        };
        load.stats.conversations.fetch_add(1, Ordering::Relaxed);
        load.outcome(&started["reply"]);
        let conversation = started["id"].as_str().unwrap_or_default().to_owned();
        let asks = 1 + rng.below(3);
        let handoff = rng.below(100) < load.settings.handoff_percent as u64;
        let handoff_at = if handoff { rng.below(asks) } else { u64::MAX };
        for k in 0..asks {
            if !load.think(&mut rng).await {
                break;
            }
            let message = if k == handoff_at {
                load.stats.handoffs_asked.fetch_add(1, Ordering::Relaxed);
                ASK_FOR_A_PERSON
            } else {
                pick(&mut rng)
            };
            if let Some(reply) = load
                .call(
                    Method::POST,
                    &format!("/v1/bots/{}/chat", load.bot),
                    Some(json!({"message": message, "conversation_id": conversation})),
                )
                .await
            {
                load.outcome(&reply);
            }
        }
        // A visitor who asked for a person waits for the agent; the others close the widget.
        if !handoff {
            load.call(
                Method::POST,
                &format!("/v1/conversations/{conversation}/end"),
                Some(json!({})),
            )
            .await;
        }
        if !load.think(&mut rng).await {
            break;
        }
    }
}

/// One agent: takes over its share of the waiting conversations, replies and releases them, until
/// the run ends and the queue is empty.
async fn agent(load: Arc<Load>, a: usize, agents: usize, done: Arc<AtomicBool>) {
    let name = format!("Agent {}", a + 1);
    loop {
        let finishing = done.load(Ordering::Relaxed);
        let queue = load
            .call(
                Method::GET,
                &format!(
                    "/v1/conversations?bot_id={}&status=waiting_for_agent&limit=100",
                    load.bot
                ),
                None,
            )
            .await;
        let waiting: Vec<String> = queue
            .as_ref()
            .and_then(|q| q["data"].as_array())
            .map(|d| {
                d.iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mine: Vec<_> = waiting.iter().filter(|id| share(id, agents) == a).collect();
        for id in mine {
            if load
                .call(
                    Method::POST,
                    &format!("/v1/conversations/{id}/takeover"),
                    Some(json!({"agent": name})),
                )
                .await
                .is_none()
            {
                continue;
            }
            load.stats.takeovers.fetch_add(1, Ordering::Relaxed);
            load.call(
                Method::POST,
                &format!("/v1/conversations/{id}/messages"),
                Some(json!({"role": "agent", "text": format!("Hello, {name} here. How can I help?")})),
            )
            .await;
            load.call(
                Method::POST,
                &format!("/v1/conversations/{id}/release"),
                Some(json!({})),
            )
            .await;
        }
        if finishing {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Which agent a conversation belongs to (a stable split, so two agents never race for one).
fn share(id: &str, agents: usize) -> usize {
    id.bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) as usize
        % agents
}

// ---------------------------------------------------------------------------------------------
// Webhooks

/// An event id as the generator keeps it: a 64-bit hash, so that its own bookkeeping (two sets
/// of every event id) does not grow the RSS the soak watches (kept as strings, roughly 100 bytes
/// an id in each set, an estimated 13 MiB over a 30-minute run of 68,000 events: 7 % of the RSS).
/// Collisions among ~10⁵ ids: ~10⁻⁹.
fn event_key(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

/// Event ids the webhook receiver got, and how many requests in all (retries and duplicates).
#[derive(Default)]
struct Received {
    ids: Mutex<HashSet<u64>>,
    requests: AtomicU64,
}

async fn receiver(received: Arc<Received>) -> String {
    use axum::{extract::State, http::HeaderMap, routing::post, Router};
    async fn hook(State(received): State<Arc<Received>>, headers: HeaderMap) -> &'static str {
        received.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
            received.ids.lock().unwrap().insert(event_key(id));
        }
        "ok"
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("receiver binds");
    let addr = listener.local_addr().expect("receiver address");
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(received);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/hook")
}

/// The events the webhook subscribes to, read from the event log as they are written.
struct Expected {
    ids: HashSet<u64>,
    cursor: String,
}

impl Expected {
    /// Reads the events written since the last call.
    async fn catch_up(&mut self, http: &reqwest::Client, base: &str) {
        loop {
            let response = http
                .get(format!(
                    "{base}/v1/events?types={}&limit=500&cursor={}",
                    WEBHOOK_EVENTS.join(","),
                    self.cursor
                ))
                .bearer_auth(OPERATOR_KEY)
                .send()
                .await
                .and_then(|r| r.error_for_status());
            let page: Value = match response {
                Ok(r) => r.json().await.expect("events JSON"),
                Err(e) => panic!("reading the event log: {e}"),
            };
            for event in page["data"].as_array().into_iter().flatten() {
                if let Some(id) = event["id"].as_str() {
                    self.ids.insert(event_key(id));
                }
            }
            if let Some(next) = page["next_cursor"].as_str() {
                self.cursor = next.to_owned();
            }
            if page["has_more"] != true {
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run

/// The allocator of the `sitechat` binary, so that RSS grows as it would in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let settings = Settings::from_env();
    if let Ok(filter) = std::env::var("SOAK_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let passed = runtime.block_on(soak(settings));
    if !passed {
        std::process::exit(1);
    }
}

async fn soak(settings: Settings) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("sitechat soak benchmark (loopback, server in-process; RSS and fds are the whole process's)");
    println!(
        "{} s; {} visitors (think time {}–{} ms, {} % ask for a person); {} agents; report every {} s; RSS baseline at {} s; {cores} cores shared by server and load",
        settings.seconds,
        settings.visitors,
        settings.think_ms / 2,
        settings.think_ms * 3 / 2,
        settings.handoff_percent,
        settings.agents,
        settings.report_seconds,
        settings.warmup_seconds,
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_key: Some(OPERATOR_KEY.to_owned().into()),
        rate_limits: false,
        allow_private_networks: true,
        allow_http_webhooks: true,
        ..Config::default()
    })
    .await
    .expect("server starts");
    let base = format!("http://{}", server.addr());
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client");
    let setup = |method: Method, path: &str, body: Value| {
        let request = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(OPERATOR_KEY)
            .json(&body);
        async move {
            let response = request.send().await.expect("set-up request");
            let status = response.status();
            let body: Value = response.json().await.expect("set-up JSON");
            assert!(status.is_success(), "set-up: {status} {body}");
            body
        }
    };

    // A small bot trained on text, and the webhook endpoint.
    let bot = setup(Method::POST, "/v1/bots", json!({"name": "Soak shop"})).await;
    let bot = bot["id"].as_str().expect("bot id").to_owned();
    let source = setup(
        Method::POST,
        &format!("/v1/bots/{bot}/sources/text"),
        json!({"title": "Shop FAQ", "content": FAQ}),
    )
    .await;
    let received = Arc::new(Received::default());
    let hook_url = receiver(received.clone()).await;
    setup(
        Method::POST,
        "/v1/webhooks",
        json!({"url": hook_url, "events": WEBHOOK_EVENTS}),
    )
    .await;
    let check = setup(
        Method::POST,
        &format!("/v1/bots/{bot}/chat"),
        json!({"message": QUESTIONS[0]}),
    )
    .await;
    println!(
        "bot: {} passages; \"{}\" → {} ({})",
        source["chunks_created"], QUESTIONS[0], check["reply"], check["outcome"]
    );
    assert_eq!(check["outcome"], "answered", "the bot answers: {check}");

    let started = Instant::now();
    let load = Arc::new(Load {
        http: http.clone(),
        base: base.clone(),
        bot,
        stats: Stats::new(),
        deadline: started + Duration::from_secs(settings.seconds),
        stop: AtomicBool::new(false),
        settings,
    });
    let settings = &load.settings;
    let visitors: Vec<_> = (0..settings.visitors)
        .map(|v| tokio::spawn(visitor(load.clone(), v)))
        .collect();
    let agents_done = Arc::new(AtomicBool::new(false));
    let agents: Vec<_> = (0..settings.agents)
        .map(|a| tokio::spawn(agent(load.clone(), a, settings.agents, agents_done.clone())))
        .collect();

    let mut expected = Expected {
        ids: HashSet::new(),
        cursor: String::new(),
    };
    // (seconds, RSS kB, fds), one sample every SAMPLE_EVERY.
    let mut samples: Vec<(u64, u64, usize)> = vec![(0, process_usage().0, process_usage().1)];
    let mut next_sample = SAMPLE_EVERY;
    let mut next_report = Duration::from_secs(settings.report_seconds);
    let mut requests_before = 0;
    println!(
        "{:>7}  {:>9} {:>8}  {:>6}  {:>9} {:>9}  {:>9}  {:>5}  {:>17}",
        "elapsed",
        "requests",
        "(+)",
        "errors",
        "p50 ms",
        "p99 ms",
        "RSS MiB",
        "fds",
        "webhooks got/exp"
    );
    while !load.stopped() {
        let now = started.elapsed();
        let wake = next_sample.min(next_report);
        if now < wake {
            tokio::time::sleep(wake - now).await;
            continue;
        }
        if now >= next_sample {
            let (rss, fds) = process_usage();
            samples.push((now.as_secs(), rss, fds));
            next_sample += SAMPLE_EVERY;
        }
        if now >= next_report {
            expected.catch_up(&http, &base).await;
            let (p50, p99) = {
                let mut h = load.stats.interval.lock().unwrap();
                let p = (h.percentile_ms(50.0), h.percentile_ms(99.0));
                h.clear();
                p
            };
            let requests = load.stats.requests.load(Ordering::Relaxed);
            let (rss, fds) = process_usage();
            println!(
                "{:>6}s  {:>9} {:>8}  {:>6}  {:>9.1} {:>9.1}  {:>9.1}  {:>5}  {:>8}/{:<8}",
                now.as_secs(),
                requests,
                format!("+{}", requests - requests_before),
                load.stats.errors.load(Ordering::Relaxed),
                p50,
                p99,
                mib(rss),
                fds,
                received.ids.lock().unwrap().len(),
                expected.ids.len()
            );
            requests_before = requests;
            next_report += Duration::from_secs(settings.report_seconds);
        }
    }
    let load_time = started.elapsed();

    // The visitors finish the request they are in (each bounded by its timeout); the agents empty
    // the queue once more; then the receiver gets its time to catch up.
    for v in visitors {
        v.await.expect("visitor task");
    }
    agents_done.store(true, Ordering::Relaxed);
    for a in agents {
        a.await.expect("agent task");
    }
    let drain_started = Instant::now();
    loop {
        expected.catch_up(&http, &base).await;
        let missing = {
            let got = received.ids.lock().unwrap();
            expected.ids.iter().filter(|id| !got.contains(*id)).count()
        };
        if missing == 0 || drain_started.elapsed() >= DRAIN {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let drain = drain_started.elapsed();
    let (rss_end, fds_end) = process_usage();
    samples.push((started.elapsed().as_secs(), rss_end, fds_end));
    server.stop().await.expect("server stops");

    // Summary.
    let stats = &load.stats;
    let requests = stats.requests.load(Ordering::Relaxed);
    let errors = stats.errors.load(Ordering::Relaxed);
    let (p50, p99) = {
        let h = stats.total.lock().unwrap();
        (h.percentile_ms(50.0), h.percentile_ms(99.0))
    };
    let got = received.ids.lock().unwrap();
    let lost = expected.ids.iter().filter(|id| !got.contains(*id)).count();
    let unexpected = got.iter().filter(|id| !expected.ids.contains(*id)).count();
    let baseline = samples
        .iter()
        .find(|(s, _, _)| *s >= settings.warmup_seconds)
        .copied();
    let (rss_growth, rss_line) = match baseline {
        Some((at, base_rss, _)) => {
            let peak = samples
                .iter()
                .filter(|(s, _, _)| *s >= at)
                .map(|(_, r, _)| *r)
                .max()
                .unwrap_or(base_rss);
            let growth = peak as f64 / base_rss.max(1) as f64 - 1.0;
            (
                growth,
                format!(
                    "RSS: {:.1} MiB at start, {:.1} MiB at {at} s (baseline), peak after it {:.1} MiB, at the end {:.1} MiB: growth {:+.1} %",
                    mib(samples[0].1),
                    mib(base_rss),
                    mib(peak),
                    mib(rss_end),
                    growth * 100.0
                ),
            )
        }
        None => (f64::NAN, "RSS: no sample after the warm-up".to_owned()),
    };
    let fds_peak = samples.iter().map(|s| s.2).max().unwrap_or(0);
    println!();
    println!(
        "load: {:.0} s, {requests} requests ({:.1}/s), {} conversations, {} asked for a person, {} taken over; replies: {} answered, {} fallback",
        load_time.as_secs_f64(),
        requests as f64 / load_time.as_secs_f64(),
        stats.conversations.load(Ordering::Relaxed),
        stats.handoffs_asked.load(Ordering::Relaxed),
        stats.takeovers.load(Ordering::Relaxed),
        stats.answered.load(Ordering::Relaxed),
        stats.fallbacks.load(Ordering::Relaxed),
    );
    println!("latency over the whole run: p50 {p50:.1} ms, p99 {p99:.1} ms");
    println!("{rss_line}");
    println!(
        "open fds: {} at start, peak {fds_peak}, {fds_end} at the end",
        samples[0].2
    );
    println!(
        "webhooks: {} events expected, {} received ({} requests in all), {lost} lost, {unexpected} not in the event log; drained in {:.1} s",
        expected.ids.len(),
        got.len(),
        received.requests.load(Ordering::Relaxed),
        drain.as_secs_f64()
    );
    for sample in stats.error_samples.lock().unwrap().iter() {
        println!("  error: {sample}");
    }
    let floors = [
        ("0 errors", errors == 0, format!("{errors} errors")),
        (
            "0 webhook deliveries lost",
            lost == 0,
            format!("{lost} lost"),
        ),
        (
            "RSS growth ≤ 10 % after the warm-up",
            rss_growth <= MAX_RSS_GROWTH,
            format!("{:+.1} %", rss_growth * 100.0),
        ),
    ];
    let mut passed = true;
    for (floor, ok, value) in &floors {
        println!("{} {floor}: {value}", if *ok { "PASS" } else { "FAIL" });
        passed &= ok;
    }
    println!("soak {}", if passed { "PASSED" } else { "FAILED" });
    passed
}
