//! sitechat's integration tests: each module drives a real server on an ephemeral loopback
//! port with its own temporary data directory (see `common`). One test binary for the crate,
//! so the suite links once.

mod common;

mod analytics;
mod browser;
mod channels;
mod concurrency;
mod conversations;
mod cross_dialect;
mod curated;
mod dashboard;
mod dialect_aimylogic;
mod dialect_aisa;
mod dialect_askia;
mod dialect_asyntai;
mod dialect_chataibot;
mod dialect_documents;
mod engine_local;
mod engines;
mod errors;
mod isolation;
mod languages;
mod lifecycle;
mod openapi;
mod retrieval;
mod streaming;
mod training;
mod uploads;
mod users;
mod visitor;
mod walkthrough;
mod webhooks;
mod widget;
