//! Dashboard pages' server time with 10,000 conversations in the account: a real sitechat server
//! in-process on 127.0.0.1, an account whose three bots have `CONVERSATIONS` conversations (a
//! visitor question and the bot's reply each, every tenth waiting for an agent, every twentieth
//! with a lead) spread over the last 30 days, a signed-in owner, and each page fetched `RUNS`
//! times in a row after a first request (shown apart: it is when an analytics page computes the
//! days it has not kept yet). The baseline measured in the same run is `GET /v1/bots` with the
//! same cookie (the lightest authenticated request). Times are from sending the request to the
//! end of the body, on loopback.
//!
//! ```text
//! cargo bench -p sitechat-server --bench dashboard     (CONVERSATIONS=10000 RUNS=30)
//! ```

mod common;

use std::time::Instant;

use serde_json::{json, Value};
use sitechat_core::{
    model::{HandoffAction, HandoffReason, Outcome, Role, UserRole},
    AccountId, BotId,
};
use sitechat_server::services::users;
use sitechat_store::{ContactInput, NewConversation, NewMessage, StartConversation, Store};

const QUESTIONS: [&str; 12] = [
    "How long do refunds take?",
    "when will I get my money back",
    "What are your opening hours?",
    "are you open on sundays",
    "Do you ship to Germany?",
    "how much is delivery",
    "Where is my order?",
    "can I pay with paypal",
    "I forgot my password",
    "do you sell gift cards",
    "can I cancel my order",
    "is there a warranty",
];

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}

async fn seed(store: &Store, account: &AccountId, bots: &[BotId], conversations: usize) {
    let started = Instant::now();
    for i in 0..conversations {
        let bot = &bots[i % bots.len()];
        let question = QUESTIONS[i % QUESTIONS.len()];
        let new = NewConversation {
            contact: Some(ContactInput {
                external_id: format!("visitor-{i}"),
                name: Some(format!("Visitor {i}")),
                email: None,
                phone: None,
                variables: None,
            }),
            channel: "widget".to_owned(),
            variables: None,
        };
        let (conversation, visitor, _) = store
            .record_visitor_message(
                account,
                bot,
                StartConversation::New(new),
                question.to_owned(),
                None,
                None,
            )
            .await
            .expect("visitor message");
        let answered = i % 3 != 0;
        let mut reply = NewMessage::text(
            Role::Bot,
            if answered {
                "Refunds are paid within 5 business days."
            } else {
                "Sorry, I couldn't find an answer to that."
            },
        );
        reply.outcome = Some(if answered {
            Outcome::Answered
        } else {
            Outcome::Fallback
        });
        reply.confidence = Some(if answered { 0.8 } else { 0.2 });
        store
            .append_bot_message(account, &conversation.id, &visitor.id, reply)
            .await
            .expect("bot message");
        if i % 10 == 0 {
            store
                .transition(
                    account,
                    &conversation.id,
                    HandoffAction::Escalate,
                    None,
                    Some(HandoffReason::VisitorAsked),
                )
                .await
                .expect("escalate");
        }
        if i % 20 == 0 {
            store
                .capture_lead(
                    account,
                    &conversation.id,
                    Some(&format!("visitor{i}@example.org")),
                    None,
                )
                .await
                .expect("lead");
        }
        // Spread over the last 30 days, today included.
        let days = (i % 30) as i64;
        if days > 0 {
            store
                .backdate_conversation(&conversation.id, days)
                .await
                .expect("backdate");
        }
    }
    eprintln!(
        "seeded {conversations} conversations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn bench() {
    let conversations = common::env_count("CONVERSATIONS", 10_000);
    let runs = common::env_count("RUNS", 30);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = common::start(dir.path()).await;
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = |path: &str, key: &str, body: Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(key)
            .json(&body);
        async move {
            let r = request.send().await.expect("request");
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.expect("json")
        }
    };
    let created = call(
        "/v1/accounts",
        common::OPERATOR_KEY,
        json!({"name": "Busy shop", "plan": "unlimited"}),
    )
    .await;
    let key = created["api_key"].as_str().unwrap().to_owned();
    let account = AccountId::parse(created["id"].as_str().expect("the new account's id")).unwrap();
    let mut bots = Vec::new();
    for name in ["Shop", "Support", "Rentals"] {
        let bot = call("/v1/bots", &key, json!({"name": name})).await;
        let id = bot["id"].as_str().unwrap().to_owned();
        call(
            &format!("/v1/bots/{id}/sources/text"),
            &key,
            json!({"title": "FAQ", "content": "# Refunds\n\nRefunds are paid within 5 business days of the return."}),
        )
        .await;
        bots.push(BotId::parse(&id).unwrap());
    }
    let store = Store::open(&dir.path().join("sitechat.db"))
        .await
        .expect("the server's database");
    seed(&store, &account, &bots, conversations).await;
    users::create(
        &store,
        &account,
        "owner@example.org",
        "Owner",
        "bench password 1",
        UserRole::Owner,
    )
    .await
    .expect("owner");
    let signed = client
        .post(format!("{base}/v1/session"))
        .json(&json!({"email": "owner@example.org", "password": "bench password 1"}))
        .send()
        .await
        .expect("sign in");
    let cookie = signed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let waiting: Value = client
        .get(format!(
            "{base}/v1/conversations?status=waiting_for_agent&limit=1"
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation = waiting["data"][0]["id"].as_str().unwrap().to_owned();
    let bot = &bots[0];

    let pages = [
        ("baseline: GET /v1/bots".to_owned(), "/v1/bots".to_owned()),
        ("bots".to_owned(), "/dashboard/bots".to_owned()),
        ("bot overview".to_owned(), format!("/dashboard/bots/{bot}")),
        (
            "bot knowledge".to_owned(),
            format!("/dashboard/bots/{bot}/knowledge"),
        ),
        (
            "bot playground".to_owned(),
            format!("/dashboard/bots/{bot}/playground"),
        ),
        (
            "bot widget".to_owned(),
            format!("/dashboard/bots/{bot}/widget"),
        ),
        ("inbox (waiting)".to_owned(), "/dashboard/inbox".to_owned()),
        (
            "inbox (all)".to_owned(),
            "/dashboard/inbox?status=all".to_owned(),
        ),
        (
            "inbox, a conversation open".to_owned(),
            format!("/dashboard/inbox?status=waiting_for_agent&c={conversation}"),
        ),
        (
            "inbox list refresh".to_owned(),
            "/dashboard/inbox/list?status=waiting_for_agent".to_owned(),
        ),
        ("leads".to_owned(), "/dashboard/leads".to_owned()),
        (
            "analytics (account)".to_owned(),
            "/dashboard/analytics".to_owned(),
        ),
        (
            "analytics (one bot)".to_owned(),
            format!("/dashboard/analytics?bot={bot}"),
        ),
        (
            "  API: /v1/analytics".to_owned(),
            "/v1/analytics".to_owned(),
        ),
        (
            "  API: /v1/analytics/questions".to_owned(),
            "/v1/analytics/questions".to_owned(),
        ),
        ("webhooks".to_owned(), "/dashboard/webhooks".to_owned()),
        ("settings".to_owned(), "/dashboard/settings".to_owned()),
    ];
    println!(
        "dashboard pages, {conversations} conversations in the account, {runs} requests each (ms)"
    );
    println!(
        "{:<30} {:>8} {:>8} {:>8} {:>8}",
        "page", "first", "median", "p95", "max"
    );
    let mut baseline = 0.0;
    for (name, path) in &pages {
        let mut times = Vec::with_capacity(runs);
        let mut first = 0.0;
        // One request first: it computes what is then kept (old days' figures, the question
        // vectors).
        for warm in [true, false] {
            let n = if warm { 1 } else { runs };
            for _ in 0..n {
                let start = Instant::now();
                let r = client
                    .get(format!("{base}{path}"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .expect("page");
                let status = r.status();
                let body = r.bytes().await.expect("body");
                assert!(status.is_success(), "{path}: {status}");
                assert!(!body.is_empty(), "{path}: empty");
                let ms = start.elapsed().as_secs_f64() * 1000.0;
                if warm {
                    first = ms;
                } else {
                    times.push(ms);
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let median = common::percentile(&times, 50.0);
        if name.starts_with("baseline") {
            baseline = median;
        }
        println!(
            "{name:<30} {first:>8.1} {median:>8.1} {:>8.1} {:>8.1}   ({:.1}× baseline)",
            common::percentile(&times, 95.0),
            times[times.len() - 1],
            median / baseline.max(0.001)
        );
    }
    drop(server);
}
