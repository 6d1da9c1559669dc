//! Contact details in visitor messages: the quick check that turns "call me on 06 12 34 56 78" or
//! "write to jane+shop@example.com" into a lead before the message reaches retrieval.
//!
//! [`extract`] returns every e-mail address and every phone number found in a message, in order of
//! appearance and without duplicates. It errs on the side of silence: a missed lead can still be
//! asked for, while a price or an order number stored as a phone number pollutes the contact and
//! the webhooks that carry it.
//!
//! [`split`] reads a message for what it asks beside its contact details: "Hi, my email is
//! jane@example.org, what is your return policy?" gives a lead *and* the question "what is your
//! return policy?", answered without the address (which would only pollute retrieval); "my email
//! is jane@example.org" asks nothing and is acknowledged.
//!
//! ## E-mail addresses
//!
//! A deliberately practical pattern, not RFC 5322: an ASCII dot-atom local part (letters, digits,
//! `_ % + -`, dots between atoms, an apostrophe inside a word as in `o'brien`), `@`, and two or more
//! DNS labels ending in an alphabetic (or punycode) top-level domain. Quoted local parts and
//! internationalised addresses are left out: they are vanishingly rare in chat, and allowing them
//! lets punctuation and handles in. On top of the pattern:
//!
//! - the match must not touch other address characters: `@jane@mastodon.social` and
//!   `a..b@example.com` give nothing rather than a fragment;
//! - a "top-level domain" that is a file extension (`icon@2x.png`, `app@3x.webp`, `main@1.js`) is
//!   an asset name, not an address;
//! - the domain is lower-cased (DNS is case-insensitive), the local part is kept as typed (it is
//!   not, in principle); duplicates are recognised case-insensitively;
//! - in a `mailto:` link the local part is percent-decoded (`mailto:jane%2Bshop@…`).
//!
//! ## Phone numbers
//!
//! libphonenumber (through the [`phonenumber`] crate, with Google's metadata) is the final judge:
//! only numbers it calls *valid* for their country — right length *and* an allocated range — are
//! kept, normalised to E.164. Validity alone is not enough in free text, though: `2024-05-12` read
//! in Germany is a valid Wuppertal number, `123456789` read in France is a valid Paris one. So the
//! message goes through three stages:
//!
//! 1. **Masking.** Spans that are something else are blanked out (same byte length, so offsets
//!    still point into the original text): e-mail addresses and anything else containing `@`,
//!    URLs, dates (`2024-05-12`, `12/05/2024`, `12.05.2024`), times (`10:30`, `10h30`), IP
//!    addresses, percentages, amounts next to a currency sign or code (`€1,299.00`, `1 299 €`,
//!    `Rp 150.000`), card-like runs of 13 to 19 digits, `#123456789`, US ZIP+4 codes, and tokens
//!    that glue letters to digits (`ORD-2024-000123`, `SW1A`, `1AA`, `250g`, `v1.2.3`). A date or
//!    an IP pattern is only masked when it stands alone, so `06.12.34.56.78` is not mistaken for
//!    the date `06.12.34`.
//! 2. **Candidates.** In what is left, runs of digit groups joined by at most three separators
//!    (space, `-`, `.`, `/`, brackets), optionally after `+`, `00` or `tel:`. A run may hold
//!    several numbers ("06 12 34 56 78 / 07 98 76 54 32"): its longest valid leftmost spans are
//!    taken, greedily.
//! 3. **Context and validation.** A run preceded (within three words of the same sentence, and
//!    with no other number in between) by a word such as "order", "invoice", "ref", "no.",
//!    "commande", "pedido", "Bestellung", "pesanan", or by `#`, is not a phone — unless a phone
//!    word ("tel", "HP", "WhatsApp", …) comes closer, as in "no HP 0812-3456-7890". A span needs
//!    7 to 17 digits. A number written without `+` or `00` is read in the bot's region, and where
//!    that region's trunk prefix is `0` (France, the UK, Germany, Malaysia, Indonesia…) it must
//!    start with that prefix or with the country code: people write their own number as they
//!    dial it, while bare digit runs are mostly references. A leading `00` is tried as the
//!    region's international prefix, then as `+`. Without a known region, only international
//!    numbers are accepted.
//!
//! `wa.me/60123456789` links count as phone numbers too: that is how WhatsApp numbers are shared.
//!
//! The phonenumber crate had fuzz-found panics on malformed input in the past. It is only given
//! sanitised `+digits` strings, and each call is fenced with `catch_unwind` all the same: a
//! visitor's message must never take the conversation down.
//!
//! ## Known limits
//!
//! - Vanity numbers (`1-800-FLOWERS`), extensions, and numbers spelled out in words are ignored.
//! - A national number whose digits run on into another number without any separator can only be
//!   found if the whole run is one valid number.
//! - Numbers from a country other than the bot's must be written internationally.
//! - A reference word blocks its whole run: in "order 123456 0612345678" (no punctuation between
//!   the two) the phone is lost too.
//! - Non-ASCII digits (Arabic-Indic, full-width) are not read as digits.
//! - At most 400 parser calls are made per message, so a pasted directory is only partly read.
//! - Context words are known for English, French, Spanish, German, Malay and Indonesian.
//! - What a message asks beside its contact details is a question only when a clause ends with
//!   `?` or opens with a question word; a bare request ("send me the catalogue") is left to the
//!   team that gets the lead, and a clause made only of contact words ("can I call you?") is
//!   dropped with them.

use std::{
    collections::HashSet,
    ops::Range,
    panic::{self, AssertUnwindSafe},
    sync::LazyLock,
};

use phonenumber::{country, metadata::DATABASE, Mode};
use regex::Regex;

/// Contact details found in one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// E-mail addresses: local part as typed, domain in lower case.
    pub emails: Vec<String>,
    /// Phone numbers in E.164 form, e.g. `+33612345678`.
    pub phones: Vec<String>,
}

impl Found {
    /// Whether the message held no contact detail at all.
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty() && self.phones.is_empty()
    }
}

/// Finds the e-mail addresses and phone numbers in `text`, in order of appearance, without
/// duplicates.
///
/// `default_region` is the ISO 3166-1 alpha-2 code (`"FR"`, `"US"`, `"MY"`; case-insensitive,
/// `"UK"` is taken for `"GB"`, a locale such as `"fr-FR"` for its region) in which numbers written
/// without a country code are read. When it is empty or unknown, only numbers written with `+` or
/// `00` are found.
pub fn extract(text: &str, default_region: &str) -> Found {
    let (emails, phones) = scan(text, default_region);
    let mut seen = HashSet::new();
    let emails = emails
        .into_iter()
        .map(|(_, address)| address)
        .filter(|address| seen.insert(address.to_lowercase()))
        .collect();
    let phones = phones
        .into_iter()
        .map(|(_, number)| number)
        .filter(|number| seen.insert(number.clone()))
        .collect();
    Found { emails, phones }
}

/// A span of the message and the contact detail it holds.
type Spanned = (Range<usize>, String);

/// Every e-mail address and every phone number of `text` where it stands, in order of
/// appearance (repeats included).
fn scan(text: &str, default_region: &str) -> (Vec<Spanned>, Vec<Spanned>) {
    let region = parse_region(default_region);
    let emails = find_emails(text);

    let mut phones: Vec<Spanned> = find_whatsapp_links(text);
    let masked = mask(text);
    let mut budget = PARSE_BUDGET;
    for candidate in CANDIDATE.find_iter(&masked) {
        let groups = digit_groups(&masked, candidate.start(), candidate.end());
        phones.extend(numbers_in_run(text, &groups, region, &mut budget));
        if budget == 0 {
            break;
        }
    }
    phones.sort_by_key(|(span, _)| span.start);
    (emails, phones)
}

// ---------------------------------------------------------------------------------------------
// What a message asks beside its contact details

/// A message read for contact details: what it gives, and what is left to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The contact details, as [`extract`] finds them.
    pub found: Found,
    /// The message without its contact details, the words that introduce them ("my email
    /// is", "mon numéro :") and the greetings or thanks around them: what retrieval is given.
    /// The whole message when it holds no contact detail.
    pub rest: String,
    /// Whether `rest` asks something; always, when the message holds no contact detail.
    asks: bool,
}

impl Split {
    /// Whether the message gives contact details and asks nothing beside them: it gets an
    /// acknowledgement rather than an answer.
    pub fn only_contact(&self) -> bool {
        !self.found.is_empty() && !self.asks
    }
}

/// Reads `text` for contact details (see [`extract`]) and for what it asks beside them.
///
/// The message is cut into clauses at punctuation and at each contact detail. A clause is
/// dropped when all its words are the kind that introduce or accompany contact details ("my
/// e-mail is", "you can reach me at", "c'est mon numéro", "nomor WA saya"), or when it is a
/// greeting, thanks or goodbye. What is left asks something when one of its clauses ends with
/// `?` or opens with a question word ("what", "comment", "cuánto", "wie", "berapa", "do you"…):
/// "Hi, my email is jane@example.org, what is your return policy?" asks "what is your return
/// policy?". A request without a question ("please send me the catalogue") is not an ask: the
/// team that gets the lead reads it.
pub fn split(text: &str, default_region: &str) -> Split {
    let (emails, phones) = scan(text, default_region);
    let mut seen = HashSet::new();
    let mut found = Found::default();
    for (_, address) in &emails {
        if seen.insert(address.to_lowercase()) {
            found.emails.push(address.clone());
        }
    }
    for (_, number) in &phones {
        if seen.insert(number.clone()) {
            found.phones.push(number.clone());
        }
    }
    if found.is_empty() {
        return Split {
            found,
            rest: text.to_owned(),
            asks: true,
        };
    }
    let mut spans: Vec<Range<usize>> = emails.into_iter().chain(phones).map(|(s, _)| s).collect();
    spans.sort_by_key(|span| span.start);

    let (mut rest, mut asks) = (String::new(), false);
    let mut keep = |clause: &str, end: Option<char>| {
        let words = clause_words(clause);
        if words.iter().all(|w| CONTACT_WORDS.contains(w.as_str()))
            || crate::intents::detect(clause, "")
                .is_some_and(|i| i != crate::intents::Intent::Human)
        {
            return;
        }
        let opens_question = words.first().is_some_and(|first| {
            QUESTION_OPENERS.contains(first.as_str())
                || words.get(1).is_some_and(|second| {
                    QUESTION_OPENERS.contains(format!("{first}_{second}").as_str())
                })
        });
        asks |= end == Some('?') || opens_question;
        if !rest.is_empty() {
            rest.push(' ');
        }
        match end {
            Some(end) => {
                rest.push_str(clause.trim_start());
                rest.push(end);
            }
            None => rest.push_str(clause.trim()),
        }
    };
    let mut at = 0;
    let mut clause_start = 0;
    let mut spans = spans.into_iter().peekable();
    while at < text.len() {
        if let Some(span) = spans.next_if(|span| span.start <= at) {
            keep(&text[clause_start..at], None);
            at = at.max(span.end);
            clause_start = at;
            continue;
        }
        let Some(c) = text[at..].chars().next() else {
            break;
        };
        // "1,299.00" and "v2.1" are not two clauses.
        let ends_clause = match c {
            ';' | '!' | '?' | '\n' | '¿' | '¡' => true,
            ',' | '.' => text[at + 1..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace),
            _ => false,
        };
        if ends_clause {
            keep(
                &text[clause_start..at],
                Some(c).filter(|c| matches!(c, '?' | '.' | '!')),
            );
            clause_start = at + c.len_utf8();
        }
        at += c.len_utf8();
    }
    keep(&text[clause_start..], None);
    Split {
        found,
        rest: rest.trim_end().to_owned(),
        asks,
    }
}

/// A clause's words: lower case, letters only (`e-mail` is `e` and `mail`).
fn clause_words(clause: &str) -> Vec<String> {
    clause
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().map(fold_char).collect::<String>().to_lowercase())
        .collect()
}

/// Words that introduce or accompany contact details, lower case without accents.
static CONTACT_WORDS: Words = LazyLock::new(|| {
    words(&[
        // en (and what apostrophes and hyphens leave: "here's", "e-mail")
        "my me i is am are at on to the a an email mail address phone number no tel mobile",
        "cell whatsapp wa contact reach call text write you can could here this and or also",
        "via by please use it s e m d mailto telephone details detail",
        // fr
        "mon ma mes est c voici adresse courriel mail numero telephone portable joignable",
        "joindre au me moi vous pouvez et ou sur par contactez appelez ecrivez coordonnees l",
        "de du le la les",
        // es
        "mi mis es correo electronico numero movil celular aqui tienes esta puedes pueden",
        "contactarme llamarme escribirme en al y o datos",
        // de
        "meine mein ist adresse nummer telefonnummer handynummer handy telefon unter",
        "erreichbar erreichen sie mich mir konnen hier und oder an kontakt",
        // ms / id
        "saya aku emel alamat nombor nomor telefon telepon hp ialah adalah ini boleh bisa",
        "hubungi di ke dan atau sy",
    ])
});

/// Words and two-word phrases (joined with `_`) that open a question, lower case without
/// accents.
static QUESTION_OPENERS: Words = LazyLock::new(|| {
    words(&[
        // en
        "what whats how when where why which who whom whose do does did can could is are",
        "will would should may might have has shall",
        // fr
        "quel quelle quels quelles comment quand ou pourquoi combien qui que qu est_ce",
        "pouvez puis peut peux avez etes est_il y_a",
        // es
        "que como cuando donde por_que cual cuales cuanto cuanta cuantos cuantas quien puedo",
        "puede pueden tienen tiene hay es_posible",
        // de
        "was wie wann wo warum welche welcher welches wer konnen kann gibt habt haben sind ist",
        "bieten liefert liefern",
        // ms / id
        "apa apakah bagaimana macam_mana bila bilakah kapan di_mana mana berapa mengapa kenapa",
        "boleh bisa adakah ada siapa",
    ])
});

// ---------------------------------------------------------------------------------------------
// E-mail addresses

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?ix)
        # local part: dot-atoms, an apostrophe allowed inside a word (o'brien)
        ( [a-z0-9_%+-]+ (?:'[a-z0-9_%+-]+)* (?:\.[a-z0-9_%+-]+ (?:'[a-z0-9_%+-]+)* )* )
        @
        # domain: one or more DNS labels, then an alphabetic or punycode top-level domain
        ( (?:[a-z0-9] (?:[a-z0-9-]{0,61}[a-z0-9])? \.)+ (?:[a-z]{2,63} | xn--[a-z0-9-]{1,59}) )
        ",
    )
});

/// "Top-level domains" that are really file extensions: `icon@2x.png` is an asset, not an address.
static FILE_EXTENSIONS: Words = LazyLock::new(|| {
    words(&[
        "png jpg jpeg gif svg webp avif bmp ico tif tiff heic css scss less js mjs cjs jsx ts",
        "tsx json map html htm php txt xml pdf ttf otf eot woff mp3 mp4 webm wasm",
    ])
});

/// Characters that, touching an address, mean the match is a fragment of something else.
fn is_address_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'' | '@' | '/' | '=')
}

fn find_emails(text: &str) -> Vec<Spanned> {
    let mut emails = Vec::new();
    for caps in EMAIL.captures_iter(text) {
        let (Some(whole), Some(local), Some(domain)) = (caps.get(0), caps.get(1), caps.get(2))
        else {
            continue;
        };
        if text[..whole.start()]
            .chars()
            .next_back()
            .is_some_and(is_address_char)
        {
            continue;
        }
        let mut after = text[whole.end()..].chars();
        match (after.next(), after.next()) {
            (Some(c), _) if c.is_alphanumeric() || matches!(c, '_' | '-' | '@') => continue,
            // "x@y.com.2": the domain goes on in a shape the pattern does not accept.
            (Some('.'), Some(d)) if d.is_alphanumeric() => continue,
            _ => {}
        }
        let domain = domain.as_str().to_ascii_lowercase();
        let tld = domain.rsplit('.').next().unwrap_or_default();
        if FILE_EXTENSIONS.contains(tld) {
            continue;
        }
        let local = if ends_with_ignore_case(&text[..whole.start()], "mailto:") {
            percent_decode(local.as_str())
        } else {
            local.as_str().to_owned()
        };
        emails.push((whole.range(), format!("{local}@{domain}")));
    }
    emails
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.is_char_boundary(text.len() - suffix.len())
        && text[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Decodes `%XX` escapes that stand for characters an address may hold; leaves the rest alone.
fn percent_decode(local: &str) -> String {
    let bytes = local.as_bytes();
    let mut out = String::with_capacity(local.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let decoded = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .map(char::from)
                .filter(|c| c.is_ascii_alphanumeric() || "._%+-'".contains(*c));
            if let Some(c) = decoded {
                out.push(c);
                i += 3;
                continue;
            }
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Masking: spans that look numeric but are something else

/// Blanks spans of `text` that are not phone numbers, keeping every byte offset.
fn mask(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut blank = |start: usize, end: usize| bytes[start..end].fill(MASK);

    let plain: [&Regex; 8] = [
        &AT_TOKEN,
        &URL,
        &TIME,
        &PERCENT,
        &HASH_NUMBER,
        &DIGITS_THEN_LETTERS,
        &CURRENCY_BEFORE,
        &CURRENCY_AFTER,
    ];
    for re in plain {
        for m in re.find_iter(text) {
            blank(m.start(), m.end());
        }
    }
    for m in LETTERS_THEN_DIGITS.find_iter(text) {
        // "Tel.0612345678", "WA:+60…" are labelled phones, not references.
        if !starts_with_phone_word(m.as_str()) {
            blank(m.start(), m.end());
        }
    }
    // Shapes that are only what they look like when nothing numeric continues them.
    let shapes: [&Regex; 5] = [&DATE_YMD, &DATE_DMY, &IPV4, &ZIP_PLUS_4, &CARD_GROUPED];
    for re in shapes {
        let mut at = 0;
        while let Some(m) = re.find_at(text, at) {
            if stands_alone(text, m.start(), m.end()) {
                blank(m.start(), m.end());
                at = m.end();
            } else {
                at = next_char_boundary(text, m.start());
            }
        }
    }
    for m in LONG_DIGIT_RUN.find_iter(text) {
        if !text[..m.start()].ends_with('+') {
            blank(m.start(), m.end());
        }
    }

    // Matches start and end on character boundaries, so a blanked span is whole characters
    // replaced by ASCII bytes: still valid UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// The byte masked spans are filled with: neither a digit, a letter nor a separator.
const MASK: u8 = 0x01;

fn next_char_boundary(text: &str, at: usize) -> usize {
    (at + 1..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len())
}

/// Whether a numeric shape found at `start..end` is not part of a longer run of digit groups.
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let mut after = text[end..].chars();
    let continued_after = match (after.next(), after.next()) {
        (Some(c), _) if c.is_ascii_digit() => true,
        (Some('.' | '-' | '/'), Some(d)) => d.is_ascii_digit(),
        _ => false,
    };
    let mut before = text[..start].chars().rev();
    let continued_before = match (before.next(), before.next()) {
        (Some(c), _) if c.is_ascii_digit() || c == '+' => true,
        (Some('.' | '-' | '/'), Some(d)) => d.is_ascii_digit(),
        _ => false,
    };
    !continued_after && !continued_before
}

/// A vocabulary: lower-case words without accents.
type Words = LazyLock<HashSet<&'static str>>;

fn words(lines: &[&'static str]) -> HashSet<&'static str> {
    lines
        .iter()
        .flat_map(|line| line.split_whitespace())
        .collect()
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("lead pattern")
}

static AT_TOKEN: LazyLock<Regex> = LazyLock::new(|| regex(r"\S*@\S*"));
static URL: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b(?:https?://|www\.)\S+"));
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b[0-9]{1,2}(?::[0-9]{2}(?::[0-9]{2})?|h[0-9]{2})(?:\s?[ap]\.?m\b\.?)?")
});
static PERCENT: LazyLock<Regex> = LazyLock::new(|| regex(r"[0-9][0-9.,]*\s?%"));
static HASH_NUMBER: LazyLock<Regex> = LazyLock::new(|| regex(r"[#№]\s?[0-9][0-9 -]*"));
/// `ORD-2024-000123`, `INV2024`, `SW1A`, `v1.2.3`, `No.123456`.
static LETTERS_THEN_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b\p{L}[\p{L}\p{N}]*[-_/#.]?\p{N}[\p{L}\p{N}_./-]*"));
/// `250g`, `3x`, `1AA`, `2nd`, `10am`.
static DIGITS_THEN_LETTERS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b\p{N}+-?\p{L}[\p{L}\p{N}]*"));
const AMOUNT: &str =
    r"(?:[0-9]{1,3}(?:[.,' \u{a0}\u{202f}][0-9]{3})+(?:[.,][0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?)";
const CURRENCY_SIGN: &str = r"[$€£¥₹₩₽₺฿₫₱¢]";
const CURRENCY_CODE: &str =
    r"(?:usd|eur|gbp|myr|idr|sgd|chf|aud|cad|inr|jpy|cny|hkd|thb|php|vnd|nzd|sek|nok|dkk|pln)";
static CURRENCY_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)(?:{CURRENCY_SIGN}|\b(?:{CURRENCY_CODE}|rm|rp|us\$|s\$|a\$)\.?)[ \u{{a0}}]?{AMOUNT}\b"
    ))
});
static CURRENCY_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i){AMOUNT}[ \u{{a0}}]?(?:{CURRENCY_SIGN}|(?:{CURRENCY_CODE}|euros?|dollars?|pounds?|ringgit|rupiah|francs?)\b|,-)"
    ))
});
static DATE_YMD: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}\b"));
static DATE_DMY: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[0-9]{1,2}[-/.][0-9]{1,2}[-/.](?:[0-9]{4}|[0-9]{2})\b"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b"));
static ZIP_PLUS_4: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[0-9]{5}-[0-9]{4}\b"));
static CARD_GROUPED: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b(?:[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -][0-9]{1,3})?|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5})\b",
    )
});
/// 13 to 19 digits in one piece: a card or account number (a phone that long has a `+`).
static LONG_DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[1-9][0-9]{12,18}\b"));

// ---------------------------------------------------------------------------------------------
// Phone candidates

/// Digit groups joined by short separator runs, after an optional `+` and bracket.
static CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\+?\(?\+?[0-9]+(?:[ \t\u{a0}\u{202f}.\-/()]{1,3}[0-9]+)*"));

static WHATSAPP_LINK: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b(?:wa\.me/|api\.whatsapp\.com/send/?\?phone=)\+?([0-9]{7,15})\b")
});

/// At most this many calls to the phone parser per message: bounds the work a pasted document
/// can cause.
const PARSE_BUDGET: usize = 400;
const MIN_DIGITS: usize = 7;
const MAX_DIGITS: usize = 17;

/// One run of digits inside a candidate.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
}

/// A candidate's digit groups; the first one's `start` is moved back over a leading `+` or `(`.
fn digit_groups(masked: &str, start: usize, end: usize) -> Vec<Group> {
    let bytes = masked.as_bytes();
    let mut groups = Vec::new();
    let mut i = start;
    while i < end {
        if bytes[i].is_ascii_digit() {
            let begin = i;
            while i < end && bytes[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(Group {
                start: begin,
                end: i,
            });
        } else {
            i += 1;
        }
    }
    groups
}

/// The phone numbers in one run of digit groups: greedily, the longest valid span starting at
/// the leftmost group not yet used.
fn numbers_in_run(
    text: &str,
    groups: &[Group],
    region: Option<country::Id>,
    budget: &mut usize,
) -> Vec<Spanned> {
    let mut found = Vec::new();
    // What the words before a run say holds for all of it: "order 123 456 789 012" has no
    // phone number hiding in its tail.
    if groups
        .first()
        .is_none_or(|g| is_blocked_by_context(text, g.start))
    {
        return found;
    }
    let mut first = 0;
    while first < groups.len() {
        // The spans starting at `first` that are short enough to be a phone number.
        let mut digits_up_to = Vec::new();
        let mut digits = String::new();
        for group in &groups[first..] {
            digits.push_str(&text[group.start..group.end]);
            if digits.len() > MAX_DIGITS {
                break;
            }
            digits_up_to.push(digits.clone());
        }
        let mut taken = None;
        for (offset, digits) in digits_up_to.iter().enumerate().rev() {
            if digits.len() < MIN_DIGITS {
                break;
            }
            if *budget == 0 {
                return found;
            }
            *budget -= 1;
            let start = groups[first].start;
            let plus = text[..start].trim_end_matches('(').ends_with('+');
            if let Some(number) = judge(digits, plus, region) {
                taken = Some((first + offset, number));
                break;
            }
        }
        match taken {
            Some((last, number)) => {
                found.push((groups[first].start..groups[last].end, number));
                first = last + 1;
            }
            None => first += 1,
        }
    }
    found
}

/// libphonenumber's verdict on one span: its E.164 form if it is a valid number.
fn judge(digits: &str, plus: bool, region: Option<country::Id>) -> Option<String> {
    if plus {
        return parse_valid(region, &format!("+{digits}"));
    }
    if let Some(international) = digits.strip_prefix("00") {
        // The region's own international prefix first (it may not be 00), then 00 as "+".
        if let Some(number) = region.and_then(|r| parse_valid(Some(r), digits)) {
            return Some(number);
        }
        return parse_valid(region, &format!("+{international}"));
    }
    let region = region?;
    let meta = DATABASE.by_id(region.as_ref())?;
    let trunk = meta.national_prefix().filter(|prefix| *prefix != "1");
    let country_code = meta.country_code().to_string();
    match trunk {
        Some(trunk) if !digits.starts_with(trunk) && !digits.starts_with(&country_code) => None,
        _ => parse_valid(Some(region), digits),
    }
}

fn parse_valid(region: Option<country::Id>, number: &str) -> Option<String> {
    // The parser has had panics on odd input; never let one escape into the conversation.
    panic::catch_unwind(AssertUnwindSafe(|| {
        let parsed = phonenumber::parse(region, number).ok()?;
        phonenumber::is_valid(&parsed).then(|| parsed.format().mode(Mode::E164).to_string())
    }))
    .ok()
    .flatten()
}

fn find_whatsapp_links(text: &str) -> Vec<Spanned> {
    WHATSAPP_LINK
        .captures_iter(text)
        .filter_map(|caps| {
            let whole = caps.get(0)?;
            let number = parse_valid(None, &format!("+{}", caps.get(1)?.as_str()))?;
            Some((whole.range(), number))
        })
        .collect()
}

fn parse_region(code: &str) -> Option<country::Id> {
    let code = code.trim().rsplit(['-', '_']).next()?.to_ascii_uppercase();
    let code = if code == "UK" { "GB".to_owned() } else { code };
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let id: country::Id = code.parse().ok()?;
    DATABASE.by_id(id.as_ref()).map(|_| id)
}

// ---------------------------------------------------------------------------------------------
// Context

/// Words after which a number is a reference, not a phone: "order 123456789", "ref: 0612…".
static REFERENCE_WORDS: Words = LazyLock::new(|| {
    words(&[
        // en
        "order orders invoice inv ref reference receipt ticket tracking sku id no nr num po",
        "account acct iban customer serial imei isbn ean upc model version ver v code zip",
        "postcode postal parcel shipment booking reservation transaction confirmation item",
        "article product",
        // fr
        "commande cmd facture suivi colis client dossier cp art",
        // es
        "pedido factura referencia envio seguimiento cliente reserva articulo",
        // de
        "bestellung bestellnummer rechnung rechnungsnummer auftrag auftragsnummer",
        "kundennummer sendungsnummer artikel artikelnummer plz buchung",
        // ms / id
        "pesanan invois resi rujukan tempahan poskod kodepos transaksi akaun rekening faktur",
    ])
});

/// Words that say the number that follows *is* a phone, winning over a reference word further
/// away: "no HP 0812-3456-7890", "numéro de téléphone : 06…".
static PHONE_WORDS: Words = LazyLock::new(|| {
    words(&[
        "tel telp tlp telephone telefon telefono telepon phone ph mobile mob cell cellphone",
        "portable movil handy hp handphone wa whatsapp fax gsm call sms text appelez appeler",
        "rappeler llamar llame llamame anrufen hubungi ring dial mobil ponsel",
    ])
});

/// Whether the words just before `start` (same sentence, at most three) make the number a
/// reference rather than a phone.
fn is_blocked_by_context(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end_matches(['+', '(']);
    let tail = before.trim_end_matches([' ', '\t', '\u{a0}', ':', '-', '=']);
    if tail.ends_with(['#', '№']) {
        return true;
    }
    for word in last_words(before, 3) {
        if PHONE_WORDS.contains(word.as_str()) {
            return false;
        }
        if REFERENCE_WORDS.contains(word.as_str()) {
            return true;
        }
    }
    false
}

/// Up to `n` words before the end of `text`, nearest first, lower-cased and without accents.
/// Stops at the end of the previous sentence and at a number: "order 2024, call 06…" says
/// nothing about the phone number.
fn last_words(text: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = text;
    while words.len() < n {
        let trimmed = rest.trim_end_matches(|c: char| !is_word_char(c) && !is_sentence_end(c));
        let Some(last) = trimmed.chars().next_back() else {
            break;
        };
        if is_sentence_end(last) {
            let before = &trimmed[..trimmed.len() - last.len_utf8()];
            // "no. 123" and "Tel. 06…" are abbreviations, not the end of a sentence.
            if last == '.' && ABBREVIATIONS.contains(word_before(before).as_str()) {
                rest = before;
                continue;
            }
            break;
        }
        let word = word_before(trimmed);
        let byte_len: usize = trimmed
            .chars()
            .rev()
            .take_while(|c| is_word_char(*c))
            .map(char::len_utf8)
            .sum();
        rest = &trimmed[..trimmed.len() - byte_len];
        if word.chars().all(|c| c.is_ascii_digit()) {
            break;
        }
        words.push(word);
    }
    words
}

static ABBREVIATIONS: Words =
    LazyLock::new(|| words(&["no nr n ref tel telp num inv cmd art mob ph"]));

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '°'
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | '\n')
}

/// The word that ends `text`, folded: lower case, no accents, `n°`/`nº` as `no`.
fn word_before(text: &str) -> String {
    let mut word: Vec<char> = text
        .chars()
        .rev()
        .take_while(|c| is_word_char(*c))
        .map(|c| match c {
            '°' | 'º' => 'o',
            c => fold_char(c),
        })
        .collect();
    word.reverse();
    word.into_iter().collect()
}

/// Lower-case ASCII for the letters context words use; other characters lower-cased as they are.
fn fold_char(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Î' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'Ó' | 'Ô' | 'Ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        'ñ' | 'Ñ' => 'n',
        c => c.to_lowercase().next().unwrap_or(c),
    }
}

fn starts_with_phone_word(token: &str) -> bool {
    let letters: String = token
        .chars()
        .take_while(|c| c.is_alphabetic())
        .map(fold_char)
        .collect();
    PHONE_WORDS.contains(letters.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (message, default region, expected e-mail addresses)
    const EMAILS: &[(&str, &str, &[&str])] = &[
        ("jane+shop@example.com", "FR", &["jane+shop@example.com"]),
        (
            "write to a.b@mail.example.co.uk please",
            "GB",
            &["a.b@mail.example.co.uk"],
        ),
        ("mail me at x@y.com.", "US", &["x@y.com"]),
        ("John.Doe@Example.COM", "US", &["John.Doe@example.com"]),
        ("first-last@my-shop.fr", "FR", &["first-last@my-shop.fr"]),
        (
            "<a href=\"mailto:jane@example.org\">",
            "US",
            &["jane@example.org"],
        ),
        (
            "mailto:jane%2Bshop@example.com",
            "US",
            &["jane+shop@example.com"],
        ),
        (
            "(contact: support_team@shop.io)",
            "US",
            &["support_team@shop.io"],
        ),
        ("email: o'brien@example.ie", "GB", &["o'brien@example.ie"]),
        (
            "ahmad@syarikat.com.my, terima kasih",
            "MY",
            &["ahmad@syarikat.com.my"],
        ),
        ("budi.santoso@gmail.com!", "ID", &["budi.santoso@gmail.com"]),
        (
            "Jane@Example.com or jane@example.com",
            "US",
            &["Jane@example.com"],
        ),
    ];

    /// (message, default region, expected phone numbers in E.164)
    const PHONES: &[(&str, &str, &[&str])] = &[
        ("Call me on 06 12 34 56 78", "FR", &["+33612345678"]),
        ("06.12.34.56.78", "FR", &["+33612345678"]),
        ("0612345678", "FR", &["+33612345678"]),
        ("06-12-34-56-78", "FR", &["+33612345678"]),
        ("+33 6 12 34 56 78", "FR", &["+33612345678"]),
        ("+33 (0)6 12 34 56 78", "FR", &["+33612345678"]),
        ("0033 6 12 34 56 78", "FR", &["+33612345678"]),
        ("Tél. : 06 12 34 56 78", "FR", &["+33612345678"]),
        ("tel:0612345678", "FR", &["+33612345678"]),
        ("(415) 555-2671", "US", &["+14155552671"]),
        ("415.555.2671", "US", &["+14155552671"]),
        ("+1 415-555-2671", "US", &["+14155552671"]),
        ("1-415-555-2671", "US", &["+14155552671"]),
        ("tel:+33612345678", "US", &["+33612345678"]),
        ("0033 6 12 34 56 78 from the US", "US", &["+33612345678"]),
        ("020 7946 0018", "GB", &["+442079460018"]),
        ("+44 20 7946 0018", "GB", &["+442079460018"]),
        ("020 7946 0018", "uk", &["+442079460018"]),
        ("030 12345678", "DE", &["+493012345678"]),
        ("030/12345678", "DE", &["+493012345678"]),
        ("+49 30 12345678", "DE", &["+493012345678"]),
        ("012-345 6789", "MY", &["+60123456789"]),
        ("+60 12-345 6789", "MY", &["+60123456789"]),
        ("60123456789", "MY", &["+60123456789"]),
        ("no HP 012-345 6789", "MY", &["+60123456789"]),
        ("0812-3456-7890", "ID", &["+6281234567890"]),
        ("+62 812 3456 7890", "ID", &["+6281234567890"]),
        ("https://wa.me/6281234567890", "ID", &["+6281234567890"]),
        ("612 34 56 78", "ES", &["+34612345678"]),
        ("+34 612 345 678", "ES", &["+34612345678"]),
        ("06 12 34 56 78", "fr-FR", &["+33612345678"]),
        ("+33 6 12 34 56 78", "", &["+33612345678"]),
        (
            "06 12 34 56 78 / 07 98 76 54 32",
            "FR",
            &["+33612345678", "+33798765432"],
        ),
    ];

    /// (message, default region): none of these holds a lead.
    const NOT_LEADS: &[(&str, &str)] = &[
        ("It costs €1,299.00", "FR"),
        ("only $ 45.99", "US"),
        ("1 299 €", "FR"),
        ("harga Rp 1.500.000", "ID"),
        ("RM 1,299.00", "MY"),
        ("order #123456789", "FR"),
        ("ORD-2024-000123", "FR"),
        ("my order number is 123456789", "US"),
        ("invoice 0612345678", "FR"),
        ("ref: 0612345678", "FR"),
        ("commande n° 0612345678", "FR"),
        ("nomor pesanan 081234567890", "ID"),
        ("delivered on 2024-05-12", "DE"),
        ("12/05/2024", "DE"),
        ("12.05.2024", "DE"),
        ("2024-05-12 10:30", "US"),
        ("at 10:30", "FR"),
        ("v1.2.3", "US"),
        ("version 2.0.14", "DE"),
        ("75001 Paris", "FR"),
        ("SW1A 1AA", "GB"),
        ("94105-1234", "US"),
        ("save 50%", "FR"),
        ("12.5 % off", "DE"),
        ("server 192.168.100.123", "DE"),
        ("4111 1111 1111 1111", "US"),
        ("4111111111111111", "FR"),
        ("in 2023", "US"),
        ("3 x 250g", "FR"),
        ("123456789", "FR"),
        ("0612345678", ""),
        ("0612345678", "XX"),
        ("call me at 12345", "US"),
        ("@jane", "US"),
        ("icon@2x.png", "US"),
        ("logo@3x.webp and main@1.js", "US"),
        ("lodash@4.17.21", "US"),
        ("jane@localhost", "US"),
        ("@jane@mastodon.social", "US"),
        ("a..b@example.com", "US"),
    ];

    #[test]
    fn every_e_mail_case_gives_its_addresses() {
        let wrong: Vec<_> = EMAILS
            .iter()
            .map(|(text, region, expected)| (text, *expected, extract(text, region).emails))
            .filter(|(_, expected, got)| expected != got)
            .collect();
        assert!(wrong.is_empty(), "(message, expected, found): {wrong:#?}");
    }

    #[test]
    fn every_phone_case_gives_its_numbers_in_e164() {
        let wrong: Vec<_> = PHONES
            .iter()
            .map(|(text, region, expected)| (text, region, *expected, extract(text, region).phones))
            .filter(|(_, _, expected, got)| expected != got)
            .collect();
        assert!(
            wrong.is_empty(),
            "(message, region, expected, found): {wrong:#?}"
        );
    }

    #[test]
    fn prices_references_dates_and_asset_names_are_not_leads() {
        let wrong: Vec<_> = NOT_LEADS
            .iter()
            .map(|(text, region)| (text, region, extract(text, region)))
            .filter(|(_, _, found)| !found.is_empty())
            .collect();
        assert!(wrong.is_empty(), "(message, region, found): {wrong:#?}");
    }

    #[test]
    fn a_french_mobile_and_a_plus_address_in_one_message_give_both() {
        let found = extract(
            "Call me on 06 12 34 56 78 or write to jane+shop@example.com",
            "FR",
        );
        assert_eq!(found.phones, ["+33612345678"]);
        assert_eq!(found.emails, ["jane+shop@example.com"]);
    }

    #[test]
    fn a_price_an_order_number_and_a_date_next_to_a_phone_leave_only_the_phone() {
        let found = extract(
            "Order ORD-2024-000123 of 12/05/2024 cost €1,299.00, call me at 0612345678 after 10:30",
            "FR",
        );
        assert_eq!(found.phones, ["+33612345678"]);
        assert!(found.emails.is_empty());
    }

    #[test]
    fn a_reference_word_in_the_previous_sentence_does_not_block_a_phone() {
        let found = extract("I have an order. 0612345678 is my mobile", "FR");
        assert_eq!(found.phones, ["+33612345678"]);
    }

    #[test]
    fn numbers_come_in_order_of_appearance_without_duplicates() {
        let found = extract(
            "+44 20 7946 0018, or 06 12 34 56 78, or again +33 6 12 34 56 78",
            "FR",
        );
        assert_eq!(found.phones, ["+442079460018", "+33612345678"]);
    }

    #[test]
    fn a_malaysian_visitor_gives_whatsapp_and_email_in_malay() {
        let found = extract(
            "Boleh hubungi saya di WhatsApp 012-345 6789 atau emel siti.aminah@syarikat.com.my",
            "MY",
        );
        assert_eq!(found.phones, ["+60123456789"]);
        assert_eq!(found.emails, ["siti.aminah@syarikat.com.my"]);
    }

    #[test]
    fn digits_inside_an_email_address_are_not_a_phone() {
        let found = extract("0612345678@example.com", "FR");
        assert_eq!(found.emails, ["0612345678@example.com"]);
        assert!(found.phones.is_empty());
    }

    #[test]
    fn an_unknown_region_keeps_only_international_numbers() {
        let found = extract("06 12 34 56 78 or +44 20 7946 0018", "ZZ");
        assert_eq!(found.phones, ["+442079460018"]);
    }

    #[test]
    fn masking_keeps_every_byte_offset() {
        let text =
            "Prix : 1 299 €, commande n° ORD-2024-000123 du 12.05.2024 — appelez le 06 12 34 56 78";
        assert_eq!(mask(text).len(), text.len());
    }

    #[test]
    fn arbitrary_digit_soup_never_panics() {
        // A small deterministic generator: phone-like noise of every shape.
        let alphabet: Vec<char> = "0123456789 +-.()/#%€:".chars().collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2_000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            for region in ["FR", "US", "MY", ""] {
                let _ = extract(&text, region);
            }
        }
    }

    #[test]
    fn a_long_pasted_document_is_processed_in_bounded_time() {
        let text = "06 12 34 56 78 - 12 34 56 78 90 12 ".repeat(2_000);
        let started = std::time::Instant::now();
        let found = extract(&text, "FR");
        assert_eq!(found.phones, ["+33612345678"]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_question_beside_contact_details_is_kept_without_them() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "Hi, my email is jane@example.org, what is your return policy?",
                "",
                "what is your return policy?",
            ),
            (
                "my email is jane@example.org what is your return policy",
                "",
                "what is your return policy",
            ),
            (
                "Can you deliver to Lyon? My number is 06 12 34 56 78.",
                "FR",
                "Can you deliver to Lyon?",
            ),
            (
                "Bonjour, mon numéro : 06 12 34 56 78. Quels sont vos horaires ?",
                "FR",
                "Quels sont vos horaires ?",
            ),
            (
                "mi correo es ana@example.es ¿cuánto cuesta el envío?",
                "ES",
                "cuánto cuesta el envío?",
            ),
            (
                "Meine E-Mail ist max@example.de. Wie lange dauert der Versand",
                "DE",
                "Wie lange dauert der Versand",
            ),
            (
                "no HP saya 0812-3456-7890, berapa ongkos kirim ke Bandung?",
                "ID",
                "berapa ongkos kirim ke Bandung?",
            ),
        ];
        for (text, region, rest) in cases {
            let split = split(text, region);
            assert!(!split.found.is_empty(), "{text}");
            assert!(!split.only_contact(), "{text}: {split:?}");
            assert_eq!(split.rest, *rest, "{text}");
        }
    }

    #[test]
    fn contact_details_alone_ask_nothing() {
        for (text, region) in [
            ("my email is jane@example.org", ""),
            ("Hi! My email is jane@example.org, thanks", ""),
            ("jane@example.org is my email", ""),
            (
                "Call me on 06 12 34 56 78 or write to jane+shop@example.com",
                "FR",
            ),
            ("You can reach me at +33 6 12 34 56 78.", ""),
            (
                "mon numéro de téléphone est le 06 12 34 56 78, merci !",
                "FR",
            ),
            ("nombor telefon saya 012-345 6789", "MY"),
            ("email: jane@example.org (please send me the catalogue)", ""),
        ] {
            let split = split(text, region);
            assert!(split.only_contact(), "{text}: {split:?}");
        }
    }

    #[test]
    fn a_message_without_contact_details_is_left_whole() {
        for text in ["What is your return policy?", "ok", "order #123456789"] {
            let split = split(text, "FR");
            assert!(!split.only_contact());
            assert_eq!(split.rest, text);
            assert!(split.found.is_empty());
        }
        let found = split(
            "write to a@example.org, A@EXAMPLE.ORG or +33 6 12 34 56 78",
            "",
        );
        assert_eq!(
            found.found,
            extract(
                "write to a@example.org, A@EXAMPLE.ORG or +33 6 12 34 56 78",
                ""
            )
        );
    }
}

/// Hostile messages: long digit runs, separators everywhere, huge words, any Unicode. Contact
/// extraction ends within its parse budget and finds only well-formed details.
#[cfg(test)]
mod hostile {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_message_gives_well_formed_details(text in "([0-9 +().-]{0,40}|[a-z@.]{0,30}|\\PC{0,20}|wa\\.me/[0-9]{0,20}){0,40}", region in "(FR|US|MY|ID|DE|ES|uk|fr-FR|xx|)") {
            let found = extract(&text, &region);
            for phone in &found.phones {
                prop_assert!(phone.starts_with('+') && phone[1..].bytes().all(|b| b.is_ascii_digit()), "{}", phone);
            }
            for email in &found.emails {
                prop_assert!(email.contains('@'), "{}", email);
            }
        }
    }

    #[test]
    fn huge_messages_end() {
        let digits = "0612345678 ".repeat(20_000);
        let _ = extract(&digits, "FR");
        let at = format!("{}@{}", "a".repeat(100_000), "b.".repeat(50_000));
        let _ = extract(&at, "FR");
        let separators = "+-+-(".repeat(50_000);
        let _ = extract(&separators, "US");
    }
}
