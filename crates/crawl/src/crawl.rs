//! The website crawler.
//!
//! [`Crawler::crawl`] learns a site from a start URL and reports everything it does as
//! [`CrawlEvent`]s on a channel: every URL it comes across is first `Discovered`, then gets
//! exactly one outcome — `Page` (fetched and extracted), `Unchanged` (same as in the previous
//! crawl) or `Skipped` with a [`SkipReason`].
//!
//! How a crawl goes:
//!
//! - **Seeds.** The start URL (depth 0); then the URLs of the site's sitemaps — `/sitemap.xml`
//!   and the `Sitemap:` lines of robots.txt, indexes followed — at depth 1; then the URLs of the
//!   previous crawl (`known`) at depth 1, so that pages are revalidated even when a `304` gives
//!   no links to reach them by.
//! - **Links.** An HTML page's links are followed at depth + 1 (from every HTML page that was
//!   fetched and read, including duplicates and pages whose canonical is elsewhere).
//! - **One spelling per page.** URLs are [`canonicalize`]d before anything else (fragments and
//!   tracking parameters go), and each canonical URL is handled once. A redirect's target counts
//!   as seen. A page whose `rel=canonical` names another page of the site is skipped
//!   ([`SkipReason::CanonicalElsewhere`]) and the canonical page is queued at the same depth.
//!   A page whose title and text are identical to an earlier page's is
//!   [`SkipReason::DuplicateContent`].
//! - **Rules, in order, for each new URL:** the SSRF guard (a link to a private address is
//!   `Blocked`), the site (`same_host`: the start URL's host, `www.` or not, same port; a
//!   redirect of the start URL adds its target's site), include/exclude globs on the path (the
//!   start URL is always fetched for its links, but reported `Excluded` when filtered), the
//!   depth, and robots.txt (checked when the URL's turn comes, and for a redirect's target; a
//!   robots.txt answering 5xx disallows the whole site for the crawl, one that cannot be reached
//!   makes its pages `FetchFailed` — see [`crate::robots`]).
//! - **Politeness.** At most `concurrency` requests at once, and requests to one host start at
//!   least `min_delay_per_host` apart, or robots.txt's `Crawl-delay` when larger.
//! - **Change detection.** Known pages are requested with their validators (`304` →
//!   `Unchanged`); a `200` whose content hash equals the known one is `Unchanged` too.
//! - **Limits.** `max_pages` page requests (robots.txt and sitemaps not counted): URLs left over
//!   are `Skipped(MaxPages)`. `max_total_time` and cancellation stop at once: requests under way
//!   are abandoned and they and the URLs left over are skipped with
//!   [`SkipReason::MaxTotalTime`] / [`SkipReason::Cancelled`]. If the event receiver goes away
//!   the crawl stops as cancelled; after cancellation, events the receiver is not ready to take
//!   are dropped rather than waited for.
//!
//! Handled content: HTML, PDF, plain text and Markdown (kinds "html", "pdf", "text"); anything
//! else is [`SkipReason::UnsupportedType`]. Extraction runs on the blocking pool.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};
use sitechat_ingest::{extract, Document, FileKind};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::canon::canonicalize;
use crate::fetch::{FetchConfig, FetchError, Fetched, Fetcher, Validators};
use crate::guard::SsrfGuard;
use crate::robots::{Robots, RobotsSource};
use crate::sitemap::{self, SitemapLimits};

/// What a crawl may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawlConfig {
    /// Page requests in all (robots.txt and sitemaps not counted).
    pub max_pages: usize,
    /// Link hops from the start URL (sitemap and known URLs are at depth 1).
    pub max_depth: usize,
    /// Largest page or file read, in bytes.
    pub max_page_bytes: usize,
    /// Wall-clock limit for the whole crawl.
    pub max_total_time: Duration,
    /// Requests under way at once.
    pub concurrency: usize,
    /// Least time between two requests to one host; robots.txt's crawl-delay wins if larger.
    pub min_delay_per_host: Duration,
    /// Stay on the start URL's site (`www.` and the bare domain are the same site).
    pub same_host: bool,
    /// Glob patterns on the URL path (`/docs/**`); when not empty, only matching paths are
    /// crawled.
    pub include: Vec<String>,
    /// Glob patterns on the URL path (`/blog/**`) that are never crawled.
    pub exclude: Vec<String>,
    /// How requests are made (user agent, timeouts, redirects, private networks). Its
    /// `max_bytes` is not used by the crawler: pages are bounded by `max_page_bytes`,
    /// robots.txt by 512 KiB and sitemaps by 50 MiB.
    pub fetch: FetchConfig,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        CrawlConfig {
            max_pages: 500,
            max_depth: 10,
            max_page_bytes: 5 * 1024 * 1024,
            max_total_time: Duration::from_secs(30 * 60),
            concurrency: 4,
            min_delay_per_host: Duration::from_millis(250),
            same_host: true,
            include: Vec::new(),
            exclude: Vec::new(),
            fetch: FetchConfig::default(),
        }
    }
}

/// What the previous crawl learned about a page, keyed by its canonical URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownPage {
    pub validators: Validators,
    pub content_hash: String,
}

/// The kind of content a page was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageKind {
    Html,
    Pdf,
    /// Plain text or Markdown.
    Text,
}

impl PageKind {
    /// "html", "pdf" or "text".
    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::Html => "html",
            PageKind::Pdf => "pdf",
            PageKind::Text => "text",
        }
    }
}

impl fmt::Display for PageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A page fetched and extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawledPage {
    /// Canonical URL of the page as it was reached (the key for [`KnownPage`]s).
    pub url: String,
    /// The URL that answered, after redirects.
    pub final_url: String,
    pub depth: usize,
    /// The document's title, else the file name or path from the URL.
    pub title: String,
    pub language: Option<String>,
    pub document: Document,
    /// SHA-256 (hex) of the extracted title and text; equal hashes mean duplicate content.
    pub content_hash: String,
    pub validators: Validators,
    pub kind: PageKind,
}

/// What a crawl reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrawlEvent {
    /// A URL met for the first time (canonical form); an outcome event follows.
    Discovered {
        url: String,
        depth: usize,
    },
    /// Fetched and extracted.
    Page(Box<CrawledPage>),
    /// `304 Not Modified`, or the same content hash as in `known`.
    Unchanged {
        url: String,
    },
    Skipped {
        url: String,
        reason: SkipReason,
    },
}

/// Why a URL was not indexed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SkipReason {
    RobotsDisallowed,
    OffSite,
    Excluded,
    MaxDepth,
    MaxPages,
    HttpStatus(u16),
    TooLarge,
    UnsupportedType(String),
    RedirectLoop,
    TooManyRedirects,
    DuplicateContent {
        same_as: String,
    },
    CanonicalElsewhere {
        canonical: String,
    },
    /// Refused by the SSRF guard; the guard's message.
    Blocked(String),
    /// Timeout, connection error, broken response.
    FetchFailed(String),
    /// The content could not be read (an encrypted or image-only PDF …).
    ExtractFailed(String),
    /// The crawl's time limit was reached first.
    MaxTotalTime,
    Cancelled,
}

impl SkipReason {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::RobotsDisallowed => "robots_disallowed",
            SkipReason::OffSite => "off_site",
            SkipReason::Excluded => "excluded",
            SkipReason::MaxDepth => "max_depth",
            SkipReason::MaxPages => "max_pages",
            SkipReason::HttpStatus(_) => "http_status",
            SkipReason::TooLarge => "too_large",
            SkipReason::UnsupportedType(_) => "unsupported_type",
            SkipReason::RedirectLoop => "redirect_loop",
            SkipReason::TooManyRedirects => "too_many_redirects",
            SkipReason::DuplicateContent { .. } => "duplicate_content",
            SkipReason::CanonicalElsewhere { .. } => "canonical_elsewhere",
            SkipReason::Blocked(_) => "blocked",
            SkipReason::FetchFailed(_) => "fetch_failed",
            SkipReason::ExtractFailed(_) => "extract_failed",
            SkipReason::MaxTotalTime => "max_total_time",
            SkipReason::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::RobotsDisallowed => f.write_str("disallowed by the site's robots.txt"),
            SkipReason::OffSite => f.write_str("on another site"),
            SkipReason::Excluded => f.write_str("excluded by the include/exclude patterns"),
            SkipReason::MaxDepth => f.write_str("deeper than the maximum link depth"),
            SkipReason::MaxPages => f.write_str("the crawl reached its maximum number of pages"),
            SkipReason::HttpStatus(s) => write!(f, "the server answered HTTP {s}"),
            SkipReason::TooLarge => f.write_str("larger than the maximum page size"),
            SkipReason::UnsupportedType(t) => write!(f, "unsupported content type {t}"),
            SkipReason::RedirectLoop => f.write_str("redirect loop"),
            SkipReason::TooManyRedirects => f.write_str("too many redirects"),
            SkipReason::DuplicateContent { same_as } => write!(f, "same content as {same_as}"),
            SkipReason::CanonicalElsewhere { canonical } => {
                write!(f, "the page's canonical URL is {canonical}")
            }
            SkipReason::Blocked(why) => write!(f, "blocked: {why}"),
            SkipReason::FetchFailed(why) => write!(f, "fetch failed: {why}"),
            SkipReason::ExtractFailed(why) => write!(f, "could not be read: {why}"),
            SkipReason::MaxTotalTime => f.write_str("the crawl reached its time limit"),
            SkipReason::Cancelled => f.write_str("the crawl was cancelled"),
        }
    }
}

impl From<&FetchError> for SkipReason {
    fn from(error: &FetchError) -> Self {
        match error {
            FetchError::Blocked(e) => SkipReason::Blocked(e.to_string()),
            FetchError::TooLarge { .. } => SkipReason::TooLarge,
            FetchError::RedirectLoop(_) => SkipReason::RedirectLoop,
            FetchError::TooManyRedirects(_) => SkipReason::TooManyRedirects,
            FetchError::Status(s) => SkipReason::HttpStatus(*s),
            e => SkipReason::FetchFailed(e.to_string()),
        }
    }
}

/// How a crawl went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlSummary {
    /// URLs met (`Discovered` events).
    pub discovered: usize,
    /// Page requests made.
    pub fetched: usize,
    /// `Page` events.
    pub indexed: usize,
    /// `Unchanged` events.
    pub unchanged: usize,
    /// `Skipped` events.
    pub skipped: usize,
    pub elapsed: Duration,
    /// "max_pages", "max_total_time" or "cancelled" when the crawl stopped before running out of
    /// URLs.
    pub stopped_by: Option<&'static str>,
}

/// A crawl configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrawlConfigError {
    #[error("invalid {list} pattern {pattern:?}: {message}")]
    InvalidPattern {
        list: &'static str,
        pattern: String,
        message: String,
    },
}

/// Crawls websites. One crawler can run several crawls, one after the other or at once.
#[derive(Debug, Clone)]
pub struct Crawler {
    config: CrawlConfig,
    fetcher: Arc<Fetcher>,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Crawler {
    /// A crawler whose guard allows private networks when `config.fetch.allow_private` is set.
    pub fn new(config: CrawlConfig) -> Result<Self, CrawlConfigError> {
        let guard = SsrfGuard::new(config.fetch.allow_private);
        Self::with_guard(config, guard)
    }

    /// A crawler with a given guard.
    pub fn with_guard(config: CrawlConfig, guard: SsrfGuard) -> Result<Self, CrawlConfigError> {
        let include = glob_set("include", &config.include)?;
        let exclude = glob_set("exclude", &config.exclude)?;
        let fetcher = Arc::new(Fetcher::with_guard(config.fetch.clone(), guard));
        Ok(Crawler {
            config,
            fetcher,
            include,
            exclude,
        })
    }

    pub fn config(&self) -> &CrawlConfig {
        &self.config
    }

    /// Crawls the site of `start` (see the module documentation), sending events as it goes, and
    /// returns when there is nothing left to do, a limit is reached, or `cancel` is cancelled.
    #[tracing::instrument(skip_all, fields(start = %start))]
    pub async fn crawl(
        &self,
        start: Url,
        known: HashMap<String, KnownPage>,
        events: mpsc::Sender<CrawlEvent>,
        cancel: CancellationToken,
    ) -> CrawlSummary {
        let started = Instant::now();
        let mut run = Run {
            crawler: self,
            events,
            cancel,
            deadline: started + self.config.max_total_time,
            known,
            sites: Vec::new(),
            seen: HashSet::new(),
            frontier: VecDeque::new(),
            by_hash: HashMap::new(),
            skipped: HashSet::new(),
            robots: HashMap::new(),
            next_slot: HashMap::new(),
            summary: CrawlSummary::default(),
            silenced: false,
        };
        run.run(start).await;
        let mut summary = run.summary;
        summary.elapsed = started.elapsed();
        tracing::info!(
            discovered = summary.discovered,
            fetched = summary.fetched,
            indexed = summary.indexed,
            unchanged = summary.unchanged,
            skipped = summary.skipped,
            stopped_by = summary.stopped_by,
            "crawl finished"
        );
        summary
    }

    /// Whether the include/exclude patterns let `url`'s path through.
    fn path_allowed(&self, url: &Url) -> bool {
        let path = url.path();
        let included = self.include.as_ref().is_none_or(|set| set.is_match(path));
        let excluded = self.exclude.as_ref().is_some_and(|set| set.is_match(path));
        included && !excluded
    }
}

fn glob_set(list: &'static str, patterns: &[String]) -> Result<Option<GlobSet>, CrawlConfigError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob: Glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| CrawlConfigError::InvalidPattern {
                list,
                pattern: pattern.clone(),
                message: e.kind().to_string(),
            })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| CrawlConfigError::InvalidPattern {
            list,
            pattern: patterns.join(", "),
            message: e.to_string(),
        })
}

/// A URL waiting for its turn.
#[derive(Debug, Clone)]
struct Item {
    url: Url,
    key: String,
    depth: usize,
    /// False for a start URL filtered out by include/exclude: fetched for its links only.
    index: bool,
    is_start: bool,
}

/// What a page task brings back.
enum PageResult {
    Failed(FetchError),
    Done(Box<(Fetched, Content)>),
}

enum Content {
    NotModified,
    Status(u16),
    Unsupported(String),
    ExtractFailed(String),
    Extracted {
        document: Document,
        kind: PageKind,
        hash: String,
    },
}

enum Pick {
    Ready(Item),
    Wait(Instant),
    Empty,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    MaxTotalTime,
    Cancelled,
}

/// The state of one crawl.
struct Run<'a> {
    crawler: &'a Crawler,
    events: mpsc::Sender<CrawlEvent>,
    cancel: CancellationToken,
    deadline: Instant,
    known: HashMap<String, KnownPage>,
    /// Sites in scope (host without `www.`, explicit port).
    sites: Vec<(String, Option<u16>)>,
    /// Canonical URLs already met.
    seen: HashSet<String>,
    frontier: VecDeque<Item>,
    /// Content hash → first URL with that content.
    by_hash: HashMap<String, String>,
    /// URLs whose outcome was a skip.
    skipped: HashSet<String>,
    /// robots.txt per origin.
    robots: HashMap<String, Arc<Robots>>,
    /// Per host: when the next request may start.
    next_slot: HashMap<String, Instant>,
    summary: CrawlSummary,
    /// No more events are sent (see [`Run::emit`]); the crawl stops as cancelled.
    silenced: bool,
}

impl Run<'_> {
    async fn run(&mut self, start: Url) {
        self.sites.push(site_of(&start));
        self.discover(start.clone(), 0, true).await;
        if !self.frontier.is_empty() {
            self.seed_from_sitemaps(&start).await;
        }
        let mut known: Vec<String> = self.known.keys().cloned().collect();
        known.sort();
        for key in known {
            if let Ok(url) = Url::parse(&key) {
                self.discover(url, 1, false).await;
            }
        }

        match self.crawl_frontier().await {
            Ok(budget_exhausted) => {
                let left: Vec<String> = self.frontier.drain(..).map(|i| i.key).collect();
                if budget_exhausted && !left.is_empty() {
                    self.summary.stopped_by = Some(SkipReason::MaxPages.code());
                }
                for key in left {
                    self.skip(key, SkipReason::MaxPages).await;
                }
            }
            Err((stop, in_flight)) => {
                let reason = match stop {
                    Stop::MaxTotalTime => SkipReason::MaxTotalTime,
                    Stop::Cancelled => SkipReason::Cancelled,
                };
                self.summary.stopped_by = Some(reason.code());
                let mut left: Vec<String> = in_flight;
                left.sort();
                left.extend(self.frontier.drain(..).map(|i| i.key));
                for key in left {
                    if self.silenced {
                        break;
                    }
                    self.skip(key, reason.clone()).await;
                }
            }
        }
    }

    async fn seed_from_sitemaps(&mut self, start: &Url) {
        let Some(robots) = self.robots_for(start).await else {
            return;
        };
        let mut roots: Vec<Url> = robots.sitemaps().to_vec();
        if let Ok(default) = start.join("/sitemap.xml") {
            if robots.allowed(&default) && !roots.contains(&default) {
                roots.push(default);
            }
        }
        let limits = SitemapLimits {
            max_urls: self.crawler.config.max_pages.max(1),
            ..SitemapLimits::default()
        };
        let fetcher = self.crawler.fetcher.clone();
        if let Some(urls) = self
            .interruptible(sitemap::collect(&fetcher, &roots, &limits))
            .await
        {
            for url in urls {
                self.discover(url, 1, false).await;
            }
        }
    }

    /// Runs fetches until the frontier is done or the page budget is spent (`Ok(true)` when URLs
    /// are left over), or the crawl is stopped (`Err` with the URLs that were under way).
    async fn crawl_frontier(&mut self) -> Result<bool, (Stop, Vec<String>)> {
        let config = &self.crawler.config;
        let concurrency = config.concurrency.max(1);
        let mut tasks: JoinSet<PageResult> = JoinSet::new();
        let mut in_flight: HashMap<tokio::task::Id, Item> = HashMap::new();
        let mut budget_exhausted = false;
        let cancel = self.cancel.clone();
        let deadline = self.deadline;

        let stop = loop {
            if self.silenced || cancel.is_cancelled() {
                break Stop::Cancelled;
            }
            if Instant::now() >= deadline {
                break Stop::MaxTotalTime;
            }

            let mut wake_at = None;
            while !budget_exhausted && tasks.len() < concurrency {
                if self.summary.fetched >= config.max_pages {
                    budget_exhausted = !self.frontier.is_empty();
                    break;
                }
                let item = match self.next_ready(Instant::now()) {
                    Pick::Ready(item) => item,
                    Pick::Wait(at) => {
                        wake_at = Some(at);
                        break;
                    }
                    Pick::Empty => break,
                };
                let Some(robots) = self.robots_for(&item.url).await else {
                    self.frontier.push_front(item);
                    break;
                };
                if !robots.allowed(&item.url) {
                    self.skip(item.key, robots_refusal(&robots)).await;
                    continue;
                }
                let delay = robots.crawl_delay().map_or(config.min_delay_per_host, |d| {
                    d.max(config.min_delay_per_host)
                });
                self.next_slot
                    .insert(host_key(&item.url), Instant::now() + delay);
                self.summary.fetched += 1;
                let validators = self.known.get(&item.key).map(|k| k.validators.clone());
                let fetcher = self.crawler.fetcher.clone();
                let url = item.url.clone();
                let max_bytes = config.max_page_bytes;
                let handle = tasks
                    .spawn(async move { fetch_page(&fetcher, url, validators, max_bytes).await });
                in_flight.insert(handle.id(), item);
            }
            if self.silenced || cancel.is_cancelled() || Instant::now() >= deadline {
                continue;
            }
            if tasks.is_empty() && wake_at.is_none() {
                // Nothing under way and nothing that could start: done, or out of budget.
                if budget_exhausted || self.frontier.is_empty() {
                    return Ok(budget_exhausted);
                }
                continue;
            }

            tokio::select! {
                biased;
                _ = cancel.cancelled() => break Stop::Cancelled,
                _ = tokio::time::sleep_until(deadline) => break Stop::MaxTotalTime,
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    let id = match &joined {
                        Ok((id, _)) => *id,
                        Err(e) => e.id(),
                    };
                    if let Some(item) = in_flight.remove(&id) {
                        let result = joined.map(|(_, r)| r).unwrap_or_else(|e| {
                            PageResult::Failed(FetchError::Request {
                                url: item.key.clone(),
                                message: format!("the page task failed: {e}"),
                            })
                        });
                        self.handle(item, result).await;
                    }
                }
                _ = tokio::time::sleep_until(wake_at.unwrap_or(deadline)), if wake_at.is_some() => {}
            }
        };
        tasks.abort_all();
        Err((stop, in_flight.into_values().map(|i| i.key).collect()))
    }

    /// The next URL whose host may be requested now, else when the earliest host frees up.
    fn next_ready(&mut self, now: Instant) -> Pick {
        let mut earliest: Option<Instant> = None;
        let mut waiting: HashSet<String> = HashSet::new();
        for i in 0..self.frontier.len() {
            let host = host_key(&self.frontier[i].url);
            if waiting.contains(&host) {
                continue;
            }
            match self.next_slot.get(&host) {
                Some(at) if *at > now => {
                    earliest = Some(earliest.map_or(*at, |e| e.min(*at)));
                    waiting.insert(host);
                }
                _ => {
                    return Pick::Ready(self.frontier.remove(i).expect("index in range"));
                }
            }
        }
        earliest.map_or(Pick::Empty, Pick::Wait)
    }

    /// Handles a finished page task.
    async fn handle(&mut self, item: Item, result: PageResult) {
        let (fetched, content) = match result {
            PageResult::Failed(e) => {
                tracing::debug!(url = %item.key, error = %e, "page not fetched");
                self.skip(item.key, SkipReason::from(&e)).await;
                return;
            }
            PageResult::Done(done) => *done,
        };
        let final_key = canonicalize(&fetched.final_url).to_string();
        if final_key != item.key {
            if item.is_start {
                let site = site_of(&fetched.final_url);
                if !self.sites.contains(&site) {
                    self.sites.push(site);
                }
            }
            if !self.in_scope(&fetched.final_url) {
                self.skip(item.key, SkipReason::OffSite).await;
                return;
            }
            self.seen.insert(final_key.clone());
            // Redirected into a part of the site robots.txt disallows: do not keep it.
            match self.robots_for(&fetched.final_url).await {
                Some(robots) if robots.allowed(&fetched.final_url) => {}
                Some(robots) => {
                    self.skip(item.key, robots_refusal(&robots)).await;
                    return;
                }
                None => {
                    let reason = self.interrupted_reason();
                    self.skip(item.key, reason).await;
                    return;
                }
            }
        }
        match content {
            Content::Status(status) => self.skip(item.key, SkipReason::HttpStatus(status)).await,
            Content::Unsupported(ct) => self.skip(item.key, SkipReason::UnsupportedType(ct)).await,
            Content::ExtractFailed(why) => {
                self.skip(item.key, SkipReason::ExtractFailed(why)).await
            }
            Content::NotModified => {
                if let Some(known) = self.known.get(&item.key) {
                    self.by_hash
                        .entry(known.content_hash.clone())
                        .or_insert_with(|| item.key.clone());
                }
                self.emit(CrawlEvent::Unchanged { url: item.key }).await;
            }
            Content::Extracted {
                document,
                kind,
                hash,
            } => {
                self.page(item, fetched, final_key, document, kind, hash)
                    .await
            }
        }
    }

    async fn page(
        &mut self,
        item: Item,
        fetched: Fetched,
        final_key: String,
        document: Document,
        kind: PageKind,
        hash: String,
    ) {
        let links = if kind == PageKind::Html {
            document.links.clone()
        } else {
            Vec::new()
        };
        let depth = item.depth;
        if let Some(canonical) = self.canonical_elsewhere(&document, &item.key, &final_key) {
            let key = canonical.to_string();
            self.skip(
                item.key,
                SkipReason::CanonicalElsewhere {
                    canonical: key.clone(),
                },
            )
            .await;
            self.discover(canonical, depth, false).await;
        } else if !item.index {
            self.skip(item.key, SkipReason::Excluded).await;
        } else if self
            .known
            .get(&item.key)
            .is_some_and(|k| k.content_hash == hash)
        {
            self.by_hash.entry(hash).or_insert_with(|| item.key.clone());
            self.emit(CrawlEvent::Unchanged { url: item.key }).await;
        } else if let Some(same_as) = self.by_hash.get(&hash).cloned() {
            self.skip(item.key, SkipReason::DuplicateContent { same_as })
                .await;
        } else {
            self.by_hash.insert(hash.clone(), item.key.clone());
            let title = if document.title.trim().is_empty() {
                fallback_title(&fetched.final_url)
            } else {
                document.title.clone()
            };
            let page = CrawledPage {
                url: item.key,
                final_url: fetched.final_url.to_string(),
                depth,
                title,
                language: document.language.clone(),
                document,
                content_hash: hash,
                validators: fetched.validators,
                kind,
            };
            self.emit(CrawlEvent::Page(Box::new(page))).await;
        }
        for link in links {
            if self.silenced {
                return;
            }
            if let Ok(url) = Url::parse(&link) {
                self.discover(url, depth + 1, false).await;
            }
        }
    }

    /// The page's `rel=canonical`, when it names another page of the site that is worth going
    /// to instead (not a page already skipped, which would lose both).
    fn canonical_elsewhere(&self, document: &Document, key: &str, final_key: &str) -> Option<Url> {
        let canonical = Url::parse(document.canonical.as_deref()?).ok()?;
        let canonical = canonicalize(&canonical);
        let canonical_key = canonical.as_str();
        if canonical_key == key
            || canonical_key == final_key
            || self.skipped.contains(canonical_key)
            || !self.in_scope(&canonical)
            || self.crawler.fetcher.guard().check_url(&canonical).is_err()
        {
            return None;
        }
        Some(canonical)
    }

    /// Meets a URL: reports it once, then queues it or skips it.
    async fn discover(&mut self, url: Url, depth: usize, is_start: bool) {
        let url = canonicalize(&url);
        let key = url.to_string();
        if !self.seen.insert(key.clone()) {
            return;
        }
        self.emit(CrawlEvent::Discovered {
            url: key.clone(),
            depth,
        })
        .await;
        let path_allowed = self.crawler.path_allowed(&url);
        let reason = if let Err(e) = self.crawler.fetcher.guard().check_url(&url) {
            Some(SkipReason::Blocked(e.to_string()))
        } else if !self.in_scope(&url) {
            Some(SkipReason::OffSite)
        } else if !is_start && !path_allowed {
            Some(SkipReason::Excluded)
        } else if depth > self.crawler.config.max_depth {
            Some(SkipReason::MaxDepth)
        } else {
            None
        };
        match reason {
            Some(reason) => self.skip(key, reason).await,
            None => self.frontier.push_back(Item {
                url,
                key,
                depth,
                index: path_allowed,
                is_start,
            }),
        }
    }

    fn in_scope(&self, url: &Url) -> bool {
        !self.crawler.config.same_host || self.sites.contains(&site_of(url))
    }

    /// robots.txt of `url`'s origin, fetched the first time; `None` if the crawl was stopped
    /// meanwhile.
    async fn robots_for(&mut self, url: &Url) -> Option<Arc<Robots>> {
        let origin = url.origin().ascii_serialization();
        if let Some(robots) = self.robots.get(&origin) {
            return Some(robots.clone());
        }
        let fetcher = self.crawler.fetcher.clone();
        let robots = Arc::new(self.interruptible(Robots::fetch(&fetcher, url)).await?);
        tracing::debug!(%origin, source = ?robots.source(), "robots.txt");
        self.robots.insert(origin, robots.clone());
        Some(robots)
    }

    /// Why an interruptible step did not finish.
    fn interrupted_reason(&self) -> SkipReason {
        if self.cancel.is_cancelled() {
            SkipReason::Cancelled
        } else {
            SkipReason::MaxTotalTime
        }
    }

    /// Runs `fut` unless the crawl is cancelled or out of time first.
    async fn interruptible<F: std::future::Future>(&self, fut: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => None,
            _ = tokio::time::sleep_until(self.deadline) => None,
            out = fut => Some(out),
        }
    }

    async fn skip(&mut self, key: String, reason: SkipReason) {
        self.skipped.insert(key.clone());
        self.emit(CrawlEvent::Skipped { url: key, reason }).await;
    }

    async fn emit(&mut self, event: CrawlEvent) {
        match &event {
            CrawlEvent::Discovered { .. } => self.summary.discovered += 1,
            CrawlEvent::Page(_) => self.summary.indexed += 1,
            CrawlEvent::Unchanged { .. } => self.summary.unchanged += 1,
            CrawlEvent::Skipped { .. } => self.summary.skipped += 1,
        }
        if self.silenced {
            return;
        }
        let send = self.events.send(event);
        let sent = tokio::select! {
            biased;
            sent = send => sent.is_ok(),
            _ = self.cancel.cancelled() => false,
        };
        if !sent {
            // The receiver is gone, or the crawl was cancelled while the receiver was not
            // keeping up: send nothing more, so that the crawl ends at once.
            self.silenced = true;
        }
    }
}

/// Why robots.txt does not let a URL through.
fn robots_refusal(robots: &Robots) -> SkipReason {
    match robots.source() {
        RobotsSource::Unreachable(why) => SkipReason::FetchFailed(why.clone()),
        RobotsSource::Blocked(why) => SkipReason::Blocked(why.clone()),
        _ => SkipReason::RobotsDisallowed,
    }
}

/// Fetches a page and extracts it on the blocking pool.
async fn fetch_page(
    fetcher: &Fetcher,
    url: Url,
    validators: Option<Validators>,
    max_bytes: usize,
) -> PageResult {
    let mut fetched = match fetcher
        .fetch_limited(&url, validators.as_ref(), max_bytes)
        .await
    {
        Ok(f) => f,
        Err(e) => return PageResult::Failed(e),
    };
    let content = if fetched.not_modified {
        Content::NotModified
    } else if !(200..300).contains(&fetched.status) {
        Content::Status(fetched.status)
    } else {
        let body = std::mem::take(&mut fetched.body);
        let content_type = fetched.content_type.clone();
        let final_url = fetched.final_url.clone();
        tokio::task::spawn_blocking(move || {
            extract_content(&body, content_type.as_deref(), &final_url)
        })
        .await
        .unwrap_or_else(|e| Content::ExtractFailed(format!("extraction failed: {e}")))
    };
    PageResult::Done(Box::new((fetched, content)))
}

/// Content types the crawler reads; other specific types are unsupported whatever the bytes.
const READABLE_TYPES: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "application/pdf",
    "application/x-pdf",
    "text/plain",
    "text/markdown",
    "text/x-markdown",
    // Generic types: the file name and the bytes decide.
    "application/octet-stream",
    "binary/octet-stream",
    "application/force-download",
    "application/download",
];

fn extract_content(body: &[u8], content_type: Option<&str>, final_url: &Url) -> Content {
    let mime = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|m| !m.is_empty());
    let unsupported = || Content::Unsupported(mime.clone().unwrap_or_else(|| "unknown".into()));
    if mime
        .as_deref()
        .is_some_and(|m| !READABLE_TYPES.contains(&m))
    {
        return unsupported();
    }
    let filename = final_url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty());
    let charset = content_type.and_then(charset_param);
    let (document, kind) = match extract::detect_kind(content_type, filename, body) {
        Some(FileKind::Html) => {
            let html = extract::decode_text(body, charset.as_deref());
            (extract::html(&html, Some(final_url)), PageKind::Html)
        }
        Some(FileKind::Pdf) => match extract::pdf(body) {
            Ok(document) => (document, PageKind::Pdf),
            Err(e) => return Content::ExtractFailed(e.to_string()),
        },
        Some(FileKind::Plain) => {
            let text = extract::decode_text(body, charset.as_deref());
            (extract::plain(&text), PageKind::Text)
        }
        Some(FileKind::Markdown) => {
            let text = extract::decode_text(body, charset.as_deref());
            (extract::markdown(&text), PageKind::Text)
        }
        _ => return unsupported(),
    };
    let hash = content_hash(&document);
    Content::Extracted {
        document,
        kind,
        hash,
    }
}

/// SHA-256 (hex) of a document's title and text.
pub fn content_hash(document: &Document) -> String {
    let mut hasher = Sha256::new();
    hasher.update(document.title.trim().as_bytes());
    hasher.update(b"\n\n");
    hasher.update(document.full_text().as_bytes());
    hex::encode(hasher.finalize())
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// A title for a page without one: the last path segment (a file name), else the host.
fn fallback_title(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut s| s.rfind(|s| !s.is_empty()))
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned())
}

/// The site a URL belongs to: its host without a leading `www.`, and its explicit port.
fn site_of(url: &Url) -> (String, Option<u16>) {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.strip_prefix("www.").map(str::to_owned).unwrap_or(host);
    (host, url.port())
}

/// The politeness key: host and port.
fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn www_and_the_bare_domain_are_one_site() {
        assert_eq!(
            site_of(&url("https://www.example.com/a")),
            site_of(&url("http://example.com/b"))
        );
        assert_ne!(
            site_of(&url("https://example.com:8443/")),
            site_of(&url("https://example.com/"))
        );
        assert_ne!(
            site_of(&url("https://docs.example.com/")),
            site_of(&url("https://example.com/"))
        );
    }

    #[test]
    fn globs_match_paths_and_stars_stay_in_one_segment() {
        let set = glob_set("exclude", &["/blog/**".into(), "/*.pdf".into()])
            .unwrap()
            .unwrap();
        assert!(set.is_match("/blog/2024/post"));
        assert!(set.is_match("/guide.pdf"));
        assert!(!set.is_match("/docs/guide.pdf"));
        assert!(!set.is_match("/blogroll"));
    }

    #[test]
    fn an_invalid_pattern_is_refused_with_its_list() {
        let config = CrawlConfig {
            include: vec!["/docs/[".into()],
            ..CrawlConfig::default()
        };
        let err = Crawler::new(config).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid include pattern"),
            "{err}"
        );
    }

    #[test]
    fn skip_codes_are_stable_snake_case() {
        assert_eq!(SkipReason::RobotsDisallowed.code(), "robots_disallowed");
        assert_eq!(SkipReason::HttpStatus(404).code(), "http_status");
        assert_eq!(
            SkipReason::DuplicateContent {
                same_as: "x".into()
            }
            .code(),
            "duplicate_content"
        );
        assert_eq!(
            SkipReason::HttpStatus(404).to_string(),
            "the server answered HTTP 404"
        );
    }

    #[test]
    fn only_readable_types_are_extracted() {
        let page = url("https://example.com/file");
        assert!(matches!(
            extract_content(b"\x89PNG\r\n", Some("image/png"), &page),
            Content::Unsupported(t) if t == "image/png"
        ));
        assert!(matches!(
            extract_content(b"{\"a\":1}", Some("application/json"), &page),
            Content::Unsupported(t) if t == "application/json"
        ));
        assert!(matches!(
            extract_content(&[0, 1, 2, 3, 255], Some("application/octet-stream"), &page),
            Content::Unsupported(t) if t == "application/octet-stream"
        ));
        assert!(matches!(
            extract_content(
                b"Opening hours: 9 to 5.",
                Some("text/plain; charset=utf-8"),
                &page
            ),
            Content::Extracted {
                kind: PageKind::Text,
                ..
            }
        ));
    }

    #[test]
    fn a_crawl_can_run_on_a_spawned_task() {
        fn assert_send<T: Send>(_: &T) {}
        let crawler = Crawler::new(CrawlConfig::default()).unwrap();
        let (tx, _rx) = mpsc::channel(1);
        let crawl = crawler.crawl(
            url("https://example.com/"),
            HashMap::new(),
            tx,
            CancellationToken::new(),
        );
        assert_send(&crawl);
    }

    #[test]
    fn a_page_without_a_title_is_named_after_its_file() {
        assert_eq!(
            fallback_title(&url("https://example.com/docs/price%20list.pdf")),
            "price list.pdf"
        );
        assert_eq!(fallback_title(&url("https://example.com/")), "example.com");
    }
}
