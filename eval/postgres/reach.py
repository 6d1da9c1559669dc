#!/usr/bin/env python3
"""Which pages a sitechat crawl of the PostgreSQL manual reaches with eval/postgres/crawl.json.

Simulates the crawler offline: start at index.html (always fetched for its links), follow every
<a href> of every fetched page, keep only URL paths matching an include glob (globset rules:
`*` and `?` stay within a path segment, `**` crosses them, `{a,b}` alternatives), breadth first,
depth limit 10 (the server's default). Prints the count; --list prints the pages too.

usage: reach.py [--html DIR] [--crawl crawl.json] [--start /index.html] [--list]

The other corpora use it too (scripts/eval.sh passes their directory, crawl.json and start page).
"""
import argparse
import json
import os
import re
import sys
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


def glob_to_regex(glob):
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("/**/", i):
            out.append("(?:/|/.*/)")
            i += 4
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "{":
            end = glob.index("}", i)
            alts = glob[i + 1 : end].split(",")
            out.append("(?:" + "|".join(re.escape(a) for a in alts) + ")")
            i = end + 1
        elif c == "[":
            end = glob.index("]", i)
            out.append(glob[i : end + 1])
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("^" + "".join(out) + "$")


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag in ("a", "area"):
            for k, v in attrs:
                if k == "href" and v:
                    self.hrefs.append(v.strip())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", default="/usr/share/doc/postgresql-doc-15/html")
    ap.add_argument("--crawl", default=os.path.join(here, "crawl.json"))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--max-depth", type=int, default=10)
    ap.add_argument("--start", default="/index.html", help="the start page's path")
    args = ap.parse_args()

    cfg = json.load(open(args.crawl))
    pats = [glob_to_regex(g) for g in cfg["include"]]
    allowed = lambda p: any(r.match(p) for r in pats)
    base = "http://site/"
    start = "/" + args.start.lstrip("/")
    seen, order, missing = {start}, [], []
    queue = deque([(start, 0)])
    excluded = set()
    while queue:
        path, depth = queue.popleft()
        file = os.path.join(args.html, path.lstrip("/"))
        if not os.path.isfile(file):
            missing.append(path)
            continue
        if allowed(path):
            order.append((path, depth))
        parser = Links()
        parser.feed(open(file, encoding="utf-8", errors="replace").read())
        for href in parser.hrefs:
            url = urljoin(base + path.lstrip("/"), href)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.netloc != "site":
                continue
            p = parts.path or "/"
            if p in seen:
                continue
            seen.add(p)
            if not allowed(p):
                excluded.add(p)
                continue
            if depth + 1 > args.max_depth:
                continue
            queue.append((p, depth + 1))

    files = {
        "/" + os.path.relpath(os.path.join(d, f), args.html)
        for d, _, names in os.walk(args.html)
        for f in names
        if f.endswith(".html")
    }
    matching = {f for f in files if allowed(f)}
    unreached = sorted(matching - {p for p, _ in order})
    unused = [g for g, r in zip(cfg["include"], pats) if not any(r.match(f) for f in files)]
    print(f"pages reached and indexed: {len(order)}")
    print(f"page requests (reached + missing): {len(order) + len(missing)} (max_pages {cfg.get('max_pages')})")
    print(f"links left out by the include globs: {len(excluded)}")
    print(f"max depth: {max(d for _, d in order)}")
    if missing:
        print("linked but missing:", " ".join(missing))
    if unreached:
        print("matching files not reached:", " ".join(unreached))
    if unused:
        print("globs matching no file:", " ".join(unused))
    if args.list:
        for p, d in sorted(order):
            print(f"  {p}  (depth {d})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
