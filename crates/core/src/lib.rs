//! Domain types shared by every sitechat crate. Nothing here does I/O.
//!
//! Inputs are parsed into typed values at the edge ("parse, don't validate"): a [`BotName`] or a
//! [`TextContent`] that exists is already known to be acceptable.

pub mod config;
pub mod hours;
pub mod ids;
pub mod language;
pub mod model;
pub mod payloads;
pub mod plan;
pub mod scope;
pub mod texts;
pub mod validate;
pub mod vector;

pub use ids::*;
pub use plan::Plan;
pub use scope::Scope;
pub use validate::ValidationError;

/// The current time, truncated to whole microseconds so that it survives a round trip through the
/// database unchanged.
pub fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}
