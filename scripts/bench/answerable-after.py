#!/usr/bin/env python3
# How soon a large site is answerable (issue 21's floor: a 1,000-page site answerable on BM25
# <= 60 s after the bot is created): the whole PostgreSQL 15 manual from postgresql-doc-15 served
# on loopback, a bot created on it, then every 2 s the job's phase and a question asked in chat,
# until the crawl has indexed every page and the question is answered. Embedding goes on after
# that; this stops the server then, unless `--until-trained SECONDS` is given: then it waits up to
# that long for the job to end (issue 21's other floor: fully trained, sentences included,
# <= 10 min) and prints how long each phase took.
#   python3 scripts/bench/answerable-after.py target/debug/sitechat [DOCS] [--until-trained 3600]
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Sitechat, serve

args = sys.argv[1:]
UNTIL_TRAINED = None
if "--until-trained" in args:
    i = args.index("--until-trained")
    if i + 1 >= len(args):
        sys.exit("--until-trained takes the seconds to wait for the job, e.g. --until-trained 3600")
    UNTIL_TRAINED = float(args[i + 1])
    del args[i : i + 2]
BIN = args[0]
DOCS = args[1] if len(args) > 1 else "/usr/share/doc/postgresql-doc-15/html"
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
if UNTIL_TRAINED is not None:
    while time.time() - t0 < UNTIL_TRAINED and j.get("state") not in ("succeeded", "failed", "cancelled"):
        time.sleep(10)
        j = api("GET", f"/v1/jobs/{job}")
        print(f"{time.time() - t0:6.1f} s  state {j.get('state')}  phase {j.get('phase')}  "
              f"embedded {j['chunks_embedded']}  sentences {j['sentences_embedded']}", flush=True)
    print(f"job {j.get('state')} after {time.time() - t0:.0f} s ({j['chunks_created']} passages, "
          f"{j['chunks_embedded']} embedded, {j['sentences_embedded']} with their sentences)")
    for phase in j.get("phases") or []:
        print(f"  {phase['phase']:16} {phase['started_at']} → {phase.get('finished_at')}")
sitechat.stop()
