//! Keys, restarts, crashes between the database and the index, and the operational endpoints.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_restart_keeps_bots_sources_conversations_and_answers() {
    let mut app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let source = app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let first = app
        .chat(&key, &bot, json!({"message": "How long do refunds take?"}))
        .await;
    assert_eq!(first.body["outcome"], "answered", "{}", first.text);
    let conv = first.body["conversation_id"].as_str().unwrap().to_owned();

    app.restart().await;

    let r = app.get(&format!("/v1/bots/{bot}"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Shop");
    let r = app
        .get(&format!("/v1/bots/{bot}/sources/{source}"), &key)
        .await;
    assert_eq!(r.body["chunks"], 3, "{}", r.text);
    let history = app
        .get(&format!("/v1/conversations/{conv}/messages"), &key)
        .await;
    let messages = history.body["data"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["text"], first.body["reply"]);
    assert_eq!(messages[1]["sources"], first.body["sources"]);

    let again = app
        .chat(
            &key,
            &bot,
            json!({"message": "How long do refunds take?", "conversation_id": conv}),
        )
        .await;
    assert_eq!(again.body["reply"], first.body["reply"]);
    assert_eq!(again.body["confidence"], first.body["confidence"]);
}

#[tokio::test]
async fn a_lost_index_is_rebuilt_from_the_database_at_start() {
    let mut app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let before = app
        .chat(&key, &bot, json!({"message": "Is delivery free?"}))
        .await;

    app.stop().await;
    std::fs::remove_dir_all(app.data_dir.join("index")).unwrap();
    app.start_again().await;

    let after = app
        .chat(&key, &bot, json!({"message": "Is delivery free?"}))
        .await;
    assert_eq!(after.body["outcome"], "answered", "{}", after.text);
    assert_eq!(after.body["reply"], before.body["reply"]);
}

#[tokio::test]
async fn a_deleted_bot_takes_its_knowledge_and_conversations_with_it() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let conv = app.chat(&key, &bot, json!({"message": "hello"})).await.body["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(app.data_dir.join("index").join(&bot).exists());

    assert_eq!(
        app.delete(&format!("/v1/bots/{bot}"), &key).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/v1/bots/{bot}"), &key).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/v1/conversations/{conv}"), &key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(!app.data_dir.join("index").join(&bot).exists());
    assert_eq!(
        app.delete(&format!("/v1/bots/{bot}"), &key).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn changing_a_bots_language_reanalyses_its_knowledge() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Boutique").await;
    app.add_text(
        &key,
        &bot,
        "Retours",
        "Les retours sont gratuits pendant trente jours après la livraison.",
    )
    .await;
    let r = app
        .patch(&format!("/v1/bots/{bot}"), &key, json!({"language": "fr"}))
        .await;
    assert_eq!(r.body["language"], "fr");
    let r = app
        .chat(&key, &bot, json!({"message": "Le retour est-il gratuit ?"}))
        .await;
    assert_eq!(
        r.body["outcome"], "answered",
        "French stemming matches retour/retours: {}",
        r.text
    );
}

#[tokio::test]
async fn keys_are_shown_once_listed_by_prefix_and_revocable() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let created = app
        .post(
            "/v1/keys",
            &key,
            json!({"name": "widget", "scopes": ["chat", "chat"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk_"));
    assert_eq!(created.body["scopes"], json!(["chat"]));
    assert_eq!(created.body["prefix"], secret[..11]);

    let list = app.get("/v1/keys", &key).await;
    assert!(
        !list.text.contains(&secret),
        "a listing never shows a secret"
    );
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);

    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/keys/{id}"), &key).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/v1/bots", &secret).await.status,
        StatusCode::UNAUTHORIZED
    );

    let list = app.get("/v1/keys", &key).await;
    let own = list.body["data"][0]["id"].as_str().unwrap();
    let r = app.delete(&format!("/v1/keys/{own}"), &key).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "the last admin key stays");
    assert!(r.message().contains("last admin key"));

    let r = app
        .post("/v1/keys", &key, json!({"name": "x", "scopes": ["root"]}))
        .await;
    assert!(
        r.message().contains("`root` is not a scope"),
        "{}",
        r.message()
    );
    let r = app
        .post("/v1/keys", &key, json!({"name": "x", "scopes": []}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_a_configured_key_one_is_generated_and_saved_privately() {
    let app = TestApp::start_with(|c| c.admin_key = None).await;
    let file = app.data_dir.join("admin-key.txt");
    let secret = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(secret.starts_with("sk_"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let r = app.get("/v1/account", &secret).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["is_operator"], true);
    assert_eq!(r.body["plan"], "unlimited");
    // The database and its write-ahead log (where recent writes sit until a checkpoint).
    for file in ["sitechat.db", "sitechat.db-wal"] {
        let bytes = std::fs::read(app.data_dir.join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "only the hash is stored ({file})"
        );
    }
    let hash = sitechat_server::auth::hash_key(&secret);
    let stored: Vec<u8> = [
        std::fs::read(app.data_dir.join("sitechat.db")).unwrap_or_default(),
        std::fs::read(app.data_dir.join("sitechat.db-wal")).unwrap_or_default(),
    ]
    .concat();
    assert!(
        stored.windows(hash.len()).any(|w| w == hash.as_bytes()),
        "the hash is there, so the search above looked in the right place"
    );
}

#[tokio::test]
async fn accounts_are_created_with_a_plan_and_a_first_key() {
    let app = TestApp::start().await;
    let r = app
        .post(
            "/v1/accounts",
            &app.admin_key,
            json!({"name": "Acme", "plan": "starter"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body["id"].as_str().unwrap().starts_with("acc_"));
    assert_eq!(r.body["plan"], "starter");
    let key = r.body["api_key"].as_str().unwrap();
    let me = app.get("/v1/account", key).await;
    assert_eq!(me.body["name"], "Acme");
    assert_eq!(me.body["limits"]["messages_per_month"], 2500);
    assert_eq!(me.body["is_operator"], false);

    let r = app
        .post(
            "/v1/accounts",
            &app.admin_key,
            json!({"name": "Acme", "plan": "gold"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("`gold` is not a plan"),
        "{}",
        r.message()
    );
    let list = app.get("/v1/accounts", &app.admin_key).await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        2,
        "operator and Acme"
    );
}

#[tokio::test]
async fn health_metrics_and_docs_are_served() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let health = app
        .request(reqwest::Method::GET, "/health", None, None)
        .await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["database"]["status"], "ok");
    // With the embedding model installed (`make models`), retrieval is hybrid.
    let embedding = health.body["models"]["embedding"].as_str().unwrap();
    let expected = match embedding {
        "loaded" | "not_loaded" => "hybrid",
        _ => "bm25",
    };
    assert_eq!(
        health.body["models"]["retrieval"], expected,
        "{}",
        health.text
    );
    assert!(health.headers.contains_key("x-request-id"));

    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    app.chat(&key, &bot, json!({"message": "Is delivery free?"}))
        .await;
    app.chat(&key, &bot, json!({"message": "Do you sell helicopters?"}))
        .await;

    let metrics = app
        .request(reqwest::Method::GET, "/metrics", None, None)
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.text.contains(r#"sitechat_http_requests_total{method="POST",route="/v1/bots/{id}/chat",status="200"} 2"#), "{}", metrics.text);
    assert!(metrics
        .text
        .contains(r#"sitechat_answers_total{outcome="answered"} 1"#));
    assert!(metrics
        .text
        .contains(r#"sitechat_answers_total{outcome="fallback"} 1"#));
    assert!(metrics
        .text
        .contains("sitechat_http_request_duration_seconds_bucket"));

    let spec = app
        .request(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/bots",
        "/v1/bots/{id}",
        "/v1/bots/{id}/sources/text",
        "/v1/bots/{id}/chat",
        "/v1/conversations/{id}/messages",
        "/v1/keys",
        "/v1/accounts",
        "/health",
    ] {
        assert!(
            spec.body["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }
    let docs = app.request(reqwest::Method::GET, "/docs", None, None).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("/v1/bots/{id}/chat") && docs.text.contains("ChatResponse"));

    let r = app
        .client
        .get(format!("{}/health", app.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-request-id"],
        "trace-me-123",
        "a client's request id is kept"
    );
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = TestApp::start_with(|c| c.cors_origins = vec!["https://shop.example".into()]).await;
    let ok = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/v1/bots", app.base))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let other = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/v1/bots", app.base))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn health_says_when_answers_run_on_keywords_alone() {
    let empty = tempfile::tempdir().unwrap();
    let app = TestApp::start_with(|c| c.models_dir = Some(empty.path().to_path_buf())).await;
    let health = app
        .request(reqwest::Method::GET, "/health", None, None)
        .await;
    assert_eq!(health.body["models"]["embedding"], "missing");
    assert_eq!(health.body["models"]["retrieval"], "bm25");
    assert!(
        health.body["models"]["embedding_detail"]
            .as_str()
            .unwrap()
            .contains("make models"),
        "{}",
        health.text
    );
    // Answers still work, on BM25.
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .post(
            &format!("/v1/bots/{bot}/search"),
            &key,
            serde_json::json!({"query": "refunds"}),
        )
        .await;
    assert_eq!(r.body["retrieval"], "bm25", "{}", r.text);

    let off = TestApp::start_with(|c| c.embeddings = false).await;
    let health = off
        .request(reqwest::Method::GET, "/health", None, None)
        .await;
    assert_eq!(health.body["models"]["embedding"], "disabled");
    assert_eq!(health.body["models"]["retrieval"], "bm25");
}
