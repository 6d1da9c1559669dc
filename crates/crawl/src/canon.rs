//! URL canonicalisation: one spelling per page, so the crawler fetches it once and the index
//! cites it once.
//!
//! [`canonicalize`] removes the fragment, lower-cases scheme and host, drops the default port,
//! removes tracking parameters (`utm_*`, `gclid`, `fbclid`, …), sorts the remaining query
//! parameters by name (parameters with the same name keep their order, which can matter) and
//! drops an empty query. Parameters are kept as they were written (no re-encoding), so the server
//! receives exactly what the page linked to, minus the tracking.

use url::Url;

/// Query parameters that only track where a visitor came from, never select content.
const TRACKING_PARAMS: &[&str] = &[
    "gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "yclid", "mc_cid", "mc_eid", "_ga",
    "_gl", "ref_src", "igshid", "_hsenc", "_hsmi", "mkt_tok",
];

/// Whether a query parameter name is a tracking parameter.
pub fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_") || TRACKING_PARAMS.contains(&lower.as_str())
}

/// The canonical form of a URL (see the module documentation).
pub fn canonicalize(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);

    // The parser already lower-cases scheme and host and drops the default port of http(s);
    // these cover URLs of other schemes handed in by callers.
    if url.scheme().bytes().any(|b| b.is_ascii_uppercase()) {
        let lower = url.scheme().to_ascii_lowercase();
        let _ = url.set_scheme(&lower);
    }
    if let Some(host) = url.host_str() {
        if host.bytes().any(|b| b.is_ascii_uppercase()) {
            let lower = host.to_ascii_lowercase();
            let _ = url.set_host(Some(&lower));
        }
    }
    if url.port().is_some() && url.port() == default_port(url.scheme()) {
        let _ = url.set_port(None);
    }
    if url.path().is_empty() && !url.cannot_be_a_base() {
        url.set_path("/");
    }

    if let Some(query) = url.query() {
        let mut params: Vec<(String, &str)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| (param_name(p), p))
            .filter(|(name, _)| !is_tracking_param(name))
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let query = params
            .iter()
            .map(|(_, raw)| *raw)
            .collect::<Vec<_>>()
            .join("&");
        url.set_query(if query.is_empty() { None } else { Some(&query) });
    }
    url
}

/// The decoded name of a raw `name=value` query parameter.
fn param_name(raw: &str) -> String {
    let name = raw.split('=').next().unwrap_or(raw);
    url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonicalize(&Url::parse(s).unwrap()).to_string()
    }

    #[test]
    fn the_fragment_is_removed() {
        assert_eq!(
            canon("https://example.com/faq#shipping"),
            "https://example.com/faq"
        );
    }

    #[test]
    fn scheme_and_host_are_lowercased_and_the_default_port_removed() {
        assert_eq!(
            canon("HTTPS://Example.COM:443/Path"),
            "https://example.com/Path"
        );
        assert_eq!(canon("http://example.com:80/"), "http://example.com/");
        assert_eq!(
            canon("http://example.com:8080/"),
            "http://example.com:8080/"
        );
    }

    #[test]
    fn an_empty_path_becomes_a_slash() {
        assert_eq!(canon("https://example.com"), "https://example.com/");
    }

    #[test]
    fn tracking_parameters_are_removed() {
        assert_eq!(
            canon(
                "https://example.com/p?utm_source=news&id=7&UTM_Medium=mail&gclid=x&fbclid=y\
                 &msclkid=z&mc_cid=1&mc_eid=2&_ga=3&ref_src=4&yclid=5"
            ),
            "https://example.com/p?id=7"
        );
    }

    #[test]
    fn remaining_parameters_are_sorted_by_name_keeping_repeated_names_in_order() {
        assert_eq!(
            canon("https://example.com/s?q=b&a=1&q=a&b"),
            "https://example.com/s?a=1&b&q=b&q=a"
        );
    }

    #[test]
    fn an_empty_query_is_dropped() {
        assert_eq!(canon("https://example.com/p?"), "https://example.com/p");
        assert_eq!(
            canon("https://example.com/p?utm_campaign=x&&"),
            "https://example.com/p"
        );
    }

    #[test]
    fn parameters_keep_their_encoding() {
        assert_eq!(
            canon("https://example.com/s?q=caf%C3%A9+au+lait&a=%2F"),
            "https://example.com/s?a=%2F&q=caf%C3%A9+au+lait"
        );
    }

    #[test]
    fn tracking_variants_collapse_to_one_url() {
        let a = canon("https://example.com/pricing?utm_source=a#top");
        let b = canon("https://example.com/pricing?gclid=123");
        let c = canon("https://EXAMPLE.com:443/pricing");
        assert_eq!(a, b);
        assert_eq!(b, c);
    }
}
