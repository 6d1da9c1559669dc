#!/usr/bin/env python3
# How soon a large site is answerable (issue 21's floor: a 1,000-page site answerable on BM25
# <= 60 s after the bot is created): the whole PostgreSQL 15 manual from postgresql-doc-15 served
# on loopback, a bot created on it, then every 2 s the job's phase and a question asked in chat,
# until the crawl has indexed every page and the question is answered. Embedding goes on after
# that; this stops the server then (the full training of ~15,000 passages takes hours on 2 cores).
#   python3 scripts/bench/answerable-after.py target/debug/sitechat [/usr/share/doc/postgresql-doc-15/html]
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Sitechat, serve

BIN = sys.argv[1]
DOCS = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/doc/postgresql-doc-15/html"
QUESTION = "how do I make a column auto-increment?"
site = serve(DOCS) + "index.html"
# The server caps every crawl at 500 pages by default; the manual has 1,171.
sitechat = Sitechat(BIN, crawl__max_pages=2000)
api = sitechat.api
t0 = time.time()
bot = api("POST", "/v1/bots", {"name": "manual", "website_url": site, "settings": {"crawl": {"max_pages": 1500}}})
job = bot["last_job_id"]
answered_at = indexed_at = None
while time.time() - t0 < 600:
    j = api("GET", f"/v1/jobs/{job}")
    t = time.time() - t0
    reply = api("POST", f"/v1/bots/{bot['id']}/chat", {"message": QUESTION})
    outcome = reply.get("outcome")
    if answered_at is None and outcome == "answered":
        answered_at = t
    if indexed_at is None and j.get("phase") not in (None, "crawl"):
        indexed_at = t
    print(f"{t:6.1f} s  phase {j.get('phase')}  pages {j['pages_indexed']}  passages {j['chunks_created']}  "
          f"embedded {j['chunks_embedded']}  chat: {outcome} {(reply.get('sources') or [{}])[0].get('url', '')}", flush=True)
    if indexed_at is not None and answered_at is not None:
        break
    time.sleep(2)
print(f"every page indexed after {indexed_at} s; '{QUESTION}' answered after {answered_at} s "
      f"({j['pages_indexed']} pages, {j['chunks_created']} passages)")
sitechat.stop()
