//! Conversations as a service: the handoff state machine, agents, leads, events, live updates,
//! statuses, state, feedback and idempotent retries — all through HTTP.

use crate::common;

use std::{sync::Arc, time::Duration};

use common::{TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn shop(app: &TestApp) -> String {
    let bot = app.create_bot(&app.admin_key, "Shop").await;
    app.add_text(&app.admin_key, &bot, "FAQ", SHOP_FAQ).await;
    bot
}

async fn conversation(app: &TestApp, bot: &str) -> String {
    let r = app
        .chat(&app.admin_key, bot, json!({"message": "Is delivery free?"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["conversation_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_handoff_transition_and_every_illegal_one() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let conv = conversation(&app, &bot).await;
    let path = |action: &str| format!("/v1/conversations/{conv}/{action}");

    // From bot: release is illegal; escalate, takeover and end are legal.
    let r = app.post(&path("release"), &key, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.message().contains("bot already owns"), "{}", r.message());
    let r = app.post(&path("escalate"), &key, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "waiting_for_agent");
    assert_eq!(r.body["handoff_reason"], "api");

    // From waiting: escalate again is illegal; takeover is legal.
    let r = app.post(&path("escalate"), &key, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let queue = app
        .get(
            &format!("/v1/conversations?status=waiting_for_agent&bot_id={bot}"),
            &key,
        )
        .await;
    assert_eq!(queue.body["data"][0]["id"], conv.as_str(), "{}", queue.text);
    let r = app
        .post(&path("takeover"), &key, json!({"agent": "Marie"}))
        .await;
    assert_eq!(r.body["status"], "agent", "{}", r.text);
    assert_eq!(r.body["assignee"], "Marie");

    // From agent: takeover and escalate are illegal; release goes back to the bot.
    assert_eq!(
        app.post(&path("takeover"), &key, json!({"agent": "Paul"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post(&path("escalate"), &key, json!({})).await.status,
        StatusCode::CONFLICT
    );
    let r = app.post(&path("release"), &key, json!({})).await;
    assert_eq!(r.body["status"], "bot", "{}", r.text);
    assert!(r.body["assignee"].is_null());

    // Takeover straight from the bot, then waiting → release, then end; nothing after the end.
    assert_eq!(
        app.post(&path("takeover"), &key, json!({"agent": "Marie"}))
            .await
            .body["status"],
        "agent"
    );
    assert_eq!(
        app.post(&path("release"), &key, json!({})).await.body["status"],
        "bot"
    );
    assert_eq!(
        app.post(&path("escalate"), &key, json!({})).await.body["status"],
        "waiting_for_agent"
    );
    assert_eq!(
        app.post(&path("release"), &key, json!({})).await.body["status"],
        "bot"
    );
    let r = app.post(&path("end"), &key, json!({})).await;
    assert_eq!(r.body["status"], "ended");
    assert!(r.body["ended_at"].is_string());
    for action in ["end", "escalate", "release"] {
        let r = app.post(&path(action), &key, json!({})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{action}");
        assert!(r.message().contains("ended"), "{}", r.message());
    }
    assert_eq!(
        app.post(&path("takeover"), &key, json!({"agent": "M"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "hello?", "conversation_id": conv}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app.post(&path("takeover"), &key, json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "agent is required");

    let events = app
        .get(
            &format!("/v1/events?conversation_id={conv}&limit=100"),
            &key,
        )
        .await;
    let kinds: Vec<_> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "conversation.started",
            "message.received",
            "message.sent",
            "escalation.requested",
            "takeover.started",
            "takeover.ended",
            "takeover.started",
            "takeover.ended",
            "escalation.requested",
            "conversation.ended",
        ]
    );
}

#[tokio::test]
async fn a_visitor_asking_for_a_human_is_handed_over_and_the_agent_replies_live() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let r = app.chat(&key, &bot, json!({"message": "I want to talk to a human please", "contact": {"external_id": "v-1", "name": "Léa"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "handoff");
    assert_eq!(r.body["status"], "waiting_for_agent");
    assert_eq!(r.body["handoff_reason"], "visitor_asked");
    let conv = r.body["conversation_id"].as_str().unwrap().to_owned();

    // While waiting, the bot is silent.
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Is delivery free?", "conversation_id": conv}),
        )
        .await;
    assert!(r.body["reply"].is_null(), "{}", r.text);
    assert!(r.body["message_id"].is_null());

    // A live client connected to the conversation receives the agent's reply.
    let stream = app
        .client
        .get(format!("{}/v1/conversations/{conv}/stream", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let r = app
        .post(
            &format!("/v1/conversations/{conv}/takeover"),
            &key,
            json!({"agent": "Marie"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &format!("/v1/conversations/{conv}/messages"),
            &key,
            json!({"role": "agent", "text": "Hello Léa, Marie here. How can I help?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["author"], "Marie");
    assert_eq!(r.body["status"], "SENT");
    let mut stream = stream;
    let mut seen = String::new();
    let read = async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("Marie here") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("the agent's reply arrives on the stream");
    assert!(
        seen.contains("event: status") && seen.contains("event: message"),
        "{seen}"
    );

    // The agent owns it: the bot stays silent; released, it answers again.
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Is delivery free?", "conversation_id": conv}),
        )
        .await;
    assert!(r.body["reply"].is_null());
    assert_eq!(r.body["status"], "agent");
    app.post(
        &format!("/v1/conversations/{conv}/release"),
        &key,
        json!({}),
    )
    .await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Is delivery free?", "conversation_id": conv}),
        )
        .await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);

    // An agent cannot write while the bot owns the conversation.
    let r = app
        .post(
            &format!("/v1/conversations/{conv}/messages"),
            &key,
            json!({"role": "agent", "text": "hi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.message().contains("take it over"), "{}", r.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_never_answers_while_an_agent_owns_the_conversation_even_under_concurrent_messages()
{
    let app = Arc::new(TestApp::start().await);
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let conv = conversation(&app, &bot).await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (app, key, bot, conv) = (app.clone(), key.clone(), bot.clone(), conv.clone());
        tasks.push(tokio::spawn(async move {
            if i == 10 {
                app.post(
                    &format!("/v1/conversations/{conv}/takeover"),
                    &key,
                    json!({"agent": "Marie"}),
                )
                .await
            } else {
                app.chat(
                    &key,
                    &bot,
                    json!({"message": "Is delivery free?", "conversation_id": conv}),
                )
                .await
            }
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().status, StatusCode::OK);
    }
    // In the event log's order, no bot message follows the takeover.
    let events = app
        .get(
            &format!("/v1/events?conversation_id={conv}&limit=500"),
            &key,
        )
        .await;
    let events = events.body["data"].as_array().unwrap();
    let takeover = events
        .iter()
        .position(|e| e["type"] == "takeover.started")
        .unwrap();
    let late_bot = events[takeover..]
        .iter()
        .filter(|e| e["type"] == "message.sent" && e["data"]["message"]["role"] == "bot")
        .count();
    assert_eq!(late_bot, 0, "the bot spoke after the takeover");
    let received = events
        .iter()
        .filter(|e| e["type"] == "message.received")
        .count();
    assert_eq!(received, 30, "every visitor message is stored");
}

#[tokio::test]
async fn repeated_fallbacks_hand_the_conversation_to_a_human() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Do you repair helicopter engines?", "contact_id": "v-9"}),
        )
        .await;
    let conv = r.body["conversation_id"].as_str().unwrap().to_owned();
    assert!(
        r.body["reply"]
            .as_str()
            .unwrap()
            .contains("email address or phone number"),
        "asks for contact details: {}",
        r.text
    );
    for question in ["What about submarine hulls?", "And rocket boosters?"] {
        let r = app
            .chat(
                &key,
                &bot,
                json!({"message": question, "conversation_id": conv}),
            )
            .await;
        assert_eq!(r.body["outcome"], "fallback", "{}", r.text);
    }
    let c = app.get(&format!("/v1/conversations/{conv}"), &key).await;
    assert_eq!(c.body["status"], "waiting_for_agent", "{}", c.text);
    assert_eq!(c.body["handoff_reason"], "low_confidence");
}

#[tokio::test]
async fn contact_details_in_a_message_become_a_lead_once() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"region": "fr"}}),
        )
        .await;
    assert_eq!(r.body["settings"]["region"], "FR", "{}", r.text);
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"region": "France"}}),
        )
        .await;
    assert!(r.message().starts_with("settings.region"), "{}", r.text);
    let r = app.chat(&key, &bot, json!({"message": "Call me on 06 12 34 56 78 or write to jane+shop@example.com", "contact_id": "v-7"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lead = r.body["lead_id"]
        .as_str()
        .expect("a lead was captured")
        .to_owned();
    assert_eq!(r.body["outcome"], "smalltalk");
    let conv = r.body["conversation_id"].as_str().unwrap().to_owned();
    let again = app.chat(&key, &bot, json!({"message": "again: jane+shop@example.com, 06 12 34 56 78", "conversation_id": conv})).await;
    assert!(
        again.body["lead_id"].is_null(),
        "the same details make no second lead"
    );

    let contact = app
        .get(
            &format!("/v1/contacts/{}", r.body["contact_id"].as_str().unwrap()),
            &key,
        )
        .await;
    assert_eq!(contact.body["email"], "jane+shop@example.com");
    assert_eq!(contact.body["phone"], "+33612345678");
    let leads = app.get(&format!("/v1/leads?bot_id={bot}"), &key).await;
    let data = leads.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], lead.as_str());
    assert_eq!(data[0]["external_id"], "v-7");
    let csv = app.get("/v1/leads?format=csv", &key).await;
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let lines: Vec<_> = csv.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    assert!(lines[1].contains("jane+shop@example.com") && lines[1].contains("+33612345678"));
    let events = app.get("/v1/events?types=lead.captured", &key).await;
    assert_eq!(events.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        events.body["data"][0]["data"]["email"],
        "jane+shop@example.com"
    );

    // A price or an order number is not a lead.
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "My order #123456789 cost €1,299.00 on 12/05/2024"}),
        )
        .await;
    assert!(r.body["lead_id"].is_null(), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_feed_returns_every_event_exactly_once_while_events_are_written() {
    let app = Arc::new(TestApp::start().await);
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let writer = {
        let (app, key, bot) = (app.clone(), key.clone(), bot.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                app.chat(&key, &bot, json!({"message": format!("hello number {i}")}))
                    .await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let page = app.get(&format!("/v1/events?limit=7{cursor}"), &key).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        seen.extend(
            page.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        cursor = format!("&cursor={}", page.body["next_cursor"].as_str().unwrap());
        if writer.is_finished() && !page.body["has_more"].as_bool().unwrap() {
            // One more read after the writer is done catches events written during the last page.
            let last = app
                .get(&format!("/v1/events?limit=500{cursor}"), &key)
                .await;
            seen.extend(
                last.body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["id"].as_str().unwrap().to_owned()),
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
    }
    let all = app.get("/v1/events?limit=500", &key).await;
    let all: Vec<String> = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, all, "every event exactly once, in order");
    assert!(all.len() >= 40 * 3);
}

#[tokio::test]
async fn an_idempotent_retry_returns_the_first_result_and_writes_nothing() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let send = |body: Value, idem: &'static str| {
        app.client
            .post(format!("{}/v1/bots/{bot}/chat", app.base))
            .bearer_auth(&key)
            .header("Idempotency-Key", idem)
            .json(&body)
            .send()
    };
    let first = TestApp::read(
        send(
            json!({"message": "Is delivery free?", "contact_id": "v-3"}),
            "retry-1",
        )
        .await
        .unwrap(),
    )
    .await;
    let second = TestApp::read(
        send(
            json!({"message": "Is delivery free?", "contact_id": "v-3"}),
            "retry-1",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body, first.body, "same message ids, same reply");
    assert_eq!(second.headers["idempotent-replayed"], "true");
    let conv = first.body["conversation_id"].as_str().unwrap();
    let history = app
        .get(&format!("/v1/conversations/{conv}/messages"), &key)
        .await;
    assert_eq!(
        history.body["data"].as_array().unwrap().len(),
        2,
        "nothing new was written"
    );
    let conversations = app.get("/v1/conversations", &key).await;
    assert_eq!(conversations.body["data"].as_array().unwrap().len(), 1);

    let other = TestApp::read(
        send(json!({"message": "Something else"}), "retry-1")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        other.message().contains("different request"),
        "{}",
        other.text
    );
}

/// A keyed chat request as the server leaves it when it dies after storing the visitor's message:
/// the message with its key pending (and the bot's reply, when `answer` is given), written as the
/// chat service writes them. Returns the visitor message's id.
async fn interrupted(
    app: &TestApp,
    bot: &str,
    body: &Value,
    idem: &str,
    answer: Option<&str>,
) -> String {
    use sitechat_core::{AccountId, BotId};
    use sitechat_store::{BotReply, KeyedRequest, NewConversation, NewMessage, StartConversation};

    let account = app.get("/v1/account", &app.admin_key).await;
    let account = AccountId::from_trusted(account.body["id"].as_str().unwrap().to_owned());
    let store = sitechat_store::Store::open(&app.data_dir.join("sitechat.db"))
        .await
        .unwrap();
    let fingerprint = sitechat_server::idempotency::fingerprint(
        &reqwest::Method::POST,
        &format!("/v1/bots/{bot}/chat"),
        &serde_json::to_vec(body).unwrap(),
    );
    let (conversation, message, _) = store
        .record_visitor_message(
            &account,
            &BotId::from_trusted(bot.to_owned()),
            StartConversation::New(NewConversation {
                channel: "api".to_owned(),
                ..NewConversation::default()
            }),
            body["message"].as_str().unwrap().to_owned(),
            None,
            Some(&KeyedRequest {
                key: idem.to_owned(),
                fingerprint,
            }),
        )
        .await
        .unwrap();
    if let Some(answer) = answer {
        let stored = store
            .append_bot_message(
                &account,
                &conversation.id,
                &message.id,
                NewMessage::text(sitechat_core::model::Role::Bot, answer),
            )
            .await
            .unwrap();
        assert!(matches!(stored, BotReply::Stored(_)));
    }
    store.close().await;
    message.id.as_str().to_owned()
}

/// Sends a chat request with an `Idempotency-Key`, its body as `serde_json` writes it.
async fn keyed_chat(app: &TestApp, bot: &str, body: &Value, idem: &str) -> common::Response {
    let response = app
        .client
        .post(format!("{}/v1/bots/{bot}/chat", app.base))
        .bearer_auth(&app.admin_key)
        .header("Idempotency-Key", idem)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    TestApp::read(response).await
}

/// The messages of the conversations of a bot, as (role, text), conversation by conversation.
async fn transcripts(app: &TestApp, bot: &str) -> Vec<Vec<(String, String)>> {
    let list = app
        .get(
            &format!("/v1/conversations?bot_id={bot}&limit=100"),
            &app.admin_key,
        )
        .await;
    let mut all = Vec::new();
    for c in list.body["data"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let messages = app
            .get(
                &format!("/v1/conversations/{id}/messages?limit=100"),
                &app.admin_key,
            )
            .await;
        all.push(
            messages.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["role"].as_str().unwrap().to_owned(),
                        m["text"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
        );
    }
    all
}

#[tokio::test]
async fn a_retry_answers_the_message_its_interrupted_first_attempt_stored() {
    let app = TestApp::start().await;
    let bot = shop(&app).await;
    let body = json!({"message": "When are you open on Saturdays?"});
    let stored = interrupted(&app, &bot, &body, "crash-1", None).await;

    let retry = keyed_chat(&app, &bot, &body, "crash-1").await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert!(retry.headers.get("idempotent-replayed").is_none());
    assert_eq!(
        retry.body["visitor_message_id"],
        stored.as_str(),
        "the stored message, not a new one"
    );
    assert!(
        retry.body["reply"]
            .as_str()
            .unwrap()
            .contains("10am to 4pm"),
        "{}",
        retry.text
    );
    assert_eq!(
        transcripts(&app, &bot).await,
        vec![vec![
            (
                "visitor".to_owned(),
                "When are you open on Saturdays?".to_owned()
            ),
            (
                "bot".to_owned(),
                retry.body["reply"].as_str().unwrap().to_owned()
            ),
        ]],
        "the text once, with one reply"
    );

    // From now on the key replays that response; another request with it is refused.
    let again = keyed_chat(&app, &bot, &body, "crash-1").await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, retry.body);
    let other = keyed_chat(
        &app,
        &bot,
        &json!({"message": "Is delivery free?"}),
        "crash-1",
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text
    );
    assert_eq!(transcripts(&app, &bot).await.concat().len(), 2);
}

#[tokio::test]
async fn a_retry_returns_the_reply_its_interrupted_first_attempt_stored() {
    let app = TestApp::start().await;
    let bot = shop(&app).await;
    let body = json!({"message": "Is delivery free?", "contact_id": "v-9"});
    let stored = interrupted(&app, &bot, &body, "crash-2", Some("Free over 50 euros.")).await;
    // A different request cannot take the key over while it is pending either.
    let other = keyed_chat(
        &app,
        &bot,
        &json!({"message": "Is delivery free?"}),
        "crash-2",
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text
    );

    let retry = keyed_chat(&app, &bot, &body, "crash-2").await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.body["visitor_message_id"], stored.as_str());
    assert_eq!(retry.body["reply"], "Free over 50 euros.");
    assert_eq!(
        transcripts(&app, &bot).await.concat().len(),
        2,
        "nothing answered twice"
    );
}

#[tokio::test]
async fn an_interrupted_streamed_request_is_finished_by_its_streamed_retry() {
    let app = TestApp::start().await;
    let bot = shop(&app).await;
    let body = json!({"message": "When are you open on Saturdays?", "stream": true});
    let stored = interrupted(&app, &bot, &body, "crash-3", None).await;

    let retry = keyed_chat(&app, &bot, &body, "crash-3").await;
    assert_eq!(retry.status, StatusCode::OK);
    let events = common::events(&retry.text);
    let (last, deltas) = events.split_last().unwrap();
    assert_eq!(last.0, "done", "{events:?}");
    assert_eq!(last.1["visitor_message_id"], stored.as_str());
    let streamed: String = deltas
        .iter()
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, last.1["reply"].as_str().unwrap());
    assert!(streamed.contains("10am to 4pm"), "{streamed}");
    assert_eq!(transcripts(&app, &bot).await.concat().len(), 2);

    // A reply that was stored before the crash is streamed back as it is.
    let body = json!({"message": "Is delivery free?", "stream": true});
    interrupted(&app, &bot, &body, "crash-4", Some("Free over 50 euros.")).await;
    let retry = keyed_chat(&app, &bot, &body, "crash-4").await;
    let events = common::events(&retry.text);
    assert_eq!(
        events.last().unwrap().1["reply"],
        "Free over 50 euros.",
        "{events:?}"
    );
    assert_eq!(transcripts(&app, &bot).await.concat().len(), 4);
}

#[tokio::test]
async fn an_interrupted_async_request_gets_one_reply_after_its_retry() {
    let app = TestApp::start().await;
    let bot = shop(&app).await;
    let body = json!({"message": "When are you open on Saturdays?", "async": true});
    let stored = interrupted(&app, &bot, &body, "crash-5", None).await;
    let retry = keyed_chat(&app, &bot, &body, "crash-5").await;
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{}", retry.text);
    assert_eq!(retry.body["visitor_message_id"], stored.as_str());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let all = transcripts(&app, &bot).await.concat();
        if all.len() == 2 {
            assert_eq!(all[1].0, "bot");
            break;
        }
        assert!(all.len() < 2, "{all:?}");
        assert!(tokio::time::Instant::now() < deadline, "no reply came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn concurrent_requests_with_one_key_store_one_message_and_one_reply() {
    let app = Arc::new(TestApp::start().await);
    let bot = shop(&app).await;
    let body = json!({"message": "Can I return an item?"});
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (app, bot, body) = (app.clone(), bot.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            keyed_chat(&app, &bot, &body, "same").await
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap());
    }
    assert!(responses.iter().all(|r| r.status == StatusCode::OK));
    assert!(responses.iter().all(|r| r.body == responses[0].body));
    let replayed = responses
        .iter()
        .filter(|r| r.headers.get("idempotent-replayed").is_some())
        .count();
    assert_eq!(
        replayed, 7,
        "one ran, the others waited and got its response"
    );
    assert_eq!(transcripts(&app, &bot).await.concat().len(), 2);
}

#[tokio::test]
async fn delivery_statuses_unread_counts_state_and_feedback() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let r = app.post("/v1/conversations", &key, json!({
        "bot_id": bot, "channel": "whatsapp", "message": "Is delivery free?",
        "contact": {"external_id": "v-5", "name": "Sam", "variables": {"system": {"locale": "en"}, "contact": {"plan": "gold"}}},
        "variables": {"cart": 3}
    })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["channel"], "whatsapp");
    assert_eq!(r.body["variables"]["cart"], 3);
    let conv = r.body["id"].as_str().unwrap().to_owned();
    let contact = r.body["contact_id"].as_str().unwrap().to_owned();
    let bot_message = r.body["reply"]["message_id"].as_str().unwrap().to_owned();
    let visitor_message = r.body["reply"]["visitor_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app.get(&format!("/v1/contacts/{contact}"), &key).await;
    assert_eq!(
        c.body["variables"],
        json!({"system": {"locale": "en"}, "contact": {"plan": "gold"}})
    );

    assert_eq!(
        app.get(&format!("/v1/contacts/{contact}/unread"), &key)
            .await
            .body["unread"],
        1
    );
    let m = app.get(&format!("/v1/messages/{bot_message}"), &key).await;
    assert_eq!(m.body["status"], "SENT");
    let r = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/messages/{bot_message}/status"),
            Some(&key),
            Some(json!({"status": "READ"})),
        )
        .await;
    assert_eq!(r.body["status"], "READ", "{}", r.text);
    assert_eq!(
        app.get(&format!("/v1/contacts/{contact}/unread"), &key)
            .await
            .body["unread"],
        0
    );
    let r = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/messages/{visitor_message}/status"),
            Some(&key),
            Some(json!({"status": "READ"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/messages/{bot_message}/status"),
            Some(&key),
            Some(json!({"status": "SEEN"})),
        )
        .await;
    assert!(
        r.message().contains("SENT, DELIVERED, READ, NOT_SENT"),
        "{}",
        r.text
    );
    let r = app
        .post(
            "/v1/messages/statuses",
            &key,
            json!({"message_ids": [bot_message, "msg_doesnotexist000000"], "status": "DELIVERED"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/v1/messages/{bot_message}"), &key)
            .await
            .body["status"],
        "READ",
        "all or nothing"
    );
    let r = app
        .post(
            "/v1/messages/statuses",
            &key,
            json!({"message_ids": [bot_message], "status": "DELIVERED"}),
        )
        .await;
    assert_eq!(r.body["updated"], 1);

    let document =
        json!({"step": "checkout", "items": [1, 2, {"deep": [null, true, 1.5]}], "note": "é"});
    let path = format!("/v1/contacts/{contact}/state");
    assert_eq!(app.get(&path, &key).await.status, StatusCode::NOT_FOUND);
    let r = app
        .request(
            reqwest::Method::PUT,
            &path,
            Some(&key),
            Some(document.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.get(&path, &key).await.body, document);

    let r = app
        .post(
            &format!("/v1/messages/{bot_message}/feedback"),
            &key,
            json!({"thumb": "down", "comment": "not what I asked"}),
        )
        .await;
    assert_eq!(r.body["feedback"], "down", "{}", r.text);
    let r = app
        .post(
            &format!("/v1/messages/{visitor_message}/feedback"),
            &key,
            json!({"thumb": "up"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .post(
            &format!("/v1/conversations/{conv}/rating"),
            &key,
            json!({"rating": 6}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .post(
            &format!("/v1/conversations/{conv}/rating"),
            &key,
            json!({"rating": 4, "comment": "quick"}),
        )
        .await;
    assert_eq!(r.body["rating"], 4);
    let feedback = app.get("/v1/events?types=feedback.received", &key).await;
    assert_eq!(feedback.body["data"].as_array().unwrap().len(), 2);

    let list = app
        .get(
            &format!("/v1/conversations?channel=whatsapp&contact_id={contact}"),
            &key,
        )
        .await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    let list = app.get("/v1/conversations?channel=widget", &key).await;
    assert!(list.body["data"].as_array().unwrap().is_empty());
    let r = app.get("/v1/conversations?since=yesterday", &key).await;
    assert!(r.message().contains("RFC 3339"), "{}", r.text);
    let r = app.get("/v1/events?types=message.exploded", &key).await;
    assert!(r.message().contains("not an event type"), "{}", r.text);
}

#[tokio::test]
async fn another_tenant_cannot_touch_conversations_contacts_leads_or_events() {
    let app = TestApp::start().await;
    let a = app.create_account("pro").await;
    let b = app.create_account("pro").await;
    let bot = app.create_bot(&a, "A").await;
    let r = app
        .chat(
            &a,
            &bot,
            json!({"message": "mail me: a@example.com", "contact_id": "v"}),
        )
        .await;
    let conv = r.body["conversation_id"].as_str().unwrap().to_owned();
    let contact = r.body["contact_id"].as_str().unwrap().to_owned();
    let message = r.body["message_id"].as_str().unwrap().to_owned();
    for path in [
        format!("/v1/conversations/{conv}"),
        format!("/v1/conversations/{conv}/stream"),
        format!("/v1/contacts/{contact}"),
        format!("/v1/contacts/{contact}/unread"),
        format!("/v1/contacts/{contact}/state"),
        format!("/v1/messages/{message}"),
        format!("/v1/contacts?bot_id={bot}"),
    ] {
        assert_eq!(
            app.get(&path, &b).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for action in ["takeover", "release", "escalate", "end"] {
        let r = app
            .post(
                &format!("/v1/conversations/{conv}/{action}"),
                &b,
                json!({"agent": "x"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(
        app.post(
            &format!("/v1/messages/{message}/feedback"),
            &b,
            json!({"thumb": "up"})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert!(app.get("/v1/leads", &b).await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(app.get("/v1/events", &b).await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(app.get("/v1/conversations", &b).await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn an_async_message_gets_202_and_its_reply_arrives_as_an_event() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let r = app
        .client
        .post(format!("{}/v1/bots/{bot}/chat", app.base))
        .bearer_auth(&key)
        .json(&json!({"message": "Is delivery free?", "async": true}))
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert!(r.body["reply"].is_null());
    assert!(r.body["visitor_message_id"].is_string());
    let conv = r.body["conversation_id"].as_str().unwrap().to_owned();
    let reply = async_reply(&app, &key, &conv).await;
    assert!(reply.contains("free for orders over 50 euros"), "{reply}");
    let history = app
        .get(&format!("/v1/conversations/{conv}/messages"), &key)
        .await;
    assert_eq!(history.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_idle_conversation_is_ended_by_the_timeout() {
    let app = TestApp::start_with(|c| {
        c.conversation_idle_seconds = 1;
        c.scheduler_interval_seconds = 1;
    })
    .await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    let conv = conversation(&app, &bot).await;
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app
            .get(&format!("/v1/conversations/{conv}"), &key)
            .await
            .body["status"]
            .clone();
        if status == "ended" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "ended");
    let events = app
        .get(
            &format!("/v1/events?conversation_id={conv}&types=conversation.ended"),
            &key,
        )
        .await;
    assert_eq!(events.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn outside_business_hours_the_visitor_is_told_when_a_human_is_back() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    // Open one minute a week, at a time that is not now.
    let now = time::OffsetDateTime::now_utc();
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [((now.weekday().number_days_from_monday() + 3) % 7) as usize];
    let r = app
        .patch(&format!("/v1/bots/{bot}"), &key, json!({"settings": {"business_hours": {"time_zone": "Asia/Kathmandu", "slots": [{"day": day, "open": "10:00", "close": "10:01"}]}}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .chat(&key, &bot, json!({"message": "I want to talk to a human"}))
        .await;
    let reply = r.body["reply"].as_str().unwrap();
    assert!(
        reply.starts_with("Our team is not available right now. We will be back on"),
        "{reply}"
    );
    assert!(
        reply.contains("at 10:00 (UTC+05:45)") && reply.contains("email address or phone number"),
        "the time is the zone's: {reply}"
    );
    assert_eq!(
        r.body["status"], "waiting_for_agent",
        "the request still reaches the queue"
    );

    // Bad hours are refused, saying what to fix, and the saved hours stay.
    for (hours, says) in [
        (
            json!({"utc_offset": "+00:00", "slots": [{"day": "someday", "open": "10:00", "close": "11:00"}]}),
            "not a day",
        ),
        (
            json!({"time_zone": "Europe/Pari", "slots": []}),
            "`Europe/Pari` is not a time zone",
        ),
        (
            json!({"time_zone": "Europe/Paris", "utc_offset": "+01:00", "slots": []}),
            "not both",
        ),
        (
            json!({"slots": [{"day": "mon", "open": "09:00", "close": "17:00"}]}),
            "give the time_zone",
        ),
        (
            json!({"time_zone": "Europe/Paris", "slots": [{"day": "mon", "open": "", "close": "17:00"}]}),
            "mon opens at ``",
        ),
    ] {
        let r = app
            .patch(
                &format!("/v1/bots/{bot}"),
                &key,
                json!({"settings": {"business_hours": hours}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{hours}");
        assert!(r.message().contains(says), "{hours}: {}", r.text);
    }
    let r = app.get(&format!("/v1/bots/{bot}"), &key).await;
    assert_eq!(
        r.body["settings"]["business_hours"]["time_zone"], "Asia/Kathmandu",
        "{}",
        r.text
    );
    assert!(
        r.body["settings"]["business_hours"]
            .get("utc_offset")
            .is_none(),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_message_with_a_contact_detail_and_a_question_gets_a_lead_and_an_answer() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    // The question gets the reply it gets asked alone, and the details make a lead.
    let alone = app
        .chat(
            &key,
            &bot,
            json!({"message": "what is your return policy?"}),
        )
        .await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Hi, my email is jane@example.org, what is your return policy?", "contact_id": "v-21"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["lead_id"].is_string(), "a lead: {}", r.text);
    assert_eq!(r.body["outcome"], alone.body["outcome"], "{}", r.text);
    assert_eq!(r.body["buttons"], alone.body["buttons"], "{}", r.text);
    // (without the request for contact details the visitor just gave)
    assert!(
        alone.body["reply"]
            .as_str()
            .unwrap()
            .starts_with(r.body["reply"].as_str().unwrap()),
        "{}",
        r.text
    );
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Hello! My number is +33 6 12 34 56 78. How long do refunds take?", "contact_id": "v-23"}),
        )
        .await;
    assert!(r.body["lead_id"].is_string(), "a lead: {}", r.text);
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    let reply = r.body["reply"].as_str().unwrap();
    assert!(
        reply.contains("5 business days"),
        "the question is answered: {reply}"
    );
    assert!(
        !r.body["sources"].as_array().unwrap().is_empty(),
        "{}",
        r.text
    );

    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Hi, my email is jane@example.org, what is your return policy?", "contact_id": "v-21"}),
        )
        .await;
    let contact = app
        .get(
            &format!("/v1/contacts/{}", r.body["contact_id"].as_str().unwrap()),
            &key,
        )
        .await;
    assert_eq!(
        contact.body["email"], "jane@example.org",
        "{}",
        contact.text
    );

    // Only a contact detail: the acknowledgement, and the lead.
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "my email is john@example.org", "contact_id": "v-22"}),
        )
        .await;
    assert!(r.body["lead_id"].is_string(), "{}", r.text);
    assert_eq!(r.body["outcome"], "smalltalk", "{}", r.text);
    assert_eq!(
        r.body["reply"],
        "Thank you, we have noted your contact details. A member of our team will get back to you."
    );
}

/// What a bot in one language says by default, as words each text must contain.
struct Said {
    language: &'static str,
    fallback: &'static str,
    contact_prompt: &'static str,
    human_offer: &'static str,
    away: &'static str,
    back: &'static str,
    lead_thanks: &'static str,
}

const SAID: &[Said] = &[
    Said {
        language: "fr",
        fallback: "Désolé, je n'ai pas trouvé de réponse",
        contact_prompt: "Si vous laissez votre adresse e-mail",
        human_offer: "Parler à un conseiller",
        away: "Notre équipe n'est pas disponible pour le moment. Nous serons de retour",
        back: " à 10:00 (UTC+00:00).",
        lead_thanks: "Merci, nous avons bien noté vos coordonnées.",
    },
    Said {
        language: "es",
        fallback: "Lo siento, no he encontrado una respuesta",
        contact_prompt: "Si nos dejas tu correo electrónico",
        human_offer: "Hablar con una persona",
        away: "Nuestro equipo no está disponible en este momento. Volveremos el",
        back: " a las 10:00 (UTC+00:00).",
        lead_thanks: "Gracias, hemos guardado tus datos de contacto.",
    },
    Said {
        language: "de",
        fallback: "Leider habe ich dazu in meinem Wissen keine Antwort gefunden.",
        contact_prompt: "Wenn Sie Ihre E-Mail-Adresse oder Telefonnummer hinterlassen",
        human_offer: "Mit einem Mitarbeiter sprechen",
        away: "Unser Team ist gerade nicht erreichbar. Wir sind wieder da am",
        back: " um 10:00 (UTC+00:00).",
        lead_thanks: "Danke, wir haben Ihre Kontaktdaten notiert.",
    },
    Said {
        language: "ms",
        fallback: "Maaf, saya tidak menemui jawapan",
        contact_prompt: "Jika anda tinggalkan alamat e-mel atau nombor telefon anda",
        human_offer: "Bercakap dengan ejen",
        away: "Pasukan kami tidak tersedia sekarang. Kami akan kembali pada hari",
        back: " pukul 10:00 (UTC+00:00).",
        lead_thanks: "Terima kasih, kami telah menyimpan butiran hubungan anda.",
    },
    Said {
        language: "id",
        fallback: "Maaf, saya tidak menemukan jawaban",
        contact_prompt: "Jika Anda meninggalkan alamat email atau nomor telepon",
        human_offer: "Bicara dengan agen",
        away: "Tim kami sedang tidak tersedia. Kami akan kembali pada hari",
        back: " pukul 10:00 (UTC+00:00).",
        lead_thanks: "Terima kasih, kami sudah mencatat kontak Anda.",
    },
    Said {
        language: "en",
        fallback: "Sorry, I couldn't find an answer",
        contact_prompt: "If you leave your email address or phone number",
        human_offer: "Talk to a person",
        away: "Our team is not available right now. We will be back on",
        back: " at 10:00 (UTC+00:00).",
        lead_thanks: "Thank you, we have noted your contact details.",
    },
];

#[tokio::test]
async fn a_bot_made_in_a_language_says_everything_in_it() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    // Open one minute a week, at a time that is not now.
    let now = time::OffsetDateTime::now_utc();
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [((now.weekday().number_days_from_monday() + 3) % 7) as usize];
    let hours =
        json!({"utc_offset": "+00:00", "slots": [{"day": day, "open": "10:00", "close": "10:01"}]});
    for said in SAID {
        let language = said.language;
        let r = app
            .post(
                "/v1/bots",
                &key,
                json!({"name": format!("Shop {language}"), "language": language, "settings": {"business_hours": hours}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert!(
            r.body["settings"]["fallback_message"]
                .as_str()
                .unwrap()
                .starts_with(said.fallback),
            "{language}: {}",
            r.text
        );
        let bot = r.body["id"].as_str().unwrap().to_owned();
        app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;

        let r = app
            .chat(
                &key,
                &bot,
                json!({"message": "Do you repair helicopter engines?"}),
            )
            .await;
        assert_eq!(r.body["outcome"], "fallback", "{language}: {}", r.text);
        let reply = r.body["reply"].as_str().unwrap();
        assert!(reply.starts_with(said.fallback), "{language}: {reply}");
        assert!(reply.contains(said.contact_prompt), "{language}: {reply}");
        let buttons = r.body["buttons"].as_array().unwrap();
        let offer = buttons.last().expect("a person is offered")["title"]
            .as_str()
            .unwrap();
        assert_eq!(offer, said.human_offer, "{language}");

        // Pressing the button asks for a person; out of hours the bot says when one is back.
        let conv = r.body["conversation_id"].as_str().unwrap();
        let r = app
            .chat(
                &key,
                &bot,
                json!({"message": offer, "conversation_id": conv}),
            )
            .await;
        assert_eq!(r.body["outcome"], "handoff", "{language}: {}", r.text);
        let reply = r.body["reply"].as_str().unwrap();
        assert!(reply.starts_with(said.away), "{language}: {reply}");
        assert!(reply.contains(said.back), "{language}: {reply}");
        assert!(reply.contains(said.contact_prompt), "{language}: {reply}");

        let r = app
            .chat(&key, &bot, json!({"message": "jane@example.org"}))
            .await;
        assert!(r.body["lead_id"].is_string(), "{language}: {}", r.text);
        let reply = r.body["reply"].as_str().unwrap();
        assert!(reply.starts_with(said.lead_thanks), "{language}: {reply}");
    }
}

#[tokio::test]
async fn a_new_language_switches_the_default_texts_and_keeps_the_owners() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let r = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "Boutique", "settings": {"fallback_message": "Hmm, no idea. Write to us!"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bot = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.body["settings"]["contact_prompt"]
        .as_str()
        .unwrap()
        .starts_with("If you leave"));

    let r = app
        .patch(&format!("/v1/bots/{bot}"), &key, json!({"language": "fr"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let settings = &r.body["settings"];
    assert_eq!(settings["fallback_message"], "Hmm, no idea. Write to us!");
    assert_eq!(
        settings["greeting"],
        "Bonjour ! Comment puis-je vous aider ?"
    );
    assert!(settings["contact_prompt"]
        .as_str()
        .unwrap()
        .starts_with("Si vous laissez"));
    assert!(settings["away_message"]
        .as_str()
        .unwrap()
        .starts_with("Notre équipe"));

    // A text given with the new language is the owner's.
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"language": "de", "settings": {"greeting": "Servus!"}}),
        )
        .await;
    let settings = &r.body["settings"];
    assert_eq!(settings["greeting"], "Servus!", "{}", r.text);
    assert!(settings["contact_prompt"]
        .as_str()
        .unwrap()
        .starts_with("Wenn Sie"));
    assert_eq!(settings["fallback_message"], "Hmm, no idea. Write to us!");
    let r = app
        .patch(&format!("/v1/bots/{bot}"), &key, json!({"language": "en"}))
        .await;
    assert_eq!(r.body["settings"]["greeting"], "Servus!", "{}", r.text);
    assert_eq!(
        r.body["settings"]["away_message"],
        "Our team is not available right now. We will be back"
    );
}

#[tokio::test]
async fn an_async_message_with_contact_details_gets_its_acknowledgement_or_its_answer() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app).await;
    for (message, expected) in [
        (
            "my email is jane@example.org",
            "Thank you, we have noted your contact details.",
        ),
        (
            "My number is +33 6 12 34 56 78, is delivery free?",
            "free for orders over 50 euros",
        ),
    ] {
        let r = app
            .chat(&key, &bot, json!({"message": message, "async": true}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert!(r.body["lead_id"].is_string(), "{}", r.text);
        let conv = r.body["conversation_id"].as_str().unwrap().to_owned();
        let reply = async_reply(&app, &key, &conv).await;
        assert!(reply.contains(expected), "{message}: {reply}");
    }
}

/// The text of the bot's reply to an async message, from the event log (waits up to 10 s).
async fn async_reply(app: &TestApp, key: &str, conversation: &str) -> String {
    for _ in 0..200 {
        let events = app
            .get(
                &format!("/v1/events?conversation_id={conversation}&types=message.sent"),
                key,
            )
            .await;
        if let Some(e) = events.body["data"].as_array().unwrap().first() {
            return e["data"]["message"]["text"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reply arrives within 10 s");
}

#[tokio::test]
async fn the_inbox_stream_tells_of_the_accounts_conversations_only() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let other = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let other_bot = app.create_bot(&other, "Elsewhere").await;
    app.add_text(&other, &other_bot, "FAQ", SHOP_FAQ).await;
    let mut stream = app
        .client
        .get(format!("{}/v1/inbox/stream", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    // Another account's conversation first: it must not show.
    let r = app
        .chat(&other, &other_bot, json!({"message": "When are you open?"}))
        .await;
    let foreign = r.body["conversation_id"].as_str().unwrap().to_owned();
    let r = app
        .post("/v1/conversations", &key, json!({"bot_id": bot}))
        .await;
    let conv = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/v1/conversations/{conv}/escalate"),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut seen = String::new();
    let read = async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(&conv) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("the account's conversation shows on its inbox stream");
    assert!(seen.contains("event: conversation"), "{seen}");
    assert!(seen.contains("\"kind\":\"status\""), "{seen}");
    assert!(
        !seen.contains(&foreign),
        "another account's conversation leaked: {seen}"
    );
}
