//! The API key: read from a named environment variable, shown to nobody.
use std::borrow::Cow;
use std::fmt;

use crate::LlmError;

/// What replaces the key wherever a text might contain it.
pub const REDACTED: &str = "[REDACTED]";

/// An API key. Its `Debug` prints [`REDACTED`]; it has no `Display` and no `Serialize`, and its
/// value is readable only inside this crate (to build the `Authorization` header).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Reads the key from the environment variable named `var`. An unset, empty or non-UTF-8
    /// variable is [`LlmError::MissingApiKey`], which names the variable, never a value.
    pub fn from_env(var: &str) -> Result<Self, LlmError> {
        match std::env::var(var) {
            Ok(value) if !value.trim().is_empty() => Ok(Secret(value.trim().to_owned())),
            _ => Err(LlmError::MissingApiKey { var: var.to_owned() }),
        }
    }

    /// The `Authorization` header value.
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// `text` with every occurrence of the key replaced by [`REDACTED`].
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if text.contains(&self.0) { Cow::Owned(text.replace(&self.0, REDACTED)) } else { Cow::Borrowed(text) }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

/// Scrubs `text` when there is a key, else returns it unchanged.
pub(crate) fn scrub<'a>(secret: Option<&Secret>, text: &'a str) -> Cow<'a, str> {
    secret.map_or(Cow::Borrowed(text), |s| s.scrub(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_scrub_hide_the_value() {
        let secret = Secret("sk-test-123".to_owned());
        assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
        assert_eq!(secret.scrub("got Bearer sk-test-123!"), "got Bearer [REDACTED]!");
        assert!(matches!(secret.scrub("nothing here"), Cow::Borrowed(_)));
        assert_eq!(secret.bearer(), "Bearer sk-test-123");
    }

    #[test]
    fn a_missing_variable_is_named() {
        let var = "PLSE_LLM_TEST_SURELY_UNSET_3F9A";
        let err = Secret::from_env(var).unwrap_err();
        assert!(matches!(&err, LlmError::MissingApiKey { var: v } if v == var));
        assert!(err.to_string().contains(var));
    }
}
