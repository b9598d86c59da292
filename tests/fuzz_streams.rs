//! Random bodies against every provider's reader (issue 10): random bytes mixed with
//! valid SSE and NDJSON fragments, byte-order marks, lone CRs and huge lines, split at
//! random points. Whatever arrives, the reader must not panic, must end with exactly one
//! terminal event (last), and must cost time roughly linear in the body (4× the body,
//! under 8× the time). Seeds are fixed, so a failure names a body that can be replayed.
//!
//! Most bodies are fed to `read_body`, the same reader code a response's body goes
//! through, without HTTP; a few per kind are served chunk by chunk by the loopback
//! server, through the whole client.

#![allow(clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{MockResponse, MockServer, chat_request, provider_spec};
use futures_util::StreamExt;
use tinychat::provider::{
    ProviderKind, ProviderSpec, StreamEvent, http_client, read_body, stream_chat,
};

/// Every kind, with the chat path the loopback server serves it on and the model in it.
const KINDS: [(ProviderKind, &str, &str, &str); 5] = [
    (ProviderKind::OpenAi, "/v1/chat/completions", "/v1", "m1"),
    (ProviderKind::Anthropic, "/v1/messages", "", "claude-test"),
    (
        ProviderKind::Gemini,
        "/v1beta/models/gemini-test:streamGenerateContent",
        "",
        "gemini-test",
    ),
    (ProviderKind::Cohere, "/v2/chat", "", "command-test"),
    (ProviderKind::Ollama, "/api/chat", "", "llama-test"),
];

/// One reply-text event of `kind` carrying `text` (JSON-escaped by the caller's choice
/// of letters), without its line end.
fn text_event(kind: ProviderKind, text: &str) -> String {
    match kind {
        ProviderKind::OpenAi => {
            format!(r#"data: {{"choices":[{{"index":0,"delta":{{"content":"{text}"}}}}]}}"#)
        }
        ProviderKind::Anthropic => format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}}}"
        ),
        ProviderKind::Gemini => format!(
            r#"data: {{"candidates":[{{"content":{{"parts":[{{"text":"{text}"}}],"role":"model"}},"index":0}}]}}"#
        ),
        ProviderKind::Cohere => format!(
            "event: content-delta\ndata: {{\"type\":\"content-delta\",\"index\":0,\"delta\":{{\"message\":{{\"content\":{{\"text\":\"{text}\"}}}}}}}}"
        ),
        ProviderKind::Ollama | ProviderKind::Local => {
            format!(r#"{{"message":{{"role":"assistant","content":"{text}"}},"done":false}}"#)
        }
    }
}

/// The event that ends a reply of `kind` normally, without its line end.
fn end_event(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::OpenAi => "data: [DONE]",
        ProviderKind::Anthropic => "event: message_stop\ndata: {\"type\":\"message_stop\"}",
        ProviderKind::Gemini => {
            r#"data: {"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}]}"#
        }
        ProviderKind::Cohere => {
            "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\"}}"
        }
        ProviderKind::Ollama | ProviderKind::Local => {
            r#"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}"#
        }
    }
}

/// A line end of a random style; SSE events end with two, NDJSON lines with one `\n`.
fn line_end(rng: &mut fastrand::Rng, kind: ProviderKind) -> &'static str {
    if kind == ProviderKind::Ollama {
        return "\n";
    }
    ["\n\n", "\r\n\r\n", "\r\r", "\n\r\n"][rng.usize(..4)]
}

/// A random body for `kind`: a mix of everything a hostile or broken server might send.
fn random_body(rng: &mut fastrand::Rng, kind: ProviderKind) -> Vec<u8> {
    let mut body = Vec::new();
    if rng.bool() {
        body.extend_from_slice(b"\xEF\xBB\xBF");
    }
    for _ in 0..rng.usize(0..40) {
        match rng.usize(..12) {
            0 => body.extend((0..rng.usize(0..64)).map(|_| rng.u8(..))),
            1..=3 => {
                let text: String = (0..rng.usize(1..12)).map(|_| rng.alphanumeric()).collect();
                body.extend_from_slice(text_event(kind, &text).as_bytes());
                body.extend_from_slice(line_end(rng, kind).as_bytes());
            }
            4 => body.extend_from_slice(b"\xEF\xBB\xBF"),
            5 => body.extend_from_slice(
                ["\r", "\n", "\r\n", ": keep-alive\n"][rng.usize(..4)].as_bytes(),
            ),
            6 => {
                // A huge line, with or without a field name, with or without its end.
                let mut line = if rng.bool() {
                    b"data: ".to_vec()
                } else {
                    Vec::new()
                };
                line.resize(line.len() + rng.usize(64 * 1024..1024 * 1024), b'z');
                body.extend_from_slice(&line);
                if rng.bool() {
                    body.extend_from_slice(line_end(rng, kind).as_bytes());
                }
            }
            7 => body.extend_from_slice(b"event: error\ndata: {\"message\":\"boom\"}\n\n"),
            8 => {
                // A valid event cut anywhere.
                let event = text_event(kind, "cut");
                body.extend_from_slice(&event.as_bytes()[..rng.usize(..event.len())]);
            }
            9 => body.extend_from_slice(
                [
                    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"content_filter\"}]}\n\n",
                    "{\"done\":true,\"done_reason\":\"weird\"}\n",
                    "data: {\"candidates\":[{\"finishReason\":\"SAFETY\"}]}\n\n",
                    "data: [1,2,3]\n\n",
                    "data: \"just a string\"\n\n",
                    "id: 7\nretry: 10\nevent:\n\n",
                ][rng.usize(..6)]
                .as_bytes(),
            ),
            10 => {
                body.extend_from_slice(end_event(kind).as_bytes());
                body.extend_from_slice(line_end(rng, kind).as_bytes());
            }
            _ => {
                // Multibyte text whose bytes the chunking will split.
                body.extend_from_slice(text_event(kind, "caf\u{e9} \u{1f980} \u{4e2d}").as_bytes());
                body.extend_from_slice(line_end(rng, kind).as_bytes());
            }
        }
    }
    body
}

/// `body` cut into chunks at random points (sizes from 1 byte to 64 KiB).
fn random_chunks(rng: &mut fastrand::Rng, body: &[u8]) -> Vec<Bytes> {
    let body = Bytes::copy_from_slice(body);
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let size = match rng.usize(..3) {
            0 => rng.usize(1..8),
            1 => rng.usize(1..512),
            _ => rng.usize(1..64 * 1024),
        };
        let end = body.len().min(at + size);
        chunks.push(body.slice(at..end));
        at = end;
    }
    chunks
}

/// The reader's events for `chunks`, within 10 s.
async fn read(kind: ProviderKind, chunks: Vec<Bytes>) -> Vec<StreamEvent> {
    let body = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    let events = read_body(kind, "fuzz", body, Duration::from_secs(5)).collect();
    tokio::time::timeout(Duration::from_secs(10), events)
        .await
        .expect("the reader ends within 10 s")
}

/// Exactly one terminal event, and it is the last.
fn assert_one_terminal_last(events: &[StreamEvent], what: &str) {
    let terminals = events.iter().filter(|e| e.is_terminal()).count();
    assert_eq!(terminals, 1, "{what}: {events:?}");
    assert!(
        events.last().is_some_and(StreamEvent::is_terminal),
        "{what}: {events:?}"
    );
}

#[tokio::test]
async fn random_bodies_never_panic_and_always_end_with_one_terminal_event() {
    let _serial = SERIAL.lock().await;
    for (kind, ..) in KINDS {
        for seed in 0..80u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let body = random_body(&mut rng, kind);
            let chunks = random_chunks(&mut rng, &body);
            let events = read(kind, chunks).await;
            assert_one_terminal_last(&events, &format!("{kind:?} seed {seed}"));
        }
    }
}

#[tokio::test]
async fn random_bodies_served_chunk_by_chunk_end_with_one_terminal_event() {
    let _serial = SERIAL.lock().await;
    let client = http_client().expect("client");
    for (kind, path, base, model) in KINDS {
        for seed in 1000..1006u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let body = random_body(&mut rng, kind);
            let chunks = random_chunks(&mut rng, &body);
            let chunks: Vec<&[u8]> = chunks.iter().map(AsRef::as_ref).collect();
            let response = MockResponse::sse("").with_chunks(&chunks);
            let server = MockServer::start(vec![(path, response)]).await;
            let spec = ProviderSpec {
                api_key: Some("fake-fuzz-key".to_owned()),
                ..provider_spec("fuzz", kind, server.url(base))
            };
            let events = tokio::time::timeout(
                Duration::from_secs(10),
                stream_chat(&client, &spec, chat_request(model, "Hi")).collect::<Vec<_>>(),
            )
            .await
            .expect("the reply ends within 10 s");
            assert_one_terminal_last(&events, &format!("{kind:?} seed {seed}"));
        }
    }
}

/// A well-formed but hostile body of about `size` bytes for `kind`: small events in
/// every line-end style, keep-alive comments, a 256 KiB event now and then, a BOM first,
/// and the end event last, so the whole body is read.
fn long_body(kind: ProviderKind, size: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut body = b"\xEF\xBB\xBF".to_vec();
    let huge = "h".repeat(256 * 1024);
    let mut n = 0usize;
    while body.len() < size {
        n += 1;
        let text = if n.is_multiple_of(64) {
            huge.as_str()
        } else {
            "word"
        };
        body.extend_from_slice(text_event(kind, text).as_bytes());
        body.extend_from_slice(line_end(&mut rng, kind).as_bytes());
        if kind != ProviderKind::Ollama && n.is_multiple_of(16) {
            body.extend_from_slice(b": keep-alive\r");
        }
    }
    body.extend_from_slice(end_event(kind).as_bytes());
    body.extend_from_slice(line_end(&mut rng, kind).as_bytes());
    body
}

/// One test at a time: the timing test compares two reads, and a neighbour's work in
/// the middle of one and not the other would skew the ratio (it failed that way on a
/// busy machine).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The shortest of three reads of `body` in 16 KiB chunks.
async fn best_time(kind: ProviderKind, body: &[u8]) -> Duration {
    let body = Bytes::copy_from_slice(body);
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let chunks: Vec<Bytes> = (0..body.len())
            .step_by(16 * 1024)
            .map(|at| body.slice(at..body.len().min(at + 16 * 1024)))
            .collect();
        let started = Instant::now();
        let events = read(kind, chunks).await;
        best = best.min(started.elapsed());
        assert!(
            matches!(events.last(), Some(StreamEvent::Finished(_))),
            "{kind:?}: {:?}",
            events.last()
        );
    }
    best
}

#[tokio::test]
async fn reading_four_times_the_body_costs_under_eight_times_the_time() {
    const SIZE: usize = 1 << 20;
    let _serial = SERIAL.lock().await;
    for (kind, ..) in KINDS {
        let small = best_time(kind, &long_body(kind, SIZE)).await;
        let large = best_time(kind, &long_body(kind, 4 * SIZE)).await;
        assert!(
            large < small * 8,
            "{kind:?}: 1 MiB in {small:?}, 4 MiB in {large:?}"
        );
    }
}
