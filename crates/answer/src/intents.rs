//! Messages that need no retrieval: greetings, thanks, goodbyes and requests for a person.
//!
//! These are the conversation service's quick checks, run before the answer engine. Retrieval on
//! "hi" finds nothing and would answer with the fallback text; retrieval on "let me talk to a
//! human" might even find a passage about humans. [`detect`] recognises such messages, [`reply`]
//! gives the bot's short answer to them.
//!
//! ## How a message is read
//!
//! 1. **Normalised** into words: Unicode compatibility decomposition with the accents dropped,
//!    lower case, `ß` → `ss`, `n't` → ` not`, apostrophes split words (`quelqu'un` → `quelqu un`),
//!    a hyphen between letters keeps them together (`human-sized` is one word, and not "human"),
//!    all other punctuation and emoji are gaps, and letters repeated three times or more collapse
//!    (`hiii`, `byeee`).
//! 2. **Phrases joined**: known multi-word expressions become one word (`terima kasih`,
//!    `buenos dias`, `customer service`, `real person`), longest first.
//! 3. **Recognised** by vocabulary, the same for every language: a French visitor on an English
//!    bot who says "bonjour" is greeting it. The bot's language only chooses the reply.
//!
//! ## What counts
//!
//! **Greeting, Thanks, Goodbye** only when the message *is* that: every word is a greeting,
//! thanks or goodbye word, or a harmless companion ("there", "everyone", "so much", "for your
//! help", "tout le monde", "kak", "ya"…). "Hi, what are your opening hours?" has other words, so
//! it is `None` and goes to retrieval, which is what the visitor wants. When several kinds are
//! present, Goodbye wins over Thanks over Greeting ("thanks, bye!" ends the conversation).
//!
//! **Human** anywhere in a message of up to [`MAX_HUMAN_WORDS`] words, in one of three shapes:
//! - a verb of talking followed, through at most five small words, by someone to talk to: "talk to
//!   a human", "parler à un conseiller", "hablar con una persona", "bercakap dengan ejen" — or,
//!   verb-last as German puts it, "mit einem Mitarbeiter sprechen";
//! - a verb of wanting directly followed by an unmistakable target that ends the message: "I want
//!   a human", "je voudrais un conseiller", "saya butuh cs" (but not "I need staff discounts");
//! - a verb of fetching followed by someone, then only words saying who and politeness: "get me
//!   someone from your support team, now", "trouvez-moi un conseiller", "geben Sie mir einen
//!   Mitarbeiter", "panggilkan admin" (but not "get me someone to sign for the parcel");
//! - the target alone, with politeness around it: "human please", "agent!", "un humain svp".
//!
//! Targets come in two strengths. "human", "agent", "operator", "conseiller", "Mitarbeiter",
//! "ejen", "customer service"… are unmistakable. "someone", "person", "personne", "orang",
//! "team" only count after a verb of talking ("speak to someone") or fetching ("get me
//! someone"), never after "want" or alone ("do you need someone to sign?" is not a request for
//! an agent, nor "who is on your support team?"). A negation just before the
//! verb ("I don't want to talk to a human", "je ne veux pas parler à…") cancels it.
//!
//! ## Known limits
//!
//! Vocabulary covers English, French, Spanish, German, Malay and Indonesian; other languages go
//! to retrieval. Sarcasm, typos beyond letter repetition, requests phrased without a target
//! ("can you transfer me?"), and a bare target among other words without a verb for it
//! ("useless bot. human!": punctuation is not read, so "human" is not alone) are not
//! recognised. A weak target after "want" is not a request ("I want someone to call me back"),
//! however urgent the tone.

use std::{collections::HashSet, sync::LazyLock};

use sitechat_core::texts::primary_language;
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

/// A message that needs no retrieval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// "hi", "bonjour", "selamat pagi".
    Greeting,
    /// "thanks a lot", "merci beaucoup", "terima kasih".
    Thanks,
    /// "bye", "au revoir", "sampai jumpa".
    Goodbye,
    /// Asks for a person: "talk to a human", "quiero hablar con una persona".
    Human,
}

/// Longest message, in words, in which a request for a human is looked for.
pub const MAX_HUMAN_WORDS: usize = 24;
/// Longest message, in words, that can be a greeting, thanks or goodbye.
const MAX_SMALL_TALK_WORDS: usize = 12;

/// Recognises a message that needs no retrieval, whatever language it is written in.
///
/// The bot's `language` plays no part: visitors write in their own language, and the
/// vocabulary of all supported languages is checked (no word in it means different intents in
/// two of them). It is taken so that callers pass what [`reply`] will use.
pub fn detect(text: &str, _language: &str) -> Option<Intent> {
    // A messaging app's first message to a bot is the command `/start` (Telegram's, with an
    // optional parameter): it greets.
    let command = text.trim();
    if command == "/start" || command.starts_with("/start ") {
        return Some(Intent::Greeting);
    }
    let words = normalize(text);
    if words.is_empty() || words.len() > MAX_HUMAN_WORDS {
        return None;
    }
    let tokens = join_phrases(&words);
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    if asks_for_human(&tokens) {
        return Some(Intent::Human);
    }
    if tokens.len() > MAX_SMALL_TALK_WORDS {
        return None;
    }
    small_talk(&tokens)
}

/// The words of a button offering a person, in the bot's `language`: pressing it sends them, and
/// they are a request for a human.
pub fn human_offer(language: &str) -> &'static str {
    sitechat_core::texts::defaults(language).human_offer
}

/// The bot's reply to `intent` in the bot's `language` (a BCP 47 tag such as `"fr"` or
/// `"fr-FR"`); English when the language is not one of en, fr, es, de, ms, id.
pub fn reply(intent: Intent, language: &str) -> &'static str {
    use Intent::*;
    match (primary_language(language).as_str(), intent) {
        ("fr", Greeting) => "Bonjour ! Comment puis-je vous aider ?",
        ("fr", Thanks) => "Avec plaisir ! Puis-je vous aider pour autre chose ?",
        ("fr", Goodbye) => "Au revoir, et merci de votre visite !",
        ("fr", Human) => "Je vous mets en relation avec un membre de notre équipe.",
        ("es", Greeting) => "¡Hola! ¿En qué puedo ayudarte?",
        ("es", Thanks) => "¡De nada! ¿Hay algo más en lo que pueda ayudarte?",
        ("es", Goodbye) => "¡Hasta luego, y gracias por tu visita!",
        ("es", Human) => "Te pongo en contacto con un miembro de nuestro equipo.",
        ("de", Greeting) => "Hallo! Wie kann ich Ihnen helfen?",
        ("de", Thanks) => "Gern geschehen! Kann ich Ihnen sonst noch helfen?",
        ("de", Goodbye) => "Auf Wiedersehen, und danke für Ihren Besuch!",
        ("de", Human) => "Ich verbinde Sie mit einem Mitglied unseres Teams.",
        ("ms", Greeting) => "Hai! Apa yang boleh saya bantu hari ini?",
        ("ms", Thanks) => "Sama-sama! Ada apa-apa lagi yang boleh saya bantu?",
        ("ms", Goodbye) => "Selamat tinggal, terima kasih kerana singgah!",
        ("ms", Human) => "Saya akan menghubungkan anda dengan ahli pasukan kami.",
        ("id", Greeting) => "Halo! Ada yang bisa saya bantu hari ini?",
        ("id", Thanks) => "Sama-sama! Ada lagi yang bisa saya bantu?",
        ("id", Goodbye) => "Sampai jumpa, terima kasih sudah berkunjung!",
        ("id", Human) => "Saya akan menghubungkan Anda dengan anggota tim kami.",
        (_, Greeting) => "Hello! How can I help you today?",
        (_, Thanks) => "You're welcome! Is there anything else I can help you with?",
        (_, Goodbye) => "Goodbye, and thanks for stopping by!",
        (_, Human) => "I'll connect you with a member of our team.",
    }
}

// ---------------------------------------------------------------------------------------------
// Normalisation

/// The words of `text`: folded, lower-cased, punctuation and emoji removed.
fn normalize(text: &str) -> Vec<String> {
    let lower = text
        .to_lowercase()
        .replace(['’', '‘', '`', '´', 'ʼ'], "'")
        .replace("n't", " not");
    let mut folded = String::with_capacity(lower.len());
    for c in lower.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'ß' => folded.push_str("ss"),
            'æ' => folded.push_str("ae"),
            'œ' => folded.push_str("oe"),
            'ø' => folded.push('o'),
            'ł' => folded.push('l'),
            c if c.is_alphanumeric() || c == '-' => folded.push(c),
            _ => folded.push(' '),
        }
    }
    folded
        .split_whitespace()
        .flat_map(split_hyphenated)
        .map(|word| collapse_repeats(&word))
        .collect()
}

/// French pronouns that a hyphen attaches to a verb: "passez-moi", "puis-je", "pouvez-vous".
static CLITICS: Words = LazyLock::new(|| {
    words(&["moi toi je tu il elle on nous vous ils elles le la les lui leur t y en"])
});

/// A hyphen joins the parts of a word ("human-sized") except before a French pronoun
/// ("passez-moi" is two words); a reduplication is its word ("banyak-banyak", "bye-bye");
/// hyphens at the edges are dropped.
fn split_hyphenated(word: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for part in word.split('-').filter(|part| !part.is_empty()) {
        match words.last_mut() {
            Some(last) if last.rsplit('-').next() == Some(part) => {}
            Some(last) if !CLITICS.contains(part) => {
                last.push('-');
                last.push_str(part);
            }
            _ => words.push(part.to_owned()),
        }
    }
    words
}

/// `hiii` → `hi`, `byeeee` → `bye`: runs of three or more of the same letter become one.
fn collapse_repeats(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut run = 1;
        while i + run < chars.len() && chars[i + run] == chars[i] {
            run += 1;
        }
        let keep = if run >= 3 && chars[i].is_alphabetic() {
            1
        } else {
            run
        };
        out.extend(std::iter::repeat_n(chars[i], keep));
        i += run;
    }
    out
}

/// A vocabulary: normalised words, multi-word phrases written with `_`.
type Words = LazyLock<HashSet<&'static str>>;

fn words(lines: &[&'static str]) -> HashSet<&'static str> {
    lines
        .iter()
        .flat_map(|line| line.split_whitespace())
        .collect()
}

/// Every multi-word entry of the vocabulary, words separated by spaces.
static PHRASES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    [
        &GREETINGS,
        &THANKS,
        &GOODBYES,
        &COMPANIONS,
        &STRONG_TARGETS,
        &WEAK_TARGETS,
        &TALK_VERBS,
        &FETCH_VERBS,
        &WANT_VERBS,
        &POLITE,
    ]
    .into_iter()
    .flat_map(|vocabulary| vocabulary.iter())
    .filter(|entry| entry.contains('_'))
    .map(|entry| entry.replace('_', " "))
    .collect()
});
const LONGEST_PHRASE: usize = 6;

/// Joins known multi-word expressions into one token (`terima kasih` → `terima_kasih`),
/// longest match first.
fn join_phrases(words: &[String]) -> Vec<String> {
    let mut tokens = Vec::with_capacity(words.len());
    let mut i = 0;
    'words: while i < words.len() {
        for len in (2..=LONGEST_PHRASE.min(words.len() - i)).rev() {
            let candidate = words[i..i + len].join(" ");
            if PHRASES.contains(&candidate) {
                tokens.push(candidate.replace(' ', "_"));
                i += len;
                continue 'words;
            }
        }
        tokens.push(words[i].clone());
        i += 1;
    }
    tokens
}

// ---------------------------------------------------------------------------------------------
// Greeting, thanks, goodbye

/// A message made only of small-talk words (and at least one that carries the intent).
fn small_talk(tokens: &[&str]) -> Option<Intent> {
    let (mut greeting, mut thanks, mut goodbye) = (false, false, false);
    for token in tokens {
        if GOODBYES.contains(token) {
            goodbye = true;
        } else if THANKS.contains(token) {
            thanks = true;
        } else if GREETINGS.contains(token) {
            greeting = true;
        } else if !COMPANIONS.contains(token) && !POLITE.contains(token) {
            return None;
        }
    }
    if goodbye {
        Some(Intent::Goodbye)
    } else if thanks {
        Some(Intent::Thanks)
    } else if greeting {
        Some(Intent::Greeting)
    } else {
        None
    }
}

static GREETINGS: Words = LazyLock::new(|| {
    words(&[
        // en
        "hi hello hey heya hiya hullo helo howdy yo greetings morning evening afternoon",
        "good_morning good_afternoon good_evening good_day how_are_you how_are_you_doing",
        "hows_it_going how_s_it_going whats_up what_s_up sup wassup anyone_there",
        "anybody_there is_anyone_there is_anybody_there hey_there hi_there hello_there",
        // fr
        "bonjour bonsoir salut coucou bjr slt allo ca_va comment_ca_va comment_allez_vous",
        // es
        "hola buenas buenos_dias buenas_tardes buenas_noches buen_dia saludos que_tal",
        "como_estas como_esta",
        // de
        "hallo moin moin_moin servus guten_tag guten_morgen guten_abend gruss_gott gruezi",
        "gruss_dich wie_gehts wie_geht_s wie_geht_es_ihnen wie_geht_es_dir",
        // ms / id
        "halo hai helo salam assalamualaikum assalamu_alaikum asalamualaikum assalamualaikom",
        "salam_sejahtera selamat_pagi selamat_siang selamat_sore selamat_petang selamat_malam",
        "selamat_tengah_hari pagi siang sore petang apa_khabar apa_kabar",
    ])
});

static THANKS: Words = LazyLock::new(|| {
    words(&[
        // en
        "thanks thank thank_you thankyou thx thnx thanx tnx thks tks ty tq tqvm tysm cheers",
        "appreciated much_appreciated appreciate_it i_appreciate_it many_thanks",
        // fr
        "merci merci_beaucoup je_vous_remercie je_te_remercie remerciements",
        // es
        "gracias muchas_gracias mil_gracias muy_amable",
        // de
        "danke dankeschon danke_schon vielen_dank herzlichen_dank besten_dank dank",
        // ms / id
        "terima_kasih trima_kasih terimakasih makasih makasi mksh trims thank_u tenkiu",
    ])
});

static GOODBYES: Words = LazyLock::new(|| {
    words(&[
        // en
        "bye goodbye bye-bye byebye bye_bye buhbye cya see_you see_ya see_you_later",
        "see_you_soon ttyl farewell good_night goodnight take_care have_a_nice_day",
        "have_a_good_day have_a_great_day have_a_nice_evening have_a_good_one later",
        // fr
        "au_revoir a_bientot a_plus a_la_prochaine bonne_journee bonne_soiree bonne_nuit",
        "adieu tchao ciao",
        // es
        "adios hasta_luego hasta_pronto hasta_manana hasta_la_proxima nos_vemos chao chau",
        "que_tengas_un_buen_dia",
        // de
        "tschuss tschau auf_wiedersehen auf_wiederhoren bis_bald bis_dann bis_spater",
        "bis_morgen schonen_tag schonen_tag_noch schonen_abend gute_nacht",
        // ms / id
        "selamat_tinggal selamat_jalan jumpa_lagi sampai_jumpa sampai_jumpa_lagi babai dadah",
        "selamat_tidur",
    ])
});

/// Words that may keep a greeting, thanks or goodbye company without changing what it is.
static COMPANIONS: Words = LazyLock::new(|| {
    words(&[
        // en
        "there everyone everybody all team bot friend friends guys folks sir madam maam mate",
        "dear again so very much a lot lots you your for the help info information answer",
        "answers reply quick great ok okay k kk alright cool nice perfect awesome thats that",
        "it really oh ah well and too loads ever now got_it for_now everything",
        // fr
        "a tous tout le la les l monde equipe monsieur madame beaucoup bien encore pour votre",
        "vos ton aide infos reponse d accord super parfait top genial mille infiniment et",
        "vous toi cordialement",
        // es
        "todos todo el equipo amigo amigos senor senora muchas muchisimas mil por tu su ayuda",
        "informacion respuesta vale perfecto de nuevo y muy",
        // de
        "zusammen alle leute ihr vielen vielmals sehr fur die deine ihre hilfe antwort",
        "perfekt alles klar herzlichen schon und noch ihnen dir nochmal",
        // ms / id
        "semua semuanya admin min kak kakak bang abang bro sis gan agan tuan puan encik cik",
        "bos boss banyak atas bantuan bantuannya infonya maklumat ya yah sangat oke okey baik",
        "sip mantap sekali dan lagi juga",
    ])
});

// ---------------------------------------------------------------------------------------------
// Asking for a human

/// Whom a visitor asks for when they want a person, unmistakably.
static STRONG_TARGETS: Words = LazyLock::new(|| {
    words(&[
        // en
        "human humans agent agents operator representative rep live_agent live_person",
        "live_support real_person real_human actual_person human_being human_agent",
        "staff_member customer_service customer_support customer_care support_agent",
        "support_team manager supervisor",
        // fr
        "humain humaine conseiller conseillere operateur operatrice vraie_personne",
        "vrai_humain personne_reelle etre_humain service_client service_clientele responsable",
        // es
        "humano humana agente operador operadora asesor asesora representante persona_real",
        "ser_humano servicio_al_cliente atencion_al_cliente encargado gerente",
        // de
        "mensch menschen mitarbeiter mitarbeiterin berater beraterin kundendienst",
        "kundenservice kundenberater echten_menschen echter_mensch echte_person",
        "sachbearbeiter ansprechpartner",
        // ms / id
        "manusia ejen kakitangan wakil pegawai staf khidmat_pelanggan orang_sebenar agen",
        "petugas layanan_pelanggan cs orang_asli manusia_asli orang_beneran",
    ])
});

/// Whom a visitor may mean as a person, but only after a verb of talking.
static WEAK_TARGETS: Words = LazyLock::new(|| {
    words(&[
        "person someone somebody anyone anybody people team support staff admin personne",
        "quelqu_un quelquun persona alguien jemand jemandem jemanden orang seseorang",
        "receptionist reception front_desk receptionniste accueil recepcionista recepcion",
        "rezeption empfang resepsionis",
        // Who works there: "parler à un vendeur", "hablar con un empleado".
        "salesperson employee vendeur vendeuse employe employee vendedor vendedora dependiente",
        "dependienta empleado empleada verkaufer verkauferin angestellten angestellte",
    ])
});

/// Verbs of talking: followed by someone, they ask for that someone.
static TALK_VERBS: Words = LazyLock::new(|| {
    words(&[
        // en
        "talk speak chat connect transfer put contact reach escalate get_through get_in_touch",
        "redirect forward",
        // fr
        "parler discuter joindre contacter passer passez transferer transferez relation",
        "echanger",
        // es
        "hablar contactar comunicarme comunicar pasar pasame pasadme paseme pasenme transferir",
        "conectar conectarme chatear atender atenderme atiendame",
        // de
        "sprechen reden verbinden chatten kontaktieren erreichen",
        // ms / id
        "bercakap cakap bual berbual hubungi menghubungi sambung sambungkan berhubung bicara",
        "berbicara ngomong disambungkan dihubungkan ngobrol",
    ])
});

/// German puts the verb last: "mit einem Mitarbeiter sprechen".
static VERB_LAST: Words = LazyLock::new(|| {
    words(&["sprechen reden verbinden verbunden chatten telefonieren kontaktieren"])
});

/// Verbs of fetching someone for the visitor: followed by a target (strong or weak) and then
/// only words saying who it is ("get me someone from your support team, now").
static FETCH_VERBS: Words = LazyLock::new(|| {
    words(&[
        // en
        "get_me give_me find_me bring_me fetch_me",
        // fr
        "trouvez_moi trouve_moi donnez_moi envoyez_moi",
        // es
        "consigueme dame traeme buscame",
        // de
        "gib_mir geben_sie_mir holen_sie_mir hol_mir",
        // ms / id
        "carikan panggilkan panggil",
    ])
});

/// Verbs of wanting: followed directly by a strong target that ends the message.
static WANT_VERBS: Words = LazyLock::new(|| {
    words(&[
        "want need get give d_like would_like request prefer can_i_have may_i_have veux",
        "voudrais besoin souhaite aimerais demande quiero necesito quisiera querria deseo",
        "prefiero will mochte brauche hatte_gern hatte_gerne wunsche nak mahu mau ingin perlu",
        "perlukan minta butuh hendak",
    ])
});

/// At most this many small words between a verb and whom it is about.
const MAX_LINKS: usize = 5;

/// Small words that may stand between a verb and whom it is about.
static LINKS: Words = LazyLock::new(|| {
    words(&[
        // en
        "to with a an the me through your one of real live actual some us help from",
        // fr
        "a au aux avec un une le la des de du vrai vraie moi m en",
        // es
        "con una el al alguna algun verdadera verdadero",
        // de
        "mit einem einer einen ein eine echten zu zum dem der den bitte mich mir sie uns",
        // ms / id
        "dengan seorang kepada ke sama pada dgn ngan saya aku sy",
    ])
});

/// Small words that may stand between a target and a verb that comes after it.
static LINKS_AFTER: Words = LazyLock::new(|| {
    words(&[
        "i we can could may bitte kurz gerne gern mal direkt",
        // "jemanden, mit dem ich sprechen kann", "alguien con quien pueda hablar",
        // "quelqu'un avec qui je peux parler"
        "mit dem der ich con quien pueda puedo avec qui je peux puisse",
    ])
});

static NEGATIONS: Words = LazyLock::new(|| {
    words(&[
        "not never dont pas jamais nicht kein keinen keine nie nunca tidak tak bukan jangan",
        "gak nggak ngga enggak tiada ndak",
    ])
});

/// Politeness and urgency that may surround a bare request: "human please", "agent now!".
static POLITE: Words = LazyLock::new(|| {
    words(&[
        "please pls plz plox now asap right_now immediately urgent svp stp s_il_vous_plait",
        "s_il_te_plait merci por_favor porfavor ya gracias bitte danke sofort tolong sila",
        "mohon segera sekarang thanks thx vite tout_de_suite rapido ya_mismo dong cepat",
        // How: "einen Berater am Telefon, danke".
        "on_the_phone by_phone am_telefon telefonisch au_telephone par_telephone por_telefono",
        "al_telefono",
    ])
});

/// Articles and the like that may come with a bare target: "a human", "un conseiller".
static ARTICLES: Words =
    LazyLock::new(|| words(&["a an the un une una ein einen einem eine seorang me i just only"]));

/// Whether the message asks for a person (see the module documentation for the three shapes).
fn asks_for_human(tokens: &[&str]) -> bool {
    for (at, token) in tokens.iter().enumerate() {
        let strong = STRONG_TARGETS.contains(token);
        if !strong && !WEAK_TARGETS.contains(token) {
            continue;
        }
        if verb_before(tokens, at, strong) || verb_after(tokens, at) {
            return true;
        }
    }
    bare_target(tokens)
}

/// "talk to a human", "I want an agent": a verb before the target, through small words only.
fn verb_before(tokens: &[&str], target: usize, strong: bool) -> bool {
    for at in (target.saturating_sub(MAX_LINKS + 1)..target).rev() {
        let word = tokens[at];
        if TALK_VERBS.contains(word) {
            return !negated(tokens, at);
        }
        if FETCH_VERBS.contains(word) {
            return only_whom_after(tokens, target) && !negated(tokens, at);
        }
        if WANT_VERBS.contains(word) {
            return strong && only_politeness_after(tokens, target) && !negated(tokens, at);
        }
        if !LINKS.contains(word) {
            return false;
        }
    }
    false
}

/// "mit einem Mitarbeiter sprechen", "a real person I can talk to".
fn verb_after(tokens: &[&str], target: usize) -> bool {
    for at in target + 1..tokens.len().min(target + 6) {
        let word = tokens[at];
        if VERB_LAST.contains(word) {
            return !negated(tokens, target);
        }
        if word == "help" {
            // "can a human help me?"
            let me = tokens
                .get(at + 1)
                .is_none_or(|next| matches!(*next, "me" | "us"));
            return me && !negated(tokens, target);
        }
        if TALK_VERBS.contains(word) {
            let dangling = tokens
                .get(at + 1)
                .is_none_or(|next| matches!(*next, "to" | "with"));
            return dangling && !negated(tokens, target);
        }
        if !LINKS_AFTER.contains(word) {
            return false;
        }
    }
    false
}

/// "human please", "un conseiller svp", "hi, agent!".
fn bare_target(tokens: &[&str]) -> bool {
    let mut target = false;
    for token in tokens {
        if STRONG_TARGETS.contains(token) {
            target = true;
        } else if !(POLITE.contains(token)
            || ARTICLES.contains(token)
            || GREETINGS.contains(token)
            || THANKS.contains(token))
        {
            return false;
        }
    }
    target
}

/// "someone from your support team, now": after the target, only who it is and politeness.
fn only_whom_after(tokens: &[&str], target: usize) -> bool {
    tokens[target + 1..].iter().all(|token| {
        POLITE.contains(token)
            || LINKS.contains(token)
            || STRONG_TARGETS.contains(token)
            || WEAK_TARGETS.contains(token)
    })
}

fn only_politeness_after(tokens: &[&str], target: usize) -> bool {
    tokens[target + 1..]
        .iter()
        .all(|token| POLITE.contains(token) || COMPANIONS.contains(token))
}

/// A negation in the three words before `at`, or a Spanish "no" right before it.
fn negated(tokens: &[&str], at: usize) -> bool {
    tokens[at.saturating_sub(3)..at]
        .iter()
        .any(|token| NEGATIONS.contains(token))
        || (at > 0 && tokens[at - 1] == "no")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Intent::*;

    /// (message, what it is) — detected on an English bot whatever the message's language.
    const INTENTS: &[(&str, Intent)] = &[
        // English
        ("hi", Greeting),
        ("Hello there!", Greeting),
        ("hey 👋", Greeting),
        ("Hiii", Greeting),
        ("good morning everyone", Greeting),
        ("is anyone there?", Greeting),
        ("thanks a lot", Thanks),
        ("Thank you so much for your help!", Thanks),
        ("ok thx", Thanks),
        ("much appreciated 🙏", Thanks),
        ("bye", Goodbye),
        ("Thanks, bye!", Goodbye),
        ("see you later", Goodbye),
        ("have a nice day", Goodbye),
        ("talk to a human", Human),
        ("can I speak to the receptionist", Human),
        ("I want to speak to an agent", Human),
        ("hello, can I talk to a real person please", Human),
        ("human please", Human),
        ("Agent!!", Human),
        ("get me a human", Human),
        ("I'd like to speak with someone", Human),
        ("I need help from a human", Human),
        ("can a human help me?", Human),
        ("is there a real person I can talk to?", Human),
        ("I don't understand, let me talk to a human", Human),
        // French
        ("bonjour", Greeting),
        ("Bonsoir à tous", Greeting),
        ("salut !", Greeting),
        ("merci beaucoup", Thanks),
        ("Merci pour votre aide", Thanks),
        ("au revoir", Goodbye),
        ("Bonne journée !", Goodbye),
        ("je veux parler à un conseiller", Human),
        ("Puis-je parler à quelqu'un ?", Human),
        ("un humain svp", Human),
        ("passez-moi un conseiller", Human),
        ("je voudrais un conseiller", Human),
        // Spanish
        ("hola", Greeting),
        ("¡Buenos días!", Greeting),
        ("buenas tardes", Greeting),
        ("muchas gracias", Thanks),
        ("gracias por la información", Thanks),
        ("adiós", Goodbye),
        ("hasta luego", Goodbye),
        ("quiero hablar con una persona", Human),
        ("¿Puedo hablar con un agente?", Human),
        ("necesito un humano", Human),
        ("agente por favor", Human),
        // German
        ("hallo", Greeting),
        ("Guten Tag!", Greeting),
        ("moin", Greeting),
        ("vielen Dank", Thanks),
        ("danke schön!", Thanks),
        ("tschüss", Goodbye),
        ("Auf Wiedersehen", Goodbye),
        ("ich möchte mit einem Mitarbeiter sprechen", Human),
        ("Kann ich mit jemandem sprechen?", Human),
        ("verbinden Sie mich bitte mit einem Menschen", Human),
        ("Mitarbeiter bitte", Human),
        // Malay
        ("selamat pagi", Greeting),
        ("assalamualaikum", Greeting),
        ("hai admin", Greeting),
        ("terima kasih", Thanks),
        ("terima kasih banyak-banyak", Thanks),
        ("selamat tinggal", Goodbye),
        ("jumpa lagi", Goodbye),
        ("boleh saya bercakap dengan ejen", Human),
        ("saya nak cakap dengan orang", Human),
        ("nak bercakap dengan manusia sekarang", Human),
        // Indonesian
        ("halo kak", Greeting),
        ("selamat siang", Greeting),
        ("makasih ya kak", Thanks),
        ("terima kasih atas bantuannya", Thanks),
        ("sampai jumpa", Goodbye),
        ("saya mau bicara dengan manusia", Human),
        ("saya mau bicara dengan customer service", Human),
        ("bisa hubungi admin?", Human),
        // The shop corpora's requests in other words (eval/shop-fr, -es, -de).
        ("pasadme con un humano, por favor", Human),
        ("¿me puede atender alguien de atención al cliente?", Human),
        ("necesito hablar con un empleado", Human),
        ("j'aimerais parler à un vendeur, merci", Human),
        ("gibt es jemanden, mit dem ich sprechen kann?", Human),
        ("ich hätte gern einen berater am telefon, danke", Human),
        ("¿hay alguien con quien pueda hablar?", Human),
        ("y a-t-il quelqu'un avec qui je peux parler ?", Human),
    ];

    /// Terse and rude requests for a person, in every language.
    const BLUNT_REQUESTS: &[&str] = &[
        // English
        "Operator!!",
        "OPERATOR NOW",
        "Operator!! Get me someone from your support team, now.",
        "get me someone from support",
        "just get me a human",
        "a real human please",
        "connect me to support",
        "can I speak to your team",
        "I need a real person",
        "this bot is useless, I want a real person",
        "give me an agent right now",
        // French
        "je veux parler à quelqu'un",
        "un humain, vite !",
        "passez-moi quelqu'un",
        "trouvez-moi un conseiller tout de suite",
        "conseiller !!",
        // Spanish
        "quiero hablar con alguien",
        "¡Operador!",
        "pásame con alguien ya",
        "quiero un humano ya",
        "dame un agente",
        // German
        "ich will mit jemandem reden",
        "Mitarbeiter, sofort!",
        "ich will einen Menschen",
        "geben Sie mir einen Mitarbeiter",
        // Malay
        "sambungkan saya dengan orang sebenar",
        "nak cakap dengan orang sekarang",
        "ejen sekarang!",
        // Indonesian
        "saya mau ngomong sama orang",
        "minta CS dong",
        "panggilkan admin sekarang",
        "mau bicara sama orang, cepat",
    ];

    /// Messages that come close to a request for a person without being one.
    const NEAR_MISSES: &[&str] = &[
        "who is on your support team?",
        "is there someone at the shop on Sunday?",
        "get me someone to sign for the parcel",
        "Can you get me a discount?",
        "Is the operator of this site based in France?",
        "Y a-t-il quelqu'un au magasin le dimanche ?",
        "¿Hay alguien en la tienda el domingo?",
        "Ist jemand am Sonntag im Laden?",
        "Ada orang di toko hari Minggu?",
        "Adakah sesiapa di kedai pada hari Ahad?",
    ];

    #[test]
    fn terse_and_rude_requests_for_a_person_are_human_in_every_language() {
        let missed: Vec<_> = BLUNT_REQUESTS
            .iter()
            .filter(|text| detect(text, "en") != Some(Human))
            .collect();
        assert!(missed.is_empty(), "not recognised: {missed:#?}");
    }

    #[test]
    fn near_misses_are_not_requests_for_a_person() {
        let wrong: Vec<_> = NEAR_MISSES
            .iter()
            .map(|text| (text, detect(text, "en")))
            .filter(|(_, got)| got.is_some())
            .collect();
        assert!(wrong.is_empty(), "(message, detected): {wrong:#?}");
    }

    /// Real questions and statements: they go to retrieval.
    const NOT_INTENTS: &[&str] = &[
        "Hi, what are your opening hours?",
        "does the receptionist speak french?",
        "is the reception open on sundays?",
        "Hello, do you ship to Malaysia?",
        "Do you sell human-sized planters?",
        "Thanks to your delivery time I missed it, how do I return?",
        "Is this a high quality product?",
        "Thank you page is not loading",
        "Goodbye letter template?",
        "Does the agent speak French?",
        "Do your agents work on Sundays?",
        "Do you need someone to sign for the delivery?",
        "I need staff discount information",
        "I don't want to talk to a human",
        "Is your customer service open on Sunday?",
        "What does a human resources manager do?",
        "Does the app support Bluetooth?",
        "Bonjour, quels sont vos horaires ?",
        "je ne veux pas parler à un conseiller",
        "Hola, ¿cuánto cuesta el envío?",
        "quiero hablar de los precios",
        "Hallo, wie lange dauert der Versand?",
        "Wie viele Mitarbeiter haben Sie?",
        "Selamat pagi, berapa harga penghantaran?",
        "Terima kasih, tapi pesanan saya belum sampai",
        "ok",
        "👍",
        "",
    ];

    #[test]
    fn every_intent_is_detected_in_every_language() {
        let wrong: Vec<_> = INTENTS
            .iter()
            .map(|(text, expected)| (text, Some(*expected), detect(text, "en")))
            .filter(|(_, expected, got)| expected != got)
            .collect();
        assert!(
            wrong.is_empty(),
            "(message, expected, detected): {wrong:#?}"
        );
    }

    #[test]
    fn real_questions_go_to_retrieval() {
        let wrong: Vec<_> = NOT_INTENTS
            .iter()
            .map(|text| (text, detect(text, "en")))
            .filter(|(_, got)| got.is_some())
            .collect();
        assert!(wrong.is_empty(), "(message, detected): {wrong:#?}");
    }

    #[test]
    fn the_bot_language_does_not_change_what_is_detected() {
        for language in ["en", "fr-FR", "es", "de", "ms", "id", "ja"] {
            assert_eq!(detect("bonjour", language), Some(Greeting));
            assert_eq!(detect("terima kasih", language), Some(Thanks));
            assert_eq!(detect("talk to a human", language), Some(Human));
        }
    }

    #[test]
    fn a_long_message_asking_for_a_human_at_its_end_is_human() {
        let text = "My parcel never arrived and nobody answers my e-mails, \
                    I want to speak to a real person";
        assert_eq!(detect(text, "en"), Some(Human));
    }

    #[test]
    fn the_start_command_of_a_messaging_app_is_a_greeting() {
        assert_eq!(detect("/start", "en"), Some(Intent::Greeting));
        assert_eq!(detect("/start ref-42", "fr"), Some(Intent::Greeting));
        assert_eq!(detect("/starting", "en"), None);
    }

    #[test]
    fn a_greeting_inside_a_long_message_is_not_a_greeting() {
        let text = "hello hello hello hello hello hello hello hello hello hello hello hello hello";
        assert_eq!(detect(text, "en"), None);
    }

    #[test]
    fn replies_are_in_the_bot_language_and_fall_back_to_english() {
        assert_eq!(
            reply(Human, "en"),
            "I'll connect you with a member of our team."
        );
        assert_eq!(
            reply(Human, "fr-FR"),
            "Je vous mets en relation avec un membre de notre équipe."
        );
        assert_eq!(reply(Greeting, "es"), "¡Hola! ¿En qué puedo ayudarte?");
        assert_eq!(
            reply(Thanks, "de_DE"),
            "Gern geschehen! Kann ich Ihnen sonst noch helfen?"
        );
        assert_eq!(
            reply(Goodbye, "ms"),
            "Selamat tinggal, terima kasih kerana singgah!"
        );
        assert_eq!(
            reply(Greeting, "in"),
            "Halo! Ada yang bisa saya bantu hari ini?"
        );
        assert_eq!(reply(Greeting, "pt-BR"), reply(Greeting, "en"));
        assert_eq!(reply(Thanks, ""), reply(Thanks, "en"));
    }

    #[test]
    fn every_language_has_its_own_reply_for_every_intent() {
        for intent in [Greeting, Thanks, Goodbye, Human] {
            let replies: HashSet<&str> = ["en", "fr", "es", "de", "ms", "id"]
                .iter()
                .map(|language| reply(intent, language))
                .collect();
            assert_eq!(replies.len(), 6, "{intent:?}");
        }
    }

    #[test]
    fn normalisation_folds_case_accents_punctuation_and_emoji() {
        assert_eq!(normalize("¡Adiós, AMIGO! 👋"), ["adios", "amigo"]);
        assert_eq!(normalize("Tschüß"), ["tschuss"]);
        assert_eq!(normalize("don't"), ["do", "not"]);
        assert_eq!(normalize("human-sized"), ["human-sized"]);
        assert_eq!(normalize("passez-moi"), ["passez", "moi"]);
        assert_eq!(normalize("heyyy"), ["hey"]);
        assert_eq!(
            normalize("terima kasih banyak-banyak"),
            ["terima", "kasih", "banyak"]
        );
    }

    #[test]
    fn the_offer_of_a_person_is_a_request_for_one_in_every_language() {
        for language in ["en", "fr", "es", "de", "ms", "id"] {
            assert_eq!(
                detect(human_offer(language), language),
                Some(Intent::Human),
                "{language}: {}",
                human_offer(language)
            );
        }
    }
}

/// Hostile messages: any Unicode, huge words, many words. Intent detection ends and never
/// panics.
#[cfg(test)]
mod hostile {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_message_ends_with_an_intent_or_none(text in "(\\PC{0,30}|human|agent|hello|merci|[!?.]{0,5}| ){0,30}", language in "(en|fr|es|de|ms|id|xx|)") {
            let _ = detect(&text, &language);
            let _ = crate::question::read(&language, &text);
            let _ = crate::question::in_context(&language, &text, Some(&text));
        }
    }

    #[test]
    fn huge_messages_end() {
        let word = "a".repeat(1 << 20);
        assert_eq!(detect(&word, "en"), None);
        let words = "human ".repeat(100_000);
        assert_eq!(detect(&words, "en"), None);
        let _ = crate::question::read("en", &words);
        let _ = crate::question::in_context("en", &words, Some(&word));
    }
}
