//! Cohere v2 chat against a local mock server: named SSE events whole and chunked, the
//! end at `message-end` (with or without `[DONE]`), finish reasons, error statuses and
//! retries, the exact request, and paginated model discovery.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::time::Duration;

use common::{
    End, MockResponse, MockServer, assistant, chat_request, delta, failed, fixture, incomplete,
    list, provider_spec, run, sent_exactly_once, split_replies, summary, three_turns, usage, user,
};
use pretty_assertions::assert_eq;
use serde_json::json;
use tinychat::conversation::{Finish, Usage};
use tinychat::provider::{
    ChatRequest, Problem, ProviderError, ProviderKind, ProviderSpec, StreamEvent,
};

const CHAT: &str = "/v2/chat";
const MODELS: &str = "/v1/models";
const KEY: &str = "co-test-fake-key";
const BASIC_TEXT: &str = "Hello! Nice to meet you. What shall we build?";

fn spec(server: &MockServer) -> ProviderSpec {
    ProviderSpec {
        api_key: Some(KEY.to_owned()),
        key_env: Some("COHERE_API_KEY".to_owned()),
        ..provider_spec("cohere", ProviderKind::Cohere, server.url(""))
    }
}

fn request() -> ChatRequest {
    chat_request("command-a-03-2025", "Hi")
}

/// Serves `response` on the chat path and returns the events for a default request.
async fn reply(response: MockResponse) -> Vec<StreamEvent> {
    let server = MockServer::start(vec![(CHAT, response)]).await;
    run(&spec(&server), request()).await
}

/// A `content-delta` event carrying `text`.
fn content(text: &str) -> String {
    let data =
        json!({"type":"content-delta","index":0,"delta":{"message":{"content":{"text":text}}}});
    format!("event: content-delta\ndata: {data}\n\n")
}

/// A `message-end` event with this `delta`.
fn message_end(delta: &serde_json::Value) -> String {
    let data = json!({"type":"message-end","delta":delta});
    format!("event: message-end\ndata: {data}\n\n")
}

const START: &str = "event: message-start\ndata: {\"id\":\"fixture-1\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}\n\n\
    event: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n";
const CONTENT_END: &str = "event: content-end\ndata: {\"type\":\"content-end\",\"index\":0}\n\n";

// ---------------------------------------------------------------------------------------
// Normal replies, whole and chunked

#[tokio::test]
async fn fixture_streams_whole_and_in_1_3_7_byte_chunks_with_token_usage() {
    let body = fixture("cohere/stream-basic.sse");
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 3, 7], reply).await {
        assert_eq!(
            summary(&events),
            (
                BASIC_TEXT.to_owned(),
                Some(Usage {
                    input_tokens: 71,
                    output_tokens: 11,
                    ..Usage::default()
                }),
                StreamEvent::Finished(Finish::Stop)
            ),
            "chunk size {size}"
        );
        assert_eq!(events.len(), 8, "6 deltas, usage, finish: {events:?}");
    }
}

#[tokio::test]
async fn without_done_at_all_the_reply_is_still_complete() {
    let body = format!(
        "{START}{}{CONTENT_END}{}",
        content("Hi there"),
        message_end(
            &json!({"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":3,"output_tokens":2}}})
        )
    );
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 7], reply).await {
        assert_eq!(
            events,
            vec![
                delta("Hi there"),
                usage(3, 2),
                StreamEvent::Finished(Finish::Stop),
            ],
            "chunk size {size}"
        );
    }
}

#[tokio::test]
async fn the_reply_ends_at_message_end_without_waiting_for_done() {
    let body = format!(
        "{}{}",
        content("Hi"),
        message_end(&json!({"finish_reason":"COMPLETE"}))
    );
    let server = MockServer::start(vec![(CHAT, MockResponse::sse(body).ending(End::Stall))]).await;
    let events = run(&spec(&server), request()).await;
    assert_eq!(
        events,
        vec![delta("Hi"), StreamEvent::Finished(Finish::Stop)]
    );
    assert!(server.wait_for_disconnects(1, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn max_tokens_is_a_cut_off_reply() {
    let body = format!(
        "{START}{}{CONTENT_END}{}data: [DONE]\n\n",
        content("Once upon a"),
        message_end(
            &json!({"finish_reason":"MAX_TOKENS","usage":{"billed_units":{"input_tokens":4,"output_tokens":3},"tokens":{"input_tokens":70,"output_tokens":3}}})
        )
    );
    assert_eq!(
        reply(MockResponse::sse(body).chunked(5)).await,
        vec![
            delta("Once upon a"),
            usage(70, 3),
            StreamEvent::Finished(Finish::Length),
        ]
    );
}

#[tokio::test]
async fn multibyte_utf8_split_across_chunks_is_joined() {
    let response = MockResponse::sse("")
        .with_chunks(&[
            b"event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"caf\xc3",
            b"\xa9 \xf0\x9f",
            b"\xa6\x80\"}}}}\n",
            b"\nevent: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"STOP_SEQUENCE\"}}\n\n",
        ])
        .with_pause(Duration::from_millis(20));
    assert_eq!(
        reply(response).await,
        vec![delta("café 🦀"), StreamEvent::Finished(Finish::Stop)]
    );
}

#[tokio::test]
async fn tool_plans_and_citations_are_not_reply_text_and_thinking_is_thinking() {
    let body = format!(
        "event: content-delta\ndata: {}\n\n\
         event: tool-plan-delta\ndata: {}\n\n\
         {}\
         event: citation-start\ndata: {}\n\n\
         event: citation-end\ndata: {{\"type\":\"citation-end\",\"index\":0}}\n\n\
         event: debug\ndata: {{\"type\":\"debug\",\"prompt\":\"x\"}}\n\n\
         {}",
        json!({"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"Let me think."}}}}),
        json!({"type":"tool-plan-delta","delta":{"message":{"tool_plan":"I will search."}}}),
        content("Answer."),
        json!({"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0,"end":6,"text":"Answer"}}}}),
        message_end(&json!({"finish_reason":"TOOL_CALL"}))
    );
    assert_eq!(
        reply(MockResponse::sse(body).chunked(11)).await,
        vec![
            StreamEvent::Reasoning("Let me think.".into()),
            delta("Answer."),
            // The reply stopped for a tool call tinychat never offered: it shows.
            StreamEvent::Failed(
                Problem::Ended {
                    field: "finish_reason",
                    reason: "TOOL_CALL".into(),
                    message: "the model stopped to call a tool, which tinychat does not offer"
                        .into()
                }
                .at("cohere")
            )
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Replies that end badly

#[tokio::test]
async fn finish_error_keeps_the_text_and_shows_delta_error() {
    let body = format!(
        "{START}{}{CONTENT_END}{}data: [DONE]\n\n",
        content("Partial"),
        message_end(
            &json!({"finish_reason":"ERROR","error":"internal error while generating the response"})
        )
    );
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 7], reply).await {
        assert_eq!(events[0], delta("Partial"), "chunk size {size}");
        let error = failed(&events);
        assert_eq!(
            error.to_string(),
            "cohere: error during the reply: internal error while generating the response"
        );
        assert_eq!(error.finish(), Finish::Error);
    }
}

#[tokio::test]
async fn finish_error_without_a_message_and_timeout_still_fail() {
    let body = format!(
        "{}{}",
        content("a"),
        message_end(&json!({"finish_reason":"ERROR"}))
    );
    assert_eq!(
        failed(&reply(MockResponse::sse(body)).await).to_string(),
        "cohere: error during the reply: the model reported an error"
    );
    let body = format!(
        "{}{}",
        content("a"),
        message_end(&json!({"finish_reason":"TIMEOUT"}))
    );
    assert_eq!(
        failed(&reply(MockResponse::sse(body)).await).to_string(),
        "cohere: error during the reply: the model timed out before it finished"
    );
}

#[tokio::test]
async fn body_cut_before_message_end_is_incomplete_with_partial_text_kept() {
    let full = fixture("cohere/stream-basic.sse");
    let text = String::from_utf8(full).expect("utf-8 fixture");
    let cut = text.find("event: message-end").expect("message-end");
    for body in [&text[..cut], &text[..cut + 40]] {
        let body = MockResponse::sse(body.to_owned());
        for (size, events) in split_replies(body, &[1, 7], reply).await {
            assert_eq!(
                summary(&events),
                (BASIC_TEXT.to_owned(), None, incomplete("cohere")),
                "chunk size {size}"
            );
            assert_eq!(
                failed(&events).to_string(),
                "cohere: the connection ended before the reply was complete"
            );
        }
    }
}

#[tokio::test]
async fn connection_dropped_mid_body_is_incomplete() {
    let response = MockResponse::sse(content("Hel")).ending(End::Abort);
    assert_eq!(
        reply(response).await,
        vec![delta("Hel"), incomplete("cohere")]
    );
}

#[tokio::test]
async fn silence_longer_than_the_idle_timeout_is_a_timeout() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse(content("Hi")).ending(End::Stall),
    )])
    .await;
    let mut req = request();
    req.idle_timeout = Duration::from_millis(300);
    let events = run(&spec(&server), req).await;
    assert_eq!(
        events,
        vec![
            delta("Hi"),
            StreamEvent::Failed(Problem::Timeout { seconds: 1 }.at("cohere"))
        ]
    );
    assert!(server.wait_for_disconnects(1, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn invalid_json_is_malformed() {
    let body = format!(
        "{}event: content-delta\ndata: {{\"type\":\n\n",
        content("a")
    );
    let events = reply(MockResponse::sse(body)).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        failed(&events)
            .to_string()
            .starts_with("cohere: unexpected response: invalid JSON in an event: "),
        "{events:?}"
    );
}

// ---------------------------------------------------------------------------------------
// HTTP errors before the stream

/// The single failure of a request with `max_retries` retries, and how many requests
/// the server saw.
async fn http_failure(response: MockResponse, max_retries: u32) -> (ProviderError, usize) {
    let server = MockServer::start(vec![(CHAT, response)]).await;
    let mut req = request();
    req.max_retries = max_retries;
    let events = run(&spec(&server), req).await;
    let error = failed(&events);
    (error, server.requests().len())
}

#[tokio::test]
async fn invalid_token_401_names_the_key_variable_and_is_not_retried() {
    let (e, requests) = http_failure(
        MockResponse::fixture_error("cohere/chat-401.status-401.json"),
        2,
    )
    .await;
    assert_eq!(
        e.to_string(),
        "cohere: HTTP 401: invalid api token (check COHERE_API_KEY)"
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn status_498_is_a_bad_token_and_498_499_are_never_retried() {
    let (e, requests) =
        http_failure(MockResponse::json(498, r#"{"message":"invalid token"}"#), 2).await;
    assert_eq!(
        e.to_string(),
        "cohere: HTTP 498: invalid token (check COHERE_API_KEY)"
    );
    assert_eq!(requests, 1);
    let (e, requests) = http_failure(
        MockResponse::json(499, r#"{"message":"request cancelled"}"#)
            .with_header("x-should-retry", "true"),
        2,
    )
    .await;
    assert_eq!(e.to_string(), "cohere: HTTP 499: request cancelled");
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn other_statuses_have_their_hints() {
    let cases = [
        (
            MockResponse::json(
                400,
                r#"{"message":"invalid request: messages must not be empty"}"#,
            ),
            "cohere: HTTP 400: invalid request: messages must not be empty",
        ),
        (
            MockResponse::json(
                404,
                r#"{"message":"model 'command-z' not found, make sure the correct model ID was used and that you have access to the model."}"#,
            ),
            "cohere: HTTP 404: model 'command-z' not found, make sure the correct model ID was used and that you have access to the model. (run `tinychat models` to see the available models)",
        ),
        (
            MockResponse::json(
                429,
                r#"{"message":"You are using a Trial key, which is limited to 10 API calls / minute."}"#,
            ),
            "cohere: HTTP 429: You are using a Trial key, which is limited to 10 API calls / minute. (rate limited; wait and try again)",
        ),
        (
            MockResponse::json(
                500,
                r#"{"message":"internal server error, this has been reported to our developers"}"#,
            ),
            "cohere: HTTP 500: internal server error, this has been reported to our developers",
        ),
    ];
    for (response, expected) in cases {
        assert_eq!(http_failure(response, 0).await.0.to_string(), expected);
    }
}

#[tokio::test]
async fn rate_limit_429_is_retried_then_streams() {
    let server = MockServer::start(vec![
        (
            CHAT,
            MockResponse::json(429, r#"{"message":"too many requests"}"#)
                .with_header("retry-after", "0"),
        ),
        (CHAT, MockResponse::sse(fixture("cohere/stream-basic.sse"))),
    ])
    .await;
    let mut req = request();
    req.max_retries = 1;
    let events = run(&spec(&server), req).await;
    assert_eq!(
        events[0],
        StreamEvent::Retrying {
            reason: "rate limited".into(),
            delay: Duration::ZERO,
            attempt: 1,
            of: 1
        }
    );
    assert_eq!(
        summary(&events[1..]),
        (
            BASIC_TEXT.to_owned(),
            Some(Usage {
                input_tokens: 71,
                output_tokens: 11,
                ..Usage::default()
            }),
            StreamEvent::Finished(Finish::Stop)
        )
    );
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------
// The request on the wire

#[tokio::test]
async fn three_turns_with_a_system_prompt_are_sent_exactly() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse(fixture("cohere/stream-basic.sse")),
    )])
    .await;
    let req = three_turns("command-a-03-2025", "Tell me more");
    let r = sent_exactly_once(&server, &spec(&server), req, CHAT).await;
    assert_eq!(
        r.header("authorization").as_deref(),
        Some("Bearer co-test-fake-key")
    );
    assert_eq!(
        std::str::from_utf8(&r.body).expect("utf-8 body"),
        json!({
            "model": "command-a-03-2025",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Tell me more"}
            ],
            "stream": true,
            "temperature": 0.25,
            "max_tokens": 256
        })
        .to_string()
    );
}

#[tokio::test]
async fn a_failed_turn_left_out_merges_the_two_user_messages() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse(fixture("cohere/stream-basic.sse")),
    )])
    .await;
    let mut req = request();
    // The reply between "Hi" and "Hello?" failed before its first token: omitted.
    req.messages = vec![user("Hi"), assistant("Hello!"), user("Hi"), user("Hello?")];
    let events = run(&spec(&server), req).await;
    assert_eq!(summary(&events).2, StreamEvent::Finished(Finish::Stop));
    assert_eq!(
        server.requests()[0].json(),
        json!({
            "model": "command-a-03-2025",
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Hi\n\nHello?"}
            ],
            "stream": true
        })
    );
}

// ---------------------------------------------------------------------------------------
// Model discovery

async fn listed(server: &MockServer) -> Result<Vec<String>, ProviderError> {
    list(&spec(server)).await
}

#[tokio::test]
async fn models_fixture_keeps_only_chat_models() {
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::json(200, fixture("cohere/models.json")),
    )])
    .await;
    assert_eq!(
        listed(&server).await,
        Ok(vec!["command-a-03-2025".to_owned()])
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", MODELS)
    );
    assert_eq!(
        requests[0].query.as_deref(),
        Some("page_size=1000&endpoint=chat")
    );
    assert_eq!(
        requests[0].header("authorization").as_deref(),
        Some("Bearer co-test-fake-key")
    );
}

#[tokio::test]
async fn model_pages_are_followed_by_next_page_token() {
    let page1 = json!({
        "models": [
            {"name": "command-r7b-12-2024", "endpoints": ["chat", "generate"]},
            {"name": "rerank-v3.5", "endpoints": ["rerank"]}
        ],
        "next_page_token": "page 2/+="
    });
    let page2 = json!({
        "models": [
            {"name": "command-a-03-2025", "endpoints": ["chat"]},
            {"name": "c4ai-aya-expanse-8b"}
        ],
        "next_page_token": null
    });
    let server = MockServer::start(vec![
        (MODELS, MockResponse::json(200, page1.to_string())),
        (MODELS, MockResponse::json(200, page2.to_string())),
    ])
    .await;
    assert_eq!(
        listed(&server).await,
        Ok(vec![
            "c4ai-aya-expanse-8b".to_owned(),
            "command-a-03-2025".to_owned(),
            "command-r7b-12-2024".to_owned(),
        ])
    );
    let queries: Vec<Option<String>> = server.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        vec![
            Some("page_size=1000&endpoint=chat".to_owned()),
            Some("page_size=1000&endpoint=chat&page_token=page+2%2F%2B%3D".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_repeated_page_token_stops_discovery() {
    let page = json!({"models": [{"name": "command-a-03-2025", "endpoints": ["chat"]}], "next_page_token": "same"});
    let server = MockServer::start(vec![(MODELS, MockResponse::json(200, page.to_string()))]).await;
    assert_eq!(
        listed(&server).await,
        Ok(vec!["command-a-03-2025".to_owned()])
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_rejected_key_fails_discovery_with_the_key_hint() {
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::fixture_error("cohere/chat-401.status-401.json"),
    )])
    .await;
    assert_eq!(
        listed(&server).await.expect_err("401").to_string(),
        "cohere: HTTP 401: invalid api token (check COHERE_API_KEY)"
    );
}
