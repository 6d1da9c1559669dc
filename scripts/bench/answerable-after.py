#!/usr/bin/env python3
# How soon a large site is answerable (issue 21's floor: a 1,000-page site answerable on BM25
# <= 60 s after the bot is created): the whole PostgreSQL 15 manual from postgresql-doc-15 served
# on loopback, a bot created on it, then every 2 s the job's phase and a question asked in chat,
# until the crawl has indexed every page and the question is answered. Embedding goes on after
# that; this stops the server then, unless `--until-trained SECONDS` is given: then it waits up to
# that long for the job to end (issue 21's other floor: fully trained, sentences included,
# <= 10 min) and prints how long each phase took. `--runs N` does it N times, each with a new
# server and data directory, and prints the medians (`make bench` runs 3).
#   python3 scripts/bench/answerable-after.py target/debug/sitechat [DOCS] [--until-trained 3600] [--runs 3]
import datetime, json, os, statistics, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Sitechat, serve


def option(args, name, default):
    if name not in args:
        return default
    i = args.index(name)
    if i + 1 >= len(args):
        sys.exit(f"{name} takes a number, e.g. {name} 3")
    value = float(args[i + 1])
    del args[i : i + 2]
    return value


args = sys.argv[1:]
UNTIL_TRAINED = option(args, "--until-trained", None)
RUNS = int(option(args, "--runs", 1))
BIN = args[0]
DOCS = args[1] if len(args) > 1 else "/usr/share/doc/postgresql-doc-15/html"
if not os.path.exists(os.path.join(DOCS, "index.html")):
    sys.exit(f"{DOCS}/index.html is missing: install postgresql-doc-15 (apt-get install postgresql-doc-15)")
QUESTION = "how do I make a column auto-increment?"
site = serve(DOCS) + "index.html"


def seconds(start, end):
    parse = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return (parse(end) - parse(start)).total_seconds() if start and end else None


def run():
    """One bot on the manual: the seconds until every page is indexed, until the question is
    answered, and (with --until-trained) until the job ends, with each phase's seconds."""
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
    figures = {"indexed": indexed_at, "answered": answered_at}
    if UNTIL_TRAINED is not None:
        while time.time() - t0 < UNTIL_TRAINED and j.get("state") not in ("succeeded", "failed", "cancelled"):
            time.sleep(10)
            j = api("GET", f"/v1/jobs/{job}")
            print(f"{time.time() - t0:6.1f} s  state {j.get('state')}  phase {j.get('phase')}  "
                  f"embedded {j['chunks_embedded']}  sentences {j['sentences_embedded']}", flush=True)
        total = time.time() - t0
        print(f"job {j.get('state')} after {total:.0f} s ({j['chunks_created']} passages, "
              f"{j['chunks_embedded']} embedded, {j['sentences_embedded']} with their sentences)")
        figures["trained"] = total if j.get("state") == "succeeded" else None
        for phase in j.get("phases") or []:
            took = seconds(phase["started_at"], phase.get("finished_at"))
            figures[phase["phase"]] = took
            print(f"  {phase['phase']:16} {phase['started_at']} → {phase.get('finished_at')}  ({took} s)")
    sitechat.stop()
    return figures


results = []
for n in range(RUNS):
    print(f"=== run {n + 1} of {RUNS}", flush=True)
    results.append(run())
print(f"=== medians of {RUNS} run(s) (each run's figures in brackets)")
medians = {}
for key in results[0]:
    values = [r.get(key) for r in results]
    known = [v for v in values if v is not None]
    medians[key] = statistics.median(known) if len(known) == len(values) else None
    median = "not reached in every run" if medians[key] is None else f"{medians[key]:.1f} s"
    print(f"  {key:16} {median}  [{', '.join('-' if v is None else f'{v:.1f}' for v in values)}]")
# Issue 21's floors: answerable on BM25 within a minute, fully trained within ten.
for key, floor in (("answered", 60), ("trained", 600)):
    if key in medians:
        value = medians[key]
        verdict = "missed" if value is None or value > floor else "met"
        print(f"floor: {key} <= {floor} s: {verdict}")
