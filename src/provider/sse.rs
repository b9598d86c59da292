//! Server-sent events from a response body, via sse-stream, with an idle timeout and a
//! bound on one event's size.
//!
//! Owns: turning a stream of body bytes into SSE [`Event`]s (framing, comments, a leading
//! BOM, CRLF / CR / LF line ends, UTF-8 split across chunks: all done by sse-stream,
//! protocols.md §0), timing out when no byte arrives, refusing an event larger than
//! [`MAX_EVENT_BYTES`], reading `event: error` as the server's error, and mapping what
//! can go wrong below the protocol to a [`ProviderError`]. Every SSE provider reads its
//! body through [`events`] and [`drive`].
//!
//! Must not: parse SSE by hand, interpret event payloads (that is each provider's job),
//! or decide whether a reply is complete: an event cut off at EOF is dropped (the SSE
//! spec says so), so only the provider's own end marker can say so.
//!
//! Why sse-stream and not eventsource-stream 0.2.3 (README "Reliability"): that crate
//! sliced a leading BOM at byte 1 (a panic on every body that starts with one), waited
//! for ever on a lone CR at the end of a chunk, and re-scanned its whole buffer for every
//! chunk it was given, so one long event cost quadratic time. sse-stream scans each byte
//! once (memchr) and keeps a long line as fragments, whatever the chunking.

use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::http::{error_fields, redact, root_cause, unsupported_encoding};
use super::{Problem, ProviderError, ProviderSpec, ReplyStream, StreamEvent};

/// The most bytes one event may take, from the end of the previous event to the blank
/// line that ends it (comments and keep-alives included). No provider sends events
/// near this size (a token or a few is one event); a body that does is refused with
/// an error that names the limit rather than held in memory or parsed without end.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The limit in words, for the error that names it.
pub(crate) fn event_limit_words() -> String {
    format!(
        "the server sent more than {} MiB without ending an event, the most tinychat reads in one event (MAX_EVENT_BYTES)",
        MAX_EVENT_BYTES / (1024 * 1024)
    )
}

/// One server-sent event as the providers read it: its type (`message` when the server
/// named none) and its data lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub event: String,
    pub data: String,
}

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
    /// One event (or NDJSON line) grew past [`MAX_EVENT_BYTES`].
    TooLarge,
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::Idle(idle) => write!(f, "no data for {} s", whole_seconds(*idle)),
            SseError::Transport(cause) => f.write_str(cause),
            SseError::Utf8(message) | SseError::Parse(message) => f.write_str(message),
            SseError::TooLarge => f.write_str(&event_limit_words()),
        }
    }
}

impl StdError for SseError {}

impl SseError {
    /// The user-facing error: a broken connection is an incomplete reply (the end
    /// marker never came, spec §3), silence is a timeout, bad bytes are malformed.
    pub(crate) fn into_provider_error(self, provider: &str) -> ProviderError {
        let problem = match self {
            SseError::Idle(idle) => Problem::Timeout {
                seconds: whole_seconds(idle),
            },
            SseError::Transport(_) => Problem::Incomplete,
            SseError::Utf8(message) | SseError::Parse(message) => Problem::Malformed { message },
            SseError::TooLarge => Problem::Malformed {
                message: event_limit_words(),
            },
        };
        problem.at(provider)
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
    /// Text the reader still holds back (a possible partial `<think>` tag), released
    /// just before the terminal event, whatever ends the reply.
    fn flush(&mut self) -> Vec<StreamEvent> {
        Vec::new()
    }
}

/// The failure an `event: error` stands for, whatever the provider: the server's own
/// message and code when its data is an error payload in any shape providers use
/// (`{"error":{..}}`, `{"message":..}`, Anthropic's `{"type":"error","error":{..}}`),
/// else its data as text. An SSE server that names an event `error` is reporting one;
/// reading it as a reply chunk would lose its words and call the reply incomplete.
fn error_event(provider: &str, event: &Event) -> StreamEvent {
    let data = event.data.trim();
    let parsed = serde_json::from_str::<Value>(data).ok();
    let (code, message) = match parsed.as_ref().and_then(|v| error_fields(v, None)) {
        Some(fields) => fields,
        None if data.is_empty() => (
            None,
            "the server reported an error without a message".to_owned(),
        ),
        // Text, not a payload: its first 300 characters (it is shown and saved).
        None => {
            let mut text: String = data.chars().take(300).collect();
            if data.chars().nth(300).is_some() {
                text.push('…');
            }
            (None, text)
        }
    };
    StreamEvent::Failed(Problem::Stream { code, message }.at(provider))
}

/// Reads `events` with `reader` and ends right after the terminal event, dropping the
/// body (and so the connection) at that moment: nothing after an end marker is waited
/// for. An `event: error` ends the reply with the server's message (see
/// [`error_event`]).
pub(crate) fn drive<R: EventReader>(events: SseStream, reader: R) -> ReplyStream {
    let started = std::time::Instant::now();
    let batches = futures_util::stream::unfold(Some((events, reader)), move |state| async move {
        let (mut events, mut reader) = state?;
        let mut out = match events.next().await {
            Some(Ok(event)) if event.event == "error" => {
                vec![error_event(reader.provider(), &event)]
            }
            Some(Ok(event)) => reader.on_event(&event),
            Some(Err(e)) => vec![reader.on_error(e)],
            None => vec![reader.on_end()],
        };
        if let Some(last) = out.pop_if(|e| e.is_terminal()) {
            out.extend(reader.flush());
            out.push(last);
        }
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
/// array). A body compressed in a way tinychat never asked for cannot be read at all,
/// and says so. Every failure arrives as the terminal `Failed` event; the stream owns
/// the body, so dropping it closes the connection.
pub(crate) fn reply<R: EventReader>(
    provider: &ProviderSpec,
    response: reqwest::Response,
    idle: Duration,
    reader: R,
) -> ReplyStream {
    if let Some(error) = unsupported_encoding(provider, response.headers()) {
        return super::failed_reply(error);
    }
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
        return Problem::Incomplete.at(&provider.name);
    };
    let value = serde_json::from_slice::<serde_json::Value>(&body).ok();
    let status = value
        .as_ref()
        .and_then(|v| v.get("error")?.get("status")?.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    match value.as_ref().and_then(|v| error_fields(v, None)) {
        Some((code, message)) => Problem::Stream {
            code: status.or(code),
            message: redact(provider, &message),
        }
        .at(&provider.name),
        None => Problem::Malformed {
            message: "expected an event stream, got a JSON body".to_owned(),
        }
        .at(&provider.name),
    }
}

/// The most bytes handed to the parser at once (slices of the body's chunks, never
/// copies). Small enough that the size bound is checked often and one poll of the
/// stream does a bounded amount of work.
const PIECE: usize = 64 * 1024;

/// Decodes `body` as server-sent events. Each wait for the next chunk of bytes is
/// bounded by `idle`, so keepalive comments (which produce no event) still count as
/// life; more than [`MAX_EVENT_BYTES`] without an event ends the stream with
/// [`SseError::TooLarge`]. Blocks without data (a lone `event:` or `id:`) are no
/// event, as the SSE spec says. After an error the stream ends.
pub(crate) fn events<S, E>(body: S, idle: Duration) -> SseStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: StdError + 'static,
{
    // Bytes handed to the parser since it last completed a block.
    let since_event = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&since_event);
    let pieces = idle_limited(body, idle)
        .flat_map(|item| {
            let pieces: Vec<Result<Bytes, SseError>> = match item {
                Ok(chunk) => (0..chunk.len())
                    .step_by(PIECE)
                    .map(|at| Ok(chunk.slice(at..chunk.len().min(at + PIECE))))
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            futures_util::stream::iter(pieces)
        })
        .map(move |piece| {
            let piece = piece?;
            let fed = counter.fetch_add(piece.len(), Ordering::Relaxed) + piece.len();
            if fed > MAX_EVENT_BYTES {
                tracing::debug!(fed, "event over the size limit");
                return Err(SseError::TooLarge);
            }
            Ok(piece)
        });
    let blocks = sse_stream::SseByteStream::new(pieces);
    Box::pin(blocks.filter_map(move |item| {
        let out = match item {
            Ok(block) => {
                since_event.store(0, Ordering::Relaxed);
                block.data.map(|data| {
                    Ok(Event {
                        event: block
                            .event
                            .filter(|name| !name.is_empty())
                            .unwrap_or_else(|| "message".to_owned()),
                        data,
                    })
                })
            }
            Err(e) => Some(Err(sse_error(e))),
        };
        futures_util::future::ready(out)
    }))
}

/// What sse-stream's error means here: our own errors come back out of its `Body`
/// variant as they went in.
fn sse_error(error: sse_stream::Error) -> SseError {
    match error {
        sse_stream::Error::Body(inner) => match inner.downcast::<SseError>() {
            Ok(ours) => *ours,
            Err(other) => SseError::Transport(other.to_string()),
        },
        sse_stream::Error::Utf8Parse(e) => {
            SseError::Utf8(format!("the event stream is not valid UTF-8: {e}"))
        }
        other => SseError::Parse(format!("the event stream cannot be parsed: {other}")),
    }
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

    fn chunks(parts: &[&'static [u8]]) -> Vec<Result<Bytes, std::io::Error>> {
        parts.iter().map(|p| Ok(Bytes::from_static(p))).collect()
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
            Ok(Bytes::from_static(b"data: a\n\n")),
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            Ok(Bytes::from_static(b"data: b\n\n")),
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

    #[test]
    fn an_error_event_in_plain_text_is_kept_short() {
        let long = "x".repeat(5000);
        let got = error_event(
            "p",
            &Event {
                event: "error".into(),
                data: long,
            },
        );
        let StreamEvent::Failed(ProviderError {
            problem: Problem::Stream { message, code, .. },
            ..
        }) = got
        else {
            panic!("{got:?}")
        };
        assert_eq!(code, None);
        assert_eq!(message, format!("{}…", "x".repeat(300)));
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
            Problem::Timeout { seconds: 1 }.at("p")
        );
    }
}
