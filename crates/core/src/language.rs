//! Which language a text is in, with `whatlang`: a page's (when it does not say), and whether a
//! visitor's question is in the bot's language (a Spanish visitor on a French bot shares no word
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

/// How sure it is that a visitor's `question` is in another of the bot languages
/// ([`crate::texts::LANGUAGES`]) than `language`: whatlang's confidence in the closest of them
/// when that is not `language`, else 0. Short questions are weighed among the six only, which
/// whatlang tells apart far better than among all it knows.
pub fn foreign(question: &str, language: &str) -> f64 {
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
        Some(info) if iso_639_1(info.lang()) != Some(language) => info.confidence(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_in_another_of_the_bot_languages_is_foreign() {
        for (question, language) in [
            ("¿Puedo devolver un producto que compré en la tienda?", "fr"),
            ("Wie viel kostet der Versand nach Deutschland?", "fr"),
            (
                "Comment puis-je retourner un produit acheté en ligne ?",
                "en",
            ),
        ] {
            assert!(foreign(question, language) > 0.3, "{question}");
        }
        for (question, language) in [
            (
                "Comment puis-je retourner un produit acheté en ligne ?",
                "fr",
            ),
            ("How long do I have to send something back?", "en"),
            ("¿Puedo devolver un producto que compré en la tienda?", "es"),
        ] {
            assert_eq!(foreign(question, language), 0.0, "{question}");
        }
    }
}
