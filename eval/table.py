#!/usr/bin/env python3
"""Prints one table from `sitechat eval` JSON reports: a row per corpus and split.

    python3 eval/table.py eval/results/run-…/*-tune.json eval/results/run-…/*-test.json

A report's corpus is its file name up to the first "-" (scripts/eval.sh names them
<corpus>-<split>.json or <corpus>-<date>-<time>-<split>.json); its split is the one the report
says. Rows are sorted by corpus, tune before test. Columns (see `sitechat eval --help`):

  hit@1      the first distinct page retrieved is the labelled page
  cited@1    the first source the reply cites is the labelled page
  hit@5      the labelled page is among the first 5 distinct pages retrieved
  facts      the reply holds every expected string (answer contains)
  ans.decl   answerable questions declined (lower is better)
  unans.decl unanswerable questions declined (higher is better)
  person     requests for a person recognised (outcome handoff)
  p50 ms     median chat latency
"""
import json
import os
import sys


def cell(rate, count=None, total=None):
    if rate is None:
        return "-"
    if count is None:
        return f"{rate:.3f}"
    return f"{rate:.3f} {count}/{total}"


def row(path):
    s = json.load(open(path))["summary"]
    name = os.path.basename(path)
    corpus = name.split("-")[0]
    answered = s.get("with_page") or 0
    return [
        corpus,
        s.get("split") or "?",
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


def main(paths):
    paths = [p for p in paths if os.path.isfile(p)]
    if not paths:
        print("no reports", file=sys.stderr)
        return 1
    header = ["corpus", "split", "ans/unans/person", "hit@1", "cited@1", "hit@5", "facts",
              "ans.decl", "unans.decl", "person", "p50 ms"]
    rows = sorted((row(p) for p in paths), key=lambda r: (r[0], r[1] != "tune", r[1]))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for r in [header] + rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
