#!/usr/bin/env python3
# Traces a training job of the Python FAQ (python3.11-doc, as eval/pyfaq uses it): its phase,
# rates and estimated completion every 2 s against the time really left.
#   python3 scripts/bench/training-trace.py target/debug/sitechat /usr/share/doc/python3.11/html faq/index.html eval/pyfaq/crawl.json
import datetime, json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Sitechat, serve

BIN = sys.argv[1]; DOCS = sys.argv[2]; START = sys.argv[3]; CRAWL = json.load(open(sys.argv[4]))
site = serve(DOCS) + START
sitechat = Sitechat(BIN)
api = sitechat.api
bot = api("POST", "/v1/bots", {"name": "trace", "website_url": site, "settings": {"crawl": {"include": CRAWL["include"], "max_pages": CRAWL["max_pages"]}}})
job = bot["last_job_id"]; t0 = time.time(); rows = []
while True:
    j = api("GET", f"/v1/jobs/{job}")
    now = time.time()
    eta = j.get("estimated_completion")
    left = (datetime.datetime.fromisoformat(eta.replace("Z", "+00:00")).timestamp() - now) if eta else None
    rows.append((now - t0, j.get("phase"), left, j["pages_fetched"], j["chunks_created"], j["chunks_embedded"], j["sentences_embedded"], j["rates"]))
    if j["state"] not in ("queued", "running"): break
    time.sleep(2)
end = rows[-1][0]
print(f"job {j['state']} in {end:.1f} s; phases: " + ", ".join(f"{p['phase']} {(datetime.datetime.fromisoformat(p['finished_at'].replace('Z','+00:00')) - datetime.datetime.fromisoformat(p['started_at'].replace('Z','+00:00'))).total_seconds():.1f} s" for p in j["phases"]))
print("t s   phase            estimated left s   actual left s   pages chunks embedded sentences  rates")
for t, ph, left, pf, cc, ce, se, r in rows[:-1]:
    print(f"{t:5.1f} {str(ph):16} {('%.1f' % left) if left is not None else '-':>10} {end - t:14.1f}   {pf:5} {cc:6} {ce:8} {se:9}  {json.dumps(r)}")
sitechat.stop()
