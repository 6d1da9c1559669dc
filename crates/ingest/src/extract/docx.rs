//! Word documents (.docx): the ZIP archive opened with `zip`, its XML read with `quick-xml`.
//!
//! The DOCX crates on crates.io are made for writing documents; reading the handful of parts we
//! need is small and predictable:
//!
//! - `word/document.xml`: paragraphs (`w:p`), their runs' text (`w:t`, tabs, breaks), tables
//!   (`w:tbl`). Deleted text of tracked changes (`w:delText`), field codes (`w:instrText`) and the
//!   fallback copies of text boxes (`mc:Fallback`) are not text.
//! - `word/styles.xml`: which paragraph styles are headings. Style ids are localised
//!   ("Überschrift1", "Titre1"), so a style is a heading by its built-in name ("heading 1"), its
//!   outline level, or the style it is based on. The "Title" style gives the title.
//! - `word/numbering.xml`: whether a numbered paragraph is a bullet or an ordered item.
//! - `word/_rels/document.xml.rels`: where hyperlinks point.
//! - `docProps/core.xml`: the document title.
//!
//! A table's first row is its header row when Word says so: "Repeat header row" (`w:tblHeader`)
//! or the table's "Header Row" style option (`w:tblLook firstRow`). Headers, footers, footnotes
//! and comments are left out.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::ExtractError;
use crate::document::{
    collapse_whitespace, detect_language, place_cells, render_table, Cell, Document, Inline,
    SectionBuilder,
};

/// Largest XML part we decompress (a guard against ZIP bombs).
const MAX_PART_BYTES: u64 = 200 * 1024 * 1024;

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

pub(super) fn extract(bytes: &[u8]) -> Result<Document, ExtractError> {
    if !bytes.starts_with(b"PK") {
        return Err(ExtractError::NotDocx);
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ExtractError::DocxCorrupt(e.to_string()))?;
    let document = part(&mut archive, "word/document.xml")?.ok_or(ExtractError::NotDocx)?;
    let styles = part(&mut archive, "word/styles.xml")?
        .map(|xml| read_styles(&xml))
        .transpose()?
        .unwrap_or_default();
    let numbering = part(&mut archive, "word/numbering.xml")?
        .map(|xml| read_numbering(&xml))
        .transpose()?
        .unwrap_or_default();
    let relationships = part(&mut archive, "word/_rels/document.xml.rels")?
        .map(|xml| read_relationships(&xml))
        .transpose()?
        .unwrap_or_default();
    let core_title = part(&mut archive, "docProps/core.xml")?
        .map(|xml| read_core_title(&xml))
        .transpose()?
        .flatten();

    let mut body = Body {
        styles: &styles,
        numbering: &numbering,
        relationships: &relationships,
        builder: SectionBuilder::default(),
        paragraphs: Vec::new(),
        tables: Vec::new(),
        list_lines: Vec::new(),
        counters: HashMap::new(),
        run_bold: false,
        in_text: false,
        skip_depth: 0,
        title_paragraph: None,
        first_h1: None,
        links: Vec::new(),
        seen: HashSet::new(),
    };
    body.read(&document)?;
    let Body {
        builder,
        title_paragraph,
        first_h1,
        links,
        ..
    } = body;
    let sections = builder.finish();
    if sections.is_empty() {
        return Err(ExtractError::DocxNoText);
    }
    let mut doc = Document {
        title: core_title
            .or(title_paragraph)
            .or(first_h1)
            .unwrap_or_default(),
        language: None,
        sections,
        canonical: None,
        links,
    };
    doc.language = detect_language(&doc.full_text());
    Ok(doc)
}

/// A part of the archive as text, `None` when it is absent.
fn part(archive: &mut Archive, name: &str) -> Result<Option<String>, ExtractError> {
    let file = match archive.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(ExtractError::DocxCorrupt(format!("{name}: {e}"))),
    };
    let mut bytes = Vec::new();
    file.take(MAX_PART_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ExtractError::DocxCorrupt(format!("{name}: {e}")))?;
    if bytes.len() as u64 > MAX_PART_BYTES {
        return Err(ExtractError::DocxCorrupt(format!("{name} is too large")));
    }
    Ok(Some(super::decode_text(&bytes, None).into_owned()))
}

fn xml_error(e: impl std::fmt::Display) -> ExtractError {
    ExtractError::DocxCorrupt(format!("bad XML: {e}"))
}

fn reader(xml: &str) -> Reader<&[u8]> {
    let mut reader = Reader::from_reader(xml.as_bytes());
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = false;
    reader
}

/// The local name of an element (`w:p` → `p`).
fn local(e: &BytesStart) -> String {
    e.local_name().as_ref().to_owned()
}

/// An attribute by its local name (`w:val` → `val`).
fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        (a.key.local_name().as_ref() == name)
            .then(|| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
            .flatten()
    })
}

/// An on/off property: present without `val`, or with a `val` other than false/0/off.
fn is_on(e: &BytesStart) -> bool {
    attr(e, "val").is_none_or(|v| !matches!(v.as_str(), "false" | "0" | "off" | "none"))
}

/// Text of an entity reference (`&amp;` → "&").
fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StyleKind {
    Title,
    Heading(u8),
    /// A list style ("List Bullet", "List Number"): its numbering instance if the style names
    /// one, and whether its name says it is numbered.
    List {
        num_id: Option<String>,
        numbered: bool,
    },
}

#[derive(Default)]
struct Style {
    name: String,
    based_on: Option<String>,
    outline_level: Option<u8>,
    num_id: Option<String>,
}

/// Paragraph style id → what the style means for us.
fn read_styles(xml: &str) -> Result<HashMap<String, StyleKind>, ExtractError> {
    let mut styles: HashMap<String, Style> = HashMap::new();
    let mut reader = reader(xml);
    let mut current: Option<(String, Style)> = None;
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) => match local(&e).as_str() {
                "style" => {
                    let paragraph = attr(&e, "type").is_none_or(|t| t == "paragraph");
                    current = attr(&e, "styleId")
                        .filter(|_| paragraph)
                        .map(|id| (id, Style::default()));
                }
                "name" => {
                    if let Some((_, style)) = current.as_mut() {
                        style.name = attr(&e, "val").unwrap_or_default().to_lowercase();
                    }
                }
                "basedOn" => {
                    if let Some((_, style)) = current.as_mut() {
                        style.based_on = attr(&e, "val");
                    }
                }
                "outlineLvl" => {
                    if let Some((_, style)) = current.as_mut() {
                        style.outline_level = attr(&e, "val").and_then(|v| v.parse().ok());
                    }
                }
                "numId" => {
                    if let Some((_, style)) = current.as_mut() {
                        style.num_id = attr(&e, "val").filter(|id| id != "0");
                    }
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == "style" => {
                if let Some((id, style)) = current.take() {
                    styles.insert(id, style);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let own_kind = |id: &str, style: &Style| -> Option<StyleKind> {
        let name = if style.name.is_empty() {
            id.to_lowercase()
        } else {
            style.name.clone()
        };
        if name == "title" {
            return Some(StyleKind::Title);
        }
        if let Some(level) = name
            .strip_prefix("heading")
            .map(str::trim)
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=9).contains(n))
        {
            return Some(StyleKind::Heading(level.min(6)));
        }
        if let Some(level) = style.outline_level.filter(|l| *l < 9) {
            return Some(StyleKind::Heading((level + 1).min(6)));
        }
        let numbered = name.starts_with("list number");
        if style.num_id.is_some() || numbered || name.starts_with("list bullet") {
            return Some(StyleKind::List {
                num_id: style.num_id.clone(),
                numbered,
            });
        }
        None
    };
    let mut kinds = HashMap::new();
    for (id, style) in &styles {
        let mut kind = own_kind(id, style);
        let mut parent = style.based_on.as_deref();
        for _ in 0..8 {
            if kind.is_some() {
                break;
            }
            let Some(parent_id) = parent else { break };
            let Some(parent_style) = styles.get(parent_id) else {
                break;
            };
            kind = own_kind(parent_id, parent_style);
            parent = parent_style.based_on.as_deref();
        }
        if let Some(kind) = kind {
            kinds.insert(id.clone(), kind);
        }
    }
    Ok(kinds)
}

/// Numbering: (numId, level) → ordered (true) or bullet (false).
#[derive(Default)]
struct Numbering {
    abstract_formats: HashMap<String, HashMap<u8, bool>>,
    nums: HashMap<String, String>,
}

impl Numbering {
    /// Whether a numbered paragraph is an ordered item; `None` when the numbering is unknown.
    fn is_ordered(&self, num_id: &str, level: u8) -> Option<bool> {
        self.nums
            .get(num_id)
            .and_then(|a| self.abstract_formats.get(a))
            .and_then(|levels| levels.get(&level))
            .copied()
    }
}

fn read_numbering(xml: &str) -> Result<Numbering, ExtractError> {
    let mut numbering = Numbering::default();
    let mut reader = reader(xml);
    let mut abstract_id: Option<String> = None;
    let mut level: Option<u8> = None;
    let mut num_id: Option<String> = None;
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) => match local(&e).as_str() {
                "abstractNum" => abstract_id = attr(&e, "abstractNumId"),
                "lvl" => level = attr(&e, "ilvl").and_then(|l| l.parse().ok()),
                "numFmt" => {
                    if let (Some(a), Some(l)) = (&abstract_id, level) {
                        let ordered = attr(&e, "val")
                            .is_some_and(|f| !matches!(f.as_str(), "bullet" | "none"));
                        numbering
                            .abstract_formats
                            .entry(a.clone())
                            .or_default()
                            .insert(l, ordered);
                    }
                }
                "num" => num_id = attr(&e, "numId"),
                "abstractNumId" => {
                    if let (Some(n), Some(a)) = (&num_id, attr(&e, "val")) {
                        numbering.nums.insert(n.clone(), a);
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "abstractNum" => abstract_id = None,
                "lvl" => level = None,
                "num" => num_id = None,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(numbering)
}

/// Relationship id → absolute http(s) target.
fn read_relationships(xml: &str) -> Result<HashMap<String, String>, ExtractError> {
    let mut targets = HashMap::new();
    let mut reader = reader(xml);
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) if local(&e) == "Relationship" => {
                if let (Some(id), Some(target)) = (attr(&e, "Id"), attr(&e, "Target")) {
                    if let Ok(mut url) = url::Url::parse(target.trim()) {
                        if matches!(url.scheme(), "http" | "https") {
                            url.set_fragment(None);
                            targets.insert(id, String::from(url));
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(targets)
}

fn read_core_title(xml: &str) -> Result<Option<String>, ExtractError> {
    let mut reader = reader(xml);
    let mut in_title = false;
    let mut title = String::new();
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) if local(&e) == "title" => in_title = true,
            Event::End(e) if e.local_name().as_ref() == "title" => in_title = false,
            Event::Text(t) if in_title => title.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_title => title.extend(entity(&r.xml10_content())),
            Event::Eof => break,
            _ => {}
        }
    }
    let title = collapse_whitespace(&title);
    Ok((!title.is_empty()).then_some(title))
}

/// A paragraph being read.
#[derive(Default)]
struct Paragraph {
    style: Option<String>,
    num: Option<(String, u8)>,
    outline_level: Option<u8>,
    text: Inline,
    bold_chars: usize,
    chars: usize,
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<(String, usize, bool)>>,
    header_flagged: bool,
    first_row_look: bool,
    row_is_header: bool,
    cell: Option<(Inline, usize, usize, usize)>,
}

struct Body<'a> {
    styles: &'a HashMap<String, StyleKind>,
    numbering: &'a Numbering,
    relationships: &'a HashMap<String, String>,
    builder: SectionBuilder,
    paragraphs: Vec<Paragraph>,
    tables: Vec<Table>,
    list_lines: Vec<String>,
    counters: HashMap<(String, u8), u64>,
    run_bold: bool,
    in_text: bool,
    skip_depth: usize,
    title_paragraph: Option<String>,
    first_h1: Option<String>,
    links: Vec<String>,
    seen: HashSet<String>,
}

impl Body<'_> {
    fn read(&mut self, xml: &str) -> Result<(), ExtractError> {
        let mut reader = reader(xml);
        loop {
            match reader.read_event().map_err(xml_error)? {
                Event::Start(e) => self.start(&e),
                Event::End(e) => self.end(e.local_name().as_ref()),
                Event::Text(t) if self.in_text && self.skip_depth == 0 => {
                    self.text(&t.xml10_content())
                }
                Event::GeneralRef(r) if self.in_text && self.skip_depth == 0 => {
                    if let Some(c) = entity(&r.xml10_content()) {
                        self.text(c.encode_utf8(&mut [0; 4]));
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        self.end_list();
        Ok(())
    }

    fn text(&mut self, text: &str) {
        let bold = self.run_bold;
        if let Some(p) = self.paragraphs.last_mut() {
            let n = text.chars().filter(|c| !c.is_whitespace()).count();
            p.chars += n;
            if bold {
                p.bold_chars += n;
            }
            p.text.text(text);
        }
    }

    fn start(&mut self, e: &BytesStart) {
        let name = local(e);
        if self.skip_depth > 0 {
            self.skip_depth += 1;
            return;
        }
        match name.as_str() {
            "Fallback" | "delText" | "instrText" | "del" => self.skip_depth = 1,
            "p" => self.paragraphs.push(Paragraph::default()),
            "pStyle" => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.style = attr(e, "val");
                }
            }
            "outlineLvl" => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.outline_level = attr(e, "val").and_then(|v| v.parse().ok());
                }
            }
            "ilvl" => {
                if let Some(p) = self.paragraphs.last_mut() {
                    let level = attr(e, "val").and_then(|v| v.parse().ok()).unwrap_or(0);
                    let id = p.num.take().map(|(id, _)| id).unwrap_or_default();
                    p.num = Some((id, level));
                }
            }
            "numId" => {
                if let Some(p) = self.paragraphs.last_mut() {
                    let level = p.num.take().map_or(0, |(_, l)| l);
                    p.num = Some((attr(e, "val").unwrap_or_default(), level));
                }
            }
            "r" => self.run_bold = false,
            "b" => self.run_bold = is_on(e),
            "t" => self.in_text = true,
            "tab" | "ptab" => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.text.space();
                }
            }
            "br" | "cr" => {
                let page_break = attr(e, "type").is_some_and(|t| t == "page" || t == "column");
                if let Some(p) = self.paragraphs.last_mut() {
                    if page_break {
                        p.text.space();
                    } else {
                        p.text.line_break();
                    }
                }
            }
            "noBreakHyphen" => self.text("-"),
            "hyperlink" => {
                if let Some(target) = attr(e, "id").and_then(|id| self.relationships.get(&id)) {
                    if self.seen.insert(target.clone()) {
                        self.links.push(target.clone());
                    }
                }
            }
            "tbl" => {
                self.end_list();
                self.tables.push(Table::default());
            }
            "tblLook" => {
                if let Some(table) = self.tables.last_mut() {
                    table.first_row_look = attr(e, "firstRow").map_or_else(
                        || {
                            attr(e, "val")
                                .and_then(|v| u32::from_str_radix(&v, 16).ok())
                                .is_some_and(|v| v & 0x0020 != 0)
                        },
                        |v| matches!(v.as_str(), "1" | "true" | "on"),
                    );
                }
            }
            "tr" => {
                if let Some(table) = self.tables.last_mut() {
                    table.rows.push(Vec::new());
                    table.row_is_header = false;
                }
            }
            "tblHeader" => {
                if let Some(table) = self.tables.last_mut() {
                    if table.rows.len() == 1 && is_on(e) {
                        table.header_flagged = true;
                    }
                    table.row_is_header = is_on(e);
                }
            }
            "tc" => {
                if let Some(table) = self.tables.last_mut() {
                    table.cell = Some((Inline::default(), 1, 0, 0));
                }
            }
            "gridSpan" => {
                if let Some((_, span, _, _)) = self.tables.last_mut().and_then(|t| t.cell.as_mut())
                {
                    *span = attr(e, "val").and_then(|v| v.parse().ok()).unwrap_or(1);
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        if self.skip_depth > 0 {
            self.skip_depth -= 1;
            return;
        }
        match name {
            "t" => self.in_text = false,
            "r" => self.run_bold = false,
            "p" => {
                if let Some(paragraph) = self.paragraphs.pop() {
                    self.paragraph(paragraph);
                }
            }
            "tc" => {
                if let Some(table) = self.tables.last_mut() {
                    if let Some((mut text, span, bold, chars)) = table.cell.take() {
                        let is_header = chars > 0 && bold == chars;
                        if let Some(row) = table.rows.last_mut() {
                            row.push((text.take_line(), span, is_header));
                        }
                    }
                }
            }
            "tbl" => {
                if let Some(table) = self.tables.pop() {
                    let rendered = render_docx_table(table);
                    match self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
                        Some((cell, ..)) => {
                            cell.space();
                            cell.text(&rendered.replace('\n', "; "));
                        }
                        None => self.builder.paragraph(&rendered),
                    }
                }
            }
            _ => {}
        }
    }

    fn paragraph(&mut self, mut paragraph: Paragraph) {
        // Inside a table cell: the paragraph is part of the cell's text.
        if let Some((cell, _, bold, chars)) = self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
            cell.space();
            cell.text(&paragraph.text.take_line());
            *bold += paragraph.bold_chars;
            *chars += paragraph.chars;
            return;
        }
        let style = paragraph
            .style
            .as_deref()
            .and_then(|s| self.styles.get(s))
            .cloned()
            .or_else(|| {
                paragraph
                    .outline_level
                    .filter(|l| *l < 9)
                    .map(|l| StyleKind::Heading((l + 1).min(6)))
            });
        match style {
            Some(StyleKind::Title) => {
                self.end_list();
                let text = paragraph.text.take_line();
                if self.title_paragraph.is_none() && !text.is_empty() {
                    self.title_paragraph = Some(text);
                }
            }
            Some(StyleKind::Heading(level)) => {
                self.end_list();
                let text = paragraph.text.take_line();
                if level == 1 && self.first_h1.is_none() && !text.is_empty() {
                    self.first_h1 = Some(text.clone());
                }
                self.builder.heading(level, &text, None);
            }
            kind => {
                let (style_num, numbered) = match kind {
                    Some(StyleKind::List { num_id, numbered }) => (
                        Some(num_id.unwrap_or_else(|| format!("style:{numbered}"))),
                        numbered,
                    ),
                    _ => (None, false),
                };
                let list = match (&paragraph.num, style_num) {
                    (Some((id, level)), _) if !id.is_empty() && id != "0" => Some((
                        id.clone(),
                        *level,
                        self.numbering.is_ordered(id, *level).unwrap_or(numbered),
                    )),
                    (Some((id, _)), _) if id == "0" => None,
                    (_, Some(id)) => {
                        let ordered = self.numbering.is_ordered(&id, 0).unwrap_or(numbered);
                        Some((id, 0, ordered))
                    }
                    _ => None,
                };
                match list {
                    Some((id, level, ordered)) => {
                        let text = paragraph.text.take_line();
                        if text.is_empty() {
                            return;
                        }
                        self.counters.retain(|(i, l), _| *i != id || *l <= level);
                        let counter = self.counters.entry((id, level)).or_insert(0);
                        *counter += 1;
                        let marker = if ordered {
                            format!("{counter}. ")
                        } else {
                            "- ".to_owned()
                        };
                        let indent = "  ".repeat(level.min(8) as usize);
                        self.list_lines.push(format!("{indent}{marker}{text}"));
                    }
                    None => {
                        self.end_list();
                        for text in paragraph.text.take_paragraphs() {
                            self.builder.paragraph(&text);
                        }
                    }
                }
            }
        }
    }

    fn end_list(&mut self) {
        if !self.list_lines.is_empty() {
            let lines = std::mem::take(&mut self.list_lines);
            self.builder.paragraph(&lines.join("\n"));
        }
    }
}

fn render_docx_table(table: Table) -> String {
    let mut rows: Vec<Vec<Cell>> = table
        .rows
        .into_iter()
        .map(|row| {
            let all_bold = row.iter().all(|(text, _, bold)| *bold || text.is_empty());
            place_cells(
                row.into_iter()
                    .map(|(text, span, bold)| (text, span, bold && !all_bold)),
            )
        })
        .collect();
    let header_row = table.header_flagged || (table.first_row_look && rows.len() >= 2);
    let header = if header_row && !rows.is_empty() {
        let mut header = rows.remove(0);
        header.iter_mut().for_each(|c| c.is_header = true);
        Some(header)
    } else {
        None
    };
    render_table(None, header.as_deref(), &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_zip(files: &[(&str, &str)]) -> Vec<u8> {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (*n, c.as_bytes())).collect();
        crate::testing::zip(&files)
    }

    const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
  <w:style w:type="paragraph" w:default="1" w:styleId="Standard"><w:name w:val="Normal"/></w:style>
  <w:style w:type="paragraph" w:styleId="Titel"><w:name w:val="Title"/></w:style>
  <w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
  <w:style w:type="paragraph" w:styleId="berschrift2"><w:name w:val="heading 2"/></w:style>
  <w:style w:type="paragraph" w:styleId="Listennummer"><w:name w:val="List Number"/></w:style>
  <w:style w:type="paragraph" w:styleId="FAQ"><w:name w:val="FAQ question"/><w:basedOn w:val="berschrift2"/></w:style>
</w:styles>"#;

    const NUMBERING: &str = r#"<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
  <w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum>
  <w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/></w:lvl></w:abstractNum>
  <w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
  <w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
</w:numbering>"#;

    const RELS: &str = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://acme.test/returns#form" TargetMode="External"/>
</Relationships>"#;

    fn paragraph(style: Option<&str>, num: Option<&str>, text: &str) -> String {
        let mut ppr = String::new();
        if let Some(style) = style {
            ppr.push_str(&format!(r#"<w:pStyle w:val="{style}"/>"#));
        }
        if let Some(num) = num {
            ppr.push_str(&format!(
                r#"<w:numPr><w:ilvl w:val="0"/><w:numId w:val="{num}"/></w:numPr>"#
            ));
        }
        format!(
            r#"<w:p><w:pPr>{ppr}</w:pPr><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#
        )
    }

    fn docx(body: &str) -> Vec<u8> {
        let document = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
  xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"
  xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>{body}<w:sectPr/></w:body></w:document>"#
        );
        test_zip(&[
            ("[Content_Types].xml", "<Types/>"),
            ("word/document.xml", &document),
            ("word/styles.xml", STYLES),
            ("word/numbering.xml", NUMBERING),
            ("word/_rels/document.xml.rels", RELS),
        ])
    }

    #[test]
    fn a_docx_gives_headings_paragraphs_lists_and_tables() {
        let body = [
            paragraph(Some("Titel"), None, "Customer handbook"),
            paragraph(None, None, "Welcome &amp; thanks."),
            paragraph(Some("berschrift1"), None, "Returns"),
            r#"<w:p><w:r><w:t xml:space="preserve">Send it </w:t></w:r><w:hyperlink w:history="1" r:id="rId9"><w:r><w:t>with this form</w:t></w:r></w:hyperlink><w:r><w:tab/><w:t>within</w:t></w:r><w:r><w:br/><w:t>30 days.</w:t></w:r><w:del><w:r><w:delText>sixty</w:delText></w:r></w:del></w:p>"#.to_owned(),
            paragraph(None, Some("2"), "Pack the item"),
            paragraph(None, Some("2"), "Print the label"),
            paragraph(None, Some("1"), "Keep the receipt"),
            paragraph(Some("Listennummer"), None, "Call us"),
            paragraph(Some("FAQ"), None, "Who pays shipping?"),
            r#"<w:tbl><w:tblPr><w:tblLook w:val="04A0" w:firstRow="1"/></w:tblPr>
                <w:tr><w:tc><w:p><w:r><w:t>Country</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Cost</w:t></w:r></w:p></w:tc></w:tr>
                <w:tr><w:tc><w:p><w:r><w:t>France</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Free</w:t></w:r></w:p></w:tc></w:tr>
                <w:tr><w:tc><w:p><w:r><w:t>Spain</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>5 €</w:t></w:r></w:p></w:tc></w:tr>
              </w:tbl>"#.to_owned(),
        ]
        .concat();
        let doc = extract(&docx(&body)).unwrap();
        assert_eq!(doc.title, "Customer handbook");
        let got: Vec<(Vec<String>, Option<String>, String)> = doc
            .sections
            .into_iter()
            .map(|s| (s.headings, s.anchor, s.text))
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (s(&[]), None, "Welcome & thanks.".to_owned()),
                (
                    s(&["Returns"]),
                    Some("returns".to_owned()),
                    "Send it with this form within\n30 days.\n\n1. Pack the item\n2. Print the label\n- Keep the receipt\n1. Call us".to_owned()
                ),
                (
                    s(&["Returns", "Who pays shipping?"]),
                    Some("who-pays-shipping".to_owned()),
                    "Country: France; Cost: Free\nCountry: Spain; Cost: 5 €".to_owned()
                ),
            ]
        );
        assert_eq!(doc.links, ["https://acme.test/returns"]);
    }

    #[test]
    fn a_corrupt_docx_says_so() {
        assert!(matches!(extract(b"%PDF-1.4"), Err(ExtractError::NotDocx)));
        let err = extract(b"PK\x03\x04 truncated").unwrap_err();
        assert!(
            err.to_string().starts_with("the DOCX is corrupt: "),
            "{err}"
        );
        let other_zip = test_zip(&[("readme.txt", "hello")]);
        assert!(matches!(extract(&other_zip), Err(ExtractError::NotDocx)));
        let broken_xml = test_zip(&[("word/document.xml", "<w:document><w:body><w:p>")]);
        assert!(matches!(
            extract(&broken_xml),
            Err(ExtractError::DocxCorrupt(_) | ExtractError::DocxNoText)
        ));
    }

    #[test]
    fn an_empty_docx_has_no_text() {
        assert!(matches!(
            extract(&docx(&paragraph(None, None, " "))),
            Err(ExtractError::DocxNoText)
        ));
    }
}
