//! The real binary, as an operator runs it: graceful shutdown on SIGTERM, a training job that
//! survives `kill -9` mid-crawl and ends with exactly the chunks of an uninterrupted run, and a
//! backup taken under write load that restores every acknowledged message and the same answers.

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

fn start(data_dir: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitechat"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("SITECHAT_ADMIN_KEY", KEY)
        .env("SITECHAT_ALLOW_PRIVATE_NETWORKS", "true")
        .env("SITECHAT_CRAWL__DELAY_MS", "0")
        .env("SITECHAT_CRAWL__MAX_PAGES", "1000")
        .env("SITECHAT_ALLOW_HTTP_WEBHOOKS", "true")
        .env("SITECHAT_LOG", "warn")
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
        Some(json!({"name": "Lyon Shop"})),
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
                        reply_id: reply["message_id"].as_str().unwrap().to_owned(),
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
