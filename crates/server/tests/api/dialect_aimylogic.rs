//! Aimylogic Chat API dialect contract tests (`seeds/004`, `/compat/aimylogic/chatapi`): the
//! channel token's lifecycle, the synchronous, simplified and asynchronous client requests with
//! every documented response field and its type, events with their connection and agent filters,
//! history, saved state, message statuses, the dialect's error shape, and that a client id only
//! reaches the messages of the bot behind the token. Every call to the channel carries no key:
//! the token in the path is the credential.

use crate::common;

use std::time::Duration;

use common::{receiver::Receiver, Response, TestApp, SHOP_FAQ};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;

const BASE: &str = "/compat/aimylogic/chatapi";

/// The bot's default fallback message starts so.
const FALLBACK: &str = "Sorry, I couldn't find an answer";

/// A running server with a `pro` account, its admin key, and a bot that knows [`SHOP_FAQ`] with
/// its Chat API token.
struct Shop {
    app: TestApp,
    key: String,
    bot: String,
    token: String,
}

async fn shop() -> Shop {
    shop_with(|_| {}).await
}

async fn shop_with(change: impl FnOnce(&mut sitechat_core::config::Config)) -> Shop {
    let app = TestApp::start_with(change).await;
    let key = app.create_account("pro").await;
    let (bot, token) = bot_with_token(&app, &key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    Shop {
        app,
        key,
        bot,
        token,
    }
}

/// Creates a bot and returns its id and its Chat API token.
async fn bot_with_token(app: &TestApp, key: &str, name: &str) -> (String, String) {
    let r = app.post("/v1/bots", key, json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = r.body["chat_api_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a new bot comes with its chat_api_token: {}", r.text))
        .to_owned();
    (r.body["id"].as_str().unwrap().to_owned(), token)
}

/// A Chat API call (no key: the token in `path` is the credential).
async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Response {
    app.request(method, &format!("{BASE}{path}"), None, body)
        .await
}

/// A keyless GET of the Chat API with a query string.
async fn get_query(app: &TestApp, path: &str, query: &[(&str, &str)]) -> Response {
    let response = app
        .client
        .get(format!("{}{BASE}{path}", app.base))
        .query(query)
        .send()
        .await
        .expect("request sent");
    TestApp::read(response).await
}

/// A synchronous client request that must succeed.
async fn ask(app: &TestApp, token: &str, body: Value) -> Response {
    let r = call(app, Method::POST, &format!("/{token}"), Some(body.clone())).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "POST /{{token}} {body}: {}",
        r.text
    );
    r
}

/// Asks a question synchronously and returns its `questionId`.
async fn ask_id(app: &TestApp, token: &str, client: &str, query: &str) -> String {
    let r = ask(app, token, json!({"clientId": client, "query": query})).await;
    question_id(&r)
}

fn question_id(r: &Response) -> String {
    let id = r.body["questionId"]
        .as_str()
        .unwrap_or_else(|| panic!("questionId is a string: {}", r.text));
    assert!(
        id.starts_with("msg_"),
        "questionId is a message id: {}",
        r.text
    );
    id.to_owned()
}

async fn history(app: &TestApp, token: &str, client: &str, query: &[(&str, &str)]) -> Response {
    get_query(app, &format!("/{token}/client/{client}/history"), query).await
}

/// The client's messages in its history, which must be readable.
async fn messages(app: &TestApp, token: &str, client: &str, query: &[(&str, &str)]) -> Vec<Value> {
    let r = history(app, token, client, query).await;
    assert_eq!(r.status, StatusCode::OK, "history {query:?}: {}", r.text);
    assert_eq!(r.body["clientId"], client, "{}", r.text);
    r.body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("messages is an array: {}", r.text))
        .clone()
}

async fn events(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Response {
    get_query(app, &format!("/{token}/events"), query).await
}

/// The events of a successful `/events` call.
async fn event_list(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<Value> {
    let r = events(app, token, query).await;
    assert_eq!(r.status, StatusCode::OK, "events {query:?}: {}", r.text);
    r.body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("events is an array: {}", r.text))
        .clone()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("<no type>").to_owned())
        .collect()
}

async fn status_of(app: &TestApp, token: &str, client: &str, question: &str) -> Response {
    call(
        app,
        Method::GET,
        &format!("/{token}/client/{client}/message/{question}/status"),
        None,
    )
    .await
}

async fn set_status(
    app: &TestApp,
    token: &str,
    client: &str,
    question: &str,
    status: &str,
) -> Response {
    call(
        app,
        Method::POST,
        &format!("/{token}/client/{client}/message/{question}/status"),
        Some(json!({ "status": status })),
    )
    .await
}

/// The status a `questionId` stands for, which must be readable.
async fn status_is(app: &TestApp, token: &str, client: &str, question: &str) -> String {
    let r = status_of(app, token, client, question).await;
    assert_eq!(r.status, StatusCode::OK, "status of {question}: {}", r.text);
    assert_eq!(r.body["questionId"], question, "{}", r.text);
    r.body["status"]
        .as_str()
        .unwrap_or_else(|| panic!("status is a string: {}", r.text))
        .to_owned()
}

async fn not_read(app: &TestApp, token: &str, client: &str) -> i64 {
    let r = call(
        app,
        Method::GET,
        &format!("/{token}/client/{client}/message-not-read-count"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["clientId"], client, "{}", r.text);
    r.body["count"]
        .as_i64()
        .unwrap_or_else(|| panic!("count is an integer: {}", r.text))
}

/// The bot's conversations on the Chat API channel with this client (native API).
async fn conversations_of(app: &TestApp, key: &str, bot: &str, client: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/conversations?bot_id={bot}&limit=100"), key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["external_id"] == client)
        .cloned()
        .collect()
}

/// The client's only conversation with the bot (native API).
async fn conversation_of(app: &TestApp, key: &str, bot: &str, client: &str) -> Value {
    let mut found = conversations_of(app, key, bot, client).await;
    assert_eq!(found.len(), 1, "one conversation for {client}: {found:?}");
    found.remove(0)
}

/// An agent takes the conversation over and says something (native API); returns the message.
async fn agent_says(app: &TestApp, key: &str, conversation: &str, text: &str) -> Value {
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/takeover"),
            key,
            json!({"agent": "Alice"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "takeover: {}", r.text);
    assert_eq!(r.body["status"], "agent", "{}", r.text);
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/messages"),
            key,
            json!({"role": "agent", "text": text}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "agent message: {}", r.text);
    r.body.clone()
}

/// A time as the document writes it: `2022-09-28T12:32:13.262`, UTC without a zone.
fn doc_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn parse_doc_time(s: &str) -> OffsetDateTime {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
    );
    time::PrimitiveDateTime::parse(s, format)
        .unwrap_or_else(|e| panic!("`{s}` is not a time such as 2022-09-28T12:32:13.262: {e}"))
        .assume_utc()
}

/// Checks `nextTs`: written like the document's times but to the microsecond
/// (`YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, no zone); returns it.
fn assert_next_ts(value: &Value) -> OffsetDateTime {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("nextTs: a time is a string, got {value}"));
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
    );
    time::PrimitiveDateTime::parse(s, format)
        .unwrap_or_else(|e| panic!("nextTs `{s}` is not YYYY-MM-DDTHH:MM:SS.ffffff: {e}"))
        .assume_utc()
}

/// Checks that a value is a time written exactly as the document does (`YYYY-MM-DDTHH:MM:SS.mmm`,
/// no zone) and is about now in UTC; returns it.
fn assert_doc_timestamp(value: &Value, what: &str) -> OffsetDateTime {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("{what}: a time is a string, got {value}"));
    let shape_ok = s.len() == 23
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'.',
            _ => b.is_ascii_digit(),
        });
    assert!(
        shape_ok,
        "{what}: `{s}` is not written as YYYY-MM-DDTHH:MM:SS.mmm"
    );
    let t = parse_doc_time(s);
    let off = (OffsetDateTime::now_utc() - t).abs();
    assert!(
        off < time::Duration::minutes(5),
        "{what}: `{s}` is not the current UTC time"
    );
    t
}

/// Checks the dialect's error shape `{"timestamp", "status", "error", "code", "message"}` and
/// its types; returns the message.
fn assert_dialect_error(r: &Response, status: StatusCode, code: &str) -> String {
    assert_eq!(r.status, status, "{}", r.text);
    let body = r
        .body
        .as_object()
        .unwrap_or_else(|| panic!("the error is a JSON object: {}", r.text));
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "error", "message", "status", "timestamp"],
        "{}",
        r.text
    );
    assert_doc_timestamp(&r.body["timestamp"], "error timestamp");
    assert_eq!(
        r.body["status"].as_u64(),
        Some(u64::from(status.as_u16())),
        "status is the number: {}",
        r.text
    );
    assert_eq!(
        r.body["error"],
        status.canonical_reason().unwrap(),
        "{}",
        r.text
    );
    assert_eq!(r.body["code"], code, "{}", r.text);
    let message = r.body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("message is a string: {}", r.text));
    assert!(!message.is_empty(), "{}", r.text);
    message.to_owned()
}

/// A few seconds ago, as the document writes times.
fn moments_ago() -> String {
    doc_time(OffsetDateTime::now_utc() - time::Duration::seconds(3))
}

// ---------------------------------------------------------------------------------------------
// The channel token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_chat_api_token_is_shown_once_and_can_be_rotated_chosen_and_removed() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let r = app.post("/v1/bots", &key, json!({"name": "Shop"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bot = r.body["id"].as_str().unwrap().to_owned();
    let first = r.body["chat_api_token"]
        .as_str()
        .unwrap_or_else(|| panic!("chat_api_token is shown on creation: {}", r.text))
        .to_owned();
    assert!(first.starts_with("ct_") && first.len() >= 32, "{first}");
    assert!(
        first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:".contains(c)),
        "the token is safe in a URL path: {first}"
    );
    let prefix = r.body["chat_api_token_prefix"]
        .as_str()
        .unwrap_or_else(|| panic!("chat_api_token_prefix is a string: {}", r.text))
        .to_owned();
    assert!(
        prefix.len() >= 4 && prefix.len() < first.len() && first.starts_with(&prefix),
        "the prefix is the token's beginning: {prefix} / {first}"
    );

    // Shown once: reading the bot shows only the prefix.
    let r = app.get(&format!("/v1/bots/{bot}"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body.get("chat_api_token").is_none(),
        "GET /v1/bots/{{id}} must not show the token: {}",
        r.text
    );
    assert_eq!(r.body["chat_api_token_prefix"], prefix.as_str());
    let r = app.get("/v1/bots", &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        !r.text.contains(&first),
        "the list must not show the token: {}",
        r.text
    );
    assert!(r.body["data"][0].get("chat_api_token").is_none());

    let open = |token: String| {
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                &format!("/{token}"),
                Some(json!({"clientId": "probe", "event": "start"})),
            )
            .await
        }
    };
    let r = open(first.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "the new token works: {}", r.text);

    // Rotating: a new token, the old one stops working.
    let r = app
        .request(
            Method::POST,
            &format!("/v1/bots/{bot}/chat-api-token"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["id"],
        bot.as_str(),
        "the bot is returned: {}",
        r.text
    );
    let second = r.body["chat_api_token"]
        .as_str()
        .unwrap_or_else(|| panic!("the rotated token is shown: {}", r.text))
        .to_owned();
    assert!(second.starts_with("ct_") && second != first, "{second}");
    assert!(second.starts_with(r.body["chat_api_token_prefix"].as_str().unwrap()));
    let r = open(first.clone()).await;
    let message = assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    assert!(
        !message.contains(&first),
        "the error does not echo the token: {message}"
    );
    let r = call(
        &app,
        Method::GET,
        &format!("/{first}/client/probe/history"),
        None,
    )
    .await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    let r = open(second.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // A token of the client's choosing (one its apps already use).
    let chosen = "legacy-Aimylogic_token.0123~x:y";
    let r = app
        .post(
            &format!("/v1/bots/{bot}/chat-api-token"),
            &key,
            json!({ "token": chosen }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["chat_api_token"], chosen, "{}", r.text);
    assert!(chosen.starts_with(r.body["chat_api_token_prefix"].as_str().unwrap()));
    assert_dialect_error(
        &open(second.clone()).await,
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    );
    let r = open(chosen.to_owned()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["token"], chosen, "{}", r.text);

    // Tokens that are too short or not URL-safe are refused, naming the field.
    for bad in [
        "short-token",
        "has a space in it, sadly",
        "slash/inside/the/token",
    ] {
        let r = app
            .post(
                &format!("/v1/bots/{bot}/chat-api-token"),
                &key,
                json!({ "token": bad }),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert_eq!(r.code(), "INVALID_REQUEST", "{}", r.text);
        assert!(r.message().contains("token"), "{}", r.text);
        assert_eq!(r.body["error"]["details"]["field"], "token", "{}", r.text);
    }
    let r = open(chosen.to_owned()).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "refused tokens change nothing: {}",
        r.text
    );

    // The same token on another bot is a conflict.
    let (other, _) = bot_with_token(&app, &key, "Other").await;
    let r = app
        .post(
            &format!("/v1/bots/{other}/chat-api-token"),
            &key,
            json!({ "token": chosen }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "CONFLICT");
    let r = open(chosen.to_owned()).await;
    assert_eq!(r.body["token"], chosen, "still the first bot's: {}", r.text);

    // Another account cannot rotate it.
    let stranger = app.create_account("pro").await;
    let r = app
        .request(
            Method::POST,
            &format!("/v1/bots/{bot}/chat-api-token"),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(open(chosen.to_owned()).await.status, StatusCode::OK);

    // Removing it turns the channel off.
    let r = app
        .delete(&format!("/v1/bots/{bot}/chat-api-token"), &key)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_dialect_error(
        &open(chosen.to_owned()).await,
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    );
    let r = app.get(&format!("/v1/bots/{bot}"), &key).await;
    assert!(r.body["chat_api_token_prefix"].is_null(), "{}", r.text);
    assert!(r.body.get("chat_api_token").is_none(), "{}", r.text);

    // And setting one again turns it back on.
    let r = app
        .request(
            Method::POST,
            &format!("/v1/bots/{bot}/chat-api-token"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let third = r.body["chat_api_token"].as_str().unwrap().to_owned();
    assert_eq!(open(third).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Client requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_synchronous_request_answers_with_the_documented_payload() {
    let s = shop().await;
    let app = &s.app;
    let r = ask(
        app,
        &s.token,
        json!({"clientId": "test", "query": "When are you open on Saturdays?", "data": {"plan": "gold", "page": "/pricing"}}),
    )
    .await;
    let b = &r.body;
    assert_eq!(b["token"], s.token.as_str(), "{}", r.text);
    assert_eq!(b["clientId"], "test", "{}", r.text);
    let question = question_id(&r);
    let data = &b["data"];
    assert!(data.is_object(), "{}", r.text);
    assert_eq!(data["nlpClass"], "/answered", "{}", r.text);
    let confidence = data["confidence"]
        .as_f64()
        .unwrap_or_else(|| panic!("confidence is a number: {}", r.text));
    assert!(confidence > 0.0 && confidence <= 1.0, "{}", r.text);
    let replies = data["replies"]
        .as_array()
        .unwrap_or_else(|| panic!("replies is an array: {}", r.text));
    assert_eq!(replies.len(), 1, "{}", r.text);
    assert_eq!(replies[0]["type"], "text", "{}", r.text);
    let text = replies[0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("the reply's text is a string: {}", r.text));
    assert!(text.contains("10am"), "{}", r.text);
    assert_eq!(replies[0]["state"], data["nlpClass"], "{}", r.text);
    assert_eq!(
        data["answer"], text,
        "answer is the reply's text: {}",
        r.text
    );
    assert_eq!(data["newSessionStarted"], true, "{}", r.text);
    assert_eq!(data["debugData"], json!([]), "{}", r.text);
    assert_eq!(data["endSession"], false, "{}", r.text);
    assert!(
        !data["sources"].as_array().unwrap().is_empty(),
        "{}",
        r.text
    );
    assert_doc_timestamp(&b["timestamp"], "timestamp");
    assert_eq!(b["blockForm"], false, "{}", r.text);
    assert!(b["cid"].is_null(), "{}", r.text);

    // The same client continues its conversation.
    let r = ask(
        app,
        &s.token,
        json!({"clientId": "test", "query": "Is delivery free?", "data": {"plan": "silver"}}),
    )
    .await;
    let second = question_id(&r);
    assert_ne!(second, question);
    assert_eq!(r.body["data"]["newSessionStarted"], false, "{}", r.text);
    assert!(
        r.body["data"]["answer"]
            .as_str()
            .unwrap()
            .contains("50 euros"),
        "{}",
        r.text
    );

    // Natively: one conversation on channel `chatapi`, the client being the contact, `data` its
    // variables (from the request that started it).
    let conversation = conversation_of(app, &s.key, &s.bot, "test").await;
    assert_eq!(conversation["channel"], "chatapi", "{conversation}");
    assert_eq!(conversation["external_id"], "test", "{conversation}");
    assert_eq!(
        conversation["variables"],
        json!({"plan": "gold", "page": "/pricing"}),
        "{conversation}"
    );
    let contact = conversation["contact_id"].as_str().unwrap();
    let r = app.get(&format!("/v1/contacts/{contact}"), &s.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["external_id"], "test", "{}", r.text);
    let id = conversation["id"].as_str().unwrap();
    let r = app
        .get(&format!("/v1/conversations/{id}/messages"), &s.key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let native = r.body["data"].as_array().unwrap();
    assert_eq!(native.len(), 4, "{}", r.text);
    assert_eq!(native[0]["id"], question.as_str());
    assert_eq!(native[0]["role"], "visitor");
    assert_eq!(native[0]["text"], "When are you open on Saturdays?");
    assert_eq!(native[1]["role"], "bot");
    assert_eq!(native[1]["text"], text);
    assert_eq!(native[2]["id"], second.as_str());

    // A question the text does not answer is the seed's `/CatchAll`; `cid` is echoed.
    let r = ask(
        app,
        &s.token,
        json!({"clientId": "test-2", "query": "Do you repair helicopter engines?", "cid": "tab-1"}),
    )
    .await;
    let data = &r.body["data"];
    assert_eq!(data["nlpClass"], "/CatchAll", "{}", r.text);
    assert_eq!(data["replies"][0]["state"], "/CatchAll", "{}", r.text);
    assert!(
        data["answer"].as_str().unwrap().starts_with(FALLBACK),
        "{}",
        r.text
    );
    assert!(data["confidence"].is_number(), "{}", r.text);
    assert!(data["sources"].as_array().unwrap().is_empty(), "{}", r.text);
    assert_eq!(data["newSessionStarted"], true, "{}", r.text);
    assert_eq!(r.body["cid"], "tab-1", "{}", r.text);
}

#[tokio::test]
async fn an_event_alone_is_answered_with_the_greeting_and_stores_nothing() {
    let s = shop().await;
    let app = &s.app;
    let greeting = "Bonjour! Ask me about the shop in Lyon.";
    let r = app
        .patch(
            &format!("/v1/bots/{}", s.bot),
            &s.key,
            json!({"settings": {"greeting": greeting}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    for body in [
        json!({"clientId": "greeted", "event": "start"}),
        json!({"clientId": "greeted", "event": "start", "query": ""}),
    ] {
        let r = ask(app, &s.token, body).await;
        let b = &r.body;
        assert_eq!(b["token"], s.token.as_str(), "{}", r.text);
        assert_eq!(b["clientId"], "greeted", "{}", r.text);
        assert!(
            b.get("questionId").is_some_and(Value::is_null),
            "questionId is null: {}",
            r.text
        );
        let data = &b["data"];
        assert_eq!(data["nlpClass"], "/start", "{}", r.text);
        assert!(data["confidence"].is_number(), "{}", r.text);
        assert_eq!(
            data["replies"],
            json!([{"type": "text", "text": greeting, "state": "/start"}]),
            "{}",
            r.text
        );
        assert_eq!(data["answer"], greeting, "{}", r.text);
        assert_eq!(data["newSessionStarted"], false, "{}", r.text);
        assert_eq!(data["debugData"], json!([]), "{}", r.text);
        assert_eq!(data["endSession"], false, "{}", r.text);
        assert_doc_timestamp(&b["timestamp"], "timestamp");
        assert_eq!(b["blockForm"], false, "{}", r.text);
    }

    // The simplified form answers events the same way.
    let r = get_query(
        app,
        &format!("/{}", s.token),
        &[("clientId", "greeted"), ("event", "start")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["event"], "start", "{}", r.text);
    assert!(r.body["query"].is_null(), "{}", r.text);
    assert!(r.body["questionId"].is_null(), "{}", r.text);
    assert_eq!(r.body["answer"], greeting, "{}", r.text);
    // And so does the asynchronous one, with nothing to wait for.
    let r = call(
        app,
        Method::POST,
        &format!("/{}/async", s.token),
        Some(json!({"clientId": "greeted", "event": "start"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["questionId"].is_null(), "{}", r.text);

    // Nothing was stored.
    assert!(conversations_of(app, &s.key, &s.bot, "greeted")
        .await
        .is_empty());
    assert!(messages(app, &s.token, "greeted", &[]).await.is_empty());
    assert_eq!(not_read(app, &s.token, "greeted").await, 0);
    let r = app.get("/v1/conversations", &s.key).await;
    assert_eq!(
        r.body["data"],
        json!([]),
        "no conversation at all: {}",
        r.text
    );
    let r = app
        .get(&format!("/v1/contacts?bot_id={}", s.bot), &s.key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"], json!([]), "no contact: {}", r.text);
}

#[tokio::test]
async fn bad_client_requests_are_refused_in_the_dialect_error_shape_and_store_nothing() {
    let s = shop().await;
    let app = &s.app;
    let path = format!("/{}", s.token);
    let long_query = "a".repeat(4001);
    let long_cid = "c".repeat(201);
    let cases = [
        (json!({}), "clientId"),
        (json!({"query": "hello"}), "clientId"),
        (json!({"clientId": "", "query": "hello"}), "clientId"),
        (json!({"clientId": "bad"}), "query or event"),
        (json!({"clientId": "bad", "query": "   "}), "query"),
        (json!({"clientId": "bad", "query": long_query}), "query"),
        (
            json!({"clientId": "bad", "query": "hello", "data": [1, 2]}),
            "data",
        ),
        (
            json!({"clientId": "bad", "query": "hello", "cid": long_cid}),
            "cid",
        ),
    ];
    for (body, names) in &cases {
        for route in [path.clone(), format!("{path}/async")] {
            let r = call(app, Method::POST, &route, Some(body.clone())).await;
            let message = assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
            assert!(
                message.contains(names),
                "POST {route} {body}: the message names `{names}`: {message}"
            );
        }
    }
    let r = get_query(app, &path, &[("query", "hello")]).await;
    assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let r = get_query(app, &path, &[("clientId", "bad")]).await;
    assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let r = call(
        app,
        Method::POST,
        "/ct_doesnotexist0000000000000000000000",
        Some(json!({"clientId": "bad", "query": "hello"})),
    )
    .await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");

    assert!(conversations_of(app, &s.key, &s.bot, "bad")
        .await
        .is_empty());
    assert!(messages(app, &s.token, "bad", &[]).await.is_empty());
    let r = app
        .get(&format!("/v1/contacts?bot_id={}", s.bot), &s.key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"], json!([]), "no contact: {}", r.text);
}

#[tokio::test]
async fn the_simplified_get_request_returns_the_short_payload() {
    let s = shop().await;
    let app = &s.app;
    let path = format!("/{}", s.token);
    let query = "When are you open on Saturdays?";
    let r = get_query(app, &path, &[("clientId", "simple"), ("query", query)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "answer",
            "clientId",
            "event",
            "query",
            "questionId",
            "timestamp"
        ],
        "{}",
        r.text
    );
    assert_eq!(r.body["clientId"], "simple", "{}", r.text);
    assert_eq!(r.body["query"], query, "{}", r.text);
    assert!(r.body["event"].is_null(), "{}", r.text);
    let question = question_id(&r);
    assert!(
        r.body["answer"].as_str().unwrap().contains("10am"),
        "{}",
        r.text
    );
    assert_doc_timestamp(&r.body["timestamp"], "timestamp");

    let r = get_query(
        app,
        &path,
        &[("clientId", "simple"), ("query", "Is delivery free?")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["answer"].as_str().unwrap().contains("50 euros"),
        "{}",
        r.text
    );

    let conversation = conversation_of(app, &s.key, &s.bot, "simple").await;
    assert_eq!(conversation["channel"], "chatapi", "{conversation}");
    let history = messages(app, &s.token, "simple", &[]).await;
    assert_eq!(history.len(), 4, "{history:?}");
    assert_eq!(history[0]["id"], question.as_str());
    assert_eq!(history[0]["text"], query);
}

#[tokio::test]
async fn an_asynchronous_request_returns_its_question_id_and_the_reply_shows_up_in_events() {
    let (receiver, addr) = Receiver::start().await;
    let s = shop_with(|c| {
        c.allow_private_networks = true;
        c.allow_http_webhooks = true;
    })
    .await;
    let app = &s.app;
    let hook = app
        .post(
            "/v1/webhooks",
            &s.key,
            json!({"url": format!("http://{addr}/hook"), "events": ["message.sent"]}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);
    let before = moments_ago();
    let r = call(
        app,
        Method::POST,
        &format!("/{}/async", s.token),
        Some(json!({"clientId": "async-1", "query": "Is delivery free?", "cid": "app"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["clientId"], "async-1", "{}", r.text);
    let question = question_id(&r);

    let query = [
        ("clientId", "async-1"),
        ("all", "true"),
        ("ts", before.as_str()),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let found = loop {
        let found = event_list(app, &s.token, &query).await;
        if found
            .iter()
            .any(|e| e["type"] == "botResponse" && e["questionId"] == question.as_str())
        {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no botResponse to {question} within 10 s: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(kinds(&found), ["clientRequest", "botResponse"], "{found:?}");
    let request = &found[0];
    assert_eq!(request["id"], question.as_str());
    assert_eq!(request["questionId"], question.as_str());
    assert_eq!(request["clientId"], "async-1");
    assert_eq!(request["cid"], "app");
    assert_eq!(request["data"]["query"], "Is delivery free?");
    assert_doc_timestamp(&request["timestamp"], "clientRequest timestamp");
    let reply = &found[1];
    let reply_id = reply["id"].as_str().unwrap();
    assert!(
        reply_id.starts_with("msg_") && reply_id != question,
        "{reply}"
    );
    assert_eq!(reply["clientId"], "async-1");
    assert_eq!(reply["cid"], "app");
    let answer = reply["data"]["answer"].as_str().unwrap();
    assert!(answer.contains("50 euros"), "{reply}");
    assert_eq!(
        reply["data"]["replies"],
        json!([{"type": "text", "text": answer, "state": "/answered"}]),
        "{reply}"
    );
    assert_doc_timestamp(&reply["timestamp"], "botResponse timestamp");

    // The reply reaches the account's webhooks ("webhook for asynchronous requests").
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let delivered = loop {
        let found = receiver
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.json())
            .find(|d| d["data"]["message"]["id"] == reply_id);
        if let Some(found) = found {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reply {reply_id} was not delivered to the webhook within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivered["type"], "message.sent", "{delivered}");
    assert_eq!(delivered["data"]["channel"], "chatapi", "{delivered}");
    assert_eq!(delivered["data"]["external_id"], "async-1", "{delivered}");
    assert_eq!(delivered["data"]["message"]["text"], answer, "{delivered}");

    // The same exchange in the history and natively.
    let history = messages(app, &s.token, "async-1", &[]).await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[1]["id"], reply_id);
    let conversation = conversation_of(app, &s.key, &s.bot, "async-1").await;
    assert_eq!(conversation["channel"], "chatapi");
}

/// The document's webhook example (its `// Bot message` comment left out).
const WEBHOOK_EXAMPLE: &str = r#"{
"token": "token",
"clientId": "test",
"questionId": "12345",
"data": {
"nlpClass": "/CatchAll",
"confidence": -0.010999999999999979,
"replies": [
{
"type": "text",
"text": "Tell the bot something",
"state": "/CatchAll"
}
],
"answer": "Tell the bot something",
"newSessionStarted": false,
"debugData": [],
"endSession": false
},
"timestamp": "2022-09-28T12:32:13.262",
"blockForm": false
}"#;

/// The Aimylogic-format deliveries received so far (each an array of one item).
fn aimylogic_items(receiver: &Receiver) -> Vec<Value> {
    receiver
        .bodies()
        .into_iter()
        .filter_map(|b| b.as_array().cloned())
        .flatten()
        .collect()
}

#[tokio::test]
async fn an_aimylogic_webhook_gets_asynchronous_and_agent_replies_as_the_documented_array() {
    let (receiver, addr) = Receiver::start().await;
    let s = shop_with(|c| {
        c.allow_private_networks = true;
        c.allow_http_webhooks = true;
    })
    .await;
    let app = &s.app;
    // The channel's "Webhook URL": an endpoint in Aimylogic's format for this bot.
    let hook = app
        .post(
            "/v1/webhooks",
            &s.key,
            json!({"url": format!("http://{addr}/hook"), "format": "aimylogic", "bot_id": s.bot}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);
    assert_eq!(hook.body["format"], "aimylogic");
    assert_eq!(hook.body["events"], json!(["*"]));
    let hook_id = hook.body["id"].as_str().unwrap().to_owned();

    // A synchronous request has its reply in its response: it is not sent again.
    let sync = ask(
        app,
        &s.token,
        json!({"clientId": "sync-1", "query": "Is delivery free?"}),
    )
    .await;
    assert_eq!(sync.status, StatusCode::OK, "{}", sync.text);
    let r = app
        .get(&format!("/v1/webhooks/{hook_id}/deliveries"), &s.key)
        .await;
    assert_eq!(
        r.body["data"],
        json!([]),
        "nothing queued for a synchronous reply: {}",
        r.text
    );

    // An asynchronous request: its reply arrives as the document's array, under the questionId
    // `/async` returned.
    let r = call(
        app,
        Method::POST,
        &format!("/{}/async", s.token),
        Some(json!({"clientId": "async-2", "query": "Is delivery free?"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let question = question_id(&r);
    let delivery = receiver
        .wait_until("the asynchronous reply", |b| {
            b[0]["questionId"] == question.as_str()
        })
        .await;
    let body = delivery.json();
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(1),
        "an array of one: {body}"
    );
    let example: Value = serde_json::from_str(WEBHOOK_EXAMPLE).unwrap();
    common::receiver::assert_same_shape(&example, &body[0], &[]);
    let item = &body[0];
    assert_eq!(
        item["token"],
        &s.token[..8],
        "the token's visible prefix: {item}"
    );
    assert_eq!(item["clientId"], "async-2");
    assert_eq!(item["blockForm"], false);
    assert_doc_timestamp(&item["timestamp"], "webhook timestamp");
    let answer = item["data"]["answer"].as_str().unwrap();
    assert!(answer.contains("50 euros"), "{item}");
    assert_eq!(
        item["data"]["replies"],
        json!([{"type": "text", "text": answer, "state": "/answered"}])
    );
    assert_eq!(item["data"]["nlpClass"], "/answered");
    assert_eq!(item["data"]["newSessionStarted"], true);
    assert_eq!(item["data"]["endSession"], false);
    assert!(delivery.headers.get("webhook-signature").is_some());

    // An agent's reply to the client is sent too, as the document says.
    let conversation = conversation_of(app, &s.key, &s.bot, "async-2").await;
    agent_says(
        app,
        &s.key,
        conversation["id"].as_str().unwrap(),
        "Yes, and today it ships at once.",
    )
    .await;
    let body = receiver
        .wait_until("the agent's reply", |b| {
            b[0]["data"]["answer"] == "Yes, and today it ships at once."
        })
        .await
        .json();
    common::receiver::assert_same_shape(&example, &body[0], &[]);
    assert_eq!(body[0]["questionId"], question.as_str());
    assert_eq!(body[0]["data"]["nlpClass"], "/agent");
    assert_eq!(body[0]["data"]["newSessionStarted"], false);

    let items = aimylogic_items(&receiver);
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(
        items.iter().all(|i| i["clientId"] == "async-2"),
        "{items:?}"
    );

    // Bad input names the fix.
    for (body, says) in [
        (
            json!({"url": format!("http://{addr}/hook"), "format": "zapier"}),
            "use one of sitechat, aisa, asyntai, aimylogic",
        ),
        (
            json!({"url": format!("http://{addr}/hook"), "format": "aimylogic", "events": ["message.received"]}),
            "of the aimylogic format",
        ),
    ] {
        let r = app.post("/v1/webhooks", &s.key, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.message().contains(says), "{body}: {}", r.text);
    }
}

#[tokio::test]
async fn a_client_whose_conversation_ended_starts_a_new_one_and_keeps_its_history() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let r = ask(
        app,
        token,
        json!({"clientId": "returning", "query": "Is delivery free?", "data": {"visit": 1}}),
    )
    .await;
    let q1 = question_id(&r);
    assert_eq!(r.body["data"]["newSessionStarted"], true, "{}", r.text);
    let first = conversation_of(app, &s.key, &s.bot, "returning").await;
    let first = first["id"].as_str().unwrap().to_owned();
    let r = app
        .request(
            Method::POST,
            &format!("/v1/conversations/{first}/end"),
            Some(&s.key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let r = ask(
        app,
        token,
        json!({"clientId": "returning", "query": "When are you open on Saturdays?", "data": {"visit": 2}}),
    )
    .await;
    let q2 = question_id(&r);
    assert_eq!(
        r.body["data"]["newSessionStarted"], true,
        "a new conversation: {}",
        r.text
    );
    assert_eq!(r.body["data"]["endSession"], false, "{}", r.text);
    let conversations = conversations_of(app, &s.key, &s.bot, "returning").await;
    assert_eq!(conversations.len(), 2, "{conversations:?}");
    let second = conversations
        .iter()
        .find(|c| c["id"] != first.as_str())
        .unwrap();
    assert_eq!(second["variables"], json!({"visit": 2}), "{second}");
    assert_eq!(second["channel"], "chatapi", "{second}");

    // One history across both conversations, and the old messages keep their statuses.
    let all = messages(app, token, "returning", &[]).await;
    let questions: Vec<&str> = all
        .iter()
        .map(|m| m["questionId"].as_str().unwrap())
        .collect();
    assert_eq!(questions, [&q1, &q1, &q2, &q2], "{all:?}");
    assert_eq!(status_is(app, token, "returning", &q1).await, "SENT");
    let r = set_status(app, token, "returning", &q1, "READ").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(not_read(app, token, "returning").await, 1);
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn events_leave_out_the_asking_connection_and_default_to_agents_replies() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let before = moments_ago();
    let on_b = ask(
        app,
        token,
        json!({"clientId": "multi", "query": "Is delivery free?", "cid": "pageB"}),
    )
    .await;
    let question_b = question_id(&on_b);
    let on_a = ask(
        app,
        token,
        json!({"clientId": "multi", "query": "When are you open on Saturdays?", "cid": "pageA"}),
    )
    .await;
    let question_a = question_id(&on_a);

    // Everything, in order.
    let all = event_list(
        app,
        token,
        &[("clientId", "multi"), ("all", "true"), ("ts", &before)],
    )
    .await;
    assert_eq!(
        kinds(&all),
        [
            "clientRequest",
            "botResponse",
            "clientRequest",
            "botResponse"
        ],
        "{all:?}"
    );
    let questions: Vec<&str> = all
        .iter()
        .map(|e| e["questionId"].as_str().unwrap())
        .collect();
    assert_eq!(
        questions,
        [&question_b, &question_b, &question_a, &question_a],
        "{all:?}"
    );
    for e in &all {
        assert_eq!(e["clientId"], "multi", "{e}");
        assert!(e["id"].as_str().unwrap().starts_with("msg_"), "{e}");
        assert_doc_timestamp(&e["timestamp"], "event timestamp");
    }
    assert_eq!(all[1]["cid"], "pageB");
    assert_eq!(all[3]["cid"], "pageA");
    assert_eq!(all[3]["data"]["answer"], on_a.body["data"]["answer"]);

    // The connection asking already has its own requests and replies.
    let from_a = event_list(
        app,
        token,
        &[
            ("clientId", "multi"),
            ("all", "true"),
            ("cid", "pageA"),
            ("ts", &before),
        ],
    )
    .await;
    assert_eq!(
        kinds(&from_a),
        ["clientRequest", "botResponse"],
        "{from_a:?}"
    );
    assert!(
        from_a
            .iter()
            .all(|e| e["cid"] == "pageB" && e["questionId"] == question_b.as_str()),
        "{from_a:?}"
    );
    assert_eq!(from_a[0]["data"]["query"], "Is delivery free?");
    let from_b = event_list(
        app,
        token,
        &[
            ("clientId", "multi"),
            ("all", "true"),
            ("cid", "pageB"),
            ("ts", &before),
        ],
    )
    .await;
    assert!(
        from_b.len() == 2 && from_b.iter().all(|e| e["cid"] == "pageA"),
        "{from_b:?}"
    );

    // By default only agents' replies: none yet.
    let agents = event_list(app, token, &[("clientId", "multi"), ("ts", &before)]).await;
    assert!(agents.is_empty(), "{agents:?}");
    let agents = event_list(app, token, &[("clientId", "multi"), ("all", "false")]).await;
    assert!(agents.is_empty(), "{agents:?}");

    // An agent takes over and answers (with a button).
    let conversation = conversation_of(app, &s.key, &s.bot, "multi").await;
    let conversation = conversation["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/takeover"),
            &s.key,
            json!({"agent": "Alice"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/messages"),
            &s.key,
            json!({"role": "agent", "text": "Alice here: yes, 10am to 4pm on Saturdays.", "buttons": [{"title": "Thanks", "payload": "thanks"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let agent_message = r.body["id"].as_str().unwrap().to_owned();

    let expect_agent = |e: &Value| {
        assert_eq!(e["type"], "agentResponse", "{e}");
        assert_eq!(e["id"], agent_message.as_str(), "{e}");
        assert_eq!(e["questionId"], question_a.as_str(), "{e}");
        assert_eq!(e["clientId"], "multi", "{e}");
        assert_eq!(e["data"]["agent"], "Alice", "{e}");
        assert_eq!(
            e["data"]["answer"], "Alice here: yes, 10am to 4pm on Saturdays.",
            "{e}"
        );
        assert_eq!(
            e["data"]["replies"],
            json!([
                {"type": "text", "text": "Alice here: yes, 10am to 4pm on Saturdays.", "state": "/agent"},
                {"type": "buttons", "buttons": [{"text": "Thanks", "payload": "thanks"}], "state": "/agent"}
            ]),
            "{e}"
        );
        assert_doc_timestamp(&e["timestamp"], "agentResponse timestamp");
    };
    // Default: since the client's last request, agents' replies only.
    let agents = event_list(app, token, &[("clientId", "multi")]).await;
    assert_eq!(agents.len(), 1, "{agents:?}");
    expect_agent(&agents[0]);
    let agents = event_list(app, token, &[("clientId", "multi"), ("ts", &before)]).await;
    assert_eq!(agents.len(), 1, "{agents:?}");
    expect_agent(&agents[0]);
    // Agents' replies are always included, even to the connection asking.
    let from_a = event_list(
        app,
        token,
        &[
            ("clientId", "multi"),
            ("all", "true"),
            ("cid", "pageA"),
            ("ts", &before),
        ],
    )
    .await;
    assert_eq!(
        kinds(&from_a),
        ["clientRequest", "botResponse", "agentResponse"],
        "{from_a:?}"
    );
    expect_agent(&from_a[2]);

    // While a human owns the conversation, a synchronous request gets no bot reply.
    let r = ask(
        app,
        token,
        json!({"clientId": "multi", "query": "Thanks Alice!", "cid": "pageA"}),
    )
    .await;
    question_id(&r);
    assert_eq!(r.body["data"]["replies"], json!([]), "{}", r.text);
    assert_eq!(r.body["data"]["newSessionStarted"], false, "{}", r.text);
    // …and the agent's earlier reply is no longer "since the last request".
    let agents = event_list(app, token, &[("clientId", "multi")]).await;
    assert!(agents.is_empty(), "{agents:?}");
}

#[tokio::test]
async fn events_check_their_parameters_and_give_the_time_to_poll_from() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let before = moments_ago();
    ask_id(app, token, "poller", "Is delivery free?").await;

    let r = events(
        app,
        token,
        &[("clientId", "poller"), ("all", "true"), ("ts", &before)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["clientId"], "poller", "{}", r.text);
    let found = r.body["events"].as_array().unwrap();
    assert_eq!(found.len(), 2, "{}", r.text);
    let next = assert_next_ts(&r.body["nextTs"]);
    let last = parse_doc_time(found[1]["timestamp"].as_str().unwrap());
    assert!(next > last, "nextTs is after the last event: {}", r.text);
    // Polling from nextTs gives nothing new.
    let next_ts = r.body["nextTs"].as_str().unwrap().to_owned();
    let again = event_list(
        app,
        token,
        &[("clientId", "poller"), ("all", "true"), ("ts", &next_ts)],
    )
    .await;
    assert!(again.is_empty(), "{again:?}");

    // `ts` as Unix milliseconds.
    let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000).to_string();
    let past = ms(OffsetDateTime::now_utc() - time::Duration::minutes(1));
    let found = event_list(
        app,
        token,
        &[("clientId", "poller"), ("all", "true"), ("ts", &past)],
    )
    .await;
    assert_eq!(found.len(), 2, "{found:?}");
    // A `ts` in the future: nothing, and polling goes on from that time.
    let in_an_hour = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let future = ms(in_an_hour);
    let r = events(
        app,
        token,
        &[("clientId", "poller"), ("all", "true"), ("ts", &future)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["events"], json!([]), "{}", r.text);
    assert_eq!(
        assert_next_ts(&r.body["nextTs"]),
        parse_doc_time(&doc_time(in_an_hour)),
        "{}",
        r.text
    );
    let future_iso = doc_time(OffsetDateTime::now_utc() + time::Duration::hours(1));
    let found = event_list(
        app,
        token,
        &[("clientId", "poller"), ("all", "true"), ("ts", &future_iso)],
    )
    .await;
    assert!(found.is_empty(), "{found:?}");

    // A client with no messages yet.
    let r = events(app, token, &[("clientId", "nobody")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["events"], json!([]), "{}", r.text);
    assert_next_ts(&r.body["nextTs"]);

    // Bad parameters.
    let r = events(
        app,
        token,
        &[("clientId", "poller"), ("ts", "yesterday at noon")],
    )
    .await;
    let message = assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(message.contains("ts"), "{message}");
    let r = events(app, token, &[("all", "true")]).await;
    let message = assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(message.contains("clientId"), "{message}");
    let r = events(app, token, &[("clientId", "poller"), ("all", "maybe")]).await;
    assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let r = events(
        app,
        "ct_doesnotexist0000000000000000000000",
        &[("clientId", "poller")],
    )
    .await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn unknown_query_parameters_such_as_a_cache_buster_are_ignored() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let buster = ("_", "1733480000000");
    let before = moments_ago();
    // The simplified request.
    let r = get_query(
        app,
        &format!("/{token}"),
        &[
            ("clientId", "cache"),
            ("query", "Is delivery free?"),
            buster,
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let question = r.body["questionId"].as_str().unwrap().to_owned();
    // Events, with an unknown parameter beside the known ones, and a misspelt one.
    let found = event_list(
        app,
        token,
        &[
            ("clientId", "cache"),
            ("all", "true"),
            ("ts", &before),
            buster,
        ],
    )
    .await;
    assert_eq!(found.len(), 2, "{found:?}");
    let r = events(app, token, &[("clientId", "cache"), ("since", &before)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // History.
    let found = messages(app, token, "cache", &[buster, ("page", "2")]).await;
    assert_eq!(found.len(), 2, "{found:?}");
    // State, statuses and the unread count.
    for path in [
        format!("/{token}/client/cache/state"),
        format!("/{token}/client/cache/message/{question}/status"),
        format!("/{token}/client/cache/message-not-read-count"),
    ] {
        let r = get_query(app, &path, &[buster]).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn history_lists_client_bot_and_agent_messages_with_their_question_ids() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let first = ask(
        app,
        token,
        json!({"clientId": "hist", "query": "When are you open on Saturdays?", "cid": "web"}),
    )
    .await;
    let q1 = question_id(&first);
    // Whole seconds apart, so that the time window below falls cleanly between the exchanges.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let middle = OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let q2 = ask_id(app, token, "hist", "Is delivery free?").await;
    let conversation = conversation_of(app, &s.key, &s.bot, "hist").await;
    let conversation = conversation["id"].as_str().unwrap().to_owned();
    let agent = agent_says(app, &s.key, &conversation, "Anything else I can do?").await;

    let all = messages(app, token, "hist", &[]).await;
    assert_eq!(all.len(), 5, "{all:?}");
    let types: Vec<&str> = all.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["client", "bot", "client", "bot", "agent"],
        "{all:?}"
    );
    let questions: Vec<&str> = all
        .iter()
        .map(|m| m["questionId"].as_str().unwrap())
        .collect();
    assert_eq!(questions, [&q1, &q1, &q2, &q2, &q2], "{all:?}");
    assert_eq!(
        all[0]["id"],
        q1.as_str(),
        "a client message is its own question"
    );
    assert_eq!(all[2]["id"], q2.as_str());
    assert_eq!(all[4]["id"], agent["id"]);
    let mut ids: Vec<&str> = all.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|id| id.starts_with("msg_")), "{ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5, "every message has its own id: {all:?}");
    assert_eq!(all[0]["text"], "When are you open on Saturdays?");
    assert_eq!(all[1]["text"], first.body["data"]["answer"]);
    assert_eq!(all[4]["text"], "Anything else I can do?");
    assert_eq!(all[4]["agent"], "Alice");
    for m in &all[..4] {
        assert!(m["agent"].is_null(), "{m}");
    }
    assert!(all[0]["status"].is_null(), "{}", all[0]);
    for m in [&all[1], &all[3], &all[4]] {
        assert_eq!(m["status"], "SENT", "{m}");
    }
    assert_eq!(all[0]["cid"], "web");
    assert_eq!(
        all[1]["cid"], "web",
        "a reply has its question's connection"
    );
    assert!(all[2]["cid"].is_null(), "{}", all[2]);
    assert!(!all[1]["sources"].as_array().unwrap().is_empty());
    let mut previous = String::new();
    for m in &all {
        assert_doc_timestamp(&m["timestamp"], "history timestamp");
        let t = m["timestamp"].as_str().unwrap().to_owned();
        assert!(t >= previous, "oldest first: {all:?}");
        previous = t;
    }

    // The same messages natively, in the same order.
    let r = app
        .get(
            &format!("/v1/conversations/{conversation}/messages"),
            &s.key,
        )
        .await;
    let native: Vec<&Value> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    let ours: Vec<&Value> = all.iter().map(|m| &m["id"]).collect();
    assert_eq!(native, ours);

    // A time window (`from` as the document writes times, `to` as Unix milliseconds).
    let middle_doc = doc_time(middle);
    let middle_ms = (middle.unix_timestamp_nanos() / 1_000_000).to_string();
    let later = messages(app, token, "hist", &[("from", &middle_doc)]).await;
    assert_eq!(
        later.iter().map(|m| &m["id"]).collect::<Vec<_>>(),
        ours[2..],
        "{later:?}"
    );
    let earlier = messages(app, token, "hist", &[("to", &middle_ms)]).await;
    assert_eq!(
        earlier.iter().map(|m| &m["id"]).collect::<Vec<_>>(),
        ours[..2],
        "{earlier:?}"
    );
    let start = doc_time(OffsetDateTime::now_utc() - time::Duration::minutes(5));
    let window = messages(app, token, "hist", &[("from", &start), ("to", &middle_doc)]).await;
    assert_eq!(window.len(), 2, "{window:?}");

    // Paging.
    let page = messages(app, token, "hist", &[("limit", "2")]).await;
    assert_eq!(page.iter().map(|m| &m["id"]).collect::<Vec<_>>(), ours[..2]);
    let page = messages(app, token, "hist", &[("limit", "2"), ("offset", "2")]).await;
    assert_eq!(
        page.iter().map(|m| &m["id"]).collect::<Vec<_>>(),
        ours[2..4]
    );
    let page = messages(app, token, "hist", &[("offset", "5")]).await;
    assert!(page.is_empty(), "{page:?}");

    // A client with no messages.
    assert!(messages(app, token, "nobody", &[]).await.is_empty());
}

#[tokio::test]
async fn history_refuses_a_bad_window() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    ask_id(app, token, "hist", "Is delivery free?").await;
    let now = OffsetDateTime::now_utc();
    let before = doc_time(now - time::Duration::hours(1));
    let after = doc_time(now + time::Duration::hours(1));
    for (query, names) in [
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "1001")], "limit"),
        (
            vec![("from", after.as_str()), ("to", before.as_str())],
            "from",
        ),
        (vec![("from", "last tuesday")], "from"),
        (vec![("to", "2022-13-45T99:00:00")], "to"),
    ] {
        let r = history(app, token, "hist", &query).await;
        let message = assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
        assert!(message.contains(names), "{query:?}: {message}");
    }
    let r = history(app, token, "hist", &[("limit", "-1")]).await;
    assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    // The edges of the limit are fine.
    assert_eq!(
        messages(app, token, "hist", &[("limit", "1")]).await.len(),
        1
    );
    assert_eq!(
        messages(app, token, "hist", &[("limit", "1000")])
            .await
            .len(),
        2
    );
    // `from` equal to `to` is not "after".
    let r = history(app, token, "hist", &[("from", &before), ("to", &before)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn state_is_saved_and_loaded_per_client_and_must_be_json() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let path = |client: &str| format!("/{token}/client/{client}/state");

    // Before anything was saved: `{}`, for an unknown client and for one who chatted.
    let r = call(app, Method::GET, &path("widget-1"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({}), "{}", r.text);
    ask_id(app, token, "chatty", "Is delivery free?").await;
    let r = call(app, Method::GET, &path("chatty"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({}), "{}", r.text);

    let state = json!({
        "open": true,
        "unread": 3,
        "ratio": 0.25,
        "big": 12345678901234u64,
        "nothing": null,
        "title": "Café ☕ « Lyon »",
        "pages": ["/", "/pricing", {"nested": {"deep": [1, [2, [3]]]}}],
        "empty": {},
    });
    let r = call(app, Method::POST, &path("widget-1"), Some(state.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, state, "the saved object is returned: {}", r.text);
    let r = call(app, Method::GET, &path("widget-1"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, state, "loaded as saved: {}", r.text);

    // Not JSON: refused, and the saved state stays.
    for (content_type, bad) in [
        ("application/json", "{\"open\": tru"),
        ("application/json", "{} {}"),
        ("application/json", ""),
        ("text/plain", "{\"open\": false}"),
    ] {
        let r = raw_state(app, token, "widget-1", content_type, bad).await;
        let message = if content_type == "text/plain" {
            assert_dialect_error(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_REQUEST")
        } else {
            assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST")
        };
        assert!(message.contains("JSON"), "{bad:?}: {message}");
    }
    let r = call(app, Method::GET, &path("widget-1"), None).await;
    assert_eq!(r.body, state, "unchanged after refused saves: {}", r.text);

    // A new save replaces the whole object; each client has its own.
    let replaced = json!({"open": false});
    let r = call(app, Method::POST, &path("widget-1"), Some(replaced.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call(app, Method::GET, &path("widget-1"), None).await;
    assert_eq!(r.body, replaced, "{}", r.text);
    let r = call(app, Method::POST, &path("chatty"), Some(json!({"step": 2}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call(app, Method::GET, &path("chatty"), None).await;
    assert_eq!(r.body, json!({"step": 2}), "{}", r.text);
    let r = call(app, Method::GET, &path("widget-1"), None).await;
    assert_eq!(r.body, replaced, "{}", r.text);
    // Saving a state does not start a conversation.
    assert!(conversations_of(app, &s.key, &s.bot, "widget-1")
        .await
        .is_empty());
}

/// Posts `body` as the client's state, exactly these bytes, with this `Content-Type`.
async fn raw_state(
    app: &TestApp,
    token: &str,
    client: &str,
    content_type: &str,
    body: &str,
) -> Response {
    let response = app
        .client
        .post(format!("{}{BASE}/{token}/client/{client}/state", app.base))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    TestApp::read(response).await
}

#[tokio::test]
async fn state_comes_back_byte_for_byte_and_need_not_be_an_object() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let path = format!("/{token}/client/widget-1/state");

    // Key order, spacing, escapes and number spelling are the client's: the document says "its
    // contents are not checked" and GET returns it "as is".
    let sent = "{ \"zeta\": 1,\n  \"alpha\": [ 1.50, 2e3, -0 ],\"mid\" : {\"b\":\"\\u00e9\", \"a\":null},\n\"big\": 123456789012345678901234567890 }";
    let r = raw_state(app, token, "widget-1", "application/json", sent).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text, sent, "the save answers with the state as sent");
    let r = call(app, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text, sent, "loaded byte for byte");
    let parsed: Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(parsed["zeta"], 1, "{}", r.text);

    // Read natively, the contact's state is the same text.
    let contacts = app
        .get(&format!("/v1/contacts?bot_id={}", s.bot), &s.key)
        .await;
    assert_eq!(contacts.status, StatusCode::OK, "{}", contacts.text);
    let contact = contacts.body["data"][0]["id"].as_str().unwrap().to_owned();
    let native = app
        .get(&format!("/v1/contacts/{contact}/state"), &s.key)
        .await;
    assert_eq!(native.status, StatusCode::OK, "{}", native.text);
    assert_eq!(native.text, sent, "the native route reads the same bytes");

    // Not an object: kept as sent too, whatever the JSON value.
    for sent in ["[3, 1, 2]", "\"checkout\"", "42", "true", "null", " { } "] {
        let r = raw_state(app, token, "widget-1", "application/json", sent).await;
        assert_eq!(r.status, StatusCode::OK, "{sent}: {}", r.text);
        assert_eq!(r.text, sent, "echoed as sent");
        let r = call(app, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{sent}: {}", r.text);
        assert_eq!(r.text, sent, "loaded as sent");
        assert!(
            r.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json")),
            "{sent}: {:?}",
            r.headers
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Statuses
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn message_statuses_are_read_and_updated_by_question_id() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let q1 = ask_id(app, token, "reader", "When are you open on Saturdays?").await;
    let q2 = ask_id(app, token, "reader", "Is delivery free?").await;
    let all = messages(app, token, "reader", &[]).await;
    let r1 = all[1]["id"].as_str().unwrap().to_owned();
    let r2 = all[3]["id"].as_str().unwrap().to_owned();

    assert_eq!(status_is(app, token, "reader", &q1).await, "SENT");
    assert_eq!(status_is(app, token, "reader", &r1).await, "SENT");
    assert_eq!(not_read(app, token, "reader").await, 2);

    // Read, through the client's message.
    let r = set_status(app, token, "reader", &q1, "READ").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"questionId": q1, "status": "READ"}),
        "{}",
        r.text
    );
    assert_eq!(status_is(app, token, "reader", &q1).await, "READ");
    assert_eq!(status_is(app, token, "reader", &r1).await, "READ");
    let native = app.get(&format!("/v1/messages/{r1}"), &s.key).await;
    assert_eq!(native.status, StatusCode::OK, "{}", native.text);
    assert_eq!(native.body["status"], "READ", "{}", native.text);
    let native = app.get(&format!("/v1/messages/{r2}"), &s.key).await;
    assert_eq!(native.body["status"], "SENT", "{}", native.text);
    assert_eq!(not_read(app, token, "reader").await, 1);
    let all = messages(app, token, "reader", &[]).await;
    assert_eq!(all[1]["status"], "READ");
    assert_eq!(all[3]["status"], "SENT");

    // Delivered, through the reply itself.
    let r = set_status(app, token, "reader", &r2, "DELIVERED").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "DELIVERED", "{}", r.text);
    assert_eq!(status_is(app, token, "reader", &q2).await, "DELIVERED");
    assert_eq!(not_read(app, token, "reader").await, 1);
    let r = set_status(app, token, "reader", &q2, "READ").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(not_read(app, token, "reader").await, 0);

    // Errors.
    let r = set_status(app, token, "reader", &q2, "SEEN").await;
    let message = assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(message.contains("status"), "{message}");
    let r = call(
        app,
        Method::POST,
        &format!("/{token}/client/reader/message/{q2}/status"),
        Some(json!({})),
    )
    .await;
    assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    for unknown in ["msg_doesnotexist000000000000", "not-a-message-id"] {
        let r = status_of(app, token, "reader", unknown).await;
        assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
        let r = set_status(app, token, "reader", unknown, "READ").await;
        assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    }
    // Another client's message is not this client's.
    let other = ask_id(app, token, "someone-else", "Is delivery free?").await;
    let r = status_of(app, token, "reader", &other).await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    let r = set_status(app, token, "reader", &other, "READ").await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    assert_eq!(status_is(app, token, "someone-else", &other).await, "SENT");
    assert_eq!(not_read(app, token, "someone-else").await, 1);
    assert_eq!(not_read(app, token, "nobody").await, 0);
}

#[tokio::test]
async fn the_bulk_status_update_is_all_or_nothing() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let q1 = ask_id(app, token, "bulk", "When are you open on Saturdays?").await;
    let q2 = ask_id(app, token, "bulk", "Is delivery free?").await;
    let path = format!("/{token}/client/bulk/message-statuses");
    let unchanged = |what: &str| format!("{what}: nothing may change");

    let r = call(
        app,
        Method::POST,
        &path,
        Some(json!({"statuses": [
            {"questionId": q1, "status": "READ"},
            {"questionId": "msg_doesnotexist000000000000", "status": "READ"},
        ]})),
    )
    .await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    assert_eq!(
        status_is(app, token, "bulk", &q1).await,
        "SENT",
        "{}",
        unchanged("an unknown id")
    );
    assert_eq!(not_read(app, token, "bulk").await, 2);

    let r = call(
        app,
        Method::POST,
        &path,
        Some(json!({"statuses": [
            {"questionId": q1, "status": "READ"},
            {"questionId": q2, "status": "SEEN"},
        ]})),
    )
    .await;
    let message = assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(message.contains("statuses[1].status"), "{message}");
    assert_eq!(
        status_is(app, token, "bulk", &q1).await,
        "SENT",
        "{}",
        unchanged("a bad status")
    );

    for bad in [json!({"statuses": []}), json!({}), json!([])] {
        let r = call(app, Method::POST, &path, Some(bad.clone())).await;
        assert_dialect_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    }
    assert_eq!(not_read(app, token, "bulk").await, 2);

    let r = call(
        app,
        Method::POST,
        &path,
        Some(json!({"statuses": [
            {"questionId": q1, "status": "READ"},
            {"questionId": q2, "status": "DELIVERED"},
        ]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"statuses": [
            {"questionId": q1, "status": "READ"},
            {"questionId": q2, "status": "DELIVERED"},
        ]}),
        "{}",
        r.text
    );
    assert_eq!(status_is(app, token, "bulk", &q1).await, "READ");
    assert_eq!(status_is(app, token, "bulk", &q2).await, "DELIVERED");
    assert_eq!(not_read(app, token, "bulk").await, 1);
    let r = call(
        app,
        Method::POST,
        &path,
        Some(json!({"statuses": [{"questionId": q2, "status": "READ"}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(not_read(app, token, "bulk").await, 0);
}

#[tokio::test]
async fn a_questions_status_is_the_least_advanced_of_its_replies() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let q1 = ask_id(app, token, "least", "When are you open on Saturdays?").await;
    let r = set_status(app, token, "least", &q1, "READ").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(not_read(app, token, "least").await, 0);

    // An agent adds a reply to the same question: the question is SENT again.
    let conversation = conversation_of(app, &s.key, &s.bot, "least").await;
    let agent = agent_says(
        app,
        &s.key,
        conversation["id"].as_str().unwrap(),
        "Alice here, anything else?",
    )
    .await;
    let agent = agent["id"].as_str().unwrap();
    assert_eq!(status_is(app, token, "least", agent).await, "SENT");
    assert_eq!(status_is(app, token, "least", &q1).await, "SENT");
    assert_eq!(not_read(app, token, "least").await, 1);
    let r = set_status(app, token, "least", agent, "DELIVERED").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(status_is(app, token, "least", &q1).await, "DELIVERED");

    // Updating the question updates every reply to it.
    let r = set_status(app, token, "least", &q1, "READ").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "READ", "{}", r.text);
    assert_eq!(status_is(app, token, "least", agent).await, "READ");
    assert_eq!(not_read(app, token, "least").await, 0);
}

// ---------------------------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_id_only_reaches_the_messages_of_the_bot_behind_the_token() {
    let app = TestApp::start().await;
    let key_a = app.create_account("pro").await;
    let (bot_a, token_a) = bot_with_token(&app, &key_a, "Shop A").await;
    app.add_text(&key_a, &bot_a, "FAQ", SHOP_FAQ).await;
    let key_b = app.create_account("pro").await;
    let (bot_b, token_b) = bot_with_token(&app, &key_b, "Shop B").await;
    app.add_text(
        &key_b,
        &bot_b,
        "Unicorns",
        "Our unicorn stable in Brussels grooms every unicorn on Tuesdays with a golden brush.",
    )
    .await;
    let client = "shared-client@example.com";
    let before = moments_ago();

    let b_question = ask_id(&app, &token_b, client, "When are unicorns groomed?").await;
    let a_question = ask_id(&app, &token_a, client, "Is delivery free?").await;
    let r = call(
        &app,
        Method::POST,
        &format!("/{token_b}/client/{client}/state"),
        Some(json!({"secret": "B"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // History and events under A's token: A's messages only.
    let history_a = messages(&app, &token_a, client, &[]).await;
    assert_eq!(history_a.len(), 2, "{history_a:?}");
    assert_eq!(history_a[0]["id"], a_question.as_str());
    let text = serde_json::to_string(&history_a).unwrap();
    assert!(
        !text.contains("unicorn") && !text.contains(&b_question),
        "{text}"
    );
    let events_a = event_list(
        &app,
        &token_a,
        &[("clientId", client), ("all", "true"), ("ts", &before)],
    )
    .await;
    assert_eq!(events_a.len(), 2, "{events_a:?}");
    assert!(
        !serde_json::to_string(&events_a)
            .unwrap()
            .contains("unicorn"),
        "{events_a:?}"
    );
    let history_b = messages(&app, &token_b, client, &[]).await;
    assert_eq!(history_b.len(), 2, "{history_b:?}");
    assert_eq!(history_b[0]["id"], b_question.as_str());
    assert!(history_b[1]["text"].as_str().unwrap().contains("Tuesdays"));

    // B's messages and state are out of reach through A's token.
    let r = status_of(&app, &token_a, client, &b_question).await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    let r = set_status(&app, &token_a, client, &b_question, "READ").await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    let r = call(
        &app,
        Method::POST,
        &format!("/{token_a}/client/{client}/message-statuses"),
        Some(json!({"statuses": [{"questionId": b_question, "status": "READ"}]})),
    )
    .await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    assert_eq!(status_is(&app, &token_b, client, &b_question).await, "SENT");
    assert_eq!(not_read(&app, &token_a, client).await, 1);
    assert_eq!(not_read(&app, &token_b, client).await, 1);
    let r = call(
        &app,
        Method::GET,
        &format!("/{token_a}/client/{client}/state"),
        None,
    )
    .await;
    assert_eq!(r.body, json!({}), "{}", r.text);

    // Each account sees its own conversation natively.
    let ours = conversations_of(&app, &key_a, &bot_a, client).await;
    assert_eq!(ours.len(), 1, "{ours:?}");
    let r = app.get("/v1/conversations", &key_a).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1, "{}", r.text);

    // Another bot of the same account is another channel, with its own clients.
    let (_, token_a2) = bot_with_token(&app, &key_a, "Shop A, second site").await;
    assert!(messages(&app, &token_a2, client, &[]).await.is_empty());
    let r = status_of(&app, &token_a2, client, &a_question).await;
    assert_dialect_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn channel_requests_count_against_the_accounts_hourly_allowance() {
    let app = TestApp::start().await;
    let key = app.create_account("free").await;
    let (_, token) = bot_with_token(&app, &key, "Small shop").await;
    let path = format!("/{token}/client/someone/history");
    let mut served = 0;
    let refused = loop {
        let r = call(&app, Method::GET, &path, None).await;
        if r.status != StatusCode::OK {
            break r;
        }
        served += 1;
        assert_eq!(r.headers["x-ratelimit-limit"], "100", "{:?}", r.headers);
        assert!(served <= 100, "the free plan allows 100 requests an hour");
    };
    // The bot's creation with the account's key came out of the same allowance.
    assert_eq!(served, 99, "{}", refused.text);
    let message = assert_dialect_error(
        &refused,
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMIT_EXCEEDED",
    );
    assert!(message.contains("100"), "{message}");
    assert!(
        refused.headers.contains_key("retry-after"),
        "{:?}",
        refused.headers
    );
    assert_eq!(refused.headers["x-ratelimit-remaining"], "0");
    // The account's keyed requests are refused too: it is one allowance.
    let r = app.get("/v1/bots", &key).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
}

// ---------------------------------------------------------------------------------------------
// Time bounds
// ---------------------------------------------------------------------------------------------

/// `ts`, `from` and `to` are times: a bound is met by every message at or after (before) that
/// instant, however the bound is written — with milliseconds as the channel writes times, whole
/// seconds, or RFC 3339 with an offset.
#[tokio::test]
async fn time_bounds_are_compared_as_instants_whatever_their_precision_or_offset() {
    let s = shop().await;
    let app = &s.app;
    let token = &s.token;
    let question = ask_id(app, token, "bounds", "Is delivery free?").await;
    let all = messages(app, token, "bounds", &[]).await;
    let shown = all[0]["timestamp"].as_str().unwrap().to_owned();
    let at = parse_doc_time(&shown);
    let rfc3339 = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let bounds = [
        ("the message's own timestamp", shown.clone()),
        ("its whole second", shown[..19].to_owned()),
        (
            "2 s earlier, at +02:00",
            rfc3339((at - time::Duration::seconds(2)).to_offset(time::macros::offset!(+2))),
        ),
        (
            "2 s earlier, at -05:00",
            rfc3339((at - time::Duration::seconds(2)).to_offset(time::macros::offset!(-5))),
        ),
    ];
    let mut failures = Vec::new();
    for (what, from) in &bounds {
        let found = messages(app, token, "bounds", &[("from", from)]).await;
        if !found.iter().any(|m| m["id"] == question.as_str()) {
            failures.push(format!(
                "history from={from} ({what}) leaves out the message at {shown}"
            ));
        }
        let found = event_list(
            app,
            token,
            &[("clientId", "bounds"), ("all", "true"), ("ts", from)],
        )
        .await;
        if !found.iter().any(|e| e["id"] == question.as_str()) {
            failures.push(format!(
                "events ts={from} ({what}) leaves out the request at {shown}"
            ));
        }
    }
    // An upper bound 2 s later, written at -05:00, includes it; 2 s earlier at +02:00 does not.
    let later = rfc3339((at + time::Duration::seconds(2)).to_offset(time::macros::offset!(-5)));
    let found = messages(app, token, "bounds", &[("to", &later)]).await;
    if !found.iter().any(|m| m["id"] == question.as_str()) {
        failures.push(format!(
            "history to={later} leaves out the message at {shown}"
        ));
    }
    let earlier = rfc3339((at - time::Duration::seconds(2)).to_offset(time::macros::offset!(+2)));
    let found = messages(app, token, "bounds", &[("to", &earlier)]).await;
    if !found.is_empty() {
        failures.push(format!(
            "history to={earlier} includes messages from {shown}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
