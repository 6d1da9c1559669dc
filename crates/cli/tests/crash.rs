//! The real binary, as an operator runs it: graceful shutdown on SIGTERM, a training job that
//! survives `kill -9` mid-crawl and ends with exactly the chunks of an uninterrupted run, and
//! keyed chat requests that survive `kill -9` mid-answer: retried, each text is stored once with
//! one reply; and a backup taken under write load that restores every acknowledged message and
//! the same answers.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};

const KEY: &str = "sk_cli_test_operator_0123456789";
const PAGES: usize = 300;

struct Running {
    child: Child,
    base: String,
}

/// A server a test started is killed when the test ends, even by a failed assertion.
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitechat"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("SITECHAT_ADMIN_KEY", KEY)
        .env("SITECHAT_ALLOW_PRIVATE_NETWORKS", "true")
        .env("SITECHAT_CRAWL__DELAY_MS", "0")
        .env("SITECHAT_CRAWL__MAX_PAGES", "1000")
        .env("SITECHAT_ALLOW_HTTP_WEBHOOKS", "true")
        .env("SITECHAT_CHANNEL_RETRY_SCHEDULE", "100ms,200ms,300ms")
        .env("SITECHAT_LOG", "warn")
        // The tests' own knob, which the server would refuse as an unknown setting.
        .env_remove("SITECHAT_TEST_KILL_AFTER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Running { child, base }
}

/// After how many events a test kills the server: a random point in `range`, or
/// `SITECHAT_TEST_KILL_AFTER` to repeat a run.
fn kill_point(range: std::ops::Range<usize>) -> usize {
    std::env::var("SITECHAT_TEST_KILL_AFTER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as usize;
            range.start + nanos % range.len()
        })
}

async fn site() -> String {
    use axum::{extract::Path, response::Html, routing::get, Router};
    async fn page(Path(n): Path<usize>) -> Html<String> {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let links: String = [2 * n + 1, 2 * n + 2]
            .iter()
            .filter(|&&m| m < PAGES)
            .map(|m| format!("<a href=\"/p/{m}\">page {m}</a>"))
            .collect();
        Html(format!(
            "<html><head><title>Product {n}</title></head><body><nav>{links}</nav><main><h1>Product {n}</h1>\
             <p>Product number {n} is the model with reference R-{n}. It ships in {d} days and costs {p} euros.</p>\
             <p>Its warranty covers {w} years of normal use.</p></main></body></html>",
            d = n % 7 + 1,
            p = 10 + n,
            w = n % 5 + 1
        ))
    }
    let app = Router::new()
        .route("/", get(|| async { Html("<html><body><main><h1>Catalogue</h1><p>All our products.</p><a href=\"/p/0\">first</a></main></body></html>") }))
        .route("/p/{n}", get(page));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new().request(method, url).bearer_auth(KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

async fn job(base: &str, id: &str) -> Value {
    call(reqwest::Method::GET, format!("{base}/v1/jobs/{id}"), None).await
}

async fn wait_until(base: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let j = job(base, id).await;
        if done(&j) {
            return j;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "job stuck: {j}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every (url, chunk count) of a bot's sources.
async fn pages(base: &str, bot: &str) -> Vec<(String, u64)> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = call(
            reqwest::Method::GET,
            format!("{base}/v1/bots/{bot}/sources?limit=100{cursor}"),
            None,
        )
        .await;
        for s in page["data"].as_array().unwrap() {
            all.push((
                s["url"]
                    .as_str()
                    .or(s["title"].as_str())
                    .unwrap()
                    .to_owned(),
                s["chunks"].as_u64().unwrap(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    all.sort();
    all
}

async fn train(base: &str, url: &str) -> (String, String) {
    let bot = call(
        reqwest::Method::POST,
        format!("{base}/v1/bots"),
        Some(json!({"name": "catalogue", "website_url": url})),
    )
    .await;
    (
        bot["id"].as_str().unwrap().to_owned(),
        bot["last_job_id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_killed_mid_crawl_resumes_and_matches_an_uninterrupted_run() {
    let url = site().await;

    let reference_dir = tempfile::tempdir().unwrap();
    let mut reference = start(reference_dir.path());
    let (bot, id) = train(&reference.base, &url).await;
    let done = wait_until(&reference.base, &id, |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let expected = pages(&reference.base, &bot).await;
    assert_eq!(expected.len(), PAGES + 1);
    reference.child.kill().unwrap();
    reference.child.wait().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut first = start(dir.path());
    let (bot, id) = train(&first.base, &url).await;
    let before = wait_until(&first.base, &id, |j| {
        j["pages_indexed"].as_u64().unwrap_or(0) >= 40
    })
    .await;
    first.child.kill().unwrap(); // SIGKILL: no graceful anything.
    first.child.wait().unwrap();
    assert_eq!(before["state"], "running", "killed mid-crawl: {before}");

    let mut second = start(dir.path());
    let done = wait_until(&second.base, &id, |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(done["attempts"].as_u64().unwrap() >= 2, "{done}");
    let resumed = pages(&second.base, &bot).await;
    assert_eq!(
        resumed, expected,
        "same pages, same chunks, none duplicated or missing"
    );

    // The resumed pages answer right away, while the bot still embeds them in the background:
    // a page without its vector yet is found by its words and its number.
    let answer = call(
        reqwest::Method::POST,
        format!("{}/v1/bots/{bot}/chat", second.base),
        Some(json!({"message": "What is the warranty of product 123?"})),
    )
    .await;
    assert!(
        answer["reply"]
            .as_str()
            .unwrap()
            .contains("Product number 123")
            || answer["sources"][0]["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/p/123#product-123")),
        "{answer}"
    );

    // SIGTERM stops the server gracefully, with a zero exit code.
    let status = Command::new("kill")
        .args(["-TERM", &second.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = second.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_commands_ingest_files_and_follow_training() {
    let url = site().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let bot = call(
        reqwest::Method::POST,
        format!("{}/v1/bots", server.base),
        Some(json!({"name": "cli"})),
    )
    .await;
    let bot = bot["id"].as_str().unwrap().to_owned();

    let csv = dir.path().join("stores.csv");
    std::fs::write(&csv, "city,hours\nLyon,9 to 6\nGrenoble,10 to 7\n").unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sitechat"))
            .args(args)
            .args(["--server", &server.base, "--key", KEY])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = run(&["ingest", csv.to_str().unwrap(), "--bot", &bot]);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("stores.csv") && stdout.contains("2 of 2 rows"),
        "{stdout}"
    );

    let (ok, stdout, stderr) = run(&["ingest", "/no/such/file.pdf", "--bot", &bot]);
    assert!(!ok && stderr.contains("cannot read"), "{stdout}{stderr}");

    call(
        reqwest::Method::PATCH,
        format!("{}/v1/bots/{bot}", server.base),
        Some(json!({"website_url": url})),
    )
    .await;
    let (ok, stdout, stderr) = run(&["bots", "train", &bot, "--wait"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("succeeded"), "{stdout}");
    let sources = pages(&server.base, &bot).await;
    assert_eq!(
        sources.len(),
        PAGES + 2,
        "the site's pages and the spreadsheet"
    );

    server.child.kill().unwrap();
    server.child.wait().unwrap();

    // Keys are managed offline, in the data directory.
    let out = Command::new(env!("CARGO_BIN_EXE_sitechat"))
        .args([
            "keys",
            "create",
            "--name",
            "ops",
            "--scopes",
            "read",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let secret = line.split_whitespace().nth(1).unwrap().to_owned();
    assert!(secret.starts_with("sk_"));
    let mut server = start(dir.path());
    let response = reqwest::Client::new()
        .get(format!("{}/v1/bots", server.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = reqwest::Client::new()
        .post(format!("{}/v1/bots", server.base))
        .bearer_auth(&secret)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "a read key cannot create");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// A job that was running each time the process died is resumed at most twice (the default of
/// `max_job_resumes`), then fails with `crashed_the_server` instead of holding the server in a
/// crash loop; the bot can be trained again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_at_three_kills_fails_as_crashed_the_server() {
    let url = site().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let (bot, id) = train(&server.base, &url).await;
    for kill in 1..=3 {
        let running = wait_until(&server.base, &id, |j| {
            j["state"] == "running" && j["attempts"].as_u64() == Some(kill)
        })
        .await;
        server.child.kill().unwrap(); // SIGKILL, as a crash would end it.
        server.child.wait().unwrap();
        assert_eq!(running["state"], "running", "kill {kill}: {running}");
        server = start(dir.path());
    }
    let failed = job(&server.base, &id).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.starts_with("crashed_the_server: "), "{error}");
    assert!(error.contains("resumed 2 times"), "{error}");

    let again = call(
        reqwest::Method::POST,
        format!("{}/v1/bots/{bot}/train", server.base),
        Some(json!({})),
    )
    .await;
    assert_ne!(again["id"], failed["id"], "a new training job: {again}");
    assert!(matches!(
        again["state"].as_str(),
        Some("queued" | "running")
    ));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// How many keyed chat requests the crash test sends, and how many at a time.
const CHATS: usize = 100;
const SHOP_FAQ: &str = "# Opening hours\n\nOur shop in Lyon is open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 4pm.\n\n# Returns\n\nYou can return any unused item within 30 days of delivery for a full refund. Refunds are paid to the original card within 5 business days.\n\n# Shipping\n\nWe ship to every country in the European Union. Standard delivery takes 3 to 5 working days.";
const CHATS_AT_ONCE: usize = 16;

/// The text of keyed chat request `i` (each one different).
fn question(i: usize) -> String {
    let topics = [
        "When are you open on Saturdays?",
        "Can I return an item I bought?",
        "How long does delivery take?",
        "Do you ship to Spain?",
        "When are refunds paid?",
    ];
    format!("{} (question {i})", topics[i % topics.len()])
}

/// Sends keyed chat request `i` (every fourth one streamed). Returns whether it was a replay and
/// the response (for a stream: its `done` event), or why it did not arrive.
async fn keyed_chat(
    client: &reqwest::Client,
    base: &str,
    bot: &str,
    i: usize,
) -> Result<(bool, Value), String> {
    let stream = i.is_multiple_of(4);
    let response = client
        .post(format!("{base}/v1/bots/{bot}/chat"))
        .bearer_auth(KEY)
        .header("Idempotency-Key", format!("chat-{i}"))
        .json(&json!({"message": question(i), "stream": stream}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {text}"));
    }
    if !stream {
        return serde_json::from_str(&text)
            .map(|body| (replayed, body))
            .map_err(|e| e.to_string());
    }
    // The stream's last event is `done`, with the whole response.
    let last = text
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .last()
        .unwrap_or_default();
    if !last.lines().any(|l| l == "event: done") {
        return Err(format!("the stream did not end with `done`: {text}"));
    }
    let data: String = last
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    serde_json::from_str(&data)
        .map(|body| (replayed, body))
        .map_err(|e| e.to_string())
}

/// Sends keyed chat requests `0..CHATS`, `CHATS_AT_ONCE` at a time; calls `arrived` with the
/// number of responses so far as each arrives.
async fn keyed_chats(
    base: &str,
    bot: &str,
    arrived: impl Fn(usize) + Send + Sync + 'static,
) -> Vec<Result<(bool, Value), String>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(CHATS_AT_ONCE));
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let arrived = std::sync::Arc::new(arrived);
    let mut tasks = Vec::new();
    for i in 0..CHATS {
        let (client, base, bot) = (client.clone(), base.to_owned(), bot.to_owned());
        let (slots, count, arrived) = (slots.clone(), count.clone(), arrived.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await.unwrap();
            let result = keyed_chat(&client, &base, &bot, i).await;
            if result.is_ok() {
                arrived(count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1);
            }
            result
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// Every message of a bot's conversations, conversation by conversation: (id, role, text).
async fn transcripts(base: &str, bot: &str) -> Vec<Vec<(String, String, String)>> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = call(
            reqwest::Method::GET,
            format!("{base}/v1/conversations?bot_id={bot}&limit=100{cursor}"),
            None,
        )
        .await;
        for c in page["data"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let messages = call(
                reqwest::Method::GET,
                format!("{base}/v1/conversations/{id}/messages?limit=100"),
                None,
            )
            .await;
            all.push(
                messages["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        let field = |k: &str| m[k].as_str().unwrap().to_owned();
                        (field("id"), field("role"), field("text"))
                    })
                    .collect(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_chat_requests_killed_mid_answer_are_stored_once_with_one_reply_after_their_retries()
{
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path());
    let bot = call(
        reqwest::Method::POST,
        format!("{}/v1/bots", first.base),
        Some(json!({"name": "shop"})),
    )
    .await;
    let bot = bot["id"].as_str().unwrap().to_owned();
    call(
        reqwest::Method::POST,
        format!("{}/v1/bots/{bot}/sources/text", first.base),
        Some(json!({"title": "FAQ", "content": SHOP_FAQ})),
    )
    .await;

    // The kill comes after a random number of responses.
    let kill_after = kill_point(1..1 + CHATS / 2);
    let first_base = first.base.clone();
    let child = std::sync::Arc::new(std::sync::Mutex::new(first));
    let killer = child.clone();
    let started = Instant::now();
    let before = keyed_chats(&first_base, &bot, move |arrived| {
        if arrived == kill_after {
            // SIGKILL: no graceful anything; the requests in flight die with the server.
            let mut first = killer.lock().unwrap();
            first.child.kill().unwrap();
            first.child.wait().unwrap();
        }
    })
    .await;
    assert!(
        child.lock().unwrap().child.try_wait().unwrap().is_some(),
        "the server was killed before all {CHATS} responses came"
    );
    let answered = before.iter().filter(|r| r.is_ok()).count();
    assert!(answered < CHATS, "some requests were cut off by the kill");

    let second = start(dir.path());
    let stored = transcripts(&second.base, &bot).await;
    let visitor_ids: std::collections::HashSet<String> = stored
        .iter()
        .flatten()
        .filter(|(_, role, _)| role == "visitor")
        .map(|(id, _, _)| id.clone())
        .collect();
    let unanswered = stored.iter().filter(|c| c.len() == 1).count();

    let after = keyed_chats(&second.base, &bot, |_| {}).await;
    let mut replayed = 0;
    let mut finished = 0;
    for (i, result) in after.iter().enumerate() {
        let (was_replayed, body) = result.as_ref().unwrap_or_else(|e| panic!("retry {i}: {e}"));
        assert!(body["reply"].is_string(), "retry {i}: {body}");
        if *was_replayed {
            replayed += 1;
        } else if visitor_ids.contains(body["visitor_message_id"].as_str().unwrap()) {
            finished += 1;
        }
    }
    println!(
        "killed after {answered} of {CHATS} responses (kill_after = {kill_after}): {} messages were stored, \
         {unanswered} of them without a reply; on retry {replayed} were replayed, {finished} finished \
         a stored message, {} ran anew ({:.1} s)",
        visitor_ids.len(),
        CHATS - replayed - finished,
        started.elapsed().as_secs_f64()
    );
    // Every request whose response arrived is replayed; one whose reply was stored but whose
    // response was still on its way when the server was killed is replayed too.
    for (i, (first, retry)) in before.iter().zip(&after).enumerate() {
        if first.is_ok() {
            assert!(
                retry.as_ref().is_ok_and(|(was_replayed, _)| *was_replayed),
                "retry {i}: its first response arrived, so it is replayed"
            );
        }
    }
    assert!(
        replayed >= answered,
        "every response that arrived is replayed ({replayed} of {answered})"
    );

    // Every text once, each with exactly one reply (one conversation each).
    let transcripts = transcripts(&second.base, &bot).await;
    let mut texts: Vec<String> = transcripts
        .iter()
        .flatten()
        .filter(|(_, role, _)| role == "visitor")
        .map(|(_, _, text)| text.clone())
        .collect();
    texts.sort();
    let stored_texts = texts.len();
    texts.dedup();
    let duplicates = stored_texts - texts.len();
    let missing = (0..CHATS)
        .filter(|&i| texts.binary_search(&question(i)).is_err())
        .count();
    let not_one_reply = transcripts
        .iter()
        .filter(|c| {
            c.iter()
                .map(|(_, role, _)| role.as_str())
                .collect::<Vec<_>>()
                != ["visitor", "bot"]
        })
        .count();
    println!(
        "after the retries: {stored_texts} texts stored, {duplicates} of them duplicates, \
         {missing} texts missing; {not_one_reply} of {} conversations without exactly one visitor \
         message and one reply",
        transcripts.len()
    );
    assert_eq!(duplicates, 0, "every text stored exactly once");
    assert_eq!(missing, 0, "every text stored");
    assert_eq!(not_one_reply, 0, "each text with exactly one reply");
    let mut second = second;
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}

#[test]
fn a_configuration_error_prints_its_message_alone_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sitechat"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("SITECHAT_NOT_A_SETTING", "1")
        // Even when backtraces are asked for (as in many shells), a user error is its message.
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: invalid configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("not_a_setting"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// Runs the binary to its end: (success, stdout, stderr).
fn sitechat(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitechat"))
        .args(args)
        .env("SITECHAT_LOG", "warn")
        // As an operator runs it: backtraces are for developers who ask for them.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A webhook receiver on loopback that keeps every request's headers and body.
async fn receiver() -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>) {
    use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};
    type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;
    async fn hook(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> &'static str {
        seen.lock().unwrap().push((headers, body.to_vec()));
        "ok"
    }
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/hooks", post(hook))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks"), seen)
}

/// Every message of a conversation, oldest first.
async fn history(base: &str, conversation: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = call(
            reqwest::Method::GET,
            format!("{base}/v1/conversations/{conversation}/messages?limit=100{cursor}"),
            None,
        )
        .await;
        all.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    all
}

/// One message the write load sent and the server acknowledged (2xx), with when each happened.
struct Sent {
    text: String,
    conversation: String,
    reply_id: String,
    sent: Instant,
    acknowledged: Instant,
}

const WRITERS: usize = 4;
/// Messages per writer at most: the load is bounded even if the backup never ends.
const WRITES_EACH: usize = 150;
const WEBHOOK_SECRET: &str = "whsec_backup_test_secret_0123456789";
const QUESTION: &str = "How long do refunds take?";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_every_acknowledged_message_and_the_same_answers()
{
    let (hook_url, seen) = receiver().await;
    let work = tempfile::tempdir().unwrap();
    let original_dir = work.path().join("original");
    let mut original = start(&original_dir);
    let base = original.base.clone();

    let bot = call(
        reqwest::Method::POST,
        format!("{base}/v1/bots"),
        // The load's messages carry words the knowledge never uses ("visitor 3 message 7"), so
        // some are declined: a run of declines must not hand the conversations to a person,
        // whose conversations the bot no longer answers.
        Some(json!({"name": "Lyon Shop", "settings": {"handoff_after_fallbacks": 0}})),
    )
    .await;
    let bot = bot["id"].as_str().unwrap().to_owned();
    call(
        reqwest::Method::POST,
        format!("{base}/v1/bots/{bot}/sources/text"),
        Some(json!({"title": "Shop FAQ", "content": "# Opening hours\n\nOur shop is open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 4pm.\n\n# Returns\n\nYou can return any unused item within 30 days. Refunds are paid within 5 business days.\n\n# Delivery\n\nParcels leave our warehouse in Lyon within 24 hours and arrive in 2 to 3 days."})),
    )
    .await;
    // A sealed secret: signing needs it back, so it only works with the data directory's key.
    let webhook = call(
        reqwest::Method::POST,
        format!("{base}/v1/webhooks"),
        Some(json!({"url": hook_url, "events": ["lead.captured"], "secret": WEBHOOK_SECRET})),
    )
    .await;
    let webhook = webhook["id"].as_str().unwrap().to_owned();
    let before = call(
        reqwest::Method::POST,
        format!("{base}/v1/bots/{bot}/chat"),
        Some(json!({"message": QUESTION})),
    )
    .await;
    assert_eq!(before["outcome"], "answered", "{before}");

    // The write load: keyed chat messages from a few visitors, each in their own conversation.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (base, bot, stop, acknowledged) = (
                base.clone(),
                bot.clone(),
                stop.clone(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut sent = Vec::new();
                let mut conversation: Option<String> = None;
                for i in 0..WRITES_EACH {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let text = format!("visitor {w} message {i}: when do you open on Saturdays?");
                    let mut body = json!({"message": text});
                    if let Some(c) = &conversation {
                        body["conversation_id"] = json!(c);
                    }
                    let sent_at = Instant::now();
                    let response = http
                        .post(format!("{base}/v1/bots/{bot}/chat"))
                        .bearer_auth(KEY)
                        .header("Idempotency-Key", format!("load-{w}-{i}"))
                        .timeout(Duration::from_secs(30))
                        .json(&body)
                        .send()
                        .await;
                    let Ok(response) = response else { continue };
                    if !response.status().is_success() {
                        continue;
                    }
                    let Ok(reply) = response.json::<Value>().await else {
                        continue;
                    };
                    let acknowledged_at = Instant::now();
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                    let c = reply["conversation_id"].as_str().unwrap().to_owned();
                    conversation = Some(c.clone());
                    sent.push(Sent {
                        text,
                        conversation: c,
                        reply_id: reply["message_id"]
                            .as_str()
                            .unwrap_or_else(|| panic!("no message_id: {reply}"))
                            .to_owned(),
                        sent: sent_at,
                        acknowledged: acknowledged_at,
                    });
                }
                sent
            })
        })
        .collect();
    let waiting = Instant::now();
    while acknowledged.load(Ordering::SeqCst) < 20 {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "the load does not get going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let file = work.path().join("sitechat.tar");
    let backup_started = Instant::now();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let (file, dir) = (file.clone(), original_dir.clone());
        move || {
            sitechat(&[
                "backup",
                file.to_str().unwrap(),
                "--data-dir",
                dir.to_str().unwrap(),
            ])
        }
    })
    .await
    .unwrap();
    let backup_ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let mut sent = Vec::new();
    for writer in writers {
        sent.extend(writer.await.unwrap());
    }
    original.child.kill().unwrap();
    original.child.wait().unwrap();
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("backup written to"), "{stdout}");
    // Requests in flight while the backup ran: sent before it ended, answered after it started.
    let during = sent
        .iter()
        .filter(|s| s.sent < backup_ended && s.acknowledged > backup_started)
        .count();
    assert!(
        during >= WRITERS,
        "every writer was writing while the backup ran ({} ms; {} acknowledged in all, {} before)",
        (backup_ended - backup_started).as_millis(),
        sent.len(),
        sent.iter()
            .filter(|s| s.acknowledged < backup_started)
            .count()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the backup holds secrets");
    }

    // A backup is never written over, and a data directory in use is never restored over.
    let (ok, _, stderr) = sitechat(&[
        "backup",
        file.to_str().unwrap(),
        "--data-dir",
        original_dir.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    let (ok, _, stderr) = sitechat(&[
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        original_dir.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("is not empty") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
    // What is not a backup, or is damaged, is refused before anything is written.
    let junk = work.path().join("junk.tar");
    std::fs::write(&junk, "not an archive at all\n".repeat(100)).unwrap();
    let scratch = work.path().join("scratch");
    let (ok, _, stderr) = sitechat(&[
        "restore",
        junk.to_str().unwrap(),
        "--data-dir",
        scratch.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("is not a sitechat backup"),
        "{stderr}"
    );
    let mut damaged = std::fs::read(&file).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    let damaged_file = work.path().join("damaged.tar");
    std::fs::write(&damaged_file, damaged).unwrap();
    let (ok, _, stderr) = sitechat(&[
        "restore",
        damaged_file.to_str().unwrap(),
        "--data-dir",
        scratch.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("damaged"), "{stderr}");
    assert!(!scratch.join("sitechat.db").exists());

    let restored_dir = work.path().join("restored");
    let (ok, stdout, stderr) = sitechat(&[
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        restored_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("rebuilt 1 bot index(es)"), "{stdout}");
    let restored = start(&restored_dir);
    let base = restored.base.clone();

    // Every message acknowledged before the backup started is there, with the bot's reply.
    let acknowledged_before: Vec<_> = sent
        .iter()
        .filter(|s| s.acknowledged < backup_started)
        .collect();
    assert!(acknowledged_before.len() >= 20);
    let mut histories = std::collections::HashMap::new();
    for s in &acknowledged_before {
        if !histories.contains_key(&s.conversation) {
            let h = history(&base, &s.conversation).await;
            histories.insert(s.conversation.clone(), h);
        }
        let h = &histories[&s.conversation];
        assert!(
            h.iter()
                .any(|m| m["role"] == "visitor" && m["text"] == s.text.as_str()),
            "lost: {}",
            s.text
        );
        assert!(
            h.iter().any(|m| m["id"] == s.reply_id.as_str()),
            "lost the reply to: {}",
            s.text
        );
    }

    // The same question gets the same answer from the rebuilt index.
    let after = call(
        reqwest::Method::POST,
        format!("{base}/v1/bots/{bot}/chat"),
        Some(json!({"message": QUESTION})),
    )
    .await;
    assert_eq!(after["reply"], before["reply"]);
    assert_eq!(after["outcome"], before["outcome"]);
    assert_eq!(after["sources"], before["sources"]);

    // The webhook secret, sealed under the restored key, still signs.
    seen.lock().unwrap().clear();
    call(
        reqwest::Method::POST,
        format!("{base}/v1/webhooks/{webhook}/test"),
        None,
    )
    .await;
    let waiting = Instant::now();
    let (headers, body) = loop {
        let test = seen
            .lock()
            .unwrap()
            .iter()
            .find(|(_, body)| {
                serde_json::from_slice::<Value>(body).is_ok_and(|v| v["type"] == "webhook.test")
            })
            .cloned();
        if let Some(test) = test {
            break test;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "the restored server delivers the test webhook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(&body);
    assert_eq!(
        headers["x-webhook-signature"].to_str().unwrap(),
        hex::encode(mac.finalize().into_bytes()),
        "signed with the secret given at creation"
    );
    let mut restored = restored;
    restored.child.kill().unwrap();
    restored.child.wait().unwrap();
}

/// `sitechat users create` with the password on standard input: (success, stdout, stderr).
fn create_user(
    data_dir: &std::path::Path,
    email: &str,
    role: &str,
    password: &str,
) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitechat"))
        .args([
            "users",
            "create",
            "--email",
            email,
            "--name",
            "Olga",
            "--role",
            role,
            "--data-dir",
        ])
        .arg(data_dir)
        .env("SITECHAT_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_first_owner_is_made_from_the_command_line_and_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let (ok, out, err) = create_user(dir.path(), "olga@example.org", "owner", "a long password 1");
    assert!(ok, "{err}");
    assert!(
        out.starts_with("usr_") && out.contains("olga@example.org\towner"),
        "{out}"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/v1/session", server.base))
        .json(&json!({"email": "olga@example.org", "password": "a long password 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("sitechat_session="));
    // What is wrong is said in one line, and nothing is made.
    for (email, role, password, says) in [
        (
            "olga@example.org",
            "owner",
            "a long password 1",
            "already signs in",
        ),
        (
            "new@example.org",
            "owner",
            "short",
            "at least 10 characters",
        ),
        (
            "new@example.org",
            "boss",
            "a long password 1",
            "is not a role",
        ),
        (
            "not-an-email",
            "agent",
            "a long password 1",
            "is not an email address",
        ),
    ] {
        let (ok, _, err) = create_user(dir.path(), email, role, password);
        assert!(!ok, "{email} {role}");
        assert!(err.contains(says), "{err}");
    }
    let (ok, out, _) = sitechat(&["users", "list", "--data-dir", dir.path().to_str().unwrap()]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    // An owner who forgot the password gets back in through a link the operator makes.
    let (ok, out, err) = sitechat(&[
        "users",
        "reset-link",
        "--email",
        "OLGA@example.org",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let path = out.trim();
    assert!(path.starts_with("/dashboard/reset/"), "{out}");
    let token = path.rsplit('/').next().unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/password-resets/{token}", server.base))
        .json(&json!({"password": "a new password 2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (ok, _, err) = sitechat(&[
        "users",
        "reset-link",
        "--email",
        "nobody@example.org",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not found"), "{err}");
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// A fake Telegram Bot API on loopback that records every send. While `hold` is set it keeps
/// each send waiting and then answers 503, so the test can kill the server at a moment when no
/// send is both accepted by the platform and not yet recorded as sent by the server. No messaging
/// platform takes an idempotency key on its sends: a send it accepted in the instant before a
/// `kill -9` cannot be told from one it never received, and sitechat sends it again (at least
/// once, never lost). Holding the platform is how the test puts the kill where that question
/// does not arise, and what it then counts is sitechat's own: nothing lost, nothing twice.
#[derive(Clone, Default)]
struct Telegram {
    /// Every send: (chat id, text, accepted).
    sends: Arc<Mutex<Vec<(String, String, bool)>>>,
    /// The last `setWebhook` body.
    webhook: Arc<Mutex<Value>>,
    hold: Arc<AtomicBool>,
}

impl Telegram {
    async fn start(&self) -> String {
        use axum::{body::Bytes, http::Uri, Json, Router};
        let state = self.clone();
        let app = Router::new().fallback(move |uri: Uri, body: Bytes| {
            let state = state.clone();
            async move {
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let path = uri.path();
                if path.ends_with("/setWebhook") {
                    *state.webhook.lock().unwrap() = body;
                    return (
                        axum::http::StatusCode::OK,
                        Json(json!({"ok": true, "result": true})),
                    );
                }
                if !path.ends_with("/sendMessage") {
                    return (
                        axum::http::StatusCode::OK,
                        Json(json!({"ok": true, "result": true})),
                    );
                }
                let chat = match &body["chat_id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let text = body["text"].as_str().unwrap_or_default().to_owned();
                if state.hold.load(Ordering::SeqCst) {
                    state.sends.lock().unwrap().push((chat, text, false));
                    while state.hold.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"ok": false, "error_code": 503, "description": "held"})),
                    );
                }
                let mut sends = state.sends.lock().unwrap();
                let id = sends.len();
                sends.push((chat, text.clone(), true));
                (
                    axum::http::StatusCode::OK,
                    Json(
                        json!({"ok": true, "result": {"message_id": 1000 + id, "date": 0,
                        "chat": {"id": body["chat_id"], "type": "private"}, "text": text}}),
                    ),
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn accepted(&self) -> Vec<(String, String)> {
        self.sends
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, accepted)| *accepted)
            .map(|(chat, text, _)| (chat.clone(), text.clone()))
            .collect()
    }
}

const TELEGRAM_USERS: i64 = 20;
const TELEGRAM_MESSAGES_EACH: i64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_messages_killed_between_receiving_and_replying_are_each_answered_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path());
    let telegram = Telegram::default();
    let api_base = telegram.start().await;
    let bot = call(
        reqwest::Method::POST,
        format!("{}/v1/bots", first.base),
        Some(json!({"name": "shop"})),
    )
    .await;
    let bot = bot["id"].as_str().unwrap().to_owned();
    call(
        reqwest::Method::POST,
        format!("{}/v1/bots/{bot}/sources/text", first.base),
        Some(json!({"title": "FAQ", "content": SHOP_FAQ})),
    )
    .await;
    let channel = call(
        reqwest::Method::POST,
        format!("{}/v1/bots/{bot}/channels", first.base),
        Some(json!({"kind": "telegram", "bot_token": "123:ABC", "api_base": api_base})),
    )
    .await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    let secret = telegram.webhook.lock().unwrap()["secret_token"]
        .as_str()
        .expect("setWebhook carries a secret token")
        .to_owned();

    // The kill comes after a random number of accepted sends.
    let total = (TELEGRAM_USERS * TELEGRAM_MESSAGES_EACH) as usize;
    let kill_after = kill_point(20..20 + total / 2);
    let base = Arc::new(Mutex::new(first.base.clone()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let questions = [
        "When are you open on Saturdays?",
        "How long do refunds take?",
        "Do you ship to Spain?",
        "Can I return an item I bought?",
    ];
    let mut users = Vec::new();
    for user in 0..TELEGRAM_USERS {
        let (base, client, secret, channel) = (
            base.clone(),
            client.clone(),
            secret.clone(),
            channel.clone(),
        );
        let telegram = telegram.clone();
        users.push(tokio::spawn(async move {
            let chat = 1000 + user;
            for n in 0..TELEGRAM_MESSAGES_EACH {
                // A visitor waits for the answer before asking the next question, so messages
                // keep arriving through the kill and the restart.
                let deadline = Instant::now() + Duration::from_secs(120);
                while (telegram.accepted().iter())
                    .filter(|(c, _)| *c == chat.to_string())
                    .count()
                    < n as usize
                {
                    assert!(Instant::now() < deadline, "user {user} got no answer {n}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let update_id = user * 100 + n;
                let body = json!({"update_id": update_id, "message": {"message_id": update_id,
                    "date": 1_700_000_000, "chat": {"id": chat, "type": "private"},
                    "from": {"id": chat, "is_bot": false, "first_name": "Ada"},
                    "text": questions[(n % 4) as usize]}});
                // Each update is delivered twice. Like Telegram, a delivery that gets no 200
                // (the server is dead or starting) is delivered again.
                for _ in 0..2 {
                    let deadline = Instant::now() + Duration::from_secs(120);
                    loop {
                        let url = format!("{}/channels/telegram/{channel}", base.lock().unwrap());
                        let sent = client
                            .post(url)
                            .header("X-Telegram-Bot-Api-Secret-Token", &secret)
                            .json(&body)
                            .send()
                            .await;
                        if sent.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
                            break;
                        }
                        assert!(
                            Instant::now() < deadline,
                            "update {update_id} never accepted"
                        );
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }));
    }

    let deadline = Instant::now() + Duration::from_secs(120);
    while telegram.accepted().len() < kill_after {
        assert!(Instant::now() < deadline, "no progress before the kill");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Hold the platform, let the sends it already accepted be recorded, then SIGKILL.
    telegram.hold.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let accepted_before = telegram.accepted().len();
    let held = telegram.sends.lock().unwrap().len() - accepted_before;
    telegram.hold.store(false, Ordering::SeqCst);

    let second = start(dir.path());
    // What the crash left: messages stored whose reply had not gone out.
    let stored = transcripts(&second.base, &bot).await;
    let stored_visitor = stored
        .iter()
        .flatten()
        .filter(|(_, role, _)| role == "visitor")
        .count();
    *base.lock().unwrap() = second.base.clone();
    for user in users {
        user.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while telegram.accepted().len() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Anything sent twice would come shortly after the last expected send.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let accepted = telegram.accepted();
    println!(
        "killed after {accepted_before} of {total} replies were accepted (kill_after = \
         {kill_after}), {held} sends held at the kill, {stored_visitor} visitor messages stored \
         by then; after the restart {} replies accepted ({:.1} s)",
        accepted.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        stored_visitor > accepted_before,
        "the kill came between receiving and replying: {stored_visitor} messages stored, \
         {accepted_before} replies out"
    );
    assert_eq!(
        accepted.len(),
        total,
        "each message answered once, none lost"
    );
    for user in 0..TELEGRAM_USERS {
        let chat = (1000 + user).to_string();
        let to_user = accepted.iter().filter(|(c, _)| *c == chat).count();
        assert_eq!(to_user, TELEGRAM_MESSAGES_EACH as usize, "user {user}");
    }
    // Stored: each question once, each with one reply, all of them sent.
    let transcripts = transcripts(&second.base, &bot).await;
    let visitor = transcripts
        .iter()
        .flatten()
        .filter(|(_, role, _)| role == "visitor")
        .count();
    let replies = transcripts
        .iter()
        .flatten()
        .filter(|(_, role, _)| role != "visitor")
        .count();
    assert_eq!((visitor, replies), (total, total), "none stored twice");
    let mut unsent = 0;
    for conversation in call(
        reqwest::Method::GET,
        format!("{}/v1/conversations?bot_id={bot}&limit=100", second.base),
        None,
    )
    .await["data"]
        .as_array()
        .unwrap()
    {
        unsent += history(&second.base, conversation["id"].as_str().unwrap())
            .await
            .iter()
            .filter(|m| m["role"] != "visitor" && m["status"] != "SENT")
            .count();
    }
    assert_eq!(unsent, 0, "every reply is marked sent");
    let mut second = second;
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}
