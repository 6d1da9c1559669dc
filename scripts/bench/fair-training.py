#!/usr/bin/env python3
# Whether one huge site starves a small one (issue 21: bots train concurrently up to
# `training_workers`, and embedding shares the machine fairly). One server; a small site is
# trained alone first, then the whole PostgreSQL manual is trained and, once it is embedding, the
# small site again beside it. Two jobs sharing two cores fairly take about twice as long as one
# alone; a queue behind the huge site would take as long as the huge site's remaining passages.
#   python3 scripts/bench/fair-training.py target/debug/sitechat [BIG_DOCS] [SMALL_DOCS]
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Sitechat, serve

BIN = sys.argv[1]
BIG = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/doc/postgresql-doc-15/html"
SMALL = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/doc/valgrind/html"
DONE = ("succeeded", "failed", "cancelled")

big_site, small_site = serve(BIG) + "index.html", serve(SMALL) + "index.html"
sitechat = Sitechat(BIN, crawl__max_pages=2000)
api = sitechat.api


def create(name, site):
    bot = api("POST", "/v1/bots", {"name": name, "website_url": site, "settings": {"crawl": {"max_pages": 1500}}})
    return bot, bot["last_job_id"]


def job(id):
    return api("GET", f"/v1/jobs/{id}")


def train(name, site, beside=None):
    """Trains a bot on `site` to the end; returns (seconds, passages, and the passages the job
    `beside` embedded meanwhile)."""
    before = job(beside)["chunks_embedded"] + job(beside)["sentences_embedded"] if beside else 0
    t0 = time.time()
    _, id = create(name, site)
    while (j := job(id))["state"] not in DONE:
        time.sleep(0.5)
    seconds = time.time() - t0
    after = job(beside)["chunks_embedded"] + job(beside)["sentences_embedded"] if beside else 0
    print(f"{name}: {j['state']} in {seconds:.1f} s ({j['chunks_created']} passages, "
          f"{j['chunks_embedded']} embedded, {j['sentences_embedded']} with sentences)", flush=True)
    return seconds, j["chunks_created"], after - before


alone, passages, _ = train("small alone", small_site)
_, big = create("huge", big_site)
while (j := job(big))["phase"] != "embed_passages" or j["chunks_embedded"] < 320:
    time.sleep(1)
t0, e0 = time.time(), j["chunks_embedded"]
time.sleep(20)
j = job(big)
big_alone_rate = (j["chunks_embedded"] - e0) / (time.time() - t0)
print(f"huge alone: {big_alone_rate:.1f} passages/s", flush=True)
beside, _, big_meanwhile = train("small beside the huge one", small_site, beside=big)
big_rate = big_meanwhile / beside
print(f"small site ({passages} passages): {alone:.1f} s alone, {beside:.1f} s beside the huge one "
      f"({beside / alone:.2f}×; fair sharing of two cores is about 2×). The huge one embedded "
      f"{big_rate:.1f} passages/s meanwhile, {big_alone_rate:.1f} alone.")
sitechat.stop()
