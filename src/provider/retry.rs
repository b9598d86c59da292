//! Retrying a request that failed before its first token, as the official SDKs do.
//!
//! Owns the policy: at most [`MAX_RETRIES`] retries, only for connection errors,
//! timeouts before the response, and statuses 408/409/429/5xx (529 included) unless
//! the server says otherwise (`x-should-retry`, or a provider rule such as Anthropic's
//! spend limit); never 400/401/403/404; never after the first token (the partial reply
//! stands with its error). The wait is exponential with jitter (0.5 s doubling, at most
//! 8 s, minus up to 25 %: openai-python and anthropic-sdk-python `_calculate_retry_timeout`)
//! unless the server named one, which is honoured up to [`MAX_WAIT`].
//!
//! The wait is a `tokio::time::sleep` inside the stream, so dropping the stream (Esc)
//! cancels it at once, and paused-clock tests can check the schedule.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, stream};

use super::{ChatRequest, ProviderError, ProviderSpec, ReplyStream, StreamEvent};

/// Retries after the first attempt, unless a request asks for another number.
pub const MAX_RETRIES: u32 = 2;
/// The longest wait honoured, whatever the server asks.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
const INITIAL_WAIT: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Whether a failure before the first token is worth another try.
pub fn is_retryable(error: &ProviderError) -> bool {
    match error {
        ProviderError::Http { status, retry, .. } => match retry.allowed {
            Some(allowed) => allowed && !matches!(status, 400 | 401 | 403 | 404),
            None => matches!(status, 408 | 409 | 429 | 500..=599),
        },
        ProviderError::Connect { .. } | ProviderError::Timeout { .. } => true,
        _ => false,
    }
}

/// How long to wait before retry number `retry` (0 for the first), given the server's
/// hint and `jitter` in `0.0..1.0`.
pub fn delay(retry: u32, hint: Option<Duration>, jitter: f64) -> Duration {
    if let Some(after) = hint {
        return after.min(MAX_WAIT);
    }
    let backoff = INITIAL_WAIT
        .saturating_mul(2u32.saturating_pow(retry))
        .min(MAX_BACKOFF);
    backoff.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

/// A few words on why a request is being retried, for the status line.
pub fn reason(error: &ProviderError) -> String {
    match error {
        ProviderError::Http { status: 429, .. } => "rate limited".to_owned(),
        ProviderError::Http { status: 529, .. } => "overloaded".to_owned(),
        ProviderError::Http { status, .. } => format!("HTTP {status}"),
        ProviderError::Timeout { .. } => "no answer".to_owned(),
        _ => "cannot connect".to_owned(),
    }
}

/// The server's wait hint carried by an error, if any.
fn hint(error: &ProviderError) -> Option<Duration> {
    match error {
        ProviderError::Http { retry, .. } => retry.after,
        _ => None,
    }
}

/// Where a reply stands between two polls.
enum Phase {
    /// About to send; `retries` already made.
    Send {
        retries: u32,
    },
    /// Waiting before sending again.
    Wait {
        retries: u32,
        delay: Duration,
    },
    /// The response is streaming: nothing is retried any more.
    Stream(ReplyStream),
    Done,
}

struct Call {
    client: reqwest::Client,
    provider: ProviderSpec,
    request: ChatRequest,
}

/// Sends `request`, retrying failures before the first token, then streams the reply.
pub fn stream_with_retries(
    client: reqwest::Client,
    provider: ProviderSpec,
    request: ChatRequest,
) -> ReplyStream {
    let call = Arc::new(Call {
        client,
        provider,
        request,
    });
    let steps = stream::unfold(Phase::Send { retries: 0 }, move |phase| {
        let call = Arc::clone(&call);
        async move {
            match phase {
                Phase::Done => None,
                Phase::Send { retries } => {
                    let sent = super::send(&call.client, &call.provider, &call.request).await;
                    Some(match sent {
                        Ok(response) => {
                            let events =
                                super::reply(&call.provider, response, call.request.idle_timeout);
                            (Vec::new(), Phase::Stream(events))
                        }
                        Err(e) if retries < call.request.max_retries && is_retryable(&e) => {
                            let wait = delay(retries, hint(&e), fastrand::f64());
                            tracing::info!(
                                provider = %call.provider.name,
                                error = %e,
                                wait_ms = wait.as_millis(),
                                "retrying"
                            );
                            let event = StreamEvent::Retrying {
                                reason: reason(&e),
                                delay: wait,
                                attempt: retries + 1,
                                of: call.request.max_retries,
                            };
                            (
                                vec![event],
                                Phase::Wait {
                                    retries,
                                    delay: wait,
                                },
                            )
                        }
                        Err(e) => (vec![StreamEvent::Failed(e)], Phase::Done),
                    })
                }
                Phase::Wait { retries, delay } => {
                    tokio::time::sleep(delay).await;
                    Some((
                        Vec::new(),
                        Phase::Send {
                            retries: retries + 1,
                        },
                    ))
                }
                Phase::Stream(mut events) => match events.next().await {
                    Some(event) => {
                        let next = if event.is_terminal() {
                            Phase::Done
                        } else {
                            Phase::Stream(events)
                        };
                        Some((vec![event], next))
                    }
                    None => None,
                },
            }
        }
    });
    Box::pin(steps.flat_map(stream::iter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::RetryHint;

    fn http(status: u16, retry: RetryHint) -> ProviderError {
        ProviderError::Http {
            provider: "p".into(),
            status,
            code: None,
            message: "m".into(),
            hint: None,
            retry,
        }
    }

    #[test]
    fn retryable_statuses_follow_the_sdks() {
        for status in [408, 409, 429, 500, 502, 503, 529] {
            assert!(
                is_retryable(&http(status, RetryHint::default())),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 422] {
            assert!(
                !is_retryable(&http(status, RetryHint::default())),
                "{status}"
            );
        }
    }

    #[test]
    fn the_server_can_forbid_or_allow_a_retry_but_never_for_auth_errors() {
        let no = RetryHint {
            after: None,
            allowed: Some(false),
        };
        let yes = RetryHint {
            after: None,
            allowed: Some(true),
        };
        assert!(!is_retryable(&http(429, no)));
        assert!(is_retryable(&http(418, yes)));
        assert!(!is_retryable(&http(401, yes)));
    }

    #[test]
    fn backoff_doubles_from_half_a_second_with_jitter_and_a_cap() {
        assert_eq!(delay(0, None, 0.0), Duration::from_millis(500));
        assert_eq!(delay(1, None, 0.0), Duration::from_secs(1));
        assert_eq!(delay(1, None, 1.0), Duration::from_millis(750));
        assert_eq!(delay(10, None, 0.0), Duration::from_secs(8));
    }

    #[test]
    fn a_server_hint_is_honoured_up_to_a_minute() {
        assert_eq!(
            delay(0, Some(Duration::from_secs(5)), 0.9),
            Duration::from_secs(5)
        );
        assert_eq!(delay(0, Some(Duration::from_secs(3600)), 0.0), MAX_WAIT);
    }

    #[test]
    fn reasons_are_short_words() {
        assert_eq!(reason(&http(429, RetryHint::default())), "rate limited");
        assert_eq!(reason(&http(529, RetryHint::default())), "overloaded");
        assert_eq!(reason(&http(503, RetryHint::default())), "HTTP 503");
    }
}
