//! The Anthropic Messages provider against a local mock server: the named-event stream
//! (fixtures whole and chunked), replies that end badly, error statuses with their exact
//! text, retries of an overloaded 529, the exact request, and paginated model discovery.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    End, MockResponse, MockServer, chat_request, delta, failed, first_event_then_drop, fixture,
    incomplete, list, provider_spec, run, sent_exactly_once, split_replies, summary, three_turns,
    usage,
};
use pretty_assertions::assert_eq;
use serde_json::json;
use tinychat::conversation::{Conversation, Finish, Message, Usage};
use tinychat::provider::{
    ChatRequest, Problem, ProviderError, ProviderKind, ProviderSpec, StreamEvent,
};

const MESSAGES: &str = "/v1/messages";
const MODELS: &str = "/v1/models";
const KEY: &str = "sk-ant-test-fake";
const BASIC_TEXT: &str = "Sure \u{2014} here's a haiku:\n\nQuiet terminal\nbytes arrive like falling snow\nthe cursor blinks on";

fn spec(server: &MockServer) -> ProviderSpec {
    ProviderSpec {
        api_key: Some(KEY.to_owned()),
        key_env: Some("ANTHROPIC_API_KEY".to_owned()),
        // The built-in base URL has no `/v1`: the paths add it.
        ..provider_spec("anthropic", ProviderKind::Anthropic, server.url(""))
    }
}

fn request() -> ChatRequest {
    chat_request("claude-sonnet-4-5", "Hi")
}

/// Serves `response` on the messages path and returns the events for a default request.
async fn reply(response: MockResponse) -> Vec<StreamEvent> {
    let server = MockServer::start(vec![(MESSAGES, response)]).await;
    run(&spec(&server), request()).await
}

// ---------------------------------------------------------------------------------------
// Normal replies, whole and chunked

#[tokio::test]
async fn basic_fixture_streams_whole_and_in_1_3_7_byte_chunks() {
    let body = fixture("anthropic/stream-basic.sse");
    let mut expected = vec![usage(18, 1)];
    expected.extend(
        [
            "Sure",
            " \u{2014} here's a haiku:\n\n",
            "Quiet terminal\n",
            "bytes arrive like",
            " falling snow\n",
            "the cursor blinks on",
        ]
        .map(delta),
    );
    expected.extend([usage(18, 27), StreamEvent::Finished(Finish::Stop)]);
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 3, 7], reply).await {
        assert_eq!(events, expected, "chunk size {size}");
        assert_eq!(summary(&events).0, BASIC_TEXT);
    }
}

#[tokio::test]
async fn thinking_block_streams_as_thinking_and_the_text_block_as_the_answer() {
    let body = fixture("anthropic/stream-thinking.sse");
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 5], reply).await {
        assert_eq!(
            events,
            vec![
                usage(42, 3),
                StreamEvent::Reasoning(
                    "The user wants 27 \u{d7} 453. 27 \u{d7} 453 = 12231.".into()
                ),
                delta("27 \u{d7} 453 = "),
                delta("**12,231**"),
                usage(42, 61),
                StreamEvent::Finished(Finish::Stop),
            ],
            "chunk size {size}"
        );
    }
}

#[tokio::test]
async fn tool_use_input_json_is_skipped_and_input_tokens_in_message_delta_are_taken() {
    let body = fixture("anthropic/stream-tool-use.sse");
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 5], reply).await {
        assert_eq!(
            events,
            vec![
                usage(380, 2),
                delta("Let me check the weather."),
                usage(380, 54),
                // A reply that stops for a tool tinychat never offered is not complete.
                StreamEvent::Failed(
                    Problem::Ended {
                        field: "stop_reason",
                        reason: "tool_use".into(),
                        message: "the model stopped to call a tool, which tinychat does not offer"
                            .into()
                    }
                    .at("anthropic")
                ),
            ],
            "chunk size {size}"
        );
    }
}

#[tokio::test]
async fn multi_line_data_and_comments_are_joined_and_max_tokens_is_length() {
    let body = fixture("anthropic/stream-multiline-data.sse");
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 5], reply).await {
        assert_eq!(
            events,
            vec![
                usage(7, 1),
                delta("line one\nline two"),
                delta(" \u{1f980}"),
                usage(7, 5),
                StreamEvent::Finished(Finish::Length),
            ],
            "chunk size {size}"
        );
    }
}

#[tokio::test]
async fn multibyte_utf8_split_across_chunks_is_joined() {
    let response = MockResponse::sse("")
        .with_chunks(&[
            b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"caf\xc3",
            b"\xa9 \xf0\x9f",
            b"\xa6\x80\"}}\n",
            b"\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ])
        .with_pause(Duration::from_millis(20));
    assert_eq!(
        reply(response).await,
        vec![delta("café 🦀"), StreamEvent::Finished(Finish::Stop)]
    );
}

// ---------------------------------------------------------------------------------------
// Replies that end badly

#[tokio::test]
async fn mid_stream_overloaded_error_keeps_partial_text_then_fails() {
    let body = fixture("anthropic/stream-error-overloaded.sse");
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 5], reply).await {
        assert_eq!(
            events[..3],
            [usage(25, 1), delta("Les résultats "), delta("montrent que")],
            "chunk size {size}"
        );
        let error = failed(&events);
        assert_eq!(
            error.to_string(),
            "anthropic: error during the reply (overloaded_error): Overloaded"
        );
        assert_eq!(error.finish(), Finish::Error);
    }
}

#[tokio::test]
async fn body_cut_before_message_stop_is_incomplete_with_partial_text_kept() {
    let body = fixture("anthropic/stream-truncated.sse");
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 5], reply).await {
        assert_eq!(
            events,
            vec![
                usage(9, 1),
                delta("Once upon a time"),
                delta(", in a"),
                usage(9, 8),
                incomplete("anthropic"),
            ],
            "chunk size {size}"
        );
        assert_eq!(
            failed(&events).to_string(),
            "anthropic: the connection ended before the reply was complete"
        );
        assert_eq!(failed(&events).finish(), Finish::Incomplete);
    }
}

#[tokio::test]
async fn connection_dropped_mid_body_is_incomplete() {
    let response = MockResponse::sse(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
    )
    .ending(End::Abort);
    assert_eq!(
        reply(response).await,
        vec![delta("Hel"), incomplete("anthropic")]
    );
}

#[tokio::test]
async fn a_json_error_body_with_status_200_is_a_stream_error() {
    let body = r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#;
    let events = reply(MockResponse::json(200, body)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        failed(&events).to_string(),
        "anthropic: error during the reply (api_error): Internal server error"
    );
}

// ---------------------------------------------------------------------------------------
// HTTP errors before the stream

async fn http_failure(response: MockResponse) -> ProviderError {
    let events = reply(response).await;
    assert_eq!(events.len(), 1, "{events:?}");
    failed(&events)
}

fn error_body(kind: &str, message: &str) -> String {
    json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": "req_011FixtureOwn00000000001"
    })
    .to_string()
}

#[tokio::test]
async fn fixture_401_names_the_key_variable_and_is_not_retried() {
    let server = MockServer::start(vec![(
        MESSAGES,
        MockResponse::fixture_error("anthropic/messages-401.status-401.json"),
    )])
    .await;
    let mut req = request();
    req.max_retries = 2;
    let events = run(&spec(&server), req).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = failed(&events);
    assert_eq!(
        e.to_string(),
        "anthropic: HTTP 401 authentication_error: invalid x-api-key (check ANTHROPIC_API_KEY)"
    );
    assert_eq!(e.status(), Some(401));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn fixture_529_without_retries_fails_with_the_overloaded_text() {
    let e = http_failure(MockResponse::fixture_error(
        "anthropic/messages-529.status-529.json",
    ))
    .await;
    assert_eq!(
        e.to_string(),
        "anthropic: HTTP 529 overloaded_error: Overloaded"
    );
    assert!(
        matches!(&e.problem, Problem::Http { retry, .. } if retry.allowed == Some(true)),
        "{e:?}"
    );
}

#[tokio::test]
async fn fixture_529_is_retried_then_the_reply_streams() {
    let server = MockServer::start(vec![
        (
            MESSAGES,
            MockResponse::fixture_error("anthropic/messages-529.status-529.json")
                .with_header("retry-after-ms", "10"),
        ),
        (
            MESSAGES,
            MockResponse::sse(fixture("anthropic/stream-basic.sse")).chunked(7),
        ),
    ])
    .await;
    let mut req = request();
    req.max_retries = 1;
    let events = run(&spec(&server), req).await;
    assert_eq!(
        events[0],
        StreamEvent::Retrying {
            reason: "overloaded".into(),
            delay: Duration::from_millis(10),
            attempt: 1,
            of: 1,
        }
    );
    assert_eq!(
        summary(&events),
        (
            BASIC_TEXT.to_owned(),
            Some(Usage {
                input_tokens: 18,
                output_tokens: 27,
                ..Usage::default()
            }),
            StreamEvent::Finished(Finish::Stop)
        )
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn model_not_found_404_suggests_listing_models() {
    let e = http_failure(MockResponse::json(
        404,
        error_body("not_found_error", "model: claude-nope-9"),
    ))
    .await;
    assert_eq!(
        e.to_string(),
        "anthropic: HTTP 404 not_found_error: model: claude-nope-9 (run `tinychat models` to see the available models)"
    );
}

#[tokio::test]
async fn other_error_statuses_keep_type_and_message() {
    let cases = [
        (
            400,
            "invalid_request_error",
            "max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5",
            "anthropic: HTTP 400 invalid_request_error: max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5",
        ),
        (
            403,
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
            "anthropic: HTTP 403 permission_error: Your API key does not have permission to use the specified resource. (check ANTHROPIC_API_KEY)",
        ),
        (
            500,
            "api_error",
            "Internal server error",
            "anthropic: HTTP 500 api_error: Internal server error",
        ),
    ];
    for (status, kind, message, expected) in cases {
        let e = http_failure(MockResponse::json(status, error_body(kind, message))).await;
        assert_eq!(e.to_string(), expected);
    }
}

#[tokio::test]
async fn rate_limit_429_says_wait_and_honours_retry_after() {
    let response = MockResponse::json(
        429,
        error_body(
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.",
        ),
    )
    .with_header("retry-after", "7");
    let e = http_failure(response).await;
    assert_eq!(
        e.to_string(),
        "anthropic: HTTP 429 rate_limit_error: This request would exceed the rate limit for your organization of 50 requests per minute. (rate limited; wait and try again)"
    );
    assert!(
        matches!(&e.problem, Problem::Http { retry, .. }
            if retry.after == Some(Duration::from_secs(7)) && retry.allowed.is_none()),
        "{e:?}"
    );
}

#[tokio::test]
async fn spend_limit_429_is_never_retried_and_says_so() {
    let body = json!({
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "You have reached your specified API usage limits.",
            "details": {"error_code": "enforced_spend_limit_reached"}
        },
        "request_id": "req_011FixtureSpend0000000001"
    })
    .to_string();
    let server = MockServer::start(vec![(
        MESSAGES,
        MockResponse::json(429, body).with_header("retry-after", "0"),
    )])
    .await;
    let mut req = request();
    req.max_retries = 2;
    let events = run(&spec(&server), req).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = failed(&events);
    assert_eq!(
        e.to_string(),
        "anthropic: HTTP 429 rate_limit_error: You have reached your specified API usage limits. \
         (the spend limit is reached; raise it in the Anthropic Console or wait until it resets)"
    );
    assert!(
        matches!(&e.problem, Problem::Http { retry, .. } if retry.allowed == Some(false)),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_key_echoed_by_the_server_is_redacted() {
    let e = http_failure(MockResponse::json(
        401,
        error_body("authentication_error", &format!("invalid x-api-key {KEY}")),
    ))
    .await;
    assert_eq!(
        e.to_string(),
        "anthropic: HTTP 401 authentication_error: invalid x-api-key <redacted> (check ANTHROPIC_API_KEY)"
    );
}

// ---------------------------------------------------------------------------------------
// The request on the wire

#[tokio::test]
async fn three_turns_with_a_system_prompt_are_sent_exactly() {
    let server = MockServer::start(vec![(
        MESSAGES,
        MockResponse::sse(fixture("anthropic/stream-basic.sse")),
    )])
    .await;
    let mut provider = spec(&server);
    provider
        .headers
        .insert("anthropic-beta".to_owned(), "fixture-beta".to_owned());
    let req = three_turns("claude-sonnet-4-5", "Write a haiku");
    let r = sent_exactly_once(&server, &provider, req, MESSAGES).await;
    assert_eq!(r.query, None);
    assert_eq!(r.header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(r.header("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(r.header("anthropic-beta").as_deref(), Some("fixture-beta"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        std::str::from_utf8(&r.body).expect("utf-8 body"),
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Write a haiku"}
            ],
            "stream": true,
            "temperature": 0.25
        })
        .to_string()
    );
}

#[tokio::test]
async fn a_failed_empty_reply_leaves_one_merged_user_turn_and_default_max_tokens() {
    let server = MockServer::start(vec![(
        MESSAGES,
        MockResponse::sse(fixture("anthropic/stream-basic.sse")),
    )])
    .await;
    let mut conversation = Conversation::new(None);
    conversation.push_user("First question");
    let mut failed_reply = Message::assistant_pending("anthropic/claude-sonnet-4-5");
    failed_reply.finish = Some(Finish::Error);
    failed_reply.error = Some("anthropic: HTTP 529 overloaded_error: Overloaded".to_owned());
    conversation.messages.push(Arc::new(failed_reply));
    conversation.push_user("Trying again");
    let mut req = ChatRequest::from_conversation(&conversation, "claude-sonnet-4-5");
    req.idle_timeout = Duration::from_secs(5);
    req.max_retries = 0;
    let events = run(&spec(&server), req).await;
    assert_eq!(summary(&events).2, StreamEvent::Finished(Finish::Stop));

    let r = &server.requests()[0];
    assert_eq!(
        std::str::from_utf8(&r.body).expect("utf-8 body"),
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "messages": [
                {"role": "user", "content": "First question\n\nTrying again"}
            ],
            "stream": true
        })
        .to_string()
    );
}

// ---------------------------------------------------------------------------------------
// Cancellation

#[tokio::test]
async fn dropping_the_stream_mid_reply_closes_the_connection() {
    let server = MockServer::start(vec![(
        MESSAGES,
        MockResponse::sse(
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        )
        .ending(End::Stall),
    )])
    .await;
    let (first, _) = first_event_then_drop(&server, &spec(&server), request()).await;
    assert_eq!(first, Some(delta("Hi")));
    assert!(
        server.wait_for_disconnects(1, Duration::from_secs(3)).await,
        "the server did not see the client leave"
    );
}

// ---------------------------------------------------------------------------------------
// Model discovery

async fn discover(server: &MockServer) -> Result<Vec<String>, ProviderError> {
    list(&spec(server)).await
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|&s| s.to_owned()).collect()
}

#[tokio::test]
async fn models_are_listed_across_pages_with_after_id() {
    let page2 = json!({
        "data": [
            {"type": "model", "id": "claude-opus-4-1-20250805", "display_name": "Claude Opus 4.1", "created_at": "2025-08-05T00:00:00Z"}
        ],
        "has_more": false,
        "first_id": "claude-opus-4-1-20250805",
        "last_id": "claude-opus-4-1-20250805"
    })
    .to_string();
    let server = MockServer::start(vec![
        (
            MODELS,
            MockResponse::json(200, fixture("anthropic/models.json")),
        ),
        (MODELS, MockResponse::json(200, page2)),
    ])
    .await;
    assert_eq!(
        discover(&server).await,
        Ok(ids(&[
            "claude-haiku-4-5-20251001",
            "claude-opus-4-1-20250805",
            "claude-sonnet-4-5-20250929",
        ]))
    );
    let requests = server.requests();
    let seen: Vec<(&str, &str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.query.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("GET", MODELS, Some("limit=1000")),
            (
                "GET",
                MODELS,
                Some("limit=1000&after_id=claude-haiku-4-5-20251001")
            ),
        ]
    );
    for r in &requests {
        assert_eq!(r.header("x-api-key").as_deref(), Some(KEY));
        assert_eq!(r.header("anthropic-version").as_deref(), Some("2023-06-01"));
    }
}

#[tokio::test]
async fn a_cursor_that_does_not_move_stops_pagination() {
    // The mock repeats its last response: the same page, always `has_more`.
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::json(200, fixture("anthropic/models.json")),
    )])
    .await;
    assert_eq!(
        discover(&server).await,
        Ok(ids(&[
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-5-20250929",
        ]))
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn pagination_stops_after_twenty_pages() {
    let page = |n: usize| {
        json!({"data": [{"id": format!("m-{n:02}")}], "has_more": true, "last_id": format!("m-{n:02}")})
            .to_string()
    };
    let server = MockServer::start(vec![(MODELS, MockResponse::json(200, page(0)))]).await;
    for n in 1..30 {
        server.push(MODELS, MockResponse::json(200, page(n)));
    }
    let listed = discover(&server).await.expect("a list");
    assert_eq!(listed.len(), 20);
    assert_eq!(listed.last().map(String::as_str), Some("m-19"));
    assert_eq!(server.requests().len(), 20);
}

#[tokio::test]
async fn model_listing_errors_name_the_key_variable() {
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::fixture_error("anthropic/messages-401.status-401.json"),
    )])
    .await;
    assert_eq!(
        discover(&server).await.map_err(|e| e.to_string()),
        Err(
            "anthropic: HTTP 401 authentication_error: invalid x-api-key (check ANTHROPIC_API_KEY)"
                .to_owned()
        )
    );
}

#[tokio::test]
async fn a_listing_without_data_is_malformed() {
    let server =
        MockServer::start(vec![(MODELS, MockResponse::json(200, r#"{"models":[]}"#))]).await;
    assert_eq!(
        discover(&server).await,
        Err(Problem::Malformed {
            message: "the model list is not {\"data\":[{\"id\":...}]}".into()
        }
        .at("anthropic"))
    );
}
