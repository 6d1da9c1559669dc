//! `POST /v1/bots/{id}/search`: the passages a bot answers from, best first.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn search_returns_ranked_passages_with_what_cites_them() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .post(
            &format!("/v1/bots/{bot}/search"),
            &key,
            json!({"query": "How long do refunds take?", "k": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = r.body["data"].as_array().unwrap();
    assert!(!data.is_empty() && data.len() <= 2, "{}", r.text);
    assert_eq!(data[0]["rank"], 1);
    assert_eq!(data[0]["heading"], "Returns");
    assert!(data[0]["snippet"].as_str().unwrap().contains("30 days"));
    // The whole passage, which answers are composed from.
    assert!(
        data[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("You can return")
            && data[0]["text"]
                .as_str()
                .unwrap()
                .contains("Refunds are paid to the original card within 5 business days."),
        "{}",
        r.text
    );
    assert!(data[0]["score"].as_f64().unwrap() > 0.0);
    assert!(data[0]["chunk_id"].as_str().unwrap().starts_with("chk_"));
    assert!(r.body["retrieval"].is_string());
    // Nothing was stored: searching is not chatting.
    let list = app
        .get(&format!("/v1/conversations?bot_id={bot}"), &key)
        .await;
    assert_eq!(list.body["data"], json!([]));
}

#[tokio::test]
async fn search_refuses_bad_input_and_other_tenants() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let path = format!("/v1/bots/{bot}/search");
    for (body, field) in [
        (json!({"query": "  "}), "query"),
        (json!({"query": "refunds", "k": 0}), "k"),
        (json!({"query": "refunds", "k": 51}), "k"),
        (json!({"q": "refunds"}), "query"),
    ] {
        let r = app.post(&path, &key, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.text.contains(field), "{body}: {}", r.text);
    }
    let other = app.create_account("pro").await;
    let r = app.post(&path, &other, json!({"query": "refunds"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // An empty bot finds nothing, and says so with an empty list.
    let r = app.post(&path, &key, json!({"query": "refunds"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"], json!([]));
}

/// A server whose retrieval is hybrid: the test needs the embedding model.
async fn hybrid_app() -> TestApp {
    let app = TestApp::start().await;
    let health = app
        .request(reqwest::Method::GET, "/health", None, None)
        .await;
    assert_eq!(
        health.body["models"]["retrieval"], "hybrid",
        "this test needs the embedding model: run `make models` ({})",
        health.text
    );
    app
}

#[tokio::test]
async fn meaning_finds_what_keywords_miss_and_the_fallback_points_to_it() {
    let app = hybrid_app().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    // Not one word of the question is in the FAQ, but its Returns section answers it.
    let question = "Can I get my money back?";
    let r = app
        .post(
            &format!("/v1/bots/{bot}/search"),
            &key,
            json!({"query": question, "k": 3}),
        )
        .await;
    assert_eq!(r.body["retrieval"], "hybrid", "{}", r.text);
    assert_eq!(r.body["data"][0]["heading"], "Returns", "{}", r.text);
    assert!(
        r.body["data"][0]["similarity"].as_f64().unwrap() > 0.3,
        "{}",
        r.text
    );
    // Meaning alone is not enough to answer (no word of the question is in the passage: the
    // confidence blends both), but the fallback points the visitor to the right topic first.
    let r = app.chat(&key, &bot, json!({"message": question})).await;
    assert_eq!(r.body["outcome"], "fallback", "{}", r.text);
    assert_eq!(r.body["buttons"][0]["title"], "Returns", "{}", r.text);
}

#[tokio::test]
async fn the_answering_sentence_is_chosen_by_meaning_when_no_word_is_shared() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    // A low threshold: this is about which sentence answers, not whether to answer.
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"confidence_threshold": 0.05}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.add_text(
        &key,
        &bot,
        "About us",
        "We are a family business founded in 1998. Our team loves plants and gardens. \
         Parcels reach most addresses within two working days. We reply to emails every morning.",
    )
    .await;
    // "fast" and "delivery" are in no sentence: words alone find nothing to pick, and the
    // passage's opening ("We are a family business…") was the reply before sentences were
    // weighed by meaning.
    let r = app
        .chat(&key, &bot, json!({"message": "How fast is delivery?"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    let reply = r.body["reply"].as_str().unwrap();
    assert!(reply.starts_with("Parcels reach"), "{}", r.text);
    assert!(!reply.contains("family business"), "{}", r.text);
}

#[tokio::test]
async fn a_follow_up_question_is_understood_from_the_previous_turn() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(
        &key,
        &bot,
        "Products",
        "# Kettle Pro\n\nThe Kettle Pro costs 89 euros and boils 1.7 litres in three minutes.\n\n# Toaster Max\n\nThe Toaster Max costs 59 euros and toasts four slices at once.",
    )
    .await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "Tell me about the Toaster Max"}),
        )
        .await;
    let conversation = r.body["conversation_id"].as_str().unwrap().to_owned();
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "How much is it?", "conversation_id": conversation}),
        )
        .await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    let reply = r.body["reply"].as_str().unwrap();
    assert!(reply.contains("59 euros"), "{reply}");
    assert!(!reply.contains("89 euros"), "{reply}");
    // In a new conversation the same words have nothing to refer to.
    let r = app
        .chat(&key, &bot, json!({"message": "How much is it?"}))
        .await;
    assert_eq!(r.body["outcome"], "fallback", "{}", r.text);
}

#[tokio::test]
async fn a_fallback_suggests_what_the_bot_knows_and_offers_a_person() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .chat(&key, &bot, json!({"message": "Do you sell helicopters?"}))
        .await;
    assert_eq!(r.body["outcome"], "fallback", "{}", r.text);
    let buttons: Vec<&str> = r.body["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap())
        .collect();
    let (person, topics) = buttons.split_last().expect("buttons");
    assert_eq!(*person, "Talk to a person", "{buttons:?}");
    assert!(!topics.is_empty() && topics.len() <= 3, "{buttons:?}");
    assert!(
        topics
            .iter()
            .all(|t| ["Opening hours", "Returns", "Shipping"].contains(t)),
        "{buttons:?}"
    );
    // The buttons stay with the message in the history.
    let conversation = r.body["conversation_id"].as_str().unwrap().to_owned();
    let history = app
        .get(&format!("/v1/conversations/{conversation}/messages"), &key)
        .await;
    assert_eq!(history.body["data"][1]["buttons"], r.body["buttons"]);
    // Pressing the offer asks for a person.
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": person, "conversation_id": conversation}),
        )
        .await;
    assert_eq!(r.body["outcome"], "handoff", "{}", r.text);
    assert_eq!(r.body["status"], "waiting_for_agent", "{}", r.text);
}

/// The value of the counter `metric{from="…"}` in the server's metrics.
async fn counted(app: &TestApp, metric: &str, from: &str) -> u64 {
    let metrics = app
        .request(reqwest::Method::GET, "/metrics", None, None)
        .await;
    let line = format!("{metric}{{from=\"{from}\"}} ");
    metrics
        .text
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .unwrap_or_else(|| panic!("no {line} in\n{}", metrics.text))
        .parse()
        .unwrap()
}

/// Sentence vectors weighed for questions, by where they came from.
async fn sentence_vectors(app: &TestApp, from: &str) -> u64 {
    counted(app, "sitechat_sentence_vectors_total", from).await
}

/// Sentences given a vector at ingest, embedded or reused.
async fn sentences_ingested(app: &TestApp, from: &str) -> u64 {
    counted(app, "sitechat_sentences_ingested_total", from).await
}

#[tokio::test]
async fn sentences_embedded_with_their_passages_are_not_embedded_again_for_a_question() {
    let mut app = hybrid_app().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    // A small source is embedded, passages and sentences, before the call returns.
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;

    // Just embedded, its sentences are still in memory.
    let r = app
        .chat(&key, &bot, json!({"message": "How long do refunds take?"}))
        .await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    assert!(
        r.body["reply"]
            .as_str()
            .unwrap()
            .contains("5 business days"),
        "{}",
        r.text
    );
    assert!(sentence_vectors(&app, "cache").await > 0);
    assert_eq!(sentence_vectors(&app, "model").await, 0);

    // After a restart, they are read from the store, then kept in memory.
    app.restart().await;
    let r = app
        .chat(&key, &bot, json!({"message": "How long do refunds take?"}))
        .await;
    assert!(
        r.body["reply"]
            .as_str()
            .unwrap()
            .contains("5 business days"),
        "{}",
        r.text
    );
    let stored = sentence_vectors(&app, "stored").await;
    assert!(stored > 0, "no stored sentence vector was used");
    assert_eq!(sentence_vectors(&app, "model").await, 0);
    app.chat(&key, &bot, json!({"message": "When is my refund paid?"}))
        .await;
    assert!(sentence_vectors(&app, "cache").await > 0);
    assert_eq!(sentence_vectors(&app, "stored").await, stored);
    assert_eq!(sentence_vectors(&app, "model").await, 0);
}

#[tokio::test]
async fn a_sentence_that_a_site_repeats_is_embedded_once() {
    let mut app = hybrid_app().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Garden centre").await;
    let note = "Our garden team answers calls on 0161 496 0000 every day until 6 pm.";
    let sections = [
        (
            "Roses",
            "Bare-root roses are planted between November and March.",
        ),
        (
            "Bulbs",
            "Tulip bulbs go in the ground in late autumn, 15 cm deep.",
        ),
        (
            "Lawns",
            "New turf needs watering every day for its first two weeks.",
        ),
        (
            "Hedges",
            "Beech hedges are trimmed once a year, in late summer.",
        ),
    ];
    let text: String = sections
        .iter()
        .map(|(heading, body)| format!("# {heading}\n\n{body} {note}\n\n"))
        .collect();
    // Four passages of two sentences each, embedded before the call returns: the note is
    // embedded for the first and reused for the other three.
    app.add_text(&key, &bot, "Planting guide", &text).await;
    assert_eq!(sentences_ingested(&app, "model").await, 5);
    assert_eq!(sentences_ingested(&app, "reused").await, 3);

    // Every passage's sentences are stored, the reused ones included: after a restart, a
    // question weighs them without embedding any (the bulbs' note was reused).
    app.restart().await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "when should I put my tulips in?"}),
        )
        .await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    assert!(
        r.body["reply"].as_str().unwrap().contains("late autumn"),
        "{}",
        r.text
    );
    assert!(sentence_vectors(&app, "stored").await > 0);
    assert_eq!(sentence_vectors(&app, "model").await, 0);
}

#[tokio::test]
async fn a_reply_is_a_part_of_its_passage_within_the_bots_answer_max_chars() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(
        &key,
        &bot,
        "Help",
        "# Delivery\n\nParcels leave our warehouse in Lyon within one working day. They travel \
         by courier and reach most addresses within two more days. A tracking link is sent by \
         email. Someone must sign for parcels worth more than 200 euros.\n\n# Café\n\n\
         Our café upstairs serves tea and cake.",
    )
    .await;
    let ask = || {
        app.chat(
            &key,
            &bot,
            json!({"message": "How long does delivery take?"}),
        )
    };
    let r = ask().await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    let reply = r.body["reply"].as_str().unwrap();
    // Under a heading that asks the question, the passage is the answer, and only it.
    assert!(reply.starts_with("Parcels leave"), "{}", r.text);
    assert!(reply.contains("Someone must sign"), "{}", r.text);
    assert!(!reply.contains("café"), "{}", r.text);

    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"answer_max_chars": 130}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["settings"]["answer_max_chars"], 130, "{}", r.text);
    let r = ask().await;
    let reply = r.body["reply"].as_str().unwrap();
    assert!(reply.starts_with("Parcels leave"), "{}", r.text);
    assert!(reply.chars().count() <= 130, "{}", r.text);
}

#[tokio::test]
async fn a_follow_up_is_read_with_the_question_before_it_only_when_it_needs_it() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(
        &key,
        &bot,
        "Help",
        "# Planters\n\nThe PL200 planter costs £29 and holds 20 litres of soil.\n\n\
         # Shipping\n\nShipping costs £4.95 in the UK and is free on orders over £60.\n\n\
         # Opening hours\n\nOn weekdays we open from 9am to 6pm.\n\n\
         On Saturdays we open from 10am to 4pm.",
    )
    .await;
    let mut conversation = serde_json::Value::Null;
    let mut ask = async |message: &str| {
        let r = app
            .chat(
                &key,
                &bot,
                json!({"message": message, "conversation_id": conversation}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        conversation = r.body["conversation_id"].clone();
        r
    };
    let r = ask("How much is the PL200 planter?").await;
    assert!(
        r.body["reply"].as_str().unwrap().contains("£29"),
        "{}",
        r.text
    );
    // A follow-up that asks its own question is answered on its own.
    let r = ask("And how much is shipping?").await;
    let reply = r.body["reply"].as_str().unwrap();
    assert!(
        reply.contains("£4.95") && !reply.contains("£29"),
        "{}",
        r.text
    );
    // One that only makes sense with the question before it is read with it.
    ask("When are you open on weekdays?").await;
    let r = ask("and on Saturdays?").await;
    assert!(
        r.body["reply"].as_str().unwrap().contains("10am"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_bot_that_knows_two_sentences_answers_questions_in_other_words_and_explains_its_confidence(
) {
    // The AISA document's own example: a bot that knows only this.
    let app = hybrid_app().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(
        &key,
        &bot,
        "About us",
        "We are open Monday to Friday, 9 AM to 6 PM. Returns are accepted within 30 days with a \
         receipt.",
    )
    .await;
    for (question, expected) in [
        ("What are your business hours?", "9 AM to 6 PM"),
        ("what time do you close", "6 PM"),
        ("When are you open?", "Monday to Friday"),
        ("Can I return an item?", "30 days"),
        ("how long do I have to send something back", "30 days"),
    ] {
        let r = app
            .chat(&key, &bot, json!({"message": question, "explain": true}))
            .await;
        assert_eq!(r.body["outcome"], "answered", "{question}: {}", r.text);
        assert!(
            r.body["reply"].as_str().unwrap().contains(expected),
            "{question}: {}",
            r.text
        );
        // What the confidence was fitted from: meaning was measured, and the knowledge is tiny.
        let signals = &r.body["signals"];
        assert!(signals["sentence"].as_f64().unwrap() > 0.4, "{}", r.text);
        assert!(signals["tiny"].as_f64().unwrap() > 0.4, "{}", r.text);
    }
    // What it does not know, it does not answer; without `explain`, no signals.
    for question in ["Do you sell helicopters?", "Do you ship to Canada?"] {
        let r = app.chat(&key, &bot, json!({"message": question})).await;
        assert_eq!(r.body["outcome"], "fallback", "{question}: {}", r.text);
        assert!(r.body["confidence"].as_f64().unwrap() < 0.3, "{}", r.text);
        assert!(r.body.get("signals").is_none(), "{}", r.text);
    }
    // A greeting is not composed from passages: nothing to explain.
    let r = app
        .chat(&key, &bot, json!({"message": "hello", "explain": true}))
        .await;
    assert_eq!(r.body["outcome"], "smalltalk", "{}", r.text);
    assert!(r.body.get("signals").is_none(), "{}", r.text);
    // `explain` is a boolean.
    let r = app
        .chat(&key, &bot, json!({"message": "hi", "explain": "yes"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
