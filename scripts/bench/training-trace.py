#!/usr/bin/env python3
# Traces a training job of the Python FAQ (python3.11-doc, as eval/pyfaq uses it): its phase,
# rates and estimated completion every 2 s against the time really left.
#   python3 scripts/bench/training-trace.py target/debug/sitechat /usr/share/doc/python3.11/html faq/index.html eval/pyfaq/crawl.json
# Traces a training job's phase, rates and estimated completion against its real end.
import json, os, subprocess, sys, time, urllib.request, tempfile, datetime, http.server, threading, functools
BIN = sys.argv[1]; DOCS = sys.argv[2]; START = sys.argv[3]; CRAWL = json.load(open(sys.argv[4]))
KEY = "sk_eta_trace_operator_0123456789"
docs = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=DOCS))
threading.Thread(target=docs.serve_forever, daemon=True).start()
site = f"http://127.0.0.1:{docs.server_address[1]}/{START}"
data = tempfile.mkdtemp()
env = dict(os.environ, SITECHAT_ADMIN_KEY=KEY, SITECHAT_ALLOW_PRIVATE_NETWORKS="true", SITECHAT_CRAWL__DELAY_MS="0", SITECHAT_LOG="warn")
srv = subprocess.Popen([BIN, "serve", "--bind", "127.0.0.1:0", "--data-dir", data], env=env, stdout=subprocess.PIPE, text=True)
for line in srv.stdout:
    if "listening on " in line:
        base = line.split("listening on ")[1].split()[0]; break
def api(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
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
srv.terminate()
