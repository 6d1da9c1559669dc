#!/usr/bin/env python3
"""Gives every line of a questions.jsonl a `split` ("tune" or "test"), in place.

    python3 eval/split.py eval/shop/questions.jsonl

Deterministic and stratified: lines are grouped by kind (answerable, unanswerable, requests for a
person). Within a kind, lines are ordered by page (answerable questions) and then by their place
in the file, and alternate tune, test, tune… in that order, so both halves hold every kind about
equally and the questions of one page are shared between them. Lines that already have a split
keep it; the others are given one only when no line has one yet, so a rerun changes nothing.
Nothing else in a line changes.
"""
import json
import sys


def kind(q):
    if q.get("expect") == "handoff":
        return "handoff"
    return "answerable" if q.get("answerable", True) is not False else "unanswerable"


def main(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    parsed = [(i, json.loads(l)) for i, l in enumerate(lines) if l.strip()]
    if any("split" in q for _, q in parsed):
        return
    for k in ("answerable", "unanswerable", "handoff"):
        group = sorted((q.get("page") or "", i) for i, q in parsed if kind(q) == k)
        for n, (_, i) in enumerate(group):
            q = json.loads(lines[i])
            q["split"] = "tune" if n % 2 == 0 else "test"
            lines[i] = json.dumps(q, ensure_ascii=False)
    open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        main(p)
