//! The SSRF guard: the one place that decides whether sitechat may fetch a URL on a user's behalf.
//!
//! A user who can make sitechat fetch a URL (a website to crawl, a single page or file, later a
//! webhook or a model endpoint) must not be able to make it fetch the machine's own services,
//! the private network it sits in, or the cloud provider's metadata endpoint. The guard enforces
//! this at three points, because checking the URL text alone is not enough:
//!
//! 1. **Before the first request** ([`SsrfGuard::check_url`]): only `http`/`https`, no user
//!    name or password in the URL, a literal IP host is checked at once, and well-known internal
//!    host names (`localhost`, `metadata.google.internal`, `*.internal`, …) are refused.
//! 2. **After DNS resolution**: the reqwest client built by [`SsrfGuard::client`] resolves host
//!    names with its own resolver, which refuses the connection if *any* resolved address is
//!    forbidden. This is what defeats `evil.example` → `127.0.0.1` and DNS rebinding (the
//!    address checked is the address connected to).
//! 3. **On every redirect hop**: the client's redirect policy runs [`SsrfGuard::check_url`] on
//!    each `Location` (literal IPs never reach the resolver, so they are checked there), and
//!    also stops redirect loops and over-long chains with distinct errors
//!    ([`RedirectError`]).
//!
//! The client also ignores proxy environment variables: a proxy would resolve names itself and
//! bypass the resolver check.
//!
//! Everything is allowed when the operator sets `allow_private_networks` (the guard's
//! `allow_private`), which self-hosters need to crawl an intranet and tests need to crawl a
//! loopback server. Single addresses can be let through with [`SsrfGuard::allowing`].

use std::cell::RefCell;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::HeaderValue;
use reqwest::redirect::Policy;
use url::{Host, Url};

use crate::fetch::FetchConfig;

/// Why an address may not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `0.0.0.0/8` ("this network").
    ThisNetwork,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT shared address space.
    SharedAddressSpace,
    /// `169.254.0.0/16`, where cloud metadata services live (`169.254.169.254`).
    LinkLocalMetadata,
    /// `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// `fec0::/10` (deprecated site-local).
    SiteLocal,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Other special-purpose ranges: `192.0.0/24`, `192.88.99/24`, `240/4`, `100::/64`,
    /// `64:ff9b:1::/48`, IPv4-compatible IPv6.
    Reserved,
}

impl AddressClass {
    /// The class with its article, as it reads in a sentence: "a loopback address".
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::ThisNetwork => "a \"this network\" (0.0.0.0/8) address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private-network address",
            AddressClass::SharedAddressSpace => "a carrier-grade NAT (100.64.0.0/10) address",
            AddressClass::LinkLocalMetadata => "a link-local/cloud-metadata address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::UniqueLocal => "a private-network (IPv6 unique local) address",
            AddressClass::SiteLocal => "a site-local address",
            AddressClass::Documentation => "a documentation-only address",
            AddressClass::Benchmarking => "a benchmarking-only address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "a broadcast address",
            AddressClass::Reserved => "a reserved special-purpose address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

const PRIVATE_HINT: &str =
    "sitechat does not fetch private networks unless allow_private_networks is set";

/// A URL or address the guard refused. The messages say what was refused and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("{url} uses the {scheme}: scheme; sitechat only fetches http and https URLs")]
    UnsupportedScheme { url: String, scheme: String },
    /// The URL is shown without its credentials.
    #[error(
        "{url} carries a user name or password; sitechat does not fetch URLs with embedded credentials"
    )]
    Credentials { url: String },
    #[error("{url} has no host to fetch from")]
    NoHost { url: String },
    #[error("{ip} is {class}; {PRIVATE_HINT}")]
    ForbiddenAddress { ip: IpAddr, class: AddressClass },
    #[error("{host} is {reason}; {PRIVATE_HINT}")]
    ForbiddenHost { host: String, reason: &'static str },
    #[error("{host} resolves to {ip}, {class}; {PRIVATE_HINT}")]
    ForbiddenResolution {
        host: String,
        ip: IpAddr,
        class: AddressClass,
    },
}

/// Why the redirect policy stopped a redirect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("redirect to a refused URL: {0}")]
    Blocked(#[from] GuardError),
    #[error("redirect loop: {url} was already visited in this redirect chain")]
    Loop { url: String },
    #[error("more than {max} redirects (stopped at {url})")]
    TooMany { url: String, max: usize },
}

/// The SSRF guard. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SsrfGuard {
    allow_private: bool,
    /// Addresses let through even though their class is refused.
    allowed_ips: Arc<[IpAddr]>,
    /// Refuse internal host names before resolution; only tests turn this off, to reach the
    /// after-resolution check with a name that resolves to loopback.
    check_names: bool,
}

impl SsrfGuard {
    /// A guard; `allow_private` (the operator's `allow_private_networks`) turns every address
    /// check off, leaving only the scheme and credentials checks.
    pub fn new(allow_private: bool) -> Self {
        SsrfGuard {
            allow_private,
            allowed_ips: Arc::from(Vec::new()),
            check_names: true,
        }
    }

    /// The same guard, also letting `ip` through (an operator's explicit exception for one
    /// internal host, without opening every private network).
    pub fn allowing(mut self, ip: IpAddr) -> Self {
        let mut ips = self.allowed_ips.to_vec();
        ips.push(canonical_ip(ip));
        self.allowed_ips = Arc::from(ips);
        self
    }

    /// Whether private networks are allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Checks a URL before it is requested: scheme, credentials, and the host when it is a
    /// literal IP or a well-known internal name. Host names are checked again, after resolution,
    /// by the client's resolver.
    pub fn check_url(&self, url: &Url) -> Result<(), GuardError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(GuardError::UnsupportedScheme {
                url: redacted(url),
                scheme: url.scheme().to_owned(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardError::Credentials { url: redacted(url) });
        }
        match url.host() {
            None => Err(GuardError::NoHost { url: redacted(url) }),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => self.check_host_name(name),
        }
    }

    /// Checks an address: refused when it belongs to a non-public range (see [`classify`]),
    /// unless private networks are allowed or the address was let through with
    /// [`SsrfGuard::allowing`].
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), GuardError> {
        match self.refused_class(ip) {
            None => Ok(()),
            Some(class) => Err(GuardError::ForbiddenAddress { ip, class }),
        }
    }

    /// Checks a host name (not an address) against names that always mean "inside":
    /// `localhost`, `*.localhost`, `*.internal` (including `metadata.google.internal`),
    /// `metadata.goog`, `*.local` (mDNS) and `*.home.arpa`.
    pub fn check_host_name(&self, name: &str) -> Result<(), GuardError> {
        if self.allow_private || !self.check_names {
            return Ok(());
        }
        let lower = name.trim_end_matches('.').to_ascii_lowercase();
        let ends = |suffix: &str| lower == suffix || lower.ends_with(&format!(".{suffix}"));
        let reason = if ends("localhost") {
            Some("a local host name")
        } else if ends("internal") || ends("metadata.goog") || lower == "metadata" {
            Some("a cloud-metadata or internal host name")
        } else if ends("local") || ends("home.arpa") {
            Some("a local-network host name")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(GuardError::ForbiddenHost {
                host: name.to_owned(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Checks one redirect hop: the next URL must pass [`SsrfGuard::check_url`], must not have
    /// been visited already in this chain (`previous` starts with the original URL), and the
    /// chain may not exceed `max_redirects`.
    pub fn check_redirect(
        &self,
        next: &Url,
        previous: &[Url],
        max_redirects: usize,
    ) -> Result<(), RedirectError> {
        self.check_url(next)?;
        if previous.iter().any(|p| same_resource(p, next)) {
            return Err(RedirectError::Loop {
                url: redacted(next),
            });
        }
        if previous.len() > max_redirects {
            return Err(RedirectError::TooMany {
                url: redacted(next),
                max: max_redirects,
            });
        }
        Ok(())
    }

    /// The redirect policy of every client the guard builds: [`SsrfGuard::check_redirect`] on
    /// each hop. Hops that are followed are recorded for [`crate::Fetcher`].
    pub fn redirect_policy(&self, max_redirects: usize) -> Policy {
        let guard = self.clone();
        Policy::custom(move |attempt| {
            match guard.check_redirect(attempt.url(), attempt.previous(), max_redirects) {
                Ok(()) => {
                    record_hop(attempt.url());
                    attempt.follow()
                }
                Err(e) => attempt.error(e),
            }
        })
    }

    /// A reqwest client for fetching on a user's behalf: this guard's resolver and redirect
    /// policy, no proxies, and the timeouts and user agent of `config`. Every outbound fetcher
    /// (crawler, single-URL sources, webhooks, model endpoints) is built here.
    ///
    /// `config.allow_private` is not consulted: the guard's own setting applies (a
    /// [`crate::Fetcher`] builds its guard from the config).
    pub fn client(&self, config: &FetchConfig) -> reqwest::Client {
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .unwrap_or_else(|_| HeaderValue::from_static(crate::fetch::DEFAULT_USER_AGENT));
        reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(self.redirect_policy(config.max_redirects))
            .dns_resolver(Arc::new(GuardedResolver {
                guard: self.clone(),
            }))
            .no_proxy()
            .referer(false)
            .build()
            .expect("a rustls reqwest client with a valid user agent always builds")
    }

    /// The resolver used by [`SsrfGuard::client`], for callers that build their own client.
    pub fn resolver(&self) -> Arc<dyn Resolve> {
        Arc::new(GuardedResolver {
            guard: self.clone(),
        })
    }

    /// Resolves `host` with the system resolver and checks every address; the connection is
    /// refused if any of them is forbidden (a name that resolves to a public and a private
    /// address is refused: the client could be steered to either).
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        self.check_host_name(host)?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| ResolveError::Lookup {
                host: host.to_owned(),
                message: e.to_string(),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(ResolveError::Lookup {
                host: host.to_owned(),
                message: "no addresses".to_owned(),
            });
        }
        self.check_resolved(host, &addrs)?;
        Ok(addrs)
    }

    /// Checks the addresses a name resolved to: all of them must be allowed.
    pub fn check_resolved(&self, host: &str, addrs: &[SocketAddr]) -> Result<(), GuardError> {
        for addr in addrs {
            if let Some(class) = self.refused_class(addr.ip()) {
                return Err(GuardError::ForbiddenResolution {
                    host: host.to_owned(),
                    ip: addr.ip(),
                    class,
                });
            }
        }
        Ok(())
    }

    fn refused_class(&self, ip: IpAddr) -> Option<AddressClass> {
        if self.allow_private || self.allowed_ips.contains(&canonical_ip(ip)) {
            return None;
        }
        classify(ip)
    }
}

/// A failed guarded resolution: refused by the guard, or the name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Blocked(#[from] GuardError),
    #[error("could not resolve {host}: {message}")]
    Lookup { host: String, message: String },
}

/// The class of a non-public address, or `None` for an address on the public internet.
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and
/// 6to4 (`2002::/16`) addresses are judged by the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => Unspecified,
        (0, _, _) => ThisNetwork,
        (10, _, _) => Private,
        (100, b, _) if (64..128).contains(&b) => SharedAddressSpace,
        (127, _, _) => Loopback,
        (169, 254, _) => LinkLocalMetadata,
        (172, b, _) if (16..32).contains(&b) => Private,
        (192, 0, 0) => Reserved,
        (192, 0, 2) => Documentation,
        (192, 88, 99) => Reserved,
        (192, 168, _) => Private,
        (198, 18 | 19, _) => Benchmarking,
        (198, 51, 100) => Documentation,
        (203, 0, 113) => Documentation,
        (224..=239, _, _) => Multicast,
        _ if ip.is_broadcast() => Broadcast,
        (240..=255, _, _) => Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // IPv4-compatible (::a.b.c.d), deprecated: never a legitimate public address.
    if s[..6] == [0; 6] {
        return Some(classify_v4(embedded(s[6], s[7])).unwrap_or(Reserved));
    }
    // NAT64 well-known prefix: the IPv4 address it stands for decides.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return Some(Reserved);
    }
    if s[..4] == [0x100, 0, 0, 0] {
        return Some(Reserved);
    }
    // 6to4: 2002:aabb:ccdd::/48 carries a.b.c.d.
    if s[0] == 0x2002 {
        return classify_v4(embedded(s[1], s[2]));
    }
    Some(match s[0] {
        0x2001 if s[1] == 0xdb8 => Documentation,
        0x2001 if s[1] == 2 && s[2] == 0 => Benchmarking,
        0x3fff if s[1] & 0xf000 == 0 => Documentation,
        x if x & 0xfe00 == 0xfc00 => UniqueLocal,
        x if x & 0xffc0 == 0xfe80 => LinkLocal,
        x if x & 0xffc0 == 0xfec0 => SiteLocal,
        x if x & 0xff00 == 0xff00 => Multicast,
        _ => return None,
    })
}

/// An IPv4-mapped IPv6 address as its IPv4 address, so exceptions match either form.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The URL as text without user name or password.
fn redacted(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

/// Two URLs name the same resource for loop detection (fragments never reach the server).
fn same_resource(a: &Url, b: &Url) -> bool {
    a.as_str().split('#').next() == b.as_str().split('#').next()
}

/// The reqwest resolver that enforces the guard on resolved addresses.
struct GuardedResolver {
    guard: SsrfGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match guard.resolve(&host).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Err(ResolveError::Blocked(e)) => Err(Box::new(e) as _),
                Err(e) => Err(Box::new(e) as _),
            }
        })
    }
}

tokio::task_local! {
    /// The redirect hops of the request being sent by [`crate::Fetcher`] (reqwest follows
    /// redirects inside the future the fetcher awaits, so the policy sees this task-local).
    static REDIRECT_HOPS: RefCell<Vec<Url>>;
}

fn record_hop(url: &Url) {
    let _ = REDIRECT_HOPS.try_with(|hops| hops.borrow_mut().push(url.clone()));
}

/// Runs `fut` (which sends a request through a guard-built client) and returns its output with
/// the redirect hops that were followed, in order.
pub(crate) async fn with_redirect_log<F: std::future::Future>(fut: F) -> (F::Output, Vec<Url>) {
    REDIRECT_HOPS
        .scope(RefCell::new(Vec::new()), async move {
            let out = fut.await;
            let hops = REDIRECT_HOPS.with(|h| h.take());
            (out, hops)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn loopback_private_and_metadata_addresses_are_refused() {
        let guard = SsrfGuard::new(false);
        for (addr, class) in [
            ("127.0.0.1", AddressClass::Loopback),
            ("127.255.0.9", AddressClass::Loopback),
            ("10.0.0.1", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocalMetadata),
            ("100.64.0.1", AddressClass::SharedAddressSpace),
            ("100.127.255.255", AddressClass::SharedAddressSpace),
            ("0.0.0.0", AddressClass::Unspecified),
            ("0.1.2.3", AddressClass::ThisNetwork),
            ("255.255.255.255", AddressClass::Broadcast),
            ("224.0.0.1", AddressClass::Multicast),
            ("192.0.2.1", AddressClass::Documentation),
            ("198.51.100.7", AddressClass::Documentation),
            ("203.0.113.9", AddressClass::Documentation),
            ("198.18.0.1", AddressClass::Benchmarking),
            ("240.0.0.1", AddressClass::Reserved),
            ("::1", AddressClass::Loopback),
            ("::", AddressClass::Unspecified),
            ("fc00::1", AddressClass::UniqueLocal),
            ("fd00:ec2::254", AddressClass::UniqueLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("ff02::1", AddressClass::Multicast),
            ("2001:db8::1", AddressClass::Documentation),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::ffff:169.254.169.254", AddressClass::LinkLocalMetadata),
            ("::10.0.0.1", AddressClass::Private),
            ("64:ff9b::a00:1", AddressClass::Private),
            ("2002:7f00:1::", AddressClass::Loopback),
        ] {
            assert_eq!(
                guard.check_ip(ip(addr)),
                Err(GuardError::ForbiddenAddress {
                    ip: ip(addr),
                    class
                }),
                "{addr}"
            );
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        let guard = SsrfGuard::new(false);
        for addr in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(guard.check_ip(ip(addr)), Ok(()), "{addr}");
        }
    }

    #[test]
    fn allow_private_lets_everything_through() {
        let guard = SsrfGuard::new(true);
        assert!(guard.check_ip(ip("127.0.0.1")).is_ok());
        assert!(guard.check_url(&url("http://169.254.169.254/")).is_ok());
        assert!(guard
            .check_url(&url("http://metadata.google.internal/"))
            .is_ok());
    }

    #[test]
    fn the_refusal_says_what_and_why() {
        let err = SsrfGuard::new(false)
            .check_url(&url("http://169.254.169.254/latest/meta-data/"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "169.254.169.254 is a link-local/cloud-metadata address; sitechat does not fetch \
             private networks unless allow_private_networks is set"
        );
    }

    #[test]
    fn literal_ip_urls_are_checked_at_once() {
        let guard = SsrfGuard::new(false);
        assert!(guard.check_url(&url("http://127.0.0.1:8080/")).is_err());
        assert!(guard.check_url(&url("http://[::1]/")).is_err());
        assert!(guard.check_url(&url("http://[::ffff:127.0.0.1]/")).is_err());
        // Numeric host forms are normalised by the URL parser before the check.
        assert!(guard.check_url(&url("http://2130706433/")).is_err());
        assert!(guard.check_url(&url("http://0x7f.1/")).is_err());
        assert!(guard.check_url(&url("https://93.184.216.34/")).is_ok());
    }

    #[test]
    fn internal_host_names_are_refused() {
        let guard = SsrfGuard::new(false);
        for host in [
            "localhost",
            "LOCALHOST.",
            "app.localhost",
            "metadata.google.internal",
            "metadata.goog",
            "printer.local",
            "nas.home.arpa",
        ] {
            assert!(
                guard.check_url(&url(&format!("http://{host}/"))).is_err(),
                "{host}"
            );
        }
        assert!(guard.check_url(&url("https://example.com/")).is_ok());
        assert!(guard
            .check_url(&url("https://localhost.example.com/"))
            .is_ok());
    }

    #[test]
    fn only_http_and_https_without_credentials_are_fetched() {
        let guard = SsrfGuard::new(true);
        assert!(matches!(
            guard.check_url(&url("file:///etc/passwd")),
            Err(GuardError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            guard.check_url(&url("ftp://example.com/")),
            Err(GuardError::UnsupportedScheme { .. })
        ));
        let err = guard
            .check_url(&url("https://user:hunter2@example.com/"))
            .unwrap_err();
        assert!(matches!(err, GuardError::Credentials { .. }));
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn an_allowed_exception_passes_in_either_form() {
        let guard = SsrfGuard::new(false).allowing(ip("127.0.0.1"));
        assert!(guard.check_ip(ip("127.0.0.1")).is_ok());
        assert!(guard.check_ip(ip("::ffff:127.0.0.1")).is_ok());
        assert!(guard.check_ip(ip("127.0.0.2")).is_err());
        assert!(guard.check_ip(ip("10.0.0.1")).is_err());
    }

    #[test]
    fn a_redirect_to_a_private_address_is_refused() {
        // The policy function itself: a public page redirecting to the metadata endpoint.
        let guard = SsrfGuard::new(false);
        let previous = [url("https://example.com/start")];
        assert!(matches!(
            guard.check_redirect(&url("http://169.254.169.254/"), &previous, 10),
            Err(RedirectError::Blocked(GuardError::ForbiddenAddress { .. }))
        ));
        assert_eq!(
            guard.check_redirect(&url("https://example.com/next"), &previous, 10),
            Ok(())
        );
    }

    #[test]
    fn redirect_loops_and_long_chains_are_told_apart() {
        let guard = SsrfGuard::new(false);
        let chain = [url("https://example.com/a"), url("https://example.com/b")];
        assert!(matches!(
            guard.check_redirect(&url("https://example.com/a"), &chain, 10),
            Err(RedirectError::Loop { .. })
        ));
        assert!(matches!(
            guard.check_redirect(&url("https://example.com/c"), &chain, 1),
            Err(RedirectError::TooMany { max: 1, .. })
        ));
        assert_eq!(
            guard.check_redirect(&url("https://example.com/c"), &chain, 2),
            Ok(())
        );
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let guard = SsrfGuard::new(false);
        // By name, before any lookup…
        assert!(matches!(
            guard.resolve("localhost").await,
            Err(ResolveError::Blocked(GuardError::ForbiddenHost { .. }))
        ));
        // …and by what it resolves to, which is what catches names we do not know.
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(("localhost", 0))
            .await
            .unwrap()
            .collect();
        let err = guard.check_resolved("localhost", &addrs).unwrap_err();
        assert!(
            matches!(
                err,
                GuardError::ForbiddenResolution {
                    class: AddressClass::Loopback,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("localhost resolves to "),
            "{err}"
        );
        assert!(matches!(
            guard.resolve("127.0.0.1").await,
            Err(ResolveError::Blocked(
                GuardError::ForbiddenResolution { .. }
            ))
        ));
        assert!(SsrfGuard::new(true).resolve("localhost").await.is_ok());
    }

    #[tokio::test]
    async fn the_client_checks_addresses_after_resolution() {
        // A name the name check lets through (it is turned off here) that resolves to loopback,
        // requested through a guard-built client: the resolver refuses before connecting.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let guard = SsrfGuard {
            check_names: false,
            ..SsrfGuard::new(false)
        };
        let client = guard.client(&FetchConfig::default());
        let request = client.get(format!("http://localhost:{port}/")).send();
        let err = tokio::time::timeout(std::time::Duration::from_secs(10), request)
            .await
            .expect("bounded")
            .unwrap_err();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        let mut found = None;
        while let Some(e) = source {
            if let Some(g) = e.downcast_ref::<GuardError>() {
                found = Some(g.clone());
            }
            source = e.source();
        }
        assert!(
            matches!(found, Some(GuardError::ForbiddenResolution { .. })),
            "{err:?}"
        );
        drop(listener);
    }

    #[tokio::test]
    async fn the_resolver_refuses_loopback_names() {
        let resolver = SsrfGuard::new(false).resolver();
        let err = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved"),
            Err(e) => e,
        };
        assert!(err.downcast_ref::<GuardError>().is_some(), "{err}");
    }
}
