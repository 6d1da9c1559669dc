#!/usr/bin/env python3
# Fairness between trainings: the shop site (eval/shop/site) created 3 s after the Python FAQ
# (python3.11-doc) starts training, against the shop alone, with N training workers.
#   python3 scripts/bench/training-fairness.py target/debug/sitechat 2 both   (or: alone)
# A big site (the Python FAQ) starts training; 3 s later a small one (the shop). When does the
# small one's job finish, and when does it answer on keywords? Against the small one alone.
import json, os, subprocess, sys, time, urllib.request, tempfile, http.server, threading, functools
BIN = sys.argv[1]; WORKERS = sys.argv[2]; MODE = sys.argv[3]  # both | alone
KEY = "sk_fair_trace_operator_0123456789"
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
def serve(d):
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=d))
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{s.server_address[1]}/"
big = serve("/usr/share/doc/python3.11/html") + "faq/index.html"
small = serve(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../eval/") + "shop/site") + "index.html"
data = tempfile.mkdtemp()
env = dict(os.environ, SITECHAT_ADMIN_KEY=KEY, SITECHAT_ALLOW_PRIVATE_NETWORKS="true", SITECHAT_CRAWL__DELAY_MS="0", SITECHAT_LOG="warn", SITECHAT_TRAINING_WORKERS=WORKERS)
srv = subprocess.Popen([BIN, "serve", "--bind", "127.0.0.1:0", "--data-dir", data], env=env, stdout=subprocess.PIPE, text=True)
for line in srv.stdout:
    if "listening on " in line:
        base = line.split("listening on ")[1].split()[0]; break
def api(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
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
    srv.terminate()
