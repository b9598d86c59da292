//! Why a provider request failed, in words a user can act on.
//!
//! Every variant keeps the provider's own message (protocols.md: "Error messages should
//! contain at least the provider, the HTTP status, the provider's error type or code if
//! present, and the provider's message text") and, where it is known, the fix.

use std::fmt;
use std::time::Duration;

use crate::conversation::Finish;

/// What the server said about retrying a failed request (never shown; it only steers
/// the retry loop).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryHint {
    /// How long the server asked us to wait (`retry-after-ms`, `retry-after`, Gemini's
    /// `RetryInfo.retryDelay`).
    pub after: Option<Duration>,
    /// An explicit yes or no (`x-should-retry`, or a provider-specific rule such as
    /// Anthropic's spend-limit 429, which must not be retried).
    pub allowed: Option<bool>,
}

/// A failed request or stream. `Display` is the one line shown under the reply, printed
/// by `tinychat ask`, and stored as the message's `error` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// The server answered with an error status before any reply text.
    Http {
        provider: String,
        status: u16,
        /// The provider's error type or code (`invalid_api_key`, `rate_limit_exceeded`…).
        code: Option<String>,
        message: String,
        /// What the user can do about it, when known.
        hint: Option<String>,
        /// The server's word on retrying.
        retry: RetryHint,
    },
    /// The provider reported an error inside a stream that had started (status 200).
    Stream {
        provider: String,
        code: Option<String>,
        message: String,
    },
    /// No connection could be made, or it broke without an HTTP response.
    Connect {
        provider: String,
        message: String,
        hint: Option<String>,
    },
    /// The provider ended the reply, but not normally and not at the token limit: a
    /// content filter, a refusal, a tool call tinychat never offered, or a reason this
    /// build does not know. `field` is the provider's name for its reason
    /// (`finish_reason`, `stop_reason`…) and `reason` its value, so nothing the server
    /// said is lost; the text so far stays (spec §3: every ending but `stop` shows).
    Ended {
        provider: String,
        field: &'static str,
        reason: String,
        message: String,
    },
    /// The body ended before the provider's end-of-reply marker.
    Incomplete { provider: String },
    /// No byte arrived for this many seconds.
    Timeout { provider: String, seconds: u64 },
    /// The server sent something that is not the protocol (bad JSON, wrong content).
    Malformed { provider: String, message: String },
    /// The HTTP client itself could not be built.
    Client(String),
    /// An in-process model could not answer (bad file, unsupported model, kernels).
    Local { provider: String, message: String },
}

impl ProviderError {
    /// An in-process model's failure, named by its provider.
    pub(crate) fn local(provider: &str, message: impl Into<String>) -> Self {
        ProviderError::Local {
            provider: provider.to_owned(),
            message: message.into(),
        }
    }

    /// How a reply that ended with this error is recorded (spec §3 `finish`).
    pub fn finish(&self) -> Finish {
        match self {
            ProviderError::Incomplete { .. } => Finish::Incomplete,
            _ => Finish::Error,
        }
    }

    /// The HTTP status, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProviderError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::Http {
                provider,
                status,
                code,
                message,
                hint,
                retry: _,
            } => {
                write!(f, "{provider}: HTTP {status}")?;
                if let Some(code) = code {
                    write!(f, " {code}")?;
                }
                write!(f, ": {message}")?;
                if let Some(hint) = hint {
                    write!(f, " ({hint})")?;
                }
                Ok(())
            }
            ProviderError::Stream {
                provider,
                code,
                message,
            } => {
                write!(f, "{provider}: error during the reply")?;
                if let Some(code) = code {
                    write!(f, " ({code})")?;
                }
                write!(f, ": {message}")
            }
            ProviderError::Connect {
                provider,
                message,
                hint,
            } => {
                write!(f, "{provider}: {message}")?;
                if let Some(hint) = hint {
                    write!(f, " ({hint})")?;
                }
                Ok(())
            }
            ProviderError::Ended {
                provider,
                field,
                reason,
                message,
            } => write!(f, "{provider}: {message} ({field} \"{reason}\")"),
            ProviderError::Incomplete { provider } => write!(
                f,
                "{provider}: the connection ended before the reply was complete"
            ),
            ProviderError::Timeout { provider, seconds } => write!(
                f,
                "{provider}: no data for {seconds} s, gave up waiting (stream_timeout_secs)"
            ),
            ProviderError::Malformed { provider, message } => {
                write!(f, "{provider}: unexpected response: {message}")
            }
            ProviderError::Client(message) => write!(f, "cannot start the HTTP client: {message}"),
            ProviderError::Local { provider, message } => write!(f, "{provider}: {message}"),
        }
    }
}

impl std::error::Error for ProviderError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_names_provider_status_code_message_and_fix() {
        let e = ProviderError::Http {
            provider: "openai".into(),
            status: 401,
            code: Some("invalid_api_key".into()),
            message: "Incorrect API key provided.".into(),
            hint: Some("check OPENAI_API_KEY".into()),
            retry: RetryHint::default(),
        };
        assert_eq!(
            e.to_string(),
            "openai: HTTP 401 invalid_api_key: Incorrect API key provided. (check OPENAI_API_KEY)"
        );
        assert_eq!(e.finish(), Finish::Error);
    }

    #[test]
    fn incomplete_maps_to_incomplete_finish() {
        let e = ProviderError::Incomplete {
            provider: "local".into(),
        };
        assert_eq!(e.finish(), Finish::Incomplete);
    }
}
