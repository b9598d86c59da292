//! Why a provider request failed, in words a user can act on.
//!
//! Owns [`ProviderError`] (which provider, stated once) and [`Problem`] (what went wrong,
//! one `thiserror` variant per kind of failure, each worded without the provider). Every
//! problem keeps the provider's own message (protocols.md: "Error messages should
//! contain at least the provider, the HTTP status, the provider's error type or code if
//! present, and the provider's message text") and, where it is known, the fix. It must
//! not print or log: the UI, `tinychat ask` and the store show the one line it makes.

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
/// by `tinychat ask`, and stored as the message's `error` string:
/// `"{provider}: {problem}"`, or the bare problem when no provider is named.
///
/// The provider is a field of its own rather than of every [`Problem`] so the line names
/// it exactly once and no problem can forget it. It is `None` only for the HTTP client
/// ([`ProviderError::client`]): one client serves every provider, so there is no honest
/// name to give it, and inventing one would change the line users already see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// The provider's configured name (`openai`, `work-proxy`, `local`…). A `Box<str>`,
    /// not a `String`: the name never grows, and the 8 bytes saved keep this type, which
    /// every provider call returns in a `Result`, under clippy's `result_large_err` limit
    /// of 128 bytes without boxing the problem.
    pub provider: Option<Box<str>>,
    /// What went wrong; code that reacts to a failure (retry, hints) matches on this.
    pub problem: Problem,
}

/// What went wrong, worded without the provider (which [`ProviderError`] adds in front).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The server answered with an error status before any reply text.
    /// Example: `HTTP 401 invalid_api_key: Incorrect API key provided. (check OPENAI_API_KEY)`.
    #[error(
        "HTTP {status}{}: {message}{}",
        Around(" ", code, ""),
        Around(" (", hint, ")")
    )]
    Http {
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
    #[error("error during the reply{}: {message}", Around(" (", code, ")"))]
    Stream {
        code: Option<String>,
        message: String,
    },
    /// No connection could be made, or it broke without an HTTP response.
    #[error("{message}{}", Around(" (", hint, ")"))]
    Connect {
        message: String,
        hint: Option<String>,
    },
    /// The provider ended the reply, but not normally and not at the token limit: a
    /// content filter, a refusal, a tool call tinychat never offered, or a reason this
    /// build does not know. `field` is the provider's name for its reason
    /// (`finish_reason`, `stop_reason`…) and `reason` its value, so nothing the server
    /// said is lost; the text so far stays (spec §3: every ending but `stop` shows).
    #[error("{message} ({field} \"{reason}\")")]
    Ended {
        field: &'static str,
        reason: String,
        message: String,
    },
    /// The body ended before the provider's end-of-reply marker.
    #[error("the connection ended before the reply was complete")]
    Incomplete,
    /// No byte arrived for this many seconds.
    #[error("no data for {seconds} s, gave up waiting (stream_timeout_secs)")]
    Timeout { seconds: u64 },
    /// The server sent something that is not the protocol (bad JSON, wrong content).
    #[error("unexpected response: {message}")]
    Malformed { message: String },
    /// The HTTP client itself could not be built, or a request could not be encoded.
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
    /// An in-process model could not answer (bad file, unsupported model, kernels).
    #[error("{message}")]
    Local { message: String },
}

impl Problem {
    /// This problem, blamed on `provider`: the one way a named error is made, so call
    /// sites read as what went wrong first and whose it is second.
    pub fn at(self, provider: impl Into<String>) -> ProviderError {
        ProviderError {
            provider: Some(provider.into().into_boxed_str()),
            problem: self,
        }
    }
}

impl ProviderError {
    /// The HTTP client could not be built; it serves every provider, so none is named.
    pub(crate) fn client(message: impl Into<String>) -> Self {
        ProviderError {
            provider: None,
            problem: Problem::Client(message.into()),
        }
    }

    /// An in-process model's failure, named by its provider.
    pub(crate) fn local(provider: &str, message: impl Into<String>) -> Self {
        Problem::Local {
            message: message.into(),
        }
        .at(provider)
    }

    /// How a reply that ended with this error is recorded (spec §3 `finish`).
    pub fn finish(&self) -> Finish {
        match self.problem {
            Problem::Incomplete => Finish::Incomplete,
            _ => Finish::Error,
        }
    }

    /// The provider the error is about; `None` for the HTTP client, which serves them
    /// all.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The HTTP status, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self.problem {
            Problem::Http { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// The provider's name is printed here and nowhere else; each [`Problem`] words only
/// what went wrong.
impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(provider) = &self.provider {
            write!(f, "{provider}: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

/// No `source()`: the line already contains the problem's text, and an error reporter
/// that walks the chain would print it twice.
impl std::error::Error for ProviderError {}

/// An optional part of a message (the code, the hint) with the punctuation around it,
/// or nothing when the provider did not send it.
struct Around<'a>(&'static str, &'a Option<String>, &'static str);

impl fmt::Display for Around<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(value) => write!(f, "{}{value}{}", self.0, self.2),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_names_provider_status_code_message_and_fix() {
        let e = Problem::Http {
            status: 401,
            code: Some("invalid_api_key".into()),
            message: "Incorrect API key provided.".into(),
            hint: Some("check OPENAI_API_KEY".into()),
            retry: RetryHint::default(),
        }
        .at("openai");
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
                Problem::Stream {
                    code: Some("server_error".into()),
                    message: "boom".into(),
                }
                .at("groq"),
                "groq: error during the reply (server_error): boom",
            ),
            (
                Problem::Connect {
                    message: "cannot connect to http://127.0.0.1:11434: connection refused".into(),
                    hint: Some("is the server running?".into()),
                }
                .at("ollama"),
                "ollama: cannot connect to http://127.0.0.1:11434: connection refused (is the server running?)",
            ),
            (
                Problem::Ended {
                    field: "finish_reason",
                    reason: "content_filter".into(),
                    message: "the provider's content filter stopped the reply".into(),
                }
                .at("openai"),
                "openai: the provider's content filter stopped the reply (finish_reason \"content_filter\")",
            ),
            (
                Problem::Incomplete.at("anthropic"),
                "anthropic: the connection ended before the reply was complete",
            ),
            (
                Problem::Timeout { seconds: 120 }.at("gemini"),
                "gemini: no data for 120 s, gave up waiting (stream_timeout_secs)",
            ),
            (
                Problem::Malformed {
                    message: "an event is not a JSON object".into(),
                }
                .at("cohere"),
                "cohere: unexpected response: an event is not a JSON object",
            ),
            (
                ProviderError::local("local", "no such model"),
                "local: no such model",
            ),
            (
                ProviderError::client("no TLS"),
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
    fn an_absent_code_or_hint_leaves_no_stray_space_or_brackets() {
        let http = Problem::Http {
            status: 503,
            code: None,
            message: "Service Unavailable".into(),
            hint: None,
            retry: RetryHint::default(),
        }
        .at("mistral");
        assert_eq!(http.to_string(), "mistral: HTTP 503: Service Unavailable");
        assert_eq!(http.status(), Some(503));
        let stream = Problem::Stream {
            code: None,
            message: "overloaded".into(),
        }
        .at("anthropic");
        assert_eq!(
            stream.to_string(),
            "anthropic: error during the reply: overloaded"
        );
        assert_eq!(stream.status(), None);
        let connect = Problem::Connect {
            message: "connection reset".into(),
            hint: None,
        }
        .at("ollama");
        assert_eq!(connect.to_string(), "ollama: connection reset");
    }

    #[test]
    fn a_problem_alone_is_worded_without_any_provider() {
        let error = Problem::Timeout { seconds: 30 }.at("groq");
        assert_eq!(
            error.problem.to_string(),
            "no data for 30 s, gave up waiting (stream_timeout_secs)"
        );
        assert_eq!(error.provider(), Some("groq"));
        assert_eq!(error.provider, Some("groq".into()));
    }

    #[test]
    fn incomplete_maps_to_incomplete_finish() {
        let e = Problem::Incomplete.at("local");
        assert_eq!(e.finish(), Finish::Incomplete);
    }
}
