//! robots.txt: fetched once per origin (scheme, host, port) through the [`Fetcher`], parsed by
//! `texting_robots` for the user agent `sitechat` (falling back to the `*` groups when no group
//! names `sitechat`).
//!
//! What a fetch outcome means, following RFC 9309:
//!
//! | robots.txt answer | rules for this crawl |
//! |---|---|
//! | 2xx | the file's rules |
//! | 4xx (404, 403, 410 …) | everything allowed ("unavailable") |
//! | 5xx | **everything disallowed** ([`RobotsSource::ServerError`]): a site whose robots.txt errors may be overloaded or broken, and crawling it anyway could index pages it meant to hide |
//! | timeout, connection error | everything disallowed ([`RobotsSource::Unreachable`]) |
//! | refused by the SSRF guard | everything disallowed ([`RobotsSource::Blocked`]): the pages would be refused too |
//! | redirect loop, too many redirects, larger than 512 KiB | everything allowed (treated as unavailable) |
//!
//! The decision holds for the whole crawl: robots.txt is not fetched again. The crawler reports
//! the pages of a disallowing robots.txt as robots-disallowed for a 5xx, but as failed fetches
//! or blocked for the other two, which is what a person needs to know.

use std::time::Duration;

use url::{Position, Url};

use crate::fetch::{FetchError, Fetcher};

/// The product token robots.txt groups are matched against.
pub const ROBOTS_USER_AGENT: &str = "sitechat";

/// Largest robots.txt read (RFC 9309 asks crawlers to parse at least 500 KiB).
pub const ROBOTS_MAX_BYTES: usize = 512 * 1024;

/// Longest crawl-delay honoured; a larger value is capped (the crawl's time limit bounds it
/// anyway).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// Where a [`Robots`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotsSource {
    /// A robots.txt was read and parsed.
    File,
    /// No robots.txt (4xx) or an unusable one: everything allowed.
    Missing(String),
    /// robots.txt answered with this 5xx status: everything disallowed.
    ServerError(u16),
    /// robots.txt could not be fetched (timeout, connection error): everything disallowed.
    Unreachable(String),
    /// The SSRF guard refused robots.txt: everything disallowed.
    Blocked(String),
}

/// The robots.txt rules of one origin, for `sitechat`.
pub struct Robots {
    source: RobotsSource,
    robot: Option<texting_robots::Robot>,
    crawl_delay: Option<Duration>,
    sitemaps: Vec<Url>,
}

impl std::fmt::Debug for Robots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Robots")
            .field("source", &self.source)
            .field("crawl_delay", &self.crawl_delay)
            .field("sitemaps", &self.sitemaps)
            .finish_non_exhaustive()
    }
}

impl Robots {
    /// Everything allowed (no robots.txt).
    pub fn allow_all(why: impl Into<String>) -> Self {
        Robots {
            source: RobotsSource::Missing(why.into()),
            robot: None,
            crawl_delay: None,
            sitemaps: Vec::new(),
        }
    }

    /// Everything disallowed, for the given reason.
    pub fn disallow_all(source: RobotsSource) -> Self {
        Robots {
            source,
            robot: None,
            crawl_delay: None,
            sitemaps: Vec::new(),
        }
    }

    /// Parses a robots.txt body. `robots_url` resolves relative `Sitemap:` lines. A file the
    /// parser cannot read allows everything.
    pub fn parse(body: &[u8], robots_url: &Url) -> Self {
        match texting_robots::Robot::new(ROBOTS_USER_AGENT, body) {
            Ok(robot) => {
                let sitemaps = robot
                    .sitemaps
                    .iter()
                    .filter_map(|s| robots_url.join(s.trim()).ok())
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .collect();
                let crawl_delay = robot
                    .delay
                    .filter(|d| d.is_finite() && *d > 0.0)
                    .map(|d| Duration::from_secs_f32(d).min(MAX_CRAWL_DELAY));
                Robots {
                    source: RobotsSource::File,
                    robot: Some(robot),
                    crawl_delay,
                    sitemaps,
                }
            }
            Err(e) => Robots::allow_all(format!("robots.txt could not be parsed: {e}")),
        }
    }

    /// Fetches and parses the robots.txt of `url`'s origin (see the module documentation for
    /// what each outcome means).
    pub async fn fetch(fetcher: &Fetcher, url: &Url) -> Self {
        let Ok(robots_url) = url.join("/robots.txt") else {
            return Robots::allow_all("no robots.txt URL for this URL");
        };
        match fetcher
            .fetch_limited(&robots_url, None, ROBOTS_MAX_BYTES)
            .await
        {
            Ok(f) if (200..300).contains(&f.status) => Robots::parse(&f.body, &f.final_url),
            Ok(f) => Robots::allow_all(format!("robots.txt answered {}", f.status)),
            Err(FetchError::Status(status)) if status >= 500 => {
                Robots::disallow_all(RobotsSource::ServerError(status))
            }
            Err(FetchError::Status(status)) => {
                Robots::allow_all(format!("robots.txt answered {status}"))
            }
            Err(
                e @ (FetchError::RedirectLoop(_)
                | FetchError::TooManyRedirects(_)
                | FetchError::TooLarge { .. }),
            ) => Robots::allow_all(format!("robots.txt unusable: {e}")),
            Err(FetchError::Blocked(e)) => {
                Robots::disallow_all(RobotsSource::Blocked(format!("robots.txt refused: {e}")))
            }
            Err(e) => Robots::disallow_all(RobotsSource::Unreachable(format!(
                "robots.txt could not be fetched: {e}"
            ))),
        }
    }

    /// Whether `sitechat` may fetch `url` (path and query are matched).
    pub fn allowed(&self, url: &Url) -> bool {
        match (&self.source, &self.robot) {
            (
                RobotsSource::ServerError(_)
                | RobotsSource::Unreachable(_)
                | RobotsSource::Blocked(_),
                _,
            ) => false,
            (_, Some(robot)) => robot.allowed(&url[Position::BeforePath..Position::AfterQuery]),
            (_, None) => true,
        }
    }

    /// The `Crawl-delay` for `sitechat` (or `*`), capped at [`MAX_CRAWL_DELAY`].
    pub fn crawl_delay(&self) -> Option<Duration> {
        self.crawl_delay
    }

    /// The `Sitemap:` URLs, absolute.
    pub fn sitemaps(&self) -> &[Url] {
        &self.sitemaps
    }

    pub fn source(&self) -> &RobotsSource {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn robots(txt: &str) -> Robots {
        Robots::parse(
            txt.as_bytes(),
            &Url::parse("https://example.com/robots.txt").unwrap(),
        )
    }

    fn allowed(r: &Robots, path: &str) -> bool {
        r.allowed(
            &Url::parse("https://example.com")
                .unwrap()
                .join(path)
                .unwrap(),
        )
    }

    #[test]
    fn a_sitechat_group_wins_over_the_star_group() {
        let r = robots(
            "User-agent: *\nDisallow: /\n\nUser-agent: SiteChat\nDisallow: /private/\nCrawl-delay: 2\n",
        );
        assert!(allowed(&r, "/docs/a"));
        assert!(!allowed(&r, "/private/x"));
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn without_a_sitechat_group_the_star_group_applies() {
        let r = robots("User-agent: otherbot\nDisallow: /\n\nUser-agent: *\nDisallow: /admin\n");
        assert!(allowed(&r, "/"));
        assert!(!allowed(&r, "/admin/users"));
        assert_eq!(r.crawl_delay(), None);
    }

    #[test]
    fn sitemap_lines_are_collected_and_made_absolute() {
        let r = robots("Sitemap: https://example.com/a.xml\nSitemap: /b.xml\nUser-agent: *\n");
        let maps: Vec<&str> = r.sitemaps().iter().map(Url::as_str).collect();
        assert_eq!(
            maps,
            ["https://example.com/a.xml", "https://example.com/b.xml"]
        );
    }

    #[test]
    fn the_query_is_matched_too() {
        let r = robots("User-agent: *\nDisallow: /*?print=\n");
        assert!(allowed(&r, "/page"));
        assert!(!allowed(&r, "/page?print=1"));
    }

    #[test]
    fn an_unreachable_robots_txt_disallows_everything() {
        let r = Robots::disallow_all(RobotsSource::ServerError(503));
        assert!(!allowed(&r, "/"));
        let r = Robots::allow_all("robots.txt answered 404");
        assert!(allowed(&r, "/anything"));
    }

    #[test]
    fn a_huge_crawl_delay_is_capped() {
        let r = robots("User-agent: *\nCrawl-delay: 86400\n");
        assert_eq!(r.crawl_delay(), Some(MAX_CRAWL_DELAY));
    }
}

/// Hostile robots.txt files: any bytes, huge lines, pathological patterns. Each is read (a file
/// the parser refuses allows everything) and every URL gets an answer.
#[cfg(test)]
mod hostile {
    use proptest::prelude::*;

    use super::*;

    fn robots_url() -> Url {
        Url::parse("https://example.com/robots.txt").unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_give_rules_that_answer(bytes in prop::collection::vec(any::<u8>(), 0..2048), path in "/[a-z*$?=][a-z*$?=/]{0,40}") {
            let robots = Robots::parse(&bytes, &robots_url());
            let _ = robots.allowed(&robots_url().join(&path).unwrap());
            let _ = robots.crawl_delay();
        }

        #[test]
        fn any_rules_answer(lines in prop::collection::vec("(User-agent|Disallow|Allow|Crawl-delay|Sitemap): ?[a-zA-Z0-9*$/?.=:-]{0,60}", 0..60), path in "/[a-z*$?=][a-z*$?=/]{0,40}") {
            let body = format!("User-agent: *\n{}", lines.join("\n"));
            let robots = Robots::parse(body.as_bytes(), &robots_url());
            let _ = robots.allowed(&robots_url().join(&path).unwrap());
        }
    }

    #[test]
    fn pathological_wildcards_end() {
        let body = format!("User-agent: *\nDisallow: /{}x$\n", "*a".repeat(2_000));
        let robots = Robots::parse(body.as_bytes(), &robots_url());
        let url = robots_url()
            .join(&format!("/{}", "a".repeat(5_000)))
            .unwrap();
        let _ = robots.allowed(&url);
        let huge = format!("User-agent: *\nDisallow: /{}\n", "a".repeat(1 << 20));
        let _ = Robots::parse(huge.as_bytes(), &robots_url()).allowed(&url);
    }
}
