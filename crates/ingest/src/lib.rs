//! Ingestion: content in, passages out. For now: text and Markdown-style headings into passages.

pub mod chunk;

pub use chunk::{chunk_text, Passage};
