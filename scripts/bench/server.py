"""What the training benchmarks share: a directory served on loopback, and a throw-away sitechat
server on a temporary data directory with a client for its API."""
import functools, http.server, json, os, shutil, subprocess, tempfile, threading, urllib.request

KEY = "sk_bench_training_operator_0123456789"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    """Serves `directory` on loopback; returns its base URL (ending in /)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=directory))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


class Sitechat:
    """`sitechat serve` on an ephemeral port and a temporary data directory (stop() ends it)."""

    def __init__(self, binary, **settings):
        # SITECHAT_TORCH_PYTHON is the embed bench's (`make bench` sets it for that bench only);
        # the server refuses SITECHAT_ variables it does not know.
        env = {k: v for k, v in os.environ.items() if k != "SITECHAT_TORCH_PYTHON"}
        env = dict(env, SITECHAT_ADMIN_KEY=KEY, SITECHAT_ALLOW_PRIVATE_NETWORKS="true",
                   SITECHAT_CRAWL__DELAY_MS="0", SITECHAT_LOG="warn",
                   **{f"SITECHAT_{k.upper()}": str(v) for k, v in settings.items()})
        self.data = tempfile.mkdtemp()
        self.process = subprocess.Popen([binary, "serve", "--bind", "127.0.0.1:0", "--data-dir", self.data],
                                        env=env, stdout=subprocess.PIPE, text=True)
        self.base = None
        for line in self.process.stdout:
            if "listening on " in line:
                self.base = line.split("listening on ")[1].split()[0]
                break
        if self.base is None:
            raise RuntimeError(f"sitechat serve exited with {self.process.wait()} before listening "
                               "(its error is above; a SITECHAT_ variable it does not know stops it)")

    def api(self, method, path, body=None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(request))

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.data, ignore_errors=True)
