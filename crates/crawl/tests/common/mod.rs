//! A test website on 127.0.0.1:0 (axum) whose routes can be changed between crawls, a log of
//! the requests it served, and helpers to run a crawl and read its events.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use sitechat_crawl::{
    CancellationToken, CrawlConfig, CrawlEvent, CrawlSummary, CrawledPage, Crawler, FetchConfig,
    KnownPage, SkipReason,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use url::Url;

/// Every test is bounded by this.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the site answers on one path.
#[derive(Clone, Debug)]
pub enum Route {
    /// A body with a content type and optional validators (honoured: a matching
    /// `If-None-Match` or `If-Modified-Since` gets a 304).
    Content {
        content_type: String,
        body: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    Redirect {
        status: u16,
        location: String,
    },
    Status(u16),
    /// A chunked body (no Content-Length).
    Streamed {
        content_type: String,
        chunks: Vec<Vec<u8>>,
    },
    /// Answers after a delay.
    Slow {
        delay: Duration,
        body: String,
    },
}

impl Route {
    pub fn html(body: impl Into<String>) -> Route {
        Route::bytes("text/html; charset=utf-8", body.into().into_bytes())
    }

    pub fn bytes(content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route::Content {
            content_type: content_type.to_owned(),
            body: body.into(),
            etag: None,
            last_modified: None,
        }
    }

    pub fn redirect(location: &str) -> Route {
        Route::Redirect {
            status: 302,
            location: location.to_owned(),
        }
    }

    pub fn with_etag(mut self, value: &str) -> Route {
        if let Route::Content { etag, .. } = &mut self {
            *etag = Some(value.to_owned());
        }
        self
    }

    pub fn with_last_modified(mut self, value: &str) -> Route {
        if let Route::Content { last_modified, .. } = &mut self {
            *last_modified = Some(value.to_owned());
        }
        self
    }
}

/// A request the site served.
#[derive(Clone, Debug)]
pub struct Hit {
    /// Path and query.
    pub target: String,
    pub at: Instant,
    pub status: u16,
    pub user_agent: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

#[derive(Default)]
pub struct SiteState {
    routes: Mutex<HashMap<String, Route>>,
    hits: Mutex<Vec<Hit>>,
}

/// A running test website.
pub struct TestSite {
    pub base: Url,
    state: Arc<SiteState>,
}

impl TestSite {
    pub async fn start(routes: Vec<(&str, Route)>) -> TestSite {
        let state = Arc::new(SiteState::default());
        {
            let mut map = state.routes.lock().unwrap();
            for (path, route) in routes {
                map.insert(path.to_owned(), route);
            }
        }
        let app = Router::new().fallback(serve).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestSite {
            base: Url::parse(&format!("http://{addr}/")).unwrap(),
            state,
        }
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    /// The canonical URL string of `path` (what events carry).
    pub fn key(&self, path: &str) -> String {
        self.url(path).to_string()
    }

    pub fn set(&self, path: &str, route: Route) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), route);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    pub fn clear_hits(&self) {
        self.state.hits.lock().unwrap().clear();
    }

    /// Requests whose path and query is `target`.
    pub fn hits_of(&self, target: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.target == target)
            .collect()
    }
}

async fn serve(State(state): State<Arc<SiteState>>, request: Request) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    let route = state.routes.lock().unwrap().get(&path).cloned();
    let response = respond(route, &headers).await;
    let get = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    state.hits.lock().unwrap().push(Hit {
        target,
        at: Instant::now(),
        status: response.status().as_u16(),
        user_agent: get(header::USER_AGENT),
        if_none_match: get(header::IF_NONE_MATCH),
        if_modified_since: get(header::IF_MODIFIED_SINCE),
    });
    response
}

async fn respond(route: Option<Route>, headers: &HeaderMap) -> Response {
    let builder = Response::builder();
    match route {
        None => builder
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("not found"))
            .unwrap(),
        Some(Route::Status(status)) => builder
            .status(status)
            .body(Body::from(format!("status {status}")))
            .unwrap(),
        Some(Route::Redirect { status, location }) => builder
            .status(status)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .unwrap(),
        Some(Route::Slow { delay, body }) => {
            tokio::time::sleep(delay).await;
            builder
                .header(header::CONTENT_TYPE, "text/html")
                .body(Body::from(body))
                .unwrap()
        }
        Some(Route::Streamed {
            content_type,
            chunks,
        }) => {
            let stream =
                futures_util::stream::iter(chunks.into_iter().map(Ok::<Vec<u8>, Infallible>));
            builder
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from_stream(stream))
                .unwrap()
        }
        Some(Route::Content {
            content_type,
            body,
            etag,
            last_modified,
        }) => {
            let sent = |name| headers.get(name).and_then(|v| v.to_str().ok());
            let fresh = matches!((&etag, sent(header::IF_NONE_MATCH)), (Some(e), Some(s)) if e == s)
                || matches!(
                    (&last_modified, sent(header::IF_MODIFIED_SINCE)),
                    (Some(l), Some(s)) if l == s
                );
            let mut builder = builder;
            if let Some(etag) = &etag {
                builder = builder.header(header::ETAG, etag);
            }
            if let Some(date) = &last_modified {
                builder = builder.header(header::LAST_MODIFIED, date);
            }
            if fresh {
                builder
                    .status(StatusCode::NOT_MODIFIED)
                    .body(Body::empty())
                    .unwrap()
            } else {
                builder
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body))
                    .unwrap()
            }
        }
    }
}

/// An HTML page with a cookie banner, a menu and a footer around the content, which links to
/// `links`.
pub fn page(title: &str, text: &str, links: &[&str]) -> String {
    let links: String = links
        .iter()
        .map(|l| format!(r#"<li><a href="{l}">{l}</a></li>"#))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en">
<head><title>{title}</title></head>
<body>
  <div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
    <button>Accept all cookies</button></div>
  <nav><a href="/">Home</a> <a href="/about">About us</a></nav>
  <h1>{title}</h1>
  <p>{text}</p>
  <ul>{links}</ul>
  <footer>Copyright Example Garden Supplies</footer>
</body>
</html>"#
    )
}

/// A bare HTML page linking to `links`.
pub fn plain_page(title: &str, text: &str, links: &[&str]) -> String {
    let links: String = links
        .iter()
        .map(|l| format!(r#"<li><a href="{l}">{l}</a></li>"#))
        .collect();
    format!(
        r#"<!doctype html><html lang="en"><head><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p><ul>{links}</ul></body></html>"#
    )
}

/// A crawl configuration for the test site: private networks allowed, short delays.
pub fn config() -> CrawlConfig {
    CrawlConfig {
        max_pages: 200,
        max_depth: 10,
        max_page_bytes: 64 * 1024,
        max_total_time: Duration::from_secs(45),
        concurrency: 3,
        min_delay_per_host: Duration::from_millis(1),
        same_host: true,
        include: Vec::new(),
        exclude: Vec::new(),
        fetch: FetchConfig {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            allow_private: true,
            ..FetchConfig::default()
        },
    }
}

/// Runs a crawl to its end (bounded) and returns its events and summary.
pub async fn crawl(
    crawler: &Crawler,
    start: Url,
    known: HashMap<String, KnownPage>,
) -> (Vec<CrawlEvent>, CrawlSummary) {
    crawl_with(crawler, start, known, CancellationToken::new()).await
}

pub async fn crawl_with(
    crawler: &Crawler,
    start: Url,
    known: HashMap<String, KnownPage>,
    cancel: CancellationToken,
) -> (Vec<CrawlEvent>, CrawlSummary) {
    let (tx, mut rx) = mpsc::channel(16);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        events
    });
    let summary = tokio::time::timeout(TEST_TIMEOUT, crawler.crawl(start, known, tx, cancel))
        .await
        .expect("the crawl ends within the test timeout");
    let events = collector.await.unwrap();
    (events, summary)
}

/// The outcome of one URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Page(&'static str),
    Unchanged,
    Skipped(SkipReason),
}

/// Outcome per URL, checking that every discovered URL got exactly one outcome and that no
/// outcome came without a discovery.
pub fn outcomes(events: &[CrawlEvent]) -> BTreeMap<String, Outcome> {
    let mut discovered = BTreeMap::new();
    let mut outcomes = BTreeMap::new();
    for event in events {
        let (url, outcome) = match event {
            CrawlEvent::Discovered { url, depth } => {
                assert!(
                    discovered.insert(url.clone(), *depth).is_none(),
                    "{url} discovered twice"
                );
                continue;
            }
            CrawlEvent::Page(page) => (page.url.clone(), Outcome::Page(page.kind.as_str())),
            CrawlEvent::Unchanged { url } => (url.clone(), Outcome::Unchanged),
            CrawlEvent::Skipped { url, reason } => (url.clone(), Outcome::Skipped(reason.clone())),
        };
        assert!(
            discovered.contains_key(&url),
            "{url} has an outcome but was not discovered"
        );
        if let Some(previous) = outcomes.insert(url.clone(), outcome.clone()) {
            panic!("{url} has two outcomes: {previous:?} and {outcome:?}");
        }
    }
    for url in discovered.keys() {
        assert!(
            outcomes.contains_key(url),
            "{url} discovered but no outcome"
        );
    }
    outcomes
}

/// The `Page` events by URL.
pub fn pages(events: &[CrawlEvent]) -> BTreeMap<String, CrawledPage> {
    events
        .iter()
        .filter_map(|e| match e {
            CrawlEvent::Page(p) => Some((p.url.clone(), (**p).clone())),
            _ => None,
        })
        .collect()
}

/// The depth each URL was discovered at.
pub fn depths(events: &[CrawlEvent]) -> BTreeMap<String, usize> {
    events
        .iter()
        .filter_map(|e| match e {
            CrawlEvent::Discovered { url, depth } => Some((url.clone(), *depth)),
            _ => None,
        })
        .collect()
}

/// What a crawl's pages become for the next crawl.
pub fn known_from(events: &[CrawlEvent]) -> HashMap<String, KnownPage> {
    pages(events)
        .into_values()
        .map(|p| {
            (
                p.url.clone(),
                KnownPage {
                    validators: p.validators.clone(),
                    content_hash: p.content_hash.clone(),
                },
            )
        })
        .collect()
}
