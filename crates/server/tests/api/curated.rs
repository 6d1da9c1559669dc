//! Curated answers: a question and its answer, returned verbatim when a visitor asks that
//! question, ahead of whatever the passages say; added one by one or from a spreadsheet with
//! question and answer columns, removed with their source, and kept through an index rebuild.
//!
//! These pass with the embedding model (`SITECHAT_MODELS_DIR`) and without it: nothing here
//! depends on exact similarities.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::{multipart, StatusCode};
use serde_json::{json, Value};

const QUESTION: &str = "How long does a refund take?";
const ANSWER: &str = "For members, refunds take up to 60 days and come as a store voucher.";

async fn add_qa(app: &TestApp, key: &str, bot: &str, body: Value) -> common::Response {
    app.post(&format!("/v1/bots/{bot}/sources/qa"), key, body)
        .await
}

async fn sources(app: &TestApp, key: &str, bot: &str) -> Vec<Value> {
    let r = app.get(&format!("/v1/bots/{bot}/sources"), key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}

async fn ask(app: &TestApp, key: &str, bot: &str, message: &str) -> common::Response {
    let r = app.chat(key, bot, json!({"message": message})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r
}

/// Asserts that the reply is the curated answer, verbatim, cited by its question.
fn assert_curated(r: &common::Response, source: &str, question: &str, answer: &str) {
    assert_eq!(r.body["outcome"], "curated", "{}", r.text);
    assert_eq!(r.body["reply"], answer, "{}", r.text);
    let confidence = r.body["confidence"].as_f64().unwrap();
    assert!((0.8..=1.0).contains(&confidence), "{}", r.text);
    let cited = r.body["sources"].as_array().unwrap();
    assert_eq!(cited.len(), 1, "{}", r.text);
    assert_eq!(cited[0]["source_id"], source, "{}", r.text);
    assert_eq!(cited[0]["title"], question, "{}", r.text);
    assert_eq!(cited[0]["snippet"], answer, "{}", r.text);
}

/// A bot whose FAQ answers the refund question its own way.
async fn shop(app: &TestApp, key: &str) -> String {
    let bot = app.create_bot(key, "Shop").await;
    app.add_text(key, &bot, "Shop FAQ", SHOP_FAQ).await;
    let before = ask(app, key, &bot, "How long do refunds take?").await;
    assert_eq!(before.body["outcome"], "answered", "{}", before.text);
    assert!(
        before.body["reply"]
            .as_str()
            .unwrap()
            .contains("5 business days"),
        "{}",
        before.text
    );
    bot
}

#[tokio::test]
async fn a_curated_answer_wins_over_a_passage() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app, &key).await;

    let r = add_qa(
        &app,
        &key,
        &bot,
        json!({"question": format!("  {QUESTION} "), "answer": ANSWER}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["kind"], "qa");
    assert_eq!(r.body["title"], QUESTION, "the question is trimmed");
    assert_eq!(r.body["chunks_created"], 1);
    let qa = r.body["id"].as_str().unwrap().to_owned();
    let listed = app.get(&format!("/v1/bots/{bot}/sources/{qa}"), &key).await;
    assert_eq!(listed.body["kind"], "qa", "{}", listed.text);

    // The same question in other words: the curated answer, not the FAQ's.
    let r = ask(&app, &key, &bot, "How long do refunds take?").await;
    assert_curated(&r, &qa, QUESTION, ANSWER);
    let r = ask(&app, &key, &bot, QUESTION).await;
    assert_curated(&r, &qa, QUESTION, ANSWER);

    // The conversation keeps the outcome.
    let conversation = r.body["conversation_id"].as_str().unwrap();
    let messages = app
        .get(&format!("/v1/conversations/{conversation}/messages"), &key)
        .await;
    let last = messages.body["data"].as_array().unwrap().last().unwrap();
    assert_eq!(last["outcome"], "curated", "{}", messages.text);
}

#[tokio::test]
async fn other_questions_still_get_the_passages_answer() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app, &key).await;
    let r = add_qa(
        &app,
        &key,
        &bot,
        json!({"question": QUESTION, "answer": ANSWER}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let r = ask(&app, &key, &bot, "Are you open on Saturdays?").await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    assert!(
        r.body["reply"].as_str().unwrap().contains("10am to 4pm"),
        "{}",
        r.text
    );
    // Sharing a word with the curated question is not asking it.
    for message in [
        "Do you ship to Norway?",
        "Can I get a refund?",
        "Are refunds paid to the original card?",
    ] {
        let r = ask(&app, &key, &bot, message).await;
        assert_ne!(r.body["outcome"], "curated", "{message}: {}", r.text);
        assert_ne!(r.body["reply"], ANSWER, "{message}: {}", r.text);
    }
}

#[tokio::test]
async fn bad_curated_answers_are_refused_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let long_question = format!("{}?", "why ".repeat(80));
    let long_answer = "a".repeat(5_001);
    let cases = [
        (json!({"answer": ANSWER}), "question"),
        (json!({"question": QUESTION}), "answer"),
        (json!({"question": "   ", "answer": ANSWER}), "question"),
        (json!({"question": QUESTION, "answer": ""}), "answer"),
        (
            json!({"question": long_question, "answer": ANSWER}),
            "question",
        ),
        (
            json!({"question": QUESTION, "answer": long_answer}),
            "answer",
        ),
        (json!({"question": 42, "answer": ANSWER}), "question"),
        (
            json!({"question": QUESTION, "answer": ANSWER, "category": "x"}),
            "category",
        ),
    ];
    for (body, field) in cases {
        let r = add_qa(&app, &key, &bot, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.code(), "INVALID_REQUEST", "{body}: {}", r.text);
        assert!(r.message().contains(field), "{body}: {}", r.text);
    }
    let r = add_qa(&app, &key, &bot, json!({"question": "", "answer": ANSWER})).await;
    assert_eq!(
        r.body["error"]["details"]["field"], "question",
        "{}",
        r.text
    );
    assert!(sources(&app, &key, &bot).await.is_empty());
}

#[tokio::test]
async fn another_tenants_bot_is_not_found_and_a_chat_key_may_not_add() {
    let app = TestApp::start().await;
    let owner = app.create_account("pro").await;
    let other = app.create_account("pro").await;
    let bot = app.create_bot(&owner, "Shop").await;
    let body = json!({"question": QUESTION, "answer": ANSWER});

    let r = add_qa(&app, &other, &bot, body.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.code(), "RESOURCE_NOT_FOUND");

    let chat_key = app
        .post(
            "/v1/keys",
            &owner,
            json!({"name": "widget", "scopes": ["chat"]}),
        )
        .await;
    assert_eq!(chat_key.status, StatusCode::CREATED, "{}", chat_key.text);
    let chat_key = chat_key.body["secret"].as_str().unwrap().to_owned();
    let r = add_qa(&app, &chat_key, &bot, body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(sources(&app, &owner, &bot).await.is_empty());
}

async fn upload_csv(app: &TestApp, key: &str, bot: &str, csv: &str) -> common::Response {
    let part = multipart::Part::bytes(csv.as_bytes().to_vec())
        .file_name("faq.csv")
        .mime_str("text/csv")
        .unwrap();
    let r = app
        .client
        .post(format!("{}/v1/bots/{bot}/sources/spreadsheet", app.base))
        .bearer_auth(key)
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    TestApp::read(r).await
}

const INVOICE_Q: &str = "Can I pay by invoice?";
const INVOICE_A: &str = "Yes: business customers can pay by invoice within 14 days.";

#[tokio::test]
async fn a_spreadsheet_of_questions_and_answers_becomes_curated_answers() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app, &key).await;
    let csv = format!(
        "Question;Réponse;Notes\n{QUESTION};\"{ANSWER}\";from support\n;An answer without a question;\nDo you gift wrap?;;\n{INVOICE_Q};{INVOICE_A};\n"
    );
    let r = upload_csv(&app, &key, &bot, &csv).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["kind"], "qa", "{}", r.text);
    assert_eq!(r.body["title"], "faq.csv");
    assert_eq!(r.body["rows_processed"], 2, "{}", r.text);
    assert_eq!(r.body["chunks_created"], 2, "{}", r.text);
    assert_eq!(r.body["skipped_rows"], 2, "{}", r.text);
    assert_eq!(r.body["total_rows"], 4, "{}", r.text);
    let sheet = r.body["id"].as_str().unwrap().to_owned();

    let r = ask(&app, &key, &bot, "How long do refunds take?").await;
    assert_curated(&r, &sheet, QUESTION, ANSWER);
    let r = ask(&app, &key, &bot, "can i pay by invoice").await;
    assert_curated(&r, &sheet, INVOICE_Q, INVOICE_A);

    // A sheet with no complete row is refused, and nothing is stored.
    let r = upload_csv(
        &app,
        &key,
        &bot,
        "q,a\nOnly a question?,\n,Only an answer\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("question"), "{}", r.text);
    assert_eq!(sources(&app, &key, &bot).await.len(), 2);

    // An ordinary spreadsheet is still one entry per row.
    let r = upload_csv(&app, &key, &bot, "Product,Price\nTent,199\n").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["kind"], "spreadsheet");
    assert_eq!(r.body["skipped_rows"], 0);
}

#[tokio::test]
async fn deleting_the_curated_answer_brings_the_passage_back() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app, &key).await;
    let r = add_qa(
        &app,
        &key,
        &bot,
        json!({"question": QUESTION, "answer": ANSWER}),
    )
    .await;
    let qa = r.body["id"].as_str().unwrap().to_owned();
    assert_curated(
        &ask(&app, &key, &bot, "How long do refunds take?").await,
        &qa,
        QUESTION,
        ANSWER,
    );

    let r = app
        .delete(&format!("/v1/bots/{bot}/sources/{qa}"), &key)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = ask(&app, &key, &bot, "How long do refunds take?").await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    assert!(
        r.body["reply"]
            .as_str()
            .unwrap()
            .contains("5 business days"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn an_index_rebuilt_from_the_database_keeps_curated_answers() {
    let mut app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = shop(&app, &key).await;
    let r = add_qa(
        &app,
        &key,
        &bot,
        json!({"question": QUESTION, "answer": ANSWER}),
    )
    .await;
    let qa = r.body["id"].as_str().unwrap().to_owned();
    let r = upload_csv(&app, &key, &bot, &format!("q,a\n{INVOICE_Q},{INVOICE_A}\n")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sheet = r.body["id"].as_str().unwrap().to_owned();

    app.stop().await;
    std::fs::remove_dir_all(app.data_dir.join("index")).unwrap();
    app.start_again().await;

    assert_curated(
        &ask(&app, &key, &bot, "How long do refunds take?").await,
        &qa,
        QUESTION,
        ANSWER,
    );
    assert_curated(
        &ask(&app, &key, &bot, INVOICE_Q).await,
        &sheet,
        INVOICE_Q,
        INVOICE_A,
    );
    let r = ask(&app, &key, &bot, "Are you open on Saturdays?").await;
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
}

#[tokio::test]
async fn the_endpoint_is_in_the_api_reference() {
    let app = TestApp::start().await;
    let r = app
        .request(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let op = &r.body["paths"]["/v1/bots/{id}/sources/qa"]["post"];
    assert!(op.is_object(), "{}", r.text);
    assert_eq!(
        r.body["components"]["schemas"]["SourceKind"]["enum"]
            .as_array()
            .map(|kinds| kinds.iter().any(|k| k == "qa")),
        Some(true),
        "{}",
        r.body["components"]["schemas"]["SourceKind"]
    );
}
