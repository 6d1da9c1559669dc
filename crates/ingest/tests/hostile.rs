//! Every parser against hostile input: huge words, deep nesting, invalid UTF-8, ZIP bombs and
//! entity expansion. Each must end, within bounded memory, with a result or a clear error; the
//! chunker must also keep every passage within its bounds and lose no text.
//!
//! Property tests generate the inputs (proptest); the named cases are the shapes that crashed or
//! stalled a server before (a 1,501-character word overflowed the stack through unbounded
//! recursion in the chunker).

use proptest::prelude::*;
use sitechat_ingest::{
    chunk::{MAX_CHARS, TARGET_CHARS},
    chunk_document, chunk_text, extract, read_sheet, testing, SheetKind,
};

/// The characters of a text that are not white space, in order: what chunking must keep.
fn visible(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn assert_bounded(passages: &[sitechat_ingest::Passage]) {
    for p in passages {
        let chars = p.text.chars().count();
        assert!(chars <= MAX_CHARS, "a passage of {chars} characters");
        assert!(!p.text.trim().is_empty(), "an empty passage");
    }
}

/// Text made of the pieces hostile input is made of: long runs of one character, words without
/// spaces, sentence ends, line breaks, list markers, combining marks and wide characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z]{1,12}",
        "[a-zA-Z0-9]{1400,1700}",
        Just(". ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("- ".to_owned()),
        Just("1. ".to_owned()),
        Just(" ".repeat(40)),
        Just("e\u{301}".repeat(300)),
        Just("日本語".repeat(200)),
        Just("https://example.com/".to_owned() + &"a/b?c=d&".repeat(200)),
        "\\PC{1,40}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn chunking_any_text_keeps_passages_bounded_and_loses_nothing(text in hostile_text()) {
        let passages = chunk_text(&text);
        assert_bounded(&passages);
        let kept: String = passages.iter().map(|p| visible(&p.text)).collect();
        prop_assert_eq!(kept, visible(&text));
    }

    #[test]
    fn chunking_any_document_keeps_passages_bounded(text in hostile_text()) {
        let passages = chunk_document(&extract::plain(&text));
        assert_bounded(&passages);
        let passages = chunk_document(&extract::markdown(&text));
        assert_bounded(&passages);
    }

    #[test]
    fn any_html_is_extracted_and_chunked(text in hostile_text(), depth in 0usize..3000) {
        let html = format!(
            "<html><head><title>{text}</title></head><body>{}<p>{text}</p><pre>{text}</pre><table><tr><td>{text}</td></tr></table>{}</body></html>",
            "<div>".repeat(depth),
            "</div>".repeat(depth / 2),
        );
        let doc = extract::html(&html, None);
        assert_bounded(&chunk_document(&doc));
    }

    #[test]
    fn any_bytes_are_refused_or_read_by_every_binary_parser(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = extract::pdf(&bytes);
        let _ = extract::docx(&bytes);
        let _ = read_sheet(&bytes, SheetKind::Xlsx, Some(100));
        let _ = read_sheet(&bytes, SheetKind::Csv, Some(100));
        let text = extract::decode_text(&bytes, None);
        assert_bounded(&chunk_document(&extract::plain(&text)));
        let _ = extract::html(&text, None);
    }

    #[test]
    fn any_zip_is_refused_or_read(names in prop::collection::vec("[a-z/\\[\\]_.]{1,30}", 1..4), body in hostile_text()) {
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), body.as_bytes())).collect();
        let archive = testing::zip(&files);
        let _ = extract::docx(&archive);
        let _ = read_sheet(&archive, SheetKind::Xlsx, Some(100));
    }

    #[test]
    fn any_csv_is_read_or_refused(text in hostile_text(), separators in "[,;\t\"\n]{0,200}") {
        let csv = format!("question,answer\n{text}{separators}{text}");
        if let Ok(sheet) = read_sheet(csv.as_bytes(), SheetKind::Csv, Some(1000)) {
            for row in &sheet.rows {
                assert_bounded(&chunk_text(row));
            }
        }
    }
}

#[test]
fn a_word_longer_than_a_passage_is_cut_between_characters() {
    for len in [MAX_CHARS, MAX_CHARS + 1, 2_000, 4 * MAX_CHARS + 7] {
        let word = "x".repeat(len);
        let passages = chunk_text(&format!("Before. {word} After."));
        assert_bounded(&passages);
        let kept: String = passages.iter().map(|p| visible(&p.text)).collect();
        assert_eq!(kept, visible(&format!("Before. {word} After.")));
    }
}

#[test]
fn a_megabyte_word_ends_in_passages_of_the_longest_length() {
    let word = "y".repeat(1 << 20);
    let passages = chunk_text(&word);
    assert_bounded(&passages);
    assert_eq!(passages.len(), (1usize << 20).div_ceil(MAX_CHARS));
    assert!(passages[..passages.len() - 1]
        .iter()
        .all(|p| p.text.len() == MAX_CHARS));
}

#[test]
fn a_long_url_in_a_list_is_cut_and_the_list_kept() {
    let url = format!("https://example.com/{}", "segment/".repeat(200));
    let text = format!("Links:\n- {url}\n- short item\n- {url}");
    let passages = chunk_text(&text);
    assert_bounded(&passages);
    assert!(passages.iter().any(|p| p.text.contains("- short item")));
}

#[test]
fn one_grapheme_longer_than_a_passage_is_cut_too() {
    // A letter followed by thousands of combining marks is a single grapheme cluster.
    let cluster = format!("a{}", "\u{301}".repeat(3 * MAX_CHARS));
    let passages = chunk_text(&cluster);
    assert_bounded(&passages);
    assert!(passages.len() >= 3);
}

#[test]
fn a_page_with_a_long_word_is_chunked_within_bounds() {
    let word = "z".repeat(2_000);
    let html = format!(
        "<html><body><h1>Page</h1><p>Intro. {word}</p><p>data:image/png;base64,{}</p></body></html>",
        "QUJD".repeat(5_000)
    );
    let passages = chunk_document(&extract::html(&html, None));
    assert_bounded(&passages);
    assert!(passages.iter().all(|p| p.heading == "Page"));
}

#[test]
fn deeply_nested_markup_ends_with_its_text() {
    let depth = 100_000;
    let html = format!(
        "<html><body>{}<p>deep text</p>{}</body></html>",
        "<div>".repeat(depth),
        "</div>".repeat(depth)
    );
    let doc = extract::html(&html, None);
    assert!(doc.full_text().contains("deep text"));
}

#[test]
fn deeply_nested_markdown_ends() {
    let text = format!("{}deep", "> ".repeat(50_000));
    let doc = extract::markdown(&text);
    assert_bounded(&chunk_document(&doc));
    let list = format!("{}item", "- ".repeat(20_000));
    assert_bounded(&chunk_document(&extract::markdown(&list)));
}

/// The body of a Word document's main part.
fn docx_with_body(body: &str) -> Vec<u8> {
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    let types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    testing::zip(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("word/document.xml", document.as_bytes()),
    ])
}

#[test]
fn entity_expansion_in_a_word_document_is_not_expanded() {
    // "Billion laughs": nested entities that would expand to gigabytes.
    let mut dtd = String::from(r#"<!DOCTYPE w:document [<!ENTITY l0 "lol">"#);
    for i in 1..10 {
        let prev = format!("&l{};", i - 1);
        dtd.push_str(&format!(r#"<!ENTITY l{i} "{}">"#, prev.repeat(10)));
    }
    dtd.push_str("]>");
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>{dtd}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body></w:document>"#
    );
    let docx = testing::zip(&[("word/document.xml", document.as_bytes())]);
    if let Ok(doc) = extract::docx(&docx) {
        assert!(doc.text_len() < 1_000_000, "entities were expanded");
    }
}

#[test]
fn a_zip_bomb_word_document_is_refused() {
    // 300 MB of one paragraph's runs deflate to about 300 kB.
    let run = "<w:p><w:r><w:t>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</w:t></w:r></w:p>";
    let body = run.repeat(300 * 1024 * 1024 / run.len());
    let bomb = docx_with_body(&body);
    assert!(bomb.len() < 5 * 1024 * 1024, "{} bytes", bomb.len());
    assert!(extract::docx(&bomb).is_err());
}

#[test]
fn a_zip_bomb_workbook_is_refused_or_read_with_its_row_cap() {
    let row = r#"<row><c t="inlineStr"><is><t>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</t></is></c></row>"#;
    let rows = row.repeat(300 * 1024 * 1024 / row.len());
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    );
    let workbook = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    let bomb = testing::zip(&[
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
    ]);
    assert!(bomb.len() < 5 * 1024 * 1024, "{} bytes", bomb.len());
    match read_sheet(&bomb, SheetKind::Xlsx, Some(100)) {
        Ok(sheet) => assert!(sheet.rows.len() <= 100),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

#[test]
fn passages_of_ordinary_text_stay_near_the_target() {
    let text = "A sentence of ordinary length about shipping. ".repeat(200);
    let passages = chunk_text(&text);
    assert!(passages
        .iter()
        .all(|p| p.text.chars().count() <= TARGET_CHARS));
}
