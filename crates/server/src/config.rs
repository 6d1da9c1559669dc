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
        // SITECHAT_LOG (the log filter), SITECHAT_SERVER and SITECHAT_API_KEY (client commands)
        // are not server settings.
        .merge(
            Env::prefixed("SITECHAT_")
                .ignore(&["log", "server", "api_key"])
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

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail returns its own large error type.
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_environment_which_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "sitechat.toml",
                "bind = \"127.0.0.1:7000\"\ndata_dir = \"/from/file\"\nmax_body_bytes = 1000\n[crawl]\nmax_pages = 7\n",
            )?;
            jail.set_env("SITECHAT_DATA_DIR", "/from/env");
            jail.set_env("SITECHAT_CRAWL__DELAY_MS", "5");
            jail.set_env(
                "SITECHAT_CORS_ORIGINS",
                "https://a.example, https://b.example",
            );
            jail.set_env("SITECHAT_LOG", "debug");
            let config = load(
                None,
                Overrides {
                    bind: Some("127.0.0.1:9000".into()),
                    data_dir: None,
                },
            )
            .unwrap();
            assert_eq!(config.bind.to_string(), "127.0.0.1:9000");
            assert_eq!(config.data_dir, std::path::PathBuf::from("/from/env"));
            assert_eq!(config.max_body_bytes, 1000);
            assert_eq!(config.crawl.max_pages, 7);
            assert_eq!(config.crawl.delay_ms, 5);
            assert_eq!(
                config.cors_origins,
                ["https://a.example", "https://b.example"]
            );
            Ok(())
        });
    }

    #[test]
    fn an_unknown_or_malformed_setting_names_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SITECHAT_BIND", "not-an-address");
            let err = load(None, Overrides::default())
                .unwrap_err()
                .to_string()
                .to_lowercase();
            assert!(err.contains("bind"), "{err}");
            jail.set_env("SITECHAT_BIND", "127.0.0.1:1");
            jail.set_env("SITECHAT_RATE_LIMIT", "false");
            let err = load(None, Overrides::default())
                .unwrap_err()
                .to_string()
                .to_lowercase();
            assert!(err.contains("rate_limit"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_named_file_must_exist() {
        let err = load(
            Some(Path::new("/nonexistent/sitechat.toml")),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
