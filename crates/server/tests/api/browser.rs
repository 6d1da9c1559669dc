//! The faces in a real browser: the chat widget (`web/tests/widget.mjs`) and the dashboard
//! (`web/tests/dashboard.mjs`), run by `web/tests/browser.mjs` in one headless Debian chromium
//! driven by playwright-core. Screenshots go to `target/browser/`.

use std::{path::Path, process::Command};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    common::{
        site::{html_page, Site},
        TestApp, SHOP_FAQ,
    },
    widget::public_bot,
};

/// The dashboard's website to learn: a few pages of a garden shop.
fn garden_site() -> Site {
    let site = Site::default();
    site.set(
        "",
        "text/html",
        html_page(
            "Lyon Garden",
            "Welcome",
            "Plants, pots and tools for city balconies, from our shop in Lyon.",
            &["delivery", "care"],
        ),
    );
    site.set(
        "delivery",
        "text/html",
        html_page(
            "Delivery",
            "When do parcels leave?",
            "Orders placed before 11am are packed the same day. Parcels are handed to the carrier \
             in the afternoon and arrive within two to four working days anywhere in France.",
            &[""],
        ),
    );
    site.set(
        "care",
        "text/html",
        html_page(
            "Plant care",
            "How often should I water a balcony olive tree?",
            "Water a potted olive tree once a week in summer and every three weeks in winter. \
             Let the soil dry between waterings.",
            &[""],
        ),
    );
    site
}

/// A bot with a scripted set of conversations, and the figures its analytics must show,
/// counted here from the API's own answers rather than from the analytics service.
async fn scripted_analytics(app: &TestApp, key: &str) -> (String, Value) {
    let bot = app.create_bot(key, "Analytics shop").await;
    app.add_text(key, &bot, "Shop FAQ", SHOP_FAQ).await;
    let script: [&[&str]; 3] = [
        &["When are you open on Saturdays?", "Do you repair bicycles?"],
        &["How long do refunds take?"],
        &[
            "Do you ship to the European Union?",
            "Can I pay with bitcoin?",
        ],
    ];
    let (mut answered, mut fallbacks, mut messages) = (0, 0, 0);
    for questions in script {
        let mut conversation: Option<String> = None;
        for question in questions {
            let mut body = json!({"message": question});
            if let Some(c) = &conversation {
                body["conversation_id"] = json!(c);
            }
            let r = app.chat(key, &bot, body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            conversation = Some(r.body["conversation_id"].as_str().unwrap().to_owned());
            match r.body["outcome"].as_str().unwrap() {
                "answered" | "curated" => answered += 1,
                "fallback" => fallbacks += 1,
                other => panic!("unexpected outcome {other} for {question}"),
            }
        }
        let history = app
            .get(
                &format!(
                    "/v1/conversations/{}/messages?limit=100",
                    conversation.unwrap()
                ),
                key,
            )
            .await;
        messages += history.body["data"].as_array().unwrap().len();
    }
    assert!(
        answered > 0 && fallbacks > 0,
        "the script has both outcomes"
    );
    let percent = |part: i32| {
        format!(
            "{:.0}%",
            100.0 * f64::from(part) / f64::from(answered + fallbacks)
        )
    };
    let expected = json!({
        "conversations": script.len().to_string(),
        "messages": messages.to_string(),
        "answer_rate": percent(answered),
        "fallback_rate": percent(fallbacks),
        "leads": "0",
    });
    (bot, expected)
}

#[tokio::test]
async fn the_widget_and_the_dashboard_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is missing at {chromium}: run `bash scripts/browser-setup.sh` (make test does)"
    );
    assert!(
        root.join("web/tests/node_modules/playwright-core").exists(),
        "playwright-core is missing: run `bash scripts/browser-setup.sh` (make test does)"
    );
    // The dashboard's bot learns a website on loopback.
    let app = TestApp::start_with(|c| c.allow_private_networks = true).await;

    // The widget's bots.
    let key = app.create_account("pro").await;
    let bot = public_bot(&app, &key, "Hazel Shop", SHOP_FAQ, json!([])).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"consent_text": "We handle your email as our privacy notice says."}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let hostile = public_bot(
        &app,
        &key,
        "<img src=x onerror=window.__pwned=1> Shop",
        "Our special offer this week: <script>window.__pwned=2</script> <b>two</b> planters \
         for the price of one, <img src=x onerror=window.__pwned=4>.",
        json!([]),
    )
    .await;
    let refused = public_bot(
        &app,
        &key,
        "Elsewhere",
        SHOP_FAQ,
        json!(["https://elsewhere.example"]),
    )
    .await;

    // The dashboard's account: its first owner (through an invitation), a website to learn and
    // a bot with scripted conversations.
    let dash_key = app.create_account("pro").await;
    app.join(
        &dash_key,
        "olga@example.org",
        "owner",
        "Olga",
        "olga's long password",
    )
    .await;
    let site = garden_site().serve().await;
    let (analytics_bot, expected) = scripted_analytics(&app, &dash_key).await;

    let out = root.join("target/browser");
    std::fs::create_dir_all(&out).unwrap();
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("web/tests/browser.mjs")
            .current_dir(&root)
            .env("SITECHAT_BASE", base)
            .env("SITECHAT_KEY", key)
            .env("BOT", bot)
            .env("HOSTILE_BOT", hostile)
            .env("REFUSED_BOT", refused)
            .env("DASH_SITE", format!("http://{site}/"))
            .env("DASH_QUESTION", "When do parcels leave?")
            .env("DASH_OWNER_EMAIL", "olga@example.org")
            .env("DASH_OWNER_PASSWORD", "olga's long password")
            .env("DASH_ANALYTICS_BOT", analytics_bot)
            .env("DASH_EXPECTED", expected.to_string())
            .env("OUT_DIR", &out)
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs (Node.js is needed for the browser tests)")
    })
    .await
    .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{log}");
    assert!(log.contains("widget test: passed"), "{log}");
    assert!(log.contains("dashboard test: passed"), "{log}");
}
