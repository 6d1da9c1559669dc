//! A small website served on loopback by the test itself, whose pages can be changed while it
//! runs (to test retraining).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

/// Content type and body of each path.
type Pages = HashMap<String, (String, Vec<u8>)>;

#[derive(Clone, Default)]
pub struct Site {
    pages: Arc<Mutex<Pages>>,
}

impl Site {
    /// Sets a page's body and content type (path without the leading slash; "" is the home page).
    pub fn set(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        self.pages
            .lock()
            .unwrap()
            .insert(path.to_owned(), (content_type.to_owned(), body.into()));
    }

    pub fn remove(&self, path: &str) {
        self.pages.lock().unwrap().remove(path);
    }

    /// Serves the site on 127.0.0.1 and returns its address.
    pub async fn serve(&self) -> SocketAddr {
        async fn page(
            State(site): State<Site>,
            path: Option<Path<String>>,
            headers: HeaderMap,
        ) -> Response {
            let path = path.map(|p| p.0).unwrap_or_default();
            let Some((content_type, body)) = site.pages.lock().unwrap().get(&path).cloned() else {
                return (StatusCode::NOT_FOUND, "not found").into_response();
            };
            let etag = format!("\"{:x}\"", md5ish(&body));
            if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag.as_str())
            {
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
            }
            (
                [(header::CONTENT_TYPE, content_type), (header::ETAG, etag)],
                body,
            )
                .into_response()
        }
        let app = Router::new()
            .route("/", get(page))
            .route("/{*path}", get(page))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }
}

/// A cheap stable hash for ETags.
fn md5ish(s: &[u8]) -> u64 {
    s.iter().copied().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// An HTML page with navigation around its content and links to others.
pub fn html_page(title: &str, heading: &str, body: &str, links: &[&str]) -> String {
    let nav: String = links
        .iter()
        .map(|l| format!("<a href=\"/{l}\">{l}</a> "))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><title>{title}</title></head><body>\
         <nav>Home Products Contact {nav}</nav>\
         <main><h1>{title}</h1><h2 id=\"{id}\">{heading}</h2><p>{body}</p></main>\
         <footer>Copyright Lyon Shop. Legal notice.</footer></body></html>",
        id = heading.to_lowercase().replace(' ', "-")
    )
}

/// A site on 127.0.0.1 whose every page takes `delay` to answer: it keeps a training busy.
pub async fn slow_site(delay: std::time::Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(move || async move {
        tokio::time::sleep(delay).await;
        axum::response::Html(
            "<html><body><main><p>Slow page with some words in it.</p></main></body></html>",
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}
