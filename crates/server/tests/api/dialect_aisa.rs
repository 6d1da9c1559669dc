//! AISA dialect contract tests: every request example of `seeds/000` (ids, keys and the website
//! adapted to a site served on loopback), with each documented response field and its type, and
//! the documented error codes.

use crate::common;

use std::time::Duration;

use common::{
    site::{html_page, Site},
    TestApp,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BASE: &str = "/compat/aisa/v1";

async fn site() -> String {
    let site = Site::default();
    site.set(
        "",
        "text/html",
        html_page(
            "Kedai",
            "Business hours",
            "We're open Monday to Friday, 9 AM to 6 PM MYT.",
            &["pricing"],
        ),
    );
    site.set(
        "pricing",
        "text/html",
        html_page(
            "Pricing",
            "Plans",
            "The basic plan costs 49 ringgit per month.",
            &[""],
        ),
    );
    let addr = site.serve().await;
    // Keep the site alive for the test's duration.
    std::mem::forget(site);
    format!("http://{addr}/")
}

async fn until_trained(app: &TestApp, key: &str, id: &str) -> Value {
    for _ in 0..300 {
        let r = app.get(&format!("{BASE}/chatbot/{id}"), key).await;
        if r.body["training_status"] != "in_progress" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("training did not finish");
}

#[tokio::test]
async fn the_documented_requests_and_responses() {
    let url = site().await;
    let app = TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.crawl.delay_ms = 0;
    })
    .await;
    let key = app.create_account("pro").await;

    // POST /chatbot/create
    let r = app.post(&format!("{BASE}/chatbot/create"), &key, json!({"website_url": url, "chatbot_name": "My Business Chatbot", "language": "en", "industry": "e-commerce"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "success");
    let id = r.body["chatbot_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("bot_"));
    assert_eq!(r.body["training_status"], "in_progress");
    assert!(r.body["estimated_completion"].is_string());
    assert_eq!(
        r.headers["x-ratelimit-limit"], "1000",
        "the pro plan's hourly limit"
    );

    // GET /chatbot/{chatbot_id}
    let c = until_trained(&app, &key, &id).await;
    assert_eq!(c["chatbot_id"], id.as_str());
    assert_eq!(c["name"], "My Business Chatbot");
    assert_eq!(c["status"], "active");
    assert_eq!(c["website_url"], url.as_str());
    assert!(c["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(c["last_trained"].is_string());
    assert_eq!(c["training_status"], "completed");
    let jobs = app.get(&format!("/v1/bots/{id}/jobs"), &key).await;
    assert_eq!(jobs.body["data"][0]["pages_indexed"], 2, "{}", jobs.text);

    // POST /message/send
    let r = app.post(&format!("{BASE}/message/send"), &key, json!({"chatbot_id": id, "user_message": "What are your business hours?", "user_id": "user_12345", "phone_number": "+60123456789"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "success");
    assert!(
        r.body["response"]
            .as_str()
            .unwrap()
            .contains("Monday to Friday, 9 AM to 6 PM MYT"),
        "{}",
        r.text
    );
    assert!(r.body["message_id"].as_str().unwrap().starts_with("msg_"));
    assert!(r.body["confidence_score"].as_f64().unwrap() > 0.45);
    let conversation = r.body["conversation_id"].as_str().unwrap().to_owned();
    let r = app.post(&format!("{BASE}/message/send"), &key, json!({"chatbot_id": id, "user_message": "How much is the basic plan?", "user_id": "user_12345"})).await;
    assert_eq!(
        r.body["conversation_id"],
        conversation.as_str(),
        "the same user continues the conversation"
    );
    let sent_id = r.body["message_id"].as_str().unwrap().to_owned();
    let native = app
        .get(&format!("/v1/conversations/{conversation}"), &key)
        .await;
    assert_eq!(native.body["channel"], "whatsapp");
    let contact = app
        .get(
            &format!(
                "/v1/contacts/{}",
                native.body["contact_id"].as_str().unwrap()
            ),
            &key,
        )
        .await;
    assert_eq!(contact.body["phone"], "+60123456789");

    // GET /message/history
    let r = app
        .get(
            &format!("{BASE}/message/history?user_id=user_12345&limit=1&offset=0"),
            &key,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total_count"], 2);
    assert_eq!(r.body["has_more"], true);
    let m = &r.body["messages"][0];
    assert_eq!(m["user_message"], "How much is the basic plan?");
    assert_eq!(
        m["message_id"],
        sent_id.as_str(),
        "/message/send and /message/history name an exchange by the same id"
    );
    assert!(m["ai_response"].as_str().unwrap().contains("49 ringgit"));
    assert!(
        m["message_id"].is_string()
            && m["timestamp"].is_string()
            && m["confidence_score"].is_number()
    );
    let r = app
        .get(
            &format!("{BASE}/message/history?user_id=user_12345&limit=50&offset=1"),
            &key,
        )
        .await;
    assert_eq!(r.body["has_more"], false);
    assert_eq!(
        r.body["messages"][0]["user_message"],
        "What are your business hours?"
    );

    // GET /analytics/conversations
    let conv = &conversation;
    app.post(
        &format!("/v1/conversations/{conv}/rating"),
        &key,
        json!({"rating": 5}),
    )
    .await;
    let today = time::OffsetDateTime::now_utc().date();
    let r = app.get(&format!("{BASE}/analytics/conversations?start_date={today}&end_date={today}&chatbot_id={id}"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total_conversations"], 1);
    assert_eq!(r.body["total_messages"], 4);
    assert!(r.body["avg_response_time"].as_str().unwrap().ends_with('s'));
    assert_eq!(r.body["customer_satisfaction"], 5.0);
    assert_eq!(r.body["top_queries"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["daily_breakdown"][0]["date"], today.to_string());
    assert_eq!(r.body["daily_breakdown"][0]["conversations"], 1);
    assert_eq!(r.body["daily_breakdown"][0]["messages"], 4);

    // PUT /chatbot/{chatbot_id}/retrain
    let r = app
        .request(
            Method::PUT,
            &format!("{BASE}/chatbot/{id}/retrain"),
            Some(&key),
            Some(json!({"force_retrain": true, "include_new_pages": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "success");
    assert_eq!(r.body["training_status"], "in_progress");
    let c = until_trained(&app, &key, &id).await;
    assert_eq!(c["training_status"], "completed");
}

#[tokio::test]
async fn the_documented_error_codes() {
    let app = TestApp::start().await;
    let key = app.create_account("free").await;
    let r = app
        .request(
            Method::GET,
            &format!("{BASE}/chatbot/bot_doesnotexist00000000"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "INVALID_API_KEY");
    let r = app
        .get(&format!("{BASE}/chatbot/bot_doesnotexist00000000"), &key)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "RESOURCE_NOT_FOUND");
    let r = app
        .post(
            &format!("{BASE}/chatbot/create"),
            &key,
            json!({"chatbot_name": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "INVALID_REQUEST");
    assert!(r.message().contains("website_url"), "{}", r.text);
    // Neither `user_message` nor the SDKs' `message`: a 400 naming it.
    let r = app
        .post(
            &format!("{BASE}/message/send"),
            &key,
            json!({"chatbot_id": "bot_doesnotexist00000000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("user_message"), "{}", r.text);
    let r = app
        .post(
            &format!("{BASE}/message/send"),
            &key,
            json!({"chatbot_id": "bot_doesnotexist00000000", "user_message": "hi"}),
        )
        .await;
    assert_eq!(r.code(), "RESOURCE_NOT_FOUND");
    let r = app.get(&format!("{BASE}/message/history"), &key).await;
    assert!(r.message().contains("user_id is required"), "{}", r.text);
    let r = app
        .get(
            &format!("{BASE}/analytics/conversations?start_date=09/08/2025"),
            &key,
        )
        .await;
    assert!(r.message().contains("YYYY-MM-DD"), "{}", r.text);
    let read = app
        .post("/v1/keys", &key, json!({"name": "ro", "scopes": ["read"]}))
        .await;
    let r = app
        .post(
            &format!("{BASE}/chatbot/create"),
            read.body["secret"].as_str().unwrap(),
            json!({"website_url": "https://example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "INSUFFICIENT_PERMISSIONS");
    // The free plan allows 100 requests an hour; the 101st is refused with AISA's code and headers.
    for _ in 0..96 {
        app.get(&format!("{BASE}/message/history?user_id=u"), &key)
            .await;
    }
    let r = app
        .get(&format!("{BASE}/message/history?user_id=u"), &key)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.code(), "RATE_LIMIT_EXCEEDED");
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
}

/// The document's webhook payload example, as it shows it.
const PAYLOAD_EXAMPLE: &str = r#"{ "event": "message.received", "timestamp": "2025-08-09T14:30:00Z", "data": { "conversation_id": "conv_1234567890", "user_id": "user_12345", "phone_number": "+60123456789", "message": "What are your business hours?", "ai_response": "We're open Monday to Friday, 9 AM to 6 PM MYT.", "confidence_score": 0.95 } }"#;

/// A timestamp written as the document's: `2025-08-09T14:30:00Z` (UTC, whole seconds).
fn assert_doc_timestamp(value: &Value) {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is a string: {value}"));
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    assert!(
        time::PrimitiveDateTime::parse(s, format).is_ok(),
        "timestamp `{s}` is written as 2025-08-09T14:30:00Z"
    );
}

#[tokio::test]
async fn webhooks_configure_delivers_the_documented_events_signed_with_the_given_secret() {
    let (receiver, addr) = common::receiver::Receiver::start().await;
    let (native, native_addr) = common::receiver::Receiver::start().await;
    let url = site().await;
    let app = TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.allow_http_webhooks = true;
        c.crawl.delay_ms = 0;
    })
    .await;
    let key = app.create_account("pro").await;
    let r = app
        .post(&format!("{BASE}/webhooks/configure"), &key, json!({"url": format!("http://{addr}/hook"), "events": ["message.received", "conversation.started", "conversation.ended"], "secret": "your_webhook_secret"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "success");
    assert!(
        r.body["secret"].is_null(),
        "a secret the client chose is not echoed"
    );
    let hook = r.body["webhook_id"].as_str().unwrap().to_owned();
    let r = app.get(&format!("/v1/webhooks/{hook}"), &key).await;
    assert_eq!(r.body["format"], "aisa", "{}", r.text);
    // A native endpoint in sitechat's format, beside it.
    let r = app
        .post(
            "/v1/webhooks",
            &key,
            json!({"url": format!("http://{native_addr}/hook"), "events": ["message.received"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["format"], "sitechat", "{}", r.text);

    let r = app
        .post(
            &format!("{BASE}/chatbot/create"),
            &key,
            json!({"website_url": url, "chatbot_name": "Kedai"}),
        )
        .await;
    let id = r.body["chatbot_id"].as_str().unwrap().to_owned();
    until_trained(&app, &key, &id).await;
    let sent = app.post(&format!("{BASE}/message/send"), &key, json!({"chatbot_id": id, "user_message": "What are your business hours?", "user_id": "user_12345", "phone_number": "+60123456789"})).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let conversation = sent.body["conversation_id"].as_str().unwrap().to_owned();

    // message.received: the document's payload, field by field, once the AI response exists.
    let d = receiver.wait_for_event("message.received").await;
    assert!(d.signed_with("your_webhook_secret"));
    let body = d.json();
    let example: Value = serde_json::from_str(PAYLOAD_EXAMPLE).unwrap();
    common::receiver::assert_same_shape(&example, &body, &[]);
    assert_doc_timestamp(&body["timestamp"]);
    let data = &body["data"];
    assert_eq!(data["conversation_id"], conversation.as_str());
    assert_eq!(data["user_id"], "user_12345");
    assert_eq!(data["phone_number"], "+60123456789");
    assert_eq!(data["message"], "What are your business hours?");
    assert_eq!(data["ai_response"], sent.body["response"], "{body}");
    assert!(data["ai_response"]
        .as_str()
        .unwrap()
        .contains("9 AM to 6 PM"));
    assert_eq!(data["confidence_score"], sent.body["confidence_score"]);

    let d = receiver.wait_for_event("conversation.started").await;
    assert!(d.signed_with("your_webhook_secret"));
    let body = d.json();
    assert_doc_timestamp(&body["timestamp"]);
    assert_eq!(
        body["data"],
        json!({"conversation_id": conversation, "user_id": "user_12345", "phone_number": "+60123456789"})
    );
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/end"),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = receiver.wait_for_event("conversation.ended").await.json();
    assert_eq!(body["data"]["conversation_id"], conversation.as_str());
    assert_eq!(body["data"]["user_id"], "user_12345");

    // Every AISA delivery is in AISA's envelope, and the user's message fired one
    // message.received, with its response.
    let bodies = receiver.bodies();
    assert!(
        bodies
            .iter()
            .all(|b| b.get("type").is_none() && b["event"].is_string()),
        "{bodies:?}"
    );
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b["event"] == "message.received")
            .count(),
        1,
        "{bodies:?}"
    );
    // sitechat's own message.received keeps its meaning: the visitor's message, stored.
    let own = native.wait_for("message.received").await.json();
    assert_eq!(own["data"]["message"]["role"], "visitor", "{own}");
    assert_eq!(
        own["data"]["message"]["text"],
        "What are your business hours?"
    );

    for events in [
        json!(["message.exploded"]),
        json!(["takeover.started"]),
        json!([]),
    ] {
        let r = app
            .post(
                &format!("{BASE}/webhooks/configure"),
                &key,
                json!({"url": format!("http://{addr}/hook"), "events": events}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{events}: {}", r.text);
        assert_eq!(r.code(), "INVALID_REQUEST");
        assert!(
            r.message().contains(
                "message.received, conversation.started, conversation.ended, lead.captured"
            ),
            "{events}: the error names AISA's events: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn the_sdks_message_field_and_unknown_fields_are_accepted() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", crate::common::SHOP_FAQ)
        .await;
    for body in [
        json!({"chatbot_id": bot, "message": "How long do refunds take?"}),
        json!({"chatbot_id": bot, "user_message": "How long do refunds take?", "session_id": "abc", "metadata": {"page": "/help"}}),
    ] {
        let r = app
            .post(&format!("{BASE}/message/send"), &key, body.clone())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text);
        assert!(
            r.body["response"]
                .as_str()
                .unwrap()
                .contains("5 business days"),
            "{}",
            r.text
        );
    }
    let r = app
        .get(
            &format!("{BASE}/analytics/conversations?chatbot_id={bot}&cache=1"),
            &key,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn errors_never_point_to_native_routes() {
    let app = TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.crawl.delay_ms = 0;
    })
    .await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "No site").await;
    let path = format!("{BASE}/chatbot/{bot}/retrain");
    let retrain = || {
        app.request(
            Method::PUT,
            &path,
            Some(&key),
            Some(json!({"force_retrain": false})),
        )
    };
    let native_free = |r: &common::Response| {
        assert!(!r.message().contains("/v1/"), "{}", r.text);
    };
    // A chatbot without a website to train from.
    let r = retrain().await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("website_url"), "{}", r.text);
    native_free(&r);

    // A chatbot that is already training: a site that answers slowly keeps the first job busy.
    let addr = crate::common::site::slow_site(Duration::from_secs(2)).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"website_url": format!("http://{addr}/")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let first = retrain().await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let second = retrain().await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    assert!(
        second.message().contains("already training"),
        "{}",
        second.text
    );
    assert!(
        second.message().contains("wait for it to finish"),
        "{}",
        second.text
    );
    native_free(&second);
    let job = first.body["job_id"].as_str().unwrap();
    app.delete(&format!("/v1/jobs/{job}"), &key).await;
}

#[tokio::test]
async fn customer_satisfaction_is_the_mean_rating_or_null_without_ratings() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let today = time::OffsetDateTime::now_utc().date();
    let path = format!(
        "{BASE}/analytics/conversations?start_date={today}&end_date={today}&chatbot_id={bot}"
    );
    let analytics = || app.get(&path, &key);
    let mut conversations = vec![];
    for user in ["rater-1", "rater-2"] {
        let r = app
            .post(
                &format!("{BASE}/message/send"),
                &key,
                json!({"chatbot_id": bot, "user_id": user, "user_message": "Hello"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        conversations.push(r.body["conversation_id"].as_str().unwrap().to_owned());
    }
    let r = analytics().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total_conversations"], 2, "{}", r.text);
    assert!(r.body["customer_satisfaction"].is_null(), "{}", r.text);
    for (conversation, rating) in conversations.iter().zip([4, 5]) {
        let r = app
            .post(
                &format!("/v1/conversations/{conversation}/rating"),
                &key,
                json!({"rating": rating}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    let r = analytics().await;
    assert!(r.body["customer_satisfaction"].is_number(), "{}", r.text);
    assert_eq!(r.body["customer_satisfaction"], 4.5, "{}", r.text);
}
