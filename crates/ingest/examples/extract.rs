//! Prints what sitechat learns from a file: `cargo run -p sitechat-ingest --example extract --
//! FILE [BASE_URL]`. Handy to check the extraction of a real page or document.

use sitechat_ingest::extract::{self, FileKind};
use sitechat_ingest::{chunk_document, detect_kind, read_sheet, SheetKind};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: extract FILE [BASE_URL]");
        std::process::exit(2);
    };
    let base = args.next().and_then(|u| url::Url::parse(&u).ok());
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let kind = detect_kind(None, Some(&path), &bytes);
    println!("kind: {kind:?}");
    let text = || extract::decode_text(&bytes, None).into_owned();
    let doc = match kind {
        Some(FileKind::Html) => Ok(extract::html(&text(), base.as_ref())),
        Some(FileKind::Pdf) => extract::pdf(&bytes),
        Some(FileKind::Docx) => extract::docx(&bytes),
        Some(FileKind::Markdown) => Ok(extract::markdown(&text())),
        Some(FileKind::Plain) => Ok(extract::plain(&text())),
        Some(kind @ (FileKind::Csv | FileKind::Xlsx)) => {
            let kind = if kind == FileKind::Csv {
                SheetKind::Csv
            } else {
                SheetKind::Xlsx
            };
            match read_sheet(&bytes, kind, Some(5)) {
                Ok(sheet) => println!("{sheet:#?}"),
                Err(e) => println!("error: {e}"),
            }
            return;
        }
        None => {
            println!("not a format sitechat reads");
            return;
        }
    };
    let doc = match doc {
        Ok(doc) => doc,
        Err(e) => {
            println!("error: {e}");
            return;
        }
    };
    println!(
        "title: {:?}\nlanguage: {:?}\ncanonical: {:?}",
        doc.title, doc.language, doc.canonical
    );
    println!("links: {}", doc.links.len());
    for link in doc.links.iter().take(10) {
        println!("  {link}");
    }
    println!(
        "text: {} chars in {} sections",
        doc.text_len(),
        doc.sections.len()
    );
    for section in &doc.sections {
        println!(
            "\n=== {} (#{})",
            section.headings.join(" › "),
            section.anchor.as_deref().unwrap_or("")
        );
        println!("{}", section.text);
    }
    println!("\npassages: {}", chunk_document(&doc).len());
}
