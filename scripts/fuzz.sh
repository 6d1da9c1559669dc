#!/usr/bin/env bash
# Fuzzes the native API from its own OpenAPI document with schemathesis.
#
# Builds and starts the real `sitechat serve` on a free loopback port with a temporary data
# directory, creates a tenant with a bot, knowledge, a conversation, a webhook and a training job
# for path parameters to point at, runs schemathesis with four checks (no 5xx, documented status
# codes, documented content types, bodies that match the documented schemas), then checks that the
# server still answers /health and never panicked. Exits non-zero on any failure.
#
#   FUZZ_PROFILE=short   about 2 minutes (what `make test` runs)
#   FUZZ_PROFILE=long    about 12 minutes (the default; `make fuzz`)
#   FUZZ_SEED=N          replay a run (the seed is printed at the start)
#   FUZZ_VENV=DIR        where schemathesis is installed (default ~/.cache/sitechat/venv-fuzz)
#
# The fuzzed server never reaches the network: scripts/fuzz-hooks.py points every http(s) URL
# of a request body at a host under `.invalid`, and private networks stay refused.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CARGO="${CARGO:-cargo}"
PROFILE="${FUZZ_PROFILE:-long}"
VENV="${FUZZ_VENV:-$HOME/.cache/sitechat/venv-fuzz}"
REQUIREMENTS="$ROOT/scripts/fuzz-requirements.txt"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
REPORT_DIR="$TARGET_DIR/fuzz"
SEED="${FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}"

case "$PROFILE" in
  # max-time bounds the whole schemathesis run; max-examples bounds each operation per round.
  short) MAX_TIME=100; MAX_EXAMPLES=15 ;;
  long) MAX_TIME=720; MAX_EXAMPLES=100 ;;
  *) echo "fuzz: FUZZ_PROFILE must be short or long (got '$PROFILE')" >&2; exit 2 ;;
esac

fail() { echo "fuzz: FAILED: $*" >&2; exit 1; }

# --- schemathesis, in a virtual environment outside the clone -----------------------------------
if ! command -v python3 >/dev/null 2>&1; then
  fail "python3 is not installed; install it with its venv and pip modules, for example
  apt-get install python3 python3-venv python3-pip      (Debian, Ubuntu)
  brew install python                                   (macOS)"
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  fail "python3 cannot create virtual environments with pip; install its venv module, for example
  apt-get install python3-venv python3-pip              (Debian, Ubuntu)"
fi
stamp="$VENV/.sitechat-requirements"
if ! cmp -s "$REQUIREMENTS" "$stamp" 2>/dev/null || ! "$VENV/bin/schemathesis" --version >/dev/null 2>&1; then
  echo "fuzz: installing $(grep -v '^#' "$REQUIREMENTS" | xargs) into $VENV"
  python3 -m venv "$VENV" || fail "cannot create the virtual environment $VENV"
  "$VENV/bin/python" -m pip install --quiet --requirement "$REQUIREMENTS" \
    || fail "pip could not install $REQUIREMENTS into $VENV"
  cp "$REQUIREMENTS" "$stamp"
fi
echo "fuzz: $("$VENV/bin/schemathesis" --version)"

# --- the real server -----------------------------------------------------------------------------
"$CARGO" build --quiet -p sitechat --bin sitechat
BIN="$TARGET_DIR/debug/sitechat"
[ -x "$BIN" ] || fail "the build did not produce $BIN"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$REPORT_DIR"
log="$REPORT_DIR/server-$PROFILE.log"
operator_key="sk_fuzz_operator_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

# Port 0: the server picks a free port and prints it.
env -u SITECHAT_ALLOW_PRIVATE_NETWORKS -u SITECHAT_CORS_ORIGINS \
  SITECHAT_ADMIN_KEY="$operator_key" SITECHAT_DATA_DIR="$work/data" SITECHAT_BIND=127.0.0.1:0 \
  SITECHAT_LOG="${SITECHAT_LOG:-info}" NO_COLOR=1 \
  "$BIN" serve >"$log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 1 300); do
  base="$(sed -n 's/^sitechat listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$log")"
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; fail "the server did not start"; }
  sleep 0.2
done
[ -n "$base" ] || fail "the server did not say where it listens within 60 s (log: $log)"
echo "fuzz: server on $base, data in $work/data, log in $log"

fixtures="$("$VENV/bin/python" scripts/fuzz-fixtures.py "$base" "$operator_key")" \
  || fail "could not create the fixtures"
eval "$fixtures"

# --- schemathesis --------------------------------------------------------------------------------
config="$work/schemathesis.toml"
cat >"$config" <<EOF
# Written by scripts/fuzz.sh for one run.
hooks = "$ROOT/scripts/fuzz-hooks.py"
seed = $SEED
max-time = $MAX_TIME
workers = 2
request-timeout = 30
continue-on-failure = true
# Server-sent event streams (GET /v1/conversations/{id}/stream) are read this far, then closed.
max-stream-events = 2

# Crashes found are kept beside the reports, for \`st replay\`.
[cache]
directory = "$REPORT_DIR/cache"

[headers]
Authorization = "Bearer $FUZZ_KEY"

[generation]
max-examples = $MAX_EXAMPLES
# The key above authenticates every request; generated credentials would only test 401s.
with-security-parameters = false

[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true

[dictionaries]
bot = { values = ["$FUZZ_BOT_ID"] }

# Ids in bodies name the fixtures most of the time, so that requests reach the handlers.
[parameters]
"body.bot_id" = { dictionary = "bot", probability = 0.9 }

# Accounts are the operator's.
[[operations]]
include-path-regex = "^/v1/accounts\$"
headers = { Authorization = "Bearer $operator_key" }
EOF

# Path parameters: each operation's ids point at the fixture of its kind.
operation() { # PATH_REGEX [METHOD] NAME=VALUE…
  local regex="$1"; shift
  {
    echo
    echo "[[operations]]"
    echo "include-path-regex = \"$regex\""
    if [ "${1#*=}" = "$1" ]; then echo "include-method = \"$1\""; shift; fi
    echo "[operations.parameters]"
    for kv in "$@"; do echo "\"path.${kv%%=*}\" = \"${kv#*=}\""; done
  } >>"$config"
}
operation '^/v1/bots/\\{id\\}$' DELETE id="$FUZZ_DOOMED_BOT_ID"
operation '^/v1/bots/\\{id\\}$' GET id="$FUZZ_BOT_ID"
operation '^/v1/bots/\\{id\\}$' PATCH id="$FUZZ_BOT_ID"
operation '^/v1/bots/\\{id\\}/sources/\\{source_id\\}$' DELETE id="$FUZZ_BOT_ID" source_id="$FUZZ_DOOMED_SOURCE_ID"
operation '^/v1/bots/\\{id\\}/sources/\\{source_id\\}$' GET id="$FUZZ_BOT_ID" source_id="$FUZZ_SOURCE_ID"
operation '^/v1/bots/\\{id\\}/[a-z-]+(/[a-z]+)?$' id="$FUZZ_BOT_ID"
operation '^/v1/contacts/\\{id\\}' id="$FUZZ_CONTACT_ID"
operation '^/v1/conversations/\\{id\\}/end$' id="$FUZZ_END_CONVERSATION_ID"
operation '^/v1/conversations/\\{id\\}' id="$FUZZ_CONVERSATION_ID"
operation '^/v1/messages/\\{id\\}' id="$FUZZ_MESSAGE_ID"
operation '^/v1/jobs/\\{id\\}' id="$FUZZ_JOB_ID"
operation '^/v1/keys/\\{id\\}$' id="$FUZZ_KEY_ID"
operation '^/v1/webhooks/\\{id\\}$' DELETE id="$FUZZ_DOOMED_WEBHOOK_ID"
operation '^/v1/webhooks/\\{id\\}$' GET id="$FUZZ_WEBHOOK_ID"
operation '^/v1/webhooks/\\{id\\}$' PATCH id="$FUZZ_WEBHOOK_ID"
operation '^/v1/webhooks/\\{id\\}/deliveries/\\{delivery_id\\}' id="$FUZZ_WEBHOOK_ID" delivery_id="$FUZZ_DELIVERY_ID"
operation '^/v1/webhooks/\\{id\\}/[a-z]+$' id="$FUZZ_WEBHOOK_ID"

echo "fuzz: profile $PROFILE (max-time ${MAX_TIME}s, max-examples $MAX_EXAMPLES), seed $SEED"
started=$(date +%s)
status=0
"$VENV/bin/schemathesis" --config-file "$config" run "$base/openapi.json" \
  --no-color --report junit --report-dir "$REPORT_DIR" \
  --report-junit-path "$REPORT_DIR/junit-$PROFILE.xml" || status=$?
echo "fuzz: schemathesis took $(( $(date +%s) - started ))s"

# --- the server must have survived ---------------------------------------------------------------
kill -0 "$server_pid" 2>/dev/null || fail "the server process died during fuzzing (log: $log)"
"$VENV/bin/python" - "$base/health" <<'PY' || fail "the server no longer answers /health (log: $log)"
import sys, requests
sys.exit(0 if requests.get(sys.argv[1], timeout=10).status_code == 200 else 1)
PY
if grep -n "panicked" "$log" >&2; then fail "the server panicked (above; log: $log)"; fi
[ "$status" -eq 0 ] || fail "schemathesis found failures (above; seed $SEED; report $REPORT_DIR)"
echo "fuzz: passed (profile $PROFILE, seed $SEED)"
