//! Asyntai dialect contract tests: every request example of `seeds/002` (ids and keys adapted),
//! checking the status and every documented response field and its type, and the error shape.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::{multipart, Method, StatusCode};
use serde_json::{json, Value};

const BASE: &str = "/compat/asyntai/api/v1";

fn is_string(v: &Value) -> bool {
    v.is_string()
}

#[tokio::test]
async fn the_documented_requests_work_with_either_header_and_trailing_slashes() {
    let app = TestApp::start().await;
    let key = app.create_account("starter").await;
    let bot = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "My Website", "website_url": "https://example.com"}),
        )
        .await;
    // Training this site is not the point here: cancel it so that no fetch is attempted.
    let job = bot.body["last_job_id"].as_str().unwrap();
    app.delete(&format!("/v1/jobs/{job}"), &key).await;
    let website_id = bot.body["website_id"].as_i64().unwrap();

    // POST /knowledge/text/
    let r = app
        .post(
            &format!("{BASE}/knowledge/text/"),
            &key,
            json!({"title": "Return Policy", "content": "We offer a 30-day return policy on all items. Items must be unused and in original packaging. Refunds are processed within 5-7 business days.", "website_id": website_id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert!(is_string(&r.body["id"]));
    assert_eq!(r.body["title"], "Return Policy");
    assert!(r.body["chunks_created"].as_u64().unwrap() >= 1);
    let entry = r.body["id"].as_str().unwrap().to_owned();
    let r = app.post(&format!("{BASE}/knowledge/text/"), &key, json!({"title": "Business Hours", "content": "Our business hours are Monday-Friday, 9 AM to 5 PM EST."})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // POST /chat/ with Bearer, then with X-API-Key, same session.
    let r = app
        .post(
            &format!("{BASE}/chat/"),
            &key,
            json!({"message": "What are your business hours?", "session_id": "user_123"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert!(
        r.body["response"]
            .as_str()
            .unwrap()
            .contains("9 AM to 5 PM"),
        "{}",
        r.text
    );
    assert_eq!(r.body["session_id"], "user_123");
    let r = app
        .client
        .post(format!("{}{BASE}/chat", app.base))
        .header("X-API-Key", &key)
        .json(&json!({"message": "How long do refunds take?", "session_id": "user_123", "website_id": website_id}))
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["response"]
            .as_str()
            .unwrap()
            .contains("5-7 business days"),
        "{}",
        r.text
    );
    let r = app
        .post(&format!("{BASE}/chat/"), &key, json!({"message": "hello"}))
        .await;
    assert!(
        r.body["session_id"]
            .as_str()
            .unwrap()
            .starts_with("session_"),
        "a session id is made when none is given"
    );

    // GET /websites/
    let r = app.get(&format!("{BASE}/websites/"), &key).await;
    assert_eq!(r.body["success"], true);
    let w = &r.body["websites"][0];
    assert_eq!(w["id"], website_id);
    assert_eq!(w["name"], "My Website");
    assert_eq!(w["domain"], "example.com");
    assert_eq!(w["is_primary"], true);

    // GET /conversations/?session_id=user_123&limit=20
    let r = app
        .get(
            &format!("{BASE}/conversations/?session_id=user_123&limit=20"),
            &key,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["session_id"], "user_123");
    let messages = r.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "both turns of the session: {}", r.text);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["content"], "What are your business hours?");
    assert_eq!(messages[1]["role"], "assistant");
    assert!(messages[1]["timestamp"].as_str().unwrap().ends_with('Z'));

    // GET /sessions/?limit=10
    let r = app.get(&format!("{BASE}/sessions/?limit=10"), &key).await;
    let sessions = r.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let s = sessions
        .iter()
        .find(|s| s["session_id"] == "user_123")
        .unwrap();
    assert_eq!(s["source"], "api");
    assert_eq!(s["message_count"], 4);
    assert_eq!(s["first_message"], "What are your business hours?");
    assert!(is_string(&s["first_message_at"]) && is_string(&s["last_message_at"]));
    assert_eq!(s["website_domain"], "example.com");
    assert!(app
        .get(&format!("{BASE}/sessions/?source=whatsapp"), &key)
        .await
        .body["sessions"]
        .as_array()
        .unwrap()
        .is_empty());

    // GET /leads/?limit=20
    app.post(
        &format!("{BASE}/chat/"),
        &key,
        json!({"message": "my email is visitor@example.com", "session_id": "session_abc123def"}),
    )
    .await;
    let r = app.get(&format!("{BASE}/leads/?limit=20"), &key).await;
    let lead = &r.body["leads"][0];
    assert_eq!(lead["session_id"], "session_abc123def");
    assert_eq!(lead["email"], "visitor@example.com");
    assert!(lead["phone"].is_null());
    assert!(lead["page_url"].is_null());
    assert!(is_string(&lead["started_at"]));

    // GET /account/
    let r = app.get(&format!("{BASE}/account/"), &key).await;
    assert_eq!(r.body["account"]["plan"], "starter");
    assert_eq!(r.body["account"]["messages_used"], 4);
    assert_eq!(r.body["account"]["messages_limit"], 2500);

    // GET /knowledge/?limit=10, POST /knowledge/spreadsheet/, DELETE /knowledge/{id}/
    let r = app.get(&format!("{BASE}/knowledge/?limit=10"), &key).await;
    let e = &r.body["entries"][0];
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 2);
    assert_eq!(e["id"], entry.as_str());
    assert_eq!(e["type"], "text");
    assert!(e["description"]
        .as_str()
        .unwrap()
        .starts_with("Manual text content"));
    let part = multipart::Part::bytes(b"name,price\nPot,12\nPlanter,30\n".to_vec())
        .file_name("products.csv");
    let r = app
        .client
        .post(format!("{}{BASE}/knowledge/spreadsheet/", app.base))
        .bearer_auth(&key)
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "products.csv");
    assert_eq!(r.body["rows_processed"], 2);
    assert_eq!(r.body["chunks_created"], 2);
    let r = app
        .delete(&format!("{BASE}/knowledge/{entry}/"), &key)
        .await;
    assert_eq!(
        r.body,
        json!({"success": true, "message": "Knowledge base entry deleted"})
    );
    let r = app.get(&format!("{BASE}/knowledge/"), &key).await;
    assert_eq!(
        r.body["entries"].as_array().unwrap().len(),
        2,
        "business hours and the spreadsheet remain"
    );
}

#[tokio::test]
async fn errors_come_in_asyntais_shape() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let r = app
        .request(Method::GET, &format!("{BASE}/websites/"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["success"], false);
    assert!(
        r.body["error"].as_str().unwrap().contains("API key"),
        "{}",
        r.text
    );
    let r = app
        .post(&format!("{BASE}/chat/"), &key, json!({"message": "hi"}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "no website yet: {}",
        r.text
    );
    assert_eq!(r.body["success"], false);
    app.create_bot(&key, "Site").await;
    let r = app.post(&format!("{BASE}/chat/"), &key, json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["error"].as_str().unwrap().contains("message"),
        "{}",
        r.text
    );
    let r = app
        .post(
            &format!("{BASE}/knowledge/text/"),
            &key,
            json!({"title": "t", "content": "too short"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("at least 10 characters"),
        "{}",
        r.text
    );
    let r = app.get(&format!("{BASE}/conversations/"), &key).await;
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("session_id is required"),
        "{}",
        r.text
    );
    let r = app
        .get(&format!("{BASE}/knowledge/?website_id=999999"), &key)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get(&format!("{BASE}/sessions/?limit=0"), &key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Another tenant's website and entries are not found.
    let other = app.create_account("pro").await;
    let r = app.get(&format!("{BASE}/websites/"), &other).await;
    assert!(r.body["websites"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_session_started_in_the_dialect_is_visible_natively() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    app.post(
        &format!("{BASE}/chat/"),
        &key,
        json!({"message": "Is delivery free?", "session_id": "s-1"}),
    )
    .await;
    let conversations = app
        .get(&format!("/v1/conversations?bot_id={bot}"), &key)
        .await;
    let c = &conversations.body["data"][0];
    assert_eq!(c["external_id"], "s-1");
    let history = app
        .get(
            &format!("/v1/conversations/{}/messages", c["id"].as_str().unwrap()),
            &key,
        )
        .await;
    assert_eq!(
        history.body["data"][1]["outcome"], "answered",
        "{}",
        history.text
    );
}

#[tokio::test]
async fn webhooks_are_registered_listed_delivered_signed_and_deleted() {
    let (receiver, addr) = common::receiver::Receiver::start().await;
    let app = TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.allow_http_webhooks = true;
    })
    .await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Site").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;

    let r = app.post(&format!("{BASE}/webhooks/"), &key, json!({"url": format!("http://{addr}/hook"), "events": ["message.received", "escalation.requested"]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["success"], true);
    let w = &r.body["webhook"];
    assert!(w["id"].as_str().unwrap().starts_with("whk_"));
    assert_eq!(
        w["events"],
        json!(["message.received", "escalation.requested"])
    );
    let secret = w["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert!(is_string(&w["created_at"]));
    let id = w["id"].as_str().unwrap().to_owned();

    let list = app.get(&format!("{BASE}/webhooks/"), &key).await;
    assert_eq!(list.body["webhooks"][0]["is_active"], true);
    assert!(!list.text.contains(&secret), "the secret is shown once");

    let r = app.get(&format!("/v1/bots/{bot}"), &key).await;
    let website = r.body["website_id"].clone();
    assert!(website.is_number(), "{}", r.text);
    let chat = app
        .post(
            &format!("{BASE}/chat/"),
            &key,
            json!({"message": "Is delivery free?", "session_id": "user_123"}),
        )
        .await;
    assert_eq!(chat.status, StatusCode::OK, "{}", chat.text);
    // "A visitor sent a message and received a response": sent once the response exists, with
    // both, in Asyntai's names (the document shows no payload; docs/dialects.md).
    let delivery = receiver.wait_for_event("message.received").await;
    assert!(
        delivery.signed_with(&secret),
        "X-Webhook-Signature is the HMAC-SHA256 of the body"
    );
    let body = delivery.json();
    let shape = json!({"event": "message.received", "timestamp": "2024-01-15T10:30:00Z", "data": {"session_id": "user_123", "website_id": 1, "source": "api", "message": "…", "response": "…"}});
    common::receiver::assert_same_shape(&shape, &body, &[]);
    assert!(
        time::PrimitiveDateTime::parse(
            body["timestamp"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")
        )
        .is_ok(),
        "{body}"
    );
    assert_eq!(body["data"]["session_id"], "user_123");
    assert_eq!(body["data"]["website_id"], website);
    assert_eq!(body["data"]["message"], "Is delivery free?");
    assert_eq!(body["data"]["response"], chat.body["response"]);

    // Asking for a person: escalation.requested, with the reason.
    app.post(
        &format!("{BASE}/chat/"),
        &key,
        json!({"message": "I want to talk to a person", "session_id": "user_123"}),
    )
    .await;
    let body = receiver.wait_for_event("escalation.requested").await.json();
    assert_eq!(body["data"]["session_id"], "user_123", "{body}");
    assert_eq!(body["data"]["website_id"], website);
    assert!(body["data"]["reason"].is_string(), "{body}");
    let bodies = receiver.bodies();
    assert!(
        bodies.iter().all(|b| b.get("type").is_none()),
        "only Asyntai's envelope: {bodies:?}"
    );

    let r = app
        .post(
            &format!("{BASE}/webhooks/"),
            &key,
            json!({"url": format!("http://{addr}/hook"), "events": ["message.sent"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["success"], false);
    assert!(
        r.body["error"].as_str().unwrap().contains(
            "message.received, conversation.started, escalation.requested, takeover.started"
        ),
        "the error names Asyntai's events: {}",
        r.text
    );

    let r = app.delete(&format!("{BASE}/webhooks/{id}/"), &key).await;
    assert_eq!(
        r.body,
        json!({"success": true, "message": "Webhook deleted"})
    );
    let r = app
        .post(
            &format!("{BASE}/webhooks/"),
            &key,
            json!({"url": "ftp://example.com", "events": ["message.received"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["success"], false);
}

#[tokio::test]
async fn while_a_human_owns_the_conversation_the_response_is_the_notice_the_bot_would_show() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let url = format!("{BASE}/chat/");
    let chat = |message: &'static str| {
        app.post(
            &url,
            &key,
            json!({"message": message, "session_id": "human-1"}),
        )
    };
    // Asking for a person hands the conversation over; the bot says a person is coming.
    let r = chat("I want to talk to a person").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let handoff = r.body["response"].as_str().unwrap().to_owned();
    // While it waits for an agent, the bot is silent, but `response` is still a string: the
    // notice the widget would show.
    let r = chat("Hello? Anyone there?").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["response"], handoff.as_str(), "{}", r.text);
    assert_eq!(
        r.body["response"],
        "I'll connect you with a member of our team."
    );

    // Once an agent owns it, the notice says so.
    let conversations = app
        .get(&format!("/v1/conversations?bot_id={bot}"), &key)
        .await;
    let conversation = conversations.body["data"][0]["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/takeover"),
            &key,
            json!({"agent": "Marie"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = chat("Are you a person?").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["response"], "A person is answering", "{}", r.text);
    // The visitor's messages are stored all the same.
    let r = app
        .get(&format!("{BASE}/conversations/?session_id=human-1"), &key)
        .await;
    let users = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .count();
    assert_eq!(users, 3, "{}", r.text);
}

#[tokio::test]
async fn a_spreadsheet_that_is_not_multipart_gets_asyntais_json_error() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    app.create_bot(&key, "Shop").await;
    let r = app
        .post(
            &format!("{BASE}/knowledge/spreadsheet/"),
            &key,
            json!({"file": "question,answer\nHours?,9 to 5\n"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.body["success"], false, "{}", r.text);
    assert!(
        r.body["error"].as_str().unwrap().contains("multipart"),
        "{}",
        r.text
    );
    // A raw CSV body, a form, a multipart type without a boundary, a broken multipart body:
    // the same shape.
    for (content_type, body) in [
        ("text/csv", "question,answer\nHours?,9 to 5\n"),
        (
            "application/x-www-form-urlencoded",
            "file=question%2Canswer",
        ),
        ("multipart/form-data", "--x\r\n"),
        ("multipart/form-data; boundary=x", "not multipart at all"),
    ] {
        let response = app
            .client
            .post(format!("{}{BASE}/knowledge/spreadsheet/", app.base))
            .bearer_auth(&key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let r = TestApp::read(response).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{content_type}: {}",
            r.text
        );
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{content_type}: {:?} {}",
            r.headers,
            r.text
        );
        assert_eq!(r.body["success"], false, "{content_type}: {}", r.text);
        assert!(is_string(&r.body["error"]), "{content_type}: {}", r.text);
    }
    // No body and no content type at all: the same shape.
    let r = app
        .request(
            Method::POST,
            &format!("{BASE}/knowledge/spreadsheet/"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["success"], false, "{}", r.text);
    assert!(is_string(&r.body["error"]), "{}", r.text);
}

#[tokio::test]
async fn a_limit_above_100_is_capped_at_100() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    app.create_bot(&key, "Shop").await;
    for i in 0..3 {
        let r = app
            .post(
                &format!("{BASE}/chat/"),
                &key,
                json!({"message": "Hello", "session_id": format!("cap-{i}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    for path in [
        "sessions/?limit=500",
        "conversations/?session_id=cap-0&limit=101",
        "leads/?limit=1000",
        "knowledge/?limit=250",
    ] {
        let r = app.get(&format!("{BASE}/{path}"), &key).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.body["success"], true, "{path}: {}", r.text);
    }
    let r = app.get(&format!("{BASE}/sessions/?limit=500"), &key).await;
    assert_eq!(
        r.body["sessions"].as_array().unwrap().len(),
        3,
        "{}",
        r.text
    );
    // Zero is still not a limit.
    let r = app.get(&format!("{BASE}/sessions/?limit=0"), &key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["success"], false);
}

#[tokio::test]
async fn the_free_plan_gets_no_api_access_as_asyntai_says() {
    let app = TestApp::start().await;
    let key = app.create_account("free").await;
    let bot = app.create_bot(&key, "Free shop").await;
    for (method, path, body) in [
        (Method::GET, "/account/", None),
        (Method::GET, "/websites", None),
        (Method::POST, "/chat/", Some(json!({"message": "hello"}))),
        (
            Method::POST,
            "/knowledge/text/",
            Some(json!({"title": "Hours", "content": "Open every day."})),
        ),
    ] {
        let r = app
            .request(method.clone(), &format!("{BASE}{path}"), Some(&key), body)
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.text
        );
        assert_eq!(r.body["success"], false, "{}", r.text);
        assert!(
            r.body["error"].as_str().unwrap().contains("paid plan"),
            "{}",
            r.text
        );
    }
    // Nothing was learned or asked, and the native API stays open to the free plan.
    let sources = app.get(&format!("/v1/bots/{bot}/sources"), &key).await;
    assert_eq!(
        sources.body["data"].as_array().unwrap().len(),
        0,
        "{}",
        sources.text
    );
    let conversations = app.get("/v1/conversations", &key).await;
    assert_eq!(conversations.body["data"].as_array().unwrap().len(), 0);
    // A paid plan opens it.
    let paid = app.create_account("starter").await;
    let r = app.get(&format!("{BASE}/account/"), &paid).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
