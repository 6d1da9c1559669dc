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
