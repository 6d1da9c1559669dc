#!/usr/bin/env python3
# Fairness between trainings: the shop site (eval/shop/site) created 3 s after the Python FAQ
# (python3.11-doc) starts training, against the shop alone, with N training workers.
#   python3 scripts/bench/training-fairness.py target/debug/sitechat 2 both   (or: alone)
# A big site (the Python FAQ) starts training; 3 s later a small one (the shop). When does the
# small one's job finish, and when does it answer on keywords? Against the small one alone.
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Sitechat, serve

BIN = sys.argv[1]; WORKERS = sys.argv[2]; MODE = sys.argv[3]  # both | alone
big = serve("/usr/share/doc/python3.11/html") + "faq/index.html"
small = serve(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../eval/shop/site")) + "index.html"
sitechat = Sitechat(BIN, training_workers=WORKERS)
api = sitechat.api
pyfaq = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../eval/") + "pyfaq/crawl.json"))
try:
    if MODE == "both":
        b = api("POST", "/v1/bots", {"name": "big", "website_url": big, "settings": {"crawl": {"include": pyfaq["include"], "max_pages": 20}}})
        time.sleep(3)
    t0 = time.time()
    s = api("POST", "/v1/bots", {"name": "small", "website_url": small})
    answered = None; done = None
    while done is None or answered is None:
        now = time.time() - t0
        if answered is None:
            r = api("POST", f"/v1/bots/{s['id']}/chat", {"message": "How long do refunds take?"})
            if r.get("outcome") == "answered": answered = now
        j = api("GET", f"/v1/jobs/{s['last_job_id']}")
        if done is None and j["state"] not in ("queued", "running"): done = now
        if now > 600: break
        time.sleep(0.5)
    print(f"workers={WORKERS} {MODE}: small site answered after {answered:.1f} s, its training done after {done:.1f} s")
finally:
    sitechat.stop()
