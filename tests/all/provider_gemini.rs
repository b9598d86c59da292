//! The Gemini provider against a local mock server: CRLF streams, finish and block
//! reasons, error bodies and retry hints, the exact request it sends (key in a header,
//! never in the URL) and model discovery across pages.

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
    End, MockResponse, MockServer, chat_request, delta, failed, fixture, incomplete, list,
    provider_spec, run, sent_exactly_once, split_replies, summary, three_turns, usage, user,
};
use pretty_assertions::assert_eq;
use serde_json::json;
use tinychat::conversation::{Finish, Usage};
use tinychat::provider::{
    ChatRequest, Problem, ProviderError, ProviderKind, ProviderSpec, RetryHint, StreamEvent,
};

const MODEL: &str = "gemini-2.5-flash";
const CHAT: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
const MODELS: &str = "/v1beta/models";
const KEY: &str = "fake-gemini-key-0000";
const BASIC_TEXT: &str =
    "Rust's ownership model guarantees memory safety without a garbage collector.";

fn spec(server: &MockServer) -> ProviderSpec {
    ProviderSpec {
        api_key: Some(KEY.to_owned()),
        key_env: Some("GEMINI_API_KEY".to_owned()),
        ..provider_spec("gemini", ProviderKind::Gemini, server.url(""))
    }
}

fn request() -> ChatRequest {
    chat_request(MODEL, "Hi")
}

/// Serves `response` on the chat path and returns the events for a default request.
async fn reply(response: MockResponse) -> Vec<StreamEvent> {
    let server = MockServer::start(vec![(CHAT, response)]).await;
    run(&spec(&server), request()).await
}

/// One CRLF-framed SSE event, as Gemini sends it.
fn frame(json: &str) -> String {
    format!("data: {json}\r\n\r\n")
}

fn text_chunk(text: &str) -> String {
    frame(
        &json!({"candidates":[{"content":{"parts":[{"text":text}],"role":"model"},"index":0}],
                "usageMetadata":{"promptTokenCount":4,"totalTokenCount":4},"modelVersion":MODEL})
        .to_string(),
    )
}

// ---------------------------------------------------------------------------------------
// Normal replies, whole and chunked

#[tokio::test]
async fn crlf_fixture_streams_whole_and_in_1_3_7_byte_chunks() {
    let body = fixture("gemini/stream-basic-crlf.sse");
    for (size, events) in split_replies(MockResponse::sse(body), &[1, 3, 7], reply).await {
        assert_eq!(
            events,
            vec![
                delta("Rust's ownership"),
                usage(9, 0),
                delta(" model guarantees memory safety"),
                delta(" without a garbage collector."),
                // candidatesTokenCount 14 + thoughtsTokenCount 38.
                StreamEvent::Usage(Usage {
                    reasoning_tokens: Some(38),
                    ..Usage::new(9, 52)
                }),
                StreamEvent::Finished(Finish::Stop),
            ],
            "chunk size {size}"
        );
        assert_eq!(summary(&events).0, BASIC_TEXT);
    }
}

#[tokio::test]
async fn thought_parts_are_thinking_not_answer_text() {
    let body = [
        frame(
            r#"{"candidates":[{"content":{"parts":[{"text":"**Weighing the question** The user wants…","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":6,"totalTokenCount":6}}"#,
        ),
        frame(
            r#"{"candidates":[{"content":{"parts":[{"text":"Forty-two.","thoughtSignature":"c2lnbmF0dXJl"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":6,"candidatesTokenCount":4,"thoughtsTokenCount":20,"totalTokenCount":30}}"#,
        ),
    ]
    .concat();
    assert_eq!(
        reply(MockResponse::sse(body).chunked(5)).await,
        vec![
            StreamEvent::Reasoning("**Weighing the question** The user wants…".into()),
            usage(6, 0),
            delta("Forty-two."),
            StreamEvent::Usage(Usage {
                reasoning_tokens: Some(20),
                ..Usage::new(6, 24)
            }),
            StreamEvent::Finished(Finish::Stop),
        ]
    );
}

#[tokio::test]
async fn max_tokens_finishes_as_cut_at_the_length_limit() {
    let body = [
        text_chunk("The list: one,"),
        frame(
            r#"{"candidates":[{"content":{"parts":[{"text":" two"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":5,"totalTokenCount":9}}"#,
        ),
    ]
    .concat();
    assert_eq!(
        reply(MockResponse::sse(body)).await,
        vec![
            delta("The list: one,"),
            usage(4, 0),
            delta(" two"),
            usage(4, 5),
            StreamEvent::Finished(Finish::Length),
        ]
    );
}

#[tokio::test]
async fn multibyte_utf8_split_across_chunks_is_joined() {
    let response = MockResponse::sse("")
        .with_chunks(&[
            b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"caf\xc3",
            b"\xa9 \xf0\x9f",
            b"\xa6\x80\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}]}\r",
            b"\n\r",
            b"\n",
        ])
        .with_pause(Duration::from_millis(20));
    assert_eq!(
        reply(response).await,
        vec![delta("café 🦀"), StreamEvent::Finished(Finish::Stop)]
    );
}

#[tokio::test]
async fn a_quiet_connection_after_the_finish_reason_still_finishes() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse(frame(
            r#"{"candidates":[{"content":{"parts":[{"text":"Done."}],"role":"model"},"finishReason":"STOP","index":0}]}"#,
        ))
        .ending(End::Stall),
    )])
    .await;
    let mut req = request();
    req.idle_timeout = Duration::from_millis(300);
    assert_eq!(
        run(&spec(&server), req).await,
        vec![delta("Done."), StreamEvent::Finished(Finish::Stop)]
    );
}

// ---------------------------------------------------------------------------------------
// Replies that end badly

#[tokio::test]
async fn a_safety_block_keeps_the_partial_text_and_says_why() {
    let body = [
        text_chunk("Here is how"),
        frame(
            r#"{"candidates":[{"content":{"parts":[{"text":" to"}],"role":"model"},"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":4,"totalTokenCount":8}}"#,
        ),
    ]
    .concat();
    let events = reply(MockResponse::sse(body).chunked(7)).await;
    assert_eq!(summary(&events).0, "Here is how to");
    let e = failed(&events);
    assert_eq!(
        e.to_string(),
        "gemini: error during the reply (SAFETY): the reply was blocked by the safety filters"
    );
    assert_eq!(e.finish(), Finish::Error);
}

#[tokio::test]
async fn a_blocked_prompt_says_the_prompt_was_blocked_and_why() {
    let body = frame(
        r#"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":11,"totalTokenCount":11},"modelVersion":"gemini-2.5-flash"}"#,
    );
    let events = reply(MockResponse::sse(body)).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], usage(11, 0));
    assert_eq!(
        failed(&events).to_string(),
        "gemini: error during the reply (SAFETY): the prompt was blocked by the safety filters"
    );
}

#[tokio::test]
async fn an_error_payload_mid_stream_keeps_the_partial_text_then_fails() {
    let body = [
        text_chunk("Partial"),
        frame(
            r#"{"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}}"#,
        ),
    ]
    .concat();
    let events = reply(MockResponse::sse(body)).await;
    assert_eq!(events[0], delta("Partial"));
    assert_eq!(
        failed(&events).to_string(),
        "gemini: error during the reply (INTERNAL): An internal error has occurred. \
         Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
    );
}

#[tokio::test]
async fn a_body_cut_before_the_finish_reason_is_incomplete() {
    // Whole events but no finishReason, then EOF.
    let events = reply(MockResponse::sse(text_chunk("Hel"))).await;
    assert_eq!(
        events,
        vec![delta("Hel"), usage(4, 0), incomplete("gemini")]
    );
    assert_eq!(
        failed(&events).to_string(),
        "gemini: the connection ended before the reply was complete"
    );
    assert_eq!(failed(&events).finish(), Finish::Incomplete);

    // The finishing event itself cut off before its blank line: the SSE parser drops it.
    let fixture = fixture("gemini/stream-basic-crlf.sse");
    let cut = fixture[..fixture.len() - 2].to_vec();
    let events = reply(MockResponse::sse(cut).chunked(3)).await;
    assert_eq!(
        summary(&events),
        (
            "Rust's ownership model guarantees memory safety".to_owned(),
            Some(Usage {
                input_tokens: 9,
                output_tokens: 0,
                ..Usage::default()
            }),
            incomplete("gemini")
        )
    );
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_incomplete() {
    let response = MockResponse::sse(text_chunk("Hel")).ending(End::Abort);
    assert_eq!(
        reply(response).await,
        vec![delta("Hel"), usage(4, 0), incomplete("gemini")]
    );
}

#[tokio::test]
async fn a_json_array_instead_of_a_stream_is_malformed() {
    let events = reply(MockResponse::json(200, "[{\"candidates\":[]}]")).await;
    assert_eq!(
        events,
        vec![StreamEvent::Failed(
            Problem::Malformed {
                message: "expected an event stream, got a JSON body".into()
            }
            .at("gemini")
        )]
    );
}

// ---------------------------------------------------------------------------------------
// HTTP errors before the stream

async fn http_failure(response: MockResponse) -> (ProviderError, MockServer) {
    let server = MockServer::start(vec![(CHAT, response)]).await;
    let events = run(&spec(&server), request()).await;
    assert_eq!(events.len(), 1, "{events:?}");
    (failed(&events), server)
}

fn retry_of(e: &ProviderError) -> RetryHint {
    match &e.problem {
        Problem::Http { retry, .. } => *retry,
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_key_is_a_400_that_names_the_variable_and_is_never_retried() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::fixture_error("gemini/generate-400-api-key.status-400.json"),
    )])
    .await;
    let mut req = request();
    req.max_retries = 2;
    let events = run(&spec(&server), req).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = failed(&events);
    assert_eq!(
        e.to_string(),
        "gemini: HTTP 400 INVALID_ARGUMENT: API key not valid. Please pass a valid API key. \
         (check GEMINI_API_KEY)"
    );
    assert_eq!(retry_of(&e).allowed, Some(false));
    assert_eq!(server.requests().len(), 1);
}

const QUOTA_429: &str = r#"{
  "error": {
    "code": 429,
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
      {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [
          {
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
            "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
            "quotaValue": "10"
          }
        ]
      },
      {
        "@type": "type.googleapis.com/google.rpc.Help",
        "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]
      },
      {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "RETRY_DELAY"
      }
    ]
  }
}"#;

#[tokio::test]
async fn a_429_reads_the_wait_from_retry_info() {
    let body = QUOTA_429.replace("RETRY_DELAY", "47s");
    let (e, _server) = http_failure(MockResponse::json(429, body)).await;
    assert_eq!(
        e.to_string(),
        "gemini: HTTP 429 RESOURCE_EXHAUSTED: You exceeded your current quota, please check your \
         plan and billing details. (rate limited; try again in 47 s)"
    );
    assert_eq!(
        retry_of(&e),
        RetryHint {
            after: Some(Duration::from_secs(47)),
            allowed: None
        }
    );
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_delay_then_the_reply_streams() {
    let server = MockServer::start(vec![
        (
            CHAT,
            MockResponse::json(429, QUOTA_429.replace("RETRY_DELAY", "0.01s")),
        ),
        (
            CHAT,
            MockResponse::sse(fixture("gemini/stream-basic-crlf.sse")),
        ),
    ])
    .await;
    let mut req = request();
    req.max_retries = 2;
    let started = Instant::now();
    let events = run(&spec(&server), req).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        events[0],
        StreamEvent::Retrying {
            reason: "rate limited".into(),
            delay: Duration::from_millis(10),
            attempt: 1,
            of: 2
        }
    );
    assert_eq!(
        summary(&events[1..]),
        (
            BASIC_TEXT.to_owned(),
            Some(Usage {
                input_tokens: 9,
                output_tokens: 52,
                reasoning_tokens: Some(38),
                ..Usage::default()
            }),
            StreamEvent::Finished(Finish::Stop)
        )
    );
    assert_eq!(server.requests().len(), 2);
}

const OVERLOADED_503: &str = r#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#;

#[tokio::test]
async fn a_503_says_overloaded_and_is_retried() {
    let (e, _server) = http_failure(MockResponse::json(503, OVERLOADED_503)).await;
    assert_eq!(
        e.to_string(),
        "gemini: HTTP 503 UNAVAILABLE: The model is overloaded. Please try again later."
    );

    let server = MockServer::start(vec![
        (CHAT, MockResponse::json(503, OVERLOADED_503)),
        (
            CHAT,
            MockResponse::sse(fixture("gemini/stream-basic-crlf.sse")),
        ),
    ])
    .await;
    let mut req = request();
    req.max_retries = 1;
    let events = run(&spec(&server), req).await;
    assert!(
        matches!(&events[0], StreamEvent::Retrying { reason, attempt: 1, of: 1, .. } if reason == "HTTP 503"),
        "{events:?}"
    );
    assert_eq!(summary(&events[1..]).2, StreamEvent::Finished(Finish::Stop));
}

#[tokio::test]
async fn an_unknown_model_suggests_listing_models() {
    let body = r#"{"error":{"code":404,"message":"models/gemini-9-pro is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.","status":"NOT_FOUND"}}"#;
    let (e, _server) = http_failure(MockResponse::json(404, body)).await;
    assert_eq!(
        e.to_string(),
        "gemini: HTTP 404 NOT_FOUND: models/gemini-9-pro is not found for API version v1beta, or \
         is not supported for generateContent. Call ListModels to see the list of available \
         models and their supported methods. (run `tinychat models` to see the available models)"
    );
}

#[tokio::test]
async fn other_error_statuses_show_the_rpc_status() {
    let cases = [
        (
            403,
            r#"{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}"#,
            "gemini: HTTP 403 PERMISSION_DENIED: Method doesn't allow unregistered callers (callers \
             without established identity). Please use API Key or other form of API consumer \
             identity to call this API. (check GEMINI_API_KEY)",
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}"#,
            "gemini: HTTP 400 FAILED_PRECONDITION: User location is not supported for the API use.",
        ),
        (
            500,
            r#"{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"#,
            "gemini: HTTP 500 INTERNAL: An internal error has occurred.",
        ),
        (
            502,
            "<html><title>502 Bad Gateway</title></html>",
            "gemini: HTTP 502: <html><title>502 Bad Gateway</title></html>",
        ),
    ];
    for (status, body, expected) in cases {
        let (e, _server) = http_failure(MockResponse::json(status, body)).await;
        assert_eq!(e.to_string(), expected);
    }
}

#[tokio::test]
async fn a_key_echoed_in_an_error_is_redacted() {
    let body = format!(
        r#"{{"error":{{"code":400,"message":"API key {KEY} expired. Please renew the API key.","status":"INVALID_ARGUMENT","details":[{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}}]}}}}"#
    );
    let (e, _server) = http_failure(MockResponse::json(400, body)).await;
    assert_eq!(
        e.to_string(),
        "gemini: HTTP 400 INVALID_ARGUMENT: API key <redacted> expired. Please renew the API key. \
         (check GEMINI_API_KEY)"
    );
}

// ---------------------------------------------------------------------------------------
// The request on the wire

#[tokio::test]
async fn a_three_turn_request_with_a_system_prompt_is_exact_and_keeps_the_key_out_of_the_url() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse(fixture("gemini/stream-basic-crlf.sse")),
    )])
    .await;
    let mut provider = spec(&server);
    provider
        .headers
        .insert("X-Extra".to_owned(), "tinychat".to_owned());
    // A `models/` prefix is not doubled.
    let req = three_turns(&format!("models/{MODEL}"), "Tell me more");
    let r = sent_exactly_once(&server, &provider, req, CHAT).await;
    // The path is pinned to CHAT above, so the key could only leak in the query: check
    // there, before the exact query, so a leak is reported as one.
    let query = r.query.as_deref().unwrap_or_default();
    assert!(!query.contains(KEY), "key in the URL: {query}");
    assert_eq!(r.query.as_deref(), Some("alt=sse"));
    assert_eq!(r.header("x-goog-api-key").as_deref(), Some(KEY));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.header("x-extra").as_deref(), Some("tinychat"));
    assert_eq!(
        std::str::from_utf8(&r.body).expect("utf-8 body"),
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "Hi"}]},
                {"role": "model", "parts": [{"text": "Hello!"}]},
                {"role": "user", "parts": [{"text": "Tell me more"}]}
            ],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "generationConfig": {"temperature": 0.25, "maxOutputTokens": 256}
        })
        .to_string()
    );
}

#[tokio::test]
async fn a_history_with_a_failed_reply_still_alternates() {
    let server = MockServer::start(vec![(
        CHAT,
        MockResponse::sse(fixture("gemini/stream-basic-crlf.sse")),
    )])
    .await;
    let mut req = request();
    // The reply to "Hi" failed before its first token, so it is not in the history.
    req.messages.push(user("Are you there?"));
    let events = run(&spec(&server), req).await;
    assert_eq!(summary(&events).2, StreamEvent::Finished(Finish::Stop));
    assert_eq!(
        server.requests()[0].json(),
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "Hi\n\nAre you there?"}]}
            ]
        })
    );
}

// ---------------------------------------------------------------------------------------
// Model discovery

async fn discover(server: &MockServer) -> Result<Vec<String>, ProviderError> {
    list(&spec(server)).await
}

#[tokio::test]
async fn models_are_discovered_across_pages_keeping_chat_models_only() {
    let page_two = json!({
        "models": [
            {"name": "models/gemini-2.5-pro", "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/imagen-4.0-generate-001", "supportedGenerationMethods": ["predict"]},
            {"name": "models/gemini-2.0-flash", "supportedGenerationMethods": ["generateContent"]}
        ]
    })
    .to_string();
    let server = MockServer::start(vec![
        (
            MODELS,
            MockResponse::json(200, fixture("gemini/models.json")),
        ),
        (MODELS, MockResponse::json(200, page_two)),
    ])
    .await;
    assert_eq!(
        discover(&server).await,
        Ok(vec![
            "gemini-2.0-flash".to_owned(),
            "gemini-2.5-flash".to_owned(),
            "gemini-2.5-pro".to_owned(),
        ])
    );
    let requests = server.requests();
    let asked: Vec<(&str, &str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.query.as_deref()))
        .collect();
    assert_eq!(
        asked,
        vec![
            ("GET", MODELS, Some("pageSize=1000")),
            (
                "GET",
                MODELS,
                Some("pageSize=1000&pageToken=FiXtUrEpAgEtOkEn")
            ),
        ]
    );
    for r in &requests {
        assert_eq!(r.header("x-goog-api-key").as_deref(), Some(KEY));
    }
}

#[tokio::test]
async fn discovery_stops_at_a_repeated_page_token() {
    // The last response repeats for ever: the same token twice ends the walk.
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::json(200, fixture("gemini/models.json")),
    )])
    .await;
    assert_eq!(
        discover(&server).await,
        Ok(vec!["gemini-2.5-flash".to_owned()])
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn discovery_with_a_bad_key_fails_with_the_message() {
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::fixture_error("gemini/generate-400-api-key.status-400.json"),
    )])
    .await;
    let e = discover(&server).await.expect_err("a 400 fails discovery");
    assert_eq!(e.status(), Some(400));
    assert!(
        e.to_string()
            .contains("API key not valid. Please pass a valid API key."),
        "{e}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_model_list_is_malformed() {
    let server = MockServer::start(vec![(MODELS, MockResponse::json(200, "[]"))]).await;
    assert_eq!(
        discover(&server).await,
        Err(Problem::Malformed {
            message: "the model list is not {\"models\":[{\"name\":...}]}".into()
        }
        .at("gemini"))
    );
}
