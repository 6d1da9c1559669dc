//! Each dialect's OpenAPI document (`/compat/{dialect}/openapi.json`) is built from the same
//! annotations as the dialect's routes: it lists exactly the seed's endpoints, every one of them
//! is served, its schemas name the fields of the seed's examples, and what the handlers answer
//! follows it.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A seed's endpoints, as (method, path) in the seed's own form.
type Endpoints = &'static [(&'static str, &'static str)];

/// Each dialect: its name, where it is mounted, and the seed's endpoints (37 in all).
const DIALECTS: [(&str, &str, Endpoints); 5] = [
    (
        "aisa",
        "/compat/aisa/v1",
        &[
            ("post", "/chatbot/create"),
            ("get", "/chatbot/{chatbot_id}"),
            ("put", "/chatbot/{chatbot_id}/retrain"),
            ("post", "/message/send"),
            ("get", "/message/history"),
            ("get", "/analytics/conversations"),
            ("post", "/webhooks/configure"),
        ],
    ),
    (
        "asyntai",
        "/compat/asyntai/api/v1",
        &[
            ("post", "/chat/"),
            ("get", "/websites/"),
            ("get", "/conversations/"),
            ("get", "/sessions/"),
            ("get", "/leads/"),
            ("get", "/account/"),
            ("get", "/knowledge/"),
            ("post", "/knowledge/text/"),
            ("post", "/knowledge/url/"),
            ("post", "/knowledge/spreadsheet/"),
            ("delete", "/knowledge/{id}/"),
            ("get", "/webhooks/"),
            ("post", "/webhooks/"),
            ("delete", "/webhooks/{id}/"),
        ],
    ),
    (
        "chataibot",
        "/compat/chataibot/api/v1",
        &[
            ("post", "/conversations"),
            ("post", "/conversation/{conversation_id}/messages"),
        ],
    ),
    (
        "askia",
        "/compat/askia/api",
        &[
            ("post", "/widget/chat"),
            ("get", "/bots/{id}"),
            ("get", "/bots/{id}/branding"),
        ],
    ),
    (
        "aimylogic",
        "/compat/aimylogic/chatapi",
        &[
            ("post", "/{token}"),
            ("get", "/{token}"),
            ("post", "/{token}/async"),
            ("get", "/{token}/events"),
            ("get", "/{token}/client/{clientId}/history"),
            ("get", "/{token}/client/{clientId}/state"),
            ("post", "/{token}/client/{clientId}/state"),
            (
                "get",
                "/{token}/client/{clientId}/message/{questionId}/status",
            ),
            (
                "post",
                "/{token}/client/{clientId}/message/{questionId}/status",
            ),
            ("post", "/{token}/client/{clientId}/message-statuses"),
            ("get", "/{token}/client/{clientId}/message-not-read-count"),
        ],
    ),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &TestApp, dialect: &str) -> Value {
    let r = app
        .request(
            Method::GET,
            &format!("/compat/{dialect}/openapi.json"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{dialect}: {}", r.text);
    r.body
}

/// The document's operations, as (method, path).
fn operations(spec: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                found.push((method.to_owned(), path.clone()));
            }
        }
    }
    found.sort();
    found
}

/// A path with each `{parameter}` replaced by a value that names nothing.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => in_parameter = true,
            '}' => {
                in_parameter = false;
                out.push_str("unknown");
            }
            _ if !in_parameter => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether the server has a route for `method path`: anything but a 405 or the dialect's "no
/// such route" 404 (an unknown id or token is answered by the route itself). The request
/// carries a key, so that the keyed dialects' routes answer past their authentication.
async fn served(app: &TestApp, method: &str, path: &str) -> Result<(), String> {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let body = (method == Method::POST || method == Method::PUT).then(|| json!({}));
    let r = app
        .request(method.clone(), path, Some(&app.admin_key), body)
        .await;
    if r.status == StatusCode::METHOD_NOT_ALLOWED {
        return Err(format!("{method} {path}: 405 {}", r.text));
    }
    if r.text.contains(&format!("route {method} {path}")) {
        return Err(format!("{method} {path}: no route ({})", r.text));
    }
    Ok(())
}

#[tokio::test]
async fn each_dialect_documents_exactly_the_seed_endpoints_and_serves_each_one() {
    let app = TestApp::start().await;
    let mut endpoints = 0;
    for (dialect, base, seed) in DIALECTS {
        let spec = document(&app, dialect).await;
        assert!(
            spec["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.")),
            "{dialect}: an OpenAPI 3 document: {}",
            spec["openapi"]
        );
        assert!(spec["info"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert!(spec["info"]["description"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert_eq!(spec["servers"][0]["url"], base, "{dialect}: its base path");
        let mut expected: Vec<(String, String)> = seed
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        expected.sort();
        assert_eq!(
            operations(&spec),
            expected,
            "{dialect}: the seed's endpoints"
        );
        endpoints += expected.len();

        for (path, item) in spec["paths"].as_object().unwrap() {
            let url = format!("{base}{}", concrete(path));
            for method in METHODS {
                let documented = item.get(method).is_some();
                let answer = served(&app, method, &url).await;
                if documented {
                    answer.unwrap_or_else(|e| panic!("{dialect}: documented but not served: {e}"));
                    // Every operation names its responses, with a schema for the success.
                    let op = &item[method];
                    let ok = op["responses"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .find(|(status, _)| status.starts_with('2'))
                        .unwrap_or_else(|| panic!("{dialect} {method} {path}: a 2xx response"));
                    assert!(
                        ok.1["content"]["application/json"]["schema"].is_object(),
                        "{dialect} {method} {path}: the success has a JSON schema"
                    );
                } else {
                    assert!(
                        answer.is_err(),
                        "{dialect}: {method} {url} is served but not documented"
                    );
                }
            }
            // Asyntai's paths also answer without their trailing slash (said in the document).
            if dialect == "asyntai" {
                let bare = url.trim_end_matches('/');
                for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                    served(&app, method, bare).await.unwrap();
                }
            }
        }
    }
    assert_eq!(endpoints, 37, "the five seeds document 37 endpoints");

    // An unknown dialect is a JSON 404.
    let r = app
        .request(Method::GET, "/compat/nope/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], "RESOURCE_NOT_FOUND", "{}", r.text);

    // The reference page links every document.
    let r = app.request(Method::GET, "/docs", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    for (dialect, _, _) in DIALECTS {
        let link = format!("href=\"/compat/{dialect}/openapi.json\"");
        assert!(r.text.contains(&link), "/docs links {link}");
    }
}

/// The schema `schema` (of `spec`) resolved from a `$ref`.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            resolve(spec, spec.pointer(pointer).unwrap_or_else(|| panic!("{r}")))
        }
        None => schema,
    }
}

/// Where `value` does not follow `schema`, as "where: what". A field the schema does not name is
/// always a mismatch; `strict` also requires the schema's required fields.
fn mismatches(spec: &Value, schema: &Value, value: &Value, at: &str, strict: bool) -> Vec<String> {
    let schema = resolve(spec, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[key].as_array() {
            let fits = alternatives
                .iter()
                .any(|a| mismatches(spec, a, value, at, strict).is_empty());
            return if fits {
                Vec::new()
            } else {
                vec![format!("{at}: {value} is none of {}", schema[key])]
            };
        }
    }
    let mut out = Vec::new();
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            out.extend(mismatches(spec, part, value, at, strict));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits_type = |t: &str| match t {
        "null" => value.is_null(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| fits_type(t)) {
        out.push(format!("{at}: {value} is not {types:?}"));
        return out;
    }
    if let (Some(values), false) = (schema["enum"].as_array(), value.is_null()) {
        if !values.contains(value) {
            out.push(format!("{at}: {value} is not one of {values:?}"));
        }
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for (field, v) in object {
            match properties.get(field) {
                Some(s) => out.extend(mismatches(spec, s, v, &format!("{at}.{field}"), strict)),
                None => out.push(format!("{at}.{field} is not documented")),
            }
        }
        if strict {
            for field in schema["required"].as_array().into_iter().flatten() {
                let field = field.as_str().unwrap();
                if !object.contains_key(field) {
                    out.push(format!("{at}.{field} is required but missing"));
                }
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            out.extend(mismatches(
                spec,
                schema,
                item,
                &format!("{at}[{i}]"),
                strict,
            ));
        }
    }
    out
}

/// The JSON schema of a documented response.
fn response_schema<'a>(spec: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let schema = &spec["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents a {status} with a JSON schema"
    );
    schema
}

/// Asserts that `body` follows the document's schema of `method path` answering `status`.
fn follows(spec: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let schema = response_schema(spec, method, path, status);
    let found = mismatches(spec, schema, body, "response", true);
    assert!(
        found.is_empty(),
        "{method} {path} {status}: {found:#?}\n{body:#}"
    );
}

/// Asserts that each field of a seed's example is documented, with a type the example fits.
fn names_the_seed_fields(spec: &Value, method: &str, path: &str, status: u16, example: Value) {
    let schema = response_schema(spec, method, path, status);
    let found = mismatches(spec, schema, &example, "example", false);
    assert!(found.is_empty(), "{method} {path}: {found:#?}");
}

#[tokio::test]
async fn the_documented_schemas_name_the_fields_of_the_seed_examples() {
    let app = TestApp::start().await;

    // AISA's `/message/send`, field by field.
    let aisa = document(&app, "aisa").await;
    let sent = resolve(&aisa, response_schema(&aisa, "post", "/message/send", 200));
    let properties = sent["properties"].as_object().unwrap();
    let mut fields: Vec<&str> = properties.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "confidence_score",
            "conversation_id",
            "message_id",
            "response",
            "status"
        ]
    );
    for required in ["status", "message_id", "conversation_id"] {
        assert!(
            sent["required"]
                .as_array()
                .unwrap()
                .contains(&json!(required)),
            "{required} is always there"
        );
    }
    assert!(mismatches(
        &aisa,
        &properties["confidence_score"],
        &json!(0.95),
        "",
        true
    )
    .is_empty());
    assert!(mismatches(
        &aisa,
        &properties["confidence_score"],
        &json!(null),
        "",
        true
    )
    .is_empty());
    assert!(!mismatches(
        &aisa,
        &properties["confidence_score"],
        &json!("high"),
        "",
        true
    )
    .is_empty());

    names_the_seed_fields(
        &aisa,
        "post",
        "/message/send",
        200,
        json!({"status": "success", "response": "We're open Monday to Friday, 9 AM to 6 PM MYT. How can I help you today?", "message_id": "msg_1234567890", "confidence_score": 0.95}),
    );
    names_the_seed_fields(
        &aisa,
        "post",
        "/chatbot/create",
        200,
        json!({"status": "success", "chatbot_id": "cb_1234567890", "training_status": "in_progress", "estimated_completion": "2-3 minutes"}),
    );
    names_the_seed_fields(
        &aisa,
        "get",
        "/chatbot/{chatbot_id}",
        200,
        json!({"chatbot_id": "cb_1234567890", "name": "My Business Chatbot", "status": "active", "website_url": "https://your-website.com", "created_at": "2025-08-09T10:30:00Z", "last_trained": "2025-08-09T10:33:00Z"}),
    );
    names_the_seed_fields(
        &aisa,
        "get",
        "/message/history",
        200,
        json!({"messages": [{"message_id": "msg_1234567890", "user_message": "What are your business hours?", "ai_response": "We're open Monday to Friday, 9 AM to 6 PM MYT.", "timestamp": "2025-08-09T14:30:00Z", "confidence_score": 0.95}], "total_count": 25, "has_more": true}),
    );
    names_the_seed_fields(
        &aisa,
        "get",
        "/analytics/conversations",
        200,
        json!({"total_conversations": 1250, "total_messages": 5670, "avg_response_time": "0.8s", "customer_satisfaction": 4.6, "top_queries": ["business hours", "pricing information", "contact details"], "daily_breakdown": [{"date": "2025-08-09", "conversations": 45, "messages": 198}]}),
    );
    names_the_seed_fields(
        &aisa,
        "get",
        "/chatbot/{chatbot_id}",
        404,
        json!({"error": {"code": "INVALID_API_KEY", "message": "The provided API key is invalid or expired", "details": "Please check your API key in the dashboard"}}),
    );

    let asyntai = document(&app, "asyntai").await;
    for (method, path, example) in [
        (
            "post",
            "/chat/",
            json!({"success": true, "response": "Our business hours are Monday-Friday, 9 AM to 5 PM EST.", "session_id": "user_123"}),
        ),
        (
            "get",
            "/websites/",
            json!({"success": true, "websites": [{"id": 1, "name": "My Website", "domain": "example.com", "is_primary": true}]}),
        ),
        (
            "get",
            "/conversations/",
            json!({"success": true, "session_id": "user_123", "messages": [{"role": "user", "content": "What are your business hours?", "timestamp": "2024-01-15T10:30:00Z"}, {"role": "assistant", "content": "Our business hours are Monday-Friday, 9 AM to 5 PM EST.", "timestamp": "2024-01-15T10:30:01Z"}]}),
        ),
        (
            "get",
            "/sessions/",
            json!({"success": true, "sessions": [{"session_id": "session_abc123def", "source": "widget", "message_count": 5, "first_message": "What are your business hours?", "first_message_at": "2024-01-15T10:30:00Z", "last_message_at": "2024-01-15T10:35:00Z", "website_domain": "example.com"}]}),
        ),
        (
            "get",
            "/leads/",
            json!({"success": true, "leads": [{"session_id": "session_abc123def", "email": "visitor@example.com", "phone": "+1234567890", "page_url": "https://example.com/pricing", "started_at": "2024-01-15T10:30:00Z"}]}),
        ),
        (
            "get",
            "/account/",
            json!({"success": true, "account": {"email": "you@example.com", "plan": "starter", "messages_used": 150, "messages_limit": 2500}}),
        ),
        (
            "get",
            "/knowledge/",
            json!({"success": true, "entries": [{"id": "abc-123-def", "type": "text", "title": "Business Hours", "description": "Manual text content (150 words)", "created_at": "2024-01-15T10:30:00Z"}]}),
        ),
        (
            "post",
            "/knowledge/text/",
            json!({"success": true, "id": "abc-123-def", "title": "Return Policy", "chunks_created": 1}),
        ),
        (
            "post",
            "/knowledge/url/",
            json!({"success": true, "id": "abc-123-def", "title": "FAQ - Example", "url": "https://example.com/faq", "chunks_created": 5}),
        ),
        (
            "post",
            "/knowledge/spreadsheet/",
            json!({"success": true, "id": "abc-123-def", "title": "products.csv", "rows_processed": 15, "chunks_created": 15}),
        ),
        (
            "delete",
            "/knowledge/{id}/",
            json!({"success": true, "message": "Knowledge base entry deleted"}),
        ),
        (
            "get",
            "/webhooks/",
            json!({"success": true, "webhooks": [{"id": "abc-123-def", "url": "https://example.com/webhook", "events": ["message.received", "escalation.requested"], "is_active": true, "created_at": "2024-01-15T10:30:00Z"}]}),
        ),
        (
            "post",
            "/webhooks/",
            json!({"success": true, "webhook": {"id": "abc-123-def", "url": "https://example.com/webhook", "events": ["message.received", "escalation.requested"], "secret": "whsec_abc123...", "created_at": "2024-01-15T10:30:00Z"}}),
        ),
        (
            "delete",
            "/webhooks/{id}/",
            json!({"success": true, "message": "Webhook deleted"}),
        ),
        (
            "get",
            "/conversations/",
            json!({"success": true, "session_id": "user_123", "messages": []}),
        ),
    ] {
        names_the_seed_fields(&asyntai, method, path, 200, example);
    }
    names_the_seed_fields(
        &asyntai,
        "post",
        "/chat/",
        400,
        json!({"success": false, "error": "Error message describing what went wrong"}),
    );

    let chataibot = document(&app, "chataibot").await;
    names_the_seed_fields(
        &chataibot,
        "post",
        "/conversations",
        200,
        json!({"ok": true, "conversation": {"id": "<conversation_id>", "created_at": "2025-02-10 20:21:03.913000", "assignee": {"id": "<bot_user_id>", "to": "<bot_user_email>"}}, "contact": {"name": "User Name", "email": "example@domain.com", "phone": "9999999999", "visitor_key": "<visitor_id>_<account_id>"}}),
    );
    names_the_seed_fields(
        &chataibot,
        "post",
        "/conversation/{conversation_id}/messages",
        200,
        json!({"ok": true, "message_id": "6HRBshHEcV8P103039226478taGDJQxC"}),
    );

    let askia = document(&app, "askia").await;
    for (method, path, example) in [
        (
            "post",
            "/widget/chat",
            json!({"reply": "We offer three pricing plans: Free, Pro ($29/month), and Enterprise (custom pricing)...", "conversationId": "conv_abc123", "messageId": "msg_xyz789"}),
        ),
        (
            "get",
            "/bots/{id}",
            json!({"id": "bot_abc123", "name": "Customer Support Assistant", "description": "Helps customers with product questions", "category": "support", "language": "en", "createdAt": "2025-01-15T10:00:00Z"}),
        ),
        (
            "get",
            "/bots/{id}/branding",
            json!({"primaryColor": "#6366f1", "backgroundColor": "#ffffff", "textColor": "#1f2937", "logoUrl": "https://example.com/logo.png", "position": "bottom-right", "theme": "light"}),
        ),
    ] {
        names_the_seed_fields(&askia, method, path, 200, example);
    }

    // Aimylogic's synchronous answer is the webhook's payload.
    let aimylogic = document(&app, "aimylogic").await;
    names_the_seed_fields(
        &aimylogic,
        "post",
        "/{token}",
        200,
        json!({"token": "token", "clientId": "test", "questionId": "12345", "data": {"nlpClass": "/CatchAll", "confidence": -0.010999999999999979, "replies": [{"type": "text", "text": "Tell the bot something", "state": "/CatchAll"}], "answer": "Tell the bot something", "newSessionStarted": false, "debugData": [], "endSession": false}, "timestamp": "2022-09-28T12:32:13.262", "blockForm": false}),
    );
}

#[tokio::test]
async fn what_the_dialects_answer_follows_their_documents() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let r = app.post("/v1/bots", &key, json!({"name": "Shop"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bot = r.body["id"].as_str().unwrap().to_owned();
    let bot_key = r.body["bot_key"].as_str().unwrap().to_owned();
    let token = r.body["chat_api_token"].as_str().unwrap().to_owned();
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"public_widget": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let question = "When are you open on Saturdays?";

    // AISA.
    let spec = document(&app, "aisa").await;
    let base = "/compat/aisa/v1";
    let r = app
        .post(
            &format!("{base}/message/send"),
            &key,
            json!({"chatbot_id": bot, "user_message": question, "user_id": "user_1"}),
        )
        .await;
    follows(&spec, "post", "/message/send", 200, &r.body);
    let r = app
        .get(&format!("{base}/message/history?user_id=user_1"), &key)
        .await;
    follows(&spec, "get", "/message/history", 200, &r.body);
    assert_eq!(
        r.body["messages"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
    let r = app.get(&format!("{base}/chatbot/{bot}"), &key).await;
    follows(&spec, "get", "/chatbot/{chatbot_id}", 200, &r.body);
    let r = app
        .get(&format!("{base}/analytics/conversations"), &key)
        .await;
    follows(&spec, "get", "/analytics/conversations", 200, &r.body);
    let r = app.get(&format!("{base}/chatbot/bot_unknown"), &key).await;
    follows(&spec, "get", "/chatbot/{chatbot_id}", 404, &r.body);

    // Asyntai.
    let spec = document(&app, "asyntai").await;
    let base = "/compat/asyntai/api/v1";
    let r = app
        .post(
            &format!("{base}/chat/"),
            &key,
            json!({"message": question, "session_id": "user_123"}),
        )
        .await;
    follows(&spec, "post", "/chat/", 200, &r.body);
    for (path, query) in [
        ("/websites/", ""),
        ("/conversations/", "?session_id=user_123"),
        ("/sessions/", ""),
        ("/leads/", ""),
        ("/account/", ""),
        ("/knowledge/", ""),
        ("/webhooks/", ""),
    ] {
        let r = app.get(&format!("{base}{path}{query}"), &key).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        follows(&spec, "get", path, 200, &r.body);
    }
    let r = app
        .post(
            &format!("{base}/knowledge/text/"),
            &key,
            json!({"title": "Gift cards", "content": "Gift cards are sold in the shop and never expire."}),
        )
        .await;
    follows(&spec, "post", "/knowledge/text/", 200, &r.body);
    let entry = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .delete(&format!("{base}/knowledge/{entry}/"), &key)
        .await;
    follows(&spec, "delete", "/knowledge/{id}/", 200, &r.body);
    let r = app.get(&format!("{base}/conversations/"), &key).await;
    follows(&spec, "get", "/conversations/", 400, &r.body);

    // ChatAIBot.
    let spec = document(&app, "chataibot").await;
    let base = "/compat/chataibot/api/v1";
    let r = app
        .post(
            &format!("{base}/conversations"),
            &key,
            json!({"channel": "API", "message": {"data": {"body": question}, "type": "text"}, "variables": {"contact": {"name": "User Name"}}, "bot_key": bot_key, "from": {"user_external_id": "v-1", "type": "VISITOR"}}),
        )
        .await;
    follows(&spec, "post", "/conversations", 200, &r.body);
    let conversation = r.body["conversation"]["id"].as_str().unwrap().to_owned();
    let path = "/conversation/{conversation_id}/messages";
    let r = app
        .post(
            &format!("{base}/conversation/{conversation}/messages"),
            &key,
            json!({"message": {"data": {"body": "And on Sundays?"}, "type": "text"}, "user": {"type": "VISITOR"}}),
        )
        .await;
    follows(&spec, "post", path, 200, &r.body);
    let r = app
        .post(
            &format!("{base}/conversation/conv_unknown/messages"),
            &key,
            json!({"message": {"data": {"body": "Hello"}}}),
        )
        .await;
    follows(&spec, "post", path, 404, &r.body);

    // AskIA.
    let spec = document(&app, "askia").await;
    let base = "/compat/askia/api";
    let r = app
        .request(
            Method::POST,
            &format!("{base}/widget/chat"),
            None,
            Some(json!({"botId": bot, "message": question, "conversationId": "optional-conversation-id"})),
        )
        .await;
    follows(&spec, "post", "/widget/chat", 200, &r.body);
    for path in ["/bots/{id}", "/bots/{id}/branding"] {
        let url = format!("{base}{}", path.replace("{id}", &bot));
        let r = app.request(Method::GET, &url, None, None).await;
        follows(&spec, "get", path, 200, &r.body);
    }
    let r = app
        .request(Method::GET, &format!("{base}/bots/bot_unknown"), None, None)
        .await;
    follows(&spec, "get", "/bots/{id}", 404, &r.body);

    // Aimylogic.
    let spec = document(&app, "aimylogic").await;
    let base = format!("/compat/aimylogic/chatapi/{token}");
    let call = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        let base = &base;
        async move {
            app.request(method, &format!("{base}{path}"), None, body)
                .await
        }
    };
    let r = call(
        Method::POST,
        String::new(),
        Some(json!({"clientId": "c-1", "query": question, "cid": "tab-1"})),
    )
    .await;
    follows(&spec, "post", "/{token}", 200, &r.body);
    let asked = r.body["questionId"].as_str().unwrap().to_owned();
    let r = call(
        Method::GET,
        "?clientId=c-1&query=Do%20you%20ship%3F".to_owned(),
        None,
    )
    .await;
    follows(&spec, "get", "/{token}", 200, &r.body);
    let r = call(
        Method::POST,
        "/async".to_owned(),
        Some(json!({"clientId": "c-1", "event": "/start"})),
    )
    .await;
    follows(&spec, "post", "/{token}/async", 200, &r.body);
    let r = call(
        Method::GET,
        "/events?clientId=c-1&all=true&ts=0".to_owned(),
        None,
    )
    .await;
    follows(&spec, "get", "/{token}/events", 200, &r.body);
    assert!(
        !r.body["events"].as_array().unwrap().is_empty(),
        "{}",
        r.text
    );
    let client = "/{token}/client/{clientId}";
    let r = call(Method::GET, "/client/c-1/history".to_owned(), None).await;
    follows(&spec, "get", &format!("{client}/history"), 200, &r.body);
    let status = format!("{client}/message/{{questionId}}/status");
    let r = call(
        Method::POST,
        format!("/client/c-1/message/{asked}/status"),
        Some(json!({"status": "READ"})),
    )
    .await;
    follows(&spec, "post", &status, 200, &r.body);
    let r = call(
        Method::GET,
        format!("/client/c-1/message/{asked}/status"),
        None,
    )
    .await;
    follows(&spec, "get", &status, 200, &r.body);
    let r = call(
        Method::POST,
        "/client/c-1/message-statuses".to_owned(),
        Some(json!({"statuses": [{"questionId": asked, "status": "DELIVERED"}]})),
    )
    .await;
    follows(
        &spec,
        "post",
        &format!("{client}/message-statuses"),
        200,
        &r.body,
    );
    let r = call(
        Method::GET,
        "/client/c-1/message-not-read-count".to_owned(),
        None,
    )
    .await;
    follows(
        &spec,
        "get",
        &format!("{client}/message-not-read-count"),
        200,
        &r.body,
    );
    let r = call(
        Method::GET,
        "/client/c-1/message/msg_unknown/status".to_owned(),
        None,
    )
    .await;
    follows(&spec, "get", &status, 404, &r.body);
}
