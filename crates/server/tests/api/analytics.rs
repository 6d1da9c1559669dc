//! `GET /v1/analytics`: a scripted set of conversations and the figures it must give.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestApp, SHOP_FAQ};

#[tokio::test]
async fn the_figures_of_a_scripted_set_of_conversations() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let ask = async |conversation: Option<&str>, message: &str| {
        let mut body = json!({"message": message});
        if let Some(c) = conversation {
            body["conversation_id"] = json!(c);
        }
        let r = app.chat(&key, &bot, body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        (
            r.body["conversation_id"].as_str().unwrap().to_owned(),
            r.body["outcome"].as_str().unwrap_or_default().to_owned(),
        )
    };
    // 1: an answer and a fallback, rated 4.
    let (one, outcome) = ask(None, "How long do refunds take?").await;
    assert_eq!(outcome, "answered");
    let (_, outcome) = ask(Some(&one), "Do you sell helicopters?").await;
    assert_eq!(outcome, "fallback");
    let r = app
        .post(
            &format!("/v1/conversations/{one}/rating"),
            &key,
            json!({"rating": 4}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // 2: contact details (a lead), then a person.
    let (two, _) = ask(None, "my email is jane@example.org").await;
    let (_, outcome) = ask(Some(&two), "I want to talk to a human").await;
    assert_eq!(outcome, "handoff");
    // 3: a greeting.
    ask(None, "hello").await;

    let r = app.get(&format!("/v1/analytics?bot_id={bot}"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = &r.body["totals"];
    assert_eq!(t["conversations"], 3, "{}", r.text);
    assert_eq!(t["messages"], 10, "{}", r.text);
    assert_eq!(
        (t["answered"].as_i64(), t["fallbacks"].as_i64()),
        (Some(1), Some(1)),
        "{}",
        r.text
    );
    assert_eq!(t["answer_rate"], 0.5, "{}", r.text);
    assert_eq!(t["handed_off"], 1, "{}", r.text);
    assert!(
        (t["handoff_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9,
        "{}",
        r.text
    );
    assert_eq!(
        (t["ratings"].as_i64(), t["satisfaction"].as_f64()),
        (Some(1), Some(4.0)),
        "{}",
        r.text
    );
    assert_eq!(t["leads"], 1, "{}", r.text);
    assert!(
        t["response_ms_median"].as_f64().unwrap() >= 0.0,
        "{}",
        r.text
    );
    assert!(t["response_ms_p95"].as_f64().unwrap() >= t["response_ms_median"].as_f64().unwrap());
    // Every day of the default range (30 days), zeros included; today's holds everything.
    let days = r.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 30, "{}", r.text);
    assert_eq!(days.last().unwrap()["conversations"], 3, "{}", r.text);
    assert_eq!(days[0]["conversations"], 0, "{}", r.text);
    assert!(days[0]["answer_rate"].is_null(), "{}", r.text);
    // The whole account gives the same; another account sees nothing of it.
    let r = app.get("/v1/analytics", &key).await;
    assert_eq!(r.body["totals"]["conversations"], 3, "{}", r.text);
    let other = app.create_account("pro").await;
    let r = app.get("/v1/analytics", &other).await;
    assert_eq!(r.body["totals"]["conversations"], 0, "{}", r.text);
    let r = app
        .get(&format!("/v1/analytics?bot_id={bot}"), &other)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // CSV: a header and a line a day.
    let r = app
        .get(&format!("/v1/analytics?bot_id={bot}&format=csv"), &key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines.len(), 31, "{}", r.text);
    assert!(
        lines[0].starts_with("date,conversations,messages,answered,fallbacks"),
        "{}",
        r.text
    );
    assert!(lines[30].contains(",3,10,1,1,0.500,"), "{}", r.text);
    // AISA's analytics read the same figures, every day of their range included.
    let r = app
        .get("/compat/aisa/v1/analytics/conversations", &key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total_conversations"], 3, "{}", r.text);
    assert_eq!(r.body["total_messages"], 10, "{}", r.text);
    assert_eq!(r.body["customer_satisfaction"], 4.0, "{}", r.text);
    assert_eq!(
        r.body["daily_breakdown"].as_array().unwrap().len(),
        30,
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_bad_range_or_format_says_what_to_fix() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    for (query, says) in [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-12-05&to=2026-12-01", "must not be after"),
        ("from=2024-01-01&to=2026-01-01", "at most 366 days"),
        ("format=xml", "format"),
        ("bot=bot_x", "bot"),
    ] {
        let r = app.get(&format!("/v1/analytics?{query}"), &key).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        assert!(r.message().contains(says), "{query}: {}", r.text);
    }
    let r = app.get("/v1/analytics?bot_id=bot_doesnotexist", &key).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app
        .get("/v1/analytics?from=2026-12-01&to=2026-12-01", &key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["days"].as_array().unwrap().len(), 1, "{}", r.text);
}
