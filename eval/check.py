#!/usr/bin/env python3
"""Checks a corpus's questions.jsonl against the HTML pages it is labelled with.

    python3 eval/check.py --html eval/shop/site --questions eval/shop/questions.jsonl
    python3 eval/check.py --knowledge eval/short/knowledge --questions eval/short/questions.jsonl

For every answerable line: the page exists under --html and its visible text contains every
`answer_contains` string (with --knowledge, a corpus of small knowledge bases: the text file
<bot>.txt that the line's `bot` names contains them) (case-insensitively, after HTML entities are decoded and white space is
collapsed). For every line: the fields are the ones `sitechat eval` knows, the question is not a
duplicate, and `split` is `tune` or `test`. It prints the counts per kind and split, and exits
with 1 when anything is wrong.
"""
import argparse
import collections
import html
import json
import pathlib
import re
import sys

KNOWN = {"question", "page", "answer_contains", "answerable", "previous", "expect", "split", "language", "bot"}


def text_of(path):
    raw = path.read_text(encoding="utf-8", errors="replace")
    raw = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", raw)
    raw = re.sub(r"(?s)<[^>]+>", " ", raw)
    return re.sub(r"\s+", " ", html.unescape(raw)).lower()


def kind(q):
    if q.get("expect") == "handoff":
        return "handoff"
    return "answerable" if q.get("answerable", True) else "unanswerable"


def main():
    ap = argparse.ArgumentParser()
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--html", type=pathlib.Path)
    where.add_argument("--knowledge", type=pathlib.Path)
    ap.add_argument("--questions", required=True, type=pathlib.Path)
    args = ap.parse_args()
    problems = []
    seen = set()
    counts = collections.Counter()
    pages = collections.Counter()
    cache = {}
    for n, line in enumerate(args.questions.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        q = json.loads(line)
        unknown = set(q) - KNOWN
        if unknown:
            problems.append(f"line {n}: unknown fields {sorted(unknown)}")
        key = (q.get("bot", ""), str(q.get("previous", "")).lower(), q["question"].lower())
        if key in seen:
            problems.append(f"line {n}: duplicate question {q['question']!r}")
        seen.add(key)
        split = q.get("split")
        if split not in ("tune", "test"):
            problems.append(f"line {n}: split is {split!r}")
        counts[(kind(q), split)] += 1
        if kind(q) != "answerable":
            continue
        if args.knowledge:
            path = args.knowledge / f"{q.get('bot')}.txt"
            if not path.is_file():
                problems.append(f"line {n}: no knowledge {path}")
                continue
            pages[path.stem] += 1
            text = cache.setdefault(path, re.sub(r"\s+", " ", path.read_text(encoding="utf-8")).lower())
            for s in q.get("answer_contains", []):
                if re.sub(r"\s+", " ", s.lower()) not in text:
                    problems.append(f"line {n}: {s!r} is not in {path.name}")
            continue
        page = q.get("page")
        if not page:
            problems.append(f"line {n}: answerable without a page")
            continue
        pages[page] += 1
        path = args.html / page
        if not path.is_file():
            problems.append(f"line {n}: no page {path}")
            continue
        text = cache.setdefault(page, text_of(path))
        for s in q.get("answer_contains", []):
            if re.sub(r"\s+", " ", s.lower()) not in text:
                problems.append(f"line {n}: {s!r} is not on {page}")
    for k in ("answerable", "unanswerable", "handoff"):
        print(f"{k:13} tune {counts[(k, 'tune')]:3}  test {counts[(k, 'test')]:3}")
    print("pages: " + ", ".join(f"{p} {c}" for p, c in sorted(pages.items())))
    for p in problems:
        print("PROBLEM " + p)
    print("ok" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
