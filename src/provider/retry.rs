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

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, stream};

use super::{ChatRequest, Problem, ProviderError, ProviderSpec, ReplyStream, StreamEvent};

/// Retries after the first attempt, unless a request asks for another number.
pub const MAX_RETRIES: u32 = 2;
/// The longest wait honoured, whatever the server asks.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
const INITIAL_WAIT: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Whether a failure before the first token is worth another try.
pub fn is_retryable(error: &ProviderError) -> bool {
    match &error.problem {
        Problem::Http { status, retry, .. } => match retry.allowed {
            Some(allowed) => allowed && !matches!(status, 400 | 401 | 403 | 404),
            None => matches!(status, 408 | 409 | 429 | 500..=599),
        },
        Problem::Connect { .. } | Problem::Timeout { .. } => true,
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
    match &error.problem {
        Problem::Http { status: 429, .. } => "rate limited".to_owned(),
        Problem::Http { status: 529, .. } => "overloaded".to_owned(),
        Problem::Http { status, .. } => format!("HTTP {status}"),
        Problem::Timeout { .. } => "no answer".to_owned(),
        _ => "cannot connect".to_owned(),
    }
}

/// The server's wait hint carried by an error, if any.
fn hint(error: &ProviderError) -> Option<Duration> {
    match &error.problem {
        Problem::Http { retry, .. } => retry.after,
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
    let max_retries = request.max_retries;
    let name = provider.name.clone();
    let call = Arc::new(Call {
        client,
        provider,
        request,
    });
    let attempt = move || {
        let call = Arc::clone(&call);
        async move {
            let response = super::send(&call.client, &call.provider, &call.request).await?;
            Ok(super::reply(
                &call.provider,
                response,
                call.request.idle_timeout,
            ))
        }
    };
    retrying(name, max_retries, attempt, fastrand::f64)
}

/// The retry policy over any way of starting a reply: `attempt` either starts the
/// reply's event stream or fails before its first token. Kept apart from HTTP so the
/// schedule can be tested with a paused clock.
fn retrying<A, F>(
    provider: String,
    max_retries: u32,
    attempt: A,
    jitter: fn() -> f64,
) -> ReplyStream
where
    A: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<ReplyStream, ProviderError>> + Send + 'static,
{
    let attempt = Arc::new(attempt);
    let steps = stream::unfold(Phase::Send { retries: 0 }, move |phase| {
        let attempt = Arc::clone(&attempt);
        let provider = provider.clone();
        async move {
            match phase {
                Phase::Done => None,
                Phase::Send { retries } => Some(match attempt().await {
                    Ok(events) => (Vec::new(), Phase::Stream(events)),
                    Err(e) if retries < max_retries && is_retryable(&e) => {
                        let wait = delay(retries, hint(&e), jitter());
                        tracing::info!(
                            provider = %provider,
                            error = %e,
                            wait_ms = wait.as_millis(),
                            "retrying"
                        );
                        let event = StreamEvent::Retrying {
                            reason: reason(&e),
                            delay: wait,
                            attempt: retries + 1,
                            of: max_retries,
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
                }),
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
        Problem::Http {
            status,
            code: None,
            message: "m".into(),
            hint: None,
            retry,
        }
        .at("p")
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

    type Attempt =
        std::pin::Pin<Box<dyn Future<Output = Result<ReplyStream, ProviderError>> + Send>>;
    type Calls = Arc<std::sync::Mutex<Vec<tokio::time::Instant>>>;

    /// Attempts that play a script: each call takes the next outcome and notes the
    /// (paused-clock) time it was made.
    fn scripted(
        outcomes: Vec<Result<Vec<StreamEvent>, ProviderError>>,
    ) -> (impl Fn() -> Attempt + Send + Sync + 'static, Calls) {
        let script = Arc::new(std::sync::Mutex::new(outcomes.into_iter()));
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&calls);
        let attempt = move || {
            seen.lock().unwrap().push(tokio::time::Instant::now());
            let next = script.lock().unwrap().next();
            let outcome: Result<ReplyStream, ProviderError> = match next {
                Some(Ok(events)) => Ok(Box::pin(stream::iter(events))),
                Some(Err(e)) => Err(e),
                None => Err(ProviderError::client("script ran out")),
            };
            Box::pin(async move { outcome }) as std::pin::Pin<Box<dyn Future<Output = _> + Send>>
        };
        (attempt, calls)
    }

    fn no_jitter() -> f64 {
        0.0
    }

    fn offsets(calls: &[tokio::time::Instant]) -> Vec<Duration> {
        calls.iter().map(|t| t.duration_since(calls[0])).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_backoff_schedule_is_half_a_second_then_one() {
        let busy = || Err(http(503, RetryHint::default()));
        let (attempt, calls) = scripted(vec![busy(), busy(), busy()]);
        let events: Vec<_> = retrying("p".into(), 2, attempt, no_jitter).collect().await;
        assert_eq!(
            offsets(&calls.lock().unwrap()),
            [
                Duration::ZERO,
                Duration::from_millis(500),
                Duration::from_millis(1500)
            ]
        );
        assert_eq!(events.len(), 3);
        assert!(matches!(
            events[2],
            StreamEvent::Failed(ProviderError {
                problem: Problem::Http { status: 503, .. },
                ..
            })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_servers_wait_is_honoured_and_capped_at_a_minute() {
        let after = |secs| {
            Err(http(
                429,
                RetryHint {
                    after: Some(Duration::from_secs(secs)),
                    allowed: None,
                },
            ))
        };
        let (attempt, calls) = scripted(vec![
            after(5),
            after(3600),
            Ok(vec![StreamEvent::Finished(
                crate::conversation::Finish::Stop,
            )]),
        ]);
        let events: Vec<_> = retrying("p".into(), 2, attempt, no_jitter).collect().await;
        assert_eq!(
            offsets(&calls.lock().unwrap()),
            [
                Duration::ZERO,
                Duration::from_secs(5),
                Duration::from_secs(65)
            ]
        );
        assert_eq!(
            events.last(),
            Some(&StreamEvent::Finished(crate::conversation::Finish::Stop))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_401_is_final_at_once() {
        let (attempt, calls) = scripted(vec![Err(http(401, RetryHint::default()))]);
        let events: Vec<_> = retrying("p".into(), 2, attempt, no_jitter).collect().await;
        assert_eq!(calls.lock().unwrap().len(), 1);
        assert!(matches!(events[..], [StreamEvent::Failed(_)]));
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_retried_once_text_arrived() {
        let cut = Problem::Incomplete.at("p");
        let (attempt, calls) = scripted(vec![Ok(vec![
            StreamEvent::Delta("Hel".into()),
            StreamEvent::Failed(cut.clone()),
        ])]);
        let events: Vec<_> = retrying("p".into(), 2, attempt, no_jitter).collect().await;
        assert_eq!(calls.lock().unwrap().len(), 1);
        assert_eq!(
            events,
            [StreamEvent::Delta("Hel".into()), StreamEvent::Failed(cut)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_stream_during_the_wait_cancels_the_retry() {
        let busy = || Err(http(503, RetryHint::default()));
        let (attempt, calls) = scripted(vec![busy(), busy()]);
        let mut events = retrying("p".into(), 2, attempt, no_jitter);
        assert!(matches!(
            events.next().await,
            Some(StreamEvent::Retrying { attempt: 1, .. })
        ));
        drop(events);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(calls.lock().unwrap().len(), 1);
    }

    #[test]
    fn reasons_are_short_words() {
        assert_eq!(reason(&http(429, RetryHint::default())), "rate limited");
        assert_eq!(reason(&http(529, RetryHint::default())), "overloaded");
        assert_eq!(reason(&http(503, RetryHint::default())), "HTTP 503");
    }
}
