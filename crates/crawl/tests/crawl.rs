//! The crawler against a real test website on 127.0.0.1 (private networks allowed).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::{
    config, crawl, crawl_with, known_from, outcomes, page, pages, plain_page, Outcome, Route,
    TestSite,
};
use sitechat_crawl::{CancellationToken, CrawlConfig, CrawlEvent, Crawler, SkipReason, SsrfGuard};
use tokio::time::Instant;

use Outcome::{Page, Skipped, Unchanged};

/// The site of the main test: every case the crawler must tell apart, on one site.
async fn garden_site() -> TestSite {
    let site = TestSite::start(vec![]).await;
    let base = site.base.clone();
    let home_links = [
        "/about",
        "/deep/1",
        "/redirect-start",
        "/loop-a",
        "/missing",
        "/broken",
        "/dup-a",
        "/dup-b",
        "/variant",
        "/guide.pdf",
        "/big",
        "/big-stream",
        "/archive.zip",
        "/logo.png",
        "/private/secret",
        "http://offsite.example/page",
        "/pricing?utm_source=news&utm_medium=email",
        "/pricing?gclid=abc123",
        "/pricing#plans",
        "/notes.txt",
        "/blog/post",
        "mailto:hello@example.com",
    ];
    let opening_hours = page("Opening hours", "Open Monday to Friday, nine to five.", &[]);
    let sale = |canonical: &str| {
        page(
            "Spring sale",
            "Twenty percent off all planters this spring.",
            &[],
        )
        .replace(
            "<head>",
            &format!(r#"<head><link rel="canonical" href="{canonical}">"#),
        )
    };
    let routes: Vec<(&str, Route)> = vec![
        (
            "/robots.txt",
            Route::bytes(
                "text/plain",
                format!("User-agent: *\nDisallow: /private/\n\nSitemap: {base}sitemap_index.xml\n"),
            ),
        ),
        (
            "/sitemap_index.xml",
            Route::bytes(
                "application/xml",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}sitemaps/pages.xml</loc></sitemap>
</sitemapindex>"#
                ),
            ),
        ),
        (
            "/sitemaps/pages.xml",
            Route::bytes(
                "application/xml",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>{base}from-sitemap</loc></url>
  <url><loc>{base}private/in-sitemap</loc></url>
  <url><loc>{base}about</loc></url>
</urlset>"#
                ),
            ),
        ),
        (
            "/",
            Route::html(page(
                "Example Garden Supplies",
                "Tools, seeds and planters for every garden.",
                &home_links,
            )),
        ),
        (
            "/about",
            Route::html(page(
                "About us",
                "We have sold garden tools since 1987 from our shop in Leeds.",
                &[],
            )),
        ),
        ("/redirect-start", Route::redirect("/redirect-middle")),
        (
            "/redirect-middle",
            Route::Redirect {
                status: 301,
                location: "/redirect-end".into(),
            },
        ),
        (
            "/redirect-end",
            Route::html(page(
                "Moved page",
                "This page was reached through two redirects.",
                &[],
            )),
        ),
        ("/loop-a", Route::redirect("/loop-b")),
        ("/loop-b", Route::redirect("/loop-a")),
        ("/broken", Route::Status(500)),
        ("/dup-a", Route::html(opening_hours.clone())),
        ("/dup-b", Route::html(opening_hours)),
        ("/variant", Route::html(sale("/canonical-target"))),
        ("/canonical-target", Route::html(sale("/canonical-target"))),
        (
            "/guide.pdf",
            Route::bytes(
                "application/pdf",
                sitechat_ingest::testing::pdf(&[&[
                    "Planting guide: water tomatoes every morning.",
                ]]),
            ),
        ),
        (
            "/big",
            Route::html(page("Big", &"All about compost. ".repeat(6_000), &[])),
        ),
        (
            "/big-stream",
            Route::Streamed {
                content_type: "text/html".into(),
                chunks: vec![vec![b'a'; 8 * 1024]; 20],
            },
        ),
        (
            "/archive.zip",
            Route::bytes("application/zip", [&b"PK\x03\x04"[..], &[0u8; 64]].concat()),
        ),
        (
            "/logo.png",
            Route::bytes(
                "image/png",
                [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 32]].concat(),
            ),
        ),
        (
            "/private/secret",
            Route::html(page("Secret", "Staff only.", &[])),
        ),
        (
            "/private/in-sitemap",
            Route::html(page("Also secret", "Staff only too.", &[])),
        ),
        (
            "/pricing",
            Route::html(page("Pricing", "Delivery costs four pounds.", &[])),
        ),
        (
            "/notes.txt",
            Route::bytes(
                "text/plain; charset=utf-8",
                "Delivery notes\n\nWe deliver within three working days.",
            ),
        ),
        ("/blog/post", Route::html(page("Blog", "A post.", &[]))),
        (
            "/from-sitemap",
            Route::html(page("Gift cards", "Gift cards never expire.", &[])),
        ),
    ];
    for (path, route) in routes {
        site.set(path, route);
    }
    for n in 1..=5 {
        site.set(
            &format!("/deep/{n}"),
            Route::html(page(
                &format!("Care guide part {n}"),
                &format!("Part {n} of the care guide."),
                &[&format!("/deep/{}", n + 1)],
            )),
        );
    }
    site
}

#[tokio::test]
async fn a_site_crawl_reports_exactly_what_happened_to_each_url() {
    let site = garden_site().await;
    let crawler = Crawler::new(CrawlConfig {
        max_depth: 3,
        exclude: vec!["/blog/**".into()],
        ..config()
    })
    .unwrap();
    let (events, summary) = crawl(&crawler, site.url("/"), HashMap::new()).await;
    let mut outcomes = outcomes(&events);
    let k = |p: &str| site.key(p);

    // The duplicate pair: whichever was read first is the page, the other its duplicate.
    let (dup_page, dup_copy) = if outcomes[&k("/dup-a")] == Page("html") {
        (k("/dup-a"), k("/dup-b"))
    } else {
        (k("/dup-b"), k("/dup-a"))
    };
    assert_eq!(outcomes.remove(&dup_page), Some(Page("html")));
    assert_eq!(
        outcomes.remove(&dup_copy),
        Some(Skipped(SkipReason::DuplicateContent {
            same_as: dup_page.clone()
        }))
    );

    let expected: BTreeMap<String, Outcome> = [
        ("/", Page("html")),
        ("/about", Page("html")),
        ("/deep/1", Page("html")),
        ("/deep/2", Page("html")),
        ("/deep/3", Page("html")),
        ("/deep/4", Skipped(SkipReason::MaxDepth)),
        ("/redirect-start", Page("html")),
        ("/loop-a", Skipped(SkipReason::RedirectLoop)),
        ("/missing", Skipped(SkipReason::HttpStatus(404))),
        ("/broken", Skipped(SkipReason::HttpStatus(500))),
        (
            "/variant",
            Skipped(SkipReason::CanonicalElsewhere {
                canonical: k("/canonical-target"),
            }),
        ),
        ("/canonical-target", Page("html")),
        ("/guide.pdf", Page("pdf")),
        ("/big", Skipped(SkipReason::TooLarge)),
        ("/big-stream", Skipped(SkipReason::TooLarge)),
        (
            "/archive.zip",
            Skipped(SkipReason::UnsupportedType("application/zip".into())),
        ),
        (
            "/logo.png",
            Skipped(SkipReason::UnsupportedType("image/png".into())),
        ),
        ("/private/secret", Skipped(SkipReason::RobotsDisallowed)),
        ("/private/in-sitemap", Skipped(SkipReason::RobotsDisallowed)),
        ("http://offsite.example/page", Skipped(SkipReason::OffSite)),
        ("/pricing", Page("html")),
        ("/notes.txt", Page("text")),
        ("/blog/post", Skipped(SkipReason::Excluded)),
        ("/from-sitemap", Page("html")),
    ]
    .into_iter()
    .map(|(p, o)| {
        let key = if p.starts_with("http") {
            p.to_owned()
        } else {
            k(p)
        };
        (key, o)
    })
    .collect();
    assert_eq!(outcomes, expected);

    let pages = pages(&events);
    assert_eq!(pages.len(), 12);
    assert_eq!(summary.indexed, 12);
    assert_eq!(summary.discovered, expected.len() + 2);
    assert_eq!(summary.skipped, 14);
    assert_eq!(summary.unchanged, 0);
    assert_eq!(summary.stopped_by, None);

    // Depths: the start is 0, sitemap URLs 1, links one more than their page.
    let depths = common::depths(&events);
    assert_eq!(depths[&k("/")], 0);
    assert_eq!(depths[&k("/from-sitemap")], 1);
    assert_eq!(depths[&k("/deep/3")], 3);
    assert_eq!(depths[&k("/deep/4")], 4);
    assert_eq!(depths[&k("/canonical-target")], 1);

    // The redirect chain was followed and its end recorded.
    let moved = &pages[&k("/redirect-start")];
    assert_eq!(moved.final_url, k("/redirect-end"));
    assert_eq!(moved.title, "Moved page");

    // The PDF and the text file were read.
    let pdf = &pages[&k("/guide.pdf")];
    assert!(pdf
        .document
        .full_text()
        .contains("water tomatoes every morning"));
    assert_eq!(
        pages[&k("/notes.txt")].document.full_text(),
        "Delivery notes\n\nWe deliver within three working days."
    );

    // Cookie banner, menu and footer are not part of the text.
    let about = pages[&k("/about")].document.full_text();
    assert!(
        about.contains("We have sold garden tools since 1987"),
        "{about}"
    );
    for boilerplate in ["cookies", "Accept all", "Home", "Copyright"] {
        assert!(!about.contains(boilerplate), "{boilerplate:?} in {about:?}");
    }
    assert_eq!(pages[&k("/about")].title, "About us");
    assert_eq!(pages[&k("/about")].language.as_deref(), Some("en"));

    // Content hashes are SHA-256 hex and tell pages apart.
    assert!(pages.values().all(
        |p| p.content_hash.len() == 64 && p.content_hash.bytes().all(|b| b.is_ascii_hexdigit())
    ));

    // What the server saw: robots.txt once, nothing disallowed or excluded, the tracking
    // variants as one request, every request as sitechat.
    assert_eq!(site.hits_of("/robots.txt").len(), 1);
    assert!(site.hits_of("/private/secret").is_empty());
    assert!(site.hits_of("/private/in-sitemap").is_empty());
    assert!(site.hits_of("/blog/post").is_empty());
    assert!(site.hits_of("/deep/4").is_empty());
    let pricing: Vec<String> = site
        .hits()
        .into_iter()
        .filter(|h| h.target.starts_with("/pricing"))
        .map(|h| h.target)
        .collect();
    assert_eq!(pricing, ["/pricing"]);
    assert!(site.hits().iter().all(|h| h
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("sitechat/"))));
    // The end of the redirect chain was requested once, through the chain.
    assert_eq!(site.hits_of("/redirect-end").len(), 1);
    assert_eq!(summary.fetched, 21);
}

fn versioned_site_routes(version: u32) -> Vec<(&'static str, Route)> {
    vec![
        (
            "/",
            Route::html(plain_page(
                "Home",
                "Welcome to the shop.",
                &["/a", "/b", "/c"],
            ))
            .with_etag("\"home-1\""),
        ),
        (
            "/a",
            Route::html(plain_page(
                "Returns",
                "Returns are free for thirty days.",
                &[],
            ))
            .with_etag("\"a-1\""),
        ),
        (
            "/b",
            Route::html(plain_page(
                "Shipping",
                &format!("Shipping takes {} days.", version + 2),
                &[],
            ))
            .with_etag(&format!("\"b-{version}\"")),
        ),
        (
            "/c",
            Route::html(plain_page(
                "Warranty",
                "Every planter has a five year warranty.",
                &[],
            ))
            .with_last_modified("Tue, 01 Oct 2024 10:00:00 GMT"),
        ),
    ]
}

#[tokio::test]
async fn a_recrawl_with_known_pages_reports_only_what_changed() {
    let site = TestSite::start(versioned_site_routes(1)).await;
    site.set(
        "/d",
        Route::html(plain_page("Contact", "Call us on weekdays.", &[])),
    );
    site.set(
        "/",
        Route::html(plain_page(
            "Home",
            "Welcome to the shop.",
            &["/a", "/b", "/c", "/d"],
        ))
        .with_etag("\"home-1\""),
    );
    let crawler = Crawler::new(config()).unwrap();

    let (first, _) = crawl(&crawler, site.url("/"), HashMap::new()).await;
    let all = ["/", "/a", "/b", "/c", "/d"].map(|p| site.key(p));
    let expected_first: BTreeMap<String, Outcome> =
        all.iter().map(|k| (k.clone(), Page("html"))).collect();
    assert_eq!(outcomes(&first), expected_first);
    let known = known_from(&first);
    assert_eq!(
        known[&site.key("/a")].validators.etag.as_deref(),
        Some("\"a-1\"")
    );
    assert_eq!(
        known[&site.key("/c")].validators.last_modified.as_deref(),
        Some("Tue, 01 Oct 2024 10:00:00 GMT")
    );

    // Nothing changed: 304s for pages with validators, the same hash for /d, which has none.
    site.clear_hits();
    let (second, summary) = crawl(&crawler, site.url("/"), known.clone()).await;
    let expected_second: BTreeMap<String, Outcome> =
        all.iter().map(|k| (k.clone(), Unchanged)).collect();
    assert_eq!(outcomes(&second), expected_second);
    assert_eq!(summary.unchanged, 5);
    assert_eq!(summary.indexed, 0);
    assert_eq!(
        site.hits_of("/a")[0].if_none_match.as_deref(),
        Some("\"a-1\"")
    );
    assert_eq!(site.hits_of("/a")[0].status, 304);
    assert_eq!(
        site.hits_of("/c")[0].if_modified_since.as_deref(),
        Some("Tue, 01 Oct 2024 10:00:00 GMT")
    );
    assert_eq!(site.hits_of("/c")[0].status, 304);
    assert_eq!(site.hits_of("/d")[0].status, 200);

    // One page changes: only it comes back as a page.
    for (path, route) in versioned_site_routes(2) {
        if path == "/b" {
            site.set(path, route);
        }
    }
    let (third, _) = crawl(&crawler, site.url("/"), known).await;
    let mut expected_third = expected_second;
    expected_third.insert(site.key("/b"), Page("html"));
    assert_eq!(outcomes(&third), expected_third);
    let b = &pages(&third)[&site.key("/b")];
    assert!(b.document.full_text().contains("Shipping takes 4 days."));
    assert_eq!(b.validators.etag.as_deref(), Some("\"b-2\""));
}

#[tokio::test]
async fn include_patterns_keep_the_start_page_for_its_links_only() {
    let site = TestSite::start(vec![
        (
            "/",
            Route::html(plain_page(
                "Home",
                "Welcome.",
                &["/docs/install", "/docs/faq/billing", "/shop"],
            )),
        ),
        (
            "/docs/install",
            Route::html(plain_page("Install", "Run the installer.", &[])),
        ),
        (
            "/docs/faq/billing",
            Route::html(plain_page("Billing", "We bill monthly.", &[])),
        ),
        ("/shop", Route::html(plain_page("Shop", "Buy things.", &[]))),
    ])
    .await;
    let crawler = Crawler::new(CrawlConfig {
        include: vec!["/docs/**".into()],
        ..config()
    })
    .unwrap();
    let (events, _) = crawl(&crawler, site.url("/"), HashMap::new()).await;
    let expected: BTreeMap<String, Outcome> = [
        ("/", Skipped(SkipReason::Excluded)),
        ("/docs/install", Page("html")),
        ("/docs/faq/billing", Page("html")),
        ("/shop", Skipped(SkipReason::Excluded)),
    ]
    .into_iter()
    .map(|(p, o)| (site.key(p), o))
    .collect();
    assert_eq!(outcomes(&events), expected);
    assert!(site.hits_of("/shop").is_empty());
}

fn chain_site_routes(n: usize) -> Vec<(String, Route)> {
    (0..n)
        .map(|i| {
            let links: Vec<String> = (0..n).map(|j| format!("/p{j}")).collect();
            let links: Vec<&str> = links.iter().map(String::as_str).collect();
            (
                format!("/p{i}"),
                Route::html(plain_page(
                    &format!("Page {i}"),
                    &format!("Text of page {i}."),
                    &links,
                )),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_crawl_stops_at_max_pages_and_skips_the_rest() {
    let routes = chain_site_routes(10);
    let site = TestSite::start(
        routes
            .iter()
            .map(|(p, r)| (p.as_str(), r.clone()))
            .collect(),
    )
    .await;
    let crawler = Crawler::new(CrawlConfig {
        max_pages: 4,
        concurrency: 1,
        ..config()
    })
    .unwrap();
    let (events, summary) = crawl(&crawler, site.url("/p0"), HashMap::new()).await;
    let outcomes = outcomes(&events);
    let indexed: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| **o == Page("html"))
        .map(|(u, _)| u)
        .collect();
    assert_eq!(indexed.len(), 4);
    assert_eq!(
        outcomes
            .values()
            .filter(|o| **o == Skipped(SkipReason::MaxPages))
            .count(),
        6
    );
    assert_eq!(summary.fetched, 4);
    assert_eq!(summary.stopped_by, Some("max_pages"));
    assert_eq!(
        site.hits()
            .iter()
            .filter(|h| h.target.starts_with("/p"))
            .count(),
        4
    );
}

#[tokio::test]
async fn the_crawl_stops_at_its_time_limit() {
    let site = TestSite::start(vec![(
        "/",
        Route::Slow {
            delay: Duration::from_secs(20),
            body: plain_page("Slow", "Slow.", &[]),
        },
    )])
    .await;
    let crawler = Crawler::new(CrawlConfig {
        max_total_time: Duration::from_millis(400),
        ..config()
    })
    .unwrap();
    let started = Instant::now();
    let (events, summary) = crawl(&crawler, site.url("/"), HashMap::new()).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(summary.stopped_by, Some("max_total_time"));
    assert_eq!(
        outcomes(&events)[&site.key("/")],
        Skipped(SkipReason::MaxTotalTime)
    );
}

#[tokio::test]
async fn cancelling_stops_the_crawl_promptly() {
    let routes = chain_site_routes(6);
    let site = TestSite::start(
        routes
            .iter()
            .map(|(p, r)| {
                let route = if p == "/p0" {
                    r.clone()
                } else {
                    Route::Slow {
                        delay: Duration::from_secs(20),
                        body: String::new(),
                    }
                };
                (p.as_str(), route)
            })
            .collect(),
    )
    .await;
    let crawler = Crawler::new(config()).unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let (events, summary) = crawl_with(&crawler, site.url("/p0"), HashMap::new(), cancel).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(summary.stopped_by, Some("cancelled"));
    let outcomes = outcomes(&events);
    assert_eq!(outcomes[&site.key("/p0")], Page("html"));
    for i in 1..6 {
        assert_eq!(
            outcomes[&site.key(&format!("/p{i}"))],
            Skipped(SkipReason::Cancelled),
            "/p{i}"
        );
    }
}

/// Gaps between the starts of page requests (robots.txt and sitemaps left out).
fn page_request_gaps(site: &TestSite) -> Vec<Duration> {
    let starts: Vec<Instant> = site
        .hits()
        .iter()
        .filter(|h| h.target.starts_with("/p"))
        .map(|h| h.at)
        .collect();
    starts.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test]
async fn requests_to_one_host_are_spaced_by_the_politeness_delay() {
    let routes = chain_site_routes(4);
    let site = TestSite::start(
        routes
            .iter()
            .map(|(p, r)| (p.as_str(), r.clone()))
            .collect(),
    )
    .await;
    let crawler = Crawler::new(CrawlConfig {
        concurrency: 4,
        min_delay_per_host: Duration::from_millis(200),
        ..config()
    })
    .unwrap();
    crawl(&crawler, site.url("/p0"), HashMap::new()).await;
    let gaps = page_request_gaps(&site);
    assert_eq!(gaps.len(), 3);
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(190)),
        "{gaps:?}"
    );
}

#[tokio::test]
async fn a_larger_robots_crawl_delay_wins() {
    let mut routes = chain_site_routes(3);
    routes.push((
        "/robots.txt".into(),
        Route::bytes("text/plain", "User-agent: sitechat\nCrawl-delay: 0.4\n"),
    ));
    let site = TestSite::start(
        routes
            .iter()
            .map(|(p, r)| (p.as_str(), r.clone()))
            .collect(),
    )
    .await;
    let crawler = Crawler::new(CrawlConfig {
        concurrency: 4,
        min_delay_per_host: Duration::from_millis(10),
        ..config()
    })
    .unwrap();
    crawl(&crawler, site.url("/p0"), HashMap::new()).await;
    let gaps = page_request_gaps(&site);
    assert_eq!(gaps.len(), 2);
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(390)),
        "{gaps:?}"
    );
}

#[tokio::test]
async fn a_failing_robots_txt_disallows_the_whole_site() {
    let site = TestSite::start(vec![
        ("/robots.txt", Route::Status(503)),
        ("/", Route::html(plain_page("Home", "Welcome.", &["/a"]))),
    ])
    .await;
    let crawler = Crawler::new(config()).unwrap();
    let (events, summary) = crawl(&crawler, site.url("/"), HashMap::new()).await;
    let expected: BTreeMap<String, Outcome> =
        [(site.key("/"), Skipped(SkipReason::RobotsDisallowed))].into();
    assert_eq!(outcomes(&events), expected);
    assert_eq!(summary.fetched, 0);
    assert!(site.hits_of("/").is_empty());
}

#[tokio::test]
async fn links_to_private_addresses_are_blocked_by_the_guard() {
    // The guard refuses private networks but lets the test server's address through, as it
    // would a public site; its links to other private addresses are refused, never requested.
    let site = TestSite::start(vec![]).await;
    let port = site.base.port().unwrap();
    let localhost = format!("http://localhost:{port}/admin");
    let other_loopback = format!("http://127.0.0.2:{port}/admin");
    site.set(
        "/",
        Route::html(plain_page(
            "Home",
            "Welcome.",
            &[
                "http://10.0.0.1/admin",
                "http://169.254.169.254/latest/meta-data/",
                &localhost,
                &other_loopback,
                "/ok",
            ],
        )),
    );
    site.set("/ok", Route::html(plain_page("Fine", "A fine page.", &[])));
    let guard = SsrfGuard::new(false).allowing("127.0.0.1".parse().unwrap());
    let crawler = Crawler::with_guard(
        CrawlConfig {
            fetch: sitechat_crawl::FetchConfig {
                allow_private: false,
                ..config().fetch
            },
            ..config()
        },
        guard,
    )
    .unwrap();
    let (events, _) = crawl(&crawler, site.url("/"), HashMap::new()).await;
    let outcomes = outcomes(&events);
    assert_eq!(outcomes[&site.key("/")], Page("html"));
    assert_eq!(outcomes[&site.key("/ok")], Page("html"));
    for url in [
        "http://10.0.0.1/admin".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        localhost,
        other_loopback,
    ] {
        match &outcomes[&url] {
            Skipped(SkipReason::Blocked(why)) => assert!(
                why.contains("sitechat does not fetch private networks"),
                "{why}"
            ),
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(events
        .iter()
        .any(|e| matches!(e, CrawlEvent::Skipped { reason, .. } if reason.code() == "blocked")));
}

#[tokio::test]
async fn a_redirect_into_a_disallowed_folder_is_not_kept() {
    let site = TestSite::start(vec![
        (
            "/robots.txt",
            Route::bytes("text/plain", "User-agent: *\nDisallow: /private/\n"),
        ),
        ("/", Route::html(plain_page("Home", "Welcome.", &["/go"]))),
        ("/go", Route::redirect("/private/page")),
        (
            "/private/page",
            Route::html(plain_page("Private", "Staff only.", &[])),
        ),
    ])
    .await;
    let crawler = Crawler::new(config()).unwrap();
    let (events, _) = crawl(&crawler, site.url("/"), HashMap::new()).await;
    let expected: BTreeMap<String, Outcome> = [
        (site.key("/"), Page("html")),
        (site.key("/go"), Skipped(SkipReason::RobotsDisallowed)),
    ]
    .into();
    assert_eq!(outcomes(&events), expected);
}

#[tokio::test]
async fn an_unreachable_site_is_a_failed_fetch_not_a_robots_refusal() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let start = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let crawler = Crawler::new(config()).unwrap();
    let (events, summary) = crawl(&crawler, start.clone(), HashMap::new()).await;
    match &outcomes(&events)[start.as_str()] {
        Skipped(SkipReason::FetchFailed(why)) => {
            assert!(why.starts_with("robots.txt could not be fetched"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(summary.fetched, 0);
}

#[tokio::test]
async fn a_private_start_url_is_blocked_without_allow_private() {
    let site = TestSite::start(vec![("/", Route::html(plain_page("Home", "Hi.", &[])))]).await;
    let crawler = Crawler::new(CrawlConfig::default()).unwrap();
    let (events, summary) = crawl(&crawler, site.url("/"), HashMap::new()).await;
    match &outcomes(&events)[&site.key("/")] {
        Skipped(SkipReason::Blocked(why)) => assert_eq!(
            why,
            "127.0.0.1 is a loopback address; sitechat does not fetch private networks unless \
             allow_private_networks is set"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(summary.discovered, 1);
    assert!(site.hits().is_empty());
}
