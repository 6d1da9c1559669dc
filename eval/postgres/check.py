#!/usr/bin/env python3
"""Checks questions.jsonl against the PostgreSQL manual and crawl.json.

- every line is a JSON object with a non-empty `question`, no duplicates (case-insensitive);
- answerable questions name a `page` that the crawl reaches (see reach.py) and 1-2
  `answer_contains` strings, each found (case-insensitive, tags stripped, entities decoded,
  whitespace collapsed) in that page's text;
- unanswerable questions have `"answerable": false` and neither page nor answer_contains.

usage: check.py [--html DIR] [--context]   (--context prints the text around each expected string)
"""
import argparse
import html
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def page_text(path):
    raw = open(path, encoding="utf-8", errors="replace").read()
    raw = re.sub(r"(?s)<(script|style)[^>]*>.*?</\1>", " ", raw)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def reached_pages(html_dir):
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "reach.py"), "--html", html_dir, "--list"],
        check=True, capture_output=True, text=True,
    ).stdout
    return {m.group(1) for m in re.finditer(r"^\s+/(\S+)\s+\(depth", out, re.M)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", default="/usr/share/doc/postgresql-doc-15/html")
    ap.add_argument("--questions", default=os.path.join(HERE, "questions.jsonl"))
    ap.add_argument("--context", action="store_true")
    args = ap.parse_args()

    pages = reached_pages(args.html)
    errors, seen, answerable, unanswerable = [], set(), 0, 0
    texts = {}
    for n, line in enumerate(open(args.questions, encoding="utf-8"), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: invalid JSON: {e}")
            continue
        text = q.get("question", "")
        if not isinstance(text, str) or not text.strip():
            errors.append(f"line {n}: no question")
            continue
        key = text.strip().lower()
        if key in seen:
            errors.append(f"line {n}: duplicate question {text!r}")
        seen.add(key)
        extra = set(q) - {"question", "page", "answer_contains", "answerable", "split"}
        if extra:
            errors.append(f"line {n}: unknown fields {sorted(extra)}")
        if q.get("split") not in ("tune", "test"):
            errors.append(f"line {n}: split is {q.get('split')!r}, not tune or test")
        if q.get("answerable", True) is False:
            unanswerable += 1
            if "page" in q or "answer_contains" in q:
                errors.append(f"line {n}: unanswerable question with page/answer_contains")
            continue
        answerable += 1
        page, expect = q.get("page"), q.get("answer_contains")
        if page not in pages:
            errors.append(f"line {n}: page {page!r} is not in the crawled subset")
            continue
        if not isinstance(expect, list) or not 1 <= len(expect) <= 2:
            errors.append(f"line {n}: answer_contains must list 1-2 strings")
            continue
        if page not in texts:
            texts[page] = page_text(os.path.join(args.html, page))
        for s in expect:
            hits = [m.start() for m in re.finditer(re.escape(s), texts[page], re.I)]
            if not hits:
                errors.append(f"line {n}: {s!r} not found in {page}")
            elif args.context:
                i = hits[0]
                print(f"{n:3} {text}\n    {page} [{s}] x{len(hits)}: …{texts[page][max(0, i - 90):i + 90]}…")
    print(f"{answerable} answerable, {unanswerable} unanswerable, {len(pages)} pages in the subset")
    for e in errors:
        print("ERROR", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
