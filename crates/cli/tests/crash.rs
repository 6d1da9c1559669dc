//! The real binary, as an operator runs it: graceful shutdown on SIGTERM, and a training job that
//! survives `kill -9` mid-crawl and ends with exactly the chunks of an uninterrupted run.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
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
