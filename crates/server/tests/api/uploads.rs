//! Spreadsheet and document uploads: what is accepted, how it is split, and the clear 400s for
//! what is not (with the bot's knowledge left unchanged).

use crate::common;

use common::TestApp;
use reqwest::{multipart, StatusCode};
use serde_json::json;

async fn upload(
    app: &TestApp,
    key: &str,
    path: &str,
    filename: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> common::Response {
    let part = multipart::Part::bytes(bytes)
        .file_name(filename.to_owned())
        .mime_str(content_type)
        .unwrap();
    let form = multipart::Form::new().part("file", part);
    let r = app
        .client
        .post(format!("{}{}", app.base, path))
        .bearer_auth(key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    TestApp::read(r).await
}

async fn source_count(app: &TestApp, key: &str, bot: &str) -> usize {
    app.get(&format!("/v1/bots/{bot}/sources"), key).await.body["data"]
        .as_array()
        .unwrap()
        .len()
}

const PRODUCTS: &str = "sku,name,price,stock\nA-100,Terracotta pot 20cm,12.50,34\nA-200,Balcony planter 60cm,29.90,5\n\nA-300,\"Olive tree, 1m\",89.00,0\n";

#[tokio::test]
async fn a_csv_becomes_one_entry_per_row() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let r = upload(
        &app,
        &key,
        &format!("/v1/bots/{bot}/sources/spreadsheet"),
        "products.csv",
        "text/csv",
        PRODUCTS.into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["title"], "products.csv");
    assert_eq!(r.body["kind"], "spreadsheet");
    assert_eq!(r.body["rows_processed"], 3, "the empty row is not an entry");
    assert_eq!(r.body["chunks_created"], 3);
    assert_eq!(r.body["truncated"], false);

    let answer = app
        .chat(
            &key,
            &bot,
            json!({"message": "How much is the balcony planter?"}),
        )
        .await;
    assert_eq!(answer.body["outcome"], "answered", "{}", answer.text);
    assert!(
        answer.body["reply"]
            .as_str()
            .unwrap()
            .contains("price: 29.90"),
        "{}",
        answer.text
    );
    let answer = app
        .chat(&key, &bot, json!({"message": "Do you have an olive tree?"}))
        .await;
    assert!(
        answer.body["reply"]
            .as_str()
            .unwrap()
            .contains("Olive tree, 1m"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn rows_beyond_the_plans_cap_are_truncated_and_reported() {
    let app = TestApp::start().await;
    let key = app.create_account("free").await;
    let bot = app.create_bot(&key, "Shop").await;
    let mut csv = String::from("question,answer\n");
    for i in 0..150 {
        csv.push_str(&format!("Question {i},Answer number {i}\n"));
    }
    let r = upload(
        &app,
        &key,
        &format!("/v1/bots/{bot}/sources/spreadsheet"),
        "faq.csv",
        "text/csv",
        csv.into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["rows_processed"], 100,
        "the free plan keeps 100 rows"
    );
    assert_eq!(r.body["total_rows"], 150);
    assert_eq!(r.body["truncated"], true);
}

#[tokio::test]
async fn an_xlsx_is_read_from_its_first_sheet() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["City", "Opening hours"].iter().enumerate() {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    sheet.write_string(1, 0, "Lyon").unwrap();
    sheet.write_string(1, 1, "9am to 6pm").unwrap();
    sheet.write_string(2, 0, "Grenoble").unwrap();
    sheet.write_string(2, 1, "10am to 7pm").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let r = upload(
        &app,
        &key,
        &format!("/v1/bots/{bot}/sources/spreadsheet"),
        "stores.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["rows_processed"], 2);
    let answer = app
        .chat(&key, &bot, json!({"message": "Opening hours in Grenoble?"}))
        .await;
    assert!(
        answer.body["reply"]
            .as_str()
            .unwrap()
            .contains("10am to 7pm"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn bad_uploads_get_a_clear_400_and_change_nothing() {
    let app = TestApp::start_with(|c| c.max_upload_bytes = 64 * 1024).await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let sheet = format!("/v1/bots/{bot}/sources/spreadsheet");
    let file = format!("/v1/bots/{bot}/sources/file");

    type Case<'a> = (&'a str, &'a str, &'a str, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            sheet.as_str(),
            "empty.csv",
            "text/csv",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "empty",
        ),
        (
            sheet.as_str(),
            "bad.csv",
            "text/csv",
            b"a,b\n1,2,3\n".to_vec(),
            StatusCode::BAD_REQUEST,
            "line 2",
        ),
        (
            sheet.as_str(),
            "headers.csv",
            "text/csv",
            b"a,b\n".to_vec(),
            StatusCode::BAD_REQUEST,
            "no rows",
        ),
        (
            sheet.as_str(),
            "broken.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            b"PK\x03\x04 not really a zip".to_vec(),
            StatusCode::BAD_REQUEST,
            "XLSX",
        ),
        (
            sheet.as_str(),
            "logo.png",
            "image/png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            StatusCode::BAD_REQUEST,
            ".csv or .xlsx",
        ),
        (
            file.as_str(),
            "logo.png",
            "image/png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            StatusCode::BAD_REQUEST,
            "unsupported file type",
        ),
        (
            file.as_str(),
            "fake.pdf",
            "application/pdf",
            b"this is not a pdf".to_vec(),
            StatusCode::BAD_REQUEST,
            "file:",
        ),
        (
            file.as_str(),
            "products.csv",
            "text/csv",
            PRODUCTS.as_bytes().to_vec(),
            StatusCode::BAD_REQUEST,
            "spreadsheet",
        ),
        (
            file.as_str(),
            "huge.txt",
            "text/plain",
            vec![b'a'; 100 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than",
        ),
    ];
    for (path, name, content_type, bytes, status, says) in cases {
        let r = upload(&app, &key, path, name, content_type, bytes).await;
        assert_eq!(r.status, status, "{name}: {}", r.text);
        assert!(r.message().contains(says), "{name}: {}", r.message());
    }
    let r = app
        .client
        .post(format!("{}{}", app.base, sheet))
        .bearer_auth(&key)
        .json(&json!({"file": "products.csv"}))
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let form = multipart::Form::new().text("other", "x");
    let r = TestApp::read(
        app.client
            .post(format!("{}{}", app.base, sheet))
            .bearer_auth(&key)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(r.message().contains("field named `file`"), "{}", r.text);
    assert_eq!(source_count(&app, &key, &bot).await, 0, "nothing was added");
}

#[tokio::test]
async fn documents_are_extracted_and_cited() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let file = format!("/v1/bots/{bot}/sources/file");

    let md = "# Care guide\n\n## Watering\n\nWater the olive tree once a week in summer and once a month in winter.";
    let r = upload(&app, &key, &file, "care.md", "text/markdown", md.into()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["kind"], "file");

    let pdf = sitechat_ingest::testing::pdf(&[&[
        "Warranty terms",
        "",
        "Every planter carries a five year warranty against cracks.",
    ]]);
    let r = upload(&app, &key, &file, "warranty.pdf", "application/pdf", pdf).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let pdf_source = r.body["id"].as_str().unwrap().to_owned();

    let html = "<html><head><title>Gift cards</title></head><body><nav>Menu</nav><main><h1>Gift cards</h1><p>Gift cards are valid for one year after purchase.</p></main></body></html>";
    let r = upload(&app, &key, &file, "gifts.html", "text/html", html.into()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let answer = app
        .chat(
            &key,
            &bot,
            json!({"message": "How long is the warranty on planters?"}),
        )
        .await;
    assert_eq!(answer.body["outcome"], "answered", "{}", answer.text);
    assert_eq!(
        answer.body["sources"][0]["source_id"],
        pdf_source.as_str(),
        "the PDF is the source: {}",
        answer.text
    );
    let answer = app
        .chat(
            &key,
            &bot,
            json!({"message": "How often should I water the olive tree in winter?"}),
        )
        .await;
    assert!(
        answer.body["reply"]
            .as_str()
            .unwrap()
            .contains("once a month in winter"),
        "{}",
        answer.text
    );
    let answer = app
        .chat(
            &key,
            &bot,
            json!({"message": "Are gift cards valid for long?"}),
        )
        .await;
    assert!(
        answer.body["reply"].as_str().unwrap().contains("one year"),
        "{}",
        answer.text
    );
}

/// A word longer than a passage (a data URI, a minified script, a long token) once sent the
/// chunker into unbounded recursion and took the whole process down. Every route that adds
/// knowledge now accepts it, cut into passages of at most 1,500 characters.
#[tokio::test]
async fn a_word_longer_than_a_passage_is_learned_on_every_route() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let word = "x".repeat(1_501);
    let megabyte_word = "y".repeat(1 << 20);
    let url = format!("https://example.com/{}", "path/".repeat(320));
    for content in [
        word.clone(),
        megabyte_word,
        format!("See {url} for details."),
    ] {
        let r = app
            .post(
                &format!("/v1/bots/{bot}/sources/text"),
                &key,
                json!({"title": "t", "content": content}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    for (name, kind) in [("long.txt", "text/plain"), ("long.md", "text/markdown")] {
        let r = upload(
            &app,
            &key,
            &format!("/v1/bots/{bot}/sources/file"),
            name,
            kind,
            format!("# Long\n\nIntro. {word} End.").into_bytes(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text);
    }
    let r = app
        .post(
            "/compat/asyntai/api/v1/knowledge/text/",
            &key,
            json!({"title": "Long", "content": word}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    // The server is still up, and every passage is within bounds.
    let r = app
        .post(
            &format!("/v1/bots/{bot}/search"),
            &key,
            json!({"query": "Intro End details", "k": 50}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let passages = r.body["data"].as_array().unwrap();
    assert!(passages.len() >= 3, "{}", r.text);
    for passage in passages {
        let text = passage["text"].as_str().unwrap();
        assert!(text.chars().count() <= 1_500, "{} characters", text.len());
    }
    assert_eq!(source_count(&app, &key, &bot).await, 6);
}
