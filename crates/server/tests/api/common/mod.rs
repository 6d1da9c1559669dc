//! The test harness: a real sitechat server on an ephemeral loopback port with its own temporary
//! data directory, and a small HTTP client around it.

#![allow(dead_code)]

pub mod receiver;
pub mod site;

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sitechat_core::config::Config;
use sitechat_server::Server;

pub const ADMIN_KEY: &str = "sk_test_operator_0123456789abcdef";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin_key: String,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    server: Option<Server>,
    config: Config,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    /// The error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or("<no error message>")
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with a changed configuration.
    pub async fn start_with(change: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            admin_key: Some(ADMIN_KEY.to_owned().into()),
            ..Config::default()
        };
        change(&mut config);
        let server = Server::start(config.clone()).await.expect("server starts");
        TestApp {
            base: format!("http://{}", server.addr()),
            client: reqwest::Client::new(),
            admin_key: ADMIN_KEY.to_owned(),
            data_dir: dir.path().to_path_buf(),
            _dir: Some(dir),
            server: Some(server),
            config,
        }
    }

    /// The running server's state (for what no route exposes, such as backdating).
    pub fn state(&self) -> &sitechat_server::state::AppState {
        self.server.as_ref().expect("the server runs").state()
    }

    /// Stops the server gracefully.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stops");
        }
    }

    /// Stops the server and starts a new one on the same data directory.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Starts a server again on the same data directory (after [`stop`]).
    pub async fn start_again(&mut self) {
        let server = Server::start(self.config.clone())
            .await
            .expect("server restarts");
        self.base = format!("http://{}", server.addr());
        self.server = Some(server);
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::read(request.send().await.expect("request sent")).await
    }

    pub async fn read(response: reqwest::Response) -> Response {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.request(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(key), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(key), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, key: &str) -> Response {
        self.request(Method::DELETE, path, Some(key), None).await
    }

    /// Creates a tenant and returns its admin key.
    pub async fn create_account(&self, plan: &str) -> String {
        let r = self
            .post(
                "/v1/accounts",
                &self.admin_key,
                json!({"name": format!("{plan} tenant"), "plan": plan}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["api_key"].as_str().unwrap().to_owned()
    }

    /// Invites `email` as `role` with `key` and joins with `name` and `password`: the response
    /// that signs the new person in (its cookie and CSRF token).
    pub async fn join(
        &self,
        key: &str,
        email: &str,
        role: &str,
        name: &str,
        password: &str,
    ) -> Response {
        let link = self
            .post(
                "/v1/users/invitations",
                key,
                json!({"email": email, "role": role}),
            )
            .await;
        assert_eq!(link.status, StatusCode::CREATED, "{}", link.text);
        let token = link.body["token"].as_str().unwrap();
        assert_eq!(link.body["path"], format!("/dashboard/join/{token}"));
        let joined = self
            .request(
                Method::POST,
                &format!("/v1/invitations/{token}"),
                None,
                Some(json!({"name": name, "password": password})),
            )
            .await;
        assert_eq!(joined.status, StatusCode::CREATED, "{}", joined.text);
        joined
    }

    pub async fn create_bot(&self, key: &str, name: &str) -> String {
        let r = self.post("/v1/bots", key, json!({"name": name})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Adds a text source and returns its id.
    pub async fn add_text(&self, key: &str, bot: &str, title: &str, content: &str) -> String {
        let r = self
            .post(
                &format!("/v1/bots/{bot}/sources/text"),
                key,
                json!({"title": title, "content": content}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn chat(&self, key: &str, bot: &str, body: Value) -> Response {
        self.post(&format!("/v1/bots/{bot}/chat"), key, body).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // A server still running is torn down with the test's runtime; the temp dir goes after.
        self.server.take();
    }
}

/// A small help-centre text used across tests.
pub const SHOP_FAQ: &str = "# Opening hours\n\nOur shop in Lyon is open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 4pm. We are closed on Sundays and public holidays.\n\n# Returns\n\nYou can return any unused item within 30 days of delivery for a full refund. Refunds are paid to the original card within 5 business days.\n\n# Shipping\n\nWe ship to every country in the European Union. Standard delivery takes 3 to 5 working days and is free for orders over 50 euros.";

/// The events of a server-sent event stream: (event name, data as JSON).
pub fn events(body: &str) -> Vec<(String, serde_json::Value)> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.strip_prefix(' ').unwrap_or(d));
                }
            }
            (
                name,
                serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            )
        })
        .collect()
}
