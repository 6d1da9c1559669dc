//! Widget open to first streamed token: a real sitechat server in-process on 127.0.0.1, a bot
//! with a shop's FAQ, and Debian's chromium (playwright-core, `web/tests/bench.mjs`) opening the
//! widget on a host page of another origin and asking a question, a fresh visitor each run. The
//! baseline measured in the same run is the same question streamed through the visitor API by
//! this process (no browser): the time to its first `delta` event.
//!
//! ```text
//! cargo bench -p sitechat-server --bench widget      (RUNS=10 runs; needs `make browser`)
//! ```

mod common;

use std::{path::Path, process::Command, time::Instant};

use serde_json::{json, Value};

const FAQ: &str = "# Opening hours\n\nOur shop in Lyon is open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 4pm.\n\n\
# Returns\n\nYou can return any unused item within 30 days of delivery for a full refund. Refunds are paid to the original card within 5 business days.\n\n\
# Shipping\n\nWe ship to France, Belgium and Switzerland. Delivery takes 2 to 4 working days and is free on orders over 50 euros.";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let runs = common::env_count("RUNS", 10);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        root.join("web/tests/node_modules/playwright-core").exists(),
        "run `make browser` first (chromium and playwright-core)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let server = common::start(dir.path()).await;
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = |method: reqwest::Method, path: String, body: Value| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let r = client
                .request(method, format!("{base}{path}"))
                .bearer_auth(common::OPERATOR_KEY)
                .json(&body)
                .send()
                .await
                .expect("request");
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    let bot = call(
        reqwest::Method::POST,
        "/v1/bots".into(),
        json!({"name": "Shop"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        reqwest::Method::POST,
        format!("/v1/bots/{bot}/sources/text"),
        json!({"title": "FAQ", "content": FAQ}),
    )
    .await;
    call(
        reqwest::Method::PATCH,
        format!("/v1/bots/{bot}"),
        json!({"settings": {"public_widget": true}}),
    )
    .await;
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    let health: Value = health.json().await.unwrap();
    println!(
        "sitechat widget benchmark: {runs} runs, retrieval {}",
        health["models"]["retrieval"]
    );

    // Baseline: the same question streamed through the visitor API, first delta, no browser.
    let mut api = Vec::new();
    for i in 0..runs {
        let visit: Value = client
            .post(format!("{base}/v1/public/bots/{bot}/conversations"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let started = Instant::now();
        let mut response = client
            .post(format!(
                "{base}/v1/public/conversations/{}/messages",
                visit["conversation_id"].as_str().unwrap()
            ))
            .bearer_auth(visit["token"].as_str().unwrap())
            .json(&json!({"message": format!("How long do refunds take? ({i})"), "stream": true}))
            .send()
            .await
            .unwrap();
        let mut seen = String::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: delta") {
                break;
            }
        }
        api.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    let out = tokio::task::spawn_blocking({
        let (base, bot) = (base.clone(), bot.clone());
        move || {
            Command::new("node")
                .arg("web/tests/bench.mjs")
                .current_dir(&root)
                .env("SITECHAT_BASE", base)
                .env("BOT", bot)
                .env("RUNS", runs.to_string())
                .output()
                .expect("node runs")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let parsed: Value = serde_json::from_str(line).expect("bench.mjs prints JSON");
    let browser: Vec<f64> = parsed["open_to_first_token_ms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let (b, a) = (common::median(browser.clone()), common::median(api.clone()));
    println!("widget open to first streamed token (ms): {browser:?}");
    println!(
        "visitor API, first delta (ms):             {:?}",
        api.iter()
            .map(|x| (x * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
    println!(
        "medians: widget {b:.1} ms, API {a:.1} ms, widget / API {:.2}x (floor: widget <= 300 ms)",
        b / a
    );
    drop(server);
}
