//! The fetcher and the SSRF guard against a real server on 127.0.0.1.

mod common;

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use common::{Route, TestSite, TEST_TIMEOUT};
use sitechat_crawl::{
    AddressClass, FetchConfig, FetchError, Fetched, Fetcher, GuardError, SsrfGuard, Validators,
};
use url::Url;

async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, fut)
        .await
        .expect("finished within the test timeout")
}

fn open_config() -> FetchConfig {
    FetchConfig {
        allow_private: true,
        timeout: Duration::from_secs(10),
        ..FetchConfig::default()
    }
}

async fn fetch(fetcher: &Fetcher, url: Url) -> Result<Fetched, FetchError> {
    bounded(fetcher.fetch(&url, None)).await
}

#[tokio::test]
async fn a_redirect_chain_is_followed_and_recorded() {
    let site = TestSite::start(vec![
        ("/r1", Route::redirect("/r2")),
        (
            "/r2",
            Route::Redirect {
                status: 301,
                location: "/r3".into(),
            },
        ),
        ("/r3", Route::html("<p>end</p>")),
    ])
    .await;
    let fetched = fetch(&Fetcher::new(open_config()), site.url("/r1"))
        .await
        .unwrap();
    assert_eq!(fetched.requested, site.url("/r1"));
    assert_eq!(fetched.final_url, site.url("/r3"));
    assert_eq!(fetched.redirects, [site.url("/r2"), site.url("/r3")]);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, b"<p>end</p>");
    assert_eq!(
        fetched.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
}

#[tokio::test]
async fn redirect_loops_and_too_many_redirects_are_different_errors() {
    let mut routes = vec![
        ("/loop-a".to_owned(), Route::redirect("/loop-b")),
        ("/loop-b".to_owned(), Route::redirect("/loop-a")),
    ];
    for i in 0..10 {
        routes.push((
            format!("/hop{i}"),
            Route::redirect(&format!("/hop{}", i + 1)),
        ));
    }
    let site = TestSite::start(
        routes
            .iter()
            .map(|(p, r)| (p.as_str(), r.clone()))
            .collect(),
    )
    .await;
    let fetcher = Fetcher::new(FetchConfig {
        max_redirects: 3,
        ..open_config()
    });
    assert!(matches!(
        fetch(&fetcher, site.url("/loop-a")).await,
        Err(FetchError::RedirectLoop(_))
    ));
    let err = fetch(&fetcher, site.url("/hop0")).await.unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects(_)), "{err:?}");
    assert_eq!(
        site.hits()
            .iter()
            .filter(|h| h.target.starts_with("/hop"))
            .count(),
        4
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let site = TestSite::start(vec![
        ("/declared", Route::bytes("text/plain", vec![b'x'; 4096])),
        (
            "/streamed",
            Route::Streamed {
                content_type: "text/plain".into(),
                chunks: vec![vec![b'y'; 1024]; 16],
            },
        ),
        ("/small", Route::bytes("text/plain", vec![b'z'; 1000])),
    ])
    .await;
    let fetcher = Fetcher::new(FetchConfig {
        max_bytes: 2000,
        ..open_config()
    });
    for path in ["/declared", "/streamed"] {
        let err = fetch(&fetcher, site.url(path)).await.unwrap_err();
        assert!(
            matches!(err, FetchError::TooLarge { limit: 2000, .. }),
            "{path}: {err:?}"
        );
    }
    assert_eq!(
        fetch(&fetcher, site.url("/small"))
            .await
            .unwrap()
            .body
            .len(),
        1000
    );
}

#[tokio::test]
async fn error_statuses_and_timeouts_are_errors() {
    let site = TestSite::start(vec![
        ("/gone", Route::Status(410)),
        (
            "/slow",
            Route::Slow {
                delay: Duration::from_secs(20),
                body: String::new(),
            },
        ),
    ])
    .await;
    let fetcher = Fetcher::new(FetchConfig {
        timeout: Duration::from_millis(300),
        ..open_config()
    });
    assert_eq!(
        fetch(&fetcher, site.url("/missing")).await,
        Err(FetchError::Status(404))
    );
    assert_eq!(
        fetch(&fetcher, site.url("/gone")).await,
        Err(FetchError::Status(410))
    );
    assert!(matches!(
        fetch(&fetcher, site.url("/slow")).await,
        Err(FetchError::Timeout { .. })
    ));
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let err = fetch(&Fetcher::new(open_config()), url).await.unwrap_err();
    assert!(matches!(err, FetchError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn validators_are_sent_and_a_304_is_not_modified() {
    let site = TestSite::start(vec![(
        "/page",
        Route::html("<p>v1</p>")
            .with_etag("\"v1\"")
            .with_last_modified("Tue, 01 Oct 2024 10:00:00 GMT"),
    )])
    .await;
    let fetcher = Fetcher::new(open_config());
    let first = fetch(&fetcher, site.url("/page")).await.unwrap();
    assert_eq!(
        first.validators,
        Validators {
            etag: Some("\"v1\"".into()),
            last_modified: Some("Tue, 01 Oct 2024 10:00:00 GMT".into())
        }
    );
    assert!(!first.not_modified);
    let second = bounded(fetcher.fetch(&site.url("/page"), Some(&first.validators)))
        .await
        .unwrap();
    assert!(second.not_modified);
    assert_eq!(second.status, 304);
    assert!(second.body.is_empty());
    assert_eq!(second.validators, first.validators);
    let hit = site.hits_of("/page").pop().unwrap();
    assert_eq!(hit.if_none_match.as_deref(), Some("\"v1\""));
    assert_eq!(
        hit.if_modified_since.as_deref(),
        Some("Tue, 01 Oct 2024 10:00:00 GMT")
    );
    assert_eq!(
        hit.user_agent.as_deref(),
        Some(concat!(
            "sitechat/",
            env!("CARGO_PKG_VERSION"),
            " (+https://github.com/sitechat)"
        ))
    );
}

#[tokio::test]
async fn private_addresses_are_refused_before_any_connection() {
    let site = TestSite::start(vec![("/", Route::html("<p>private</p>"))]).await;
    let port = site.base.port().unwrap();
    let fetcher = Fetcher::new(FetchConfig::default());
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        "http://10.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://metadata.google.internal/computeMetadata/v1/".to_owned(),
    ] {
        let err = fetch(&fetcher, Url::parse(&url).unwrap())
            .await
            .unwrap_err();
        match &err {
            FetchError::Blocked(_) => {}
            other => panic!("{url}: {other:?}"),
        }
        assert!(
            err.to_string().ends_with(
                "sitechat does not fetch private networks unless allow_private_networks is set"
            ),
            "{err}"
        );
    }
    assert!(site.hits().is_empty(), "the server was reached");
    let err = fetch(&fetcher, Url::parse("http://169.254.169.254/").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "169.254.169.254 is a link-local/cloud-metadata address; sitechat does not fetch private \
         networks unless allow_private_networks is set"
    );
}

#[tokio::test]
async fn a_redirect_from_an_allowed_address_to_a_private_one_is_refused() {
    // The test server stands in for a public site: the guard refuses private networks but lets
    // 127.0.0.1 through. Each redirect hop is checked by the client's redirect policy before it
    // is followed, so 10.0.0.1 and the metadata address are never contacted.
    let site = TestSite::start(vec![]).await;
    let port = site.base.port().unwrap();
    site.set("/to-private", Route::redirect("http://10.0.0.1/admin"));
    site.set(
        "/to-metadata",
        Route::redirect("http://169.254.169.254/latest/meta-data/"),
    );
    site.set(
        "/to-localhost",
        Route::redirect(&format!("http://localhost:{port}/ok")),
    );
    site.set(
        "/to-other-loopback",
        Route::redirect(&format!("http://127.0.0.2:{port}/ok")),
    );
    site.set(
        "/to-ipv6-loopback",
        Route::redirect(&format!("http://[::1]:{port}/ok")),
    );
    site.set("/to-ok", Route::redirect("/ok"));
    site.set("/ok", Route::html("<p>ok</p>"));
    let guard = SsrfGuard::new(false).allowing("127.0.0.1".parse().unwrap());
    let fetcher = Fetcher::with_guard(FetchConfig::default(), guard);

    let ok = fetch(&fetcher, site.url("/to-ok")).await.unwrap();
    assert_eq!(ok.final_url, site.url("/ok"));

    let refused = |ip: &str, class| {
        FetchError::Blocked(GuardError::ForbiddenAddress {
            ip: ip.parse::<IpAddr>().unwrap(),
            class,
        })
    };
    assert_eq!(
        fetch(&fetcher, site.url("/to-private")).await,
        Err(refused("10.0.0.1", AddressClass::Private))
    );
    assert_eq!(
        fetch(&fetcher, site.url("/to-metadata")).await,
        Err(refused("169.254.169.254", AddressClass::LinkLocalMetadata))
    );
    assert_eq!(
        fetch(&fetcher, site.url("/to-other-loopback")).await,
        Err(refused("127.0.0.2", AddressClass::Loopback))
    );
    assert_eq!(
        fetch(&fetcher, site.url("/to-ipv6-loopback")).await,
        Err(refused("::1", AddressClass::Loopback))
    );
    assert!(matches!(
        fetch(&fetcher, site.url("/to-localhost")).await,
        Err(FetchError::Blocked(GuardError::ForbiddenHost { .. }))
    ));
    assert_eq!(
        site.hits_of("/ok").len(),
        1,
        "only the allowed redirect arrived"
    );
}

#[tokio::test]
async fn every_client_built_by_the_guard_enforces_it() {
    // A client for another outbound use (webhooks, model endpoints) gets the same checks.
    let site = TestSite::start(vec![("/to-private", Route::redirect("http://10.0.0.1/"))]).await;
    let port = site.base.port().unwrap();
    let client = SsrfGuard::new(false).client(&FetchConfig::default());
    let err = bounded(client.get(format!("http://localhost:{port}/")).send())
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    let client = SsrfGuard::new(false)
        .allowing("127.0.0.1".parse().unwrap())
        .client(&FetchConfig::default());
    let err = bounded(client.get(site.url("/to-private")).send())
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    assert!(site.hits_of("/").is_empty());
}
