//! Webhooks through the front door: endpoints, the outbox written with each event, signed
//! deliveries to a local receiver, retries on schedule, redelivery, rotation, isolation of a
//! hanging endpoint, restarts, and the verification snippets of the docs.

use crate::common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode as AxumStatus},
    response::IntoResponse,
};
use base64::Engine;
use common::{TestApp, SHOP_FAQ};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

const SCHEDULE: &str = "100ms,200ms,400ms";

/// What the receiver answers.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Ok,
    /// Answers `status` this many times, then 200.
    FailTimes(usize, u16),
    Status(u16),
    /// Sleeps 30 s before answering.
    Hang,
}

#[derive(Debug, Clone)]
struct Recorded {
    at: Instant,
    headers: HeaderMap,
    body: String,
    status: u16,
}

impl Recorded {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} missing"))
    }
}

/// A local HTTP endpoint recording every request.
#[derive(Clone)]
struct Receiver {
    url: String,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    async fn start(mode: Mode) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let receiver = Receiver {
            url,
            mode: Arc::new(Mutex::new(mode)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let state = receiver.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move { state.handle(headers, body).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    async fn handle(&self, headers: HeaderMap, body: Bytes) -> axum::response::Response {
        let at = Instant::now();
        let status = {
            let mut mode = self.mode.lock().unwrap();
            match *mode {
                Mode::Ok => 200,
                Mode::FailTimes(0, _) => 200,
                Mode::FailTimes(n, status) => {
                    *mode = Mode::FailTimes(n - 1, status);
                    status
                }
                Mode::Status(status) => status,
                Mode::Hang => 0,
            }
        };
        if status == 0 {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        let status = if status == 0 { 200 } else { status };
        self.seen.lock().unwrap().push(Recorded {
            at,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status,
        });
        (AxumStatus::from_u16(status).unwrap(), "received").into_response()
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn seen(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    fn successes(&self) -> Vec<Recorded> {
        self.seen()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    /// Waits (at most `within`) until `done` holds of what was received.
    async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[Recorded]) -> bool,
    ) -> Vec<Recorded> {
        let start = Instant::now();
        loop {
            let seen = self.seen();
            if done(&seen) {
                return seen;
            }
            assert!(
                start.elapsed() < within,
                "timed out; received so far: {:#?}",
                seen.iter()
                    .map(|r| (r.status, r.body.clone()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn types(seen: &[Recorded]) -> Vec<String> {
    seen.iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

fn hmac(secret: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether the `webhook-signature` header holds a valid signature made with `secret`.
fn standard_signature_valid(secret: &str, r: &Recorded) -> bool {
    let signed = format!(
        "{}.{}.{}",
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.body
    );
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(hmac(secret, signed.as_bytes()))
    );
    r.header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

/// Checks both signature headers of a delivery against `secret`.
fn assert_signed(secret: &str, r: &Recorded) {
    assert!(
        standard_signature_valid(secret, r),
        "bad webhook-signature on {}",
        r.body
    );
    assert_eq!(
        r.header("x-webhook-signature"),
        hex::encode(hmac(secret, r.body.as_bytes())),
        "bad X-Webhook-Signature"
    );
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("user-agent"), "sitechat-webhooks");
    assert_eq!(r.header("webhook-id"), r.json()["id"].as_str().unwrap());
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((now - ts).abs() < 60, "timestamp {ts} is not now");
}

async fn start() -> TestApp {
    start_with_schedule(SCHEDULE).await
}

async fn start_with_schedule(schedule: &str) -> TestApp {
    let schedule = schedule.to_owned();
    TestApp::start_with(move |c| {
        c.allow_private_networks = true;
        c.allow_http_webhooks = true;
        c.webhook_retry_schedule = schedule;
        c.webhook_timeout_seconds = 5;
    })
    .await
}

/// Creates an endpoint; returns its id and secret.
async fn webhook(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let r = app
        .post(
            "/v1/webhooks",
            &app.admin_key,
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (r.body["id"].as_str().unwrap().to_owned(), secret)
}

async fn shop(app: &TestApp) -> String {
    let bot = app.create_bot(&app.admin_key, "Shop").await;
    app.add_text(&app.admin_key, &bot, "FAQ", SHOP_FAQ).await;
    bot
}

async fn test_delivery(app: &TestApp, id: &str) -> String {
    let r = app
        .post(
            &format!("/v1/webhooks/{id}/test"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/webhooks/{id}/deliveries"), &app.admin_key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}

/// Waits until the delivery log of an endpoint shows `delivery` in `state`.
async fn wait_for_state(app: &TestApp, id: &str, delivery: &str, state: &str) -> Value {
    let start = Instant::now();
    loop {
        let all = deliveries(app, id).await;
        if let Some(d) = all.iter().find(|d| d["id"] == delivery) {
            if d["state"] == state {
                return d.clone();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "delivery never became {state}: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn bad_webhook_input_gets_clear_400s() {
    let app = start().await;
    let key = app.admin_key.clone();
    let cases = [
        (
            json!({"url": "ftp://example.com/x", "events": ["*"]}),
            "url:",
        ),
        (json!({"url": "not a url", "events": ["*"]}), "url:"),
        (
            json!({"url": "https://example.com/x", "events": ["lead.lost"]}),
            "events:",
        ),
        (
            json!({"url": "https://example.com/x", "events": []}),
            "events:",
        ),
        (json!({"url": "https://example.com/x"}), "events:"),
        (
            json!({"url": "https://example.com/x", "events": ["*"], "secret": "short"}),
            "secret:",
        ),
        (
            json!({"url": "https://example.com/x", "events": ["*"], "bot_id": "bot_doesnotexist"}),
            "bot_id:",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("/v1/webhooks", &key, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.code(), "INVALID_REQUEST");
        assert!(r.message().starts_with(field), "{body}: {}", r.message());
    }
    assert!(app.get("/v1/webhooks", &key).await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());

    // Without private networks, loopback and private addresses are refused; without
    // allow_http_webhooks, plain http is.
    let strict = TestApp::start_with(|c| c.allow_http_webhooks = true).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.1/",
        "https://169.254.169.254/latest",
        "https://localhost/x",
    ] {
        let r = strict
            .post(
                "/v1/webhooks",
                &strict.admin_key,
                json!({"url": url, "events": ["*"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}: {}", r.text);
        assert!(r.message().contains("refused"), "{url}: {}", r.message());
    }
    let https_only = TestApp::start().await;
    let r = https_only
        .post(
            "/v1/webhooks",
            &https_only.admin_key,
            json!({"url": "http://example.com/x", "events": ["*"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("https"), "{}", r.message());
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_webhook_endpoint() {
    let app = start().await;
    let receiver = Receiver::start(Mode::Ok).await;
    let (id, _) = webhook(&app, &receiver.url, json!(["*"])).await;
    let delivery = test_delivery(&app, &id).await;
    let other = app.create_account("pro").await;
    let reads = [
        format!("/v1/webhooks/{id}"),
        format!("/v1/webhooks/{id}/deliveries"),
    ];
    for path in reads {
        let r = app.get(&path, &other).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {path}: {}", r.text);
    }
    let writes = [
        (format!("/v1/webhooks/{id}/rotate"), json!({})),
        (format!("/v1/webhooks/{id}/test"), json!({})),
        (
            format!("/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
            json!({}),
        ),
        (
            format!("/v1/webhooks/{id}/redeliver"),
            json!({"since": "2020-01-01T00:00:00Z"}),
        ),
    ];
    for (path, body) in writes {
        let r = app.post(&path, &other, body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {path}: {}", r.text);
    }
    let r = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            &other,
            json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app.delete(&format!("/v1/webhooks/{id}"), &other).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(app.get("/v1/webhooks", &other).await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());
    // Still there, untouched, for its owner; the secret is never shown again.
    let r = app.get(&format!("/v1/webhooks/{id}"), &app.admin_key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], true);
    assert!(r.body.get("secret").is_none(), "{}", r.text);
    let list = app.get("/v1/webhooks", &app.admin_key).await;
    assert!(!list.text.contains("whsec_"), "{}", list.text);
}

#[tokio::test]
async fn a_chat_is_delivered_signed_to_subscribed_endpoints() {
    let app = start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let all = Receiver::start(Mode::Ok).await;
    let leads = Receiver::start(Mode::Ok).await;
    let (_, all_secret) = webhook(&app, &all.url, json!(["*"])).await;
    let (_, leads_secret) = webhook(&app, &leads.url, json!(["lead.captured"])).await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "When are you open on Saturdays?", "contact_id": "v-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let conv = r.body["conversation_id"].as_str().unwrap().to_owned();
    let seen = all
        .wait_for(Duration::from_secs(10), |seen| {
            let t = types(seen);
            ["conversation.started", "message.received", "message.sent"]
                .iter()
                .all(|want| t.iter().any(|t| t == want))
        })
        .await;
    for r in &seen {
        assert_signed(&all_secret, r);
        let body = r.json();
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, ["created_at", "data", "id", "type"], "{}", r.body);
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        time::OffsetDateTime::parse(
            body["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
    }
    // Conversation events arrive in the order they happened.
    let t = types(&seen);
    let pos = |name: &str| t.iter().position(|t| t == name).unwrap();
    assert!(pos("conversation.started") < pos("message.received"));
    assert!(pos("message.received") < pos("message.sent"));
    assert!(
        leads.seen().is_empty(),
        "the lead endpoint got {:?}",
        types(&leads.seen())
    );

    let r = app
        .chat(&key, &bot, json!({"message": "Please write to me at jane@example.com", "contact_id": "v-1", "conversation_id": conv}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = leads
        .wait_for(Duration::from_secs(10), |seen| !seen.is_empty())
        .await;
    all.wait_for(Duration::from_secs(10), |seen| {
        types(seen).iter().any(|t| t == "lead.captured")
    })
    .await;
    // Give stray deliveries a moment to show up, then check the lead endpoint got only its event.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = if leads.seen().len() > got.len() {
        leads.seen()
    } else {
        got
    };
    assert_eq!(types(&got), ["lead.captured"]);
    assert_signed(&leads_secret, &got[0]);
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_on_schedule_until_it_succeeds() {
    let app = start().await;
    let receiver = Receiver::start(Mode::FailTimes(3, 500)).await;
    let (id, secret) = webhook(&app, &receiver.url, json!(["*"])).await;
    let delivery = test_delivery(&app, &id).await;
    let seen = receiver
        .wait_for(Duration::from_secs(10), |seen| {
            seen.iter().any(|r| r.status == 200)
        })
        .await;
    let d = wait_for_state(&app, &id, &delivery, "delivered").await;
    assert_eq!(seen.len(), 4, "{seen:#?}");
    assert_eq!(
        seen.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 500, 500, 200]
    );
    for r in &seen {
        assert_signed(&secret, r);
        assert_eq!(r.json()["type"], "webhook.test");
    }
    // Every attempt carries the same event id.
    assert!(seen
        .iter()
        .all(|r| r.header("webhook-id") == seen[0].header("webhook-id")));
    let steps = [100u64, 200, 400];
    for (i, pair) in seen.windows(2).enumerate() {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(steps[i] - 30),
            "gap {i} was {gap:?}, expected at least {}ms",
            steps[i]
        );
    }
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{d:#}");
    assert_eq!(d["attempt_count"], 4);
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [500, 500, 500, 200]
    );
    assert!(attempts.iter().all(|a| a["latency_ms"].is_i64()));
    assert_eq!(attempts[0]["response_excerpt"], "received");
    assert!(attempts[0]["error"].as_str().unwrap().contains("500"));
    // Received exactly once as a success, and nothing more comes.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.successes().len(), 1);
    assert_eq!(receiver.seen().len(), 4);
}

#[tokio::test]
async fn a_final_4xx_fails_at_once_and_redelivery_succeeds_later() {
    let app = start().await;
    let key = app.admin_key.clone();
    let receiver = Receiver::start(Mode::Status(410)).await;
    let (id, _) = webhook(&app, &receiver.url, json!(["*"])).await;
    let first = test_delivery(&app, &id).await;
    let d = wait_for_state(&app, &id, &first, "failed").await;
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d:#}");
    assert_eq!(d["last_status"], 410);
    let second = test_delivery(&app, &id).await;
    wait_for_state(&app, &id, &second, "failed").await;
    assert_eq!(receiver.seen().len(), 2);
    let r = app
        .get(
            &format!("/v1/webhooks/{id}/deliveries?state=failed&limit=1"),
            &key,
        )
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(r.body["has_more"], true);
    let r = app
        .get(&format!("/v1/webhooks/{id}/deliveries?state=lost"), &key)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    receiver.set(Mode::Ok);
    let r = app
        .post(
            &format!("/v1/webhooks/{id}/deliveries/{first}/redeliver"),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let d = wait_for_state(&app, &id, &first, "delivered").await;
    assert_eq!(d["attempts"].as_array().unwrap().len(), 2, "{d:#}");
    // The rest of the failed ones, in bulk.
    let r = app
        .post(
            &format!("/v1/webhooks/{id}/redeliver"),
            &key,
            json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["redelivered"], 1, "{}", r.text);
    wait_for_state(&app, &id, &second, "delivered").await;
    assert_eq!(receiver.successes().len(), 2);
    let r = app
        .post(
            &format!("/v1/webhooks/{id}/redeliver"),
            &key,
            json!({"since": "yesterday"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn after_rotation_deliveries_carry_both_signatures() {
    let app = start().await;
    let key = app.admin_key.clone();
    let receiver = Receiver::start(Mode::Ok).await;
    let (id, old) = webhook(&app, &receiver.url, json!(["*"])).await;
    let r = app
        .post(&format!("/v1/webhooks/{id}/rotate"), &key, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new = r.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(
        r.body["previous_secret_expires_at"].is_string(),
        "{}",
        r.text
    );
    test_delivery(&app, &id).await;
    let seen = receiver
        .wait_for(Duration::from_secs(10), |s| !s.is_empty())
        .await;
    let r = &seen[0];
    assert_eq!(
        r.header("webhook-signature").split(' ').count(),
        2,
        "{:?}",
        r.headers
    );
    assert!(standard_signature_valid(&new, r));
    assert!(standard_signature_valid(&old, r));
    // The hex body signature uses the new secret.
    assert_signed(&new, r);
    // Neither secret is stored in clear (the database and its write-ahead log), but sealed.
    let stored: Vec<u8> = ["sitechat.db", "sitechat.db-wal"]
        .iter()
        .flat_map(|f| std::fs::read(app.data_dir.join(f)).unwrap_or_default())
        .collect();
    assert!(
        stored.windows(3).any(|w| w == b"v1:"),
        "the sealed secrets are there, so the search below looks in the right place"
    );
    for file in ["sitechat.db", "sitechat.db-wal"] {
        let bytes = std::fs::read(app.data_dir.join(file)).unwrap_or_default();
        for secret in [&new, &old] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} is in {file} in clear"
            );
        }
    }
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_delay_others() {
    let app = start().await;
    let bot = shop(&app).await;
    let hanging = Receiver::start(Mode::Hang).await;
    let healthy = Receiver::start(Mode::Ok).await;
    webhook(&app, &hanging.url, json!(["*"])).await;
    let (_, secret) = webhook(&app, &healthy.url, json!(["*"])).await;
    let r = app
        .chat(
            &app.admin_key,
            &bot,
            json!({"message": "Is delivery free?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The events, and their deliveries, are committed before the reply.
    let sent = Instant::now();
    let seen = healthy
        .wait_for(Duration::from_secs(10), |s| s.len() >= 3)
        .await;
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "the healthy endpoint waited {:?}",
        sent.elapsed()
    );
    for r in &seen {
        assert_signed(&secret, r);
    }
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart() {
    let mut app = start_with_schedule("1s,1s,1s,1s,1s").await;
    let bot = shop(&app).await;
    let receiver = Receiver::start(Mode::Status(503)).await;
    let (id, secret) = webhook(&app, &receiver.url, json!(["*"])).await;
    let r = app
        .chat(
            &app.admin_key,
            &bot,
            json!({"message": "Is delivery free?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    receiver
        .wait_for(Duration::from_secs(10), |s| !s.is_empty())
        .await;
    app.stop().await;
    receiver.set(Mode::Ok);
    app.start_again().await;
    let seen = receiver
        .wait_for(Duration::from_secs(15), |s| {
            let ok = s.iter().filter(|r| r.status == 200).count();
            ok >= 3
        })
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let successes = receiver.successes();
    let mut ids: Vec<&str> = successes.iter().map(|r| r.header("webhook-id")).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        total,
        "an event was delivered twice as a success"
    );
    assert_eq!(total, 3, "{:?}", types(&successes));
    for r in &seen {
        assert_signed(&secret, r);
    }
    let all = deliveries(&app, &id).await;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|d| d["state"] == "delivered"), "{all:#?}");
}

/// Runs the verification snippets of docs/webhook-verify against a real delivery.
#[tokio::test]
async fn the_documented_verifiers_accept_a_real_delivery() {
    let app = start().await;
    let receiver = Receiver::start(Mode::Ok).await;
    let (id, secret) = webhook(&app, &receiver.url, json!(["*"])).await;
    test_delivery(&app, &id).await;
    let seen = receiver
        .wait_for(Duration::from_secs(10), |s| !s.is_empty())
        .await;
    let r = &seen[0];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/webhook-verify");
    for (interpreter, script) in [
        ("python3", "verify.py"),
        ("node", "verify.js"),
        ("php", "verify.php"),
    ] {
        let available = std::process::Command::new(interpreter)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            println!("note: {interpreter} is not installed; {script} was not run");
            continue;
        }
        for (key, valid) in [
            (secret.as_str(), true),
            ("whsec_wrongwrongwrongwrongwrongwrong", false),
        ] {
            let mut child = std::process::Command::new(interpreter)
                .arg(dir.join(script))
                .arg(key)
                .arg(r.header("webhook-id"))
                .arg(r.header("webhook-timestamp"))
                .arg(r.header("webhook-signature"))
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(r.body.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.success(),
                valid,
                "{script} with a {} secret: {}{}",
                if valid { "valid" } else { "wrong" },
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail returns its own large error type.
fn webhook_settings_come_from_the_environment() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("SITECHAT_WEBHOOK_RETRY_SCHEDULE", "5s,1m,2h");
        jail.set_env("SITECHAT_ALLOW_HTTP_WEBHOOKS", "true");
        jail.set_env("SITECHAT_WEBHOOK_DISABLE_AFTER_DAYS", "7");
        let config = sitechat_server::config::load(None, Default::default()).unwrap();
        assert_eq!(config.webhook_retry_schedule, "5s,1m,2h");
        assert!(config.allow_http_webhooks);
        assert_eq!(config.webhook_disable_after_days, 7);
        assert_eq!(config.webhook_timeout_seconds, 10);
        assert_eq!(config.webhook_secret_grace_seconds, 86_400);
        Ok(())
    });
    let defaults = sitechat_core::config::Config::default();
    assert_eq!(defaults.webhook_retry_schedule, "10s,1m,5m,30m,2h,6h,12h");
    assert!(!defaults.allow_http_webhooks);
}

#[tokio::test]
async fn an_invalid_retry_schedule_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = sitechat_core::config::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        webhook_retry_schedule: "10s,soon".into(),
        ..Default::default()
    };
    let err = sitechat_server::Server::start(config)
        .await
        .err()
        .expect("the server refuses to start");
    assert!(err.to_string().contains("webhook_retry_schedule"), "{err}");
}

#[tokio::test]
async fn an_endpoint_scoped_to_a_bot_gets_only_that_bots_events() {
    let app = start().await;
    let key = app.admin_key.clone();
    let mine = shop(&app).await;
    let other = shop(&app).await;
    let receiver = Receiver::start(Mode::Ok).await;
    let r = app
        .post(
            "/v1/webhooks",
            &key,
            json!({"url": receiver.url, "events": ["message.received"], "bot_id": mine}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["bot_id"], mine.as_str());
    let id = r.body["id"].as_str().unwrap().to_owned();
    for bot in [&other, &mine] {
        let r = app
            .chat(&key, bot, json!({"message": "Is delivery free?"}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    receiver
        .wait_for(Duration::from_secs(10), |s| !s.is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = receiver.seen();
    assert_eq!(types(&seen), ["message.received"]);
    assert_eq!(deliveries(&app, &id).await.len(), 1);
    // Paused, it gets no deliveries (none are queued); resumed, new events flow again.
    let r = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            &key,
            json!({"active": false}),
        )
        .await;
    assert_eq!(r.body["active"], false, "{}", r.text);
    let r = app
        .chat(&key, &mine, json!({"message": "And returns?"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.seen().len(), 1);
    let r = app
        .patch(&format!("/v1/webhooks/{id}"), &key, json!({"active": true}))
        .await;
    assert_eq!(r.body["active"], true, "{}", r.text);
    let r = app
        .chat(&key, &mine, json!({"message": "And shipping?"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    receiver
        .wait_for(Duration::from_secs(10), |s| s.len() == 2)
        .await;
    assert!(receiver.seen()[1].body.contains("And shipping?"));
    let r = app.delete(&format!("/v1/webhooks/{id}"), &key).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app.get(&format!("/v1/webhooks/{id}"), &key).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn secrets_written_in_clear_before_sealing_are_sealed_at_start_and_still_sign() {
    let receiver = Receiver::start(Mode::Ok).await;
    let mut app = start().await;
    let (id, secret) = webhook(&app, &receiver.url, json!(["*"])).await;
    app.stop().await;
    // As an older sitechat left it: the secret in clear.
    {
        let store = sitechat_store::Store::open(&app.data_dir.join("sitechat.db"))
            .await
            .unwrap();
        let id = sitechat_core::WebhookId::parse(&id).unwrap();
        store.set_webhook_secrets(&id, &secret, None).await.unwrap();
        assert_eq!(store.webhook_secrets_in_clear().await.unwrap().len(), 1);
    }
    app.start_again().await;
    {
        let store = sitechat_store::Store::open(&app.data_dir.join("sitechat.db"))
            .await
            .unwrap();
        assert!(store.webhook_secrets_in_clear().await.unwrap().is_empty());
    }
    test_delivery(&app, &id).await;
    let seen = receiver
        .wait_for(Duration::from_secs(10), |s| !s.is_empty())
        .await;
    assert_signed(&secret, &seen[0]);
}
