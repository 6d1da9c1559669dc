#!/usr/bin/env python3
"""Question and sentence pairs for fitting e5's similarity scale (crates/embed/examples/scale_fit.rs).

From the tune halves of the English dev corpora: each `short` question with the sentences of its
business's text; each `shop` question with the sentences of its labelled page (an unanswerable
one: of every page). Requests for a person are left out. JSON lines on stdout.

    python3 eval/e5/pairs.py > /tmp/pairs.jsonl
"""
import glob
import json
import os
import re
import sys
from html.parser import HTMLParser

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def sentences(text):
    text = re.sub(r"\s+", " ", text).strip()
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 3]


class Blocks(HTMLParser):
    """Text blocks of a page (paragraphs, list items, table rows, headings), navigation left out."""

    SKIP = ("script", "style", "nav", "footer", "header")
    BREAK = ("p", "li", "td", "th", "h1", "h2", "h3", "tr", "dd", "dt")

    def __init__(self):
        super().__init__()
        self.blocks, self.current, self.skipping = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in self.SKIP
        if tag in self.BREAK:
            self.flush()

    def handle_endtag(self, tag):
        self.skipping -= tag in self.SKIP
        if tag in self.BREAK:
            self.flush()

    def handle_data(self, data):
        if not self.skipping:
            self.current.append(data)

    def flush(self):
        text = " ".join(self.current).strip()
        self.current = []
        if text:
            self.blocks.append(text)


def questions(path):
    for line in open(path, encoding="utf-8"):
        q = json.loads(line)
        if q.get("split") == "tune" and q.get("expect") != "handoff":
            yield q


def main():
    out = sys.stdout
    knowledge = {
        os.path.basename(f)[:-4]: open(f, encoding="utf-8").read()
        for f in glob.glob(os.path.join(ROOT, "eval/short/knowledge/*.txt"))
    }
    for q in questions(os.path.join(ROOT, "eval/short/questions.jsonl")):
        out.write(json.dumps({"question": q["question"], "sentences": sentences(knowledge[q["bot"]]),
                              "answerable": q.get("answerable", True)}) + "\n")
    pages = {}
    for f in glob.glob(os.path.join(ROOT, "eval/shop/site/*.html")):
        parser = Blocks()
        parser.feed(open(f, encoding="utf-8").read())
        parser.flush()
        pages[os.path.basename(f)] = [s for b in parser.blocks for s in sentences(b)]
    every = [s for page in sorted(pages) for s in pages[page]]
    for q in questions(os.path.join(ROOT, "eval/shop/questions.jsonl")):
        answerable = q.get("answerable", True)
        texts = pages.get(q.get("page"), every) if answerable else every
        out.write(json.dumps({"question": q["question"], "sentences": texts[:120],
                              "answerable": answerable}) + "\n")


if __name__ == "__main__":
    main()
