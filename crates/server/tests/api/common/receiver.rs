//! A webhook receiver on loopback that records what it is sent.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, http::HeaderMap, routing::post, Router};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One received request.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Whether `X-Webhook-Signature` is the hex HMAC-SHA256 of the body with `secret`.
    pub fn signed_with(&self, secret: &str) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&self.body);
        self.headers
            .get("x-webhook-signature")
            .and_then(|v| v.to_str().ok())
            == Some(hex::encode(mac.finalize().into_bytes()).as_str())
    }
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start() -> (Receiver, SocketAddr) {
        let receiver = Receiver::default();
        let store = receiver.received.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let store = store.clone();
                async move {
                    store.lock().unwrap().push(Received { headers, body });
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, addr)
    }

    /// Waits (up to 10 s) until a delivery whose JSON body satisfies `matches` arrives.
    pub async fn wait_until(
        &self,
        what: &str,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Received {
        for _ in 0..200 {
            if let Some(r) = self
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|r| matches(&r.json()))
                .cloned()
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {what} delivery within 10 s");
    }

    /// Waits (up to 10 s) for a delivery of a dialect's `{"event", …}` envelope.
    pub async fn wait_for_event(&self, event: &str) -> Received {
        self.wait_until(event, |b| b["event"] == event).await
    }

    /// Every body received so far.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(Received::json)
            .collect()
    }

    /// Waits (up to 10 s) until an event of this type arrives and returns it.
    pub async fn wait_for(&self, kind: &str) -> Received {
        for _ in 0..200 {
            if let Some(r) = self
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|r| r.json()["type"] == kind)
                .cloned()
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {kind} delivery within 10 s");
    }
}

/// Asserts that `actual` has the shape of a document's `example`: the same field names at every
/// level (nothing missing, nothing added) and the same JSON types (any number for a number; a
/// null in `actual` only where `nullable` names the field). Arrays are checked item by item
/// against the example's first item.
pub fn assert_same_shape(
    example: &serde_json::Value,
    actual: &serde_json::Value,
    nullable: &[&str],
) {
    shape(example, actual, "$", nullable);
}

fn shape(example: &serde_json::Value, actual: &serde_json::Value, at: &str, nullable: &[&str]) {
    use serde_json::Value;
    let field = at.rsplit('.').next().unwrap_or(at);
    match (example, actual) {
        (_, Value::Null) if nullable.contains(&field) => {}
        (Value::Object(e), Value::Object(a)) => {
            let mut want: Vec<&String> = e.keys().collect();
            let mut got: Vec<&String> = a.keys().collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "the fields of {at}: {actual}");
            for (k, v) in e {
                shape(v, &a[k], &format!("{at}.{k}"), nullable);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let Some(first) = e.first() {
                for (i, item) in a.iter().enumerate() {
                    shape(first, item, &format!("{at}[{i}]"), nullable);
                }
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => {}
        _ => panic!("{at} is {actual}, where the document shows {example}"),
    }
}
