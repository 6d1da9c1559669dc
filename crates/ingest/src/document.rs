//! A document reduced to readable text with its structure.
//!
//! Every extractor (HTML, PDF, DOCX, Markdown, plain text) produces the same [`Document`]: a title,
//! a language, and [`Section`]s in reading order, each carrying the heading path above it and the
//! anchor a link can point at. The chunker ([`crate::chunk::chunk_document`]) only ever sees this
//! shape, so passages from a web page and from a Word file look alike to search and to answers.
//!
//! Text conventions shared by all extractors: paragraphs are separated by a blank line
//! (`"\n\n"`); a list is one paragraph with one item per line (`"- item"`, `"1. item"`, nested
//! items indented by two spaces); a table is one paragraph with one row per line,
//! `"Header: value; Header: value"` when the table has a header row, cells joined by `" | "`
//! otherwise. The helpers that enforce these conventions ([`SectionBuilder`], [`Inline`],
//! [`render_table`]) live here and are shared by the extractors.

use crate::chunk::slug;

/// A document reduced to readable text with its structure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// `<title>` (without a trailing " | Site name"), else the first h1, else "" (the caller falls
    /// back to the URL or the file name).
    pub title: String,
    /// ISO 639-1 code ("en", "fr"): declared by the document, else detected from its text when
    /// the detection is confident.
    pub language: Option<String>,
    /// The main content, in reading order.
    pub sections: Vec<Section>,
    /// Absolute URL from `<link rel="canonical">`.
    pub canonical: Option<String>,
    /// Absolute http(s) links found in the document, without fragments, deduplicated, in order.
    /// Includes navigation and footer links (the crawler needs them) that are not in the text.
    pub links: Vec<String>,
}

/// A run of content under one heading path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// Heading path, outermost first (h1, h2, h3 …); empty before any heading.
    pub headings: Vec<String>,
    /// Where a link can point: the nearest heading's id if it has one, else the slug of its text
    /// (`page=3` for a PDF page, which PDF viewers understand as a URL fragment).
    pub anchor: Option<String>,
    /// Paragraphs separated by `"\n\n"`; list items and table rows one per line.
    pub text: String,
}

impl Document {
    /// Total characters (not bytes) of the sections' text.
    pub fn text_len(&self) -> usize {
        self.sections.iter().map(|s| s.text.chars().count()).sum()
    }

    /// All section text, sections separated by blank lines.
    pub fn full_text(&self) -> String {
        self.sections
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

pub use sitechat_core::language::detect as detect_language;

/// The primary language subtag of a declared language (`lang="fr-FR"` → "fr"), if it looks like
/// a real ISO 639 code.
pub(crate) fn language_tag(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    let real = (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && !matches!(primary.as_str(), "und" | "mul" | "zxx" | "mis");
    real.then_some(primary)
}

/// Builds sections from a stream of headings and paragraphs.
#[derive(Default)]
pub(crate) struct SectionBuilder {
    sections: Vec<Section>,
    headings: Vec<(u8, String)>,
    anchor: Option<String>,
    paragraphs: Vec<String>,
}

impl SectionBuilder {
    /// A heading of `level` (1 for h1) closes the current section and replaces the headings of
    /// the same or deeper level. An empty heading is ignored.
    pub(crate) fn heading(&mut self, level: u8, text: &str, id: Option<&str>) {
        let text = collapse_whitespace(text);
        if text.is_empty() {
            return;
        }
        self.close();
        self.headings.retain(|(l, _)| *l < level);
        self.anchor = id
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .or_else(|| Some(slug(&text)).filter(|s| !s.is_empty()));
        self.headings.push((level, text));
    }

    /// Adds a paragraph (which may hold several lines) to the current section.
    pub(crate) fn paragraph(&mut self, text: &str) {
        let text = text.trim_matches('\n');
        if !text.trim().is_empty() {
            self.paragraphs.push(text.to_owned());
        }
    }

    fn close(&mut self) {
        if self.paragraphs.is_empty() {
            return;
        }
        self.sections.push(Section {
            headings: self.headings.iter().map(|(_, h)| h.clone()).collect(),
            anchor: if self.headings.is_empty() {
                None
            } else {
                self.anchor.clone()
            },
            text: std::mem::take(&mut self.paragraphs).join("\n\n"),
        });
    }

    pub(crate) fn finish(mut self) -> Vec<Section> {
        self.close();
        self.sections
    }
}

/// Collapses runs of whitespace (including non-breaking spaces) to one space and trims.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut inline = Inline::default();
    inline.text(text);
    inline.take_line()
}

/// An inline text buffer: whitespace is collapsed as a browser does, explicit line breaks are
/// kept, and two line breaks in a row end a paragraph.
#[derive(Default)]
pub(crate) struct Inline {
    buf: String,
}

impl Inline {
    /// Appends text, collapsing whitespace.
    pub(crate) fn text(&mut self, text: &str) {
        for c in text.chars() {
            if is_invisible(c) {
                continue;
            }
            if c.is_whitespace() {
                if !self.buf.is_empty() && !self.buf.ends_with([' ', '\n']) {
                    self.buf.push(' ');
                }
            } else {
                self.buf.push(c);
            }
        }
    }

    /// Appends text verbatim (preformatted text); only line endings are normalised.
    pub(crate) fn raw(&mut self, text: &str) {
        self.buf
            .extend(text.chars().filter(|&c| c != '\r' && !is_invisible(c)));
    }

    /// A word separator (a space unless there already is one).
    pub(crate) fn space(&mut self) {
        if !self.buf.is_empty() && !self.buf.ends_with([' ', '\n']) {
            self.buf.push(' ');
        }
    }

    /// An explicit line break (`<br>`).
    pub(crate) fn line_break(&mut self) {
        while self.buf.ends_with(' ') {
            self.buf.pop();
        }
        self.buf.push('\n');
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.trim().is_empty()
    }

    /// Takes the buffer as paragraphs: lines trimmed, blank lines separate paragraphs.
    pub(crate) fn take_paragraphs(&mut self) -> Vec<String> {
        let buf = std::mem::take(&mut self.buf);
        let mut paragraphs = Vec::new();
        let mut current: Vec<&str> = Vec::new();
        for line in buf.split('\n').map(str::trim) {
            if line.is_empty() {
                if !current.is_empty() {
                    paragraphs.push(current.join("\n"));
                    current.clear();
                }
            } else {
                current.push(line);
            }
        }
        if !current.is_empty() {
            paragraphs.push(current.join("\n"));
        }
        paragraphs
    }

    /// Takes the buffer as one line: line breaks become spaces.
    pub(crate) fn take_line(&mut self) -> String {
        let buf = std::mem::take(&mut self.buf);
        let mut line = String::with_capacity(buf.len());
        for word in buf.split([' ', '\n']).filter(|w| !w.is_empty()) {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        line
    }

    /// Takes the buffer verbatim, without trailing spaces on lines or blank lines at either end.
    pub(crate) fn take_raw(&mut self) -> String {
        let buf = std::mem::take(&mut self.buf);
        let lines: Vec<&str> = buf.lines().map(str::trim_end).collect();
        let start = lines.iter().position(|l| !l.is_empty()).unwrap_or(0);
        let end = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |e| e + 1);
        lines.get(start..end).unwrap_or_default().join("\n")
    }
}

/// Characters that render as nothing: zero-width spaces and joiners, soft hyphens, BOMs.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}'
    )
}

/// A table cell: its text and the column it starts at.
pub(crate) struct Cell {
    pub(crate) column: usize,
    pub(crate) text: String,
    pub(crate) is_header: bool,
}

/// Lays out table rows as cells with their starting columns (`colspan` taken into account).
pub(crate) fn place_cells(cells: impl IntoIterator<Item = (String, usize, bool)>) -> Vec<Cell> {
    let mut column = 0;
    cells
        .into_iter()
        .map(|(text, span, is_header)| {
            let cell = Cell {
                column,
                text,
                is_header,
            };
            column += span.max(1);
            cell
        })
        .collect()
}

/// Renders a table, one row per line: `"Header: value; Header: value"` when there is a header
/// row (empty cells skipped), else cells joined by `" | "`. A table without a header row whose
/// rows each start with a header cell (`<th>Phone</th><td>555</td>`) is rendered as
/// `"Phone: 555"`.
pub(crate) fn render_table(
    caption: Option<&str>,
    header: Option<&[Cell]>,
    rows: &[Vec<Cell>],
) -> String {
    let mut lines: Vec<String> = Vec::new();
    if let Some(caption) = caption.filter(|c| !c.is_empty()) {
        lines.push(caption.to_owned());
    }
    // A table of one column (the PostgreSQL manual's "Function Description Example(s)") has a
    // header that names the whole list, not a field of each row: it is said once, above the rows.
    let filled = |row: &[Cell]| row.iter().filter(|c| !c.text.is_empty()).count();
    let named: Vec<&str> = header
        .into_iter()
        .flatten()
        .map(|c| c.text.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    let one_column = named.len() == 1
        && rows.iter().all(|r| filled(r) <= 1)
        && rows.iter().any(|r| filled(r) == 1);
    if one_column {
        lines.push(named[0].to_owned());
    }
    let header_names: Option<Vec<(usize, &str)>> = header.filter(|_| !one_column).map(|cells| {
        cells
            .iter()
            .map(|c| (c.column, c.text.as_str()))
            .collect::<Vec<_>>()
    });
    let name_at = |names: &[(usize, &str)], column: usize| -> Option<String> {
        names
            .iter()
            .rev()
            .find(|(start, _)| *start <= column)
            .map(|(_, n)| n.to_string())
            .filter(|n| !n.is_empty())
    };
    for row in rows {
        let filled: Vec<&Cell> = row.iter().filter(|c| !c.text.is_empty()).collect();
        if filled.is_empty() {
            continue;
        }
        let line = match &header_names {
            Some(names) => filled
                .iter()
                .map(|c| match name_at(names, c.column) {
                    Some(name) if name != c.text => format!("{name}: {}", c.text),
                    _ => c.text.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            None if row.len() >= 2
                && row[0].is_header
                && !row[0].text.is_empty()
                && row[1..].iter().all(|c| !c.is_header) =>
            {
                let values: Vec<&str> = row[1..]
                    .iter()
                    .map(|c| c.text.as_str())
                    .filter(|t| !t.is_empty())
                    .collect();
                if values.is_empty() {
                    row[0].text.clone()
                } else {
                    format!("{}: {}", row[0].text, values.join("; "))
                }
            }
            None => filled
                .iter()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
        };
        lines.push(line);
    }
    if rows.iter().all(|r| r.iter().all(|c| c.text.is_empty())) {
        if let Some(header) = header {
            let names: Vec<&str> = header
                .iter()
                .map(|c| c.text.as_str())
                .filter(|t| !t.is_empty())
                .collect();
            if !names.is_empty() {
                lines.push(names.join(" | "));
            }
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_text_is_detected_as_fr() {
        let text = "Bonjour, nous livrons partout en France métropolitaine sous trois jours \
                    ouvrés. Les retours sont gratuits pendant trente jours après la livraison.";
        assert_eq!(detect_language(text).as_deref(), Some("fr"));
    }

    #[test]
    fn a_declared_language_keeps_its_primary_subtag() {
        assert_eq!(language_tag("fr-FR").as_deref(), Some("fr"));
        assert_eq!(language_tag(" EN_us ").as_deref(), Some("en"));
        assert_eq!(language_tag("und"), None);
        assert_eq!(language_tag("x"), None);
    }

    #[test]
    fn inline_text_collapses_whitespace_and_keeps_line_breaks() {
        let mut inline = Inline::default();
        inline.text("  Hello \u{a0}\n  world ");
        inline.line_break();
        inline.text(" second\u{200b} line");
        inline.line_break();
        inline.line_break();
        inline.text("next paragraph");
        assert_eq!(
            inline.take_paragraphs(),
            ["Hello world\nsecond line", "next paragraph"]
        );
    }

    #[test]
    fn sections_take_the_heading_path_and_skip_empty_headings() {
        let mut b = SectionBuilder::default();
        b.paragraph("Intro.");
        b.heading(1, "Help", None);
        b.heading(2, "Shipping", Some("ship"));
        b.paragraph("We ship.");
        b.heading(2, "Returns", None);
        b.heading(3, "Refunds", None);
        b.paragraph("Money back.");
        let sections = b.finish();
        assert_eq!(sections.len(), 3);
        assert_eq!(sections[0].headings, Vec::<String>::new());
        assert_eq!(sections[0].anchor, None);
        assert_eq!(sections[1].headings, ["Help", "Shipping"]);
        assert_eq!(sections[1].anchor.as_deref(), Some("ship"));
        assert_eq!(sections[2].headings, ["Help", "Returns", "Refunds"]);
        assert_eq!(sections[2].anchor.as_deref(), Some("refunds"));
    }

    #[test]
    fn a_table_with_a_header_row_names_each_value() {
        let header = place_cells([("Plan".to_owned(), 1, true), ("Price".to_owned(), 1, true)]);
        let rows = vec![
            place_cells([
                ("Basic".to_owned(), 1, false),
                ("10 €".to_owned(), 1, false),
            ]),
            place_cells([("Pro".to_owned(), 1, false), (String::new(), 1, false)]),
        ];
        assert_eq!(
            render_table(None, Some(&header), &rows),
            "Plan: Basic; Price: 10 €\nPlan: Pro"
        );
        assert_eq!(
            render_table(Some("Plans"), None, &rows),
            "Plans\nBasic | 10 €\nPro"
        );
    }
}
