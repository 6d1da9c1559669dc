//! Main-content extraction from HTML.
//!
//! Parsing is html5ever's (through `scraper`), so broken markup is repaired exactly as a browser
//! would and entities are decoded. What counts as content is decided here, by hand, because a
//! support bot needs both things the readability-style crates trade away: the heading structure
//! (for passage headings and `#anchor` links to the exact place) and a strict removal of
//! boilerplate (a cookie banner or a menu quoted as an answer is worse than no answer).
//!
//! The rules, in order:
//!
//! 1. The content root is the first visible `<main>` or `[role=main]`; else the `<article>` when
//!    there is one (or one that holds at least two thirds of all articles' text); else `<body>`.
//!    If the root yields no text, `<body>` is used instead.
//! 2. Inside it, these are skipped with everything they hold: scripts, styles, `noscript`,
//!    `template`, `svg`, `iframe`, media; form controls and their labels (the `form` itself is
//!    kept: some sites wrap the whole page in one); buttons, except an accordion's (one with
//!    `aria-controls`, `aria-expanded` or `data-toggle`, or whose text is a question); `nav`;
//!    page-level `header` (one inside an `article`, `main` or `section` is the article's own and
//!    is kept); `footer`; `aside` (except a call-out inside an `article`); `dialog`; elements with
//!    `role` navigation, banner, contentinfo, complementary, search, dialog or alertdialog;
//!    `hidden` elements and `aria-hidden="true"`, except `hidden="until-found"` and collapsed
//!    accordion panels (named by an `aria-controls`, or `role=region|tabpanel`), whose text a
//!    visitor can open; cookie/consent banners and pop-ups, found by the words of their `id`
//!    and `class` (cookie, consent, gdpr, banner, popup, modal, newsletter, subscribe …); and
//!    navigation that is not marked up as `nav`, found the same way (navbar, breadcrumb,
//!    pagination, toc, DocBook's `navheader`/`navfooter` "Prev | Up | Next" tables …).
//!    The last two rules are guessing, so they never remove an element that holds more than half
//!    of the root's text (a page wrapper set `aria-hidden` while a modal was open, a
//!    `content-banner` container), and a "banner" holding an `h1` is the page's hero, not an ad.
//!    Lists of links are skipped too, however much of the page they are: a list (`ul`, `ol`,
//!    `dl`) of at least [`LINK_LIST_ITEMS`] links whose text is at least [`LINK_LIST_SHARE`]
//!    link text is a table of contents, an index or a category page's listing. It leads to the
//!    answers and is never one (quoted, "How can I install…?, 5.5. Why do I get…" answers
//!    nothing); its links are still followed. A page that is only such lists yields no passages.
//! 3. Headings h1–h6 build the heading path, except an admonition's title ("Note" in DocBook's
//!    `div.note`, warnings, tips…), which labels its paragraph; paragraphs and other blocks
//!    become paragraphs; lists become one line per item; data tables become one line per row
//!    (layout tables — `role=presentation`, or holding headings or other tables — are read as
//!    ordinary blocks;
//!    a one-column table's header is said once above its rows); a defined term (`dt`) opens the
//!    first paragraph of its definition ("work_mem (integer): Sets the base maximum…"), so that
//!    no chunk boundary separates a setting, option or FAQ question from what it means;
//!    `pre` keeps its lines; `<br>` is a line break and two in a row end a paragraph.
//!    Whitespace is collapsed as a browser does, so inline elements join words exactly as they
//!    are displayed.
//!
//! Links, the title, the language and the canonical URL are read from the whole page.

use std::collections::HashSet;

use ego_tree::iter::Edge;
use ego_tree::NodeRef;
use scraper::{ElementRef, Html, Node, Selector};
use url::Url;

use crate::document::{
    collapse_whitespace, detect_language, language_tag, place_cells, render_table, Cell, Document,
    Inline, SectionBuilder,
};

pub(super) fn extract(source: &str, base_url: Option<&Url>) -> Document {
    let source = flatten_deep_nesting(source, MAX_PARSE_DEPTH);
    let page = Html::parse_document(&source);
    let base = effective_base(&page, base_url);

    let body = select_first(&page, "body").unwrap_or_else(|| page.root_element());
    let controlled = controlled_ids(&page);
    let mut sections = None;
    if let Some(root) = content_root(&page) {
        let found = Extractor::run(root, &controlled);
        if !found.is_empty() {
            sections = Some(found);
        }
    }
    let sections = sections.unwrap_or_else(|| Extractor::run(body, &controlled));

    let title = title(&page).unwrap_or_else(|| {
        select_first(&page, "h1")
            .map(|h1| {
                strip_permalinks(&collapse_whitespace(&h1.text().collect::<String>())).to_owned()
            })
            .unwrap_or_default()
    });

    let mut doc = Document {
        title,
        language: None,
        sections,
        canonical: canonical(&page, base.as_ref()),
        links: links(&page, base.as_ref()),
    };
    doc.language = page
        .root_element()
        .attr("lang")
        .or_else(|| page.root_element().attr("xml:lang"))
        .and_then(language_tag)
        .or_else(|| detect_language(&format!("{}\n\n{}", doc.title, doc.full_text())));
    doc
}

/// Deepest element nesting handed to the parser. html5ever checks the stack of open elements at
/// every start tag, so its time grows with the square of the depth: 100,000 nested `<div>`s took
/// 18 s (and minutes on a busy machine). No real page nests a tenth as deep.
const MAX_PARSE_DEPTH: usize = 512;

/// Elements that never have content.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];
/// Elements whose end tag may be left out: the next one of their kind closes them, so they do
/// not nest however many are left open.
const SELF_CLOSING_KIND: &[&str] = &[
    "html", "head", "body", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot",
    "option", "optgroup", "rb", "rt", "rp", "colgroup", "caption",
];
/// Elements whose content is text, not markup.
const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];

/// Removes the tags nested deeper than `max_depth` (each becomes a line break, so the words on
/// either side stay apart); their text stays where it was. A single pass over the markup that
/// knows comments, raw-text elements and quoted attributes; it only counts elements that nest
/// ([`VOID`] and [`SELF_CLOSING_KIND`] do not). Pages within the depth are returned as they are.
fn flatten_deep_nesting(source: &str, max_depth: usize) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let mut out: Option<String> = None;
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut copied = 0usize;
    let mut i = 0usize;
    while let Some(at) = source[i..].find('<').map(|at| i + at) {
        i = at + 1;
        if source[at..].starts_with("<!--") {
            i = source[at + 4..]
                .find("-->")
                .map_or(bytes.len(), |end| at + 4 + end + 3);
            continue;
        }
        let closing = bytes.get(at + 1) == Some(&b'/');
        let name_start = at + 1 + usize::from(closing);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = source[name_start..name_start + name_len].to_ascii_lowercase();
        let end = tag_end(bytes, name_start + name_len);
        i = end;
        if !closing && RAW_TEXT.contains(&name.as_str()) {
            let close = format!("</{name}");
            i = find_ascii_case_insensitive(&source[end..], &close)
                .map_or(bytes.len(), |p| end + p);
            continue;
        }
        if VOID.contains(&name.as_str()) || SELF_CLOSING_KIND.contains(&name.as_str()) {
            continue;
        }
        let self_closing = !closing && end >= 2 && bytes[end - 2] == b'/';
        let drop = if closing {
            depth = depth.saturating_sub(1);
            depth >= max_depth
        } else if self_closing {
            depth >= max_depth
        } else {
            depth += 1;
            depth > max_depth
        };
        if drop {
            let out = out.get_or_insert_with(|| String::with_capacity(source.len()));
            out.push_str(&source[copied..at]);
            out.push('\n');
            copied = end;
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(&source[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(source),
    }
}

/// The index just past the `>` that ends a tag whose name ends at `from` (quoted attribute
/// values may hold `>`), or the end of the input.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return i + 1,
            (None, _) => {}
        }
    }
    bytes.len()
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("a valid built-in selector")
}

fn select_first<'a>(page: &'a Html, css: &str) -> Option<ElementRef<'a>> {
    page.select(&selector(css)).next()
}

/// The URL relative links are resolved against: `<base href>` (itself resolved against the
/// page's URL), else the page's URL.
fn effective_base(page: &Html, base_url: Option<&Url>) -> Option<Url> {
    let declared = select_first(page, "base[href]").and_then(|b| b.attr("href"));
    match (declared, base_url) {
        (Some(href), Some(base)) => base.join(href.trim()).ok().or_else(|| Some(base.clone())),
        (Some(href), None) => Url::parse(href.trim()).ok(),
        (None, base) => base.cloned(),
    }
}

/// Resolves an href to an absolute http(s) URL without its fragment.
fn resolve(href: &str, base: Option<&Url>) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let mut url = match base {
        Some(base) => base.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_fragment(None);
    Some(url)
}

fn canonical(page: &Html, base: Option<&Url>) -> Option<String> {
    page.select(&selector("link[rel][href]"))
        .find(|link| {
            link.attr("rel").is_some_and(|rel| {
                rel.split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"))
            })
        })
        .and_then(|link| resolve(link.attr("href")?, base))
        .map(String::from)
}

fn links(page: &Html, base: Option<&Url>) -> Vec<String> {
    let mut seen = HashSet::new();
    page.select(&selector("a[href], area[href]"))
        .filter_map(|a| resolve(a.attr("href")?, base))
        .map(String::from)
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

/// The `<title>`, without a trailing " | Site name" (or " - ", " – ", " — ", " · ", " :: ")
/// when something is left before it.
fn title(page: &Html) -> Option<String> {
    let title = page.select(&selector("title")).find(|t| {
        !t.ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| a.value().name() == "svg")
    })?;
    let title = collapse_whitespace(&title.text().collect::<String>());
    if title.is_empty() {
        return None;
    }
    let cut = [" | ", " - ", " – ", " — ", " · ", " :: ", " • "]
        .iter()
        .filter_map(|sep| title.rfind(sep))
        .max();
    if let Some(cut) = cut {
        let kept = title[..cut].trim();
        if !kept.is_empty() {
            return Some(kept.to_owned());
        }
    }
    Some(title)
}

/// Chooses the element that holds the page's main content (rule 1 of the module docs).
fn content_root(page: &Html) -> Option<ElementRef<'_>> {
    let visible = |el: &ElementRef| !el.value().attrs().any(|(name, _)| name == "hidden");
    if let Some(main) = page
        .select(&selector("main, [role=main]"))
        .find(|el| visible(el))
    {
        return Some(main);
    }
    let articles: Vec<(ElementRef, usize)> = page
        .select(&selector("article"))
        .filter(|a| {
            visible(a)
                && !a.ancestors().filter_map(ElementRef::wrap).any(|anc| {
                    matches!(
                        anc.value().name(),
                        "article" | "nav" | "aside" | "header" | "footer"
                    )
                })
        })
        .map(|a| (a, text_len(*a)))
        .collect();
    let total: usize = articles.iter().map(|(_, len)| len).sum();
    let (best, len) = articles.into_iter().max_by_key(|(_, len)| *len)?;
    (len * 3 >= total * 2 && len > 0).then_some(best)
}

/// Length of the visible text below a node (text in scripts and styles does not count).
fn text_len(node: NodeRef<Node>) -> usize {
    node.descendants()
        .filter_map(|n| {
            let text = n.value().as_text()?;
            let parent = n.parent()?.value().as_element()?.name();
            (!matches!(parent, "script" | "style" | "noscript" | "template"))
                .then(|| text.trim().len())
        })
        .sum()
}

/// Elements dropped with everything they hold.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "frame", "frameset",
    "object", "embed", "canvas", "video", "audio", "picture", "map", "head", "title", "meta",
    "link", "base", "input", "select", "option", "optgroup", "datalist", "textarea", "output",
    "meter", "progress", "nav", "footer", "dialog",
];

/// Elements that end the current paragraph.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "form",
    "header",
    "hgroup",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "menu",
    "p",
    "section",
    "summary",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
];

const SKIPPED_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "dialog",
    "alertdialog",
];

/// Words of an id or class that mark a consent banner or a pop-up.
const POPUP_WORDS: &[&str] = &[
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "ccpa",
    "cookiebot",
    "onetrust",
    "banner",
    "popup",
    "modal",
    "newsletter",
    "subscribe",
    "subscription",
    "lightbox",
];

/// Words of an `id` or `class` that name page navigation: a menu bar, breadcrumbs, "Prev | Up |
/// Next" links (DocBook's `navheader`), pagination, a table of contents.
const NAVIGATION_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navheader",
    "navfooter",
    "navigation",
    "breadcrumb",
    "breadcrumbs",
    "pagination",
    "pager",
    "toc",
];

/// Least links in a list of links (see [`is_link_list`]).
pub const LINK_LIST_ITEMS: usize = 3;
/// Least share of a list's text inside its links for it to be a list of links.
pub const LINK_LIST_SHARE: f64 = 0.7;

/// Whether a list is navigation: at least [`LINK_LIST_ITEMS`] links holding at least
/// [`LINK_LIST_SHARE`] of its text (a table of contents, an index, a category's listing).
fn is_link_list(list: ElementRef) -> bool {
    let links: Vec<ElementRef> = list
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a" && e.value().attr("href").is_some())
        .collect();
    if links.len() < LINK_LIST_ITEMS {
        return false;
    }
    let total = text_len(*list);
    let linked: usize = links.iter().map(|a| text_len(**a)).sum();
    total > 0 && linked as f64 >= LINK_LIST_SHARE * total as f64
}

/// Walks the content root and builds sections.
struct Extractor<'c> {
    /// Ids of elements that a control (`aria-controls`) shows and hides: accordion panels.
    controlled: &'c HashSet<String>,
    builder: SectionBuilder,
    inline: Inline,
    /// Text length of the root: guessed boilerplate holding more than half of it is kept.
    root_len: usize,
    /// Element depth below the root.
    depth: usize,
    /// The term (`dt`) whose definition comes next: it opens the definition's first paragraph,
    /// so that "work_mem (integer): Sets the base maximum amount of memory…" stays one piece.
    term: Option<String>,
}

/// Longest term that opens its definition's paragraph; a longer one is a paragraph of its own.
const TERM_CHARS: usize = 160;

/// Below this depth, markup is read as flat text without recursion, so that broken pages (a
/// thousand unclosed `<div>`s) cannot overflow the stack.
const MAX_DEPTH: usize = 160;

impl Extractor<'_> {
    fn run(root: ElementRef, controlled: &HashSet<String>) -> Vec<crate::document::Section> {
        let mut extractor = Extractor {
            controlled,
            builder: SectionBuilder::default(),
            inline: Inline::default(),
            root_len: text_len(*root),
            depth: 0,
            term: None,
        };
        extractor.children(*root);
        extractor.flush();
        extractor.term_alone();
        extractor.builder.finish()
    }

    fn children(&mut self, node: NodeRef<Node>) {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let mut inline = std::mem::take(&mut self.inline);
            self.flat_text(node, &mut inline, true);
            self.inline = inline;
        } else {
            for child in node.children() {
                self.node(child);
            }
        }
        self.depth -= 1;
    }

    fn node(&mut self, node: NodeRef<Node>) {
        match node.value() {
            Node::Text(text) => self.inline.text(text),
            Node::Element(_) => {
                let Some(el) = ElementRef::wrap(node) else {
                    return;
                };
                if self.is_boilerplate(el) {
                    return;
                }
                self.element(el);
            }
            _ => {}
        }
    }

    fn element(&mut self, el: ElementRef) {
        let name = el.value().name();
        let depth = self.depth;
        match name {
            "br" => self.inline.line_break(),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                self.term_alone();
                let text = self.inline_text(el, &mut None, depth);
                let text = strip_permalinks(&text);
                if is_admonition_title(el) {
                    // "Note: …": the title labels the admonition's first paragraph, as a term
                    // does.
                    if !text.is_empty() {
                        self.term = Some(text.to_owned());
                    }
                } else {
                    let level = name.as_bytes()[1] - b'0';
                    self.builder.heading(level, text, heading_id(el).as_deref());
                }
            }
            "ul" | "ol" => {
                self.flush();
                let mut lines = Vec::new();
                self.list(el, 0, depth, &mut lines);
                self.block(&lines.join("\n"));
            }
            "table" if !is_layout_table(el) => {
                self.flush();
                let table = self.table(el, depth);
                self.block(&table);
            }
            "pre" => {
                self.flush();
                let mut pre = Inline::default();
                self.raw_text(*el, &mut pre, depth);
                self.block(&pre.take_raw());
            }
            "img" => {}
            "dt" => {
                self.flush();
                let term = self.inline_text(el, &mut None, depth);
                if !term.is_empty() {
                    // Several terms of one definition ("-j njobs", "--jobs=njobs") are listed.
                    self.term = Some(match self.term.take() {
                        Some(before) => format!("{before}, {term}"),
                        None => term,
                    });
                }
            }
            _ if BLOCKS.contains(&name) || name == "table" => {
                self.flush();
                self.children(*el);
                self.flush();
            }
            _ => self.children(*el),
        }
    }

    /// Ends the current paragraph(s).
    fn flush(&mut self) {
        if self.inline.is_empty() {
            self.inline = Inline::default();
            return;
        }
        for paragraph in self.inline.take_paragraphs() {
            match self.term.take() {
                Some(term) if term.chars().count() <= TERM_CHARS => {
                    // "Term: definition", or "Question? Answer" for a term that ends a sentence.
                    let joint = if term.ends_with(['?', '!', '.', ':']) {
                        " "
                    } else {
                        ": "
                    };
                    self.builder.paragraph(&format!("{term}{joint}{paragraph}"));
                }
                Some(term) => {
                    self.builder.paragraph(&term);
                    self.builder.paragraph(&paragraph);
                }
                None => self.builder.paragraph(&paragraph),
            }
        }
    }

    /// A term whose definition does not start with a paragraph (a list, a table, code, nothing)
    /// becomes a paragraph of its own.
    fn term_alone(&mut self) {
        if let Some(term) = self.term.take() {
            self.builder.paragraph(&term);
        }
    }

    /// A list, table or code block: a paragraph that a pending term does not open.
    fn block(&mut self, text: &str) {
        self.term_alone();
        self.builder.paragraph(text);
    }

    /// The text below a node, read without recursion: blocks end paragraphs (`paragraphs`) or
    /// separate words, boilerplate is skipped.
    fn flat_text(&self, node: NodeRef<Node>, inline: &mut Inline, paragraphs: bool) {
        let mut skipping: Option<ego_tree::NodeId> = None;
        let block_edge = |inline: &mut Inline| {
            if paragraphs {
                inline.line_break();
                inline.line_break();
            } else {
                inline.space();
            }
        };
        for edge in node.traverse() {
            match edge {
                Edge::Open(n) if skipping.is_none() && n.id() != node.id() => match n.value() {
                    Node::Text(text) => inline.text(text),
                    Node::Element(e) => {
                        let el = ElementRef::wrap(n).expect("an element");
                        if SKIPPED.contains(&e.name()) || self.is_boilerplate(el) {
                            skipping = Some(n.id());
                        } else if e.name() == "br" || BLOCKS.contains(&e.name()) {
                            block_edge(inline);
                        }
                    }
                    _ => {}
                },
                Edge::Close(n) => {
                    if skipping == Some(n.id()) {
                        skipping = None;
                    } else if skipping.is_none()
                        && n.value()
                            .as_element()
                            .is_some_and(|e| BLOCKS.contains(&e.name()))
                    {
                        block_edge(inline);
                    }
                }
                Edge::Open(_) => {}
            }
        }
    }

    fn is_boilerplate(&self, el: ElementRef) -> bool {
        let value = el.value();
        let name = value.name();
        if SKIPPED.contains(&name) {
            return true;
        }
        if name == "header" && !is_scoped(el) {
            return true;
        }
        if name == "aside"
            && !el
                .ancestors()
                .filter_map(ElementRef::wrap)
                .any(|a| a.value().name() == "article")
        {
            return true;
        }
        if let Some(role) = value.attr("role") {
            if role
                .split_ascii_whitespace()
                .any(|r| SKIPPED_ROLES.contains(&r.to_ascii_lowercase().as_str()))
            {
                return true;
            }
        }
        // A collapsed accordion panel is hidden until its button is pressed: it is content.
        let panel = value.id().is_some_and(|id| self.controlled.contains(id))
            || value
                .attr("role")
                .is_some_and(|r| matches!(r.trim(), "tabpanel" | "region"));
        if !panel
            && value
                .attr("hidden")
                .is_some_and(|h| !h.trim().eq_ignore_ascii_case("until-found"))
        {
            return true;
        }
        if name == "button" && !is_disclosure_button(el) {
            return true;
        }
        if matches!(name, "ul" | "ol" | "dl") && is_link_list(el) {
            return true;
        }
        if name == "label"
            && el
                .ancestors()
                .filter_map(ElementRef::wrap)
                .any(|a| a.value().name() == "form")
        {
            return true;
        }
        if matches!(name, "body" | "html" | "main" | "article")
            || value.attr("role") == Some("main")
        {
            return false;
        }
        // Navigation and pop-ups are guessed from containers, never from a link or a span: a
        // heading's text inside Sphinx's `<a class="toc-backref">` is the heading.
        let container = BLOCKS.contains(&name) || matches!(name, "ul" | "ol" | "table");
        let guessed = (!panel
            && value
                .attr("aria-hidden")
                .is_some_and(|h| h.trim().eq_ignore_ascii_case("true")))
            || (container && self.looks_like_popup_or_navigation(el));
        guessed && text_len(*el) * 2 <= self.root_len
    }

    fn looks_like_popup_or_navigation(&self, el: ElementRef) -> bool {
        let value = el.value();
        let mut banner_only = true;
        let mut matched = false;
        let mut navigation = false;
        for attr in [value.attr("id"), value.attr("class")]
            .into_iter()
            .flatten()
        {
            for word in words(attr) {
                if POPUP_WORDS.contains(&word.as_str())
                    || word.starts_with("cookie")
                    || word.starts_with("consent")
                {
                    matched = true;
                    banner_only &= word == "banner";
                }
                navigation |= NAVIGATION_WORDS.contains(&word.as_str());
            }
        }
        if !matched {
            return navigation;
        }
        // A "hero banner" with the page's h1 is content.
        !(banner_only && el.select(&selector("h1")).next().is_some())
    }

    /// The text of an element on one line (headings, list items, table cells). Nested lists are
    /// not included; they are collected, with their depth, into `lists` when asked for.
    fn inline_text<'a>(
        &self,
        el: ElementRef<'a>,
        lists: &mut Option<Vec<(ElementRef<'a>, usize)>>,
        depth: usize,
    ) -> String {
        let mut inline = Inline::default();
        self.collect_inline(*el, &mut inline, lists, depth + 1);
        inline.take_line()
    }

    fn collect_inline<'a>(
        &self,
        node: NodeRef<'a, Node>,
        inline: &mut Inline,
        lists: &mut Option<Vec<(ElementRef<'a>, usize)>>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.flat_text(node, inline, false);
            return;
        }
        for child in node.children() {
            match child.value() {
                Node::Text(text) => inline.text(text),
                Node::Element(_) => {
                    let Some(el) = ElementRef::wrap(child) else {
                        continue;
                    };
                    if self.is_boilerplate(el) {
                        continue;
                    }
                    let name = el.value().name();
                    if let (Some(found), "ul" | "ol") = (lists.as_mut(), name) {
                        found.push((el, depth));
                        continue;
                    }
                    let block = name == "br" || BLOCKS.contains(&name) || name == "table";
                    if block {
                        inline.space();
                    }
                    self.collect_inline(child, inline, lists, depth + 1);
                    if block {
                        inline.space();
                    }
                }
                _ => {}
            }
        }
    }

    /// Text of a `pre`, verbatim (`<br>` as a line break).
    fn raw_text(&self, node: NodeRef<Node>, out: &mut Inline, depth: usize) {
        if depth > MAX_DEPTH {
            self.flat_text(node, out, false);
            return;
        }
        for child in node.children() {
            match child.value() {
                Node::Text(text) => out.raw(text),
                Node::Element(e) if e.name() == "br" => out.raw("\n"),
                Node::Element(_) => {
                    if let Some(el) = ElementRef::wrap(child) {
                        if !self.is_boilerplate(el) {
                            self.raw_text(child, out, depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// One line per item: "- item" or "1. item", nested lists indented by two spaces.
    /// `level` is the list's nesting, `depth` its element depth.
    fn list(&self, list: ElementRef, level: usize, depth: usize, lines: &mut Vec<String>) {
        if depth > MAX_DEPTH {
            let mut inline = Inline::default();
            self.flat_text(*list, &mut inline, false);
            lines.push(format!("{}- {}", "  ".repeat(level), inline.take_line()));
            return;
        }
        let ordered = list.value().name() == "ol";
        let mut number: i64 = list
            .attr("start")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1);
        let indent = "  ".repeat(level);
        for item in list.child_elements() {
            if self.is_boilerplate(item) {
                continue;
            }
            if item.value().name() != "li" {
                // Sloppy markup: a list inside a list without an item.
                if matches!(item.value().name(), "ul" | "ol") {
                    self.list(item, level + 1, depth + 1, lines);
                }
                continue;
            }
            if let Some(value) = item.attr("value").and_then(|v| v.trim().parse().ok()) {
                number = value;
            }
            let mut nested = Some(Vec::new());
            let text = self.inline_text(item, &mut nested, depth + 1);
            if !text.is_empty() {
                let marker = if ordered {
                    format!("{number}. ")
                } else {
                    "- ".to_owned()
                };
                lines.push(format!("{indent}{marker}{text}"));
            }
            number += 1;
            for (list, depth) in nested.unwrap_or_default() {
                self.list(list, level + 1, depth, lines);
            }
        }
    }

    /// A data table, one line per row (see [`render_table`]).
    fn table(&self, table: ElementRef, depth: usize) -> String {
        let caption = table
            .child_elements()
            .find(|c| c.value().name() == "caption")
            .map(|c| self.inline_text(c, &mut None, depth + 1));
        let mut head_rows = Vec::new();
        let mut rows = Vec::new();
        for child in table.child_elements() {
            match child.value().name() {
                "tr" => rows.push(child),
                "thead" => {
                    head_rows.extend(child.child_elements().filter(|r| r.value().name() == "tr"))
                }
                "tbody" | "tfoot" => {
                    rows.extend(child.child_elements().filter(|r| r.value().name() == "tr"))
                }
                _ => {}
            }
        }
        let cells = |row: ElementRef| -> Vec<Cell> {
            place_cells(
                row.child_elements()
                    .filter(|c| matches!(c.value().name(), "td" | "th"))
                    .map(|c| {
                        let span = c
                            .attr("colspan")
                            .and_then(|s| s.trim().parse::<usize>().ok())
                            .unwrap_or(1)
                            .clamp(1, 100);
                        (
                            self.inline_text(c, &mut None, depth + 3),
                            span,
                            c.value().name() == "th",
                        )
                    }),
            )
        };
        let mut rows: Vec<Vec<Cell>> = rows.into_iter().map(cells).collect();
        let header = if let Some(&first) = head_rows.first() {
            Some(cells(first))
        } else if rows
            .first()
            .is_some_and(|r| r.len() > 1 && r.iter().all(|c| c.is_header))
        {
            Some(rows.remove(0))
        } else {
            None
        };
        render_table(caption.as_deref(), header.as_deref(), &rows)
    }
}

/// Class words of the boxes that set a remark apart from its section (DocBook's `div.note`,
/// `div.warning`…, and the same names on other sites).
const ADMONITIONS: &[&str] = &[
    "admonition",
    "callout",
    "caution",
    "important",
    "note",
    "tip",
    "warning",
];

/// Whether a heading is an admonition's title ("Note", "Warning"): inside an `aside`, a
/// `role=note` or a box whose class words all name an admonition, among its three nearest
/// ancestors. The
/// PostgreSQL manual puts `<h3 class="title">Note</h3>` in its notes, the level of its
/// subsections' headings: read as a heading, "Note" took the place of the subsection it sits in
/// ("8.1.4. Serial Types"), and two notes of one page became one passage across the subsections.
fn is_admonition_title(heading: ElementRef) -> bool {
    heading
        .ancestors()
        .filter_map(ElementRef::wrap)
        .take(3)
        .any(|container| {
            container.value().name() == "aside"
                || container.attr("role") == Some("note")
                // Every class word an admonition's ("note", "admonition warning"): a
                // `release-note` section keeps its heading.
                || container.attr("class").is_some_and(|class| {
                    let words = words(class);
                    !words.is_empty() && words.iter().all(|w| ADMONITIONS.contains(&w.as_str()))
                })
        })
}

/// The anchor of a heading: its id, else the id or name of an anchor inside it, else the id of
/// the `section` it opens.
fn heading_id(heading: ElementRef) -> Option<String> {
    if let Some(id) = heading.attr("id").filter(|id| !id.trim().is_empty()) {
        return Some(id.trim().to_owned());
    }
    if let Some(id) = heading
        .descendent_elements()
        .filter(|e| e.value().name() == "a")
        .find_map(|e| e.attr("id").or_else(|| e.attr("name")))
        .filter(|id| !id.trim().is_empty())
    {
        return Some(id.trim().to_owned());
    }
    let parent = heading.parent().and_then(ElementRef::wrap)?;
    let opens_parent = parent
        .child_elements()
        .next()
        .is_some_and(|first| first.id() == heading.id());
    if opens_parent && parent.value().name() == "section" {
        return parent
            .attr("id")
            .filter(|id| !id.trim().is_empty())
            .map(|id| id.trim().to_owned());
    }
    None
}

/// A heading without the permalink marks documentation sites put before or after it
/// ("Shipping ¶", "§ Variants", "Returns #").
fn strip_permalinks(heading: &str) -> &str {
    heading.trim_matches(|c: char| matches!(c, '¶' | '§' | '#' | '🔗' | '⚓') || c.is_whitespace())
}

/// Ids named by `aria-controls` anywhere in the page.
fn controlled_ids(page: &Html) -> HashSet<String> {
    page.select(&selector("[aria-controls]"))
        .filter_map(|el| el.attr("aria-controls"))
        .flat_map(str::split_ascii_whitespace)
        .map(str::to_owned)
        .collect()
}

/// A button that opens a panel (an accordion's question) rather than one that acts ("Add to
/// cart", "Accept"): it says what it controls or toggles, or its text is a question.
fn is_disclosure_button(button: ElementRef) -> bool {
    let value = button.value();
    value.attr("aria-controls").is_some()
        || value.attr("aria-expanded").is_some()
        || value.attr("data-toggle").is_some()
        || value.attr("data-bs-toggle").is_some()
        || button.text().collect::<String>().trim_end().ends_with('?')
}

/// A `header` inside an article, main or section belongs to it (it is not the page's banner).
fn is_scoped(el: ElementRef) -> bool {
    el.ancestors().filter_map(ElementRef::wrap).any(|a| {
        matches!(a.value().name(), "article" | "main" | "section")
            || a.value().attr("role") == Some("main")
    })
}

/// A table used for layout rather than data.
fn is_layout_table(table: ElementRef) -> bool {
    if table
        .attr("role")
        .is_some_and(|r| matches!(r.trim(), "presentation" | "none"))
    {
        return true;
    }
    table.descendent_elements().skip(1).any(|e| {
        matches!(
            e.value().name(),
            "table" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
        )
    })
}

/// Lower-cased words of an id or class attribute: split at anything but letters and digits and
/// at camelCase humps ("cookieConsent-bar" → cookie, consent, bar).
fn words(attr: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in attr.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_within_the_parse_depth_is_parsed_as_it_is() {
        let page = format!(
            "<html><body>{}<p>text</p>{}<script>{}</script><!-- {} --></body></html>",
            "<div>".repeat(MAX_PARSE_DEPTH),
            "</div>".repeat(MAX_PARSE_DEPTH),
            "<div>".repeat(5_000),
            "<div>".repeat(5_000),
        );
        assert!(matches!(
            flatten_deep_nesting(&page, MAX_PARSE_DEPTH),
            std::borrow::Cow::Borrowed(_)
        ));
        let unclosed_paragraphs = format!("<body>{}</body>", "<p>para ".repeat(5_000));
        assert!(matches!(
            flatten_deep_nesting(&unclosed_paragraphs, MAX_PARSE_DEPTH),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn markup_nested_deeper_than_the_parse_depth_is_flattened_and_keeps_its_text() {
        let page = format!(
            "<body>{}<span title='a > b'>deep</span> words{}<p>after</p></body>",
            "<div>".repeat(3 * MAX_PARSE_DEPTH),
            "</div>".repeat(3 * MAX_PARSE_DEPTH),
        );
        let flat = flatten_deep_nesting(&page, MAX_PARSE_DEPTH);
        assert_eq!(flat.matches("<div>").count(), MAX_PARSE_DEPTH);
        assert_eq!(flat.matches("</div>").count(), MAX_PARSE_DEPTH);
        let doc = extract(&page, None);
        let text = doc.full_text();
        assert!(text.contains("deep words"), "{text}");
        assert!(text.contains("after"), "{text}");
    }

    const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <title>Shipping &amp; Returns | Acme Outdoor</title>
  <link rel="canonical" href="/help/shipping">
  <style>.x { color: red }</style>
  <script>var tracking = "script text";</script>
</head>
<body>
  <div id="cookie-banner" class="cc-window">
    <p>We use cookies to improve your experience. <a href="/privacy#cookies">Learn more</a></p>
    <button>Accept all</button>
  </div>
  <header class="site-header">
    <a href="/"><img src="/logo.png" alt="Acme"></a>
    <nav><ul><li><a href="/shop">Shop</a></li><li><a href="https://blog.acme.test/">Blog</a></li></ul></nav>
  </header>
  <main>
    <article>
      <h1>Shipping &amp; Returns</h1>
      <p>We ship from our warehouse in <strong>Lyon</strong>.<span>Orders</span> <span>leave</span> within a day.</p>
      <h2 id="delivery">Delivery times</h2>
      <p>Standard delivery takes<br>3&nbsp;to&nbsp;5 working days.</p>
      <h3>Costs</h3>
      <table>
        <thead><tr><th>Method</th><th>Price</th></tr></thead>
        <tbody>
          <tr><td>Standard</td><td>4.90 €</td></tr>
          <tr><td>Express</td><td>9.90 €</td></tr>
        </tbody>
      </table>
      <h2>Returns</h2>
      <p>To return an item:</p>
      <ol>
        <li>Log in to <a href="/account?tab=orders#list">your account</a>.</li>
        <li>Choose the order.</li>
      </ol>
      <ul><li>Free within 30 days</li><li>Refund in <em>5</em> days</li></ul>
    </article>
    <aside class="related"><p>Related: our hiking boots.</p></aside>
  </main>
  <footer><p>© 2024 Acme Outdoor</p><a href="/contact">Contact</a> <a href="mailto:help@acme.test">Mail</a></footer>
</body>
</html>"##;

    fn page() -> Document {
        let base = Url::parse("https://www.acme.test/help/shipping?ref=nav").unwrap();
        extract(PAGE, Some(&base))
    }

    #[test]
    fn an_admonitions_title_labels_its_paragraph_and_keeps_the_section() {
        // As the PostgreSQL manual marks up its sections and notes (DocBook).
        let html = r#"<html><body><div class="sect1"><h2 class="title">8.1. Numeric Types</h2>
            <div class="sect2"><h3 class="title">8.1.3. Floating-Point Types</h3>
              <p>Values of p outside the allowed range draw an error.</p>
              <div class="note"><h3 class="title">Note</h3><p>The assumption that real and
              double precision have exactly 24 and 53 bits is correct.</p></div></div>
            <div class="sect2" id="DATATYPE-SERIAL"><h3 class="title">8.1.4. Serial Types</h3>
              <div class="note"><h3 class="title">Note</h3><p>This section describes a
              PostgreSQL-specific way to create an autoincrementing column.</p></div>
              <p>The data types serial and bigserial are not true types.</p></div>
            <div class="warning"><h4>Warning</h4><p>Sequences are not transactional.</p></div>
            <section class="release-note"><h2>Version 15</h2><p>Faster sorts.</p></section>
            </div></body></html>"#;
        let doc = extract(html, None);
        let got: Vec<(Vec<&str>, &str)> = doc
            .sections
            .iter()
            .map(|s| {
                (
                    s.headings.iter().map(String::as_str).collect(),
                    s.text.as_str(),
                )
            })
            .collect();
        // A box whose class only mentions a note is a section like any other.
        assert!(
            got.contains(&(vec!["Version 15"], "Faster sorts.")),
            "{got:#?}"
        );
        let serial = vec!["8.1. Numeric Types", "8.1.4. Serial Types"];
        assert!(
            got.iter().any(|(h, t)| *h == serial
                && t.starts_with("Note: This section describes")
                && t.contains("not true types")
                && t.contains("Warning: Sequences are not transactional.")),
            "{got:#?}"
        );
        assert!(
            got.iter()
                .all(|(h, _)| !h.iter().any(|h| *h == "Note" || *h == "Warning")),
            "{got:#?}"
        );
        assert!(
            got.iter()
                .filter(|(_, t)| t.contains("Values of p"))
                .all(|(h, t)| h.last() == Some(&"8.1.3. Floating-Point Types")
                    && t.contains("Note: The assumption")
                    && !t.contains("autoincrementing")),
            "{got:#?}"
        );
    }

    #[test]
    fn the_main_article_becomes_sections_with_heading_paths_and_anchors() {
        let doc = page();
        let got: Vec<(Vec<&str>, Option<&str>, &str)> = doc
            .sections
            .iter()
            .map(|s| {
                (
                    s.headings.iter().map(String::as_str).collect(),
                    s.anchor.as_deref(),
                    s.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    vec!["Shipping & Returns"],
                    Some("shipping-returns"),
                    "We ship from our warehouse in Lyon.Orders leave within a day."
                ),
                (
                    vec!["Shipping & Returns", "Delivery times"],
                    Some("delivery"),
                    "Standard delivery takes\n3 to 5 working days."
                ),
                (
                    vec!["Shipping & Returns", "Delivery times", "Costs"],
                    Some("costs"),
                    "Method: Standard; Price: 4.90 €\nMethod: Express; Price: 9.90 €"
                ),
                (
                    vec!["Shipping & Returns", "Returns"],
                    Some("returns"),
                    "To return an item:\n\n1. Log in to your account.\n2. Choose the order.\n\n- Free within 30 days\n- Refund in 5 days"
                ),
            ]
        );
    }

    #[test]
    fn a_cookie_banner_is_not_content() {
        let text = page().full_text();
        for boilerplate in [
            "cookies",
            "Accept",
            "Shop",
            "Blog",
            "Acme Outdoor",
            "Contact",
            "Related",
            "script",
            "color",
        ] {
            assert!(
                !text.contains(boilerplate),
                "{boilerplate:?} leaked into {text:?}"
            );
        }
    }

    #[test]
    fn navigation_without_a_nav_element_is_not_content() {
        // DocBook's output (the PostgreSQL manual): "Prev | Up | Next" tables in classed divs.
        let html = r##"<html><body>
<div class="navheader"><table summary="Navigation header"><tr><th colspan="3">8.1. Numeric Types</th></tr>
<tr><td><a accesskey="p" href="datatype.html">Prev</a></td><td><a accesskey="u" href="datatype.html">Up</a></td>
<th>Chapter 8. Data Types</th><td><a accesskey="n" href="datatype-money.html">Next</a></td></tr></table></div>
<ol class="breadcrumb"><li><a href="/">Docs</a></li><li>Types</li></ol>
<div class="sect1"><h2>8.1. Numeric Types</h2><div class="toc"><a href="#int">8.1.1. Integer Types</a></div>
<p>The type integer is the common choice, as it offers the best balance between range, storage size, and performance.</p></div>
<div class="navfooter"><table><tr><td><a href="datatype.html">Prev</a></td><td><a href="index.html">Home</a></td>
<td><a href="datatype-money.html">Next</a></td></tr></table></div>
</body></html>"##;
        let text = extract(html, None).full_text();
        assert!(
            text.contains("The type integer is the common choice"),
            "{text:?}"
        );
        for boilerplate in ["Prev", "Next", "Home", "Docs", "Chapter 8", "8.1.1"] {
            assert!(
                !text.contains(boilerplate),
                "{boilerplate:?} leaked into {text:?}"
            );
        }
    }

    #[test]
    fn a_heading_inside_a_link_named_like_navigation_is_kept() {
        // Sphinx (the Python documentation) links each FAQ question back to the contents.
        let html = r##"<html><body><main><h1>General Python FAQ</h1>
<section id="why"><h3><a class="toc-backref" href="#id19" role="doc-backlink">Why is it called Python?</a><a class="headerlink" href="#why">¶</a></h3>
<p>Guido van Rossum was reading the scripts of Monty Python.</p></section>
<section id="like"><h3><a class="toc-backref" href="#id20">Do I have to like Monty Python?</a></h3>
<p>No, but it helps.</p></section></main></body></html>"##;
        let doc = extract(html, None);
        let headings: Vec<String> = doc
            .sections
            .iter()
            .map(|s| s.headings.join(" › "))
            .collect();
        assert_eq!(
            headings,
            [
                "General Python FAQ › Why is it called Python?",
                "General Python FAQ › Do I have to like Monty Python?"
            ]
        );
    }

    #[test]
    fn a_list_of_links_is_navigation_and_its_links_are_kept() {
        // A chapter's table of contents (DocBook), an FAQ index, and a list of links with one
        // line of running text in it.
        let html = r##"<html><body>
<div class="chapter"><h1>Chapter 5. Data Definition</h1>
<dl class="contents"><dt><span><a href="ddl-basics.html">5.1. Table Basics</a></span></dt>
<dt><span><a href="ddl-default.html">5.2. Default Values</a></span></dt>
<dd><dl><dt><a href="ddl-default.html#gen">5.2.1. Generated Columns</a></dt></dl></dd>
<dt><span><a href="ddl-constraints.html">5.3. Constraints</a></span></dt></dl>
<p>This chapter covers how one creates the database structures that will hold one's data.</p>
<ul><li><a href="/faq/general">General FAQ</a></li><li><a href="/faq/shipping">Shipping FAQ</a></li>
<li><a href="/faq/returns">How can I return an item?</a></li></ul>
<ul><li>Pack the item in its box. <a href="/label">Print the label</a>.</li>
<li>Drop it at a post office; <a href="/map">find one</a>.</li><li>Refunds take five days.</li></ul>
</div></body></html>"##;
        let doc = extract(html, Some(&Url::parse("https://acme.test/docs/").unwrap()));
        let text = doc.full_text();
        assert!(
            text.contains("This chapter covers how one creates"),
            "{text:?}"
        );
        assert!(text.contains("Pack the item in its box."), "{text:?}");
        for navigation in [
            "5.1. Table Basics",
            "Generated Columns",
            "Shipping FAQ",
            "return an item",
        ] {
            assert!(
                !text.contains(navigation),
                "{navigation:?} leaked into {text:?}"
            );
        }
        for link in [
            "https://acme.test/docs/ddl-basics.html",
            "https://acme.test/faq/returns",
        ] {
            assert!(
                doc.links.iter().any(|l| l == link),
                "{link} not in {:?}",
                doc.links
            );
        }
        // A page that is only a table of contents has nothing to answer from.
        let toc = r##"<html><body><h1>Contents</h1><ul><li><a href="a.html">One</a></li>
<li><a href="b.html">Two</a></li><li><a href="c.html">Three</a></li></ul></body></html>"##;
        assert_eq!(extract(toc, None).text_len(), 0);
    }

    #[test]
    fn links_include_navigation_as_absolute_urls_without_fragments() {
        assert_eq!(
            page().links,
            [
                "https://www.acme.test/privacy",
                "https://www.acme.test/",
                "https://www.acme.test/shop",
                "https://blog.acme.test/",
                "https://www.acme.test/account?tab=orders",
                "https://www.acme.test/contact",
            ]
        );
    }

    #[test]
    fn title_language_and_canonical_come_from_the_head() {
        let doc = page();
        assert_eq!(doc.title, "Shipping & Returns");
        assert_eq!(doc.language.as_deref(), Some("en"));
        assert_eq!(
            doc.canonical.as_deref(),
            Some("https://www.acme.test/help/shipping")
        );
    }

    #[test]
    fn without_main_the_body_minus_boilerplate_is_content() {
        let html = r#"<html><body>
            <div class="topbar" role="navigation"><a href="/a">Menu item</a></div>
            <div class="modal fade" id="newsletterModal"><h2>Subscribe!</h2><p>Get our newsletter.</p></div>
            <div class="content-wrapper">
              <h2>Opening hours</h2>
              <p>Monday to Friday, 9:00 to 18:00.</p>
              <div aria-hidden="true">★★★★★</div>
              <div hidden>Secret draft text</div>
              <div hidden="until-found">Saturday by appointment.</div>
            </div>
            <footer>Footer text</footer>
        </body></html>"#;
        let doc = extract(html, None);
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].headings, ["Opening hours"]);
        assert_eq!(
            doc.sections[0].text,
            "Monday to Friday, 9:00 to 18:00.\n\nSaturday by appointment."
        );
        assert_eq!(doc.title, "", "no title and no h1");
        assert!(doc.links.is_empty(), "relative links need a base URL");
    }

    #[test]
    fn a_container_named_like_a_banner_is_kept_when_it_holds_the_content() {
        let html = r#"<body><div class="page content-banner">
            <h1>Welcome to Acme</h1><p>We sell outdoor gear for every season.</p>
            <div class="promo-banner"><p>Sale!</p></div>
        </div></body>"#;
        let doc = extract(html, None);
        assert_eq!(doc.title, "Welcome to Acme");
        assert_eq!(doc.full_text(), "We sell outdoor gear for every season.");
    }

    #[test]
    fn a_hero_banner_with_the_h1_is_content() {
        let html = r#"<body>
            <section class="hero banner"><h1>Tents that last</h1><p>Lifetime warranty on all tents.</p></section>
            <section><h2>Materials</h2><p>Ripstop nylon and aluminium poles, tested in the Alps for years.</p></section>
        </body>"#;
        let doc = extract(html, None);
        assert_eq!(doc.sections[0].text, "Lifetime warranty on all tents.");
        assert_eq!(doc.sections[1].headings, ["Tents that last", "Materials"]);
    }

    #[test]
    fn inline_elements_join_words_as_displayed() {
        let html = "<main><p>Call<br>us: <b>0800</b> <i>123</i> or write<span> to </span>help@acme.test</p>\
                    <p>one</p><p>two<br><br>three</p><div>four<div>five</div></div></main>";
        let doc = extract(html, None);
        assert_eq!(
            doc.sections[0].text,
            "Call\nus: 0800 123 or write to help@acme.test\n\none\n\ntwo\n\nthree\n\nfour\n\nfive"
        );
    }

    #[test]
    fn nested_lists_and_numbering_follow_the_markup() {
        let html = r#"<main><ol start="3"><li>Pack the item<ul><li>in its box</li><li>with the label</li></ul></li><li value="7">Ship it</li></ol></main>"#;
        let doc = extract(html, None);
        assert_eq!(
            doc.sections[0].text,
            "3. Pack the item\n  - in its box\n  - with the label\n7. Ship it"
        );
    }

    #[test]
    fn a_table_without_header_row_joins_cells() {
        let html = r#"<main>
            <table><tr><td>Mon</td><td>9-17</td></tr><tr><td>Sat</td><td></td><td>closed</td></tr></table>
            <table><tr><th>Phone</th><td>0800 123</td></tr><tr><th>Email</th><td>help@acme.test</td></tr></table>
        </main>"#;
        let doc = extract(html, None);
        assert_eq!(
            doc.sections[0].text,
            "Mon | 9-17\nSat | closed\n\nPhone: 0800 123\nEmail: help@acme.test"
        );
    }

    #[test]
    fn a_one_column_table_names_its_rows_once() {
        // The PostgreSQL manual's function tables: one header cell over rows of one cell.
        let html = r#"<main><table><thead><tr><th>Function Description Example(s)</th></tr></thead>
            <tbody><tr><td><p>upper ( text ) → text</p><p>Converts the string to all upper case.</p></td></tr>
            <tr><td><p>lower ( text ) → text</p><p>Converts the string to all lower case.</p></td></tr></tbody></table></main>"#;
        let doc = extract(html, None);
        assert_eq!(
            doc.sections[0].text,
            "Function Description Example(s)\n\
             upper ( text ) → text Converts the string to all upper case.\n\
             lower ( text ) → text Converts the string to all lower case."
        );
    }

    #[test]
    fn a_defined_term_opens_its_definition() {
        let html = r#"<main><dl>
            <dt><code>work_mem</code> (<code>integer</code>)</dt>
            <dd><p>Sets the base maximum amount of memory.</p><p>The default is four megabytes.</p></dd>
            <dt>-j <em>njobs</em></dt><dt>--jobs=<em>njobs</em></dt>
            <dd>Run the dump in parallel.</dd>
            <dt>Do you ship abroad?</dt><dd>Yes, across Europe.</dd>
            <dt>Options</dt><dd><ul><li>fast</li><li>safe</li></ul></dd>
        </dl></main>"#;
        let doc = extract(html, None);
        assert_eq!(
            doc.sections[0].text,
            "work_mem (integer): Sets the base maximum amount of memory.\n\n\
             The default is four megabytes.\n\n\
             -j njobs, --jobs=njobs: Run the dump in parallel.\n\n\
             Do you ship abroad? Yes, across Europe.\n\n\
             Options\n\n\
             - fast\n- safe"
        );
    }

    #[test]
    fn a_layout_table_is_read_as_blocks() {
        let html = r#"<body><table><tr><td><h1>Old site</h1><p>Made with tables.</p></td><td><p>Second column.</p></td></tr></table></body>"#;
        let doc = extract(html, None);
        assert_eq!(doc.sections[0].headings, ["Old site"]);
        assert_eq!(doc.sections[0].text, "Made with tables.\n\nSecond column.");
    }

    #[test]
    fn preformatted_text_keeps_its_lines() {
        let html =
            "<main><pre>\n  curl -X POST \\\n    https://api.acme.test/orders\n</pre></main>";
        let doc = extract(html, None);
        assert_eq!(
            doc.sections[0].text,
            "  curl -X POST \\\n    https://api.acme.test/orders"
        );
    }

    #[test]
    fn heading_anchors_come_from_ids_inside_or_around_the_heading() {
        let html = r##"<main>
            <h2><a name="faq-1"></a>Can I pay by card?</h2><p>Yes.</p>
            <section id="warranty"><h2>Warranty</h2><p>Two years.</p></section>
            <h2>★</h2><p>Stars.</p>
            <h2 id="">Sizes <a class="headerlink" href="#sizes">¶</a><button id="copy">Copy</button></h2><p>S, M, L.</p>
        </main>"##;
        let doc = extract(html, None);
        let anchors: Vec<Option<&str>> = doc.sections.iter().map(|s| s.anchor.as_deref()).collect();
        assert_eq!(
            anchors,
            [Some("faq-1"), Some("warranty"), None, Some("sizes")]
        );
        assert_eq!(doc.sections[3].headings, ["Sizes"]);
    }

    #[test]
    fn a_title_without_site_suffix_and_a_detected_language() {
        let html = "<html><head><title>  Livraison - Retours | Acme  </title></head><body><p>Nous livrons \
                    partout en France métropolitaine en trois jours ouvrés, et les retours sont gratuits \
                    pendant trente jours.</p></body></html>";
        let doc = extract(html, None);
        assert_eq!(doc.title, "Livraison - Retours");
        assert_eq!(doc.language.as_deref(), Some("fr"));
        let html = "<title>| Acme</title>";
        assert_eq!(extract(html, None).title, "| Acme");
    }

    #[test]
    fn a_base_element_changes_how_links_resolve() {
        let html = r##"<head><base href="/docs/v2/"><link rel="alternate canonical" href="intro"></head>
            <body><a href="setup">Setup</a><a href="setup#step-2">Step 2</a><a href="javascript:void(0)">x</a><a href="#top">Top</a></body>"##;
        let base = Url::parse("https://acme.test/docs/index.html").unwrap();
        let doc = extract(html, Some(&base));
        assert_eq!(doc.links, ["https://acme.test/docs/v2/setup"]);
        assert_eq!(
            doc.canonical.as_deref(),
            Some("https://acme.test/docs/v2/intro")
        );
    }

    #[test]
    fn id_and_class_words_split_at_humps_and_dashes() {
        assert_eq!(
            words("cookieConsent-bar CybotDialog"),
            ["cookie", "consent", "bar", "cybot", "dialog"]
        );
    }

    #[test]
    fn deeply_nested_markup_does_not_overflow_the_stack() {
        let html = format!("<body>{}<p>Deep text.</p></body>", "<div>".repeat(20_000));
        let doc = extract(&html, None);
        assert_eq!(doc.full_text(), "Deep text.");
    }

    #[test]
    fn an_svg_title_is_not_the_page_title() {
        let html =
            r#"<body><svg><title>Cart icon</title></svg><h1>Our shop</h1><p>Welcome.</p></body>"#;
        assert_eq!(extract(html, None).title, "Our shop");
    }

    #[test]
    fn a_wordpress_faq_page_keeps_its_questions_and_answers() {
        let html = r##"<!doctype html><html lang="de"><head><title>FAQ – Gartenwelt</title></head>
<body class="page modal-open">
<div id="page" class="site">
  <a class="skip-link screen-reader-text" href="#content">Zum Inhalt springen</a>
  <header id="masthead" class="site-header"><div class="site-branding"><p class="site-title">Gartenwelt</p></div>
    <nav id="site-navigation" class="main-navigation"><a href="/shop/">Shop</a></nav></header>
  <div id="content" class="site-content">
    <div id="primary" class="content-area"><main id="main" class="site-main">
      <article id="post-12" class="page type-page">
        <header class="entry-header"><h1 class="entry-title">Häufige Fragen</h1></header>
        <div class="entry-content">
          <details><summary>Wie lange dauert der Versand?</summary><p>Der Versand dauert zwei bis drei Werktage.</p></details>
          <details><summary>Kann ich per Rechnung zahlen?</summary><p>Ja, ab der zweiten Bestellung.</p></details>
          <div class="wp-block-subscribe"><p>Newsletter abonnieren</p></div>
        </div>
        <footer class="entry-footer"><span class="edit-link">Bearbeiten</span></footer>
      </article>
    </main></div>
    <aside id="secondary" class="widget-area"><section class="widget"><h2>Neueste Beiträge</h2></section></aside>
  </div>
  <footer id="colophon" class="site-footer"><div class="site-info">Impressum</div></footer>
</div>
<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk"><p>Wir verwenden Cookies.</p><button>Alle akzeptieren</button></div></div>
<script type="application/ld+json">{"@type": "FAQPage"}</script>
</body></html>"##;
        let doc = extract(html, None);
        assert_eq!(doc.title, "FAQ");
        assert_eq!(doc.language.as_deref(), Some("de"));
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].headings, ["Häufige Fragen"]);
        assert_eq!(
            doc.sections[0].text,
            "Wie lange dauert der Versand?\n\nDer Versand dauert zwei bis drei Werktage.\n\n\
             Kann ich per Rechnung zahlen?\n\nJa, ab der zweiten Bestellung."
        );
    }

    #[test]
    fn accordion_answers_are_content_but_form_labels_are_not() {
        let html = r#"<main>
            <h2>FAQ</h2>
            <button class="accordion" aria-expanded="false" aria-controls="a1">Do you deliver on Sundays?</button>
            <div id="a1" hidden><p>No, Monday to Saturday only.</p></div>
            <button class="add-to-cart">Add to cart</button>
            <form><label for="email">Your email</label><input id="email"><button>Send</button></form>
        </main>"#;
        let doc = extract(html, None);
        assert_eq!(
            doc.sections[0].text,
            "Do you deliver on Sundays?\n\nNo, Monday to Saturday only."
        );
    }
}
