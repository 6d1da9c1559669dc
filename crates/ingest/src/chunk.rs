//! Splitting a document into passages, the unit of retrieval.
//!
//! A passage is a run of whole paragraphs under one heading, about [`TARGET_CHARS`] long: long
//! enough to carry an answer with its context, short enough that a search hit points at the
//! answer rather than at a whole page. A heading change always starts a new passage, so each
//! passage knows its heading path ("Shipping › International") and the heading's anchor. A
//! paragraph longer than [`MAX_CHARS`] is cut between sentences. Markdown-style headings (`# …`)
//! are recognised in plain text; HTML extraction will hand over its headings the same way.

use unicode_segmentation::UnicodeSegmentation;

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
    headings: Vec<(usize, String)>,
    current: String,
}

impl Builder {
    fn heading_path(&self) -> String {
        self.headings
            .iter()
            .map(|(_, h)| h.as_str())
            .collect::<Vec<_>>()
            .join(" › ")
    }

    fn flush(&mut self) {
        let text = std::mem::take(&mut self.current);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.passages.push(Passage {
            heading: self.heading_path(),
            anchor: self
                .headings
                .last()
                .map(|(_, h)| slug(h))
                .filter(|s| !s.is_empty()),
            text: text.to_owned(),
        });
    }

    fn heading(&mut self, level: usize, text: &str) {
        self.flush();
        self.headings.retain(|(l, _)| *l < level);
        self.headings.push((level, text.to_owned()));
    }

    fn paragraph(&mut self, paragraph: &str) {
        let len = paragraph.chars().count();
        if len > MAX_CHARS {
            for piece in split_long(paragraph) {
                self.paragraph(&piece);
            }
            return;
        }
        let current = self.current.chars().count();
        if current > 0 && current + 2 + len > TARGET_CHARS {
            self.flush();
        }
        if !self.current.is_empty() {
            self.current.push_str("\n\n");
        }
        self.current.push_str(paragraph);
    }
}

/// Cuts a long paragraph between sentences into pieces of at most [`MAX_CHARS`]; a sentence longer
/// than that is cut between words.
fn split_long(paragraph: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for sentence in paragraph.split_sentence_bounds() {
        if piece.chars().count() + sentence.chars().count() > TARGET_CHARS
            && !piece.trim().is_empty()
        {
            pieces.push(std::mem::take(&mut piece).trim().to_owned());
        }
        if sentence.chars().count() > MAX_CHARS {
            for word in sentence.split_word_bounds() {
                if piece.chars().count() + word.chars().count() > MAX_CHARS {
                    pieces.push(std::mem::take(&mut piece).trim().to_owned());
                }
                piece.push_str(word);
            }
        } else {
            piece.push_str(sentence);
        }
    }
    if !piece.trim().is_empty() {
        pieces.push(piece.trim().to_owned());
    }
    pieces
}

/// Splits text into passages. Blank lines separate paragraphs; lines within a paragraph are
/// joined with spaces, except list items, which keep their own lines.
pub fn chunk_text(text: &str) -> Vec<Passage> {
    let mut builder = Builder {
        passages: Vec::new(),
        headings: Vec::new(),
        current: String::new(),
    };
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
            builder.heading(level, heading);
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
}
