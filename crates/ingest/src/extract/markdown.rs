//! Markdown, parsed with `pulldown-cmark` (CommonMark plus GitHub tables, task lists,
//! strikethrough, footnotes, heading ids `{#id}` and YAML front matter).
//!
//! A real parser rather than line matching, so that a `# comment` inside a code fence is not a
//! heading, `[text](url)` reads as "text", `**bold**` as "bold", and tables come out as rows like
//! HTML tables do. The text follows the conventions of [`crate::document`].

use std::collections::HashSet;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::document::{
    detect_language, place_cells, render_table, Document, Inline, SectionBuilder,
};

struct ListState {
    ordered: bool,
    next: u64,
}

struct Item {
    text: Inline,
    depth: usize,
    marker: String,
    marker_used: bool,
}

#[derive(Default)]
struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: Inline,
}

#[derive(Default)]
struct State {
    builder: SectionBuilder,
    inline: Inline,
    heading: Option<(u8, Option<String>, Inline)>,
    lists: Vec<ListState>,
    items: Vec<Item>,
    list_lines: Vec<String>,
    table: Option<Table>,
    code: Option<String>,
    metadata: Option<String>,
    image_depth: usize,
    first_h1: Option<String>,
    links: Vec<String>,
    seen: HashSet<String>,
}

impl State {
    /// Where inline text goes now.
    fn sink(&mut self) -> &mut Inline {
        if let Some((_, _, text)) = self.heading.as_mut() {
            return text;
        }
        if let Some(table) = self.table.as_mut() {
            return &mut table.cell;
        }
        if let Some(item) = self.items.last_mut() {
            return &mut item.text;
        }
        &mut self.inline
    }

    fn flush(&mut self) {
        for paragraph in self.inline.take_paragraphs() {
            self.builder.paragraph(&paragraph);
        }
    }

    /// Writes the innermost item's text as a list line.
    fn item_line(&mut self) {
        let Some(item) = self.items.last_mut() else {
            return;
        };
        let text = item.text.take_line();
        if text.is_empty() {
            return;
        }
        let indent = "  ".repeat(item.depth);
        let line = if item.marker_used {
            format!("{indent}  {text}")
        } else {
            item.marker_used = true;
            format!("{indent}{}{text}", item.marker)
        };
        self.list_lines.push(line);
    }

    fn text(&mut self, text: &str) {
        if self.image_depth > 0 {
            return;
        }
        if let Some(metadata) = self.metadata.as_mut() {
            metadata.push_str(text);
        } else if let Some(code) = self.code.as_mut() {
            code.push_str(text);
        } else {
            self.sink().text(text);
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Heading { level, id, .. } => {
                self.flush();
                self.heading = Some((
                    level_number(level),
                    id.map(|id| id.to_string()),
                    Inline::default(),
                ));
            }
            Tag::CodeBlock(_) => {
                if self.items.is_empty() {
                    self.flush();
                }
                self.code = Some(String::new());
            }
            Tag::List(start) => {
                if self.lists.is_empty() {
                    self.flush();
                } else {
                    self.item_line();
                }
                self.lists.push(ListState {
                    ordered: start.is_some(),
                    next: start.unwrap_or(1),
                });
            }
            Tag::Item => {
                let depth = self.lists.len().saturating_sub(1);
                let marker = match self.lists.last_mut() {
                    Some(list) if list.ordered => {
                        list.next += 1;
                        format!("{}. ", list.next - 1)
                    }
                    _ => "- ".to_owned(),
                };
                self.items.push(Item {
                    text: Inline::default(),
                    depth,
                    marker,
                    marker_used: false,
                });
            }
            Tag::Table(_) => {
                self.flush();
                self.table = Some(Table::default());
            }
            Tag::Image { .. } => self.image_depth += 1,
            Tag::Link { dest_url, .. } => {
                let url = dest_url.trim();
                if let Ok(mut url) = url::Url::parse(url) {
                    if matches!(url.scheme(), "http" | "https") {
                        url.set_fragment(None);
                        let url = String::from(url);
                        if self.seen.insert(url.clone()) {
                            self.links.push(url);
                        }
                    }
                }
            }
            Tag::MetadataBlock(_) => self.metadata = Some(String::new()),
            Tag::BlockQuote(_) | Tag::FootnoteDefinition(_) | Tag::HtmlBlock => self.flush(),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                if let Some((level, id, mut text)) = self.heading.take() {
                    let text = text.take_line();
                    if level == 1 && self.first_h1.is_none() && !text.is_empty() {
                        self.first_h1 = Some(text.clone());
                    }
                    self.builder.heading(level, &text, id.as_deref());
                }
            }
            TagEnd::Paragraph => {
                if self.table.is_some() || self.heading.is_some() {
                } else if let Some(item) = self.items.last_mut() {
                    item.text.space();
                } else {
                    self.flush();
                }
            }
            TagEnd::CodeBlock => {
                let mut raw = Inline::default();
                raw.raw(&self.code.take().unwrap_or_default());
                let code = raw.take_raw();
                if self.items.is_empty() {
                    self.builder.paragraph(&code);
                } else {
                    self.sink().text(&code);
                }
            }
            TagEnd::Item => {
                self.item_line();
                self.items.pop();
            }
            TagEnd::List(_) => {
                self.lists.pop();
                if self.lists.is_empty() {
                    let lines = std::mem::take(&mut self.list_lines);
                    self.builder.paragraph(&lines.join("\n"));
                }
            }
            TagEnd::TableCell => {
                if let Some(table) = self.table.as_mut() {
                    let cell = table.cell.take_line();
                    table.row.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(table) = self.table.as_mut() {
                    table.head = std::mem::take(&mut table.row);
                }
            }
            TagEnd::TableRow => {
                if let Some(table) = self.table.as_mut() {
                    let row = std::mem::take(&mut table.row);
                    table.rows.push(row);
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    let cells = |row: Vec<String>, header: bool| {
                        place_cells(row.into_iter().map(|text| (text, 1, header)))
                    };
                    let head = cells(table.head, true);
                    let header = head.iter().any(|c| !c.text.is_empty()).then_some(&head[..]);
                    let rows: Vec<_> = table.rows.into_iter().map(|r| cells(r, false)).collect();
                    self.builder.paragraph(&render_table(None, header, &rows));
                }
            }
            TagEnd::Image => self.image_depth = self.image_depth.saturating_sub(1),
            TagEnd::MetadataBlock(_) => {}
            TagEnd::BlockQuote(_) | TagEnd::FootnoteDefinition | TagEnd::HtmlBlock => self.flush(),
            _ => {}
        }
    }
}

fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// `title:` from YAML front matter.
fn front_matter_title(metadata: &str) -> Option<String> {
    metadata.lines().find_map(|line| {
        let value = line.strip_prefix("title:")?.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value)
            .trim();
        (!value.is_empty()).then(|| value.to_owned())
    })
}

pub(super) fn extract(text: &str) -> Document {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut state = State::default();
    let mut metadata = String::new();
    for event in Parser::new_ext(text, options) {
        match event {
            Event::Start(tag) => state.start(tag),
            Event::End(TagEnd::MetadataBlock(kind)) => {
                metadata = state.metadata.take().unwrap_or_default();
                state.end(TagEnd::MetadataBlock(kind));
            }
            Event::End(tag) => state.end(tag),
            Event::Text(text) => state.text(&text),
            Event::Code(code) | Event::InlineMath(code) | Event::DisplayMath(code) => {
                state.text(&code)
            }
            Event::SoftBreak => state.text(" "),
            Event::HardBreak => {
                if state.heading.is_none() && state.table.is_none() && state.items.is_empty() {
                    state.inline.line_break();
                } else {
                    state.sink().space();
                }
            }
            Event::Rule => state.flush(),
            Event::TaskListMarker(done) => state.text(if done { "[x] " } else { "[ ] " }),
            Event::FootnoteReference(_) | Event::Html(_) | Event::InlineHtml(_) => {}
        }
    }
    state.flush();
    let title = front_matter_title(&metadata)
        .or(state.first_h1.take())
        .unwrap_or_default();
    let mut doc = Document {
        title,
        language: None,
        sections: state.builder.finish(),
        canonical: None,
        links: state.links,
    };
    doc.language = detect_language(&doc.full_text());
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_headings_become_sections() {
        let doc = extract(
            "Intro line.\n\n# Shipping\n\nWe ship **everywhere** — see [our map](https://acme.test/map#eu).\n\n\
             ## Costs {#shipping-costs}\n\nFree over 50 €.\nOtherwise 4.90 €.\n\n# Returns\n\nThirty days.",
        );
        let got: Vec<(Vec<String>, Option<String>, String)> = doc
            .sections
            .into_iter()
            .map(|s| (s.headings, s.anchor, s.text))
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (s(&[]), None, "Intro line.".to_owned()),
                (
                    s(&["Shipping"]),
                    Some("shipping".to_owned()),
                    "We ship everywhere — see our map.".to_owned()
                ),
                (
                    s(&["Shipping", "Costs"]),
                    Some("shipping-costs".to_owned()),
                    "Free over 50 €. Otherwise 4.90 €.".to_owned()
                ),
                (
                    s(&["Returns"]),
                    Some("returns".to_owned()),
                    "Thirty days.".to_owned()
                ),
            ]
        );
        assert_eq!(doc.title, "Shipping");
        assert_eq!(doc.links, ["https://acme.test/map"]);
    }

    #[test]
    fn a_hash_inside_a_code_fence_is_not_a_heading() {
        let doc = extract("# Setup\n\n```sh\n# install\n  make install\n```\n\nDone.");
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].text, "# install\n  make install\n\nDone.");
    }

    #[test]
    fn markdown_lists_and_tables_follow_the_text_conventions() {
        let doc = extract(
            "Steps:\n\n1. Log in\n2. Open *orders*\n   - pick one\n   - [ ] or none\n\n\
             | Plan | Price |\n|------|-------|\n| Basic | 10 € |\n| Pro | |\n",
        );
        assert_eq!(
            doc.sections[0].text,
            "Steps:\n\n1. Log in\n2. Open orders\n  - pick one\n  - [ ] or none\n\nPlan: Basic; Price: 10 €\nPlan: Pro"
        );
    }

    #[test]
    fn front_matter_gives_the_title() {
        let doc =
            extract("---\ntitle: \"Returns policy\"\nlang: en\n---\n\n# Returns\n\nThirty days.");
        assert_eq!(doc.title, "Returns policy");
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].headings, ["Returns"]);
    }
}
