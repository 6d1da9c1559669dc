//! Crawling: how sitechat learns a website.
//!
//! - [`guard`]: the SSRF guard every user-directed fetch goes through ([`SsrfGuard`]): scheme,
//!   literal IPs and internal names before the request, resolved addresses in the resolver,
//!   every redirect hop in the redirect policy.
//! - [`fetch`]: one guarded, bounded, conditional GET ([`Fetcher`]).
//! - [`canon`]: one spelling per URL ([`canonicalize`]).
//! - [`robots`] and [`sitemap`]: what the site allows and what it lists.
//! - [`crawl`]: the crawler ([`Crawler`]), reporting [`CrawlEvent`]s as it goes; extraction is
//!   `sitechat_ingest::extract`.

#![forbid(unsafe_code)]

pub mod canon;
pub mod crawl;
pub mod fetch;
pub mod guard;
pub mod robots;
pub mod sitemap;

pub use canon::canonicalize;
pub use crawl::{
    content_hash, CrawlConfig, CrawlConfigError, CrawlEvent, CrawlSummary, CrawledPage, Crawler,
    KnownPage, PageKind, SkipReason,
};
pub use fetch::{FetchConfig, FetchError, Fetched, Fetcher, Validators};
pub use guard::{AddressClass, GuardError, RedirectError, ResolveError, SsrfGuard};
pub use robots::Robots;
pub use sitechat_ingest::Document;
pub use tokio_util::sync::CancellationToken;
