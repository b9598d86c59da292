//! Thinking ("reasoning") replies of every provider kind against a local mock server,
//! each fixture whole and cut into 1-, 3- and 7-byte pieces: the exact thinking,
//! answer, usage and terminal event; a `<think>` tag split across events; a reply that
//! is only thinking; the hint when a provider refuses a thinking option; and a
//! message's stored thinking never reaching any kind's request body.

// Helpers outside #[test] fns fail loudly too.
#![allow(clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use common::{MockResponse, MockServer, chat_request, delta, failed, fixture, provider_spec, run};
use pretty_assertions::assert_eq;
use tinychat::conversation::{Conversation, Finish, Message, Usage};
use tinychat::model_settings::ReasoningEffort;
use tinychat::provider::{ChatRequest, ProviderKind, ProviderSpec, StreamEvent};

const SIZES: [usize; 3] = [1, 3, 7];

fn thinking(text: &str) -> StreamEvent {
    StreamEvent::Reasoning(text.to_owned())
}

/// The events of `body` served at `path` whole and at every size in [`SIZES`], each
/// checked against `expected`.
async fn check_every_chunking(
    kind: ProviderKind,
    name: &str,
    base: &str,
    path: &str,
    response: MockResponse,
    expected: &[StreamEvent],
) {
    let whole: usize = response.chunks.iter().map(bytes::Bytes::len).sum();
    for size in std::iter::once(whole).chain(SIZES) {
        let server = MockServer::start(vec![(path, response.clone().chunked(size))]).await;
        let spec = ProviderSpec {
            api_key: Some("test-key-fake".to_owned()),
            ..provider_spec(name, kind, server.url(base))
        };
        let events = run(&spec, chat_request("m", "Hi")).await;
        assert_eq!(events, expected, "{name}, chunk size {size}");
    }
}

const OPENAI_CHAT: &str = "/v1/chat/completions";

#[tokio::test]
async fn reasoning_content_streams_as_thinking_before_the_answer() {
    check_every_chunking(
        ProviderKind::OpenAi,
        "deepseek",
        "/v1",
        OPENAI_CHAT,
        MockResponse::sse(fixture("openai/stream-reasoning-content.sse")),
        &[
            thinking("The user asks 17 \u{d7} 23."),
            thinking(" 17 \u{d7} 20 = 340, plus 51 is 391."),
            delta("17 \u{d7} 23 = "),
            delta("**391**."),
            StreamEvent::Usage(Usage {
                reasoning_tokens: Some(80),
                ..Usage::new(14, 96)
            }),
            StreamEvent::Finished(Finish::Stop),
        ],
    )
    .await;
}

#[tokio::test]
async fn openrouter_reasoning_streams_as_thinking_and_its_usage_carries_the_cost() {
    check_every_chunking(
        ProviderKind::OpenAi,
        "openrouter",
        "/v1",
        OPENAI_CHAT,
        MockResponse::sse(fixture("openrouter/stream-reasoning.sse")),
        &[
            thinking("Paris is the capital"),
            thinking(" of France."),
            delta("The capital of France is Paris."),
            StreamEvent::Usage(Usage {
                input_tokens: 12,
                output_tokens: 40,
                cached_input_tokens: Some(8),
                reasoning_tokens: Some(31),
                cost: Some(0.000_103_2),
            }),
            StreamEvent::Finished(Finish::Stop),
        ],
    )
    .await;
}

#[tokio::test]
async fn think_tags_split_across_events_are_thinking_and_the_newlines_after_are_dropped() {
    check_every_chunking(
        ProviderKind::OpenAi,
        "llamacpp",
        "/v1",
        OPENAI_CHAT,
        MockResponse::sse(fixture("openai/stream-think-tags.sse")),
        &[
            thinking("\nOkay, hello back"),
            thinking(" in kind.\n"),
            delta("Hello! \u{1f44b}"),
            common::usage(9, 21),
            StreamEvent::Finished(Finish::Stop),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_reply_that_is_only_thinking_is_all_thinking_with_its_held_tail() {
    check_every_chunking(
        ProviderKind::OpenAi,
        "llamacpp",
        "/v1",
        OPENAI_CHAT,
        MockResponse::sse(fixture("openai/stream-think-only.sse")),
        &[
            thinking("I should weigh both options"),
            thinking(" before I answer "),
            thinking("</th"),
            StreamEvent::Finished(Finish::Length),
        ],
    )
    .await;
}

#[tokio::test]
async fn anthropic_thinking_and_a_redacted_block_come_before_the_text() {
    let usage = |output| {
        StreamEvent::Usage(Usage {
            cached_input_tokens: Some(2048),
            ..Usage::new(2078, output)
        })
    };
    check_every_chunking(
        ProviderKind::Anthropic,
        "anthropic",
        "",
        "/v1/messages",
        MockResponse::sse(fixture("anthropic/stream-redacted-thinking.sse")),
        &[
            usage(4),
            thinking("Checking the premise first."),
            thinking("[part of the thinking was redacted by the provider]\n"),
            delta("The premise holds."),
            usage(210),
            StreamEvent::Finished(Finish::Stop),
        ],
    )
    .await;
}

#[tokio::test]
async fn gemini_thought_parts_are_thinking_and_count_as_output() {
    check_every_chunking(
        ProviderKind::Gemini,
        "gemini",
        "",
        "/v1beta/models/m:streamGenerateContent",
        MockResponse::sse(fixture("gemini/stream-thoughts-crlf.sse")),
        &[
            thinking("**Weighing the question**\n\nThe user wants a one-word answer."),
            common::usage(11, 0),
            thinking(" Blue fits."),
            delta("Blue."),
            StreamEvent::Usage(Usage {
                reasoning_tokens: Some(118),
                ..Usage::new(11, 120)
            }),
            StreamEvent::Finished(Finish::Stop),
        ],
    )
    .await;
}

fn ndjson(path: &str) -> MockResponse {
    MockResponse::sse(fixture(path)).with_header("content-type", "application/x-ndjson")
}

#[tokio::test]
async fn ollama_message_thinking_streams_as_thinking() {
    check_every_chunking(
        ProviderKind::Ollama,
        "ollama",
        "",
        "/api/chat",
        ndjson("ollama/chat-thinking.ndjson"),
        &[
            thinking("Rayleigh scattering"),
            thinking(" favours short wavelengths."),
            delta("The sky is blue."),
            common::usage(12, 40),
            StreamEvent::Finished(Finish::Stop),
        ],
    )
    .await;
}

#[tokio::test]
async fn ollama_inline_think_tags_split_across_lines_are_thinking() {
    check_every_chunking(
        ProviderKind::Ollama,
        "ollama",
        "",
        "/api/chat",
        ndjson("ollama/chat-think-tags.ndjson"),
        &[
            thinking("\nShort wavelengths scatter"),
            thinking(" more.\n"),
            delta("Because of Rayleigh scattering."),
            common::usage(12, 30),
            StreamEvent::Finished(Finish::Stop),
        ],
    )
    .await;
}

#[tokio::test]
async fn cohere_thinking_deltas_stream_as_thinking_and_cached_tokens_are_reported() {
    check_every_chunking(
        ProviderKind::Cohere,
        "cohere",
        "",
        "/v2/chat",
        MockResponse::sse(fixture("cohere/stream-thinking.sse")),
        &[
            thinking("Alice's brother has Alice"),
            thinking(" and her 2 sisters."),
            delta("He has 3 sisters."),
            StreamEvent::Usage(Usage {
                cached_input_tokens: Some(448),
                ..Usage::new(520, 48)
            }),
            StreamEvent::Finished(Finish::Stop),
        ],
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Asking for thinking

#[tokio::test]
async fn a_refused_thinking_option_shows_the_providers_message_and_the_key_to_remove() {
    let server = MockServer::start(vec![(
        "/api/chat",
        MockResponse::json(400, r#"{"error":"\"llama3.2\" does not support thinking"}"#),
    )])
    .await;
    let spec = provider_spec("ollama", ProviderKind::Ollama, server.url(""));
    let request = ChatRequest {
        thinking_budget: Some(1024),
        ..chat_request("llama3.2", "Hi")
    };
    assert_eq!(
        failed(&run(&spec, request).await).to_string(),
        "ollama: HTTP 400: \"llama3.2\" does not support thinking (this request asked for thinking: remove thinking_budget for this model in the config)"
    );
    assert_eq!(
        server.json_bodies("/api/chat")[0]["think"],
        serde_json::json!(true)
    );
}

#[tokio::test]
async fn a_400_without_thinking_asked_has_no_such_hint() {
    let server = MockServer::start(vec![(
        OPENAI_CHAT,
        MockResponse::json(
            400,
            r#"{"error":{"message":"bad request","type":"invalid_request_error"}}"#,
        ),
    )])
    .await;
    let spec = provider_spec("vllm", ProviderKind::OpenAi, server.url("/v1"));
    assert_eq!(
        failed(&run(&spec, chat_request("m", "Hi")).await).to_string(),
        "vllm: HTTP 400 invalid_request_error: bad request"
    );
    let request = ChatRequest {
        reasoning_effort: Some(ReasoningEffort::High),
        ..chat_request("m", "Hi")
    };
    assert_eq!(
        failed(&run(&spec, request).await).to_string(),
        "vllm: HTTP 400 invalid_request_error: bad request (this request asked for thinking: remove reasoning_effort for this model in the config)"
    );
}

#[tokio::test]
async fn stored_thinking_never_reaches_any_kinds_request_body() {
    let mut conversation = Conversation::new(None);
    conversation.push_user("What is 2 + 2?");
    let mut reply = Message::assistant_pending("p/m");
    reply.content = "4".to_owned();
    reply.reasoning = Some("SECRET-THOUGHT about arithmetic".to_owned());
    reply.finish = Some(Finish::Stop);
    conversation.messages.push(Arc::new(reply));
    conversation.push_user("And 3 + 3?");
    let request = ChatRequest {
        idle_timeout: std::time::Duration::from_secs(5),
        max_retries: 0,
        ..ChatRequest::from_conversation(&conversation, "m")
    };
    for (kind, base, path) in [
        (ProviderKind::OpenAi, "/v1", OPENAI_CHAT),
        (ProviderKind::Anthropic, "", "/v1/messages"),
        (
            ProviderKind::Gemini,
            "",
            "/v1beta/models/m:streamGenerateContent",
        ),
        (ProviderKind::Ollama, "", "/api/chat"),
        (ProviderKind::Cohere, "", "/v2/chat"),
    ] {
        // Any answer will do: only the request is looked at.
        let server = MockServer::start(vec![(path, MockResponse::json(500, "{}"))]).await;
        let spec = provider_spec("p", kind, server.url(base));
        run(&spec, request.clone()).await;
        let sent = server.requests();
        assert_eq!(sent.len(), 1, "{kind:?}");
        let body = String::from_utf8_lossy(&sent[0].body).into_owned();
        assert!(body.contains("What is 2 + 2?"), "{kind:?}: {body}");
        assert!(body.contains("And 3 + 3?"), "{kind:?}: {body}");
        assert!(!body.contains("SECRET-THOUGHT"), "{kind:?}: {body}");
        assert!(!body.contains("reasoning\":\""), "{kind:?}: {body}");
    }
}
