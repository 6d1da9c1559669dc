//! Which language a text is in: a page's (when it does not say), with `whatlang`, and whether a
//! visitor's question is in the bot's language, by its function words (a Spanish visitor on a French bot shares no word
//! with its knowledge, which tells nothing about whether the knowledge answers).

/// Detects the language of a text with `whatlang`, as an ISO 639-1 code, when the detection is
/// reliable. Only the first few thousand characters are looked at.
pub fn detect(text: &str) -> Option<String> {
    let sample: String = text.chars().take(4_000).collect();
    let info = whatlang::detect(&sample)?;
    if !info.is_reliable() {
        return None;
    }
    iso_639_1(info.lang()).map(str::to_owned)
}

/// The ISO 639-1 code of a `whatlang` language (whatlang speaks ISO 639-3).
fn iso_639_1(lang: whatlang::Lang) -> Option<&'static str> {
    use whatlang::Lang::*;
    Some(match lang {
        Epo => "eo",
        Eng => "en",
        Rus => "ru",
        Cmn => "zh",
        Spa => "es",
        Por => "pt",
        Ita => "it",
        Ben => "bn",
        Fra => "fr",
        Deu => "de",
        Ukr => "uk",
        Kat => "ka",
        Ara => "ar",
        Hin => "hi",
        Jpn => "ja",
        Heb => "he",
        Yid => "yi",
        Pol => "pl",
        Amh => "am",
        Jav => "jv",
        Kor => "ko",
        Nob => "nb",
        Dan => "da",
        Swe => "sv",
        Fin => "fi",
        Tur => "tr",
        Nld => "nl",
        Hun => "hu",
        Ces => "cs",
        Ell => "el",
        Bul => "bg",
        Bel => "be",
        Mar => "mr",
        Kan => "kn",
        Ron => "ro",
        Slv => "sl",
        Hrv => "hr",
        Srp => "sr",
        Mkd => "mk",
        Lit => "lt",
        Lav => "lv",
        Est => "et",
        Tam => "ta",
        Vie => "vi",
        Urd => "ur",
        Tha => "th",
        Guj => "gu",
        Uzb => "uz",
        Pan => "pa",
        Aze => "az",
        Ind => "id",
        Tel => "te",
        Pes => "fa",
        Mal => "ml",
        Ori => "or",
        Mya => "my",
        Nep => "ne",
        Sin => "si",
        Khm => "km",
        Tuk => "tk",
        Aka => "ak",
        Zul => "zu",
        Sna => "sn",
        Afr => "af",
        Lat => "la",
        Slk => "sk",
        Cat => "ca",
        Tgl => "tl",
        Hye => "hy",
        Cym => "cy",
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Whether a visitor's `question` is in another of the bot languages
/// ([`crate::texts::LANGUAGES`]) than `language`: 1 when the function words of another of them
/// (NLTK's stop-word lists, Indonesian's for Malay) outnumber the bot language's among the
/// question's distinct words, else 0. "¿cuánto cuesta el envío a Francia?" on a French bot has
/// el and a, Spanish's, against none of French's.
///
/// Words are compared without accents, as visitors type them ("a quelle heure"). When the
/// function words tie (often none of either, or "que en la un", which French and Spanish share),
/// whatlang decides among the bot languages, when it is sure.
///
/// Function words first because visitors' questions are short and unaccented: whatlang alone
/// found 61 % of the cross-lingual questions of `eval/cross/` (with a confidence of 0.5 or
/// more) and gave a quarter of the English shop's questions to another language with some
/// confidence. This finds 1,058 of those 1,074 questions and calls none of the 455 questions
/// of the shop corpora in their bot's own language foreign
/// (`cargo run -p sitechat-core --example foreign_check`). A question with no function word
/// that whatlang is unsure of ("vendeis jacuzzis?") is not called foreign.
pub fn foreign(question: &str, language: &str) -> f64 {
    use std::collections::{HashMap, HashSet};
    // Without accents on either side: visitors type "a quelle heure" for "à quelle heure".
    fn fold(word: &str) -> String {
        use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
        word.nfd().filter(|c| !is_combining_mark(*c)).collect()
    }
    static WORDS: std::sync::LazyLock<HashMap<&'static str, HashSet<String>>> =
        std::sync::LazyLock::new(|| {
            crate::texts::LANGUAGES
                .iter()
                .map(|code| {
                    let list = if *code == "ms" { "id" } else { code };
                    let words = stop_words::lookup(list).unwrap_or_default();
                    (*code, words.iter().map(|w| fold(w)).collect())
                })
                .collect()
        });
    let primary = language.split('-').next().unwrap_or(language);
    let same = |a: &str, b: &str| a == b || matches!((a, b), ("ms", "id") | ("id", "ms"));
    let lower = fold(&question.to_lowercase());
    let words: HashSet<&str> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let count = |code: &str| {
        WORDS.get(code).map_or(0, |list| {
            words.iter().filter(|w| list.contains(**w)).count()
        })
    };
    let own = count(primary);
    let other = crate::texts::LANGUAGES
        .iter()
        .filter(|code| !same(code, primary))
        .map(|code| count(code))
        .max()
        .unwrap_or(0);
    if other > own {
        return 1.0;
    }
    if other < own {
        return 0.0;
    }
    // As many of the bot language's as of another's (often none, or "que en la un", which
    // French and Spanish share): whatlang, among the bot languages only, when it is sure.
    static DETECTOR: std::sync::LazyLock<whatlang::Detector> = std::sync::LazyLock::new(|| {
        let allow = crate::texts::LANGUAGES
            .iter()
            .filter_map(|code| {
                whatlang::Lang::all()
                    .iter()
                    .copied()
                    .find(|l| iso_639_1(*l) == Some(*code))
            })
            .collect();
        whatlang::Detector::with_allowlist(allow)
    });
    match DETECTOR.detect(question) {
        Some(info)
            if info.confidence() >= FOREIGN_DETECTOR_CONFIDENCE
                && iso_639_1(info.lang()).is_some_and(|l| !same(l, primary)) =>
        {
            1.0
        }
        _ => 0.0,
    }
}

/// whatlang's confidence from which a question whose function words do not tell is foreign.
pub const FOREIGN_DETECTOR_CONFIDENCE: f64 = 0.5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_in_another_of_the_bot_languages_is_foreign() {
        for (question, language) in [
            ("¿Puedo devolver un producto que compré en la tienda?", "fr"),
            ("Wie viel kostet der Versand nach Deutschland?", "fr"),
            ("cuanto cuesta el envio a francia", "fr"),
            ("what time do you open on sunday in bristol?", "de"),
            ("vous livrez le samedi? ca coute combien", "es"),
            (
                "Comment puis-je retourner un produit acheté en ligne ?",
                "en",
            ),
        ] {
            assert_eq!(foreign(question, language), 1.0, "{question}");
        }
        for (question, language) in [
            (
                "Comment puis-je retourner un produit acheté en ligne ?",
                "fr",
            ),
            ("How long do I have to send something back?", "en"),
            ("¿Puedo devolver un producto que compré en la tienda?", "es"),
            ("vous ouvrez a quelle heure le dimanche a bristol ?", "fr"),
            ("apa saya boleh bayar dengan kad kredit?", "ms"),
            // No function words: nothing to tell by.
            ("vendeis jacuzzis?", "fr"),
        ] {
            assert_eq!(foreign(question, language), 0.0, "{question}");
        }
    }
}
