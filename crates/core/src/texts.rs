//! What a bot says by default, in each language it speaks: one table, [`defaults`].
//!
//! A bot's owner may replace the texts kept in its settings (greeting, fallback message, contact
//! prompt, away message); the others (the button offering a person, the acknowledgement of
//! contact details, the time a human is back) are always these. A bot is created with the
//! defaults of its language, and a change of language switches the texts that are still a
//! default to the new language's (see [`crate::model::BotSettings::for_language`] and
//! [`crate::model::BotSettings::switch_language`]).
//!
//! Languages are keyed by their primary subtag (`fr` for `fr-CA`); a language without a table is
//! spoken in English.

use time::OffsetDateTime;

/// The languages with their own texts.
pub const LANGUAGES: [&str; 6] = ["en", "fr", "es", "de", "ms", "id"];

/// One of the texts of a language's table.
pub type Text = fn(&Texts) -> &'static str;

/// A bot's default texts in one language.
#[derive(Debug, PartialEq, Eq)]
pub struct Texts {
    /// The first message a visitor sees.
    pub greeting: &'static str,
    /// Said when the bot's knowledge does not answer the question.
    pub fallback_message: &'static str,
    /// Asks a visitor who left no email or phone for one.
    pub contact_prompt: &'static str,
    /// Said when a human is asked for outside business hours; the next opening follows it.
    pub away_message: &'static str,
    /// The button offering a person: pressing it sends these words, a request for a human.
    pub human_offer: &'static str,
    /// The reply to a message that only gives contact details.
    pub lead_thanks: &'static str,
    /// Shown above the widget's contact form: what the visitor's details are used for.
    pub consent: &'static str,
    /// Said instead of a bot reply while an agent owns the conversation, by clients that need a
    /// text where the bot stays silent (the widget's status line says the same).
    pub with_agent: &'static str,
    /// Monday first.
    days: [&'static str; 7],
    /// When someone is back: `{day}` and `{time}` are filled in.
    back: &'static str,
}

impl Texts {
    /// When a human is back, to follow [`Texts::away_message`]: "on Monday at 09:00
    /// (UTC+02:00)", "lundi à 09:00 (UTC+02:00)".
    pub fn back_at(&self, at: OffsetDateTime) -> String {
        let day = self.days[usize::from(at.weekday().number_days_from_monday())];
        let (h, m, _) = at.offset().as_hms();
        let time = format!(
            "{:02}:{:02} (UTC{}{:02}:{:02})",
            at.hour(),
            at.minute(),
            if h < 0 || m < 0 { '-' } else { '+' },
            h.abs(),
            m.abs()
        );
        self.back.replace("{day}", day).replace("{time}", &time)
    }
}

/// The default texts of a bot speaking `language` (a BCP 47 tag such as `fr` or `fr-FR`);
/// English for a language without its own.
pub fn defaults(language: &str) -> &'static Texts {
    match primary_language(language).as_str() {
        "fr" => &FR,
        "es" => &ES,
        "de" => &DE,
        "ms" => &MS,
        "id" => &ID,
        _ => &EN,
    }
}

/// `"fr-FR"` → `"fr"`; the legacy codes `in` (Indonesian) and `zsm` (Malay) are mapped.
pub fn primary_language(tag: &str) -> String {
    let primary = tag
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match primary.as_str() {
        "in" | "ind" => "id".to_owned(),
        "zsm" | "msa" | "may" => "ms".to_owned(),
        _ => primary,
    }
}

static EN: Texts = Texts {
    greeting: "Hi! How can I help you today?",
    fallback_message: "Sorry, I couldn't find an answer to that in what I know. Could you rephrase it, or would you like me to put you in touch with a person?",
    contact_prompt: "If you leave your email address or phone number, a member of our team will get back to you.",
    away_message: "Our team is not available right now. We will be back",
    human_offer: "Talk to a person",
    lead_thanks: "Thank you, we have noted your contact details. A member of our team will get back to you.",
    consent: "We use your contact details only to answer your question.",
    with_agent: "A person is answering",
    days: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    back: "on {day} at {time}",
};

static FR: Texts = Texts {
    greeting: "Bonjour ! Comment puis-je vous aider ?",
    fallback_message: "Désolé, je n'ai pas trouvé de réponse à cette question dans ce que je sais. Pourriez-vous la reformuler, ou souhaitez-vous que je vous mette en relation avec une personne ?",
    contact_prompt: "Si vous laissez votre adresse e-mail ou votre numéro de téléphone, un membre de notre équipe vous recontactera.",
    away_message: "Notre équipe n'est pas disponible pour le moment. Nous serons de retour",
    human_offer: "Parler à un conseiller",
    lead_thanks: "Merci, nous avons bien noté vos coordonnées. Un membre de notre équipe vous recontactera.",
    consent: "Nous utilisons vos coordonnées uniquement pour répondre à votre question.",
    with_agent: "Un conseiller vous répond",
    days: ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    back: "{day} à {time}",
};

static ES: Texts = Texts {
    greeting: "¡Hola! ¿En qué puedo ayudarte?",
    fallback_message: "Lo siento, no he encontrado una respuesta a eso en lo que sé. ¿Podrías reformular la pregunta, o prefieres que te ponga en contacto con una persona?",
    contact_prompt: "Si nos dejas tu correo electrónico o tu número de teléfono, un miembro de nuestro equipo se pondrá en contacto contigo.",
    away_message: "Nuestro equipo no está disponible en este momento. Volveremos",
    human_offer: "Hablar con una persona",
    lead_thanks: "Gracias, hemos guardado tus datos de contacto. Un miembro de nuestro equipo se pondrá en contacto contigo.",
    consent: "Usamos tus datos de contacto solo para responder a tu pregunta.",
    with_agent: "Una persona te atiende",
    days: ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    back: "el {day} a las {time}",
};

static DE: Texts = Texts {
    greeting: "Hallo! Wie kann ich Ihnen helfen?",
    fallback_message: "Leider habe ich dazu in meinem Wissen keine Antwort gefunden. Können Sie die Frage anders formulieren, oder möchten Sie, dass ich Sie mit einer Person verbinde?",
    contact_prompt: "Wenn Sie Ihre E-Mail-Adresse oder Telefonnummer hinterlassen, meldet sich jemand aus unserem Team bei Ihnen.",
    away_message: "Unser Team ist gerade nicht erreichbar. Wir sind wieder da",
    human_offer: "Mit einem Mitarbeiter sprechen",
    lead_thanks: "Danke, wir haben Ihre Kontaktdaten notiert. Jemand aus unserem Team meldet sich bei Ihnen.",
    consent: "Wir nutzen Ihre Kontaktdaten nur, um Ihre Frage zu beantworten.",
    with_agent: "Ein Mitarbeiter antwortet",
    days: ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    back: "am {day} um {time}",
};

static MS: Texts = Texts {
    greeting: "Hai! Apa yang boleh saya bantu hari ini?",
    fallback_message: "Maaf, saya tidak menemui jawapan untuk soalan itu dalam maklumat saya. Boleh anda tanya dengan cara lain, atau mahu saya hubungkan anda dengan seseorang?",
    contact_prompt: "Jika anda tinggalkan alamat e-mel atau nombor telefon anda, ahli pasukan kami akan menghubungi anda.",
    away_message: "Pasukan kami tidak tersedia sekarang. Kami akan kembali",
    human_offer: "Bercakap dengan ejen",
    lead_thanks: "Terima kasih, kami telah menyimpan butiran hubungan anda. Seorang ahli pasukan kami akan menghubungi anda.",
    consent: "Kami menggunakan butiran hubungan anda hanya untuk menjawab soalan anda.",
    with_agent: "Seorang ejen sedang menjawab",
    days: ["Isnin", "Selasa", "Rabu", "Khamis", "Jumaat", "Sabtu", "Ahad"],
    back: "pada hari {day} pukul {time}",
};

static ID: Texts = Texts {
    greeting: "Halo! Ada yang bisa saya bantu hari ini?",
    fallback_message: "Maaf, saya tidak menemukan jawaban untuk pertanyaan itu dalam informasi yang saya miliki. Bisakah Anda bertanya dengan cara lain, atau ingin saya hubungkan dengan seseorang?",
    contact_prompt: "Jika Anda meninggalkan alamat email atau nomor telepon, anggota tim kami akan menghubungi Anda.",
    away_message: "Tim kami sedang tidak tersedia. Kami akan kembali",
    human_offer: "Bicara dengan agen",
    lead_thanks: "Terima kasih, kami sudah mencatat kontak Anda. Tim kami akan segera menghubungi Anda.",
    consent: "Kami menggunakan kontak Anda hanya untuk menjawab pertanyaan Anda.",
    with_agent: "Seorang agen sedang menjawab",
    days: ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"],
    back: "pada hari {day} pukul {time}",
};

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use time::macros::datetime;

    use super::*;

    #[test]
    fn every_language_has_its_own_text_for_everything_the_bot_says() {
        let fields: [(&str, Text); 6] = [
            ("greeting", |t| t.greeting),
            ("fallback_message", |t| t.fallback_message),
            ("contact_prompt", |t| t.contact_prompt),
            ("away_message", |t| t.away_message),
            ("human_offer", |t| t.human_offer),
            ("lead_thanks", |t| t.lead_thanks),
        ];
        for (name, field) in fields {
            let texts: HashSet<&str> = LANGUAGES.iter().map(|l| field(defaults(l))).collect();
            assert_eq!(texts.len(), LANGUAGES.len(), "{name}");
            assert!(texts.iter().all(|t| !t.trim().is_empty()), "{name}");
        }
        let days: HashSet<[&str; 7]> = LANGUAGES.iter().map(|l| defaults(l).days).collect();
        assert_eq!(days.len(), LANGUAGES.len(), "day names");
    }

    #[test]
    fn a_region_or_a_legacy_code_picks_its_language_and_an_unknown_one_english() {
        assert_eq!(defaults("fr-CA"), defaults("fr"));
        assert_eq!(defaults("de_AT"), defaults("de"));
        assert_eq!(defaults("in"), defaults("id"));
        assert_eq!(defaults("zsm"), defaults("ms"));
        assert_eq!(defaults("pt-br"), defaults("en"));
        assert_eq!(defaults(""), defaults("en"));
    }

    #[test]
    fn the_time_a_human_is_back_is_said_in_the_language() {
        let at = datetime!(2024-06-03 09:00 +02:00);
        assert_eq!(defaults("en").back_at(at), "on Monday at 09:00 (UTC+02:00)");
        assert_eq!(defaults("fr").back_at(at), "lundi à 09:00 (UTC+02:00)");
        assert_eq!(
            defaults("es").back_at(at),
            "el lunes a las 09:00 (UTC+02:00)"
        );
        assert_eq!(defaults("de").back_at(at), "am Montag um 09:00 (UTC+02:00)");
        assert_eq!(
            defaults("ms").back_at(at),
            "pada hari Isnin pukul 09:00 (UTC+02:00)"
        );
        assert_eq!(
            defaults("id").back_at(at),
            "pada hari Senin pukul 09:00 (UTC+02:00)"
        );
        let west = datetime!(2024-06-09 17:30 -03:30);
        assert_eq!(
            defaults("en").back_at(west),
            "on Sunday at 17:30 (UTC-03:30)"
        );
    }
}
