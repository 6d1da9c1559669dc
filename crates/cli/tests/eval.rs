//! `sitechat eval` against the real server: a bot taught three web pages and a text FAQ, three
//! answerable questions with their pages and two it must decline; bad question files and fatal
//! errors stop before or at the first request. A second bot: one split of a file asked alone, a
//! follow-up asked in the conversation of the message it follows, requests for a person counted.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{json, Value};
use sitechat_core::config::Config;
use sitechat_server::Server;

const KEY: &str = "sk_cli_eval_operator_0123456789";

const OPENING_HOURS: &str = "<h1>Opening hours</h1>\
    <p>Our shop in Lyon is open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 4pm.</p>\
    <p>We are closed on Sundays and public holidays.</p>";
const RETURNS: &str = "<h1>Returns and refunds</h1>\
    <p>You can return any unused item within 30 days of delivery for a full refund.</p>\
    <p>Refunds are paid to the original card within 5 business days.</p>";
const SHIPPING: &str = "<h1>Shipping</h1>\
    <p>We ship to every country in the European Union.</p>\
    <p>Standard delivery takes 3 to 5 working days and is free for orders over 50 euros.</p>";

const FAQ: &str = "# Payment\n\nWe accept Visa, Mastercard and PayPal. Invoices are sent by email after each order.\n\n\
    # Gift cards\n\nGift cards are valid for one year and can be used online or in the shop.\n\n\
    # Newsletter\n\nSubscribe to the newsletter at the bottom of any page to hear about new products first.";

/// Serves the help pages on a loopback port.
async fn site() -> String {
    use axum::{response::Html, routing::get, Router};
    fn page(title: &'static str, body: &'static str) -> Html<String> {
        Html(format!(
            "<html><head><title>{title}</title></head><body><nav><a href=\"/\">Home</a></nav>\
             <main>{body}</main><footer>Lyon Shop</footer></body></html>"
        ))
    }
    let app = Router::new()
        .route(
            "/help/opening-hours.html",
            get(|| async { page("Opening hours", OPENING_HOURS) }),
        )
        .route(
            "/help/returns.html",
            get(|| async { page("Returns", RETURNS) }),
        )
        .route(
            "/help/shipping.html",
            get(|| async { page("Shipping", SHIPPING) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn call(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs the binary off the runtime's threads, so the in-process server keeps serving.
async fn eval(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_sitechat"))
            .arg("eval")
            .args(&args)
            .output()
            .unwrap();
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

fn args(base: &str, key: &str, bot: &str, questions: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--bot".into(),
        bot.into(),
        "--questions".into(),
        questions.display().to_string(),
        "--server".into(),
        base.into(),
        "--key".into(),
        key.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn write_lines(path: &PathBuf, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

async fn conversations(base: &str, bot: &str) -> usize {
    let page = call(
        base,
        reqwest::Method::GET,
        &format!("/v1/conversations?bot_id={bot}&limit=100"),
        None,
    )
    .await;
    page["data"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_measures_retrieval_answers_and_declines() {
    let site = site().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        admin_key: Some(KEY.to_owned().into()),
        allow_private_networks: true,
        ..Config::default()
    })
    .await
    .expect("the server starts");
    let base = format!("http://{}", server.addr());

    let bot = call(
        &base,
        reqwest::Method::POST,
        "/v1/bots",
        Some(json!({"name": "Lyon Shop"})),
    )
    .await;
    let bot = bot["id"].as_str().unwrap().to_owned();
    for page in ["opening-hours", "returns", "shipping"] {
        let added = call(
            &base,
            reqwest::Method::POST,
            &format!("/v1/bots/{bot}/sources/url"),
            Some(json!({"url": format!("{site}/help/{page}.html")})),
        )
        .await;
        assert!(added["chunks_created"].as_u64().unwrap() >= 1, "{added}");
    }
    call(
        &base,
        reqwest::Method::POST,
        &format!("/v1/bots/{bot}/sources/text"),
        Some(json!({"title": "Shop FAQ", "content": FAQ})),
    )
    .await;

    let questions = dir.path().join("questions.jsonl");
    write_lines(
        &questions,
        &[
            json!({"question": "When are you open on Saturdays?", "page": "opening-hours.html", "answer_contains": ["10am", "4PM"]}),
            json!({"question": "How long do refunds take?", "page": "returns.html", "answer_contains": ["5 business days"]}),
            json!({"question": "How long does standard delivery take?", "page": "/help/shipping.html", "answer_contains": ["3 to 5 working days"], "answerable": true}),
            json!({"question": "Do you sell helicopters?", "answerable": false}),
            json!({"question": "Who won the football world cup in 1998?", "answerable": false}),
        ],
    );
    let out = dir.path().join("out.json");
    let run = eval(args(
        &base,
        KEY,
        &bot,
        &questions,
        &["--json", out.to_str().unwrap()],
    ))
    .await;
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    for figure in [
        "questions",
        "hit@5",
        "MRR",
        "cited",
        "answer contains",
        "answer in passages",
        "answerable declined",
        "unanswerable declined",
        "unanswerable answered",
        "confidence, correct",
        "confidence, wrong",
        "latency p50",
        "latency p95",
        "retrieval",
    ] {
        assert!(
            run.stdout.contains(figure),
            "no `{figure}` in\n{}",
            run.stdout
        );
    }

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["questions"], 5, "{summary}");
    assert_eq!(summary["answerable"], 3, "{summary}");
    assert_eq!(summary["unanswerable"], 2, "{summary}");
    assert_eq!(summary["hit_at_k"], 1.0, "{summary}");
    assert_eq!(summary["mrr"], 1.0, "{report:#}");
    assert_eq!(summary["cited_rate"], 1.0, "{report:#}");
    assert_eq!(summary["answer_contains_rate"], 1.0, "{report:#}");
    assert_eq!(summary["answer_in_passages_rate"], 1.0, "{report:#}");
    assert_eq!(summary["answerable_declined_rate"], 0.0, "{report:#}");
    assert_eq!(summary["unanswerable_declined_rate"], 1.0, "{report:#}");
    assert_eq!(summary["unanswerable_answered"], 0, "{report:#}");
    assert_eq!(summary["correct_answers"], 3, "{report:#}");
    assert_eq!(summary["wrong_answers"], 0, "{report:#}");
    assert!(summary["mean_confidence_correct"].as_f64().unwrap() > 0.0);
    assert!(summary["mean_confidence_wrong"].is_null());
    assert!(summary["latency_ms_p50"].as_u64().is_some(), "{summary}");
    assert!(
        summary["latency_ms_p95"].as_u64() >= summary["latency_ms_p50"].as_u64(),
        "{summary}"
    );
    assert!(
        matches!(summary["retrieval"].as_str(), Some("bm25" | "hybrid")),
        "{summary}"
    );
    assert_eq!(summary["errors"], 0, "{report:#}");

    let asked = report["questions"].as_array().unwrap();
    assert_eq!(asked.len(), 5);
    let first = &asked[0];
    assert_eq!(first["question"], "When are you open on Saturdays?");
    assert_eq!(first["page"], "opening-hours.html");
    assert_eq!(first["expected"], json!(["10am", "4PM"]));
    assert_eq!(first["outcome"], "answered");
    assert_eq!(first["hit"], true);
    assert_eq!(first["rank"], 1);
    assert_eq!(first["reciprocal_rank"], 1.0);
    assert_eq!(first["cited"], true);
    assert_eq!(first["contains"], json!({"10am": true, "4PM": true}));
    assert_eq!(first["declined"], false);
    assert!(first["reply"].as_str().unwrap().contains("10am"), "{first}");
    assert!(
        first["search_pages"][0]
            .as_str()
            .unwrap()
            .ends_with("/help/opening-hours.html"),
        "anchors are dropped from pages: {first}"
    );
    assert!(
        first["sources"][0]["url"]
            .as_str()
            .unwrap()
            .contains("/help/opening-hours.html"),
        "{first}"
    );
    assert!(first["latency_ms"].as_u64().is_some());
    for unanswerable in &asked[3..] {
        assert_eq!(unanswerable["answerable"], false);
        assert_eq!(unanswerable["declined"], true, "{unanswerable}");
        assert_eq!(unanswerable["outcome"], "fallback", "{unanswerable}");
        assert!(unanswerable["hit"].is_null() && unanswerable["contains"].is_null());
    }
    // Every question had its own conversation.
    assert_eq!(conversations(&base, &bot).await, 5);

    // --limit and --concurrency: the first two questions only, asked together.
    let run = eval(args(
        &base,
        KEY,
        &bot,
        &questions,
        &[
            "--json",
            out.to_str().unwrap(),
            "--limit",
            "2",
            "--concurrency",
            "2",
            "--k",
            "1",
        ],
    ))
    .await;
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("hit@1"), "{}", run.stdout);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["questions"], 2, "{report:#}");
    assert_eq!(report["summary"]["hit_at_k"], 1.0, "{report:#}");
    assert_eq!(
        report["questions"][1]["question"],
        "How long do refunds take?"
    );
    assert_eq!(conversations(&base, &bot).await, 7);

    // A bad line stops everything before the first request, and says where it is.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"question\": \"When are you open?\"}\n\n{\"question\": \"Returns?\", \"answer_contains\": \"refund\"}\n{\"question\": \"Shipping?\"\n",
    )
    .unwrap();
    let run = eval(args(&base, KEY, &bot, &bad, &[])).await;
    assert!(!run.ok, "{}", run.stdout);
    assert!(
        run.stderr.contains("line 3") && run.stderr.contains("answer_contains"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line 4"), "{}", run.stderr);
    assert!(!run.stderr.contains("line 1:"), "{}", run.stderr);
    assert_eq!(conversations(&base, &bot).await, 7, "no question was asked");

    // A refused key, an unknown bot and an unreachable server stop the run at once.
    let run = eval(args(
        &base,
        "sk_wrong_key_0123456789",
        &bot,
        &questions,
        &["--json", out.to_str().unwrap()],
    ))
    .await;
    assert!(
        !run.ok && run.stderr.contains("refused the API key"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("after 0 of 5 questions"),
        "{}",
        run.stderr
    );
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        kept["summary"]["questions"], 2,
        "a failed run leaves the previous report alone"
    );
    let fresh = dir.path().join("fresh.json");
    let run = eval(args(
        &base,
        KEY,
        "bot_doesnotexist",
        &questions,
        &["--json", fresh.to_str().unwrap()],
    ))
    .await;
    assert!(
        !run.ok && run.stderr.contains("not found"),
        "{}",
        run.stderr
    );
    assert!(!fresh.exists(), "no empty report is left behind");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}")
    };
    let run = eval(args(&closed, KEY, &bot, &questions, &[])).await;
    assert!(
        !run.ok && run.stderr.contains("cannot reach the server"),
        "{}",
        run.stderr
    );

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_asks_one_split_with_follow_ups_in_their_conversation_and_counts_person_requests() {
    let site = site().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        admin_key: Some(KEY.to_owned().into()),
        allow_private_networks: true,
        ..Config::default()
    })
    .await
    .expect("the server starts");
    let base = format!("http://{}", server.addr());
    let bot = call(
        &base,
        reqwest::Method::POST,
        "/v1/bots",
        Some(json!({"name": "Lyon Shop"})),
    )
    .await;
    let bot = bot["id"].as_str().unwrap().to_owned();
    for page in ["opening-hours", "returns"] {
        call(
            &base,
            reqwest::Method::POST,
            &format!("/v1/bots/{bot}/sources/url"),
            Some(json!({"url": format!("{site}/help/{page}.html")})),
        )
        .await;
    }

    let questions = dir.path().join("questions.jsonl");
    write_lines(
        &questions,
        &[
            json!({"question": "How long do refunds take?", "page": "returns.html", "answer_contains": ["5 business days"], "split": "tune"}),
            json!({"question": "When are you open on Saturdays?", "page": "opening-hours.html", "answer_contains": ["10am"], "split": "test"}),
            json!({"question": "And on Sundays?", "previous": "When are you open on Saturdays?", "page": "opening-hours.html", "split": "test"}),
            json!({"question": "Do you sell helicopters?", "answerable": false, "split": "test"}),
            json!({"question": "I want to talk to a human", "expect": "handoff", "language": "en", "split": "test"}),
            json!({"question": "je voudrais parler à un conseiller", "expect": "handoff", "language": "fr", "split": "tune"}),
        ],
    );
    let out = dir.path().join("test.json");
    let run = eval(args(
        &base,
        KEY,
        &bot,
        &questions,
        &["--split", "test", "--json", out.to_str().unwrap()],
    ))
    .await;
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    for figure in ["hit@1", "first cited", "person requests", "split: test"] {
        assert!(
            run.stdout.contains(figure),
            "no `{figure}` in\n{}",
            run.stdout
        );
    }
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["split"], "test", "{summary}");
    assert_eq!(summary["questions"], 4, "only the test half: {summary}");
    assert_eq!(summary["answerable"], 2, "{summary}");
    assert_eq!(summary["unanswerable"], 1, "{summary}");
    assert_eq!(summary["person_requests"], 1, "{summary}");
    assert_eq!(
        summary["person_requests_recognised_rate"], 1.0,
        "{report:#}"
    );
    assert_eq!(summary["unanswerable_declined_rate"], 1.0, "{report:#}");
    assert_eq!(summary["first_cited_rate"], 1.0, "{report:#}");
    assert_eq!(summary["hit_at_1"], 1.0, "{report:#}");
    let asked = report["questions"].as_array().unwrap();
    let asked_texts: Vec<_> = asked
        .iter()
        .map(|q| q["question"].as_str().unwrap())
        .collect();
    assert!(
        !asked_texts.contains(&"How long do refunds take?"),
        "{asked_texts:?}"
    );
    let follow_up = &asked[1];
    assert_eq!(
        follow_up["previous"],
        json!(["When are you open on Saturdays?"])
    );
    assert_eq!(follow_up["first_cited"], true, "{follow_up}");
    let person = &asked[3];
    assert_eq!(person["outcome"], "handoff", "{person}");
    assert_eq!(person["handoff_recognised"], true, "{person}");
    // The follow-up and the message it follows share one conversation: four questions, four
    // conversations, and the follow-up's holds both visitor messages.
    assert_eq!(conversations(&base, &bot).await, 4);
    let messages = call(
        &base,
        reqwest::Method::GET,
        &format!(
            "/v1/conversations/{}/messages",
            follow_up["conversation_id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let visitor: Vec<_> = messages["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "visitor")
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        visitor,
        ["When are you open on Saturdays?", "And on Sundays?"]
    );

    // The tune half is the other two lines; a split no line has is an error before any request.
    let run = eval(args(
        &base,
        KEY,
        &bot,
        &questions,
        &["--split", "tune", "--json", out.to_str().unwrap()],
    ))
    .await;
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["questions"], 2, "{report:#}");
    assert_eq!(
        report["summary"]["person_requests_recognised_rate"], 1.0,
        "{report:#}"
    );
    let unsplit = dir.path().join("unsplit.jsonl");
    write_lines(&unsplit, &[json!({"question": "When are you open?"})]);
    let run = eval(args(&base, KEY, &bot, &unsplit, &["--split", "test"])).await;
    assert!(
        !run.ok && run.stderr.contains("no question of the split"),
        "{}",
        run.stderr
    );
    assert_eq!(conversations(&base, &bot).await, 6, "no question was asked");

    server.stop().await.unwrap();
}
