//! The kind of detail a question asks for, and whether a sentence gives one.
//!
//! "whats your phone number" is answered by "Customer service: 0117 496 0352, Monday to Friday
//! 9am to 5pm.", under a heading "Phone and email", not by "Go to My account > Details to change
//! your name, email address, phone number or saved addresses.", which has both of the question's
//! words and none of what it wants. Words and meaning cannot tell the two apart; the number can.
//! When a sentence of the retrieved passages gives the wanted detail, the composer builds the
//! reply around one that does, and counts it as saying the words that name the detail (see
//! `compose`).
//!
//! Six details are told apart, in the six languages at once (a visitor may ask in another
//! language than the bot's):
//!
//! - a phone number, an email address or a postal address, when the question names it as the
//!   business's, not the visitor's own: "what is your email address", "numéro du magasin",
//!   "Welche E-Mail-Adresse", "where's the Bath shop?", but not "how do I change my email
//!   address" or "the password reset email never came";
//! - a price, when the question asks how much ("how much is shipping?", "combien coûte…", "was
//!   kostet…", "do I have to pay for…"), not when a price is only its topic ("do your prices
//!   include VAT?", "can I pay with Klarna?"); "free" gives one too;
//! - a duration ("how long…", "combien de temps…", "cuánto tarda…", "wie lange…");
//! - a time of day ("what time…", "à quelle heure…", "wann schließt ihr…").
//!
//! Hand-written rather than learnt: there is no tagged data for it here, and the rules are few
//! and readable.

/// A detail a question can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Phone,
    Email,
    Address,
    /// An amount of money, or that something is free: "how much is shipping?", "do I have to pay
    /// for return postage?", "combien coûte…", "was kostet…".
    Price,
    /// How long something takes or lasts: "how long do refunds take?", "combien de temps…",
    /// "cuánto tarda…", "wie lange…".
    Duration,
    /// A time of day: "what time do you close on Saturdays?", "à quelle heure…", "wann schließt
    /// ihr…".
    TimeOfDay,
}

/// Words that name a phone.
const PHONE: &[&str] = &[
    "phone",
    "telephone",
    "tel",
    "téléphone",
    "tél",
    "teléfono",
    "telefono",
    "telefon",
    "telefonnummer",
    "rufnummer",
    "telepon",
    "hotline",
    "helpline",
];

/// Words for a number, which name a phone number only when the number is a place's or a
/// service's ("the number for the Bath shop", "nummer vom Laden"), not a count ("the number of
/// columns") or a value ("a random number").
const NUMBER: &[&str] = &[
    "number", "numéro", "numero", "número", "nummer", "nombor", "nomor",
];

/// Words linking a number to whose it is.
const OF: &[&str] = &[
    "for", "of", "to", "pour", "du", "de", "des", "para", "del", "für", "vom", "von", "der",
    "untuk", "bagi",
];

/// Places and services that have a phone number.
const SERVICES: &[&str] = &[
    "shop",
    "store",
    "office",
    "branch",
    "showroom",
    "support",
    "service",
    "team",
    "desk",
    "helpdesk",
    "customer",
    "magasin",
    "boutique",
    "agence",
    "bureau",
    "tienda",
    "oficina",
    "sucursal",
    "atención",
    "atencion",
    "soporte",
    "laden",
    "geschäft",
    "filiale",
    "büro",
    "kundenservice",
    "kundendienst",
    "kedai",
    "pejabat",
    "cawangan",
    "toko",
    "kantor",
    "cabang",
    "layanan",
];

/// Words that name email ("e-mail" is read as "e" and "mail").
const EMAIL: &[&str] = &["email", "mail", "emel", "courriel"];

/// Words that name an address, or a part of one only an address has.
const ADDRESS: &[&str] = &[
    "address",
    "adress",
    "postcode",
    "zip",
    "zipcode",
    "located",
    "adresse",
    "postale",
    "dirección",
    "direccion",
    "anschrift",
    "postanschrift",
    "postleitzahl",
    "plz",
    "alamat",
    "poskod",
];

/// "código postal", "code postal", "kode pos": an address too.
const POSTAL_PAIRS: &[(&str, &str)] = &[
    ("code", "postal"),
    ("código", "postal"),
    ("codigo", "postal"),
    ("kode", "pos"),
];

/// Words asking which one, or naming it as the business's.
const WHOSE: &[&str] = &[
    "your", "ur", "what", "which", "votre", "vos", "ton", "quel", "quelle", "vuestro", "vuestra",
    "su", "tu", "qué", "que", "cuál", "cual", "eure", "euer", "eurer", "ihre", "welche", "welcher",
    "anda", "awak",
];

/// "your number": the business's.
const YOUR: &[&str] = &["your", "ur"];

/// Words naming it as the visitor's own.
const OWN: &[&str] = &[
    "my", "mon", "ma", "mes", "mi", "mis", "mein", "meine", "meinen", "meiner", "saya", "aku",
];

/// Words beside "address" that make it another kind of address, or the visitor's.
const OTHER_ADDRESSES: &[&str] = &[
    "ip",
    "delivery",
    "billing",
    "shipping",
    "livraison",
    "facturation",
    "entrega",
    "envío",
    "envio",
    "facturación",
    "facturacion",
    "penghantaran",
    "web",
    "mac",
    "email",
    "mail",
    "courriel",
    "correo",
    "electrónico",
    "electronico",
    "électronique",
    "electronique",
    "emel",
];

/// Words asking where something is.
const WHERE: &[&str] = &["where", "wheres", "où", "dónde", "donde", "wo", "mana"];

/// Words after "ou" that make it "où" written without its accent ("ou est votre magasin").
const OU_IS: &[&str] = &["est", "sont", "se", "êtes", "etes", "trouve", "trouver"];

/// "are you", "êtes-vous", "seid ihr", "estáis", "r u" after a word asking where: the
/// business's own place ("where are you?"), not where it delivers ("where do you deliver?").
fn asks_for_you(after: &[&str]) -> bool {
    match after {
        ["estáis" | "estais", ..] => true,
        [are, you, ..] => {
            ["are", "r", "êtes", "etes", "seid"].contains(are)
                && ["you", "u", "vous", "ihr"].contains(you)
        }
        _ => false,
    }
}

impl Wanted {
    /// The detail a message asks for, if it asks for one, in the bot's primary
    /// `language`. Its sentences are read from the last: a follow-up read with the question
    /// before it ("where's the Bath shop? and the Bristol one?") wants what that question
    /// wanted ("and for Bath?"), unless it points back to ask something new ("where's the Bath
    /// shop? is there parking there?").
    pub fn asked(language: &str, message: &str) -> Option<Self> {
        let lower = message.to_lowercase();
        for sentence in lower.rsplit(['?', '!', '¿', '¡', '\n']) {
            let words: Vec<&str> = sentence
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            if let Some(wanted) = Self::in_words(&words) {
                return Some(wanted);
            }
            let continues = crate::question::continues(language, &words);
            if crate::question::points_back(language, &words) && !continues {
                return None;
            }
        }
        None
    }

    /// The detail one sentence's words (lower-case) ask for: a contact detail first ("what
    /// hours is the phone line open" wants the number, with its hours), then a price, a
    /// duration or a time of day.
    fn in_words(words: &[&str]) -> Option<Self> {
        Self::contact_in(words)
            .or_else(|| asks_price(words).then_some(Self::Price))
            .or_else(|| asks_duration(words).then_some(Self::Duration))
            .or_else(|| asks_time_of_day(words).then_some(Self::TimeOfDay))
    }

    /// The contact detail one sentence's words ask for.
    fn contact_in(words: &[&str]) -> Option<Self> {
        // The visitor's own detail ("my email address") is not asked for.
        let own_before = |i: usize| {
            words[i.saturating_sub(2)..i]
                .iter()
                .any(|w| OWN.contains(w))
        };
        // One word before, two after: "email address", "adresse de livraison".
        let near = |i: usize, list: &[&str]| {
            let from = i.saturating_sub(1);
            let to = (i + 3).min(words.len());
            (from..to).any(|j| j != i && list.contains(&words[j]))
        };
        for (i, w) in words.iter().enumerate() {
            if own_before(i) {
                continue;
            }
            if EMAIL.contains(w) {
                let addressed = near(i, ADDRESS);
                let whose = words[i.saturating_sub(2)..i]
                    .iter()
                    .any(|w| WHOSE.contains(w));
                if addressed || whose {
                    return Some(Self::Email);
                }
            }
            if PHONE.contains(w) {
                return Some(Self::Phone);
            }
            if NUMBER.contains(w) {
                let of_a_service = words.get(i + 1).is_some_and(|n| OF.contains(n))
                    && words[i + 2..(i + 5).min(words.len())]
                        .iter()
                        .any(|w| SERVICES.contains(w));
                let whose = i > 0 && YOUR.contains(&words[i - 1]);
                if of_a_service || whose {
                    return Some(Self::Phone);
                }
            }
            // "where's the Bath shop?", "wo ist der Laden?", "ou est votre magasin ?"
            let asks_where = WHERE.contains(w)
                || (*w == "ou" && words.get(i + 1).is_some_and(|n| OU_IS.contains(n)));
            let after = &words[i + 1..];
            if asks_where
                && (after.iter().take(4).any(|w| SERVICES.contains(w)) || asks_for_you(after))
            {
                return Some(Self::Address);
            }
            let postal = words
                .get(i + 1)
                .is_some_and(|n| POSTAL_PAIRS.contains(&(*w, *n)));
            if (ADDRESS.contains(w) && !near(i, OTHER_ADDRESSES)) || postal {
                return Some(Self::Address);
            }
        }
        None
    }

    /// The words that name the detail, in every language: a sentence that gives the detail says
    /// them, as far as the question's words go.
    pub fn names(self) -> Vec<&'static str> {
        match self {
            Self::Phone => [PHONE, NUMBER].concat(),
            Self::Email => [EMAIL, ADDRESS].concat(),
            Self::Address => ADDRESS
                .iter()
                .copied()
                .chain(POSTAL_PAIRS.iter().flat_map(|&(a, b)| [a, b]))
                .collect(),
            Self::Price => PRICE_WORDS.to_vec(),
            Self::Duration => DURATION_WORDS.to_vec(),
            Self::TimeOfDay => [TIME_WORDS, OPEN_CLOSE].concat(),
        }
    }

    /// Whether `text` gives such a detail.
    pub fn given_in(self, text: &str) -> bool {
        match self {
            Self::Phone => has_phone_number(text),
            Self::Email => has_email_address(text),
            Self::Address => has_street_address(text),
            Self::Price => has_price(text),
            Self::Duration => has_duration(text),
            Self::TimeOfDay => has_time_of_day(text),
        }
    }
}

/// Words asking for a price, or naming one: a reply with an amount says them.
const PRICE_WORDS: &[&str] = &[
    "cost",
    "costs",
    "price",
    "prices",
    "priced",
    "fee",
    "fees",
    "charge",
    "charges",
    "coût",
    "cout",
    "coûte",
    "coute",
    "coûtent",
    "coutent",
    "prix",
    "tarif",
    "tarifs",
    "frais",
    "payant",
    "payante",
    "precio",
    "precios",
    "coste",
    "costo",
    "cuesta",
    "cuestan",
    "gastos",
    "tarifa",
    "importe",
    "kostet",
    "kosten",
    "preis",
    "preise",
    "gebühr",
    "gebühren",
    "betrag",
    "harga",
    "kos",
    "biaya",
    "bayaran",
];

/// Words for paying, which ask for a price when what is paid for follows ("do I have to pay for
/// return postage?"), not how ("can I pay with Klarna?").
const PAY: &[&str] = &["pay", "payer", "pagar", "zahlen", "bezahlen", "bayar"];
const PAY_FOR: &[&str] = &[
    "for", "to", "extra", "more", "anything", "pour", "por", "para", "für", "untuk",
];

/// "how much", "combien", "cuánto", "wie viel", "berapa", and the words after them that make
/// them ask for a price ("how much is shipping?", not "how much notice do you need?").
const HOW_MUCH: &[&[&str]] = &[
    &["how", "much"],
    &["combien"],
    &["cuánto"],
    &["cuanto"],
    &["wie", "viel"],
    &["wieviel"],
    &["berapa"],
];
const HOW_MUCH_PRICE: &[&str] = &[
    "is", "are", "does", "do", "will", "would", "for", "to", "it", "that", "this", "s", "was",
    "coûte", "coute", "coûtent", "coutent", "ça", "ca", "c", "ce", "pour", "faut", "je", "on",
    "cuesta", "cuestan", "vale", "valen", "es", "son", "cobráis", "cobrais", "cobran", "cobra",
    "sale", "pago", "kostet", "kosten", "ist", "sind", "zahle", "bezahle", "verlangt", "harga",
];

/// Whether `words` hold `phrase` from `i` on.
fn phrase_at(words: &[&str], i: usize, phrase: &[&str]) -> bool {
    words.len() >= i + phrase.len() && words[i..i + phrase.len()] == *phrase
}

/// Words asking which or how much, before a word for a price that then asks for an amount
/// ("what's the price of…", "combien coûte…", "was kostet…"), unlike a price that is only the
/// topic ("do your prices include VAT?", "do you price match?").
const WHICH: &[&str] = &[
    "what", "whats", "how", "which", "quel", "quelle", "quels", "combien", "cuál", "cual", "qué",
    "que", "cuánto", "cuanto", "cuánta", "cuanta", "was", "wie", "welcher", "welche", "welches",
    "welchem", "welchen", "wieviel", "berapa", "apa",
];
/// Words after a verb of costing that ask whether it costs at all ("does it cost anything?").
const ANYTHING: &[&str] = &[
    "anything",
    "something",
    "extra",
    "algo",
    "quelque",
    "rien",
    "etwas",
    "apa",
];

/// Whether a word (lower-case) is a word for a price ("cost", "prix", "Versandkosten").
fn is_price_word(word: &str) -> bool {
    PRICE_WORDS.contains(&word)
        || word.ends_with("kosten")
        || word.ends_with("gebühr")
        || word.ends_with("gebühren")
}

/// Whether a word (lower-case) names a price or paying: a number after it is an amount ("does
/// it cost 3.50?", "pay 4.99").
pub(crate) fn names_price(word: &str) -> bool {
    is_price_word(word) || PAY.contains(&word)
}

fn asks_price(words: &[&str]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        let how_much = HOW_MUCH
            .iter()
            .find(|p| phrase_at(words, i, p))
            .is_some_and(|p| {
                words
                    .get(i + p.len())
                    .is_none_or(|next| HOW_MUCH_PRICE.contains(next))
            });
        let pays = PAY.contains(w) && words.get(i + 1).is_some_and(|next| PAY_FOR.contains(next));
        let priced = is_price_word(w);
        let asked = words[i.saturating_sub(3)..i]
            .iter()
            .any(|w| WHICH.contains(w))
            || words.get(i + 1).is_some_and(|next| ANYTHING.contains(next));
        how_much || pays || (priced && asked)
    })
}

/// Currency signs and codes, and words for money.
const CURRENCY_SIGNS: &[char] = &['£', '$', '€', '¥', '₹'];
const CURRENCY_WORDS: &[&str] = &[
    "eur", "usd", "gbp", "chf", "rm", "rp", "myr", "idr", "sgd", "euro", "euros", "dollar",
    "dollars", "pound", "pounds", "pence", "libras", "pfund", "ringgit", "rupiah",
];
/// Words saying that something costs nothing.
const FREE: &[&str] = &[
    "free",
    "gratuit",
    "gratuite",
    "gratuits",
    "gratuites",
    "gratis",
    "gratuito",
    "gratuita",
    "kostenlos",
    "kostenfrei",
    "gebührenfrei",
    "percuma",
];

/// An amount with a currency ("£4.95", "4,95 £", "RM 50", "10 euros"), or a word saying that
/// something is free.
fn has_price(text: &str) -> bool {
    let tokens: Vec<String> = tokens(text);
    let has_digit = |t: &str| t.chars().any(|c| c.is_ascii_digit());
    tokens.iter().enumerate().any(|(i, t)| {
        let signed =
            t.contains(CURRENCY_SIGNS) && (has_digit(t) || neighbours(&tokens, i).any(has_digit));
        let coded = CURRENCY_WORDS.contains(&t.as_str()) && neighbours(&tokens, i).any(has_digit);
        signed || coded || FREE.contains(&t.as_str())
    })
}

/// The words before and after token `i`.
fn neighbours(tokens: &[String], i: usize) -> impl Iterator<Item = &str> {
    [i.checked_sub(1), Some(i + 1)]
        .into_iter()
        .flatten()
        .filter_map(|j| tokens.get(j))
        .map(String::as_str)
}

/// `text`'s words, lower-case, split at white space, with the punctuation around them trimmed
/// (a currency sign is kept: "£4.95", "€").
fn tokens(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && !CURRENCY_SIGNS.contains(&c))
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Words asking how long, or naming a duration.
const DURATION_WORDS: &[&str] = &[
    "time", "take", "takes", "long", "last", "temps", "délai", "delai", "tiempo", "tarda",
    "tardan", "tardáis", "tardais", "plazo", "dauer", "dauert", "lange", "frist", "lama", "tempoh",
];
const HOW_LONG: &[&[&str]] = &[
    &["how", "long"],
    &["how", "soon"],
    &["combien", "de", "temps"],
    &["cuánto", "tiempo"],
    &["cuanto", "tiempo"],
    &["cuánto", "tarda"],
    &["cuanto", "tarda"],
    &["cuánto", "tardan"],
    &["cuanto", "tardan"],
    &["wie", "lange"],
    &["berapa", "lama"],
];
/// "how many days", "combien de jours", "cuántos días", "wie viele Tage".
const HOW_MANY: &[&[&str]] = &[
    &["how", "many"],
    &["combien", "de"],
    &["combien", "d"],
    &["cuántos"],
    &["cuantos"],
    &["cuántas"],
    &["cuantas"],
    &["wie", "viele"],
    &["berapa"],
];

fn asks_duration(words: &[&str]) -> bool {
    (0..words.len()).any(|i| {
        let how_many_units = HOW_MANY
            .iter()
            .find(|p| phrase_at(words, i, p))
            .is_some_and(|p| {
                words
                    .get(i + p.len())
                    .is_some_and(|unit| UNITS.contains(unit))
            });
        HOW_LONG.iter().any(|p| phrase_at(words, i, p))
            || how_many_units
            || [
                "délai", "delai", "plazo", "tardáis", "tardais", "dauert", "frist", "tempoh",
            ]
            .contains(&words[i])
    })
}

/// Units of time, singular and plural, in the six languages.
const UNITS: &[&str] = &[
    "minute",
    "minutes",
    "min",
    "mins",
    "hour",
    "hours",
    "hr",
    "hrs",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "heure",
    "heures",
    "jour",
    "jours",
    "semaine",
    "semaines",
    "mois",
    "an",
    "ans",
    "année",
    "années",
    "minuto",
    "minutos",
    "hora",
    "horas",
    "día",
    "días",
    "dia",
    "dias",
    "semana",
    "semanas",
    "mes",
    "meses",
    "año",
    "años",
    "minuten",
    "stunde",
    "stunden",
    "tag",
    "tage",
    "tagen",
    "werktag",
    "werktage",
    "werktagen",
    "woche",
    "wochen",
    "monat",
    "monate",
    "monaten",
    "jahr",
    "jahre",
    "jahren",
    "minit",
    "menit",
    "jam",
    "hari",
    "minggu",
    "bulan",
    "tahun",
];

/// Numbers written as words, up to twelve, and "a" ("within a day").
const NUMBER_WORDS: &[&str] = &[
    "a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "un", "une", "deux", "trois", "quatre", "cinq", "sept", "huit", "dix",
    "uno", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "diez", "ein", "eine",
    "einen", "einem", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "zehn", "satu",
    "dua", "tiga", "empat", "lima", "tujuh",
];

/// A number (in digits or words) with a unit of time at most two words after it: "30 days",
/// "5 working days", "2 Jahre", "within a day".
fn has_duration(text: &str) -> bool {
    let tokens = tokens(text);
    tokens.iter().enumerate().any(|(i, t)| {
        let number = t.chars().next().is_some_and(|c| c.is_ascii_digit())
            || NUMBER_WORDS.contains(&t.as_str());
        number
            && tokens[i + 1..]
                .iter()
                .take(2)
                .any(|u| UNITS.contains(&u.as_str()))
    })
}

/// Words asking what time, or naming one.
const TIME_WORDS: &[&str] = &[
    "time", "hour", "hours", "heure", "hora", "uhr", "pukul", "jam",
];
/// Names of a business's opening hours, which are times of day: "what are your hours",
/// "horaires d'ouverture", "Öffnungszeiten".
const OPENING_HOURS: &[&[&str]] = &[
    &["opening", "hours"],
    &["opening", "times"],
    &["business", "hours"],
    &["office", "hours"],
    &["store", "hours"],
    &["shop", "hours"],
    &["your", "hours"],
    &["heures", "d", "ouverture"],
    &["horaires", "d", "ouverture"],
    &["vos", "horaires"],
    &["horario", "de", "apertura"],
    &["vuestro", "horario"],
    &["su", "horario"],
    &["öffnungszeiten"],
    &["geschäftszeiten"],
    &["jam", "buka"],
    &["waktu", "operasi"],
    &["jam", "operasi"],
];
const WHAT_TIME: &[&[&str]] = &[
    &["what", "time"],
    &["quelle", "heure"],
    &["qué", "hora"],
    &["que", "hora"],
    &["wie", "viel", "uhr"],
    &["um", "wie", "viel", "uhr"],
    &["pukul", "berapa"],
    &["jam", "berapa"],
];
/// Verbs of opening and closing, after which "when" asks for a time of day ("when do you
/// close?"; "wann schließt ihr?", "quand ouvrez-vous ?"). A sentence giving a time of day says
/// them: "wann schließt ihr samstags" is answered by "Samstag: 9:00 – 18:00 Uhr".
const OPEN_CLOSE: &[&str] = &[
    "open",
    "opens",
    "close",
    "closes",
    "öffnet",
    "öffnen",
    "schließt",
    "schliesst",
    "schließen",
    "macht",
    "offen",
    "geöffnet",
    "ouvre",
    "ouvrez",
    "ouvrent",
    "ouvert",
    "ouverts",
    "ferme",
    "fermez",
    "ferment",
    "abre",
    "abrís",
    "abris",
    "abren",
    "abierto",
    "cierra",
    "cerráis",
    "cerrais",
    "cierran",
    "buka",
    "tutup",
];
const WHEN: &[&str] = &["when", "wann", "bila", "kapan", "quand", "cuándo", "cuando"];

/// Words after "what time" that make it ask something else ("what time zone…").
const NOT_A_TIME: &[&str] = &[
    "zone", "zones", "frame", "frames", "format", "limit", "stamp",
];

fn asks_time_of_day(words: &[&str]) -> bool {
    (0..words.len()).any(|i| {
        OPENING_HOURS.iter().any(|p| phrase_at(words, i, p))
            || WHAT_TIME.iter().any(|p| {
                phrase_at(words, i, p)
                    && !words
                        .get(i + p.len())
                        .is_some_and(|next| NOT_A_TIME.contains(next))
            })
            || (WHEN.contains(&words[i])
                && !words
                    .get(i + 1)
                    .is_some_and(|w| ["did", "was", "were", "has", "have"].contains(w))
                && words[i + 1..]
                    .iter()
                    .take(4)
                    .position(|w| OPEN_CLOSE.contains(w))
                    .is_some_and(|at| {
                        !words[i + 1..=i + at]
                            .iter()
                            .any(|w| VISITORS_OWN.contains(w))
                    }))
    })
}

/// Words for the visitor and what is theirs: "when I close my account", "quand je ferme mon
/// compte" ask about the visitor's own doing, not the business's hours.
const VISITORS_OWN: &[&str] = &[
    "i", "my", "je", "j", "mon", "ma", "mes", "yo", "mi", "mis", "ich", "mein", "meine", "meinen",
    "saya", "aku",
];

/// A time of day: "9am", "5:30 pm", "17:30", "17h30", "9h", "18 Uhr".
fn has_time_of_day(text: &str) -> bool {
    let tokens = tokens(text);
    tokens.iter().enumerate().any(|(i, t)| {
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        if !(1..=2).contains(&digits) {
            return false;
        }
        let rest = &t[digits..];
        let minutes = |r: &str| r.len() == 2 && r.chars().all(|c| c.is_ascii_digit());
        match rest {
            "am" | "pm" | "h" => true,
            "" => tokens
                .get(i + 1)
                .is_some_and(|n| matches!(n.as_str(), "am" | "pm" | "uhr" | "h")),
            _ => {
                let mut chars = rest.chars();
                let sep = chars.next();
                let r = chars.as_str();
                matches!(sep, Some(':' | 'h'))
                    && (minutes(r)
                        || r.strip_suffix("am")
                            .or(r.strip_suffix("pm"))
                            .is_some_and(minutes))
            }
        }
    })
}

/// Fewest and most digits of a phone number.
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 7..=15;

/// A run of 7 to 15 digits, possibly after a "+", in groups separated by one space, hyphen, dot,
/// slash or parenthesis: "0117 496 0352", "+33 (0)1 42 68 53 00", "555-0199-42". An ISO date
/// ("2026-12-05") is not one.
fn has_phone_number(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() || (chars[i] == '+' || chars[i] == '(');
        let after_word = i > 0 && chars[i - 1].is_alphanumeric();
        if !starts || after_word {
            i += 1;
            continue;
        }
        let mut digits = 0;
        let mut run = String::new();
        let mut j = i;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                digits += 1;
            } else if !matches!(c, ' ' | '-' | '.' | '/' | '(' | ')' | '+')
                || !chars
                    .get(j + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '(')
            {
                break;
            }
            run.push(c);
            j += 1;
        }
        let date = run.len() == 10 && run.as_bytes()[4] == b'-' && run.as_bytes()[7] == b'-';
        let ends_word = chars.get(j).is_some_and(|c| c.is_alphanumeric());
        if PHONE_DIGITS.contains(&digits) && !date && !ends_word {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

/// A word with letters or digits on both sides of an "@" and a dot in its domain.
fn has_email_address(text: &str) -> bool {
    tokens(text).iter().any(|word| {
        word.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty()
                && domain.split_once('.').is_some_and(|(name, tld)| {
                    !name.is_empty() && tld.starts_with(char::is_alphabetic)
                })
        })
    })
}

/// Words for a street, after or before its number ("212 Gloucester Road", "12 rue de la Paix",
/// "Calle Mayor 5", "Jalan Ampang 8"). Words that are common in running text as well ("way",
/// "close", "drive", "court") are left out.
const STREETS: &[&str] = &[
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "lane",
    "boulevard",
    "blvd",
    "square",
    "crescent",
    "terrace",
    "parade",
    "highway",
    "rue",
    "chemin",
    "allée",
    "quai",
    "impasse",
    "calle",
    "avenida",
    "avda",
    "plaza",
    "paseo",
    "camino",
    "carretera",
    "straße",
    "strasse",
    "str",
    "weg",
    "platz",
    "allee",
    "gasse",
    "jalan",
    "jln",
    "jl",
    "lorong",
    "persiaran",
    "lebuh",
];

/// German streets are often one word: "Hauptstraße 5", "Lindenweg 3".
const STREET_ENDINGS: &[&str] = &["straße", "strasse", "weg", "platz", "allee", "gasse"];

/// A house number (1 to 5 digits, maybe with a letter: "12a") within four words of a word for a
/// street.
fn has_street_address(text: &str) -> bool {
    let words = tokens(text);
    let is_number = |w: &str| {
        let digits = w.chars().take_while(char::is_ascii_digit).count();
        (1..=5).contains(&digits) && w.chars().skip(digits).count() <= 1
    };
    let is_street = |w: &str| {
        STREETS.contains(&w)
            || STREET_ENDINGS
                .iter()
                .any(|e| w.len() > e.len() + 2 && w.ends_with(e))
    };
    words.iter().enumerate().any(|(i, w)| {
        is_number(w)
            && words[i.saturating_sub(4)..(i + 5).min(words.len())]
                .iter()
                .any(|n| is_street(n))
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KINDS: [Wanted; 6] = [
        Wanted::Phone,
        Wanted::Email,
        Wanted::Address,
        Wanted::Price,
        Wanted::Duration,
        Wanted::TimeOfDay,
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_sentence_is_read(text in "([0-9]{1,4}|[:h–\\-.,£€$@+()/ ]|am|pm|uhr|road|rue|free|\\PC{0,4}){0,40}") {
            for kind in KINDS {
                let _ = kind.given_in(&text);
            }
            let _ = Wanted::asked("en", &text);
        }
    }

    #[test]
    fn huge_texts_are_read() {
        let text = "12 road £4 9:30am, 0117 496 0352, 2 days; ".repeat(20_000);
        for kind in KINDS {
            assert_eq!(kind.given_in(&text), kind != Wanted::Email, "{kind:?}");
        }
        let question = "how much is your phone number where ".repeat(20_000);
        assert!(Wanted::asked("en", &question).is_some());
    }

    #[test]
    fn questions_that_ask_for_a_contact_detail() {
        for (question, wanted) in [
            ("whats your phone number", Wanted::Phone),
            ("what's the number for the bath shop", Wanted::Phone),
            ("and what hours is the phone line open", Wanted::Phone),
            ("c'est quoi votre numero de tel", Wanted::Phone),
            ("numero du magasin de bath ?", Wanted::Phone),
            ("cual es vuestro telefono", Wanted::Phone),
            ("nummer vom laden in bath?", Wanted::Phone),
            ("wie ist eure telefonnummer", Wanted::Phone),
            (
                "what is your email address for customer service",
                Wanted::Email,
            ),
            (
                "Welche E-Mail-Adresse für Fragen zum Datenschutz?",
                Wanted::Email,
            ),
            ("que email uso para reclamar la garantia?", Wanted::Email),
            ("whats the address of the bath shop", Wanted::Address),
            (
                "where is your bristol store exactly? postcode pls",
                Wanted::Address,
            ),
            (
                "adresse postale pour vous ecrire un courrier",
                Wanted::Address,
            ),
            ("codigo postal de la tienda de bristol", Wanted::Address),
            (
                "Wie lautet die Adresse von eurem Laden in Bristol?",
                Wanted::Address,
            ),
            (
                "postanschrift um euch einen brief zu schreiben",
                Wanted::Address,
            ),
            ("where are you located?", Wanted::Address),
            ("where's the Bath shop?", Wanted::Address),
            ("where r u", Wanted::Address),
            ("où êtes-vous ?", Wanted::Address),
            ("wo genau ist der laden in bristol?", Wanted::Address),
            (
                "ou est votre magasin de bristol exactement?",
                Wanted::Address,
            ),
            ("Hi! What's your phone number? Thanks.", Wanted::Phone),
            // A follow-up read with the question before it.
            (
                "where's the Bath shop? and the Bristol one?",
                Wanted::Address,
            ),
        ] {
            assert_eq!(Wanted::asked("en", question), Some(wanted), "{question}");
        }
    }

    #[test]
    fn questions_that_ask_for_a_price_a_duration_or_a_time() {
        for (question, wanted) in [
            ("how much is shipping?", Wanted::Price),
            ("do i have to pay for return postage", Wanted::Price),
            ("combien coute la livraison ?", Wanted::Price),
            ("c'est a partir de combien ?", Wanted::Price),
            ("cuanto cuesta el envio?", Wanted::Price),
            ("was kostet der versand?", Wanted::Price),
            ("Was sind die Versandkosten?", Wanted::Price),
            ("la devolucion por correo cuesta algo?", Wanted::Price),
            ("what's the price of a gift voucher?", Wanted::Price),
            ("how much do you charge to come out", Wanted::Price),
            ("ab welchem Betrag?", Wanted::Price),
            ("how long do refunds take?", Wanted::Duration),
            (
                "le click and collect c'est pret en combien de temps",
                Wanted::Duration,
            ),
            ("cuanto tarda en estar listo un pedido", Wanted::Duration),
            ("wie lange ist ein gutschein gültig", Wanted::Duration),
            ("how many days do I have to return it?", Wanted::Duration),
            ("what time do you close on saturdays", Wanted::TimeOfDay),
            ("vous fermez a quelle heure le samedi", Wanted::TimeOfDay),
            ("a que hora cerrais los sabados", Wanted::TimeOfDay),
            ("wann schließt ihr samstags", Wanted::TimeOfDay),
            // Opening hours are times of day; hours as a length of time are a duration.
            ("what are your hours", Wanted::TimeOfDay),
            ("what are your opening hours?", Wanted::TimeOfDay),
            ("quels sont vos horaires d'ouverture ?", Wanted::TimeOfDay),
            ("cual es vuestro horario", Wanted::TimeOfDay),
            ("Was sind eure Öffnungszeiten?", Wanted::TimeOfDay),
            ("jam buka kedai?", Wanted::TimeOfDay),
            ("quand ouvrez-vous le dimanche ?", Wanted::TimeOfDay),
            ("cuando abre la tienda de bath?", Wanted::TimeOfDay),
            ("how many hours does the repair take?", Wanted::Duration),
        ] {
            assert_eq!(Wanted::asked("en", question), Some(wanted), "{question}");
        }
        for question in [
            "can I pay with Klarna?",
            "aceptais apple pay?",
            "kann ich mit scheck bezahlen",
            "do your prices include vat?",
            "do u price match",
            "los precios llevan iva incluido?",
            "les frais de port sont rembourses si je renvoie un truc ?",
            "bekomme ich die versandkosten zurück wenn ich was zurückschicke?",
            "how much notice do you need to cancel",
            "vous etes combien dans l'equipe",
            "how many columns can a table have?",
            "when did you open the Bath shop?",
            "when i close my account is my data deleted?",
            "quand je ferme mon compte, mes données sont supprimées ?",
            "what time zone are timestamps stored in?",
        ] {
            assert_eq!(Wanted::asked("en", question), None, "{question}");
        }
    }

    #[test]
    fn sentences_that_give_a_price_a_duration_or_a_time() {
        assert!(Wanted::Price.given_in("Standard delivery costs £4.95."));
        assert!(Wanted::Price.given_in("La livraison coûte 4,95 £."));
        assert!(Wanted::Price.given_in("Harga bermula RM 50."));
        assert!(Wanted::Price.given_in("We collect it free of charge."));
        assert!(!Wanted::Price.given_in("The Bristol shop is step-free."));
        assert!(!Wanted::Price.given_in("Orders leave within 2 days."));
        assert!(Wanted::Duration.given_in("Refunds reach your account within 5 working days."));
        assert!(Wanted::Duration.given_in("Gutscheine sind 2 Jahre gültig."));
        assert!(Wanted::Duration.given_in("It is usually ready within a day."));
        assert!(!Wanted::Duration.given_in("Standard delivery costs £4.95."));
        assert!(Wanted::TimeOfDay.given_in("Saturday: 9am – 6pm"));
        assert!(Wanted::TimeOfDay.given_in("Samedi : 9h – 18h"));
        assert!(Wanted::TimeOfDay.given_in("Sábado: 9:00 – 18:00"));
        assert!(Wanted::TimeOfDay.given_in("Orders placed before 1 pm leave today."));
        assert!(Wanted::TimeOfDay.given_in("Samstag 9 bis 18 Uhr"));
        assert!(!Wanted::TimeOfDay.given_in("Delivery costs £4.95 and takes 2 days."));
        assert!(!Wanted::TimeOfDay.given_in("Open 9–5, Sundays 10–4."));
    }

    #[test]
    fn no_text_trips_the_readers() {
        for text in [
            "",
            " ",
            "9–5",
            "9h–",
            "12:",
            ":",
            "h",
            "1é",
            "9:3€",
            "٩:٣٠",
            "£",
            "€ ",
            "@",
            "a@.b",
            "+",
            "(",
            "9\u{301}h30",
            "1 ",
            "12ŝt",
            "how much",
            "wie viel",
            "where",
            "ou",
            "combien de",
            "what time",
            "my email",
            "?!¿¡\n",
        ] {
            for kind in KINDS {
                let _ = kind.given_in(text);
            }
            let _ = Wanted::asked("en", text);
            let _ = Wanted::asked("fr", text);
        }
    }

    #[test]
    fn questions_that_do_not() {
        for question in [
            "how do i change my email adress",
            "do you sell my email address to other companies",
            "comment changer mon adresse mail",
            "como cambio mi email",
            "wie ändere ich meine email adresse",
            "the password reset email never came",
            "how fast do you reply to emails",
            "how do i send an email from a script",
            "no me llega el correo para cambiar la contraseña",
            "What's the biggest number I can store in an integer column?",
            "What's the default maximum number of connections?",
            "how do I generate a random number",
            "how do I number the rows of a result 1, 2, 3...?",
            "What column type is best for storing IP addresses?",
            "can i change the delivery address after ordering",
            "where can i park if i come to the bath shop?",
            "where do your plants come from?",
            "livraison ou retrait en magasin ?",
            "where's the Bath shop? is there parking there?",
            "where do you deliver?",
            "¿dónde están mis pedidos?",
        ] {
            assert_eq!(Wanted::asked("en", question), None, "{question}");
        }
    }

    #[test]
    fn sentences_that_give_one() {
        assert!(Wanted::Phone.given_in("Customer service: 0117 496 0352, Monday to Friday."));
        assert!(Wanted::Phone.given_in("Appelez le +33 (0)1 42 68 53 00."));
        assert!(Wanted::Phone.given_in("Bath shop: 01225 496 0711."));
        assert!(!Wanted::Phone.given_in("Orders placed on 2026-12-24 leave on 2 January."));
        assert!(!Wanted::Phone.given_in("Orders over £100 ship free; 30 days to return."));
        assert!(!Wanted::Phone.given_in("Go to My account > Details to change your phone number."));
        assert!(!Wanted::Phone.given_in("The xr7000123 mower."));
        assert!(Wanted::Email.given_in("Email: hello@hazelandmoss.co.uk."));
        assert!(!Wanted::Email.given_in("Follow us on Instagram as @hazelandmoss."));
        assert!(Wanted::Address.given_in("Hazel & Moss, 41 Walcot Street, Bath BA1 5BN."));
        assert!(Wanted::Address.given_in("Notre boutique, 12 rue de la Paix, 75002 Paris."));
        assert!(Wanted::Address.given_in("Besuchen Sie uns in der Hauptstraße 5."));
        assert!(Wanted::Address.given_in("Calle Mayor, 5, Madrid."));
        assert!(!Wanted::Address.given_in("Parking: 12 free customer spaces behind the shop."));
        assert!(!Wanted::Address.given_in("Returns are accepted within 30 days."));
    }
}
