#!/usr/bin/env bash
# End-to-end answer evaluation on the corpora of eval/ (see eval/README.md).
#
#   bash scripts/eval.sh [extra args for `sitechat eval`]      (what `make eval` runs)
#   EVAL_CORPUS=shop bash scripts/eval.sh                      (one corpus: postgres, pyfaq, shop, short,
#                                                               shop-fr, shop-es, shop-de)
#
# For each corpus: serves its HTML on loopback (the PostgreSQL 15 manual and the Python 3.11 FAQ
# from their Debian packages, the shop from eval/shop/site, its French, Spanish and German
# versions from eval/shop-fr/site, shop-es/site and shop-de/site, each for a bot created with
# that `language`), starts a throw-away sitechat server, creates a bot that crawls what
# eval/<corpus>/crawl.json includes, waits for the training, then runs `sitechat eval` on the
# tune and the test half of eval/<corpus>/questions.jsonl. The corpus `short` has no site: one
# bot per eval/short/knowledge/NAME.txt, given that text, and `sitechat eval --bot NAME=bot_…`
# for each. With all corpora (the default), one table of every corpus and split is printed at
# the end (eval/table.py).
#
# Environment:
#   EVAL_CORPUS=all             all (default), or one of postgres, pyfaq, shop, short, shop-fr,
#                               shop-es, shop-de
#   EVAL_OUT=path.json          one corpus: the base of its reports, path-tune.json and
#                               path-test.json (default eval/results/<corpus>-YYYYmmdd-HHMMSS.json)
#   EVAL_OUT_DIR=dir            all corpora: where <corpus>-tune.json and <corpus>-test.json go
#                               (default eval/results/run-YYYYmmdd-HHMMSS)
#   EVAL_STOP_AFTER_TRAINING=1  stop once the training job is over (checks the crawl only)
#   EVAL_NO_BUILD=1             use the existing binary, do not run cargo
#   EVAL_BIN=path               the sitechat binary (default $CARGO_TARGET_DIR/debug/sitechat,
#                               or target/debug/sitechat)
#   EVAL_KEEP_TMP=1             keep the temporary data directory and logs
#   EVAL_CACHE=dir              keep each corpus's trained bot in dir/<corpus> and, when one is
#                               there, ask it again instead of crawling and training anew (for
#                               comparing answer changes; retrieval or ingest changes need a
#                               fresh one: remove the directory)
#   EVAL_LOCAL=1                also ask every question with the `local` engine (slow)
#   EVAL_LOCAL_LIMIT=N          ... or only the first N questions
#   EVAL_COMPARE_BM25=1         also ask on BM25 alone (a second pass; off by default)
#   EVAL_TRAIN_TIMEOUT=900      seconds to wait for the training job
#   EVAL_QUESTIONS=file        one corpus: ask these questions instead of eval/<corpus>/questions.jsonl
#                               (and, for shop-fr, shop-es and shop-de, instead of also asking
#                               eval/cross/<language>.jsonl, the other languages' visitors, whose
#                               reports are cross-<language>-tune.json and -test.json)
#   EVAL_EMBEDDING_MODEL=name   the bots' settings.embedding_model (default: chosen from the
#                               language), e.g. multilingual-e5-small on an English corpus
#   CARGO=cargo                 cargo command
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CORPUS="${EVAL_CORPUS:-all}"
BIN="${EVAL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sitechat}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
CARGO="${CARGO:-cargo}"
TRAIN_TIMEOUT="${EVAL_TRAIN_TIMEOUT:-900}"

log() { printf '[eval] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- all corpora: one run each
if [ "$CORPUS" = all ]; then
  if [ "${EVAL_NO_BUILD:-0}" != 1 ]; then
    log "building sitechat (debug profile)"
    $CARGO build -p sitechat
  fi
  OUT_DIR="${EVAL_OUT_DIR:-$ROOT/eval/results/run-$(date +%Y%m%d-%H%M%S)}"
  mkdir -p "$OUT_DIR"
  failed=()
  for corpus in postgres pyfaq shop short shop-fr shop-es shop-de; do
    log "=== corpus $corpus"
    if ! EVAL_CORPUS="$corpus" EVAL_NO_BUILD=1 EVAL_BIN="$BIN" EVAL_OUT="$OUT_DIR/$corpus.json" \
      bash "$ROOT/scripts/eval.sh" "$@"; then
      failed+=("$corpus")
    fi
  done
  if [ "${EVAL_STOP_AFTER_TRAINING:-0}" != 1 ]; then
    python3 "$ROOT/eval/table.py" "$OUT_DIR"/*-tune.json "$OUT_DIR"/*-test.json || true
  fi
  log "reports in $OUT_DIR"
  [ "${#failed[@]}" -eq 0 ] || die "failed: ${failed[*]}"
  exit 0
fi

# ---------------------------------------------------------------- one corpus
START=index.html
REACH_ARGS=()
# The bot's language (the `language` of POST /v1/bots); empty: the server's default (en).
BOT_LANGUAGE=""
case "$CORPUS" in
  postgres)
    BOT_NAME="PostgreSQL docs"
    DOCS_PKG=postgresql-doc-15
    DOCS_DIR=/usr/share/doc/postgresql-doc-15/html
    ;;
  pyfaq)
    BOT_NAME="Python FAQ"
    DOCS_PKG=python3.11-doc
    DOCS_DIR=/usr/share/doc/python3.11/html
    START=faq/index.html
    ;;
  shop)
    BOT_NAME="Hazel & Moss"
    DOCS_PKG=""
    DOCS_DIR="$ROOT/eval/shop/site"
    ;;
  shop-fr | shop-es | shop-de)
    # The shop site in French, Spanish or German (issue 22), a bot speaking that language.
    BOT_LANGUAGE="${CORPUS#shop-}"
    BOT_NAME="Hazel & Moss ($BOT_LANGUAGE)"
    DOCS_PKG=""
    DOCS_DIR="$ROOT/eval/$CORPUS/site"
    ;;
  short)
    # Twelve small businesses, each a bot that knows one short text (eval/short/knowledge).
    BOT_NAME=""
    DOCS_PKG=""
    DOCS_DIR=""
    ;;
  *) die "EVAL_CORPUS must be all, postgres, pyfaq, shop, short, shop-fr, shop-es or shop-de (not '$CORPUS')" ;;
esac
CRAWL_JSON="$ROOT/eval/$CORPUS/crawl.json"
QUESTIONS="${EVAL_QUESTIONS:-$ROOT/eval/$CORPUS/questions.jsonl}"
case "$QUESTIONS" in /*) ;; *) QUESTIONS="$ROOT/$QUESTIONS" ;; esac
OUT="${EVAL_OUT:-$ROOT/eval/results/$CORPUS-$(date +%Y%m%d-%H%M%S).json}"
[ -f "$QUESTIONS" ] || die "$QUESTIONS is missing"

command -v python3 >/dev/null || die "python3 is required (it serves the manual)"
command -v curl >/dev/null || die "curl is required"

# ---------------------------------------------------------------- JSON helpers (jq or python3)
HAVE_JQ=0
command -v jq >/dev/null && HAVE_JQ=1

# jget PATH: reads JSON on stdin, prints the value at a dotted path (.a.b) or "" when absent.
jget() {
  if [ "$HAVE_JQ" = 1 ]; then
    jq -r "$1 // empty"
  else
    python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in [k for k in sys.argv[1].split(".") if k]:
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v))
' "$1"
  fi
}

# ---------------------------------------------------------------- clean-up
if [ -n "${EVAL_CACHE:-}" ]; then
  tmp="$EVAL_CACHE/$CORPUS"
  mkdir -p "$tmp"
  tmp="$(cd "$tmp" && pwd)"
  EVAL_KEEP_TMP=1
else
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/sitechat-eval.XXXXXX")"
fi
DOCS_PID=""
SERVER_PID=""
cleanup() {
  local status=$?
  for pid in "$SERVER_PID" "$DOCS_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ "$status" -ne 0 ] && [ -f "$tmp/server.log" ]; then
    log "server log (last 30 lines):"
    tail -n 30 "$tmp/server.log" >&2 || true
  fi
  if [ "$status" -ne 0 ] || [ "${EVAL_KEEP_TMP:-0}" = 1 ]; then
    log "kept $tmp (data directory and logs)"
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------- 1. the documentation site
if [ "$CORPUS" != short ]; then
if [ ! -f "$DOCS_DIR/$START" ]; then
  [ -n "$DOCS_PKG" ] || die "$DOCS_DIR/$START is missing"
  bash "$ROOT/scripts/debian-package.sh" "$DOCS_PKG" "$DOCS_DIR/$START" || die "could not install $DOCS_PKG"
fi

DOCS_PORT="$(free_port)"
python3 -m http.server --bind 127.0.0.1 "$DOCS_PORT" --directory "$DOCS_DIR" \
  >"$tmp/docs.log" 2>&1 &
DOCS_PID=$!
SITE="http://127.0.0.1:$DOCS_PORT/$START"
for _ in $(seq 1 50); do
  curl -sf -o /dev/null "$SITE" && break
  kill -0 "$DOCS_PID" 2>/dev/null || die "the documentation server did not start (see $tmp/docs.log)"
  sleep 0.2
done
curl -sf -o /dev/null "$SITE" || die "the documentation server does not answer at $SITE"
log "$CORPUS site served at $SITE"

# Pages the crawl should index, computed offline from the HTML (eval/postgres/reach.py).
EXPECTED_PAGES="$(python3 "$ROOT/eval/postgres/reach.py" --html "$DOCS_DIR" --crawl "$CRAWL_JSON" \
  --start "/$START" | sed -n 's/^pages reached and indexed: //p')"
log "crawl.json should index $EXPECTED_PAGES pages"
fi

# ---------------------------------------------------------------- 2. sitechat
if [ "${EVAL_NO_BUILD:-0}" != 1 ]; then
  log "building sitechat (debug profile)"
  $CARGO build -p sitechat
fi
[ -x "$BIN" ] || die "$BIN is missing (build it, or unset EVAL_NO_BUILD)"

API_PORT="$(free_port)"
API="http://127.0.0.1:$API_PORT"
CACHED=0
if [ -f "$tmp/bot" ] && [ -f "$tmp/key" ]; then
  CACHED=1
  KEY="$(cat "$tmp/key")"
else
  rm -rf "$tmp/data"
  KEY="sk_eval_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
fi
mkdir -p "$tmp/data"
# Started from $tmp so that no ./sitechat.toml of the working tree is picked up.
# start_server EMBEDDINGS(true|false)
start_server() {
  (
    cd "$tmp"
    exec env SITECHAT_ADMIN_KEY="$KEY" \
      SITECHAT_ALLOW_PRIVATE_NETWORKS=true \
      SITECHAT_CRAWL__DELAY_MS=0 \
      SITECHAT_RATE_LIMITS=false \
      SITECHAT_EMBEDDINGS="$1" \
      SITECHAT_MODELS_DIR="${SITECHAT_MODELS_DIR:-$HOME/.cache/sitechat/models}" \
      "$BIN" serve --data-dir "$tmp/data" --bind "127.0.0.1:$API_PORT"
  ) >>"$tmp/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$API/health" || true)" = 200 ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "sitechat exited at start (see $tmp/server.log)"
    sleep 0.2
  done
}
start_server true
health="$(curl -sf "$API/health")" || die "sitechat does not answer at $API/health"
log "sitechat up at $API (embedding: $(printf '%s' "$health" | jget .models.embedding), retrieval: $(printf '%s' "$health" | jget .models.retrieval))"

api() { # api METHOD PATH [JSON body]
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body -X "$method" "$API$path" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"
}

# ---------------------------------------------------------------- 3. bot and training
MODEL_SETTINGS=""
if [ -n "${EVAL_EMBEDDING_MODEL:-}" ]; then
  MODEL_SETTINGS=", \"settings\": {\"embedding_model\": \"$EVAL_EMBEDDING_MODEL\"}"
fi
# BOT_ARGS: the --bot arguments of `sitechat eval` (one bot, or NAME=bot_… per knowledge base).
BOT_ARGS=()
if [ "$CACHED" = 1 ]; then
  while read -r line; do BOT_ARGS+=(--bot "$line"); done <"$tmp/bot"
  log "bot(s) ${BOT_ARGS[*]} trained earlier, from $tmp"
elif [ "$CORPUS" = short ]; then
  : >"$tmp/bot.new"
  for file in "$ROOT"/eval/short/knowledge/*.txt; do
    name="$(basename "$file" .txt)"
    bot="$(api POST /v1/bots -d "{\"name\": \"$name\"$MODEL_SETTINGS}")" || die "creating the bot $name failed: $bot"
    id="$(printf '%s' "$bot" | jget .id)"
    [ -n "$id" ] || die "no bot id in: $bot"
    # A short text is indexed and embedded before the call returns.
    body="$(python3 -c 'import json, sys; print(json.dumps({"title": sys.argv[1], "content": open(sys.argv[2]).read()}))' "$name" "$file")"
    api POST "/v1/bots/$id/sources/text" -d "$body" >/dev/null || die "adding the knowledge of $name failed"
    printf '%s=%s\n' "$name" "$id" >>"$tmp/bot.new"
    BOT_ARGS+=(--bot "$name=$id")
  done
  log "${#BOT_ARGS[@]} arguments: ${BOT_ARGS[*]}"
  printf '%s\n' "$KEY" >"$tmp/key"
  mv "$tmp/bot.new" "$tmp/bot"
else
if [ "$HAVE_JQ" = 1 ]; then
  body="$(jq -c --arg url "$SITE" --arg name "$BOT_NAME" --arg language "$BOT_LANGUAGE" \
    --arg model "${EVAL_EMBEDDING_MODEL:-}" \
    '{name: $name, website_url: $url, settings: ({crawl: {include: .include, max_pages: .max_pages}}
      + (if $model == "" then {} else {embedding_model: $model} end))}
     + (if $language == "" then {} else {language: $language} end)' \
    "$CRAWL_JSON")"
else
  body="$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
settings = {"crawl": {"include": c["include"], "max_pages": c["max_pages"]}}
if sys.argv[5]:
    settings["embedding_model"] = sys.argv[5]
body = {"name": sys.argv[3], "website_url": sys.argv[2], "settings": settings}
if sys.argv[4]:
    body["language"] = sys.argv[4]
print(json.dumps(body))
' "$CRAWL_JSON" "$SITE" "$BOT_NAME" "$BOT_LANGUAGE" "${EVAL_EMBEDDING_MODEL:-}")"
fi
bot="$(api POST /v1/bots -d "$body")" || die "creating the bot failed: $bot"
BOT="$(printf '%s' "$bot" | jget .id)"
JOB="$(printf '%s' "$bot" | jget .last_job_id)"
[ -n "$BOT" ] || die "no bot id in: $bot"
log "bot $BOT created${BOT_LANGUAGE:+ (language $BOT_LANGUAGE)}, training job ${JOB:-?}"

started=$SECONDS
status=""
while :; do
  bot="$(api GET "/v1/bots/$BOT")"
  status="$(printf '%s' "$bot" | jget .training_status)"
  [ -z "$JOB" ] && JOB="$(printf '%s' "$bot" | jget .last_job_id)"
  case "$status" in
    succeeded | failed | cancelled) break ;;
  esac
  if [ $((SECONDS - started)) -ge "$TRAIN_TIMEOUT" ]; then
    die "training still '$status' after ${TRAIN_TIMEOUT}s"
  fi
  if [ -n "$JOB" ]; then
    job="$(api GET "/v1/jobs/$JOB")"
    printf '\r[eval] training: %-9s fetched %s, indexed %s, chunks %s, embedded %s, sentences %s (%ss)   ' \
      "$status" "$(printf '%s' "$job" | jget .pages_fetched)" \
      "$(printf '%s' "$job" | jget .pages_indexed)" "$(printf '%s' "$job" | jget .chunks_created)" \
      "$(printf '%s' "$job" | jget .chunks_embedded)" "$(printf '%s' "$job" | jget .sentences_embedded)" \
      "$((SECONDS - started))" >&2
  fi
  sleep 2
done
TRAIN_SECONDS=$((SECONDS - started))
printf '\n' >&2

job="$(api GET "/v1/jobs/$JOB")"
skipped="$(api GET "/v1/jobs/$JOB/skipped")"
printf '%s\n' "$job" >"$tmp/job.json"
printf '%s\n' "$skipped" >"$tmp/skipped.json"
python3 - "$tmp/job.json" "$tmp/skipped.json" "$TRAIN_SECONDS" "$EXPECTED_PAGES" <<'PY'
import collections, json, sys
job = json.load(open(sys.argv[1]))
skipped = json.load(open(sys.argv[2]))
print(f"training {job['state']} in {sys.argv[3]} s (job {job['id']})")
for k in ("pages_discovered", "pages_fetched", "pages_indexed", "pages_unchanged",
          "pages_skipped", "pages_removed", "chunks_created", "chunks_embedded",
          "sentences_embedded", "stopped_by", "error"):
    print(f"  {k:18} {job.get(k)}")
reasons = collections.Counter(s["reason"] for s in skipped)
print("  skipped by reason: " + (", ".join(f"{r} {n}" for r, n in reasons.most_common()) or "none"))
for s in skipped:
    if s["reason"] != "excluded":
        print(f"    {s['reason']}: {s['url']} ({s['message']})")
expected = int(sys.argv[4] or 0)
if expected and job.get("pages_indexed") != expected:
    print(f"  WARNING: reach.py expects {expected} indexed pages")
PY

[ "$status" = succeeded ] || die "training $status"
printf '%s\n' "$KEY" >"$tmp/key"
printf '%s\n' "$BOT" >"$tmp/bot"
BOT_ARGS=(--bot "$BOT")
fi

if [ "${EVAL_STOP_AFTER_TRAINING:-0}" = 1 ]; then
  log "EVAL_STOP_AFTER_TRAINING=1: stopping before the evaluation"
  exit 0
fi

# ---------------------------------------------------------------- 4. evaluation
mkdir -p "$(dirname "$OUT")"
# eval_splits SUFFIX [extra args]: the tune half, then the test half, each with its own report.
eval_splits() {
  local suffix=$1 split
  shift
  for split in tune test; do
    log "$CORPUS, $split half$suffix: report ${OUT%.json}-$split$suffix.json"
    "$BIN" eval "${BOT_ARGS[@]}" --questions "$QUESTIONS" --k 5 --split "$split" \
      --json "${OUT%.json}-$split$suffix.json" --server "$API" --key "$KEY" "$@"
  done
}
log "running sitechat eval ($(grep -c . "$QUESTIONS") questions)"
eval_splits "" "$@"
python3 "$ROOT/eval/table.py" "${OUT%.json}-tune.json" "${OUT%.json}-test.json" || true

# The French, Spanish and German bots also answer the other languages' visitors: the questions
# of eval/cross/<language>.jsonl (eval/cross.py), asked of the same bot, reported as
# cross-<language>-tune.json and -test.json next to the corpus's own reports.
CROSS="$ROOT/eval/cross/$BOT_LANGUAGE.jsonl"
if [ -n "$BOT_LANGUAGE" ] && [ -z "${EVAL_QUESTIONS:-}" ] && [ -f "$CROSS" ]; then
  log "running sitechat eval on other languages' visitors ($(grep -c . "$CROSS") questions)"
  for split in tune test; do
    "$BIN" eval "${BOT_ARGS[@]}" --questions "$CROSS" --k 5 --split "$split" \
      --json "$(dirname "$OUT")/cross-$BOT_LANGUAGE-$split.json" --server "$API" --key "$KEY" "$@"
  done
  python3 "$ROOT/eval/table.py" "$(dirname "$OUT")/cross-$BOT_LANGUAGE-tune.json" \
    "$(dirname "$OUT")/cross-$BOT_LANGUAGE-test.json" || true
fi

# The same bot with the `local` engine (SmolLM2 through candle) wording the answers: slow on a
# small machine (seconds a question), so only when asked for.
if [ "${EVAL_LOCAL:-0}" = 1 ]; then
  for bot in $(cut -d= -f2- <"$tmp/bot"); do
    api PATCH "/v1/bots/$bot" -d '{"settings": {"engine": {"kind": "local"}}}' >/dev/null \
      || die "could not switch the bot to the local engine"
  done
  log "the same questions with the local engine"
  LOCAL_LIMIT=()
  [ -n "${EVAL_LOCAL_LIMIT:-}" ] && LOCAL_LIMIT=(--limit "$EVAL_LOCAL_LIMIT")
  eval_splits -local "${LOCAL_LIMIT[@]}" "$@"
  for bot in $(cut -d= -f2- <"$tmp/bot"); do
    api PATCH "/v1/bots/$bot" -d '{"settings": {"engine": {"kind": "extractive"}}}' >/dev/null \
      || die "could not switch the bot back to the extractive engine"
  done
fi

# The same bot on keywords alone, for comparison: the server again, without the embedding model.
if [ "${EVAL_COMPARE_BM25:-0}" = 1 ]; then
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  start_server false
  log "the same questions on BM25 alone"
  eval_splits -bm25 "$@"
fi
