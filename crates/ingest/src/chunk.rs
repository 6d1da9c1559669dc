//! Splitting a document into passages, the unit of retrieval.
//!
//! A passage is a run of whole paragraphs under one heading, about [`TARGET_CHARS`] long: long
//! enough to carry an answer with its context, short enough that a search hit points at the
//! answer rather than at a whole page. A heading change always starts a new passage, so each
//! passage knows its heading path ("Shipping › International") and the heading's anchor. A
//! paragraph longer than [`MAX_CHARS`] is cut between sentences. Markdown-style headings (`# …`)
//! are recognised in plain text by [`chunk_text`]; the extractors hand over their headings as the
//! sections of a [`Document`], which [`chunk_document`] packs with the same rules.

use unicode_segmentation::UnicodeSegmentation;

use crate::document::Document;

/// Joins the headings of a passage's heading path.
pub const HEADING_SEPARATOR: &str = " › ";

/// Preferred passage length, in characters.
pub const TARGET_CHARS: usize = 900;
/// Longest passage, in characters (a single sentence longer than this is cut at a word).
pub const MAX_CHARS: usize = 1_500;

/// One passage of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// Headings above the passage, outermost first, joined by " › ".
    pub heading: String,
    /// Anchor of the nearest heading (`shipping-costs`), if any.
    pub anchor: Option<String>,
    pub text: String,
}

/// The anchor a heading gets: lower-case words joined by hyphens, as most static site generators
/// make them.
pub fn slug(heading: &str) -> String {
    let mut slug = String::new();
    for word in heading.unicode_words() {
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.extend(word.chars().flat_map(char::to_lowercase));
    }
    slug
}

fn markdown_heading(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    let level = trimmed.bytes().take_while(|&b| b == b'#').count();
    if (1..=6).contains(&level) {
        let rest = &trimmed[level..];
        if rest.starts_with(' ') && !rest.trim().is_empty() {
            return Some((level, rest.trim().trim_end_matches('#').trim()));
        }
    }
    None
}

struct Builder {
    passages: Vec<Passage>,
    /// Heading path of the passage being built.
    heading: String,
    anchor: Option<String>,
    current: String,
    /// Characters in `current`.
    current_chars: usize,
}

impl Builder {
    fn new() -> Self {
        Builder {
            passages: Vec::new(),
            heading: String::new(),
            anchor: None,
            current: String::new(),
            current_chars: 0,
        }
    }

    fn flush(&mut self) {
        let text = std::mem::take(&mut self.current);
        self.current_chars = 0;
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.passages.push(Passage {
            heading: self.heading.clone(),
            anchor: self.anchor.clone(),
            text: text.to_owned(),
        });
    }

    /// Ends the current passage and starts one under a new heading path.
    fn start(&mut self, heading: String, anchor: Option<String>) {
        self.flush();
        self.heading = heading;
        self.anchor = anchor;
    }

    /// Adds a paragraph, cut first into pieces of at most [`MAX_CHARS`] when it is longer.
    fn paragraph(&mut self, paragraph: &str) {
        let len = paragraph.chars().count();
        if len > MAX_CHARS {
            for piece in split_long(paragraph) {
                let len = piece.chars().count();
                self.push_paragraph(&piece, len);
            }
        } else {
            self.push_paragraph(paragraph, len);
        }
    }

    /// Packs a paragraph of at most [`MAX_CHARS`] into the current passage, or starts the next
    /// one when it would pass [`TARGET_CHARS`].
    fn push_paragraph(&mut self, paragraph: &str, len: usize) {
        debug_assert!(len <= MAX_CHARS, "a piece of {len} characters");
        if self.current_chars > 0 && self.current_chars + 2 + len > TARGET_CHARS {
            self.flush();
        }
        if !self.current.is_empty() {
            self.current.push_str("\n\n");
            self.current_chars += 2;
        }
        self.current.push_str(paragraph);
        self.current_chars += len;
    }
}

/// Pieces of text being cut to a length, counted in characters as they are added (counting a
/// piece again for every word would be quadratic on a long paragraph).
#[derive(Default)]
struct Pieces {
    done: Vec<String>,
    piece: String,
    chars: usize,
}

impl Pieces {
    fn push(&mut self, text: &str, chars: usize) {
        self.piece.push_str(text);
        self.chars += chars;
    }

    /// Ends the current piece (trimmed; a piece of blanks is dropped).
    fn cut(&mut self) {
        let piece = std::mem::take(&mut self.piece);
        self.chars = 0;
        let piece = piece.trim();
        if !piece.is_empty() {
            self.done.push(piece.to_owned());
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.cut();
        self.done
    }
}

/// Cuts a long paragraph into pieces of at most [`MAX_CHARS`]: a paragraph of several lines (a
/// list, a table) between lines, packed up to [`TARGET_CHARS`]; otherwise between sentences; a
/// sentence longer than that between words, and a word longer than that (a data URI, a minified
/// script, a long token) between characters. Every step is a single pass, so any input ends.
fn split_long(paragraph: &str) -> Vec<String> {
    if !paragraph.contains('\n') {
        return split_prose(paragraph);
    }
    let mut pieces = Pieces::default();
    for line in paragraph.lines().filter(|l| !l.trim().is_empty()) {
        let line_chars = line.chars().count();
        let cut_line;
        let parts: Vec<(&str, usize)> = if line_chars > MAX_CHARS {
            cut_line = split_prose(line);
            cut_line
                .iter()
                .map(|p| (p.as_str(), p.chars().count()))
                .collect()
        } else {
            vec![(line, line_chars)]
        };
        for (part, chars) in parts {
            if pieces.chars > 0 && pieces.chars + 1 + chars > TARGET_CHARS {
                pieces.cut();
            }
            if pieces.chars > 0 {
                pieces.push("\n", 1);
            }
            pieces.push(part, chars);
        }
    }
    pieces.finish()
}

/// Cuts text without line breaks between sentences, packed up to [`TARGET_CHARS`]; a sentence
/// longer than [`MAX_CHARS`] between words, and a word longer than that between characters.
fn split_prose(text: &str) -> Vec<String> {
    let mut pieces = Pieces::default();
    for sentence in text.split_sentence_bounds() {
        let chars = sentence.chars().count();
        if pieces.chars + chars > TARGET_CHARS && !pieces.piece.trim().is_empty() {
            pieces.cut();
        }
        if pieces.chars + chars <= MAX_CHARS {
            pieces.push(sentence, chars);
            continue;
        }
        for word in sentence.split_word_bounds() {
            let chars = word.chars().count();
            if pieces.chars + chars > MAX_CHARS {
                pieces.cut();
            }
            if chars <= MAX_CHARS {
                pieces.push(word, chars);
                continue;
            }
            let mut rest = word;
            while !rest.is_empty() {
                let room = MAX_CHARS - pieces.chars;
                let end = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
                let (head, tail) = rest.split_at(end);
                pieces.push(head, head.chars().count());
                if !tail.is_empty() {
                    pieces.cut();
                }
                rest = tail;
            }
        }
    }
    pieces.finish()
}

/// Splits a [`Document`] into passages with the same size rules as [`chunk_text`]: each section's
/// paragraphs are packed up to [`TARGET_CHARS`], a paragraph longer than [`MAX_CHARS`] is cut
/// between lines (lists, tables) or sentences. A new heading path or anchor starts a new passage;
/// consecutive sections with the same heading path and anchor are packed together.
pub fn chunk_document(doc: &Document) -> Vec<Passage> {
    let mut builder = Builder::new();
    for section in &doc.sections {
        let heading = section.headings.join(HEADING_SEPARATOR);
        if heading != builder.heading || section.anchor != builder.anchor {
            builder.start(heading, section.anchor.clone());
        }
        for paragraph in section.text.split("\n\n") {
            let paragraph = paragraph.trim_matches('\n');
            if !paragraph.trim().is_empty() {
                builder.paragraph(paragraph);
            }
        }
    }
    builder.flush();
    builder.passages
}

/// Splits text into passages. Blank lines separate paragraphs; lines within a paragraph are
/// joined with spaces, except list items, which keep their own lines.
pub fn chunk_text(text: &str) -> Vec<Passage> {
    let mut builder = Builder::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let emit = |builder: &mut Builder, lines: &mut Vec<&str>| {
        if lines.is_empty() {
            return;
        }
        let mut joined = String::new();
        for line in lines.drain(..) {
            let item = line.trim_start();
            let is_item = item.starts_with("- ")
                || item.starts_with("* ")
                || item.split_once(". ").is_some_and(|(n, _)| {
                    !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit())
                });
            if !joined.is_empty() {
                joined.push(if is_item { '\n' } else { ' ' });
            }
            joined.push_str(line.trim());
        }
        builder.paragraph(&joined);
    };
    for line in text.lines() {
        if let Some((level, heading)) = markdown_heading(line) {
            emit(&mut builder, &mut paragraph);
            headings.retain(|(l, _)| *l < level);
            headings.push((level, heading.to_owned()));
            let path = headings
                .iter()
                .map(|(_, h)| h.as_str())
                .collect::<Vec<_>>()
                .join(HEADING_SEPARATOR);
            builder.start(path, Some(slug(heading)).filter(|s| !s.is_empty()));
        } else if line.trim().is_empty() {
            emit(&mut builder, &mut paragraph);
        } else {
            paragraph.push(line);
        }
    }
    emit(&mut builder, &mut paragraph);
    builder.flush();
    builder.passages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Section;

    #[test]
    fn short_text_is_one_passage() {
        let passages = chunk_text("We are open Monday to Friday.\nNine to five.");
        assert_eq!(passages.len(), 1);
        assert_eq!(
            passages[0].text,
            "We are open Monday to Friday. Nine to five."
        );
        assert_eq!(passages[0].heading, "");
        assert_eq!(passages[0].anchor, None);
    }

    #[test]
    fn headings_start_passages_and_give_their_path() {
        let text = "# Shipping\n\nWe ship everywhere.\n\n## Costs\n\nShipping is free over 50 euros.\n\n# Returns\n\nThirty days.";
        let passages = chunk_text(text);
        assert_eq!(passages.len(), 3);
        assert_eq!(passages[1].heading, "Shipping › Costs");
        assert_eq!(passages[1].anchor.as_deref(), Some("costs"));
        assert_eq!(passages[2].heading, "Returns");
        assert_eq!(passages[2].text, "Thirty days.");
    }

    #[test]
    fn paragraphs_are_packed_up_to_the_target_length() {
        let paragraph = "Sentence about something useful here. ".repeat(5);
        let text = [paragraph.trim(); 12].join("\n\n");
        let passages = chunk_text(&text);
        assert!(passages.len() > 1);
        for p in &passages {
            assert!(p.text.chars().count() <= TARGET_CHARS, "{}", p.text.len());
        }
        let total: usize = passages
            .iter()
            .map(|p| p.text.matches("Sentence").count())
            .sum();
        assert_eq!(total, 60, "no sentence is lost or repeated");
    }

    #[test]
    fn a_huge_paragraph_is_cut_between_sentences() {
        let text = "This is one sentence of the paragraph. ".repeat(100);
        let passages = chunk_text(&text);
        assert!(passages.len() >= 3);
        for p in &passages {
            assert!(p.text.chars().count() <= MAX_CHARS);
            assert!(
                p.text.ends_with('.'),
                "cut mid-sentence: {:?}",
                &p.text[p.text.len() - 20..]
            );
        }
    }

    #[test]
    fn list_items_keep_their_own_lines() {
        let passages =
            chunk_text("To return an item:\n1. Log in\n2. Open your orders\n- or call us");
        assert_eq!(
            passages[0].text,
            "To return an item:\n1. Log in\n2. Open your orders\n- or call us"
        );
    }

    #[test]
    fn slugs_look_like_static_site_anchors() {
        assert_eq!(slug("Shipping & Costs (EU)"), "shipping-costs-eu");
    }

    fn section(headings: &[&str], anchor: Option<&str>, text: &str) -> Section {
        Section {
            headings: headings.iter().map(|h| h.to_string()).collect(),
            anchor: anchor.map(str::to_owned),
            text: text.to_owned(),
        }
    }

    #[test]
    fn document_sections_become_passages_with_their_heading_path() {
        let doc = Document {
            sections: vec![
                section(&[], None, "Welcome."),
                section(
                    &["Help", "Shipping"],
                    Some("ship"),
                    "We ship.\n\n- by post\n- by courier",
                ),
                section(&["Help", "Returns"], Some("returns"), "Thirty days."),
            ],
            ..Document::default()
        };
        let passages = chunk_document(&doc);
        assert_eq!(
            passages,
            [
                Passage {
                    heading: String::new(),
                    anchor: None,
                    text: "Welcome.".into()
                },
                Passage {
                    heading: "Help › Shipping".into(),
                    anchor: Some("ship".into()),
                    text: "We ship.\n\n- by post\n- by courier".into()
                },
                Passage {
                    heading: "Help › Returns".into(),
                    anchor: Some("returns".into()),
                    text: "Thirty days.".into()
                },
            ]
        );
    }

    #[test]
    fn short_sections_with_the_same_heading_path_are_merged() {
        let doc = Document {
            sections: vec![
                section(&["FAQ"], Some("faq"), "Question one?"),
                section(&["FAQ"], Some("faq"), "Question two?"),
                section(&[], Some("page=2"), "Page two."),
                section(&[], Some("page=3"), "Page three."),
            ],
            ..Document::default()
        };
        let passages = chunk_document(&doc);
        assert_eq!(passages.len(), 3);
        assert_eq!(passages[0].text, "Question one?\n\nQuestion two?");
        assert_eq!(passages[2].anchor.as_deref(), Some("page=3"));
    }

    #[test]
    fn a_long_section_is_split_like_text() {
        let paragraph = "Sentence about something useful here. ".repeat(5);
        let text = [paragraph.trim(); 12].join("\n\n");
        let doc = Document {
            sections: vec![section(&["Guide"], Some("guide"), &text)],
            ..Document::default()
        };
        let passages = chunk_document(&doc);
        assert_eq!(
            passages.iter().map(|p| &p.text).collect::<Vec<_>>(),
            chunk_text(&text)
                .iter()
                .map(|p| &p.text)
                .collect::<Vec<_>>()
        );
        assert!(passages.len() > 1);
        assert!(passages.iter().all(|p| p.heading == "Guide"));
    }

    #[test]
    fn a_long_list_is_cut_between_items() {
        let list: Vec<String> = (1..=60)
            .map(|i| format!("{i}. Step number {i} of the assembly instructions"))
            .collect();
        let doc = Document {
            sections: vec![section(&[], None, &list.join("\n"))],
            ..Document::default()
        };
        let passages = chunk_document(&doc);
        assert!(passages.len() > 1);
        let lines: Vec<&str> = passages.iter().flat_map(|p| p.text.lines()).collect();
        assert_eq!(lines, list.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(passages
            .iter()
            .all(|p| p.text.chars().count() <= TARGET_CHARS));
    }
}
