//! Loading the configuration: defaults, then `sitechat.toml` (or the file given), then
//! `SITECHAT_*` environment variables, then command-line flags.

use std::path::Path;

use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};
use sitechat_core::config::Config;

/// Values given on the command line; they override everything else.
#[derive(Debug, Default, serde::Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

/// Reads the configuration. A missing default file is fine; a named file that is missing, or any
/// value of the wrong form, is an error that names the key.
pub fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
    let mut figment = Figment::new();
    match file {
        Some(path) => {
            anyhow::ensure!(
                path.exists(),
                "configuration file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        None => figment = figment.merge(Toml::file("sitechat.toml")),
    }
    let figment = figment
        .merge(
            Env::prefixed("SITECHAT_")
                .map(|key| key.as_str().to_ascii_lowercase().into())
                .split("__"),
        )
        .merge(Serialized::defaults(overrides));
    // Lists from the environment come as comma-separated strings.
    let figment = match std::env::var("SITECHAT_CORS_ORIGINS") {
        Ok(origins) => figment.merge(Serialized::default(
            "cors_origins",
            origins
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>(),
        )),
        Err(_) => figment,
    };
    figment
        .extract::<Config>()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}
