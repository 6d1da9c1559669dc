//! The README's walkthrough, through HTTP: create a bot, give it text, ask, read the history.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_question_is_answered_from_the_text_with_its_source() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();

    let bot = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "Lyon Shop", "language": "en"}),
        )
        .await;
    assert_eq!(bot.status, StatusCode::CREATED, "{}", bot.text);
    let bot_id = bot.body["id"].as_str().unwrap();
    assert!(bot_id.starts_with("bot_"));
    assert_eq!(bot.body["settings"]["confidence_threshold"], 0.45);

    let source = app
        .post(
            &format!("/v1/bots/{bot_id}/sources/text"),
            &key,
            json!({"title": "Shop FAQ", "content": SHOP_FAQ}),
        )
        .await;
    assert_eq!(source.status, StatusCode::CREATED, "{}", source.text);
    assert_eq!(source.body["title"], "Shop FAQ");
    assert_eq!(source.body["chunks_created"], 3, "one passage per heading");
    let source_id = source.body["id"].as_str().unwrap();

    let answer = app
        .chat(
            &key,
            bot_id,
            json!({"message": "When is the shop open on Saturdays?"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let reply = answer.body["reply"].as_str().unwrap();
    assert!(
        reply.contains("On Saturdays we open from 10am to 4pm."),
        "{reply}"
    );
    assert!(
        !reply.contains("refund"),
        "only what answers the question: {reply}"
    );
    assert_eq!(answer.body["outcome"], "answered");
    let confidence = answer.body["confidence"].as_f64().unwrap();
    assert!((0.45..=1.0).contains(&confidence), "{confidence}");
    let sources = answer.body["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0]["source_id"], source_id);
    assert_eq!(sources[0]["title"], "Shop FAQ › Opening hours");
    assert!(sources[0]["snippet"]
        .as_str()
        .unwrap()
        .contains("Saturdays"));

    let conversation = answer.body["conversation_id"].as_str().unwrap();
    let follow_up = app
        .chat(
            &key,
            bot_id,
            json!({"message": "How long do refunds take?", "conversation_id": conversation}),
        )
        .await;
    assert_eq!(follow_up.status, StatusCode::OK, "{}", follow_up.text);
    assert_eq!(follow_up.body["conversation_id"], conversation);
    assert!(
        follow_up.body["reply"]
            .as_str()
            .unwrap()
            .contains("5 business days"),
        "{}",
        follow_up.text
    );

    let history = app
        .get(&format!("/v1/conversations/{conversation}/messages"), &key)
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let messages = history.body["data"].as_array().unwrap();
    let roles: Vec<_> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["visitor", "bot", "visitor", "bot"]);
    assert_eq!(messages[0]["text"], "When is the shop open on Saturdays?");
    assert_eq!(messages[1]["text"], reply);
    assert_eq!(messages[1]["id"], answer.body["message_id"]);
    assert_eq!(messages[1]["outcome"], "answered");
    assert_eq!(messages[1]["sources"][0]["source_id"], source_id);
    assert!(messages[1]["confidence"].as_f64().is_some());
    assert!(messages[0]["confidence"].is_null());
    assert!(
        messages[0]["created_at"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 UTC"
    );
}

#[tokio::test]
async fn a_question_the_text_does_not_answer_gets_the_fallback_without_sources() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;

    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Do you repair helicopter engines?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "fallback");
    assert!(r.body["reply"]
        .as_str()
        .unwrap()
        .starts_with("Sorry, I couldn't find an answer"));
    assert!(r.body["sources"].as_array().unwrap().is_empty());
    assert!(r.body["confidence"].as_f64().unwrap() < 0.45);
}

#[tokio::test]
async fn the_bots_own_fallback_message_and_threshold_are_used() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .patch(&format!("/v1/bots/{bot}"), &key, json!({"settings": {"fallback_message": "Ask Marie at the desk.", "confidence_threshold": 1.0}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["settings"]["fallback_message"],
        "Ask Marie at the desk."
    );
    assert_eq!(
        r.body["settings"]["greeting"], "Hi! How can I help you today?",
        "untouched settings keep their value"
    );

    // Every word is covered only when the threshold is 1; this question leaves "price" uncovered.
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "What is the price of shipping to Spain?"}),
        )
        .await;
    assert_eq!(r.body["outcome"], "fallback", "{}", r.text);
    assert!(
        r.body["reply"]
            .as_str()
            .unwrap()
            .starts_with("Ask Marie at the desk."),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_bot_without_knowledge_falls_back() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Empty").await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "What are your opening hours?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "fallback");
    assert_eq!(r.body["confidence"], 0.0);
}

#[tokio::test]
async fn a_deleted_source_no_longer_answers() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let faq = app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    app.add_text(
        &key,
        &bot,
        "Parking",
        "Customers can park for free behind the shop, entrance on Rue Mercière.",
    )
    .await;

    let before = app
        .chat(&key, &bot, json!({"message": "Is delivery free?"}))
        .await;
    assert_eq!(before.body["outcome"], "answered", "{}", before.text);

    let r = app
        .delete(&format!("/v1/bots/{bot}/sources/{faq}"), &key)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let after = app
        .chat(&key, &bot, json!({"message": "Is delivery free?"}))
        .await;
    assert_eq!(after.body["outcome"], "fallback", "{}", after.text);
    let sources = app.get(&format!("/v1/bots/{bot}/sources"), &key).await;
    assert_eq!(sources.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/v1/bots/{bot}/sources/{faq}"), &key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let parking = app
        .chat(&key, &bot, json!({"message": "Where can I park?"}))
        .await;
    assert_eq!(parking.body["outcome"], "answered", "{}", parking.text);
}

#[tokio::test]
async fn a_contact_id_links_the_visitor_to_the_conversation() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "hello there", "contact_id": "visitor-42"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let contact = r.body["contact_id"].as_str().unwrap().to_owned();
    assert!(contact.starts_with("cnt_"));
    let again = app
        .chat(
            &key,
            &bot,
            json!({"message": "another visit", "contact_id": "visitor-42"}),
        )
        .await;
    assert_eq!(
        again.body["contact_id"],
        contact.as_str(),
        "same visitor, same contact"
    );
    assert_ne!(
        again.body["conversation_id"], r.body["conversation_id"],
        "a new conversation each time"
    );
    let conv = app
        .get(
            &format!(
                "/v1/conversations/{}",
                r.body["conversation_id"].as_str().unwrap()
            ),
            &key,
        )
        .await;
    assert_eq!(conv.body["external_id"], "visitor-42");
    assert_eq!(conv.body["channel"], "api");
    assert_eq!(conv.body["status"], "bot");
}

#[tokio::test]
async fn french_knowledge_is_searched_with_french_analysis() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let r = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "Boutique", "language": "fr"}),
        )
        .await;
    let bot = r.body["id"].as_str().unwrap().to_owned();
    app.add_text(&key, &bot, "Livraison", "Nous livrons partout en France sous trois jours. La livraison est offerte dès 50 euros d'achat.").await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "La livraison est-elle offerte ?"}),
        )
        .await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    assert!(
        r.body["reply"]
            .as_str()
            .unwrap()
            .contains("livraison est offerte"),
        "{}",
        r.text
    );
}
