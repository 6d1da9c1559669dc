//! Reading a visitor's question before retrieval.
//!
//! Two things matter to an extractive engine: which words carry the question's meaning, and
//! whether the question asks about one thing or several. Interrogative phrases ("how long",
//! "how much", "what time") carry the *kind* of answer wanted, not its topic: "long" in "how long
//! do refunds take?" is not about length, and a passage about refunds should not be judged by
//! whether it says "long". They are removed before the question is analysed. A conjunction
//! ("shipping times and returns") marks a question in several parts, which may be answered from
//! several passages; a question in one part is answered from one passage.

/// Phrases removed from questions, per primary language.
fn interrogatives(language: &str) -> &'static [&'static str] {
    match language {
        "en" => &[
            "how long",
            "how much",
            "how many",
            "how often",
            "how far",
            "how soon",
            "what time",
            "what kind of",
            "what sort of",
            "what type of",
            "is it possible to",
            "is there any",
            "is there a",
            "are there any",
            "can i",
            "can you",
            "could you",
            "do you",
            "does it",
            "i would like to know",
            "i want to know",
            "tell me",
            // Verbs that carry the asking, not the topic ("can I get a refund?").
            "get",
            "got",
            "want",
            "wanna",
            "need",
            "know",
            "please",
            "possible",
            "able",
            // Chat spellings of function words, which the stop-word list knows only with their
            // apostrophes ("what's", "don't") or in full: left in, "whats" in "whats your phone
            // number" is a word no page uses and weighs as much as "phone".
            "whats",
            "wheres",
            "whens",
            "hows",
            "whos",
            "whys",
            "u",
            "ur",
            "pls",
            "plz",
            "thx",
            "thanks",
            "thank you",
            "hi",
            "hello",
            "hey",
            "ok",
            "okay",
            "im",
            "ive",
            "dont",
            "doesnt",
            "didnt",
            "isnt",
            "arent",
            "hasnt",
            "havent",
            "cant",
            "couldnt",
            "wouldnt",
            "shouldnt",
        ],
        "fr" => &[
            "combien de temps",
            "combien de",
            "combien",
            "à quelle heure",
            "quel est",
            "quelle est",
            "quels sont",
            "quelles sont",
            "est-ce que",
            "est-ce qu'",
            "pouvez-vous",
            "est-il possible de",
            "quel",
            "quelle",
            "quels",
            "quelles",
            // Greetings and politeness, which are not the topic.
            "bonjour",
            "salut",
            "merci",
            "svp",
            "stp",
            "s'il vous plaît",
            "s'il te plaît",
        ],
        "es" => &[
            "cuánto tiempo",
            "cuántos",
            "cuántas",
            "cuánto",
            "a qué hora",
            "cuál es",
            "cuáles son",
            "es posible",
            "hola",
            "gracias",
            "por favor",
            "porfa",
        ],
        "de" => &[
            "wie lange",
            "wie viel",
            "wie viele",
            "um wie viel uhr",
            "gibt es",
            "ist es möglich",
            "hallo",
            "danke",
            "bitte",
        ],
        "it" => &[
            "quanto tempo",
            "quanto costa",
            "quanti",
            "quante",
            "a che ora",
            "qual è",
            "è possibile",
        ],
        "pt" => &[
            "quanto tempo",
            "quantos",
            "quantas",
            "quanto",
            "a que horas",
            "qual é",
            "é possível",
        ],
        "nl" => &["hoe lang", "hoeveel", "hoe laat", "is het mogelijk"],
        "id" | "ms" => &[
            "berapa lama",
            "berapa banyak",
            "berapa",
            "jam berapa",
            "apakah",
            "bisakah",
            "bolehkah",
        ],
        _ => &[],
    }
}

fn conjunctions(language: &str) -> &'static [&'static str] {
    match language {
        "en" => &["and", "also", "plus"],
        "fr" => &["et", "aussi"],
        "es" => &["y", "también"],
        "de" => &["und", "auch"],
        "it" => &["e", "anche"],
        "pt" => &["e", "também"],
        "nl" => &["en", "ook"],
        "id" | "ms" => &["dan", "juga"],
        _ => &[],
    }
}

/// Common verbs and adverbs that phrase a question in any domain. Used to weigh question words
/// the bot's knowledge never mentions: these are phrasing, anything else is a topic the
/// knowledge does not cover.
fn generic_words(language: &str) -> &'static [&'static str] {
    match language {
        "en" => &[
            "take", "takes", "took", "long", "make", "makes", "give", "gives", "find", "tell",
            "say", "use", "go", "goes", "come", "work", "works", "look", "way", "ways", "thing",
            "things", "much", "many", "often", "soon", "usually", "normally", "exactly",
            "actually", "really", "still", "yet", "ever", "already", "able", "possible", "happen",
            "happens", "going", "let", "put", "see", "show", "send", "sent", "receive", "received",
        ],
        "fr" => &[
            "faire", "fait", "prendre", "prend", "combien", "temps", "savoir", "dire", "aller",
            "va", "vont", "possible", "recevoir",
        ],
        "es" => &[
            "hacer", "tomar", "toma", "tarda", "tiempo", "saber", "decir", "posible", "recibir",
        ],
        "de" => &[
            "machen", "dauert", "dauern", "lange", "wissen", "sagen", "möglich", "bekommen",
        ],
        _ => &[],
    }
}

/// The analysed terms of the question's generic words.
pub fn generic_terms(
    language: &str,
    topic: &str,
    analyzer: &mut sitechat_search::TextAnalyzer,
) -> std::collections::HashSet<String> {
    let primary = language.split('-').next().unwrap_or(language);
    let list = generic_words(primary);
    topic
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| list.contains(&w.to_lowercase().as_str()))
        .flat_map(|w| sitechat_search::analyze_with(analyzer, w))
        .collect()
}

/// Units a number can measure: "2.5 kg" is an amount, not version 2.5 of something.
const UNITS: &[&str] = &[
    "kg", "g", "mg", "lb", "lbs", "oz", "km", "m", "cm", "mm", "mi", "miles", "ft", "inches", "l",
    "ml", "gb", "mb", "kb", "tb", "%", "percent", "h", "hrs", "hours", "min", "minutes", "days",
    "weeks", "months", "years", "x", "times", "stars", "eur", "euros", "usd", "dollars", "gbp",
    "pounds",
];

/// The version numbers a question names after a name ("python 3.12", "postgres 15.4",
/// "release v2.1.0"): a number with one or two dots, each part at most three digits, either
/// written with a leading "v" or right after a word that is not a stop word, not one of the
/// [`generic_words`] and not a word for a price, and not followed by a unit. Decimals in
/// arithmetic ("1.1 - 0.9"), amounts ("does it cost 3.50?", "2.5 kg"), prices after a currency
/// sign and long fractions ("0.20000000000000007") are not versions, nor is any number in a
/// question that wants a price, a duration or a time of day ("do you close by 5.30?").
pub fn versions(
    language: &str,
    question: &Question,
    analyzer: &mut sitechat_search::TextAnalyzer,
) -> Vec<String> {
    if question.wants.is_some_and(|w| {
        matches!(
            w,
            crate::wanted::Wanted::Price
                | crate::wanted::Wanted::Duration
                | crate::wanted::Wanted::TimeOfDay
        )
    }) {
        return Vec::new();
    }
    // The topic is lower-case (see [`read`]).
    let topic = &question.topic;
    let primary = language.split('-').next().unwrap_or(language);
    let generic = generic_words(primary);
    let words: Vec<&str> = topic
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, '?' | '!' | ',' | ';' | ':' | '(' | ')' | '"'))
        })
        .collect();
    let is_version = |w: &str| {
        let parts: Vec<&str> = w.split('.').collect();
        (2..=3).contains(&parts.len())
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let word = word.trim_end_matches('.');
        let (number, named) = match word.strip_prefix('v') {
            Some(rest) => (rest, true),
            None => (word, false),
        };
        if !is_version(number) {
            continue;
        }
        let after_name = i > 0 && {
            let name = words[i - 1];
            name.chars().count() >= 2
                && name.chars().all(char::is_alphabetic)
                && !generic.contains(&name)
                && !crate::wanted::names_price(name)
                && !sitechat_search::analyze_with(analyzer, name).is_empty()
        };
        let unit = words.get(i + 1).is_some_and(|next| UNITS.contains(next));
        if (named || after_name) && !unit && !out.iter().any(|v: &String| v == number) {
            out.push(number.to_owned());
        }
    }
    out
}

/// A question as the engine reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The question without interrogative phrases, for retrieval and weighting.
    pub topic: String,
    /// Whether it asks about several things at once.
    pub multi_part: bool,
    /// How sure it is that the question is in another language than the bot's
    /// ([`sitechat_core::language::foreign`]).
    pub foreign: f64,
    /// The detail it asks for (a phone number, a price, a time of day…), if any.
    pub wants: Option<crate::wanted::Wanted>,
}

fn is_boundary(c: Option<char>) -> bool {
    c.is_none_or(|c| !c.is_alphanumeric())
}

/// Removes every whole-word occurrence of `phrase` from `text` (both lower-case).
fn remove_phrase(text: &str, phrase: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(phrase) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + phrase.len()..].chars().next();
        let whole = is_boundary(before) && (is_boundary(after) || phrase.ends_with('\''));
        out.push_str(&rest[..at]);
        out.push_str(if whole { " " } else { phrase });
        rest = &rest[at + phrase.len()..];
    }
    out.push_str(rest);
    out
}

/// Reads a question in the bot's language.
pub fn read(language: &str, text: &str) -> Question {
    let primary = language.split('-').next().unwrap_or(language);
    let lower = text.to_lowercase();
    let mut topic = lower.clone();
    for phrase in interrogatives(primary) {
        topic = remove_phrase(&topic, phrase);
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let joiners = conjunctions(primary);
    let multi_part =
        words.iter().any(|w| joiners.contains(w)) || lower.contains(" & ") || lower.contains(';');
    Question {
        topic,
        multi_part,
        foreign: sitechat_core::language::foreign(text, primary),
        wants: crate::wanted::Wanted::asked(primary, text),
    }
}

/// Openings that make a question a follow-up of the previous one ("and on Saturdays?").
fn follow_up_openings(language: &str) -> &'static [&'static str] {
    match language {
        "en" => &[
            "and",
            "what about",
            "how about",
            "also",
            "same for",
            "and what about",
        ],
        "fr" => &[
            "et",
            "et pour",
            "et le",
            "et la",
            "et les",
            "quid de",
            "pareil pour",
        ],
        "es" => &[
            "y",
            "y el",
            "y la",
            "y los",
            "y las",
            "qué hay de",
            "y para",
        ],
        "de" => &["und", "was ist mit", "und für", "wie ist es mit"],
        "ms" | "id" => &["dan", "bagaimana dengan", "macam mana dengan", "kalau"],
        _ => &["and"],
    }
}

/// Words that point back to something named before ("how much is it?").
fn back_references(language: &str) -> &'static [&'static str] {
    match language {
        "en" => &[
            "it", "its", "that", "this", "they", "them", "those", "these", "one",
        ],
        "fr" => &[
            "il", "elle", "ils", "elles", "ça", "cela", "ce", "celui", "celle", "le", "la", "les",
        ],
        "es" => &[
            "eso", "esto", "ese", "esa", "lo", "la", "los", "las", "él", "ella",
        ],
        "de" => &["es", "das", "dies", "dieser", "diese", "ihn", "sie"],
        "ms" | "id" => &["itu", "ini", "nya", "dia", "mereka"],
        _ => &[],
    }
}

/// Words that point back to a place named before ("is there parking there?"), in the
/// languages that have them unambiguously.
fn place_references(language: &str) -> &'static [&'static str] {
    match language {
        "en" => &["there"],
        // "là-bas" is read as "là" and "bas".
        "fr" => &["là"],
        "es" => &["allí", "ahí", "allá"],
        "de" => &["dort", "dorthin"],
        "ms" | "id" => &["sana", "situ"],
        _ => &[],
    }
}

/// Words after which "there" only says that something exists ("is there parking?").
const EXISTENTIAL: &[&str] = &["is", "are", "was", "were", "isn't", "aren't"];

/// Whether a question's words (lower-case) open with a continuation ("and on Saturdays?").
pub fn continues(primary: &str, words: &[&str]) -> bool {
    follow_up_openings(primary).iter().any(|o| {
        let n = o.split(' ').count();
        words.len() > n && words[..n].join(" ") == *o
    })
}

/// Whether a question's words (lower-case) point back to something named before: with a pronoun
/// ("it", "ça", "eso") or a word for a place ("there", not after "is" or "are").
pub fn points_back(primary: &str, words: &[&str]) -> bool {
    let pronoun = words.iter().any(|w| back_references(primary).contains(w));
    let place = words.iter().enumerate().any(|(i, w)| {
        place_references(primary).contains(w)
            && !(primary == "en" && i > 0 && EXISTENTIAL.contains(&words[i - 1]))
    });
    pronoun || place
}

/// Most words, and most words of topic, a question pointing back may have to be read as a
/// follow-up.
const SHORT_WORDS: usize = 5;
const SHORT_TOPIC: usize = 2;

/// Reads a question in the light of the conversation: a follow-up ("and on Saturdays?", "how
/// much is it?") is understood as the previous question with the follow-up's own words added,
/// so that retrieval looks for what both ask about. A question that stands on its own is
/// returned as it is.
///
/// A follow-up opens with a continuation ("and", "what about", "et", "y", "und", "dan"…) or is
/// short and points back: with a pronoun ("it", "that", "ça", "eso"…) or a word for a place
/// ("there", not after "is" or "are"; "là", "allí", "dort"). Short is at most five words, or at
/// most two words of topic once the asking and the chat spellings are set aside ("whats the
/// minimum order for that": "minimum order"; "ok how long are they valid?": "valid").
pub fn in_context(language: &str, text: &str, previous: Option<&str>) -> String {
    let Some(previous) = previous.map(str::trim).filter(|p| !p.is_empty()) else {
        return text.to_owned();
    };
    let primary = language.split('-').next().unwrap_or(language);
    let lower = text.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 8 {
        return text.to_owned();
    }
    let opens = continues(primary, &words);
    // The topic is analysed only for a question that points back in more than five words.
    let short = || {
        words.len() <= SHORT_WORDS || {
            let mut analyzer = sitechat_search::analyzer(primary);
            let topic = sitechat_search::analyze_with(&mut analyzer, &read(primary, text).topic);
            topic.len() <= SHORT_TOPIC
        }
    };
    let points_back = points_back(primary, &words) && short();
    if opens || points_back {
        format!("{previous} {text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_follows_a_name_or_a_v() {
        let versions = |language: &str, text: &str| {
            versions(
                language,
                &read(language, text),
                &mut sitechat_search::analyzer(language),
            )
        };
        assert_eq!(versions("en", "What's new in Python 3.12?"), ["3.12"]);
        assert_eq!(
            versions("en", "is postgres 15.4 or v16.1.2 supported?"),
            ["15.4", "16.1.2"]
        );
        assert_eq!(versions("fr", "quoi de neuf dans python 3.12 ?"), ["3.12"]);
        // Arithmetic, amounts, prices and long fractions are not versions.
        for text in [
            "why does 1.1 - 0.9 give 0.20000000000000007?",
            "can I send a parcel of 2.5 kg?",
            "is delivery £3.95 or $4.50?",
            "does it cost 3.50?",
            "do you close by 5.30 on fridays?",
            "rated 4.5 stars?",
            "what is 3.12?",
            "python 3.12.1.4",
        ] {
            assert!(versions("en", text).is_empty(), "{text}");
        }
    }

    #[test]
    fn how_long_is_not_part_of_the_topic() {
        let q = read("en", "How long do refunds take?");
        assert!(!q.topic.contains("long"), "{}", q.topic);
        assert!(q.topic.contains("refunds take"));
        assert!(!q.multi_part);
    }

    #[test]
    fn asking_verbs_are_not_part_of_the_topic() {
        let q = read("en", "Can I get a refund, please?");
        let mut analyzer = sitechat_search::analyzer("en");
        assert_eq!(
            sitechat_search::analyze_with(&mut analyzer, &q.topic),
            ["refund"]
        );
    }

    #[test]
    fn a_phrase_inside_a_word_is_kept() {
        assert!(read("en", "Do you sell canisters?")
            .topic
            .contains("canisters"));
    }

    #[test]
    fn a_conjunction_makes_a_question_multi_part() {
        assert!(read("en", "shipping times and returns policy").multi_part);
        assert!(read("fr", "livraison et retours").multi_part);
        assert!(!read("en", "Do you have a store in Andorra?").multi_part);
    }

    #[test]
    fn french_interrogatives_are_removed() {
        let q = read("fr", "Combien de temps prend la livraison ?");
        assert!(!q.topic.contains("combien"), "{}", q.topic);
        assert!(q.topic.contains("livraison"));
    }

    #[test]
    fn chat_spellings_of_function_words_are_not_the_topic() {
        let q = read("en", "hi, whats ur phone number pls? i cant find it");
        assert_eq!(
            q.topic
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>(),
            ["phone", "number", "i", "find", "it"]
        );
    }

    #[test]
    fn a_follow_up_is_read_with_the_previous_question() {
        let previous = Some("When are you open on weekdays?");
        assert_eq!(
            in_context("en", "and on Saturdays?", previous),
            "When are you open on weekdays? and on Saturdays?"
        );
        assert!(
            in_context("en", "How much is it?", Some("Do you sell the Kettle Pro?"))
                .contains("Kettle Pro")
        );
        assert!(
            in_context("fr", "et le samedi ?", Some("Quels sont vos horaires ?"))
                .contains("horaires")
        );
        assert!(
            in_context("es", "¿y los sábados?", Some("¿Cuál es el horario?")).contains("horario")
        );
        assert!(
            in_context("de", "und am Samstag?", Some("Wann habt ihr geöffnet?"))
                .contains("geöffnet")
        );
        assert!(in_context("ms", "dan hari Sabtu?", Some("Bila kedai dibuka?")).contains("dibuka"));
    }

    #[test]
    fn a_follow_up_may_point_back_to_a_place_or_say_little_in_many_words() {
        let bath = Some("where's the Bath shop?");
        assert!(in_context("en", "is there parking there?", bath).contains("Bath"));
        assert!(in_context(
            "es",
            "¿hay aparcamiento allí?",
            Some("¿Dónde está la tienda?")
        )
        .contains("tienda"));
        assert!(
            in_context("de", "gibt es dort Parkplätze?", Some("Wo ist der Laden?"))
                .contains("Laden")
        );
        // "there" after a verb of being says only that something exists.
        assert_eq!(
            in_context("en", "is there parking?", bath),
            "is there parking?"
        );
        // Six words, but two of topic.
        let klarna = Some("can I pay with Klarna?");
        assert!(in_context("en", "whats the minimum order for that", klarna).contains("Klarna"));
        assert!(in_context(
            "en",
            "ok how long are they valid?",
            Some("do you do gift cards?")
        )
        .contains("gift cards"));
        // Six words pointing back, but three of topic: a question of its own.
        assert_eq!(
            in_context(
                "en",
                "does that include delivery to Scotland",
                Some("When are you open?")
            ),
            "does that include delivery to Scotland"
        );
    }

    #[test]
    fn a_question_that_stands_alone_is_left_alone() {
        let previous = Some("When are you open?");
        assert_eq!(
            in_context("en", "How long do refunds take?", previous),
            "How long do refunds take?"
        );
        assert_eq!(in_context("en", "Android app?", previous), "Android app?");
        assert_eq!(
            in_context("en", "and on Saturdays?", None),
            "and on Saturdays?"
        );
    }
}
