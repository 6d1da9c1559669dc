//! Messaging channels through the front door, against fake Telegram and WhatsApp platforms on
//! loopback that implement the documented request and response shapes and record what they
//! receive: creating channels, checked webhooks, answers with their sources and buttons,
//! statuses, retries on 429, duplicates, the handoff, and the 24-hour window.

use crate::common;

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode as AxumStatus, Uri},
    response::IntoResponse,
};
use common::{TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One request the fake platform received.
#[derive(Debug, Clone)]
struct Call {
    at: Instant,
    path: String,
    headers: HeaderMap,
    body: Value,
    /// The status the fake answered.
    status: u16,
}

/// A scripted answer: status, `Retry-After`, body.
type Scripted = (u16, Option<u64>, Value);

/// A fake messaging platform: Telegram's Bot API (`/bot{token}/{method}`) and WhatsApp's Graph
/// API (`/{version}/{phone_number_id}/messages`) in one server.
#[derive(Clone)]
struct Platform {
    base: String,
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Mutex<VecDeque<Scripted>>>,
}

impl Platform {
    async fn start() -> Platform {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let platform = Platform {
            base: format!("http://{}", listener.local_addr().unwrap()),
            calls: Arc::default(),
            script: Arc::default(),
        };
        let state = platform.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move { state.handle(uri, headers, body) }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        platform
    }

    fn handle(&self, uri: Uri, headers: HeaderMap, body: Bytes) -> axum::response::Response {
        let path = uri.path().to_owned();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let sends = path.ends_with("/sendMessage") || path.ends_with("/messages");
        let scripted = if sends {
            self.script.lock().unwrap().pop_front()
        } else {
            None
        };
        let mut calls = self.calls.lock().unwrap();
        let n = calls.len();
        let (status, retry_after, answer) = scripted.unwrap_or_else(|| {
            if path.contains("/bot0:bad/") {
                (
                    401,
                    None,
                    json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
                )
            } else if path.ends_with("/setWebhook") {
                (
                    200,
                    None,
                    json!({"ok": true, "result": true, "description": "Webhook was set"}),
                )
            } else if path.ends_with("/sendMessage") {
                (
                    200,
                    None,
                    json!({"ok": true, "result": {"message_id": 1000 + n, "date": 0,
                    "chat": {"id": body["chat_id"], "type": "private"}, "text": body["text"]}}),
                )
            } else {
                (
                    200,
                    None,
                    json!({"messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": format!("wamid.out{n}")}]}),
                )
            }
        });
        calls.push(Call {
            at: Instant::now(),
            path,
            headers,
            body,
            status,
        });
        let mut response =
            (AxumStatus::from_u16(status).unwrap(), axum::Json(answer)).into_response();
        if let Some(after) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.to_string().parse().unwrap());
        }
        response
    }

    fn script(&self, answers: Vec<Scripted>) {
        self.script.lock().unwrap().extend(answers);
    }

    /// The send requests received (sendMessage or /messages), answered or not.
    fn sends(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.path.ends_with("/sendMessage") || c.path.ends_with("/messages"))
            .cloned()
            .collect()
    }

    fn calls_to(&self, suffix: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.path.ends_with(suffix))
            .cloned()
            .collect()
    }

    /// Waits (up to 15 s) until `n` sends were accepted (2xx) and returns them all.
    async fn wait_for_sent(&self, n: usize) -> Vec<Call> {
        for _ in 0..300 {
            let sent: Vec<Call> = self
                .sends()
                .into_iter()
                .filter(|c| c.status < 300)
                .collect();
            if sent.len() >= n {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "fewer than {n} sends accepted within 15 s: {:#?}",
            self.sends()
                .iter()
                .map(|c| (&c.path, &c.body, c.status))
                .collect::<Vec<_>>()
        );
    }
}

/// The text of a send, whichever platform.
fn text_of(call: &Call) -> String {
    call.body["text"]
        .as_str()
        .or(call.body["text"]["body"].as_str())
        .or(call.body["interactive"]["body"]["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn app() -> TestApp {
    TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.channel_retry_schedule = "100ms,200ms,300ms".to_owned();
    })
    .await
}

async fn shop(app: &TestApp) -> String {
    let bot = app.create_bot(&app.admin_key, "Shop").await;
    app.add_text(&app.admin_key, &bot, "Shop FAQ", SHOP_FAQ)
        .await;
    bot
}

/// Connects a Telegram channel to the fake; returns the channel and its secret token (read from
/// the setWebhook call, as Telegram would keep it).
async fn telegram(app: &TestApp, bot: &str, platform: &Platform) -> (String, String) {
    let r = app
        .post(
            &format!("/v1/bots/{bot}/channels"),
            &app.admin_key,
            json!({"kind": "telegram", "bot_token": "123:ABC", "api_base": platform.base}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let set = platform.calls_to("/bot123:ABC/setWebhook");
    let set = set.last().expect("setWebhook called");
    assert_eq!(
        set.body["url"],
        format!("{}/channels/telegram/{id}", app.base),
        "the webhook points at this server"
    );
    let secret = set.body["secret_token"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    (id, secret)
}

async fn update(app: &TestApp, channel: &str, secret: Option<&str>, update: Value) -> StatusCode {
    let mut request = app
        .client
        .post(format!("{}/channels/telegram/{channel}", app.base))
        .json(&update);
    if let Some(secret) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    request.send().await.unwrap().status()
}

fn text_update(update_id: i64, chat: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": update_id, "date": 1_700_000_000,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": false, "first_name": "Ada", "last_name": "Lovelace"},
        "text": text}})
}

async fn conversations(app: &TestApp, bot: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/conversations?bot_id={bot}&limit=100"),
            &app.admin_key,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}

async fn messages(app: &TestApp, conversation: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/conversations/{conversation}/messages?limit=100"),
            &app.admin_key,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_channel_is_created_listed_and_deleted_and_its_credentials_are_never_shown() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, secret) = telegram(&app, &bot, &platform).await;

    let listed = app
        .get(&format!("/v1/bots/{bot}/channels"), &app.admin_key)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
    assert_eq!(listed.body["data"][0]["kind"], "telegram");
    assert_eq!(listed.body["data"][0]["api_base"], platform.base.as_str());
    let one = app
        .get(&format!("/v1/bots/{bot}/channels/{id}"), &app.admin_key)
        .await;
    assert_eq!(one.status, StatusCode::OK);
    for shown in [&listed.text, &one.text] {
        assert!(!shown.contains("123:ABC"), "the bot token leaks: {shown}");
        assert!(!shown.contains(&secret), "the secret token leaks: {shown}");
    }
    let db = std::fs::read(app.data_dir.join("sitechat.db")).unwrap();
    assert!(
        !db.windows(7).any(|w| w == b"123:ABC"),
        "the token is sealed in the database"
    );

    // A read key sees channels; only an admin connects or removes them.
    let read = app
        .post(
            "/v1/keys",
            &app.admin_key,
            json!({"name": "reader", "scopes": ["read"]}),
        )
        .await;
    let read = read.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/v1/bots/{bot}/channels"), &read)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("/v1/bots/{bot}/channels/{id}"), &read)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let gone = app
        .delete(&format!("/v1/bots/{bot}/channels/{id}"), &app.admin_key)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let removed = platform.calls_to("/bot123:ABC/deleteWebhook");
    assert_eq!(removed.len(), 1, "Telegram is told to stop sending updates");
    assert_eq!(
        app.get(&format!("/v1/bots/{bot}/channels/{id}"), &app.admin_key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        update(&app, &id, Some(&secret), text_update(1, 42, "hi")).await,
        StatusCode::NOT_FOUND,
        "a deleted channel's webhook is gone"
    );
}

#[tokio::test]
async fn bad_channel_input_is_refused_with_what_to_fix() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let path = format!("/v1/bots/{bot}/channels");
    let cases = [
        (json!({"kind": "sms"}), "kind"),
        (json!({"kind": "telegram"}), "bot_token: required"),
        (
            json!({"kind": "telegram", "bot_token": "no-colon"}),
            "bot_token",
        ),
        (
            json!({"kind": "telegram", "bot_token": "1:A", "phone_number_id": "1"}),
            "phone_number_id: not a setting of a telegram channel",
        ),
        (
            json!({"kind": "telegram", "bot_token": "1:A", "api_base": "ftp://x"}),
            "api_base",
        ),
        (
            json!({"kind": "whatsapp", "phone_number_id": "+44 20", "access_token": "t", "app_secret": "s"}),
            "phone_number_id",
        ),
        (
            json!({"kind": "whatsapp", "phone_number_id": "1065", "access_token": "t"}),
            "app_secret: required",
        ),
        (
            json!({"kind": "whatsapp", "phone_number_id": "1065", "access_token": "t", "app_secret": "s", "api_version": "21"}),
            "api_version",
        ),
        (
            json!({"kind": "telegram", "bot_token": "0:bad", "api_base": platform.base}),
            "Telegram refused setWebhook",
        ),
    ];
    for (body, expected) in cases {
        let r = app.post(&path, &app.admin_key, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.message().contains(expected), "{body}: {}", r.message());
    }
    let unknown = app
        .post(
            &path,
            &app.admin_key,
            json!({"kind": "telegram", "token": "1:A"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    telegram(&app, &bot, &platform).await;
    let second = app
        .post(
            &path,
            &app.admin_key,
            json!({"kind": "telegram", "bot_token": "9:Z", "api_base": platform.base}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    assert!(conversations(&app, &bot).await.is_empty());

    // Without allow_private_networks, a platform base on loopback is refused by the SSRF guard.
    let guarded = TestApp::start().await;
    let bot = guarded.create_bot(&guarded.admin_key, "Guarded").await;
    let r = guarded
        .post(
            &format!("/v1/bots/{bot}/channels"),
            &guarded.admin_key,
            json!({"kind": "telegram", "bot_token": "1:A", "api_base": platform.base}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("api_base: refused"), "{}", r.message());
}

#[tokio::test]
async fn telegram_updates_without_the_secret_token_are_refused_and_not_stored() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, secret) = telegram(&app, &bot, &platform).await;
    assert_eq!(
        update(&app, &id, None, text_update(1, 42, "When are you open?")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        update(
            &app,
            &id,
            Some("wrong"),
            text_update(2, 42, "When are you open?")
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert!(conversations(&app, &bot).await.is_empty(), "nothing stored");
    assert_eq!(
        update(
            &app,
            &id,
            Some(&secret),
            text_update(3, 42, "When are you open on Saturdays?")
        )
        .await,
        StatusCode::OK
    );
    let sent = platform.wait_for_sent(1).await;
    assert_eq!(sent[0].body["chat_id"], "42");
    assert!(
        text_of(&sent[0]).contains("10am to 4pm"),
        "{:?}",
        sent[0].body
    );
    let conversation = &conversations(&app, &bot).await[0];
    assert_eq!(conversation["channel"], "telegram");
    assert_eq!(conversation["external_id"], "telegram:42");
}

#[tokio::test]
async fn a_telegram_question_is_answered_with_its_source_link() {
    let app = app().await;
    let platform = Platform::start().await;
    let site = common::site::Site::default();
    site.set(
        "hours",
        "text/html",
        "<html><head><title>Opening hours</title></head><body><main><h1>Opening hours</h1>\
         <p>Our shop in Lyon is open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 4pm.</p></main></body></html>",
    );
    let addr = site.serve().await;
    let bot = app.create_bot(&app.admin_key, "Shop").await;
    let page = format!("http://{addr}/hours");
    let r = app
        .post(
            &format!("/v1/bots/{bot}/sources/url"),
            &app.admin_key,
            json!({"url": page}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (id, secret) = telegram(&app, &bot, &platform).await;
    update(
        &app,
        &id,
        Some(&secret),
        text_update(10, 7, "When are you open on Saturdays?"),
    )
    .await;
    let sent = platform.wait_for_sent(1).await;
    let text = text_of(&sent[0]);
    assert!(text.contains("10am to 4pm"), "{text}");
    assert!(
        text.contains(&page),
        "the source link is in the reply: {text}"
    );
}

#[tokio::test]
async fn start_greets_buttons_become_an_inline_keyboard_and_a_press_comes_back() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, secret) = telegram(&app, &bot, &platform).await;
    update(&app, &id, Some(&secret), text_update(1, 5, "/start")).await;
    let sent = platform.wait_for_sent(1).await;
    let greeting = app.get(&format!("/v1/bots/{bot}"), &app.admin_key).await;
    assert_eq!(
        text_of(&sent[0]),
        greeting.body["settings"]["greeting"].as_str().unwrap()
    );

    // A question the bot cannot answer: the fallback offers buttons, as an inline keyboard.
    update(
        &app,
        &id,
        Some(&secret),
        text_update(2, 5, "Do you repair helicopters?"),
    )
    .await;
    let sent = platform.wait_for_sent(2).await;
    let keyboard = sent[1].body["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap_or_else(|| panic!("no keyboard: {}", sent[1].body));
    let person = keyboard
        .iter()
        .map(|row| &row[0])
        .find(|b| b["text"] == "Talk to a person")
        .expect("a button to ask for a person");
    let data = person["callback_data"].as_str().unwrap();
    assert!(data.len() <= 64);

    // Pressing it sends its callback data back: the visitor asks for a person.
    let press = json!({"update_id": 3, "callback_query": {"id": "cb1",
        "from": {"id": 5, "is_bot": false, "first_name": "Ada"},
        "message": {"message_id": 1001, "date": 0, "chat": {"id": 5, "type": "private"}},
        "chat_instance": "ci", "data": data}});
    assert_eq!(
        update(&app, &id, Some(&secret), press).await,
        StatusCode::OK
    );
    platform.wait_for_sent(3).await;
    let conversation = &conversations(&app, &bot).await[0];
    assert_eq!(conversation["status"], "waiting_for_agent");
    // The press is acknowledged, so Telegram stops the button's loading spinner.
    let acknowledged = platform.calls_to("/answerCallbackQuery");
    assert_eq!(acknowledged.len(), 1, "{acknowledged:?}");
    assert_eq!(acknowledged[0].body["callback_query_id"], "cb1");
}

#[tokio::test]
async fn a_duplicate_update_is_processed_once() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, secret) = telegram(&app, &bot, &platform).await;
    let question = text_update(77, 9, "How long do refunds take?");
    for _ in 0..3 {
        assert_eq!(
            update(&app, &id, Some(&secret), question.clone()).await,
            StatusCode::OK
        );
    }
    platform.wait_for_sent(1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(platform.sends().len(), 1, "answered once");
    let conversation = &conversations(&app, &bot).await;
    assert_eq!(conversation.len(), 1);
    let stored = messages(&app, conversation[0]["id"].as_str().unwrap()).await;
    assert_eq!(stored.len(), 2, "one question, one answer: {stored:?}");
}

#[tokio::test]
async fn a_429_is_retried_after_the_platforms_wait_and_delivered_once() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, secret) = telegram(&app, &bot, &platform).await;
    platform.script(vec![(
        429,
        Some(1),
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
               "parameters": {"retry_after": 1}}),
    )]);
    update(
        &app,
        &id,
        Some(&secret),
        text_update(1, 3, "When are you open on Saturdays?"),
    )
    .await;
    let sent = platform.wait_for_sent(1).await;
    let attempts = platform.sends();
    assert_eq!(attempts.len(), 2, "one 429, one success");
    assert_eq!(attempts[0].status, 429);
    let waited = sent[0].at - attempts[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "the retry waited for Retry-After (1 s), not the 100 ms schedule: {waited:?}"
    );
    assert_eq!(attempts[0].body, attempts[1].body, "the same message");
    let conversation = &conversations(&app, &bot).await[0];
    let stored = messages(&app, conversation["id"].as_str().unwrap()).await;
    assert_eq!(stored[1]["status"], "SENT");
}

#[tokio::test]
async fn a_send_that_fails_for_good_is_not_sent_and_says_so_in_an_event() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, secret) = telegram(&app, &bot, &platform).await;
    // Server errors until the schedule (3 retries) runs out.
    platform.script(vec![(502, None, json!({"ok": false})); 4]);
    update(
        &app,
        &id,
        Some(&secret),
        text_update(1, 3, "When are you open on Saturdays?"),
    )
    .await;
    let mut events = Value::Null;
    for _ in 0..100 {
        let r = app
            .get("/v1/events?types=message.not_sent", &app.admin_key)
            .await;
        if !r.body["data"].as_array().unwrap().is_empty() {
            events = r.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let event = &events["data"][0];
    assert_eq!(event["type"], "message.not_sent", "{events}");
    assert_eq!(platform.sends().len(), 4, "1 attempt + 3 retries");
    let conversation = &conversations(&app, &bot).await[0];
    let stored = messages(&app, conversation["id"].as_str().unwrap()).await;
    assert_eq!(stored[1]["status"], "NOT_SENT");
    assert_eq!(event["data"]["message_id"], stored[1]["id"]);
    assert!(event["data"]["error"].as_str().unwrap().contains("502"));
}

/// A server killed between receiving a message and replying (the state it leaves behind is
/// written into its database while it is down, as `conversations::interrupted` does for the
/// chat API): the platform delivers again, since it got no 200, and the question is answered
/// once. Then a reply queued but not sent when the server stops goes out once after it starts.
#[tokio::test]
async fn a_message_received_before_a_crash_is_answered_once_after_it() {
    use sitechat_core::{AccountId, BotId};
    use sitechat_store::{ContactInput, KeyedRequest, NewConversation, StartConversation};

    let mut app = TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.channel_retry_schedule = "3s".to_owned();
    })
    .await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, secret) = telegram(&app, &bot, &platform).await;
    let account = app.get("/v1/account", &app.admin_key).await;
    let account = AccountId::from_trusted(account.body["id"].as_str().unwrap().to_owned());

    // 1. Stored, with its delivery's key, and no reply queued: then the kill.
    app.stop().await;
    let store = sitechat_store::Store::open(&app.data_dir.join("sitechat.db"))
        .await
        .unwrap();
    store
        .record_visitor_message(
            &account,
            &BotId::from_trusted(bot.clone()),
            StartConversation::New(NewConversation {
                contact: Some(ContactInput {
                    external_id: "telegram:5".to_owned(),
                    ..ContactInput::default()
                }),
                channel: "telegram".to_owned(),
                variables: None,
            }),
            "How long do refunds take?".to_owned(),
            None,
            Some(&KeyedRequest {
                key: format!("channel:{id}:update:41"),
                fingerprint: "channel".to_owned(),
            }),
        )
        .await
        .unwrap();
    drop(store);
    app.start_again().await;
    let question = text_update(41, 5, "How long do refunds take?");
    for _ in 0..2 {
        assert_eq!(
            update(&app, &id, Some(&secret), question.clone()).await,
            StatusCode::OK
        );
    }
    let sent = platform.wait_for_sent(1).await;
    assert!(text_of(&sent[0]).contains("5 business days"), "{sent:?}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(platform.sends().len(), 1, "answered once");
    let conversation = &conversations(&app, &bot).await;
    assert_eq!(conversation.len(), 1, "{conversation:?}");
    let stored = messages(&app, conversation[0]["id"].as_str().unwrap()).await;
    assert_eq!(stored.len(), 2, "the question once, one answer: {stored:?}");

    // 2. The platform fails the first send; the server stops before the retry (3 s later).
    platform.script(vec![(502, None, json!({"ok": false}))]);
    update(
        &app,
        &id,
        Some(&secret),
        text_update(42, 5, "When are you open on Saturdays?"),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while platform.sends().len() < 2 {
        assert!(Instant::now() < deadline, "no send attempt");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(platform.sends().len(), 2, "nothing sent while stopped");
    app.start_again().await;
    let sent = platform.wait_for_sent(2).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let attempts = platform.sends();
    assert_eq!(
        attempts.len(),
        3,
        "the failed attempt, then one send after the restart"
    );
    assert_eq!(attempts[1].body, attempts[2].body, "the same reply");
    assert!(text_of(&sent[1]).contains("Saturday"), "{sent:?}");
    let stored = messages(&app, conversation[0]["id"].as_str().unwrap()).await;
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert_eq!(stored[3]["status"], "SENT", "{stored:?}");
}

/// A Telegram visitor gets what a widget visitor gets: the away notice outside business hours
/// when asking for a person, and the handoff after fallbacks in a row, both sent through
/// Telegram.
#[tokio::test]
async fn business_hours_and_the_handoff_after_fallbacks_work_through_a_channel() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    // Open one minute a week, at a time that is not now; hand over after two fallbacks.
    let now = time::OffsetDateTime::now_utc();
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [((now.weekday().number_days_from_monday() + 3) % 7) as usize];
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &app.admin_key,
            json!({"settings": {"handoff_after_fallbacks": 2, "business_hours": {"time_zone": "UTC",
                "slots": [{"day": day, "open": "10:00", "close": "10:01"}]}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (id, secret) = telegram(&app, &bot, &platform).await;

    update(
        &app,
        &id,
        Some(&secret),
        text_update(1, 7, "I want to talk to a human"),
    )
    .await;
    let sent = platform.wait_for_sent(1).await;
    assert!(
        text_of(&sent[0]).starts_with("Our team is not available right now. We will be back on"),
        "{sent:?}"
    );
    let conversation = &conversations(&app, &bot).await[0];
    assert_eq!(conversation["status"], "waiting_for_agent");

    // Another visitor: two questions the shop cannot answer, then a person is asked for.
    for (n, question) in [
        (2, "Do you sell helicopters?"),
        (3, "Can I rent a submarine?"),
    ] {
        update(&app, &id, Some(&secret), text_update(n, 8, question)).await;
        platform.wait_for_sent(n as usize).await;
    }
    let waiting = conversations(&app, &bot)
        .await
        .into_iter()
        .filter(|c| c["status"] == "waiting_for_agent")
        .count();
    assert_eq!(waiting, 2, "the second fallback in a row hands over");
}

// ---------------------------------------------------------------------------------------------
// WhatsApp

const APP_SECRET: &str = "meta-app-secret";

async fn whatsapp(app: &TestApp, bot: &str, platform: &Platform) -> (String, String) {
    let r = app
        .post(
            &format!("/v1/bots/{bot}/channels"),
            &app.admin_key,
            json!({"kind": "whatsapp", "phone_number_id": "106540352242922", "access_token": "EAAGtoken",
                   "app_secret": APP_SECRET, "graph_base": platform.base}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["api_version"], "v21.0");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["webhook_url"],
        format!("{}/channels/whatsapp/{id}", app.base)
    );
    let verify = r.body["verify_token"].as_str().unwrap().to_owned();
    let again = app
        .get(&format!("/v1/bots/{bot}/channels/{id}"), &app.admin_key)
        .await;
    assert!(again.body.get("verify_token").is_none(), "shown once");
    assert!(!again.text.contains("EAAGtoken") && !again.text.contains(APP_SECRET));
    (id, verify)
}

fn sign(body: &[u8], secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn notify(app: &TestApp, channel: &str, signature: Option<&str>, body: &Value) -> StatusCode {
    let raw = serde_json::to_vec(body).unwrap();
    let mut request = app
        .client
        .post(format!("{}/channels/whatsapp/{channel}", app.base))
        .header("content-type", "application/json")
        .body(raw.clone());
    let signature = signature
        .map(str::to_owned)
        .unwrap_or_else(|| sign(&raw, APP_SECRET));
    if !signature.is_empty() {
        request = request.header("X-Hub-Signature-256", signature);
    }
    request.send().await.unwrap().status()
}

fn wa_value(value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": value}]}]})
}

fn wa_message(id: &str, from: &str, message: Value) -> Value {
    let mut message = message;
    message["id"] = json!(id);
    message["from"] = json!(from);
    message["timestamp"] = json!("1700000000");
    wa_value(json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": from}],
        "messages": [message]}))
}

fn wa_text(id: &str, from: &str, text: &str) -> Value {
    wa_message(id, from, json!({"type": "text", "text": {"body": text}}))
}

#[tokio::test]
async fn whatsapp_verification_handshake_answers_the_challenge_only_with_the_verify_token() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, verify) = whatsapp(&app, &bot, &platform).await;
    let url = format!("{}/channels/whatsapp/{id}", app.base);
    let ok = app
        .client
        .get(&url)
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", verify.as_str()),
            ("hub.challenge", "1158201444"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = app
        .client
        .get(&url)
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "nope"),
            ("hub.challenge", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let incomplete = app.client.get(&url).send().await.unwrap();
    assert_eq!(incomplete.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn whatsapp_calls_must_be_signed_and_a_signed_question_is_answered() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, _) = whatsapp(&app, &bot, &platform).await;
    let question = wa_text(
        "wamid.in1",
        "16315551234",
        "When are you open on Saturdays?",
    );
    assert_eq!(
        notify(&app, &id, Some(""), &question).await,
        StatusCode::UNAUTHORIZED
    );
    let forged = sign(&serde_json::to_vec(&question).unwrap(), "another-secret");
    assert_eq!(
        notify(&app, &id, Some(&forged), &question).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(conversations(&app, &bot).await.is_empty(), "nothing stored");

    assert_eq!(notify(&app, &id, None, &question).await, StatusCode::OK);
    let sent = platform.wait_for_sent(1).await;
    assert_eq!(sent[0].path, "/v21.0/106540352242922/messages");
    assert_eq!(
        sent[0].headers.get("authorization").unwrap(),
        "Bearer EAAGtoken"
    );
    assert_eq!(sent[0].body["messaging_product"], "whatsapp");
    assert_eq!(sent[0].body["to"], "16315551234");
    assert!(
        text_of(&sent[0]).contains("10am to 4pm"),
        "{}",
        sent[0].body
    );
    // The contact is the WhatsApp user, with the number in E.164.
    let conversation = &conversations(&app, &bot).await[0];
    let contact = app
        .get(
            &format!(
                "/v1/contacts/{}",
                conversation["contact_id"].as_str().unwrap()
            ),
            &app.admin_key,
        )
        .await;
    assert_eq!(contact.body["phone"], "+16315551234", "{}", contact.text);
    assert_eq!(contact.body["name"], "Kerry Fisher");
}

#[tokio::test]
async fn whatsapp_button_replies_unsupported_kinds_and_statuses() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, _) = whatsapp(&app, &bot, &platform).await;
    let from = "447700900123";

    // The fallback's buttons become reply buttons (up to 3) or a list.
    notify(
        &app,
        &id,
        None,
        &wa_text("wamid.a", from, "Do you repair helicopters?"),
    )
    .await;
    let sent = platform.wait_for_sent(1).await;
    assert_eq!(sent[0].body["type"], "interactive", "{}", sent[0].body);
    let kind = sent[0].body["interactive"]["type"].as_str().unwrap();
    let choices: Vec<Value> = if kind == "button" {
        sent[0].body["interactive"]["action"]["buttons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["reply"].clone())
            .collect()
    } else {
        sent[0].body["interactive"]["action"]["sections"][0]["rows"]
            .as_array()
            .unwrap()
            .clone()
    };
    let person = choices
        .iter()
        .find(|c| c["title"] == "Talk to a person")
        .expect("a choice to ask for a person");
    assert!(person["title"].as_str().unwrap().chars().count() <= 20);

    // The status of that message moves to delivered, then read; a late `delivered` does not undo it.
    let conversation = conversations(&app, &bot).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let wamid = "wamid.out0".to_owned();
    assert_eq!(platform.sends().len(), 1);
    let status = |s: &str| {
        wa_value(
            json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": "106540352242922"},
            "statuses": [{"id": wamid, "status": s, "timestamp": "1700000001", "recipient_id": from}]}),
        )
    };
    for (s, expected) in [
        ("delivered", "DELIVERED"),
        ("read", "READ"),
        ("delivered", "READ"),
    ] {
        assert_eq!(notify(&app, &id, None, &status(s)).await, StatusCode::OK);
        let stored = messages(&app, &conversation).await;
        assert_eq!(stored[1]["status"], expected, "after {s}");
    }

    // A list or button reply comes back as its id: the visitor asks for a person.
    let reply = wa_message(
        "wamid.b",
        from,
        json!({"type": "interactive", "interactive": {"type": "button_reply",
            "button_reply": {"id": person["id"], "title": person["title"]}}}),
    );
    notify(&app, &id, None, &reply).await;
    platform.wait_for_sent(2).await;
    assert_eq!(
        conversations(&app, &bot).await[0]["status"],
        "waiting_for_agent"
    );

    // A picture gets a polite reply naming what the bot reads.
    let release = app
        .post(
            &format!("/v1/conversations/{conversation}/release"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(release.status, StatusCode::OK, "{}", release.text);
    notify(
        &app,
        &id,
        None,
        &wa_message(
            "wamid.c",
            from,
            json!({"type": "image", "image": {"id": "media1", "mime_type": "image/jpeg"}}),
        ),
    )
    .await;
    let sent = platform.wait_for_sent(3).await;
    let polite = text_of(&sent[2]);
    assert!(
        polite.contains("image") && polite.contains("text"),
        "{polite}"
    );

    // A failed status makes the message NOT_SENT, with its event.
    let last = platform.sends().len() - 1;
    let failed = wa_value(
        json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": "106540352242922"},
        "statuses": [{"id": format!("wamid.out{last}"), "status": "failed", "timestamp": "1700000002", "recipient_id": from,
                      "errors": [{"code": 131026, "title": "Message undeliverable"}]}]}),
    );
    assert_eq!(notify(&app, &id, None, &failed).await, StatusCode::OK);
    let stored = messages(&app, &conversation).await;
    assert_eq!(stored.last().unwrap()["status"], "NOT_SENT");
    let events = app
        .get("/v1/events?types=message.not_sent", &app.admin_key)
        .await;
    assert!(events.body["data"][0]["data"]["error"]
        .as_str()
        .unwrap()
        .contains("131026"));
}

#[tokio::test]
async fn a_whatsapp_visitor_who_asks_for_a_person_gets_the_agents_reply_through_whatsapp() {
    let app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, _) = whatsapp(&app, &bot, &platform).await;
    let from = "33612345678";
    notify(
        &app,
        &id,
        None,
        &wa_text("wamid.h1", from, "I want to talk to a human"),
    )
    .await;
    platform.wait_for_sent(1).await;

    // The same queue as every channel.
    let queue = app
        .get("/v1/conversations?status=waiting_for_agent", &app.admin_key)
        .await;
    let conversation = queue.body["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(queue.body["data"][0]["channel"], "whatsapp");
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/takeover"),
            &app.admin_key,
            json!({"agent": "Marie"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // While the agent owns it, the visitor's messages get no bot reply.
    notify(
        &app,
        &id,
        None,
        &wa_text("wamid.h2", from, "Hello? Anyone?"),
    )
    .await;
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            json!({"role": "agent", "text": "Hello, Marie here. How can I help?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sent = platform.wait_for_sent(2).await;
    assert_eq!(text_of(&sent[1]), "Hello, Marie here. How can I help?");
    assert_eq!(sent[1].body["to"], from);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(platform.sends().len(), 2, "the bot stayed silent");

    // Outside the 24-hour window, an agent's reply is refused, naming template messages.
    app.state()
        .store
        .backdate_conversation(
            &sitechat_core::ConversationId::from_trusted(conversation.clone()),
            2,
        )
        .await
        .unwrap();
    let late = app
        .post(
            &format!("/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            json!({"role": "agent", "text": "Are you still there?"}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    assert!(
        late.message().contains("template message"),
        "{}",
        late.message()
    );
    assert!(late.message().contains("24-hour"), "{}", late.message());
    let stored = messages(&app, &conversation).await;
    assert!(stored.iter().all(|m| m["text"] != "Are you still there?"));
}

/// The floor: 200 messages from 20 users through the fake platform, every one delivered twice
/// (Telegram and Meta retry), with the platform answering 429 now and then: every message is
/// stored once and answered once.
#[tokio::test]
async fn two_hundred_messages_with_duplicates_and_429s_are_each_answered_once() {
    let mut app = app().await;
    let platform = Platform::start().await;
    let bot = shop(&app).await;
    let (id, secret) = telegram(&app, &bot, &platform).await;
    // Where the server is: it restarts on another port half-way.
    let base = Arc::new(Mutex::new(app.base.clone()));
    // A 429 (with a short wait) before every 20th send.
    let mut script = Vec::new();
    for _ in 0..10 {
        script.push((
            429,
            Some(0),
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests"}),
        ));
    }
    platform.script(script);
    let questions = [
        "When are you open on Saturdays?",
        "How long do refunds take?",
        "Do you ship to Italy?",
        "thanks",
    ];
    let mut tasks = Vec::new();
    for user in 0..20i64 {
        let (base, client, secret, id) =
            (base.clone(), app.client.clone(), secret.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..10i64 {
                let update_id = user * 100 + n;
                let body = text_update(update_id, 1000 + user, questions[(n % 4) as usize]);
                // Each update is delivered twice; like Telegram, a delivery that gets no 200
                // (the server is restarting) is delivered again.
                for _ in 0..2 {
                    let mut tries = 0;
                    loop {
                        let url = format!("{}/channels/telegram/{id}", base.lock().unwrap());
                        let sent = client
                            .post(url)
                            .header("X-Telegram-Bot-Api-Secret-Token", &secret)
                            .json(&body)
                            .send()
                            .await;
                        if sent.is_ok_and(|r| r.status() == StatusCode::OK) {
                            break;
                        }
                        tries += 1;
                        assert!(tries < 300, "update {update_id} never accepted");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }));
    }
    // Half-way, the server stops and starts again on the same data.
    let deadline = Instant::now() + Duration::from_secs(60);
    while platform.sends().iter().filter(|c| c.status < 300).count() < 80 {
        assert!(Instant::now() < deadline, "no progress before the restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.restart().await;
    *base.lock().unwrap() = app.base.clone();
    for task in tasks {
        task.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sent = platform.sends().iter().filter(|c| c.status < 300).count();
        if sent >= 200 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent: Vec<Call> = platform
        .sends()
        .into_iter()
        .filter(|c| c.status < 300)
        .collect();
    assert_eq!(sent.len(), 200, "each message answered once, none lost");
    for user in 0..20i64 {
        let to_user = sent
            .iter()
            .filter(|c| c.body["chat_id"].as_str() == Some((1000 + user).to_string().as_str()))
            .count();
        assert_eq!(to_user, 10, "user {user}");
    }
    let mut stored_messages = 0;
    for conversation in conversations(&app, &bot).await {
        let stored = messages(&app, conversation["id"].as_str().unwrap()).await;
        assert!(stored
            .iter()
            .filter(|m| m["role"] != "visitor")
            .all(|m| m["status"] == "SENT"));
        stored_messages += stored.len();
    }
    assert_eq!(
        stored_messages, 400,
        "200 questions and 200 answers, none twice"
    );
}
