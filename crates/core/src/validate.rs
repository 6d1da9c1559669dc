//! Typed inputs. Each constructor says exactly what is wrong with a value so that the API can
//! answer with a message telling the client what to fix.

use serde::Serialize;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

fn bounded_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(ValidationError::new(
            field,
            if min <= 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters long (got {len})")
            },
        ));
    }
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters long (got {len})"),
        ));
    }
    if trimmed.chars().any(|c| c == '\0') {
        return Err(ValidationError::new(
            field,
            "must not contain NUL characters",
        ));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MIN_CHARS: usize = $min;
            pub const MAX_CHARS: usize = $max;

            /// Trims the value and checks its length, reporting problems under `field`.
            pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
                bounded_text(field, value, $min, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_type!(/// A bot's display name.
    BotName, 1, 120);
text_type!(/// A knowledge entry's title.
    SourceTitle, 1, 300);
text_type!(/// Knowledge text: at least 10 characters, as Asyntai requires, at most 2 million.
    TextContent, 10, 2_000_000);
text_type!(/// A curated answer's question (it is also the source's title).
    CuratedQuestion, 1, 300);
text_type!(/// A curated answer, returned verbatim.
    CuratedAnswer, 1, 5_000);
text_type!(/// A visitor's message.
    ChatText, 1, 4_000);
text_type!(/// A client-chosen visitor or session key.
    ExternalId, 1, 128);
text_type!(/// An account's or a key's name.
    Label, 1, 120);
text_type!(/// A bot's greeting or fallback message.
    BotMessage, 1, 2_000);

/// A language tag such as `en`, `fr`, `pt-BR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language(String);

impl Language {
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let v = value.trim();
        let mut parts = v.split(['-', '_']);
        let primary = parts.next().unwrap_or_default();
        let primary_ok =
            (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
        let rest_ok = parts
            .all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if primary_ok && rest_ok {
            Ok(Self(v.replace('_', "-").to_ascii_lowercase()))
        } else {
            Err(ValidationError::new(
                field,
                format!(
                    "`{}` is not a language code; use a code such as `en`, `fr` or `pt-br`",
                    v.chars().take(40).collect::<String>()
                ),
            ))
        }
    }

    /// The primary language subtag (`pt` for `pt-br`).
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or("en")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `http` or `https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(url::Url);

impl HttpUrl {
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let url = url::Url::parse(value.trim()).map_err(|e| {
            ValidationError::new(field, format!("is not a valid absolute URL ({e})"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ValidationError::new(
                field,
                format!("must use http or https, not `{}`", url.scheme()),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ValidationError::new(field, "must name a host"));
        }
        if value.len() > 2048 {
            return Err(ValidationError::new(
                field,
                "must be at most 2048 characters long",
            ));
        }
        Ok(Self(url))
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A web origin (`https://shop.example`, `http://localhost:3000`) in its serialised form, as
/// browsers send it in the `Origin` header: scheme, host and a non-default port, no path.
pub fn origin(field: &str, value: &str) -> Result<String, ValidationError> {
    let url = HttpUrl::parse(field, value)?;
    let url = url.as_url();
    if !(url.path() == "/" || url.path().is_empty()) || url.query().is_some() {
        return Err(ValidationError::new(
            field,
            format!("`{value}` is not an origin: give only scheme, host and port, without a path"),
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// A confidence threshold in [0, 1].
pub fn threshold(field: &str, value: f64) -> Result<f64, ValidationError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            format!("must be a number between 0 and 1 (got {value})"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_serialised_as_browsers_send_them() {
        assert_eq!(
            origin("o", "https://Shop.Example/").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            origin("o", "http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            origin("o", "https://shop.example:443").unwrap(),
            "https://shop.example"
        );
        assert!(origin("o", "https://shop.example/page").is_err());
        assert!(origin("o", "ftp://shop.example").is_err());
    }

    #[test]
    fn content_under_ten_characters_is_refused_with_its_length() {
        let err = TextContent::parse("content", "too short").unwrap_err();
        assert_eq!(err.field, "content");
        assert!(
            err.message.contains("at least 10 characters"),
            "{}",
            err.message
        );
        assert!(err.message.contains("got 9"), "{}", err.message);
    }

    #[test]
    fn text_is_trimmed_before_it_is_measured() {
        assert!(TextContent::parse("content", "   short    ").is_err());
        assert_eq!(BotName::parse("name", "  Acme  ").unwrap().as_str(), "Acme");
    }

    #[test]
    fn an_empty_name_is_refused() {
        let err = BotName::parse("name", "   ").unwrap_err();
        assert_eq!(err.message, "must not be empty");
    }

    #[test]
    fn a_language_code_is_normalised() {
        assert_eq!(
            Language::parse("language", "pt_BR").unwrap().as_str(),
            "pt-br"
        );
        assert_eq!(Language::parse("language", "fr").unwrap().primary(), "fr");
        assert!(Language::parse("language", "english please").is_err());
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(HttpUrl::parse("website_url", "https://example.com").is_ok());
        let err = HttpUrl::parse("website_url", "ftp://example.com").unwrap_err();
        assert!(err.message.contains("http or https"));
        assert!(HttpUrl::parse("website_url", "example.com").is_err());
    }

    #[test]
    fn a_threshold_outside_zero_to_one_is_refused() {
        assert!(threshold("t", 0.4).is_ok());
        assert!(threshold("t", 1.5).is_err());
        assert!(threshold("t", f64::NAN).is_err());
    }
}
