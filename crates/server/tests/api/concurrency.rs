//! Concurrent writers: SQLite serialises them, and none may fail with "database is locked".

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_chats_and_uploads_all_succeed() {
    let app = std::sync::Arc::new(TestApp::start().await);
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let conversation = app.chat(&key, &bot, json!({"message": "hello"})).await.body
        ["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut tasks = Vec::new();
    for i in 0..48 {
        let (app, key, bot, conversation) =
            (app.clone(), key.clone(), bot.clone(), conversation.clone());
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => app.chat(&key, &bot, json!({"message": "Is delivery free?"})).await,
                1 => app.chat(&key, &bot, json!({"message": "When are you open on Saturdays?", "conversation_id": conversation})).await,
                _ => {
                    app.post(&format!("/v1/bots/{bot}/sources/text"), &key, json!({"title": format!("Note {i}"), "content": format!("Store note number {i} about gift wrapping.")}))
                        .await
                }
            }
        }));
    }
    for task in tasks {
        let r = task.await.unwrap();
        assert!(
            r.status == StatusCode::OK || r.status == StatusCode::CREATED,
            "{}: {}",
            r.status,
            r.text
        );
    }
    let history = app
        .get(
            &format!("/v1/conversations/{conversation}/messages?limit=100"),
            &key,
        )
        .await;
    assert_eq!(
        history.body["data"].as_array().unwrap().len(),
        2 + 2 * 16,
        "every message of every turn is stored"
    );
    let sources = app
        .get(&format!("/v1/bots/{bot}/sources?limit=100"), &key)
        .await;
    assert_eq!(sources.body["data"].as_array().unwrap().len(), 1 + 16);
}
