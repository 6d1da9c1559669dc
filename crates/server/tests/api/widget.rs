//! The chat widget: `/widget.js` as served, its embed snippet and preview page. The widget in a
//! real browser is in `browser.rs`.

use std::io::Write;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn widget_js_is_small_cached_and_revalidated() {
    let app = TestApp::start().await;
    let r = app.request(Method::GET, "/widget.js", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(r.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=86400"));
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    // Under 30 KB gzipped.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(r.text.as_bytes()).unwrap();
    let size = gz.finish().unwrap().len();
    assert!(size <= 30 * 1024, "widget.js is {size} bytes gzipped");
    // Unchanged: 304 without a body.
    let response = app
        .client
        .get(format!("{}/widget.js", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(response.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_embed_snippet_and_the_preview_page() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let r = app.get(&format!("/v1/bots/{bot}/widget"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let snippet = r.body["snippet"].as_str().unwrap();
    assert!(snippet.starts_with("<script src=\"http://"), "{snippet}");
    assert!(
        snippet.contains(&format!("/widget.js\" data-bot=\"{bot}\" async></script>")),
        "{snippet}"
    );
    assert_eq!(r.body["public_widget"], false);
    let preview = r.body["preview_url"].as_str().unwrap();
    let path = &preview[preview.find("/preview/").unwrap()..];
    let page = app.request(Method::GET, path, None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains(&format!("data-bot=\"{bot}\"")),
        "{}",
        page.text
    );
    // Not another account's bot, not a bad id.
    let other = app.create_account("pro").await;
    let r = app.get(&format!("/v1/bots/{bot}/widget"), &other).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app
        .request(Method::GET, "/preview/%3Cscript%3E", None, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

/// A public bot of `key`'s account that knows `knowledge`, answering `origins`.
pub(crate) async fn public_bot(
    app: &TestApp,
    key: &str,
    name: &str,
    knowledge: &str,
    origins: serde_json::Value,
) -> String {
    let bot = app.create_bot(key, name).await;
    app.add_text(key, &bot, "FAQ", knowledge).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            key,
            json!({"settings": {"public_widget": true, "allowed_origins": origins}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    bot
}
