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

    /// The provider the error is about; `None` for the HTTP client, which serves them
    /// all.
    pub fn provider(&self) -> Option<&str> {
        match self {
            ProviderError::Http { provider, .. }
            | ProviderError::Stream { provider, .. }
            | ProviderError::Connect { provider, .. }
            | ProviderError::Ended { provider, .. }
            | ProviderError::Incomplete { provider }
            | ProviderError::Timeout { provider, .. }
            | ProviderError::Malformed { provider, .. }
            | ProviderError::Local { provider, .. } => Some(provider),
            ProviderError::Client(_) => None,
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

/// The line starts with the provider's name, stated here once for every variant that
/// has one; each arm words only what went wrong.
impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(provider) = self.provider() {
            write!(f, "{provider}: ")?;
        }
        match self {
            ProviderError::Http {
                status,
                code,
                message,
                hint,
                ..
            } => {
                write!(f, "HTTP {status}")?;
                if let Some(code) = code {
                    write!(f, " {code}")?;
                }
                write!(f, ": {message}")?;
                if let Some(hint) = hint {
                    write!(f, " ({hint})")?;
                }
                Ok(())
            }
            ProviderError::Stream { code, message, .. } => {
                write!(f, "error during the reply")?;
                if let Some(code) = code {
                    write!(f, " ({code})")?;
                }
                write!(f, ": {message}")
            }
            ProviderError::Connect { message, hint, .. } => {
                write!(f, "{message}")?;
                if let Some(hint) = hint {
                    write!(f, " ({hint})")?;
                }
                Ok(())
            }
            ProviderError::Ended {
                field,
                reason,
                message,
                ..
            } => write!(f, "{message} ({field} \"{reason}\")"),
            ProviderError::Incomplete { .. } => {
                write!(f, "the connection ended before the reply was complete")
            }
            ProviderError::Timeout { seconds, .. } => write!(
                f,
                "no data for {seconds} s, gave up waiting (stream_timeout_secs)"
            ),
            ProviderError::Malformed { message, .. } => {
                write!(f, "unexpected response: {message}")
            }
            ProviderError::Client(message) => write!(f, "cannot start the HTTP client: {message}"),
            ProviderError::Local { message, .. } => write!(f, "{message}"),
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
    fn every_line_names_the_provider_once_and_the_client_error_none() {
        let cases = [
            (
                ProviderError::Stream {
                    provider: "groq".into(),
                    code: Some("server_error".into()),
                    message: "boom".into(),
                },
                "groq: error during the reply (server_error): boom",
            ),
            (
                ProviderError::Connect {
                    provider: "ollama".into(),
                    message: "cannot connect to http://127.0.0.1:11434: connection refused".into(),
                    hint: Some("is the server running?".into()),
                },
                "ollama: cannot connect to http://127.0.0.1:11434: connection refused (is the server running?)",
            ),
            (
                ProviderError::Ended {
                    provider: "openai".into(),
                    field: "finish_reason",
                    reason: "content_filter".into(),
                    message: "the provider's content filter stopped the reply".into(),
                },
                "openai: the provider's content filter stopped the reply (finish_reason \"content_filter\")",
            ),
            (
                ProviderError::Incomplete {
                    provider: "anthropic".into(),
                },
                "anthropic: the connection ended before the reply was complete",
            ),
            (
                ProviderError::Timeout {
                    provider: "gemini".into(),
                    seconds: 120,
                },
                "gemini: no data for 120 s, gave up waiting (stream_timeout_secs)",
            ),
            (
                ProviderError::Malformed {
                    provider: "cohere".into(),
                    message: "an event is not a JSON object".into(),
                },
                "cohere: unexpected response: an event is not a JSON object",
            ),
            (
                ProviderError::local("local", "no such model"),
                "local: no such model",
            ),
            (
                ProviderError::Client("no TLS".into()),
                "cannot start the HTTP client: no TLS",
            ),
        ];
        for (error, line) in cases {
            assert_eq!(error.to_string(), line);
            assert_eq!(
                error.provider(),
                line.split_once(": ")
                    .map(|(name, _)| name)
                    .filter(|name| !name.contains(' '))
            );
        }
    }

    #[test]
    fn incomplete_maps_to_incomplete_finish() {
        let e = ProviderError::Incomplete {
            provider: "local".into(),
        };
        assert_eq!(e.finish(), Finish::Incomplete);
    }
}
