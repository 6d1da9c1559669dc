//! Ingestion: content in, passages out.
//!
//! - [`extract`]: HTML pages, PDF, DOCX, Markdown and plain text into a [`Document`] (title,
//!   language, sections with heading paths and anchors, links for the crawler); [`detect_kind`]
//!   tells which format a file is.
//! - [`spreadsheet`]: CSV and XLSX into rows of `"Header: value"` lines, one passage each, or
//!   into question and answer pairs when the header row names a question and an answer column.
//! - [`chunk`]: documents and text into passages, the unit of retrieval.
//!
//! - [`testing`] (feature `testing`): PDF and DOCX fixtures built in memory, for tests.
//!
//! Everything here is synchronous and CPU-bound: callers on an async runtime run it on a
//! blocking pool.

#![forbid(unsafe_code)]

pub mod chunk;
pub mod document;
pub mod extract;
pub mod spreadsheet;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use chunk::{chunk_document, chunk_text, slug, Passage};
pub use document::{Document, Section};
pub use extract::{decode_text, detect_kind, ExtractError, FileKind};
pub use spreadsheet::{qa_columns, read_sheet, QaPairs, Sheet, SheetError, SheetKind};
