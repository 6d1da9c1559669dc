//! Turning files and pages into [`Document`]s.
//!
//! One function per format, all returning the same [`Document`] shape:
//!
//! - [`html`]: main-content extraction written by hand on top of `scraper` (html5ever, the
//!   browsers' parsing algorithm). The readability-style crates either drop the heading structure
//!   we need for anchors and passage headings or keep the boilerplate a support bot must not
//!   quote (cookie banners, menus), so the rules live in [`html`]'s module where they can be
//!   tested and tuned.
//! - [`pdf`]: `pdf-extract` (on `lopdf`), page by page; one section per page, anchored
//!   `page=N`.
//! - [`docx`]: the `zip` archive read with `quick-xml`: paragraphs, headings (from the styles, so
//!   localised style names work), lists and tables. No DOCX crate reads reliably enough.
//! - [`markdown`]: `pulldown-cmark` (CommonMark with tables), so code fences, links and emphasis
//!   come out as text rather than as markup.
//! - [`plain`]: blank-line paragraphs.
//!
//! [`detect_kind`] decides which one applies; [`decode_text`] turns bytes into text for the text
//! formats.

mod docx;
mod html;
mod markdown;
mod pdf;

use std::borrow::Cow;
use std::io::Cursor;

use crate::document::{detect_language, Document, Inline, SectionBuilder};

/// Why a file could not be turned into text; the messages are meant for the person who uploaded it.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("not a PDF: the file does not start with a PDF header")]
    NotPdf,
    #[error("the PDF is password-protected; upload a copy without a password")]
    PdfEncrypted,
    #[error("the PDF is corrupt or uses features we cannot read: {0}")]
    PdfCorrupt(String),
    #[error("the PDF has no extractable text (scanned?); run it through OCR first")]
    PdfNoText,
    #[error("not a DOCX: the file is not a Word (.docx) document")]
    NotDocx,
    #[error("the DOCX is corrupt: {0}")]
    DocxCorrupt(String),
    #[error("the DOCX has no text")]
    DocxNoText,
}

/// The formats sitechat can learn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Html,
    Pdf,
    Markdown,
    Plain,
    Docx,
    Csv,
    Xlsx,
}

impl FileKind {
    /// A short lower-case name: "html", "pdf", "markdown", "plain", "docx", "csv", "xlsx".
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Html => "html",
            FileKind::Pdf => "pdf",
            FileKind::Markdown => "markdown",
            FileKind::Plain => "plain",
            FileKind::Docx => "docx",
            FileKind::Csv => "csv",
            FileKind::Xlsx => "xlsx",
        }
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Extracts the main content of an HTML page. `base_url` (the page's URL) resolves relative
/// links and the canonical URL; without it only absolute links are kept.
pub fn html(html: &str, base_url: Option<&url::Url>) -> Document {
    html::extract(html, base_url)
}

/// Extracts the text of a PDF, one section per page (anchor `page=N`). The title comes from the
/// PDF's metadata when it has one.
pub fn pdf(bytes: &[u8]) -> Result<Document, ExtractError> {
    pdf::extract(bytes)
}

/// Extracts a Word document (.docx): headings (Heading 1–6 and Title styles), paragraphs, lists
/// and tables of the main body; headers, footers, footnotes and comments are left out.
pub fn docx(bytes: &[u8]) -> Result<Document, ExtractError> {
    docx::extract(bytes)
}

/// Extracts CommonMark/GitHub-flavoured Markdown: `#` headings become sections, links and
/// emphasis become their text, code blocks are kept verbatim. The title is the front matter's
/// `title:`, else the first h1.
pub fn markdown(text: &str) -> Document {
    markdown::extract(text)
}

/// Plain text: blank lines separate paragraphs; lines within a paragraph are joined with spaces,
/// except list items (`- `, `* `, `1. `), which keep their own lines. One section, no title.
pub fn plain(text: &str) -> Document {
    let mut builder = SectionBuilder::default();
    let mut lines: Vec<&str> = Vec::new();
    let mut emit = |lines: &mut Vec<&str>| {
        if lines.is_empty() {
            return;
        }
        let mut paragraph = String::new();
        for line in lines.drain(..) {
            let item = is_list_item(line);
            let line = if item {
                list_item_text(line)
            } else {
                let mut inline = Inline::default();
                inline.text(line);
                inline.take_line()
            };
            if !paragraph.is_empty() {
                paragraph.push(if item { '\n' } else { ' ' });
            }
            paragraph.push_str(&line);
        }
        builder.paragraph(&paragraph);
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            emit(&mut lines);
        } else {
            lines.push(line);
        }
    }
    emit(&mut lines);
    let sections = builder.finish();
    let mut doc = Document {
        sections,
        ..Document::default()
    };
    doc.language = detect_language(&doc.full_text());
    doc
}

/// Whether a line of plain text is a list item (`- `, `* `, `• `, `1. `, `1) `).
fn is_list_item(line: &str) -> bool {
    let item = line.trim_start();
    if item.starts_with("- ") || item.starts_with("* ") || item.starts_with("• ") {
        return true;
    }
    item.split_once([' '])
        .and_then(|(marker, _)| marker.strip_suffix(['.', ')']))
        .is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A plain-text list item with its marker normalised ("* a" and "• a" become "- a"), indentation
/// kept.
fn list_item_text(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let indent = " ".repeat(indent.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum());
    let mut inline = Inline::default();
    inline.text(trimmed);
    let text = inline.take_line();
    let text = match text.strip_prefix("* ").or_else(|| text.strip_prefix("• ")) {
        Some(rest) => format!("- {rest}"),
        None => text,
    };
    format!("{indent}{text}")
}

/// Decides what a file is: by its content type, then by its file name's extension, then by its
/// first bytes. Generic content types (`application/octet-stream`, `text/plain`,
/// `application/zip`, `application/vnd.ms-excel`, which browsers send for .csv files) do not
/// decide alone: the extension and the bytes get their say, and `text/plain` is the fallback.
/// Returns `None` for binary or unknown content (images, archives of other things, .xls).
pub fn detect_kind(
    content_type: Option<&str>,
    filename: Option<&str>,
    bytes: &[u8],
) -> Option<FileKind> {
    let mime = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|m| !m.is_empty());
    let mut fallback = None;
    if let Some(mime) = mime.as_deref() {
        match mime {
            "text/html" | "application/xhtml+xml" => return Some(FileKind::Html),
            "application/pdf" | "application/x-pdf" => return Some(FileKind::Pdf),
            "text/markdown" | "text/x-markdown" => return Some(FileKind::Markdown),
            "text/csv"
            | "application/csv"
            | "text/comma-separated-values"
            | "text/tab-separated-values" => return Some(FileKind::Csv),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
                return Some(FileKind::Xlsx)
            }
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
                return Some(FileKind::Docx)
            }
            "text/plain" => fallback = Some(FileKind::Plain),
            "application/octet-stream"
            | "binary/octet-stream"
            | "application/zip"
            | "application/x-zip-compressed"
            | "application/vnd.ms-excel"
            | "application/force-download"
            | "application/download" => {}
            m if m.starts_with("image/")
                || m.starts_with("audio/")
                || m.starts_with("video/")
                || m.starts_with("font/") =>
            {
                return None
            }
            _ => {}
        }
    }
    if let Some(kind) = filename.and_then(kind_from_extension) {
        return Some(kind);
    }
    sniff(bytes).or(fallback)
}

fn kind_from_extension(filename: &str) -> Option<FileKind> {
    let name = filename.split(['?', '#']).next().unwrap_or(filename);
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (_, ext) = name.rsplit_once('.')?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" | "xhtml" | "shtml" => FileKind::Html,
        "pdf" => FileKind::Pdf,
        "md" | "markdown" | "mdown" | "mkd" => FileKind::Markdown,
        "txt" | "text" => FileKind::Plain,
        "docx" => FileKind::Docx,
        "csv" | "tsv" => FileKind::Csv,
        "xlsx" | "xlsm" => FileKind::Xlsx,
        _ => return None,
    })
}

/// Decides by the first bytes: `%PDF-`, a ZIP holding `word/` or `xl/`, HTML markup, text.
fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if is_pdf(bytes) {
        return Some(FileKind::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
        if archive.index_for_name("word/document.xml").is_some() {
            return Some(FileKind::Docx);
        }
        if archive.index_for_name("xl/workbook.xml").is_some() {
            return Some(FileKind::Xlsx);
        }
        return None;
    }
    let head = &bytes[..bytes.len().min(8192)];
    let is_utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    let binary = !is_utf16
        && head
            .iter()
            .any(|&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)));
    if binary || bytes.is_empty() {
        return None;
    }
    let text = decode_text(head, None);
    let start = text.trim_start().to_ascii_lowercase();
    let start = &start[..start.len().min(1024)];
    if start.starts_with("<!doctype html")
        || start.starts_with("<html")
        || start.starts_with("<head")
        || start.starts_with("<body")
        || (start.starts_with('<') && start.contains("<html"))
    {
        return Some(FileKind::Html);
    }
    if text
        .lines()
        .take(50)
        .any(|l| l.starts_with("# ") || l.starts_with("## ") || l.starts_with("```"))
    {
        return Some(FileKind::Markdown);
    }
    Some(FileKind::Plain)
}

/// Whether the bytes hold a PDF header (`%PDF-`, which may follow a little junk).
pub(crate) fn is_pdf(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
}

/// Turns the bytes of a text file into text. In order: a byte-order mark (UTF-8, UTF-16); UTF-8
/// when the bytes are valid UTF-8 (text in another encoding almost never is, while pages that
/// declare the wrong charset are common); the declared `charset` (an encoding label such as
/// "iso-8859-1", from a Content-Type header), else one declared in the first 1024 bytes by an
/// HTML `<meta charset>`; and finally Windows-1252, the usual encoding of text that is not UTF-8
/// (Excel's CSV exports, old web pages), in which every byte is a character, so decoding never
/// fails.
pub fn decode_text<'a>(bytes: &'a [u8], charset: Option<&str>) -> Cow<'a, str> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return text;
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let declared = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes()))
        .or_else(|| meta_charset(bytes));
    let encoding = declared
        .filter(|e| *e != encoding_rs::UTF_8)
        .unwrap_or(encoding_rs::WINDOWS_1252);
    encoding.decode_without_bom_handling(bytes).0
}

/// The encoding an HTML page declares in its first 1024 bytes (`<meta charset="…">` or
/// `<meta http-equiv="Content-Type" content="text/html; charset=…">`).
fn meta_charset(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head: String = bytes[..bytes.len().min(1024)]
        .iter()
        .map(|&b| (b as char).to_ascii_lowercase())
        .collect();
    let mut rest = head.as_str();
    while let Some(at) = rest.find("charset") {
        rest = &rest[at + "charset".len()..];
        let value = rest.trim_start().strip_prefix('=')?.trim_start();
        let value = value.trim_start_matches(['"', '\'']);
        let end = value
            .find(|c: char| matches!(c, '"' | '\'' | ';' | '>' | '/') || c.is_whitespace())
            .unwrap_or(value.len());
        if let Some(encoding) = encoding_rs::Encoding::for_label(&value.as_bytes()[..end]) {
            return Some(encoding);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_keeps_list_items_on_their_own_lines() {
        let doc = plain("Opening hours:\n* Monday 9-17\n* Tuesday 9-17\n\nClosed on\nSundays.");
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(
            doc.sections[0].text,
            "Opening hours:\n- Monday 9-17\n- Tuesday 9-17\n\nClosed on Sundays."
        );
        assert_eq!(doc.title, "");
        assert!(doc.sections[0].headings.is_empty());
    }

    #[test]
    fn the_content_type_decides_first() {
        assert_eq!(
            detect_kind(Some("text/html; charset=utf-8"), Some("x.pdf"), b""),
            Some(FileKind::Html)
        );
        assert_eq!(
            detect_kind(Some("application/pdf"), None, b""),
            Some(FileKind::Pdf)
        );
        assert_eq!(
            detect_kind(Some("text/markdown"), None, b""),
            Some(FileKind::Markdown)
        );
        assert_eq!(
            detect_kind(Some("text/csv"), None, b""),
            Some(FileKind::Csv)
        );
        assert_eq!(
            detect_kind(
                Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                None,
                b""
            ),
            Some(FileKind::Xlsx)
        );
        assert_eq!(
            detect_kind(
                Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                None,
                b""
            ),
            Some(FileKind::Docx)
        );
        assert_eq!(detect_kind(Some("image/png"), Some("a.html"), b""), None);
    }

    #[test]
    fn a_generic_content_type_defers_to_the_file_name() {
        assert_eq!(
            detect_kind(Some("text/plain"), Some("README.md"), b"hello"),
            Some(FileKind::Markdown)
        );
        assert_eq!(
            detect_kind(Some("application/vnd.ms-excel"), Some("prices.csv"), b"a,b"),
            Some(FileKind::Csv)
        );
        assert_eq!(
            detect_kind(Some("text/plain"), None, b"just words"),
            Some(FileKind::Plain)
        );
    }

    #[test]
    fn the_extension_decides_without_a_content_type() {
        let cases = [
            ("page.HTM", FileKind::Html),
            ("/docs/manual.pdf?download=1", FileKind::Pdf),
            ("notes.md", FileKind::Markdown),
            ("notes.txt", FileKind::Plain),
            ("letter.docx", FileKind::Docx),
            ("prices.tsv", FileKind::Csv),
            ("prices.xlsx", FileKind::Xlsx),
        ];
        for (name, kind) in cases {
            assert_eq!(detect_kind(None, Some(name), b""), Some(kind), "{name}");
        }
    }

    #[test]
    fn the_first_bytes_decide_last() {
        assert_eq!(
            detect_kind(None, Some("download"), b"%PDF-1.7\n..."),
            Some(FileKind::Pdf)
        );
        assert_eq!(
            detect_kind(None, None, b"\xEF\xBB\xBF<!DOCTYPE html><html></html>"),
            Some(FileKind::Html)
        );
        assert_eq!(
            detect_kind(None, None, b"# Title\n\nText"),
            Some(FileKind::Markdown)
        );
        assert_eq!(
            detect_kind(None, None, b"caf\xE9 au lait"),
            Some(FileKind::Plain)
        );
    }

    #[test]
    fn a_png_is_not_text() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        assert_eq!(detect_kind(None, None, png), None);
        assert_eq!(
            detect_kind(Some("application/octet-stream"), Some("logo.png"), png),
            None
        );
    }

    #[test]
    fn a_zip_is_recognised_by_its_entries() {
        assert_eq!(
            detect_kind(
                None,
                None,
                &test_zip(&[("word/document.xml", "<w:document/>")])
            ),
            Some(FileKind::Docx)
        );
        assert_eq!(
            detect_kind(None, None, &test_zip(&[("xl/workbook.xml", "<workbook/>")])),
            Some(FileKind::Xlsx)
        );
        assert_eq!(
            detect_kind(None, Some("photos.zip"), &test_zip(&[("a.jpg", "x")])),
            None
        );
    }

    #[test]
    fn text_that_is_not_utf8_is_read_as_windows_1252() {
        assert_eq!(decode_text(b"caf\xE9 \x80", None), "café €");
        assert_eq!(decode_text(b"\xEF\xBB\xBFcaf\xC3\xA9", None), "café");
        assert_eq!(decode_text(b"\xFF\xFEc\0a\0", None), "ca");
        assert_eq!(decode_text(b"caf\xE9", Some("iso-8859-1")), "café");
        assert_eq!(decode_text("café".as_bytes(), Some("iso-8859-1")), "café");
    }

    #[test]
    fn a_page_declares_its_charset_in_a_meta_element() {
        let page =
            b"<html><head><meta charset=\"windows-1251\"></head><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>";
        assert!(decode_text(page, None).contains("\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}"));
        let page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">\x93\xfa\x96\x7b";
        assert!(decode_text(page, None).ends_with("\u{65e5}\u{672c}"));
    }

    fn test_zip(files: &[(&str, &str)]) -> Vec<u8> {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (*n, c.as_bytes())).collect();
        crate::testing::zip(&files)
    }
}
