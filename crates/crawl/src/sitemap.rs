//! Sitemaps: the URLs a site says it has.
//!
//! [`parse`] reads one sitemap document with `quick-xml` (namespaces ignored, entities and
//! CDATA resolved): a `<urlset>` gives page URLs, a `<sitemapindex>` gives further sitemaps.
//! Gzip-compressed sitemaps (`sitemap.xml.gz`, or any body starting with the gzip magic bytes)
//! are decompressed first, up to [`SitemapLimits::max_bytes`].
//!
//! [`collect`] fetches sitemaps through the [`Fetcher`] breadth-first, following indexes to at
//! most [`SitemapLimits::max_depth`] levels and [`SitemapLimits::max_sitemaps`] documents, and
//! stops at [`SitemapLimits::max_urls`] page URLs. A sitemap that cannot be fetched or read is
//! skipped (logged), never fatal: a crawl always has its start URL.

use std::collections::{HashSet, VecDeque};
use std::io::Read;

use quick_xml::events::Event;
use quick_xml::Reader;
use url::Url;

use crate::fetch::Fetcher;

/// Bounds on sitemap discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapLimits {
    /// Index nesting followed: 0 reads only the given sitemaps.
    pub max_depth: usize,
    /// Sitemap documents fetched in all.
    pub max_sitemaps: usize,
    /// Page URLs collected in all.
    pub max_urls: usize,
    /// Largest sitemap, compressed or not (the protocol's limit is 50 MiB uncompressed).
    pub max_bytes: usize,
}

impl Default for SitemapLimits {
    fn default() -> Self {
        SitemapLimits {
            max_depth: 3,
            max_sitemaps: 50,
            max_urls: 50_000,
            max_bytes: 50 * 1024 * 1024,
        }
    }
}

/// One parsed sitemap document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// `<urlset>`: page URLs.
    Urls(Vec<String>),
    /// `<sitemapindex>`: sitemap URLs.
    Index(Vec<String>),
}

/// Why a sitemap document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SitemapError {
    #[error("sitemap is not valid XML: {0}")]
    Xml(String),
    #[error("not a sitemap: the root element is <{0}>, expected <urlset> or <sitemapindex>")]
    NotASitemap(String),
    #[error("the gzip-compressed sitemap could not be decompressed: {0}")]
    Gzip(String),
    #[error("the sitemap is larger than {0} bytes once decompressed")]
    TooLarge(usize),
}

/// Parses a sitemap or sitemap index (gzip-compressed or not). `<loc>` values are returned
/// trimmed, as written.
pub fn parse(bytes: &[u8], max_bytes: usize) -> Result<Sitemap, SitemapError> {
    let inflated;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        inflated = gunzip(bytes, max_bytes)?;
        &inflated[..]
    } else {
        bytes
    };
    let text = String::from_utf8_lossy(bytes);
    let mut reader = Reader::from_str(&text);

    let mut root: Option<String> = None;
    // Element depth: the root is 1, `<url>`/`<sitemap>` 2, their `<loc>` 3 (an `<image:loc>`
    // deeper down is not a page).
    let mut depth = 0usize;
    let mut in_loc = false;
    let mut parent_ok = false;
    let mut loc = String::new();
    let mut locs = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| SitemapError::Xml(e.to_string()))?;
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = e.local_name().as_ref().to_ascii_lowercase();
                match root.as_deref() {
                    None => {
                        if name != "urlset" && name != "sitemapindex" {
                            return Err(SitemapError::NotASitemap(name));
                        }
                        root = Some(name);
                    }
                    Some(root_name) => match name.as_str() {
                        "url" if root_name == "urlset" && depth == 2 => parent_ok = true,
                        "sitemap" if root_name == "sitemapindex" && depth == 2 => parent_ok = true,
                        "loc" if parent_ok && depth == 3 => {
                            in_loc = true;
                            loc.clear();
                        }
                        _ => {}
                    },
                }
            }
            Event::Empty(e) if root.is_none() => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                return match name.as_str() {
                    "urlset" => Ok(Sitemap::Urls(Vec::new())),
                    "sitemapindex" => Ok(Sitemap::Index(Vec::new())),
                    _ => Err(SitemapError::NotASitemap(name)),
                };
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                let name = e.local_name();
                let name = name.as_ref();
                if name.eq_ignore_ascii_case("loc") && in_loc {
                    in_loc = false;
                    let value = loc.trim();
                    if !value.is_empty() {
                        locs.push(value.to_owned());
                    }
                } else if name.eq_ignore_ascii_case("url") || name.eq_ignore_ascii_case("sitemap") {
                    parent_ok = false;
                }
            }
            Event::Text(t) if in_loc => loc.push_str(&t.xml10_content()),
            Event::CData(t) if in_loc => loc.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_loc => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    loc.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_xml_entity(&r.xml10_content()) {
                    loc.push_str(s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match root.as_deref() {
        Some("sitemapindex") => Ok(Sitemap::Index(locs)),
        Some(_) => Ok(Sitemap::Urls(locs)),
        None => Err(SitemapError::NotASitemap(String::new())),
    }
}

fn gunzip(bytes: &[u8], max_bytes: usize) -> Result<Vec<u8>, SitemapError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| SitemapError::Gzip(e.to_string()))?;
    if out.len() > max_bytes {
        return Err(SitemapError::TooLarge(max_bytes));
    }
    Ok(out)
}

/// Fetches `roots` and the sitemaps they index, and returns the page URLs found, in order,
/// without duplicates. Only http(s) URLs are returned; deciding which are on the site is the
/// caller's job.
pub async fn collect(fetcher: &Fetcher, roots: &[Url], limits: &SitemapLimits) -> Vec<Url> {
    let mut queue: VecDeque<(Url, usize)> = roots.iter().map(|u| (u.clone(), 0)).collect();
    let mut seen_maps: HashSet<Url> = HashSet::new();
    let mut seen_urls: HashSet<Url> = HashSet::new();
    let mut urls = Vec::new();
    let mut fetched = 0;
    while let Some((map_url, depth)) = queue.pop_front() {
        if urls.len() >= limits.max_urls || fetched >= limits.max_sitemaps {
            break;
        }
        if !seen_maps.insert(map_url.clone()) {
            continue;
        }
        fetched += 1;
        let body = match fetcher
            .fetch_limited(&map_url, None, limits.max_bytes)
            .await
        {
            Ok(f) if (200..300).contains(&f.status) => f.body,
            Ok(f) => {
                tracing::debug!(sitemap = %map_url, status = f.status, "sitemap skipped");
                continue;
            }
            Err(e) => {
                tracing::debug!(sitemap = %map_url, error = %e, "sitemap not fetched");
                continue;
            }
        };
        let absolute = |loc: &str| {
            map_url
                .join(loc)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
        };
        match parse(&body, limits.max_bytes) {
            Ok(Sitemap::Urls(locs)) => {
                for url in locs.iter().filter_map(|l| absolute(l)) {
                    if urls.len() >= limits.max_urls {
                        break;
                    }
                    if seen_urls.insert(url.clone()) {
                        urls.push(url);
                    }
                }
            }
            Ok(Sitemap::Index(locs)) if depth < limits.max_depth => {
                queue.extend(
                    locs.iter()
                        .filter_map(|l| absolute(l))
                        .map(|u| (u, depth + 1)),
                );
            }
            Ok(Sitemap::Index(_)) => {
                tracing::debug!(sitemap = %map_url, "sitemap index nested too deep; not followed");
            }
            Err(e) => tracing::debug!(sitemap = %map_url, error = %e, "sitemap not readable"),
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc> https://example.com/ </loc><lastmod>2024-01-01</lastmod></url>
  <url>
    <loc>https://example.com/search?q=a&amp;page=2</loc>
    <image:image><image:loc>https://example.com/cat.png</image:loc></image:image>
  </url>
  <url><loc><![CDATA[https://example.com/cdata]]></loc></url>
</urlset>"#;

    #[test]
    fn a_urlset_gives_its_page_urls() {
        assert_eq!(
            parse(URLSET.as_bytes(), 1 << 20).unwrap(),
            Sitemap::Urls(vec![
                "https://example.com/".to_owned(),
                "https://example.com/search?q=a&page=2".to_owned(),
                "https://example.com/cdata".to_owned(),
            ])
        );
    }

    #[test]
    fn an_index_gives_its_sitemaps() {
        let xml = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sitemap><loc>https://example.com/s1.xml</loc></sitemap>
            <sitemap><loc>https://example.com/s2.xml.gz</loc></sitemap>
        </sitemapindex>"#;
        assert_eq!(
            parse(xml.as_bytes(), 1 << 20).unwrap(),
            Sitemap::Index(vec![
                "https://example.com/s1.xml".to_owned(),
                "https://example.com/s2.xml.gz".to_owned()
            ])
        );
    }

    #[test]
    fn a_gzipped_sitemap_is_read() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(URLSET.as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        assert!(matches!(parse(&bytes, 1 << 20), Ok(Sitemap::Urls(u)) if u.len() == 3));
        assert_eq!(parse(&bytes, 100), Err(SitemapError::TooLarge(100)));
    }

    #[test]
    fn html_is_not_a_sitemap() {
        assert!(matches!(
            parse(b"<html><body>Not found</body></html>", 1 << 20),
            Err(SitemapError::NotASitemap(name)) if name == "html"
        ));
    }
}

/// Hostile sitemaps: any bytes, deep nesting, entity expansion, a gzip bomb. Each ends with a
/// result or an error, within the byte limit.
#[cfg(test)]
mod hostile {
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_end_in_a_sitemap_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&bytes, 1 << 20);
        }

        #[test]
        fn any_markup_inside_a_urlset_ends(inner in "(<url>|</url>|<loc>|</loc>|<!\\[CDATA\\[|\\]\\]>|&amp;|&lol;|[a-z:/.]{0,20}){0,200}") {
            let xml = format!("<urlset>{inner}</urlset>");
            if let Ok(Sitemap::Urls(urls)) = parse(xml.as_bytes(), 1 << 20) {
                prop_assert!(urls.len() <= 200);
            }
        }
    }

    #[test]
    fn entities_are_not_expanded() {
        let mut dtd = String::from(r#"<!DOCTYPE urlset [<!ENTITY l0 "https://example.com/">"#);
        for i in 1..10 {
            dtd.push_str(&format!(
                r#"<!ENTITY l{i} "{}">"#,
                format!("&l{};", i - 1).repeat(10)
            ));
        }
        let xml = format!("{dtd}]><urlset><url><loc>&l9;</loc></url></urlset>");
        if let Ok(Sitemap::Urls(urls)) = parse(xml.as_bytes(), 1 << 20) {
            assert!(
                urls.iter().all(|u| u.len() < 10_000),
                "entities were expanded"
            );
        }
    }

    #[test]
    fn deep_nesting_ends() {
        let xml = format!(
            "<urlset>{}<loc>https://example.com/</loc>{}</urlset>",
            "<url>".repeat(100_000),
            "</url>".repeat(100_000)
        );
        let _ = parse(xml.as_bytes(), 50 << 20);
    }

    #[test]
    fn a_gzip_bomb_is_refused_at_the_byte_limit() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&chunk).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        assert!(matches!(
            parse(&bomb, 8 << 20),
            Err(SitemapError::TooLarge(_))
        ));
    }
}
