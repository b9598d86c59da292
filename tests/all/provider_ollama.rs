//! Ollama's native `/api/chat` (NDJSON) against a local mock server: streaming whole and
//! chunked, replies that end badly, error statuses and hints, the exact request, and
//! model discovery from `/api/tags`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::time::{Duration, Instant};

use common::{
    End, MockResponse, MockServer, chat_request, delta, failed, first_event_then_drop, fixture,
    list, provider_spec, run, sent_exactly_once, split_replies, summary, three_turns, usage, user,
};
use pretty_assertions::assert_eq;
use serde_json::json;
use tinychat::conversation::{Finish, Usage};
use tinychat::provider::{
    ChatRequest, Problem, ProviderError, ProviderKind, ProviderSpec, StreamEvent,
};

const CHAT: &str = "/api/chat";
const TAGS: &str = "/api/tags";
const BASIC_TEXT: &str = "The sky is blue because of Rayleigh scattering.";

/// No key, and optional like the built-in (most machines do not run Ollama).
fn spec(server: &MockServer) -> ProviderSpec {
    ProviderSpec {
        optional: true,
        ..provider_spec("ollama", ProviderKind::Ollama, server.url(""))
    }
}

fn request() -> ChatRequest {
    chat_request("llama3.2", "Why is the sky blue?")
}

/// A 200 NDJSON body, as Ollama streams it.
fn ndjson(body: impl Into<bytes::Bytes>) -> MockResponse {
    MockResponse::sse(body).with_header("content-type", "application/x-ndjson")
}

/// Serves `response` on the chat path and returns the events for a default request.
async fn reply(response: MockResponse) -> Vec<StreamEvent> {
    let server = MockServer::start(vec![(CHAT, response)]).await;
    run(&spec(&server), request()).await
}

fn incomplete() -> StreamEvent {
    common::incomplete("ollama")
}

/// One content line as Ollama writes it.
fn line(text: &str) -> String {
    format!(
        "{}\n",
        json!({"model":"llama3.2","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":text},"done":false})
    )
}

// ---------------------------------------------------------------------------------------
// Normal replies, whole and chunked

#[tokio::test]
async fn fixture_streams_whole_and_in_1_3_7_byte_chunks_with_usage_from_the_done_line() {
    let body = ndjson(fixture("ollama/chat-basic.ndjson"));
    for (size, events) in split_replies(body, &[1, 3, 7], reply).await {
        assert_eq!(
            summary(&events),
            (
                BASIC_TEXT.to_owned(),
                Some(Usage {
                    input_tokens: 26,
                    output_tokens: 10,
                    ..Usage::default()
                }),
                StreamEvent::Finished(Finish::Stop)
            ),
            "chunk size {size}"
        );
        assert_eq!(events.len(), 11, "9 deltas, usage, finish: {events:?}");
    }
}

#[tokio::test]
async fn a_line_split_across_chunks_is_read_once_whole() {
    let response = ndjson("")
        .with_chunks(&[
            b"{\"message\":{\"role\":\"assistant\",\"con",
            b"tent\":\"Hel\"},\"done\":false}\n{\"message\":{\"content\":\"lo\"}",
            b",\"done\":false}",
            b"\n{\"message\":{\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"}\n",
        ])
        .with_pause(Duration::from_millis(20));
    assert_eq!(
        reply(response).await,
        vec![
            delta("Hel"),
            delta("lo"),
            StreamEvent::Finished(Finish::Stop)
        ]
    );
}

#[tokio::test]
async fn multibyte_utf8_split_across_chunks_is_joined() {
    let response = ndjson("")
        .with_chunks(&[
            b"{\"message\":{\"content\":\"caf\xc3",
            b"\xa9 \xf0\x9f",
            b"\xa6\x80\"},\"done\":false}\n{\"done\":true}\n",
        ])
        .with_pause(Duration::from_millis(20));
    assert_eq!(
        reply(response).await,
        vec![delta("café 🦀"), StreamEvent::Finished(Finish::Stop)]
    );
}

#[tokio::test]
async fn crlf_line_ends_and_blank_lines_are_tolerated() {
    let body = "{\"message\":{\"content\":\"a\"},\"done\":false}\r\n\r\n\
        {\"message\":{\"content\":\"b\"},\"done\":false}\r\n\
        {\"message\":{\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":2,\"eval_count\":2}\r\n";
    for (size, events) in split_replies(ndjson(body), &[1, 2], reply).await {
        assert_eq!(
            events,
            vec![
                delta("a"),
                delta("b"),
                usage(2, 2),
                StreamEvent::Finished(Finish::Stop),
            ],
            "chunk size {size}"
        );
    }
}

#[tokio::test]
async fn done_reason_length_is_a_cut_off_reply() {
    let body = format!(
        "{}{}",
        line("Once upon"),
        "{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"length\",\"done\":true,\"prompt_eval_count\":12,\"eval_count\":2}\n"
    );
    assert_eq!(
        reply(ndjson(body).chunked(7)).await,
        vec![
            delta("Once upon"),
            usage(12, 2),
            StreamEvent::Finished(Finish::Length),
        ]
    );
}

#[tokio::test]
async fn thinking_is_thinking_not_reply_text() {
    let body = "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"The user wants\"},\"done\":false}\n\
        {\"message\":{\"role\":\"assistant\",\"content\":\"Hi.\"},\"done\":false}\n\
        {\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"}\n";
    assert_eq!(
        reply(ndjson(body)).await,
        vec![
            StreamEvent::Reasoning("The user wants".into()),
            delta("Hi."),
            StreamEvent::Finished(Finish::Stop)
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Replies that end badly

#[tokio::test]
async fn error_line_after_text_keeps_the_text_then_fails() {
    let body = format!(
        "{}{}{{\"error\":\"an error was encountered while running the model: unexpected EOF\"}}\n",
        line("The sky"),
        line(" is")
    );
    for (size, events) in split_replies(ndjson(body), &[1, 7], reply).await {
        assert_eq!(
            &events[..2],
            &[delta("The sky"), delta(" is")],
            "chunk size {size}"
        );
        let error = failed(&events);
        assert_eq!(
            error.to_string(),
            "ollama: error during the reply: an error was encountered while running the model: unexpected EOF"
        );
        assert_eq!(error.finish(), Finish::Error);
    }
}

#[tokio::test]
async fn body_cut_before_done_is_incomplete_with_partial_text_kept() {
    let body = format!("{}{}", line("The sky"), line(" is"));
    for (size, events) in split_replies(ndjson(body), &[1, 7], reply).await {
        assert_eq!(
            events,
            vec![delta("The sky"), delta(" is"), incomplete()],
            "chunk size {size}"
        );
        assert_eq!(
            failed(&events).to_string(),
            "ollama: the connection ended before the reply was complete"
        );
        assert_eq!(failed(&events).finish(), Finish::Incomplete);
    }
}

#[tokio::test]
async fn body_cut_inside_the_done_line_is_incomplete() {
    let body = fixture("ollama/chat-basic.ndjson");
    let cut = body.len() - 30;
    let events = reply(ndjson(body[..cut].to_vec()).chunked(3)).await;
    assert_eq!(
        summary(&events),
        (BASIC_TEXT.to_owned(), None, incomplete())
    );
}

#[tokio::test]
async fn connection_dropped_mid_body_is_incomplete() {
    let response = ndjson(line("Hel")).ending(End::Abort);
    assert_eq!(reply(response).await, vec![delta("Hel"), incomplete()]);
}

#[tokio::test]
async fn invalid_json_line_is_malformed() {
    let body = format!("{}{{\"message\":\n{{\"done\":true}}\n", line("a"));
    let events = reply(ndjson(body)).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let error = failed(&events);
    assert!(
        error
            .to_string()
            .starts_with("ollama: unexpected response: invalid JSON in a line: "),
        "{error}"
    );
}

#[tokio::test]
async fn silence_longer_than_the_idle_timeout_is_a_timeout() {
    let server = MockServer::start(vec![(CHAT, ndjson(line("Hi")).ending(End::Stall))]).await;
    let mut req = request();
    req.idle_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let events = run(&spec(&server), req).await;
    let elapsed = started.elapsed();
    assert_eq!(
        events,
        vec![
            delta("Hi"),
            StreamEvent::Failed(Problem::Timeout { seconds: 1 }.at("ollama"))
        ]
    );
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(server.wait_for_disconnects(1, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn the_reply_ends_at_done_without_waiting_for_the_body_to_close() {
    let body = format!("{}{{\"done\":true,\"done_reason\":\"stop\"}}\n", line("Hi"));
    let server = MockServer::start(vec![(CHAT, ndjson(body).ending(End::Stall))]).await;
    let events = run(&spec(&server), request()).await;
    assert_eq!(
        events,
        vec![delta("Hi"), StreamEvent::Finished(Finish::Stop)]
    );
    assert!(server.wait_for_disconnects(1, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn dropping_the_stream_mid_reply_closes_the_connection() {
    let server = MockServer::start(vec![(CHAT, ndjson(line("Hi")).ending(End::Stall))]).await;
    let (first, _) = first_event_then_drop(&server, &spec(&server), request()).await;
    assert_eq!(first, Some(delta("Hi")));
    assert!(server.wait_for_disconnects(1, Duration::from_secs(3)).await);
}

// ---------------------------------------------------------------------------------------
// HTTP errors before the stream

async fn http_failure(model: &str, response: MockResponse) -> ProviderError {
    let server = MockServer::start(vec![(CHAT, response)]).await;
    let mut req = request();
    req.model = model.to_owned();
    let events = run(&spec(&server), req).await;
    assert_eq!(events.len(), 1, "{events:?}");
    failed(&events)
}

#[tokio::test]
async fn unknown_model_404_says_which_model_to_pull() {
    let e = http_failure(
        "llama9.9",
        MockResponse::fixture_error("ollama/chat-404.status-404.json"),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "ollama: HTTP 404: model 'llama9.9' not found (run `ollama pull llama9.9`)"
    );
    assert_eq!(e.status(), Some(404));
}

#[tokio::test]
async fn other_error_statuses_keep_ollamas_message() {
    let cases = [
        (
            MockResponse::json(400, r#"{"error":"invalid options: num_predict"}"#),
            "ollama: HTTP 400: invalid options: num_predict",
        ),
        (
            MockResponse::json(404, "404 page not found").with_header("content-type", "text/plain"),
            "ollama: HTTP 404: 404 page not found (run `tinychat models` to see the available models)",
        ),
        (
            MockResponse::json(
                429,
                r#"{"error":"server busy, please try again. maximum pending requests exceeded"}"#,
            ),
            "ollama: HTTP 429: server busy, please try again. maximum pending requests exceeded (rate limited; wait and try again)",
        ),
        (
            MockResponse::json(
                500,
                r#"{"error":"model requires more system memory (9.1 GiB) than is available (4.0 GiB)"}"#,
            ),
            "ollama: HTTP 500: model requires more system memory (9.1 GiB) than is available (4.0 GiB)",
        ),
    ];
    for (response, expected) in cases {
        assert_eq!(
            http_failure("llama3.2", response).await.to_string(),
            expected
        );
    }
}

#[tokio::test]
async fn refused_connection_says_to_start_ollama() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let server = MockServer::start(vec![]).await;
    let mut provider = spec(&server);
    provider.base_url = format!("http://127.0.0.1:{port}");
    let events = run(&provider, request()).await;
    assert_eq!(
        failed(&events).to_string(),
        format!(
            "ollama: cannot connect to http://127.0.0.1:{port}: connection refused \
             (is Ollama running? start it with `ollama serve`)"
        )
    );
    assert_eq!(
        list(&provider)
            .await
            .expect_err("nothing listens")
            .to_string(),
        format!(
            "ollama: cannot connect to http://127.0.0.1:{port}: connection refused \
             (is Ollama running? start it with `ollama serve`)"
        )
    );
}

// ---------------------------------------------------------------------------------------
// The request on the wire

#[tokio::test]
async fn three_turns_with_a_system_prompt_and_options_are_sent_exactly() {
    let server = MockServer::start(vec![(CHAT, ndjson(fixture("ollama/chat-basic.ndjson")))]).await;
    let req = three_turns("llama3.2", "Why is the sky blue?");
    let r = sent_exactly_once(&server, &spec(&server), req, CHAT).await;
    assert_eq!(r.header("authorization"), None, "no key, no auth header");
    assert_eq!(
        std::str::from_utf8(&r.body).expect("utf-8 body"),
        json!({
            "model": "llama3.2",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Why is the sky blue?"}
            ],
            "stream": true,
            "options": {"temperature": 0.25, "num_predict": 256}
        })
        .to_string()
    );
}

#[tokio::test]
async fn a_failed_turn_left_out_gives_two_user_messages_which_ollama_accepts() {
    let server = MockServer::start(vec![(CHAT, ndjson(fixture("ollama/chat-basic.ndjson")))]).await;
    let mut provider = spec(&server);
    provider.api_key = Some("ollama-test-fake".to_owned());
    provider
        .headers
        .insert("X-Extra".to_owned(), "yes".to_owned());
    let mut req = request();
    // The assistant reply between these failed before its first token and was omitted.
    req.messages = vec![user("Hi"), user("Hello?")];
    let events = run(&provider, req).await;
    assert_eq!(summary(&events).2, StreamEvent::Finished(Finish::Stop));

    let r = &server.requests()[0];
    assert_eq!(
        r.header("authorization").as_deref(),
        Some("Bearer ollama-test-fake")
    );
    assert_eq!(r.header("x-extra").as_deref(), Some("yes"));
    assert_eq!(
        r.json(),
        json!({
            "model": "llama3.2",
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "user", "content": "Hello?"}
            ],
            "stream": true
        })
    );
}

// ---------------------------------------------------------------------------------------
// Model discovery

#[tokio::test]
async fn tags_list_the_pulled_models() {
    let server = MockServer::start(vec![(
        TAGS,
        MockResponse::json(200, fixture("ollama/tags.json")),
    )])
    .await;
    assert_eq!(
        list(&spec(&server)).await,
        Ok(vec!["llama3.2:latest".to_owned(), "qwen3:8b".to_owned()])
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", TAGS)
    );
    assert_eq!(requests[0].header("authorization"), None);
}

#[tokio::test]
async fn a_body_that_is_not_a_tag_list_is_malformed() {
    let server = MockServer::start(vec![(TAGS, MockResponse::json(200, r#"{"data":[]}"#))]).await;
    assert_eq!(
        list(&spec(&server))
            .await
            .expect_err("not a list")
            .to_string(),
        r#"ollama: unexpected response: the model list is not {"models":[{"model":...}]}"#
    );
}
