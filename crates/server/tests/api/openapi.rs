//! The OpenAPI document describes what the server answers: the defects `make fuzz`
//! (schemathesis, scripts/fuzz.sh) found in it, each checked against the real server.

use crate::common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn spec(app: &TestApp) -> Value {
    let r = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    r.body
}

fn documented(spec: &Value, path: &str, method: &str, status: u16) -> bool {
    spec["paths"][path][method]["responses"]
        .get(status.to_string())
        .is_some()
}

#[tokio::test]
async fn the_errors_of_the_shared_layers_are_documented_on_every_operation() {
    let app = TestApp::start().await;
    let spec = spec(&app).await;
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let has = |status: u16| documented(&spec, path, method, status);
            let where_ = format!("{} {path}", method.to_uppercase());
            // The public visitor routes take no key: 401 only where a visitor token is needed,
            // and no Idempotency-Key (422).
            let public = path.starts_with("/v1/public/");
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            // Signing in and the one-time links take no credential and pass no shared limit.
            let open = !public && !secured;
            for status in [401, 403, 429] {
                if open {
                    continue;
                }
                if status == 401 && public && !secured {
                    assert!(!has(401), "{where_} documents 401 but takes no token");
                    continue;
                }
                assert!(has(status), "{where_} documents {status}");
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if params.iter().any(|p| p["in"] == "path") {
                assert!(has(404), "{where_} documents 404");
            }
            if let Some(content) = op["requestBody"]["content"].as_object() {
                assert!(has(400) && has(413), "{where_} documents 400 and 413");
                if content.contains_key("application/json") {
                    assert!(has(415), "{where_} documents 415");
                }
            }
            if params.iter().any(|p| p["in"] == "query") {
                assert!(has(400), "{where_} documents 400");
            }
            if method == "post" && !public && !open {
                assert!(has(422), "{where_} documents 422");
            }
        }
    }
    assert!(operations > 50, "{operations} operations checked");
    // Generated clients name a method after each operationId: no two may share one.
    let mut ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(
                    ids.insert(id.to_owned()),
                    "operationId {id} again on {method} {path}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_documented_errors_are_the_ones_the_server_answers() {
    let app = TestApp::start().await;
    let spec = spec(&app).await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Docs").await;

    // A JSON body sent without its content type.
    let r = app
        .client
        .post(format!("{}/v1/bots/{bot}/search", app.base))
        .bearer_auth(&key)
        .body(r#"{"query": "hours"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(documented(&spec, "/v1/bots/{id}/search", "post", 415));

    // A query parameter the operation does not know.
    let r = app.get("/v1/keys?unknown=1", &key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(documented(&spec, "/v1/keys", "get", 400));

    // No key at all.
    let r = app.request(Method::GET, "/v1/webhooks", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(documented(&spec, "/v1/webhooks", "get", 401));

    // A JSON body of the wrong shape on an operation that documented no 400.
    let conversation = app
        .post("/v1/conversations", &key, json!({"bot_id": bot}))
        .await;
    assert_eq!(
        conversation.status,
        StatusCode::CREATED,
        "{}",
        conversation.text
    );
    let id = conversation.body["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/v1/conversations/{id}/takeover"),
            &key,
            json!([null]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(documented(
        &spec,
        "/v1/conversations/{id}/takeover",
        "post",
        400
    ));

    // The same Idempotency-Key with another request.
    let chat = |message: &'static str| {
        app.client
            .post(format!("{}/v1/bots/{bot}/chat", app.base))
            .bearer_auth(&key)
            .header("Idempotency-Key", "fuzz-1")
            .json(&json!({"message": message}))
            .send()
    };
    assert_eq!(chat("hello").await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        chat("something else").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(documented(&spec, "/v1/bots/{id}/chat", "post", 422));

    // A streamed reply is a 200 of `text/event-stream`.
    let content = &spec["paths"]["/v1/bots/{id}/chat"]["post"]["responses"]["200"]["content"];
    assert!(content.get("text/event-stream").is_some(), "{content}");
}

#[tokio::test]
async fn a_contact_body_that_follows_the_documented_schema_is_accepted() {
    let app = TestApp::start().await;
    let spec = spec(&app).await;
    // The schema was an allOf of the contact (no other field allowed) and `bot_id`: no body
    // could satisfy both.
    let schema = &spec["components"]["schemas"]["SaveContact"];
    assert!(schema.get("allOf").is_none(), "{schema}");
    let properties = schema["properties"].as_object().unwrap();
    for field in [
        "bot_id",
        "external_id",
        "name",
        "email",
        "phone",
        "variables",
    ] {
        assert!(properties.contains_key(field), "{field} is documented");
    }
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Contacts").await;
    let r = app
        .post(
            "/v1/contacts",
            &key,
            json!({"bot_id": bot, "external_id": "v-1", "name": "Ada", "variables": {"contact": {"plan": "gold"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Ada");
    let r = app
        .post(
            "/v1/contacts",
            &key,
            json!({"bot_id": bot, "external_id": "v-2", "nickname": "A"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // The chat state's body is documented: any JSON document.
    let state = &spec["paths"]["/v1/contacts/{id}/state"]["put"]["requestBody"];
    assert!(state["content"]["application/json"].is_object(), "{state}");
}
