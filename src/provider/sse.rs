//! Server-sent events from a response body, via eventsource-stream, with an idle timeout.
//!
//! Owns: turning a stream of body bytes into SSE [`Event`]s (framing, comments, CRLF,
//! UTF-8 split across chunks: all done by eventsource-stream, protocols.md §0), timing
//! out when no byte arrives, and mapping what can go wrong below the protocol to a
//! [`ProviderError`]. Every SSE provider (OpenAI-compatible now; Anthropic, Gemini and
//! Cohere later) reads its body through [`events`].
//!
//! Must not: parse SSE by hand, interpret event payloads (that is each provider's job),
//! or decide whether a reply is complete: eventsource-stream silently drops an event cut
//! off at EOF, so only the provider's own end marker can say so.

use std::error::Error as StdError;
use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};

pub(crate) use eventsource_stream::Event;

use super::http::{error_fields, redact, root_cause};
use super::{ProviderError, ProviderSpec, ReplyStream, StreamEvent};

/// Why a body stopped producing events, below the level of the provider's protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SseError {
    /// No byte arrived for this long.
    Idle(Duration),
    /// The connection broke mid-body; the cause in plain words.
    Transport(String),
    /// The body is not valid UTF-8.
    Utf8(String),
    /// The body is not an event stream.
    Parse(String),
}

impl SseError {
    /// The user-facing error: a broken connection is an incomplete reply (the end
    /// marker never came, spec §3), silence is a timeout, bad bytes are malformed.
    pub(crate) fn into_provider_error(self, provider: &str) -> ProviderError {
        let provider = provider.to_owned();
        match self {
            SseError::Idle(idle) => ProviderError::Timeout {
                provider,
                seconds: whole_seconds(idle),
            },
            SseError::Transport(_) => ProviderError::Incomplete { provider },
            SseError::Utf8(message) | SseError::Parse(message) => {
                ProviderError::Malformed { provider, message }
            }
        }
    }
}

/// Seconds for display, rounded up so a sub-second timeout never reads "0 s".
pub(crate) fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// An event stream that is `Send` and owns its body: dropping it drops the connection.
pub(crate) type SseStream = Pin<Box<dyn Stream<Item = Result<Event, SseError>> + Send>>;

/// How one provider reads its event stream: what an event means, what a broken or
/// silent body means, and what the end of the body means. [`drive`] owns the loop.
pub(crate) trait EventReader: Send + 'static {
    /// The provider's name, for errors and logs.
    fn provider(&self) -> &str;
    /// The events one SSE event yields; a terminal event, if any, comes last.
    fn on_event(&mut self, event: &Event) -> Vec<StreamEvent>;
    /// The body broke or went silent before the end.
    fn on_error(&self, error: SseError) -> StreamEvent {
        StreamEvent::Failed(error.into_provider_error(self.provider()))
    }
    /// The body ended: finished if the provider's end marker came, else incomplete.
    fn on_end(&self) -> StreamEvent;
}

/// Reads `events` with `reader` and ends right after the terminal event, dropping the
/// body (and so the connection) at that moment: nothing after an end marker is waited
/// for.
pub(crate) fn drive<R: EventReader>(events: SseStream, reader: R) -> ReplyStream {
    let started = std::time::Instant::now();
    let batches = futures_util::stream::unfold(Some((events, reader)), move |state| async move {
        let (mut events, mut reader) = state?;
        let out = match events.next().await {
            Some(Ok(event)) => reader.on_event(&event),
            Some(Err(e)) => vec![reader.on_error(e)],
            None => vec![reader.on_end()],
        };
        if let Some(last) = out.last().filter(|e| e.is_terminal()) {
            tracing::debug!(
                provider = %reader.provider(),
                elapsed_ms = started.elapsed().as_millis(),
                outcome = ?last,
                "reply ended"
            );
            return Some((out, None));
        }
        Some((out, Some((events, reader))))
    });
    Box::pin(batches.flat_map(futures_util::stream::iter))
}

/// The reply of a successful response, read with `reader`. A 2xx JSON body where an
/// event stream was asked for is no reply: a gateway reporting an error that way, or a
/// server that ignored `stream: true` (Gemini, when `alt=sse` was lost, sends a JSON
/// array). Every failure arrives as the terminal `Failed` event; the stream owns the
/// body, so dropping it closes the connection.
pub(crate) fn reply<R: EventReader>(
    provider: &ProviderSpec,
    response: reqwest::Response,
    idle: Duration,
    reader: R,
) -> ReplyStream {
    let is_json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !is_json {
        return drive(events(response.bytes_stream(), idle), reader);
    }
    let provider = provider.clone();
    Box::pin(futures_util::stream::once(async move {
        StreamEvent::Failed(json_instead_of_stream(&provider, response, idle).await)
    }))
}

/// The error a JSON body stands for: the provider's own error when it holds one (its
/// `status`, Gemini's RPC code, names it when present), else "not a stream".
async fn json_instead_of_stream(
    provider: &ProviderSpec,
    response: reqwest::Response,
    idle: Duration,
) -> ProviderError {
    let Ok(Ok(body)) = tokio::time::timeout(idle, response.bytes()).await else {
        return ProviderError::Incomplete {
            provider: provider.name.clone(),
        };
    };
    let value = serde_json::from_slice::<serde_json::Value>(&body).ok();
    let status = value
        .as_ref()
        .and_then(|v| v.get("error")?.get("status")?.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    match value.as_ref().and_then(|v| error_fields(v, None)) {
        Some((code, message)) => ProviderError::Stream {
            provider: provider.name.clone(),
            code: status.or(code),
            message: redact(provider, &message),
        },
        None => ProviderError::Malformed {
            provider: provider.name.clone(),
            message: "expected an event stream, got a JSON body".to_owned(),
        },
    }
}

/// The most bytes handed to eventsource-stream at once. Its parser copies the rest of its
/// buffer after every line (eventsource-stream 0.2.3 `parse_event`: `split_off` per line),
/// so its cost is quadratic in the size of the chunk it is given: a 3.6 MB burst from a
/// fast server cost 18× for 10× the tokens. Feeding it small pieces keeps the buffer
/// short and the total cost linear in the body length.
const PIECE: usize = 1024;

/// Decodes `body` as server-sent events. Each wait for the next chunk of bytes is
/// bounded by `idle`, so keepalive comments (which produce no event) still count as
/// life. After an error the stream ends.
pub(crate) fn events<S, B, E>(body: S, idle: Duration) -> SseStream
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: StdError + 'static,
{
    let bytes = idle_limited(body, idle).flat_map(|item| {
        let pieces: Vec<Result<Vec<u8>, SseError>> = match item {
            Ok(chunk) => chunk
                .as_ref()
                .chunks(PIECE)
                .map(|piece| Ok(piece.to_vec()))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(pieces)
    });
    Box::pin(bytes.eventsource().scan(false, |failed, item| {
        let out = if *failed {
            None
        } else {
            *failed = item.is_err();
            Some(item.map_err(|e| match e {
                EventStreamError::Transport(t) => t,
                EventStreamError::Utf8(e) => {
                    SseError::Utf8(format!("the event stream is not valid UTF-8: {e}"))
                }
                EventStreamError::Parser(e) => {
                    SseError::Parse(format!("the event stream cannot be parsed: {e}"))
                }
            }))
        };
        futures_util::future::ready(out)
    }))
}

/// What [`idle_limited`] carries between polls.
struct Body<S> {
    inner: Pin<Box<S>>,
    idle: Duration,
    bytes: usize,
    chunks: usize,
    ended: bool,
}

/// Wraps the body so that no chunk within `idle` becomes an error, transport errors
/// become plain words, and the byte count is logged when the body ends. Also used by
/// Ollama's NDJSON reader, which needs the same per-chunk timeout without SSE framing.
pub(crate) fn idle_limited<S, B, E>(
    body: S,
    idle: Duration,
) -> impl Stream<Item = Result<B, SseError>> + Send
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: StdError + 'static,
{
    let state = Body {
        inner: Box::pin(body),
        idle,
        bytes: 0,
        chunks: 0,
        ended: false,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        if s.ended {
            return None;
        }
        match tokio::time::timeout(s.idle, s.inner.next()).await {
            Ok(Some(Ok(chunk))) => {
                s.bytes += chunk.as_ref().len();
                s.chunks += 1;
                Some((Ok(chunk), s))
            }
            Ok(Some(Err(e))) => {
                let cause = root_cause(&e);
                tracing::debug!(bytes = s.bytes, chunks = s.chunks, %cause, "body broke off");
                s.ended = true;
                Some((Err(SseError::Transport(cause)), s))
            }
            Ok(None) => {
                tracing::debug!(bytes = s.bytes, chunks = s.chunks, "body ended");
                None
            }
            Err(_) => {
                tracing::debug!(
                    bytes = s.bytes,
                    chunks = s.chunks,
                    idle_ms = s.idle.as_millis(),
                    "body idle"
                );
                s.ended = true;
                Some((Err(SseError::Idle(s.idle)), s))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn chunks(parts: &[&'static [u8]]) -> Vec<Result<&'static [u8], std::io::Error>> {
        parts.iter().map(|p| Ok(*p)).collect()
    }

    async fn collect(s: SseStream) -> Vec<Result<(String, String), SseError>> {
        s.map(|r| r.map(|e| (e.event, e.data))).collect().await
    }

    #[tokio::test]
    async fn events_split_across_chunks_and_comments_are_dropped() {
        let body = futures_util::stream::iter(chunks(&[
            b": OPENROUTER PROCESSING\n\nda",
            b"ta:{\"a\":\xc3",
            b"\xa7}\r",
            b"\n\r\nevent: keepalive\ndata: x\n\n",
        ]));
        let got = collect(events(body, Duration::from_secs(5))).await;
        assert_eq!(
            got,
            vec![
                Ok(("message".to_owned(), "{\"a\":ç}".to_owned())),
                Ok(("keepalive".to_owned(), "x".to_owned())),
            ]
        );
    }

    #[tokio::test]
    async fn invalid_utf8_is_an_error_and_ends_the_stream() {
        let body = futures_util::stream::iter(chunks(&[b"data: \xff\xfe\n\n", b"data: ok\n\n"]));
        let got = collect(events(body, Duration::from_secs(5))).await;
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0], Err(SseError::Utf8(_))), "{got:?}");
    }

    #[tokio::test]
    async fn transport_error_ends_the_stream_with_its_cause() {
        let body = futures_util::stream::iter(vec![
            Ok(&b"data: a\n\n"[..]),
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            Ok(&b"data: b\n\n"[..]),
        ]);
        let got = collect(events(body, Duration::from_secs(5))).await;
        assert_eq!(
            got,
            vec![
                Ok(("message".to_owned(), "a".to_owned())),
                Err(SseError::Transport(
                    "connection reset by the server".to_owned()
                )),
            ]
        );
    }

    #[tokio::test]
    async fn silence_longer_than_idle_is_a_timeout() {
        let body = futures_util::stream::iter(chunks(&[b"data: a\n\n"]))
            .chain(futures_util::stream::pending());
        let got = collect(events(body, Duration::from_millis(300))).await;
        assert_eq!(
            got,
            vec![
                Ok(("message".to_owned(), "a".to_owned())),
                Err(SseError::Idle(Duration::from_millis(300))),
            ]
        );
        assert_eq!(
            SseError::Idle(Duration::from_millis(300)).into_provider_error("p"),
            ProviderError::Timeout {
                provider: "p".into(),
                seconds: 1
            }
        );
    }
}
