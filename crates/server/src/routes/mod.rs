//! The native API's routes. Each handler states the rule it implements, parses its input into
//! typed values, calls one service function and renders the result.

pub mod accounts;
pub mod analytics;
pub mod bots;
pub mod channels;
pub mod chat;
pub mod contacts;
pub mod conversations;
pub mod docs;
pub mod health;
pub mod keys;
pub mod public;
pub mod sources;
pub mod training;
pub mod users;
pub mod webhooks;
pub mod widget;

use serde::{Deserialize, Serialize};
use sitechat_store::{Cursor, Page, PageRequest};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Paging of every list: `limit` (1–100, default 20) and the `cursor` of the previous page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;

    pub fn parse(self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(format!(
                "limit must be between 1 and {} (got {limit})",
                Self::MAX_LIMIT
            )));
        }
        let after = cursor_of(self.cursor.as_deref())?;
        Ok(PageRequest { limit, after })
    }
}

/// A `cursor` a client sent back (empty: none), or a 400 saying it is not ours.
pub fn cursor_of(value: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    match value.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => Cursor::parse(c).map(Some).ok_or_else(|| {
            ApiError::invalid(
                "cursor is not one this server issued; pass the `next_cursor` of the previous page",
            )
        }),
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub data: Vec<T>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Pass as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    pub fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        Self {
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.map(Cursor::encode),
            data: page.items.into_iter().map(f).collect(),
        }
    }
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Reads an optional, trimmed string, treating an empty one as absent.
/// How a list is asked for: `format=json` (the default) or `format=csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
}

impl Format {
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(ApiError::invalid(format!(
                "format: `{other}` is not json or csv"
            ))),
        }
    }
}

/// One CSV field, quoted when it must be.
pub(crate) fn csv_field(value: Option<&str>) -> String {
    let v = value.unwrap_or("");
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// JSON text that is already well-formed, sent exactly as it is (no re-serialising).
pub(crate) fn json_text(text: String) -> axum::response::Response {
    use axum::{http::header, response::IntoResponse};
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// A CSV download named `filename`.
pub(crate) fn csv_response(body: String, filename: &str) -> axum::response::Response {
    use axum::{http::header, response::IntoResponse};
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
