//! The OpenAI-compatible provider against a local mock server: streaming, errors,
//! timeouts, cancellation and the exact request it sends.

// Helpers outside #[test] fns fail loudly too.
#![allow(clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::{Duration, Instant};

use common::{
    End, MockResponse, MockServer, chat_request, delta, failed, first_event_then_drop, fixture,
    incomplete, provider_spec, run, sent_exactly_once, split_replies, summary, three_turns, usage,
};
use pretty_assertions::assert_eq;
use serde_json::json;
use tinychat::conversation::{Finish, Usage};
use tinychat::provider::{
    ChatRequest, Problem, ProviderError, ProviderKind, ProviderSpec, StreamEvent,
};

const CHAT: &str = "/v1/chat/completions";
const KEY: &str = "sk-test-fake";

fn spec(server: &MockServer, name: &str) -> ProviderSpec {
    ProviderSpec {
        api_key: Some(KEY.to_owned()),
        key_env: Some(format!("{}_API_KEY", name.to_uppercase())),
        ..provider_spec(name, ProviderKind::OpenAi, server.url("/v1"))
    }
}

/// Retries have their own tests (tests/provider_retry.rs).
fn request() -> ChatRequest {
    chat_request("test-model", "Hi")
}

/// Serves `response` on the chat path and returns the events for a default request.
async fn reply(name: &str, response: MockResponse) -> Vec<StreamEvent> {
    let server = MockServer::start(vec![(CHAT, response)]).await;
    run(&spec(&server, name), request()).await
}

// ---------------------------------------------------------------------------------------
// Normal replies, whole and chunked

#[tokio::test]
async fn openai_fixture_streams_whole_and_in_1_3_7_byte_chunks() {
    let body = MockResponse::sse(fixture("openai/stream-basic.sse"));
    for (size, events) in split_replies(body, &[1, 3, 7], |r| reply("openai", r)).await {
        assert_eq!(
            summary(&events),
            (
                "Hello! How can I help you today?".to_owned(),
                None,
                StreamEvent::Finished(Finish::Stop)
            ),
            "chunk size {size}"
        );
    }
}

#[tokio::test]
async fn mistral_fixture_streams_whole_and_in_1_3_7_byte_chunks_with_usage_on_the_finish_chunk() {
    let body = MockResponse::sse(fixture("mistral/stream-basic.sse"));
    for (size, events) in split_replies(body, &[1, 3, 7], |r| reply("mistral", r)).await {
        assert_eq!(
            summary(&events),
            (
                "Bonjour ! Comment ça va ?".to_owned(),
                Some(Usage {
                    input_tokens: 10,
                    output_tokens: 8,
                    ..Usage::default()
                }),
                StreamEvent::Finished(Finish::Stop)
            ),
            "chunk size {size}"
        );
    }
}

#[tokio::test]
async fn multibyte_utf8_split_across_chunks_is_joined() {
    let response = MockResponse::sse("")
        .with_chunks(&[
            b"data: {\"choices\":[{\"delta\":{\"content\":\"caf\xc3",
            b"\xa9 \xf0\x9f",
            b"\xa6\x80\"}}]}\n",
            b"\ndata: [DONE]\n\n",
        ])
        .with_pause(Duration::from_millis(20));
    assert_eq!(
        reply("local", response).await,
        vec![delta("café 🦀"), StreamEvent::Finished(Finish::Stop)]
    );
}

#[tokio::test]
async fn comment_lines_are_ignored() {
    let body = ": OPENROUTER PROCESSING\n\n\
        data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\
        : OPENROUTER PROCESSING\n\n\
        data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
        data: [DONE]\n\n";
    assert_eq!(
        reply("openrouter", MockResponse::sse(body).chunked(5)).await,
        vec![delta("Hi"), StreamEvent::Finished(Finish::Stop)]
    );
}

#[tokio::test]
async fn usage_only_chunk_before_done_is_reported() {
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":null}\n\n\
        data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n\
        data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n\
        data: [DONE]\n\n";
    assert_eq!(
        reply("openai", MockResponse::sse(body)).await,
        vec![
            delta("Hi"),
            usage(9, 1),
            StreamEvent::Finished(Finish::Length),
        ]
    );
}

#[tokio::test]
async fn groq_usage_comes_from_x_groq_on_the_finish_chunk() {
    let body = "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"x_groq\":{\"id\":\"req_01fixture\"}}\n\n\
        data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Fast.\"},\"finish_reason\":null}]}\n\n\
        data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"x_groq\":{\"id\":\"req_01fixture\",\"usage\":{\"queue_time\":0.02,\"prompt_tokens\":15,\"prompt_time\":0.001,\"completion_tokens\":2,\"completion_time\":0.002,\"total_tokens\":17,\"total_time\":0.003}}}\n\n\
        data: [DONE]\n\n";
    assert_eq!(
        reply("groq", MockResponse::sse(body).chunked(7)).await,
        vec![
            delta("Fast."),
            usage(15, 2),
            StreamEvent::Finished(Finish::Stop),
        ]
    );
}

#[tokio::test]
async fn data_without_a_space_after_the_colon_is_read() {
    let body = "data:{\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\ndata:[DONE]\n\n";
    assert_eq!(
        reply("local", MockResponse::sse(body)).await,
        vec![delta("ok"), StreamEvent::Finished(Finish::Stop)]
    );
}

// ---------------------------------------------------------------------------------------
// Replies that end badly

#[tokio::test]
async fn openai_error_frame_keeps_partial_text_then_fails() {
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"Partial\"}}]}\n\n\
        data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
    let events = reply("openai", MockResponse::sse(body)).await;
    assert_eq!(events[0], delta("Partial"));
    assert_eq!(
        failed(&events).to_string(),
        "openai: error during the reply (server_error): The server had an error while processing your request."
    );
    assert_eq!(failed(&events).finish(), Finish::Error);
}

#[tokio::test]
async fn openrouter_unified_error_wins_over_its_finish_reason() {
    let body = "data: {\"id\":\"gen-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Once upon\"},\"finish_reason\":null}]}\n\n\
        data: {\"id\":\"gen-1\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"openai/gpt-4o-mini\",\"provider\":\"OpenAI\",\"error\":{\"code\":\"server_error\",\"message\":\"Provider disconnected unexpectedly\"},\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}\n\n\
        data: [DONE]\n\n";
    let events = reply("openrouter", MockResponse::sse(body)).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], delta("Once upon"));
    assert_eq!(
        failed(&events).to_string(),
        "openrouter: error during the reply (server_error): Provider disconnected unexpectedly"
    );
}

#[tokio::test]
async fn body_cut_before_done_is_incomplete_with_partial_text_kept() {
    // The last event has no blank line: the SSE parser drops it at EOF (SSE spec).
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
        data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}";
    let events = reply("local", MockResponse::sse(body)).await;
    assert_eq!(events, vec![delta("Hel"), incomplete("local")]);
    assert_eq!(
        failed(&events).to_string(),
        "local: the connection ended before the reply was complete"
    );
    assert_eq!(failed(&events).finish(), Finish::Incomplete);
}

#[tokio::test]
async fn finish_reason_then_eof_without_done_counts_as_finished() {
    let body =
        "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n";
    assert_eq!(
        reply("local", MockResponse::sse(body)).await,
        vec![delta("ok"), StreamEvent::Finished(Finish::Stop)]
    );
}

#[tokio::test]
async fn connection_dropped_mid_body_is_incomplete() {
    let response = MockResponse::sse("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n")
        .ending(End::Abort);
    assert_eq!(
        reply("local", response).await,
        vec![delta("Hel"), incomplete("local")]
    );
}

#[tokio::test]
async fn invalid_json_is_malformed() {
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[\n\ndata: [DONE]\n\n";
    let events = reply("local", MockResponse::sse(body)).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let error = failed(&events);
    assert!(
        matches!(error.problem, Problem::Malformed { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("local: unexpected response: invalid JSON in an event: "),
        "{error}"
    );
}

#[tokio::test]
async fn silence_longer_than_the_idle_timeout_is_a_timeout() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n")
            .ending(End::Stall),
    )])
    .await;
    let mut req = request();
    req.idle_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let events = run(&spec(&server, "local"), req).await;
    let elapsed = started.elapsed();
    assert_eq!(
        events,
        vec![
            delta("Hi"),
            StreamEvent::Failed(Problem::Timeout { seconds: 1 }.at("local"))
        ]
    );
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(
        failed(&events).to_string(),
        "local: no data for 1 s, gave up waiting (stream_timeout_secs)"
    );
    // Giving up drops the connection.
    assert!(server.wait_for_disconnects(1, Duration::from_secs(3)).await);
}

// ---------------------------------------------------------------------------------------
// HTTP errors before the stream

async fn http_failure(name: &str, response: MockResponse) -> ProviderError {
    let events = reply(name, response).await;
    assert_eq!(events.len(), 1, "{events:?}");
    failed(&events)
}

#[tokio::test]
async fn openai_401_names_the_code_message_and_key_variable() {
    let e = http_failure(
        "openai",
        MockResponse::fixture_error("openai/chat-401.status-401.json"),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "openai: HTTP 401 invalid_api_key: Incorrect API key provided: sk-fixt****************************0000. \
         You can find your API key at https://platform.openai.com/account/api-keys. (check OPENAI_API_KEY)"
    );
    assert_eq!(e.status(), Some(401));
}

#[tokio::test]
async fn openai_404_suggests_listing_models() {
    let e = http_failure(
        "openai",
        MockResponse::fixture_error("openai/chat-404-model.status-404.json"),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "openai: HTTP 404 model_not_found: The model `gpt-9-fixture` does not exist or you do not have access to it. \
         (run `tinychat models` to see the available models)"
    );
}

#[tokio::test]
async fn openai_429_says_rate_limited() {
    let e = http_failure(
        "openai",
        MockResponse::fixture_error("openai/chat-429.status-429.json"),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "openai: HTTP 429 rate_limit_exceeded: Rate limit reached for gpt-4o-mini in organization \
         org-FIXTURE000000000000000 on tokens per min (TPM): Limit 200000, Used 199100, Requested 1400. \
         Please try again in 150ms. Visit https://platform.openai.com/account/rate-limits to learn more. \
         (rate limited; wait and try again)"
    );
}

#[tokio::test]
async fn mistral_401_with_a_top_level_message() {
    let e = http_failure(
        "mistral",
        MockResponse::fixture_error("mistral/chat-401.status-401.json"),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "mistral: HTTP 401: Unauthorized (check MISTRAL_API_KEY)"
    );
}

#[tokio::test]
async fn mistral_newer_429_shape_prefers_code_over_type() {
    let body = r#"{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}"#;
    let e = http_failure("mistral", MockResponse::json(429, body)).await;
    assert_eq!(
        e.to_string(),
        "mistral: HTTP 429 1300: Rate limit exceeded (rate limited; wait and try again)"
    );
}

#[tokio::test]
async fn other_error_body_shapes_are_read() {
    let cases: Vec<(MockResponse, &str)> = vec![
        (
            MockResponse::json(
                422,
                r#"{"detail":[{"loc":["body","model"],"msg":"field required"}]}"#,
            ),
            r#"local: HTTP 422: [{"loc":["body","model"],"msg":"field required"}]"#,
        ),
        (
            MockResponse::json(404, r#"{"error":"model 'llama9.9' not found"}"#),
            "local: HTTP 404: model 'llama9.9' not found (run `tinychat models` to see the available models)",
        ),
        (
            MockResponse::json(
                401,
                r#"{"error":{"code":401,"message":"No auth credentials found"}}"#,
            ),
            "local: HTTP 401: No auth credentials found (check LOCAL_API_KEY)",
        ),
        (
            MockResponse::json(
                500,
                r#"{"error":{"message":{"detail":"boom"},"type":"api_error"}}"#,
            ),
            r#"local: HTTP 500 api_error: {"detail":"boom"}"#,
        ),
        (
            MockResponse::json(502, "  <html>Bad gateway</html>\n")
                .with_header("content-type", "text/html"),
            "local: HTTP 502: <html>Bad gateway</html>",
        ),
        (
            MockResponse::json(503, ""),
            "local: HTTP 503: Service Unavailable",
        ),
    ];
    for (response, expected) in cases {
        assert_eq!(http_failure("local", response).await.to_string(), expected);
    }
}

#[tokio::test]
async fn long_non_json_bodies_are_cut_to_300_characters() {
    let e = http_failure("local", MockResponse::json(500, "x".repeat(1000))).await;
    assert_eq!(
        e.to_string(),
        format!("local: HTTP 500: {}…", "x".repeat(300))
    );
}

#[tokio::test]
async fn auth_hint_without_a_key_variable_names_the_config_key() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::json(
            403,
            r#"{"error":{"message":"Forbidden","type":"permission_error"}}"#,
        ),
    )])
    .await;
    let mut provider = spec(&server, "local");
    provider.key_env = None;
    let events = run(&provider, request()).await;
    assert_eq!(
        failed(&events).to_string(),
        "local: HTTP 403 permission_error: Forbidden (check the provider's api_key)"
    );
}

#[tokio::test]
async fn a_key_echoed_by_the_server_is_redacted() {
    let body =
        format!(r#"{{"error":{{"message":"bad key {KEY} given","code":"invalid_api_key"}}}}"#);
    let e = http_failure("openai", MockResponse::json(401, body)).await;
    assert_eq!(
        e.to_string(),
        "openai: HTTP 401 invalid_api_key: bad key <redacted> given (check OPENAI_API_KEY)"
    );
}

#[tokio::test]
async fn refused_connection_names_the_url_and_asks_if_the_server_runs() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let server = MockServer::start(vec![]).await;
    let mut provider = spec(&server, "local");
    provider.base_url = format!("http://127.0.0.1:{port}/v1");
    let events = run(&provider, request()).await;
    assert_eq!(
        events,
        vec![StreamEvent::Failed(
            Problem::Connect {
                message: format!(
                    "cannot connect to http://127.0.0.1:{port}/v1: connection refused"
                ),
                hint: Some("is the server running?".into())
            }
            .at("local")
        )]
    );
    assert_eq!(
        failed(&events).to_string(),
        format!(
            "local: cannot connect to http://127.0.0.1:{port}/v1: connection refused (is the server running?)"
        )
    );
}

// ---------------------------------------------------------------------------------------
// The request on the wire

#[tokio::test]
async fn request_carries_key_extra_headers_and_exact_body() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse(fixture("openai/stream-basic.sse")),
    )])
    .await;
    let mut provider = spec(&server, "openai");
    provider.include_usage = true;
    provider
        .headers
        .insert("X-Title".to_owned(), "tinychat".to_owned());
    let req = three_turns("test-model", "Tell me more");
    let r = sent_exactly_once(&server, &provider, req, CHAT).await;
    assert_eq!(
        r.header("authorization").as_deref(),
        Some("Bearer sk-test-fake")
    );
    assert_eq!(r.header("x-title").as_deref(), Some("tinychat"));
    assert_eq!(
        std::str::from_utf8(&r.body).expect("utf-8 body"),
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Tell me more"}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "temperature": 0.25,
            "max_tokens": 256
        })
        .to_string()
    );
}

#[tokio::test]
async fn no_key_means_no_authorization_and_no_stream_options_unless_asked() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse(fixture("mistral/stream-basic.sse")),
    )])
    .await;
    let mut provider = spec(&server, "local");
    provider.api_key = None;
    provider.key_env = None;
    let events = run(&provider, request()).await;
    assert_eq!(summary(&events).2, StreamEvent::Finished(Finish::Stop));

    let r = &server.requests()[0];
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.json(),
        json!({
            "model": "test-model",
            "messages": [{"role": "user", "content": "Hi"}],
            "stream": true
        })
    );
}

// ---------------------------------------------------------------------------------------
// Cancellation

#[tokio::test]
async fn dropping_the_stream_mid_reply_closes_the_connection() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n")
            .ending(End::Stall),
    )])
    .await;
    let (first, disconnects_before) =
        first_event_then_drop(&server, &spec(&server, "local"), request()).await;
    assert_eq!(first, Some(delta("Hi")));
    assert_eq!(disconnects_before, 0);
    assert!(
        server.wait_for_disconnects(1, Duration::from_secs(3)).await,
        "the server did not see the client leave"
    );
}
