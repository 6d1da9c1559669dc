#!/usr/bin/env python3
"""Writes the cross-lingual question sets eval/cross/<language>.jsonl (issue 22, item 2).

    python3 eval/cross.py

The shop site exists in four languages with the same pages and facts (eval/shop, shop-fr,
shop-es, shop-de), so every visitor question of one language is also a question for the bot of
another: an English, Spanish or German visitor on the French bot, and so on. For each bot
language, this takes the questions of the three other languages (follow-ups, unanswerable
questions and requests for a person included) with their page and split unchanged, and keeps of
their `answer_contains` only the strings that the bot's own page holds too (a postcode, a phone
number, a price written the same way); a question left with none is still judged on its page,
its citation and whether it was declined, not on its facts. `scripts/eval.sh` asks them of the
cached bot of that language (`EVAL_CORPUS=shop-fr EVAL_QUESTIONS=eval/cross/fr.jsonl`).
"""

import html
import json
import os
import re

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPORA = {"en": "shop", "fr": "shop-fr", "es": "shop-es", "de": "shop-de"}


def page_text(corpus, page):
    with open(os.path.join(ROOT, corpus, "site", page), encoding="utf-8") as f:
        raw = f.read()
    text = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return re.sub(r"\s+", " ", text).lower()


def questions(corpus, language):
    with open(os.path.join(ROOT, corpus, "questions.jsonl"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            q = json.loads(line)
            # shop-fr also holds its own cross-lingual lines; only each corpus's native ones.
            if q.get("language", "en") == language or q.get("expect") == "handoff" and language == "en":
                yield q


def main():
    for target, target_corpus in CORPORA.items():
        if target == "en":
            continue
        out = []
        for source, corpus in CORPORA.items():
            if source == target:
                continue
            for q in questions(corpus, source):
                q = dict(q)
                q.setdefault("language", source)
                if q.get("page") and q.get("answer_contains"):
                    text = page_text(target_corpus, q["page"])
                    kept = [s for s in q["answer_contains"] if re.sub(r"\s+", " ", s).lower() in text]
                    if kept:
                        q["answer_contains"] = kept
                    else:
                        del q["answer_contains"]
                out.append(q)
        path = os.path.join(ROOT, "cross", f"{target}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for q in out:
                f.write(json.dumps(q, ensure_ascii=False) + "\n")
        kinds = {}
        for q in out:
            kind = "person" if q.get("expect") == "handoff" else ("answerable" if q.get("answerable", True) else "unanswerable")
            kinds[(q["language"], kind)] = kinds.get((q["language"], kind), 0) + 1
        facts = sum(1 for q in out if q.get("answer_contains"))
        print(f"{path}: {len(out)} questions, {facts} with facts; " + ", ".join(f"{l} {k} {n}" for (l, k), n in sorted(kinds.items())))


if __name__ == "__main__":
    main()
