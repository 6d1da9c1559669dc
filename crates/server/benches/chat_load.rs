//! Loopback load benchmark: a real sitechat server in-process on 127.0.0.1, a bot with 1,000
//! passages of synthetic help-centre text, and a closed-loop load generator comparing `GET /health`
//! (the cheapest request the server answers) with `POST /v1/bots/{id}/chat` (retrieval, answer
//! composition and two stored messages per request).
//!
//! `BENCH_PASSAGES` (1,000) sets the bot's size, in tens. Up to 5,000 passages the passages are
//! embedded by the real model as they are added. Above that, embedding them would take hours on
//! a small machine, so they are added with embeddings off, given random unit vectors, and the
//! server is restarted with the model on: retrieval is hybrid at full cost (the question and the
//! sentences of the best passages are embedded by the real model, the dense search covers every
//! vector), but the dense half of the ranking is noise. Their sentences are marked as embedded
//! with no vector stored (storing them would take about 1.5 kB a sentence): questions embed them
//! as before sentences were stored at ingest, the dearer path. `BENCH_PASSAGES=100000` is the
//! large run.
//!
//! ```text
//! cargo bench -p sitechat-server --bench chat_load
//! ```
//!
//! Settings (environment variables): `BENCH_CONCURRENCY` (8 concurrent clients),
//! `BENCH_CHAT_REQUESTS` (2,000 per run), `BENCH_HEALTH_REQUESTS` (5,000 per run) and
//! `BENCH_RUNS` (3 runs of each workload, alternating), `BENCH_QUESTIONS` (200 distinct
//! questions, asked in turn across the warm-up and the runs: with more questions than requests,
//! every question is new and its embedding is computed, as with real visitors). Every run is also cut off after 60 s.
//! `BENCH_LOG` (e.g. `error` or `sitechat_server=debug`) shows the server's log on stderr.
//! `BENCH_WEBHOOK_BACKLOG` (10,000): after the measured runs, that many webhook deliveries are
//! queued to an endpoint that hangs then fails, and the chat runs are repeated next to it (0
//! skips this).
//! The medians are written to `target/bench/chat_load.json` (`chat_load-N.json` for N passages).
//!
//! `req/s` counts every completed request, `ok/s` only the 200s; the latencies are those of every
//! request that got a response, whatever its status. Errors are counted and sampled in the output.
//!
//! The server and the load generator share one Tokio runtime (and the machine's cores), so the
//! numbers are for comparing workloads and versions on one machine, not a capacity figure. The
//! allocator is mimalloc, as in the `sitechat` binary (until 2026-12-07 it was glibc's malloc).

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sitechat_core::config::Config;
use sitechat_server::Server;

const OPERATOR_KEY: &str = "sk_bench_operator_0123456789abcdef";
/// Hard limit on one measured run (and on each warm-up).
const RUN_TIME_LIMIT: Duration = Duration::from_secs(60);
/// Limit on a single request, so that one stuck request cannot hold a run forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const WARMUP_REQUESTS: usize = 100;
const SECTIONS_PER_SOURCE: usize = 10;
/// Above this many passages, passage vectors are synthetic (see the module documentation).
const REAL_VECTORS_UP_TO: usize = 5_000;
/// Sources added at the same time while building the bot.
const INGEST_CONCURRENCY: usize = 4;
/// Distinct questions asked, in turn (`BENCH_QUESTIONS`): with more questions than requests,
/// none is asked twice and every question is embedded afresh.
const QUESTIONS: usize = 200;
/// Chat questions asked one by one (outside the measurements) to check that answers come back.
const ANSWER_CHECK: usize = 20;

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    concurrency: usize,
    chat_requests: usize,
    health_requests: usize,
    runs: usize,
    /// Distinct questions, asked in turn across the runs.
    questions: usize,
    /// Webhook deliveries queued to a hanging endpoint before the chat runs are repeated (0: skip).
    webhook_backlog: usize,
    /// Passages in the bot (a multiple of `SECTIONS_PER_SOURCE`).
    passages: usize,
}

fn env_count(name: &str, default: usize) -> usize {
    env_number(name, default, 1)
}

fn env_number(name: &str, default: usize, least: usize) -> usize {
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
        Settings {
            concurrency: env_count("BENCH_CONCURRENCY", 8),
            chat_requests: env_count("BENCH_CHAT_REQUESTS", 2_000),
            health_requests: env_count("BENCH_HEALTH_REQUESTS", 5_000),
            runs: env_count("BENCH_RUNS", 3),
            questions: env_count("BENCH_QUESTIONS", QUESTIONS),
            webhook_backlog: env_number("BENCH_WEBHOOK_BACKLOG", 10_000, 0),
            passages: {
                let n = env_count("BENCH_PASSAGES", 1_000);
                assert!(
                    n.is_multiple_of(SECTIONS_PER_SOURCE),
                    "BENCH_PASSAGES must be a multiple of {SECTIONS_PER_SOURCE}"
                );
                n
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic help-centre content

/// A small deterministic generator (Knuth's MMIX LCG); good enough to vary text.
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Self {
        let mut lcg = Lcg(seed ^ 0x9e37_79b9_7f4a_7c15);
        lcg.next();
        lcg
    }

    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// Two different items.
    fn pick_two<'a>(&mut self, items: &'a [&'a str]) -> (&'a str, &'a str) {
        let a = self.below(items.len());
        let b = (a + 1 + self.below(items.len() - 1)) % items.len();
        (items[a], items[b])
    }
}

const PRODUCTS: &[&str] = &[
    "Aurora kettle",
    "Nimbus backpack",
    "Cobalt desk lamp",
    "Falcon e-bike",
    "Juniper yoga mat",
    "Orbit smart speaker",
    "Pioneer tent",
    "Summit hiking boots",
    "Tidal water bottle",
    "Velvet armchair",
    "Zephyr fan",
    "Ember toaster",
    "Harbor raincoat",
    "Lumen reading light",
    "Maple cutting board",
    "Nova headphones",
    "Quartz wristwatch",
    "Ridge trekking poles",
    "Solstice sunglasses",
    "Terra plant pot",
    "Canopy umbrella",
    "Vista camera",
    "Willow bed linen",
    "Atlas suitcase",
    "Breeze air purifier",
];

const PLACES: &[&str] = &[
    "Lyon", "Berlin", "Madrid", "Lisbon", "Vienna", "Dublin", "Prague", "Oslo", "Milan", "Ghent",
    "Porto", "Zurich", "Krakow", "Seville", "Bordeaux", "Hamburg", "Turin", "Valencia", "Utrecht",
    "Salzburg",
];

const WEEKDAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

const COUNTRIES: &[&str] = &[
    "France",
    "Germany",
    "Spain",
    "Italy",
    "Portugal",
    "Austria",
    "Belgium",
    "the Netherlands",
    "Poland",
    "Ireland",
    "Sweden",
    "Denmark",
];

const PAYMENT_METHODS: &[&str] = &[
    "Visa",
    "Mastercard",
    "PayPal",
    "bank transfer",
    "Apple Pay",
    "Google Pay",
    "Klarna instalments",
    "gift cards",
];

const POLICIES: &[&str] = &[
    "price match guarantee",
    "loyalty programme",
    "student discount",
    "trade-in programme",
    "gift card policy",
    "privacy policy",
    "recycling scheme",
    "corporate discount",
];

const COLOURS: &[&str] = &[
    "charcoal",
    "sand",
    "forest green",
    "navy",
    "terracotta",
    "white",
    "mustard",
    "slate blue",
];

const MATERIALS: &[&str] = &[
    "recycled aluminium",
    "oak",
    "organic cotton",
    "stainless steel",
    "bamboo",
    "recycled polyester",
    "ceramic",
    "vegetable-tanned leather",
];

const LANDMARKS: &[&str] = &[
    "the central station",
    "the old market hall",
    "the cathedral",
    "the river bridge",
    "the university library",
    "the main square",
];

fn price(rng: &mut Lcg) -> String {
    const CENTS: [u32; 5] = [0, 49, 90, 95, 99];
    format!(
        "{}.{:02} euros",
        5 + rng.below(400),
        CENTS[rng.below(CENTS.len())]
    )
}

fn phone(rng: &mut Lcg) -> String {
    format!(
        "+33 {} {:02} {:02} {:02} {:02}",
        1 + rng.below(9),
        rng.below(100),
        rng.below(100),
        rng.below(100),
        rng.below(100)
    )
}

/// Kinds of section [`section`] writes.
const TOPICS: usize = 12;

/// One help-centre section on topic `topic` (< [`TOPICS`]): a heading and 2–4 sentences (always
/// well under one passage's length).
fn section(rng: &mut Lcg, place: &str, topic: usize) -> String {
    let product = rng.pick(PRODUCTS);
    let (day1, day2) = rng.pick_two(WEEKDAYS);
    let (colour1, colour2) = rng.pick_two(COLOURS);
    let (heading, sentences): (String, Vec<String>) = match topic {
        0 => (
            format!("Opening hours in {place}"),
            vec![
                format!(
                    "Our {place} store is open Monday to Friday from {}am to {}pm.",
                    8 + rng.below(3),
                    5 + rng.below(4)
                ),
                format!(
                    "On {day1} we open from {}am to {}pm.",
                    9 + rng.below(2),
                    3 + rng.below(3)
                ),
                format!("The store is closed on {day2} and on public holidays."),
                format!(
                    "During the December sales the {place} store stays open until {}pm every day.",
                    8 + rng.below(2)
                ),
            ],
        ),
        1 => (
            format!("{product} price"),
            vec![
                format!(
                    "The {product} costs {} including VAT.",
                    price(rng)
                ),
                format!("It is available in {colour1} and {colour2}."),
                format!(
                    "Members of our {} pay {}% less.",
                    rng.pick(POLICIES),
                    5 + 5 * rng.below(3)
                ),
                format!("Prices in the {place} store are the same as online."),
            ],
        ),
        2 => (
            format!("Returning a {product}"),
            vec![
                format!(
                    "You can return an unused {product} within {} days of delivery for a full refund.",
                    [14, 30, 60][rng.below(3)]
                ),
                "Refunds are paid to the original payment method within 5 business days."
                    .to_owned(),
                format!(
                    "Returns can also be dropped off at the {place} store on any day except {day2}."
                ),
                "Please keep the original packaging and the receipt.".to_owned(),
            ],
        ),
        3 => {
            let country = rng.pick(COUNTRIES);
            let fast = 1 + rng.below(3);
            (
                format!("Shipping to {country}"),
                vec![
                    format!(
                        "Standard delivery to {country} takes {fast} to {} working days and costs {}.",
                        fast + 2 + rng.below(3),
                        price(rng)
                    ),
                    format!(
                        "Orders over {} euros ship free of charge.",
                        [40, 50, 75, 100][rng.below(4)]
                    ),
                    format!("Express delivery arrives the next working day if you order before {}pm.", 1 + rng.below(4)),
                    "Every parcel can be tracked from your account.".to_owned(),
                ],
            )
        }
        4 => (
            format!("{product} warranty"),
            vec![
                format!(
                    "Every {product} comes with a {}-year warranty against manufacturing defects.",
                    1 + rng.below(5)
                ),
                "The warranty does not cover accidental damage or normal wear.".to_owned(),
                format!(
                    "To make a claim, bring the {product} and the receipt to the {place} store."
                ),
                "You can extend the warranty by two years when you register your purchase online."
                    .to_owned(),
            ],
        ),
        5 => {
            let (method1, method2) = rng.pick_two(PAYMENT_METHODS);
            (
                format!("Paying with {method1}"),
                vec![
                    format!("We accept {method1} online and in the {place} store."),
                    format!("{method2} can be used for orders over {}.", price(rng)),
                    "Your card is only charged when the order ships.".to_owned(),
                    "We never store full card numbers on our servers.".to_owned(),
                ],
            )
        }
        6 => {
            let policy = rng.pick(POLICIES);
            (
                format!("Our {policy}"),
                vec![
                    format!(
                        "Our {policy} applies to every order placed online or in a store."
                    ),
                    format!(
                        "For example, the {product} qualifies for it until the end of the season."
                    ),
                    format!("Ask at the {place} store desk or write to our support team to join."),
                    format!(
                        "The {policy} cannot be combined with other offers on {day1}s."
                    ),
                ],
            )
        }
        7 => (
            format!("Parking at the {place} store"),
            vec![
                format!(
                    "The {place} store has {} free parking spaces behind the building.",
                    10 + rng.below(90)
                ),
                format!(
                    "The store is a {}-minute walk from {}.",
                    2 + rng.below(12),
                    rng.pick(LANDMARKS)
                ),
                format!("On {day1} the car park closes one hour before the store."),
                "Bicycle racks are next to the main entrance.".to_owned(),
            ],
        ),
        8 => {
            let material = rng.pick(MATERIALS);
            (
                format!("Caring for your {product}"),
                vec![
                    format!(
                        "The {product} is made of {material}, so clean it with a soft damp cloth."
                    ),
                    "Do not use bleach or abrasive sponges.".to_owned(),
                    format!("Store your {product} in a dry place away from direct sunlight."),
                    format!(
                        "Replacement parts are sold in the {place} store for {}.",
                        price(rng)
                    ),
                ],
            )
        }
        9 => (
            format!("Click and collect in {place}"),
            vec![
                format!(
                    "Orders placed before {}pm can be collected at the {place} store the next day.",
                    1 + rng.below(5)
                ),
                format!("Collection is free and available every day except {day2}."),
                "Bring the confirmation email and a photo ID.".to_owned(),
                format!(
                    "Unclaimed orders are returned after {} days.",
                    7 + rng.below(8)
                ),
            ],
        ),
        10 => (
            format!("Contacting the {place} store"),
            vec![
                format!(
                    "You can call the {place} team on {} from {day1} to {day2}.",
                    phone(rng)
                ),
                format!(
                    "Write to {}@shop.example and we reply within {} hours.",
                    place.to_lowercase(),
                    [4, 12, 24, 48][rng.below(4)]
                ),
                "Our live chat is staffed during opening hours.".to_owned(),
                format!("The {place} store manager can also help with large orders."),
            ],
        ),
        _ => (
            format!("Repairs for the {product}"),
            vec![
                format!(
                    "We repair a broken {product} for a flat fee of {}.",
                    price(rng)
                ),
                format!(
                    "Repairs take about {} working days at our {place} workshop.",
                    3 + rng.below(10)
                ),
                "Repairs under warranty are free of charge.".to_owned(),
                format!("A loan {product} is available while yours is being repaired."),
            ],
        ),
    };
    let keep = 2 + rng.below(3);
    let body = sentences[..keep].join(" ");
    format!("# {heading}\n\n{body}\n")
}

/// `sources` help-centre pages of `SECTIONS_PER_SOURCE` sections each: (title, content). A page
/// is about one place and has no two sections on the same topic, so its headings differ (sections
/// under the same heading would be one passage).
fn help_centre(sources: usize) -> Vec<(String, String)> {
    const _: () = assert!(SECTIONS_PER_SOURCE <= TOPICS);
    let mut rng = Lcg::new(2024);
    (0..sources)
        .map(|i| {
            let place = PLACES[i % PLACES.len()];
            let title = format!("{place} help centre, page {}", i / PLACES.len() + 1);
            let mut topics: Vec<usize> = (0..TOPICS).collect();
            for k in (1..TOPICS).rev() {
                topics.swap(k, rng.below(k + 1));
            }
            let content = topics[..SECTIONS_PER_SOURCE]
                .iter()
                .map(|&topic| section(&mut rng, place, topic))
                .collect::<Vec<_>>()
                .join("\n");
            (title, content)
        })
        .collect()
}

/// Visitor questions drawn from the same vocabularies.
fn questions(count: usize) -> Vec<String> {
    let mut rng = Lcg::new(7);
    let mut rng2 = Lcg::new(8);
    let mut seen = std::collections::HashSet::new();
    (0..count * 20)
        .map(|_| {
            let product = rng.pick(PRODUCTS);
            let place = rng.pick(PLACES);
            let weekday = rng.pick(WEEKDAYS);
            match rng.below(14) {
                0 => format!("What are the opening hours in {place} on {weekday}?"),
                1 => format!("How much does the {product} cost?"),
                2 => format!("Can I return a {product}?"),
                3 => format!("How long does shipping to {} take?", rng.pick(COUNTRIES)),
                4 => format!("Is there a warranty on the {product}?"),
                5 => format!("Can I pay with {}?", rng.pick(PAYMENT_METHODS)),
                6 => format!("Where can I park at the {place} store?"),
                7 => format!("How do I clean my {product}?"),
                8 => format!("Can I collect my order in {place} on {weekday}?"),
                9 => format!("What is the phone number of the {place} store?"),
                10 => format!("Do you repair a broken {product}?"),
                11 => format!("How does your {} work?", rng.pick(POLICIES)),
                12 => format!("Is the {place} store open on {weekday}?"),
                _ => format!("Which colours does the {product} come in?"),
            }
        })
        // More than these few hundred wordings: questions that name two or three things at once.
        .chain((0..count * 20).map(|_| {
            let product = rng2.pick(PRODUCTS);
            let place = rng2.pick(PLACES);
            match rng2.below(3) {
                0 => format!(
                    "Can I collect a {product} in {place} on {}?",
                    rng2.pick(WEEKDAYS)
                ),
                1 => format!(
                    "Can I pay for the {product} with {} in {place}?",
                    rng2.pick(PAYMENT_METHODS)
                ),
                _ => format!(
                    "How long does shipping a {product} to {} take?",
                    rng2.pick(COUNTRIES)
                ),
            }
        }))
        .filter(|q| seen.insert(q.clone()))
        .take(count)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Load generation

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Health,
    Chat,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Health => "health",
            Workload::Chat => "chat",
        }
    }
}

struct Target {
    client: reqwest::Client,
    health_url: String,
    chat_url: String,
    questions: Vec<String>,
    /// Questions asked so far, across runs: the next one to ask.
    asked: AtomicUsize,
}

/// One measured run.
struct RunStats {
    /// Requests that completed (with any status, or a transport error).
    completed: usize,
    /// Non-200 responses plus transport errors.
    errors: usize,
    elapsed: Duration,
    /// Latency of every request that got a response, sorted.
    latencies: Vec<Duration>,
    /// The time limit cut the run short.
    stopped_early: bool,
    /// A few error descriptions, for the report.
    error_samples: Vec<String>,
}

impl RunStats {
    fn rps(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    /// Successful (200) requests per second.
    fn ok_rps(&self) -> f64 {
        (self.completed - self.errors) as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile, in milliseconds.
    fn percentile_ms(&self, p: f64) -> f64 {
        let n = self.latencies.len();
        if n == 0 {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.latencies[rank.clamp(1, n) - 1].as_secs_f64() * 1_000.0
    }
}

struct TaskResult {
    latencies: Vec<Duration>,
    completed: usize,
    errors: usize,
    error_samples: Vec<String>,
}

/// `concurrency` tasks send requests back to back until `total` have been sent or the time limit
/// has passed.
async fn run_load(
    target: &Arc<Target>,
    workload: Workload,
    total: usize,
    concurrency: usize,
) -> RunStats {
    let next = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let deadline = start + RUN_TIME_LIMIT;
    let tasks: Vec<_> = (0..concurrency.min(total))
        .map(|_| {
            let target = target.clone();
            let next = next.clone();
            let stopped = stopped.clone();
            tokio::spawn(async move {
                let mut result = TaskResult {
                    latencies: Vec::with_capacity(total / concurrency + 1),
                    completed: 0,
                    errors: 0,
                    error_samples: Vec::new(),
                };
                loop {
                    if Instant::now() >= deadline {
                        stopped.store(true, Ordering::Relaxed);
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let request = match workload {
                        Workload::Health => target.client.get(&target.health_url),
                        Workload::Chat => target
                            .client
                            .post(&target.chat_url)
                            .bearer_auth(OPERATOR_KEY)
                            .json(&json!({
                                "message": target.questions
                                    [target.asked.fetch_add(1, Ordering::Relaxed) % target.questions.len()]
                            })),
                    };
                    let sent = Instant::now();
                    let outcome = match request.send().await {
                        Ok(response) => {
                            let status = response.status();
                            match response.bytes().await {
                                Ok(body) => Ok((status, body)),
                                Err(e) => Err(format!("reading the body: {e}")),
                            }
                        }
                        Err(e) => Err(format!("sending: {e}")),
                    };
                    let latency = sent.elapsed();
                    result.completed += 1;
                    let error = match outcome {
                        Ok((status, body)) => {
                            result.latencies.push(latency);
                            (status != StatusCode::OK).then(|| {
                                let text = String::from_utf8_lossy(&body);
                                let snippet: String = text.chars().take(200).collect();
                                format!("{status}: {snippet}")
                            })
                        }
                        Err(e) => Some(e),
                    };
                    if let Some(error) = error {
                        result.errors += 1;
                        if result.error_samples.len() < 3 {
                            result.error_samples.push(error);
                        }
                    }
                }
                result
            })
        })
        .collect();

    let mut stats = RunStats {
        completed: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(total),
        stopped_early: false,
        error_samples: Vec::new(),
    };
    for task in tasks {
        let result = task.await.expect("load task panicked");
        stats.completed += result.completed;
        stats.errors += result.errors;
        stats.latencies.extend(result.latencies);
        for sample in result.error_samples {
            if stats.error_samples.len() < 5 {
                stats.error_samples.push(sample);
            }
        }
    }
    stats.elapsed = start.elapsed();
    stats.stopped_early = stopped.load(Ordering::Relaxed);
    stats.latencies.sort_unstable();
    stats
}

// ---------------------------------------------------------------------------------------------
// Reporting

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

struct Summary {
    rps: f64,
    ok_rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn summarise(runs: &[RunStats]) -> Summary {
    Summary {
        rps: median(runs.iter().map(RunStats::rps).collect()),
        ok_rps: median(runs.iter().map(RunStats::ok_rps).collect()),
        p50_ms: median(runs.iter().map(|r| r.percentile_ms(50.0)).collect()),
        p99_ms: median(runs.iter().map(|r| r.percentile_ms(99.0)).collect()),
    }
}

fn run_line(label: &str, run: &RunStats) -> String {
    format!(
        "{label:<10} {:>9} {:>7} {:>9.2} {:>10.1} {:>10.1} {:>9.2} {:>9.2}{}",
        run.completed,
        run.errors,
        run.elapsed.as_secs_f64(),
        run.rps(),
        run.ok_rps(),
        run.percentile_ms(50.0),
        run.percentile_ms(99.0),
        if run.stopped_early {
            "  (stopped at the time limit)"
        } else {
            ""
        }
    )
}

fn print_table(workload: Workload, runs: &[RunStats], summary: &Summary) {
    println!();
    println!("{}", workload.name());
    println!(
        "{:<10} {:>9} {:>7} {:>9} {:>10} {:>10} {:>9} {:>9}",
        "run", "requests", "errors", "time (s)", "req/s", "ok/s", "p50 (ms)", "p99 (ms)"
    );
    for (i, run) in runs.iter().enumerate() {
        println!("{}", run_line(&format!("{}", i + 1), run));
    }
    println!(
        "{:<10} {:>9} {:>7} {:>9} {:>10.1} {:>10.1} {:>9.2} {:>9.2}",
        "median", "", "", "", summary.rps, summary.ok_rps, summary.p50_ms, summary.p99_ms
    );
}

fn runs_json(runs: &[RunStats]) -> Value {
    runs.iter()
        .map(|r| {
            json!({
                "requests": r.completed,
                "errors": r.errors,
                "seconds": r.elapsed.as_secs_f64(),
                "rps": r.rps(),
                "ok_rps": r.ok_rps(),
                "p50_ms": r.percentile_ms(50.0),
                "p99_ms": r.percentile_ms(99.0),
                "stopped_early": r.stopped_early,
            })
        })
        .collect()
}

fn workload_json(requests_per_run: usize, runs: &[RunStats], summary: &Summary) -> Value {
    json!({
        "requests_per_run": requests_per_run,
        "median_rps": summary.rps,
        "median_ok_rps": summary.ok_rps,
        "median_p50_ms": summary.p50_ms,
        "median_p99_ms": summary.p99_ms,
        "errors": runs.iter().map(|r| r.errors).sum::<usize>(),
        "runs": runs_json(runs),
    })
}

/// The workspace's `target` directory: `CARGO_TARGET_DIR` if set, else the directory above this
/// executable marked with Cargo's `CACHEDIR.TAG`, else `<workspace>/target`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe
            .ancestors()
            .skip(1)
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        {
            return dir.to_path_buf();
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

// ---------------------------------------------------------------------------------------------

/// Adds the pages as text sources, a few at a time; returns the passages created.
async fn ingest(
    client: &reqwest::Client,
    base: &str,
    bot_id: &str,
    pages: &[(String, String)],
) -> usize {
    let url = format!("{base}/v1/bots/{bot_id}/sources/text");
    let mut total = 0;
    for batch in pages.chunks(INGEST_CONCURRENCY) {
        let mut tasks = tokio::task::JoinSet::new();
        for (title, content) in batch {
            let (title, content) = (title.clone(), content.clone());
            let (client, url) = (client.clone(), url.clone());
            tasks.spawn(async move {
                let response = client
                    .post(&url)
                    .bearer_auth(OPERATOR_KEY)
                    .json(&json!({"title": title, "content": content}))
                    .send()
                    .await
                    .expect("add text source");
                let status = response.status();
                let body: Value = response.json().await.expect("source JSON");
                assert_eq!(status, StatusCode::CREATED, "adding {title:?}: {body}");
                let created = body["chunks_created"].as_u64().expect("chunks_created") as usize;
                assert_eq!(
                    created, SECTIONS_PER_SOURCE,
                    "{title:?} should make one passage per section"
                );
                created
            });
        }
        while let Some(created) = tasks.join_next().await {
            total += created.expect("ingest task");
        }
    }
    total
}

/// Gives every passage of the bot a random unit vector (see the module documentation).
async fn synthetic_vectors(server: &Server, bot_id: &str) -> u64 {
    let store = &server.state().store;
    let bot = sitechat_core::BotId::parse(bot_id).expect("bot id");
    let model = sitechat_server::models::EmbeddingModel::MiniLm.name();
    let mut rng = Lcg::new(99);
    let mut saved = 0;
    loop {
        let chunks = store
            .chunks_to_embed(&bot, model, 2_000)
            .await
            .expect("chunks to embed");
        if chunks.is_empty() {
            return saved;
        }
        // No stored sentence vectors, and nothing left for the background to embed.
        let sentences: Vec<(sitechat_core::ChunkId, sitechat_store::SentenceVectors)> =
            chunks.iter().map(|c| (c.id.clone(), Vec::new())).collect();
        let vectors: Vec<(sitechat_core::ChunkId, Vec<f32>)> = chunks
            .into_iter()
            .map(|c| {
                let v: Vec<f32> = (0..384)
                    .map(|_| (rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                (c.id, v.into_iter().map(|x| x / norm).collect())
            })
            .collect();
        saved += store
            .save_vectors(&bot, model, &vectors)
            .await
            .expect("save vectors");
        store
            .save_sentence_vectors(&bot, model, &sentences)
            .await
            .expect("save sentence vectors");
    }
}

/// The allocator of the `sitechat` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let settings = Settings::from_env();
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench(settings));
}

async fn bench(settings: Settings) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("sitechat chat_load benchmark (loopback, server in-process)");
    println!(
        "available parallelism: {cores}; tokio worker threads: {cores} (server and load generator share them)"
    );
    println!(
        "concurrency: {}; requests per run: health {}, chat {}; runs: {}; warm-up: {} each; time limit per run: {} s",
        settings.concurrency,
        settings.health_requests,
        settings.chat_requests,
        settings.runs,
        WARMUP_REQUESTS,
        RUN_TIME_LIMIT.as_secs()
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let synthetic = settings.passages > REAL_VECTORS_UP_TO;
    let config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_key: Some(OPERATOR_KEY.to_owned().into()),
        rate_limits: false,
        // The backlog phase delivers webhooks to a receiver on loopback.
        allow_private_networks: true,
        allow_http_webhooks: true,
        ..Config::default()
    };
    let mut server = Server::start(Config {
        embeddings: config.embeddings && !synthetic,
        ..config.clone()
    })
    .await
    .expect("server starts");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client");

    // A bot with `passages` passages.
    let base = format!("http://{}", server.addr());
    let response = client
        .post(format!("{base}/v1/bots"))
        .bearer_auth(OPERATOR_KEY)
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .expect("create bot");
    let status = response.status();
    let body: Value = response.json().await.expect("bot JSON");
    assert_eq!(status, StatusCode::CREATED, "creating the bot: {body}");
    let bot_id = body["id"].as_str().expect("bot id").to_owned();

    let pages = help_centre(settings.passages / SECTIONS_PER_SOURCE);
    let characters: usize = pages.iter().map(|(_, c)| c.chars().count()).sum();
    let ingest_started = Instant::now();
    let passages = ingest(&client, &base, &bot_id, &pages).await;
    let ingest = ingest_started.elapsed();
    assert_eq!(passages, settings.passages, "passages created");
    println!(
        "ingest: {} sources, {passages} passages, {characters} characters in {:.2} s ({:.1} sources/s, {:.0} passages/s){}",
        pages.len(),
        ingest.as_secs_f64(),
        pages.len() as f64 / ingest.as_secs_f64(),
        passages as f64 / ingest.as_secs_f64(),
        if synthetic {
            ", embeddings off"
        } else {
            ", embedded as added"
        }
    );
    if !synthetic && config.embeddings {
        // The sentences of sources over a few passages are embedded in the background: measure
        // nothing until they are.
        let started = Instant::now();
        let bot = sitechat_core::BotId::parse(&bot_id).expect("bot id");
        let model = sitechat_server::models::EmbeddingModel::MiniLm.name();
        let store = &server.state().store;
        while store
            .bots_to_embed(model)
            .await
            .expect("bots to embed")
            .iter()
            .any(|b| b.id == bot)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!(
            "sentences: embedded in the background {:.2} s after the ingest",
            started.elapsed().as_secs_f64()
        );
    }
    if synthetic && config.embeddings {
        let started = Instant::now();
        let saved = synthetic_vectors(&server, &bot_id).await;
        server.stop().await.expect("server stops");
        server = Server::start(config.clone())
            .await
            .expect("server restarts");
        println!(
            "synthetic vectors: {saved} random unit vectors saved, server restarted with the model in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let addr = server.addr();
    assert!(
        addr.ip().is_loopback(),
        "the benchmark only talks to loopback"
    );
    let base = format!("http://{addr}");
    let health: Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("health JSON");
    println!(
        "retrieval: {}{}",
        health["models"]["retrieval"].as_str().unwrap_or("?"),
        if synthetic {
            " (passage vectors synthetic)"
        } else {
            ""
        }
    );

    let target = Arc::new(Target {
        client: client.clone(),
        health_url: format!("{base}/health"),
        chat_url: format!("{base}/v1/bots/{bot_id}/chat"),
        questions: questions(settings.questions),
        asked: AtomicUsize::new(0),
    });
    println!("distinct questions: {}", target.questions.len());

    // Warm-up, then check (outside any measurement) that questions get real answers.
    for workload in [Workload::Health, Workload::Chat] {
        let warm = run_load(&target, workload, WARMUP_REQUESTS, settings.concurrency).await;
        println!(
            "warm-up {}: {} requests, {} errors",
            workload.name(),
            warm.completed,
            warm.errors
        );
        for sample in &warm.error_samples {
            println!("  error: {sample}");
        }
    }
    let mut outcomes: Vec<(String, usize)> = Vec::new();
    let mut example = None;
    for question in target
        .questions
        .iter()
        .step_by((target.questions.len() / ANSWER_CHECK).max(1))
    {
        let response = client
            .post(&target.chat_url)
            .bearer_auth(OPERATOR_KEY)
            .json(&json!({"message": question}))
            .send()
            .await
            .expect("chat");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let outcome = if status == StatusCode::OK {
            body["outcome"].as_str().unwrap_or("?").to_owned()
        } else {
            format!("HTTP {status}")
        };
        if example.is_none() && outcome == "answered" {
            example = Some((
                question.clone(),
                body["reply"].as_str().unwrap_or("").to_owned(),
            ));
        }
        match outcomes.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, n)) => *n += 1,
            None => outcomes.push((outcome, 1)),
        }
    }
    let tally: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
    println!(
        "answer check ({} of the {} questions, one at a time): {}",
        outcomes.iter().map(|(_, n)| n).sum::<usize>(),
        target.questions.len(),
        tally.join(", ")
    );
    if let Some((question, reply)) = example {
        let reply: String = reply.chars().take(160).collect();
        println!("  e.g. {question:?} -> {reply:?}");
    }

    // Measured runs, alternating.
    let mut health_runs = Vec::new();
    let mut chat_runs = Vec::new();
    for run in 1..=settings.runs {
        for workload in [Workload::Health, Workload::Chat] {
            let total = match workload {
                Workload::Health => settings.health_requests,
                Workload::Chat => settings.chat_requests,
            };
            let stats = run_load(&target, workload, total, settings.concurrency).await;
            println!(
                "run {run}/{} {:<6}: {}",
                settings.runs,
                workload.name(),
                run_line("", &stats).trim_start()
            );
            for sample in &stats.error_samples {
                println!("  error: {sample}");
            }
            match workload {
                Workload::Health => health_runs.push(stats),
                Workload::Chat => chat_runs.push(stats),
            }
        }
    }

    // The same chat workload with a backlog of webhook deliveries to an endpoint that hangs and
    // then fails: the outbox rows are written in the chat's transaction, the deliveries never.
    let mut backlog_runs = Vec::new();
    let mut backlog_size = 0;
    if settings.webhook_backlog > 0 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("receiver binds");
        let receiver = listener.local_addr().expect("receiver address");
        tokio::spawn(async move {
            let app = axum::Router::new().fallback(|| async {
                tokio::time::sleep(Duration::from_secs(8)).await;
                StatusCode::SERVICE_UNAVAILABLE
            });
            let _ = axum::serve(listener, app).await;
        });
        let response = client
            .post(format!("{base}/v1/webhooks"))
            .bearer_auth(OPERATOR_KEY)
            .json(&json!({"url": format!("http://{receiver}/hook"), "events": ["*"]}))
            .send()
            .await
            .expect("create webhook");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "creating the webhook"
        );
        // Each new conversation's first message records three events: started, received, sent.
        let chats = settings.webhook_backlog.div_ceil(3);
        let built = run_load(&target, Workload::Chat, chats, settings.concurrency).await;
        backlog_size = built.completed * 3;
        println!("webhook backlog: {} chats queued about {backlog_size} deliveries to an endpoint that hangs 8 s then fails", built.completed);
        for run in 1..=settings.runs {
            let stats = run_load(
                &target,
                Workload::Chat,
                settings.chat_requests,
                settings.concurrency,
            )
            .await;
            println!(
                "run {run}/{} chat with backlog: {}",
                settings.runs,
                run_line("", &stats).trim_start()
            );
            backlog_runs.push(stats);
        }
    }

    server.stop().await.expect("server stops");
    drop(dir);

    let health = summarise(&health_runs);
    let chat = summarise(&chat_runs);
    print_table(Workload::Health, &health_runs, &health);
    print_table(Workload::Chat, &chat_runs, &chat);
    if !backlog_runs.is_empty() {
        let backlog = summarise(&backlog_runs);
        println!();
        println!(
            "chat with a backlog of about {backlog_size} webhook deliveries to a hanging endpoint"
        );
        print_table(Workload::Chat, &backlog_runs, &backlog);
        println!(
            "with backlog / without (medians): req/s {:.3}, p50 {:.2}x, p99 {:.2}x",
            backlog.rps / chat.rps,
            backlog.p50_ms / chat.p50_ms,
            backlog.p99_ms / chat.p99_ms
        );
    }
    let rps_ratio = chat.rps / health.rps;
    let p50_ratio = chat.p50_ms / health.p50_ms;
    println!();
    println!("chat / health (medians): req/s {rps_ratio:.3}, p50 latency {p50_ratio:.2}x");
    if health_runs
        .iter()
        .chain(&chat_runs)
        .any(|r| r.stopped_early)
    {
        println!(
            "note: at least one run was stopped at the {} s time limit",
            RUN_TIME_LIMIT.as_secs()
        );
    }
    let errors: usize = health_runs.iter().chain(&chat_runs).map(|r| r.errors).sum();
    if errors > 0 {
        println!(
            "WARNING: {errors} requests failed (see the error lines above). req/s and the latencies \
             count failed requests too, and failures are usually fast: compare ok/s, and do not \
             read the figures as the server's performance until the errors are fixed."
        );
    }

    let report = json!({
        "benchmark": "chat_load",
        "available_parallelism": cores,
        "concurrency": settings.concurrency,
        "runs": settings.runs,
        "warmup_requests": WARMUP_REQUESTS,
        "time_limit_seconds": RUN_TIME_LIMIT.as_secs(),
        "passages": passages,
        "synthetic_vectors": synthetic,
        "questions": target.questions.len(),
        "ingest_seconds": ingest.as_secs_f64(),
        "health": workload_json(settings.health_requests, &health_runs, &health),
        "chat": workload_json(settings.chat_requests, &chat_runs, &chat),
        "chat_over_health": {"rps": rps_ratio, "p50": p50_ratio},
    });
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir).expect("create target/bench");
    let path = out_dir.join(if passages == 1_000 {
        "chat_load.json".to_owned()
    } else {
        format!("chat_load-{passages}.json")
    });
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).expect("report JSON") + "\n",
    )
    .expect("write the report");
    println!("written: {}", path.display());
}
