//! PDF text, page by page, with `pdf-extract` (text positioning, font encodings and CMaps) on
//! `lopdf` (the file structure, decompression, decryption).
//!
//! Each page becomes one section anchored `page=N`, which browsers' PDF viewers understand as a
//! URL fragment, so a source can link to the page. PDFs rarely carry reliable heading structure,
//! so sections have no headings. Lines are re-joined into paragraphs (a blank line in the
//! extracted text ends one; a word hyphenated at a line end is joined again), bullets become
//! `- ` items and typographic ligatures are spelled out. Running headers and footers (lines at
//! the top or bottom of pages that repeat on many pages) and bare page numbers are left out.
//!
//! `pdf-extract` can panic on malformed files; each page is extracted under `catch_unwind`, and a
//! page that fails is skipped rather than failing the whole document.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pdf_extract::{Document as Pdf, Object, PlainTextOutput};

use super::{is_pdf, ExtractError};
use crate::document::{collapse_whitespace, detect_language, Document, Section};

pub(super) fn extract(bytes: &[u8]) -> Result<Document, ExtractError> {
    if !is_pdf(bytes) {
        return Err(ExtractError::NotPdf);
    }
    let mut pdf = catch_unwind(|| Pdf::load_mem(bytes))
        .map_err(|_| ExtractError::PdfCorrupt("the file structure cannot be read".into()))?
        .map_err(|e| ExtractError::PdfCorrupt(e.to_string()))?;
    if pdf.is_encrypted() {
        // Many PDFs are "encrypted" only to restrict printing, with an empty user password.
        pdf.decrypt("").map_err(|_| ExtractError::PdfEncrypted)?;
    }
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    let mut raw_pages = Vec::new();
    let mut failures = Vec::new();
    for number in pages {
        let mut raw = String::new();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut output = PlainTextOutput::new(&mut raw);
            pdf_extract::output_doc_page(&pdf, &mut output, number)
        }));
        match result {
            Ok(Ok(())) => raw_pages.push((number, raw)),
            Ok(Err(e)) => failures.push(e.to_string()),
            Err(_) => failures.push(format!("page {number} cannot be read")),
        }
    }
    let running = running_lines(raw_pages.iter().map(|(_, raw)| raw.as_str()));
    let mut sections = Vec::new();
    for (number, raw) in &raw_pages {
        let text = page_text(&strip_running_lines(raw, &running));
        if !text.is_empty() {
            sections.push(Section {
                headings: Vec::new(),
                anchor: Some(format!("page={number}")),
                text,
            });
        }
    }
    if sections.is_empty() {
        return Err(match failures.into_iter().next() {
            Some(failure) => ExtractError::PdfCorrupt(failure),
            None => ExtractError::PdfNoText,
        });
    }
    let mut doc = Document {
        title: info_title(&pdf).unwrap_or_default(),
        language: None,
        sections,
        canonical: None,
        links: Vec::new(),
    };
    doc.language = detect_language(&doc.full_text());
    Ok(doc)
}

/// The Title of the PDF's Info dictionary, unless it is a placeholder.
fn info_title(pdf: &Pdf) -> Option<String> {
    let info = pdf.trailer.get(b"Info").ok()?;
    let (_, info) = pdf.dereference(info).ok()?;
    let title = info.as_dict().ok()?.get(b"Title").ok()?;
    let (_, title) = pdf.dereference(title).ok()?;
    let Object::String(bytes, _) = title else {
        return None;
    };
    let title = match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => {
            let units: Vec<u16> = utf16
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        None => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => bytes.iter().map(|&b| b as char).collect(),
        },
    };
    let title = collapse_whitespace(&title);
    let title = title
        .strip_prefix("Microsoft Word - ")
        .unwrap_or(&title)
        .to_owned();
    let placeholder = title.is_empty()
        || title.eq_ignore_ascii_case("untitled")
        || title.eq_ignore_ascii_case("untitled document")
        || title.to_ascii_lowercase().ends_with(".doc")
        || title.to_ascii_lowercase().ends_with(".docx");
    (!placeholder).then_some(title)
}

/// How many lines at the top and at the bottom of a page may be running headers or footers.
const EDGE_LINES: usize = 2;

/// A line as compared between pages: digits (page numbers) left out, whitespace collapsed.
fn line_key(line: &str) -> String {
    collapse_whitespace(&line.replace(|c: char| c.is_ascii_digit(), ""))
}

/// The first and last lines of a page.
fn edge_lines(raw: &str) -> Vec<&str> {
    let lines: Vec<&str> = raw.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() <= EDGE_LINES * 2 {
        return lines;
    }
    let mut edges = lines[..EDGE_LINES].to_vec();
    edges.extend_from_slice(&lines[lines.len() - EDGE_LINES..]);
    edges
}

/// Running headers and footers: lines at the top or bottom of pages that repeat (page numbers
/// aside) on at least 40% of the pages, and at least three of them.
fn running_lines<'a>(pages: impl Iterator<Item = &'a str>) -> HashSet<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut total: usize = 0;
    for raw in pages {
        total += 1;
        let keys: HashSet<String> = edge_lines(raw).into_iter().map(line_key).collect();
        for key in keys {
            *counts.entry(key).or_default() += 1;
        }
    }
    let threshold = (total * 2).div_ceil(5).max(3);
    counts
        .into_iter()
        .filter(|(_, n)| *n >= threshold)
        .map(|(key, _)| key)
        .collect()
}

/// A page without its running headers and footers and without a bare page number at either end.
fn strip_running_lines(raw: &str, running: &HashSet<String>) -> String {
    let lines: Vec<&str> = raw.lines().collect();
    let content: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].trim().is_empty())
        .collect();
    let mut drop = HashSet::new();
    let edges = content
        .iter()
        .take(EDGE_LINES)
        .chain(content.iter().rev().take(EDGE_LINES));
    for &i in edges {
        let line = lines[i].trim();
        let page_number = line.len() <= 6
            && line
                .trim_matches(|c: char| c == '-' || c == '–' || c.is_whitespace())
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, 'i' | 'v' | 'x'));
        if page_number || running.contains(&line_key(line)) {
            drop.insert(i);
        }
    }
    lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, l)| *l)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Re-joins the lines of a page's text into paragraphs.
fn page_text(raw: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut paragraph = String::new();
    let end = |paragraph: &mut String, paragraphs: &mut Vec<String>| {
        if !paragraph.is_empty() {
            paragraphs.push(std::mem::take(paragraph));
        }
    };
    for line in raw.lines() {
        let line = collapse_whitespace(&spell_ligatures(line));
        if line.is_empty() {
            end(&mut paragraph, &mut paragraphs);
            continue;
        }
        let bullet = ["•", "●", "▪", "■", "◦", "‣", "–", "-", "*"]
            .iter()
            .find_map(|b| line.strip_prefix(b).filter(|rest| rest.starts_with(' ')));
        if let Some(rest) = bullet {
            if !paragraph.is_empty() {
                paragraph.push('\n');
            }
            paragraph.push_str("- ");
            paragraph.push_str(rest.trim());
            continue;
        }
        if paragraph.is_empty() {
            paragraph.push_str(&line);
        } else if paragraph.ends_with('-')
            && !paragraph.ends_with(" -")
            && line.starts_with(|c: char| c.is_lowercase())
        {
            paragraph.pop();
            paragraph.push_str(&line);
        } else {
            paragraph.push(' ');
            paragraph.push_str(&line);
        }
    }
    end(&mut paragraph, &mut paragraphs);
    paragraphs.join("\n\n")
}

fn spell_ligatures(line: &str) -> String {
    line.replace('\u{FB00}', "ff")
        .replace('\u{FB01}', "fi")
        .replace('\u{FB02}', "fl")
        .replace('\u{FB03}', "ffi")
        .replace('\u{FB04}', "ffl")
        .replace(['\u{FB05}', '\u{FB06}'], "st")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pdf_with_title as test_pdf;

    #[test]
    fn a_pdf_gives_its_text_page_by_page() {
        let bytes = test_pdf(
            &[
                &[
                    "Our warranty covers all tents for ten years.",
                    "Claims are handled within five working days.",
                ],
                &["Returns are accepted within thirty days."],
            ],
            Some("Warranty guide"),
        );
        let doc = extract(&bytes).unwrap();
        assert_eq!(doc.title, "Warranty guide");
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].anchor.as_deref(), Some("page=1"));
        assert_eq!(
            doc.sections[0].text,
            "Our warranty covers all tents for ten years. Claims are handled within five working days."
        );
        assert_eq!(doc.sections[1].anchor.as_deref(), Some("page=2"));
        assert_eq!(
            doc.sections[1].text,
            "Returns are accepted within thirty days."
        );
        assert_eq!(doc.language.as_deref(), Some("en"));
    }

    #[test]
    fn a_pdf_without_text_says_it_may_be_scanned() {
        let bytes = test_pdf(&[&[]], None);
        let err = extract(&bytes).unwrap_err();
        assert!(matches!(err, ExtractError::PdfNoText), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the PDF has no extractable text (scanned?); run it through OCR first"
        );
    }

    #[test]
    fn something_else_is_not_a_pdf() {
        assert!(matches!(
            extract(b"<html></html>"),
            Err(ExtractError::NotPdf)
        ));
        assert!(matches!(
            extract(b"%PDF-1.4\ngarbage"),
            Err(ExtractError::PdfCorrupt(_))
        ));
    }

    #[test]
    fn running_headers_and_page_numbers_are_left_out() {
        let topics = ["Tents", "Stoves", "Boots", "Packs"];
        let pages: Vec<String> = (1..=4)
            .map(|n| {
                let topic = topics[n - 1];
                format!("Acme user guide\n\n{topic} are covered here.\nCare for {topic}.\n\n{n}\n")
            })
            .collect();
        let running = running_lines(pages.iter().map(String::as_str));
        let cleaned: Vec<String> = pages
            .iter()
            .map(|p| page_text(&strip_running_lines(p, &running)))
            .collect();
        assert_eq!(cleaned[2], "Boots are covered here. Care for Boots.");
    }

    #[test]
    fn lines_are_rejoined_into_paragraphs() {
        let raw = "Our warr\u{FB01}ed tents are water-\nproof and\nlight.\n\n• first point\n• second point\n";
        assert_eq!(
            page_text(raw),
            "Our warrfied tents are waterproof and light.\n\n- first point\n- second point"
        );
    }
}
