#!/usr/bin/env python3
"""Prints one table from `sitechat eval` JSON reports: a row per corpus and split.

    python3 eval/table.py eval/results/run-…/*-tune.json eval/results/run-…/*-test.json

A report's corpus is its file name without the split and what follows it, and without a run's
date (scripts/eval.sh names them <corpus>-<split>.json or <corpus>-<date>-<time>-<split>.json,
and shop-fr is a corpus name); its split is the one the report says. Rows are sorted by corpus,
tune before test. Columns (see `sitechat eval --help`):

  hit@1      the first distinct page retrieved is the labelled page
  cited@1    the first source the reply cites is the labelled page
  hit@5      the labelled page is among the first 5 distinct pages retrieved
  facts      the reply holds every expected string (answer contains)
  ans.decl   answerable questions declined (lower is better)
  unans.decl unanswerable questions declined (higher is better)
  person     requests for a person recognised (outcome handoff)
  p50 ms     median chat latency

Languages. A corpus whose answerable and unanswerable questions are in more than one language
(shop-fr: French, and Spanish and German visitors on the French site) gets one more row per
language under each of its rows, `shop-fr  test (es)`, computed from the report's questions the
same way `sitechat eval` computes its summary. The report's questions do not carry their
`language`: it is read from eval/<corpus>/questions.jsonl by the line number each question of the
report has, and used only when the question text on that line is the same (else no rows, and a
note on stderr). Lines without a `language` count as "?".
"""
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = re.compile(r"^(?P<corpus>.+?)(?:-\d{8}-\d{6})?-(?:tune|test|all)(?:-[A-Za-z0-9]+)?\.json$")


def cell(rate, count=None, total=None):
    if rate is None:
        return "-"
    if count is None:
        return f"{rate:.3f}"
    return f"{rate:.3f} {count}/{total}"


def corpus_of(path):
    name = os.path.basename(path)
    m = NAME.match(name)
    return m.group("corpus") if m else name.split("-")[0]


def cells(corpus, split, s):
    answered = s.get("with_page") or 0
    return [
        corpus,
        split,
        f"{s['answerable']}/{s['unanswerable']}/{s.get('person_requests', 0)}",
        cell(s.get("hit_at_1")),
        cell(s.get("first_cited_rate"), s.get("first_cited"), answered),
        cell(s.get("hit_at_k")),
        cell(s.get("answer_contains_rate"), s.get("answer_contains"), s.get("with_answer_contains")),
        cell(s.get("answerable_declined_rate"), s.get("answerable_declined"), s["answerable"]),
        cell(s.get("unanswerable_declined_rate"), s.get("unanswerable_declined"), s["unanswerable"]),
        cell(
            s.get("person_requests_recognised_rate"),
            s.get("person_requests_recognised"),
            s.get("person_requests", 0),
        ),
        "-" if s.get("latency_ms_p50") is None else str(s["latency_ms_p50"]),
    ]


def ratio(values):
    """(count, total, rate) over the values that are not None, like eval.rs's Ratio::of."""
    values = [bool(v) for v in values if v is not None]
    return sum(values), len(values), (sum(values) / len(values) if values else None)


def summary_of(questions):
    """The figures of the table for some of a report's questions (as Summary::of in eval.rs)."""
    handoff = [q for q in questions if q.get("expect") == "handoff"]
    answerable = [q for q in questions if q.get("answerable") and q.get("expect") != "handoff"]
    unanswerable = [q for q in questions if not q.get("answerable") and q.get("expect") != "handoff"]
    with_page = [q for q in questions if q.get("page")]
    s = {"answerable": len(answerable), "unanswerable": len(unanswerable),
         "person_requests": len(handoff), "with_page": len(with_page)}
    _, _, s["hit_at_1"] = ratio(q.get("rank") == 1 for q in with_page)
    _, _, s["hit_at_k"] = ratio(q.get("hit") for q in questions)
    s["first_cited"], _, s["first_cited_rate"] = ratio(q.get("first_cited") for q in questions)
    contains = [None if q.get("contains") is None else all(q["contains"].values()) for q in questions]
    s["answer_contains"], s["with_answer_contains"], s["answer_contains_rate"] = ratio(contains)
    s["answerable_declined"], _, s["answerable_declined_rate"] = ratio(q.get("declined") for q in answerable)
    s["unanswerable_declined"], _, s["unanswerable_declined_rate"] = ratio(q.get("declined") for q in unanswerable)
    s["person_requests_recognised"], _, s["person_requests_recognised_rate"] = ratio(
        q.get("handoff_recognised") for q in questions)
    latencies = sorted(q["latency_ms"] for q in questions if q.get("latency_ms") is not None)
    if latencies:
        rank = math.ceil(0.5 * len(latencies))
        s["latency_ms_p50"] = latencies[min(max(rank, 1), len(latencies)) - 1]
    return s


_LANGUAGES = {}


def languages_of(corpus):
    """{line number: (question, language)} from eval/<corpus>/questions.jsonl, or None."""
    if corpus not in _LANGUAGES:
        path = os.path.join(HERE, corpus, "questions.jsonl")
        if corpus.startswith("cross-"):
            # eval/cross.py's questions for one bot language, asked with EVAL_QUESTIONS.
            path = os.path.join(HERE, "cross", corpus[len("cross-"):] + ".jsonl")
        found = None
        if os.path.isfile(path):
            text = open(path, encoding="utf-8").read().lstrip("\ufeff")
            found = {}
            for n, line in enumerate(text.split("\n"), 1):
                if line.strip():
                    q = json.loads(line)
                    found[n] = (q["question"].strip(), q.get("language") or "?")
        _LANGUAGES[corpus] = found
    return _LANGUAGES[corpus]


def language_rows(corpus, split, questions, path):
    """One row per language when the answerable and unanswerable questions mix languages."""
    known = languages_of(corpus)
    if not known or not questions:
        return []
    langs = []
    for q in questions:
        entry = known.get(q.get("line"))
        if entry is None or entry[0] != (q.get("question") or "").strip():
            print(f"{path}: question on line {q.get('line')} is not the one of "
                  f"eval/{corpus}/questions.jsonl; no rows per language", file=sys.stderr)
            return []
        langs.append(entry[1])
    asked = {lang for q, lang in zip(questions, langs) if q.get("expect") != "handoff"}
    if len(asked) < 2:
        return []
    rows = []
    for lang in sorted(set(langs), key=lambda x: (x == "?", x)):
        subset = [q for q, l in zip(questions, langs) if l == lang]
        rows.append(cells(corpus, f"{split} ({lang})", summary_of(subset)))
    return rows


def rows_of(path):
    report = json.load(open(path))
    s = report["summary"]
    corpus = corpus_of(path)
    split = s.get("split") or "?"
    return [cells(corpus, split, s)] + language_rows(corpus, split, report.get("questions") or [], path)


def main(paths):
    paths = [p for p in paths if os.path.isfile(p)]
    if not paths:
        print("no reports", file=sys.stderr)
        return 1
    header = ["corpus", "split", "ans/unans/person", "hit@1", "cited@1", "hit@5", "facts",
              "ans.decl", "unans.decl", "person", "p50 ms"]
    groups = sorted((rows_of(p) for p in paths), key=lambda g: (g[0][0], g[0][1] != "tune", g[0][1]))
    rows = [r for g in groups for r in g]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for r in [header] + rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
