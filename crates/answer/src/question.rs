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
        ],
        "de" => &[
            "wie lange",
            "wie viel",
            "wie viele",
            "um wie viel uhr",
            "gibt es",
            "ist es möglich",
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

/// A question as the engine reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The question without interrogative phrases, for retrieval and weighting.
    pub topic: String,
    /// Whether it asks about several things at once.
    pub multi_part: bool,
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
    Question { topic, multi_part }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
