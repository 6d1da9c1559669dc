//! Commands that talk to a running sitechat server over its HTTP API, so they never fight the
//! server for the database or the indexes.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

/// Where the server is and which key to use.
#[derive(Clone)]
pub struct Client {
    base: String,
    key: String,
    http: reqwest::Client,
}

/// A response as it came, for [`Client::post_raw`].
pub struct RawResponse {
    pub status: reqwest::StatusCode,
    /// `Retry-After`, in seconds, when the server sent it.
    pub retry_after: Option<u64>,
    pub body: Value,
}

impl Client {
    /// The key comes from `--key`, else `SITECHAT_API_KEY`, else `<data_dir>/admin-key.txt`.
    pub fn new(server: &str, key: Option<String>, data_dir: &Path) -> anyhow::Result<Self> {
        let key = match key {
            Some(k) => k,
            None => std::fs::read_to_string(data_dir.join("admin-key.txt"))
                .map(|k| k.trim().to_owned())
                .with_context(|| {
                    format!(
                        "no API key: pass --key, set SITECHAT_API_KEY, or run next to the server's data directory ({} has no admin-key.txt)",
                        data_dir.display()
                    )
                })?,
        };
        Ok(Self {
            base: server.trim_end_matches('/').to_owned(),
            key,
            http: reqwest::Client::new(),
        })
    }

    /// The server's base URL, as given.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A POST whose outcome the caller judges: the status, the `Retry-After` header in seconds,
    /// and the JSON body (`Null` when it is not JSON). An error only when no response came.
    pub async fn post_raw(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<RawResponse, reqwest::Error> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .timeout(timeout)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let text = response.text().await?;
        Ok(RawResponse {
            status,
            retry_after,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let message = body["error"]["message"].as_str().unwrap_or("no details");
            bail!("the server answered {status}: {message}");
        }
        Ok(body)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn patch(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// Starts (or restarts) a training and, with `wait`, follows it with a progress bar.
    pub async fn train(&self, bot: &str, force: bool, wait: bool) -> anyhow::Result<()> {
        let job = self
            .post(
                &format!("/v1/bots/{bot}/retrain"),
                json!({"force_retrain": force}),
            )
            .await?;
        let id = job["id"]
            .as_str()
            .context("the server did not return a job id")?
            .to_owned();
        println!("training job {id} queued");
        if wait {
            self.follow(&id).await?;
        }
        Ok(())
    }

    /// Follows a job until it ends, drawing its progress.
    pub async fn follow(&self, job: &str) -> anyhow::Result<()> {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} pages  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        loop {
            let j = self.get(&format!("/v1/jobs/{job}")).await?;
            let n = |k: &str| j[k].as_u64().unwrap_or(0);
            bar.set_length(n("pages_discovered").max(1));
            bar.set_position(n("pages_fetched") + n("pages_skipped"));
            bar.set_message(format!(
                "{} indexed, {} unchanged, {} skipped, {} chunks",
                n("pages_indexed"),
                n("pages_unchanged"),
                n("pages_skipped"),
                n("chunks_created")
            ));
            match j["state"].as_str() {
                Some("queued" | "running") => bar.tick(),
                Some(state) => {
                    bar.finish();
                    println!("job {job} {state}");
                    if let Some(error) = j["error"].as_str() {
                        println!("  {error}");
                    }
                    for skip in j["skipped"].as_array().into_iter().flatten().take(20) {
                        println!(
                            "  skipped {} ({})",
                            skip["url"].as_str().unwrap_or(""),
                            skip["message"].as_str().unwrap_or("")
                        );
                    }
                    if state != "succeeded" {
                        bail!("the training did not succeed");
                    }
                    return Ok(());
                }
                None => bail!("unexpected job: {j}"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Adds a URL (one page, or with `crawl` the whole site) or a file to a bot's knowledge.
    pub async fn ingest(&self, bot: &str, target: &str, crawl: bool) -> anyhow::Result<()> {
        if target.starts_with("http://") || target.starts_with("https://") {
            if crawl {
                self.patch(&format!("/v1/bots/{bot}"), json!({"website_url": target}))
                    .await?;
                return self.train(bot, false, true).await;
            }
            let spinner = ProgressBar::new_spinner();
            spinner.set_message(format!("fetching {target}"));
            spinner.enable_steady_tick(Duration::from_millis(120));
            let added = self
                .post(
                    &format!("/v1/bots/{bot}/sources/url"),
                    json!({"url": target}),
                )
                .await;
            spinner.finish_and_clear();
            let added = added?;
            println!(
                "{}\t{}\t{} chunks",
                added["id"].as_str().unwrap_or(""),
                added["title"].as_str().unwrap_or(""),
                added["chunks_created"]
            );
            return Ok(());
        }
        let path = PathBuf::from(target);
        let bytes = tokio::fs::read(&path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("upload")
            .to_owned();
        let lower = name.to_ascii_lowercase();
        let endpoint = if lower.ends_with(".csv") || lower.ends_with(".xlsx") {
            "spreadsheet"
        } else {
            "file"
        };
        let bar = ProgressBar::new(bytes.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("uploading {msg} {bar:32} {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(name.clone());
        let total = bytes.len() as u64;
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name);
        let form = reqwest::multipart::Form::new().part("file", part);
        let added = self
            .send(
                self.http
                    .post(format!("{}/v1/bots/{bot}/sources/{endpoint}", self.base))
                    .multipart(form),
            )
            .await;
        bar.set_position(total);
        bar.finish_and_clear();
        let added = added?;
        print!(
            "{}\t{}\t{} chunks",
            added["id"].as_str().unwrap_or(""),
            added["title"].as_str().unwrap_or(""),
            added["chunks_created"]
        );
        if let Some(rows) = added["rows_processed"].as_u64() {
            print!(
                "\t{rows} of {} rows{}",
                added["total_rows"],
                if added["truncated"] == true {
                    " (truncated by the plan)"
                } else {
                    ""
                }
            );
        }
        println!();
        Ok(())
    }
}
