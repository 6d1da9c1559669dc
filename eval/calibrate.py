#!/usr/bin/env python3
"""Fits the answer engine's confidence (crates/answer/calibration.json) from `sitechat eval` reports.

    python3 eval/calibrate.py DIR [--write crates/answer/calibration.json] [--fit-on shop,short]

DIR holds the reports of one `make eval` run: <corpus>-tune.json and <corpus>-test.json for each
corpus (`EVAL_OUT_DIR`). Each question the eval asked carries the `signals` of its reply (the
chat's `explain` option). A question the corpus marks answerable is a positive example, an
unanswerable one a negative; requests for a person and questions answered without a composed
draft (intents, curated answers) have no signals and are left out of the fit.

Two logistic regressions are fitted on the tune halves of all corpora together, each corpus and
each class weighing the same in total (so that a corpus with more questions does not decide for
the others, and 0.5 is where an answerable and an unanswerable question are equally likely):

- `dense` on every signal, used when the bot's passages are embedded;
- `lexical` on the signals words alone give, used without meaning.

The fit is Newton's method on the standardised signals with a small L2 penalty; the weights are
written back on the signals' own scale, so the file reads as `z = intercept + Σ weight · signal`,
`confidence = 1 / (1 + e^-z)`. It prints, per corpus and half, the ROC AUC of the fitted
confidence and of the hand-set formula it replaced, and the trade-off of threshold against
answerable questions declined and unanswerable ones answered, on the test halves.

When DIR holds cross-lingual reports (cross-<language>-tune.json: `scripts/eval.sh` asks
eval/cross/<language>.jsonl of the shop-fr, shop-es and shop-de bots), a third model, `foreign`,
is fitted on their questions that are in another bot language than the bot's (`foreign` 1), on
the signals meaning gives (FOREIGN); the engine uses it for such questions. `--only-foreign`
keeps the dense and lexical models of the `--write` file and fits only this one.

Each embedding model has its own calibration, fitted on reports of bots embedded with it:
`make calibrate` fits all-MiniLM-L6-v2's (`calibration.json`) on the four English corpora, and
multilingual-e5-small's (`calibration-multilingual-e5-small.json`) on shop and short embedded
with e5 (`EVAL_EMBEDDING_MODEL`), reporting it on those and on shop-fr, shop-es and shop-de
(`--fit-on shop,short`: every corpus of DIR is reported, only these are fitted on).

Only the standard library is used (no numpy), so `make calibrate` needs nothing installed.
"""

import argparse
import json
import math
import os
import sys

DENSE = ["coverage", "heading", "unseen", "tiny", "sentence", "contrast", "passage"]
LEXICAL = ["coverage", "heading", "unseen", "tiny"]
# A multilingual model's bots (`--cross-lingual`): the question's words count only as far as it is
# in the bot's language (`native` = 1 - `foreign`).
# A multilingual model's third model, for a question in another bot language than the bot's
# (`foreign` 1): fitted on the cross-lingual reports (cross-<language>-tune.json, eval/cross/),
# on what meaning measured, since the question's words share nothing with the knowledge (not
# `tiny`: the cross-lingual bots are all one size, so its weight would be anything).
FOREIGN = ["sentence", "contrast", "passage"]
DENSE_CROSS = ["coverage*native", "heading*native", "unseen*native", "foreign", "tiny", "sentence",
               "contrast", "passage"]
PENALTY = 1.0  # L2 on the standardised weights, against a total example weight of 1 per corpus and class


def load(directory):
    """{(corpus, half): [question, ...]} from DIR's reports."""
    out = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json") or "-bm25" in name or "-local" in name:
            continue
        stem = name[: -len(".json")]
        corpus, _, half = stem.rpartition("-")
        if half not in ("tune", "test") or not corpus:
            continue
        with open(os.path.join(directory, name)) as f:
            out[(corpus, half)] = json.load(f)["questions"]
    if not out:
        sys.exit(f"{directory}: no <corpus>-tune.json / <corpus>-test.json reports")
    return out


def judged(question):
    """Whether the question counts: asked for an answer, not for a person."""
    return question.get("expect") != "handoff" and question.get("answerable") is not None


def value(signals, name):
    """A signal, or the product of the signals a name joins with `*` (`unseen*knowledge`)."""
    product = 1.0
    for factor in name.split("*"):
        if factor == "native":
            product *= 1.0 - float(signals.get("foreign") or 0.0)
        else:
            product *= float(signals.get(factor) or 0.0)
    return product


def features(signals, names):
    return [value(signals, n) for n in names]


def hand_set(signals):
    """The confidence formula the fit replaced: (coverage + meaning) / 2."""
    coverage = signals["coverage"]
    sentence = signals.get("sentence")
    if sentence is None:
        return coverage
    meaning = min(max((sentence - 0.35) / 0.40, 0.0), 1.0)
    return (coverage + meaning) / 2


def solve(a, b):
    """Solves a·x = b (Gaussian elimination with partial pivoting)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-12:
            raise ValueError("singular system")
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                for k in range(c, n + 1):
                    m[r][k] -= f * m[c][k]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit(rows, names):
    """Weighted, L2-penalised logistic regression. rows: (features, label, weight)."""
    k = len(names)
    total = sum(w for _, _, w in rows)
    mean = [sum(x[j] * w for x, _, w in rows) / total for j in range(k)]
    sd = [
        math.sqrt(sum(w * (x[j] - mean[j]) ** 2 for x, _, w in rows) / total) or 1.0
        for j in range(k)
    ]
    data = [([1.0] + [(x[j] - mean[j]) / sd[j] for j in range(k)], y, w) for x, y, w in rows]
    beta = [0.0] * (k + 1)
    for _ in range(100):
        grad = [0.0] * (k + 1)
        hess = [[0.0] * (k + 1) for _ in range(k + 1)]
        for x, y, w in data:
            z = sum(b * v for b, v in zip(beta, x))
            p = 1.0 / (1.0 + math.exp(-max(min(z, 35.0), -35.0)))
            for i in range(k + 1):
                grad[i] += w * (p - y) * x[i]
                for j in range(k + 1):
                    hess[i][j] += w * p * (1 - p) * x[i] * x[j]
        for i in range(1, k + 1):
            grad[i] += PENALTY * beta[i]
            hess[i][i] += PENALTY
        step = solve(hess, grad)
        beta = [b - s for b, s in zip(beta, step)]
        if max(abs(s) for s in step) < 1e-9:
            break
    weights = [beta[j + 1] / sd[j] for j in range(k)]
    intercept = beta[0] - sum(beta[j + 1] * mean[j] / sd[j] for j in range(k))
    return {"intercept": intercept, "weights": [[n, w] for n, w in zip(names, weights)]}


def probability(model, signals):
    z = model["intercept"] + sum(w * value(signals, n) for n, w in model["weights"])
    return 1.0 / (1.0 + math.exp(-max(min(z, 35.0), -35.0)))


def is_dense(signals):
    return all(signals.get(n) is not None for n in ("sentence", "passage", "dense_rank"))


def is_foreign(signals):
    return float(signals.get("foreign") or 0.0) >= 0.5


def confidence(calibration, signals):
    if calibration.get("foreign") and is_dense(signals) and is_foreign(signals):
        return probability(calibration["foreign"], signals)
    model = calibration["dense"] if is_dense(signals) else calibration["lexical"]
    return probability(model, signals)


def foreign_rows(reports):
    """The cross-lingual tune halves' foreign questions, each corpus and class weighing 1."""
    rows = []
    for (corpus, half), questions in sorted(reports.items()):
        if half != "tune" or not corpus.startswith("cross-"):
            continue
        examples = [
            (q["signals"], bool(q["answerable"]))
            for q in questions
            if judged(q) and q.get("signals") and is_dense(q["signals"]) and is_foreign(q["signals"])
        ]
        for label in (True, False):
            chosen = [s for s, y in examples if y == label]
            for s in chosen:
                rows.append((features(s, FOREIGN), 1.0 if label else 0.0, 1.0 / len(chosen)))
    return rows


def auc(pairs):
    """ROC AUC of scores for (score, label) pairs; ties count half."""
    pos = [s for s, y in pairs if y]
    neg = [s for s, y in pairs if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def training_rows(reports, dense, fit_on=None, names=None):
    """The tune halves' examples (of the corpora in `fit_on`, if given), each corpus and class
    weighing 1 in total."""
    rows = []
    for (corpus, half), questions in sorted(reports.items()):
        if half != "tune" or (fit_on and corpus not in fit_on):
            continue
        names = names or (DENSE if dense else LEXICAL)
        examples = [
            (q["signals"], bool(q["answerable"]))
            for q in questions
            if judged(q) and q.get("signals") and (is_dense(q["signals"]) or not dense)
        ]
        for label in (True, False):
            chosen = [s for s, y in examples if y == label]
            for s in chosen:
                rows.append((features(s, names), 1.0 if label else 0.0, 1.0 / len(chosen)))
    return rows


def report(reports, calibration, threshold_grid):
    print(f"{'corpus':10} {'half':5} {'n':>4} {'AUC fitted':>10} {'AUC hand-set':>12}")
    for (corpus, half), questions in sorted(reports.items()):
        rows = [q for q in questions if judged(q) and q.get("signals")]
        fitted = auc([(confidence(calibration, q["signals"]), q["answerable"]) for q in rows])
        hand = auc([(hand_set(q["signals"]), q["answerable"]) for q in rows])
        fmt = lambda v: "-" if v is None else f"{v:.3f}"
        print(f"{corpus:10} {half:5} {len(rows):>4} {fmt(fitted):>10} {fmt(hand):>12}")
    print()
    print("test halves: threshold against answerable declined and unanswerable answered")
    print("(a question without signals counts as its outcome says: a fallback declines)")
    corpora = sorted({c for c, h in reports if h == "test"})
    print(f"{'threshold':>9} " + " ".join(f"{c + ' ans.decl':>18} {c + ' unans.decl':>18}" for c in corpora))
    for t in threshold_grid:
        cells = []
        for corpus in corpora:
            questions = [q for q in reports[(corpus, "test")] if judged(q)]

            def declined(q):
                if q.get("signals"):
                    return confidence(calibration, q["signals"]) < t
                return q.get("outcome") == "fallback"

            ans = [q for q in questions if q["answerable"]]
            unans = [q for q in questions if not q["answerable"]]
            a = sum(declined(q) for q in ans)
            u = sum(declined(q) for q in unans)
            cells.append(f"{a / max(len(ans), 1):>12.3f} {a:>2}/{len(ans):<3}")
            cells.append(f"{u / max(len(unans), 1):>12.3f} {u:>2}/{len(unans):<3}")
        print(f"{t:>9.2f} " + " ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", help="a `make eval` run's reports (EVAL_OUT_DIR)")
    parser.add_argument("--write", help="write the fitted calibration here")
    parser.add_argument("--show", help="report on this existing calibration file instead of fitting")
    parser.add_argument("--fit-on", help="fit on these corpora only (comma-separated); report on all")
    parser.add_argument("--cross-lingual", action="store_true",
                        help="weigh the word signals by how surely the question is in the bot's language")
    parser.add_argument("--only-foreign", action="store_true",
                        help="keep the dense and lexical models of the --write file; fit only the foreign one")
    args = parser.parse_args()
    reports = load(args.dir)
    fit_on = set(args.fit_on.split(",")) if args.fit_on else None
    if fit_on and not fit_on <= {c for c, _ in reports}:
        sys.exit(f"--fit-on: no reports of {', '.join(sorted(fit_on - {c for c, _ in reports}))} in {args.dir}")
    if args.show:
        with open(args.show) as f:
            calibration = json.load(f)
    else:
        dense_names = DENSE_CROSS if args.cross_lingual else DENSE
        dense_rows = training_rows(reports, dense=True, fit_on=fit_on, names=dense_names)
        lexical_rows = training_rows(reports, dense=False, fit_on=fit_on)
        if not dense_rows:
            sys.exit("no tune-half question has signals: run the eval with a sitechat that explains")
        calibration = {
            "note": "fitted by eval/calibrate.py (make calibrate) on the tune halves of "
            + ", ".join(sorted({c for c, h in reports if h == "tune" and (not fit_on or c in fit_on)}))
            + "; confidence = 1 / (1 + e^-(intercept + sum of weight * signal))",
            "dense": fit(dense_rows, dense_names),
            "lexical": fit(lexical_rows, LEXICAL),
        }
        if args.only_foreign:
            if not args.write:
                sys.exit("--only-foreign needs --write, the calibration whose other models it keeps")
            with open(args.write) as f:
                kept = json.load(f)
            calibration = {k: kept[k] for k in ("note", "dense", "lexical")}
        rows = foreign_rows(reports)
        if rows:
            calibration["foreign"] = fit(rows, FOREIGN)
            calibration["note"] += (
                "; foreign (a question in another bot language) on the tune halves of "
                + ", ".join(sorted({c for c, h in reports if h == "tune" and c.startswith("cross-")}))
            ) if "; foreign" not in calibration["note"] else ""
        for name in ("dense", "lexical", "foreign"):
            if name not in calibration:
                continue
            model = calibration[name]
            terms = ", ".join(f"{n} {w:+.3f}" for n, w in model["weights"])
            print(f"{name}: intercept {model['intercept']:+.3f}; {terms}")
        print()
    report(reports, calibration, [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7])
    if args.write:
        with open(args.write, "w") as f:
            json.dump(calibration, f, indent=2)
            f.write("\n")
        print(f"\nwrote {args.write}")


if __name__ == "__main__":
    main()
