//! OpenAI-compatible chat completions: OpenAI, Mistral, Groq, OpenRouter, Together,
//! Ollama's `/v1`, llama.cpp, vLLM, LM Studio (protocols.md §1, §3, §6, §8, §9).
//!
//! Owns: the request body of `POST {base_url}/chat/completions`, the status check before
//! streaming, and the mapping of each `chat.completion.chunk` to [`StreamEvent`]s
//! (text, usage in its three places, finish reason, `[DONE]`, mid-stream error frames).
//! Must not: parse SSE framing (that is [`super::sse`]), decide retries, touch the UI,
//! or log a header or key.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{error_fields, post_json};
use super::reasoning;
use super::sse::{self, Event, EventReader};
use super::think_tags::ThinkSplitter;
use super::wire::parse_event;
use futures_util::future::BoxFuture;

use super::kind::{Body, Dialect};
use super::{
    ChatRequest, Ending, Problem, ProviderError, ProviderSpec, ReplyStream, StreamEvent,
    ending_words,
};
use crate::conversation::{Finish, Role, Usage};
use crate::model_settings::ReasoningEffort;

/// The JSON body of a streaming chat completion. Field order is the wire order.
#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    /// `low|medium|high`: OpenAI's o-series and GPT-5, DeepSeek, vLLM, Groq, Mistral.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
    /// OpenRouter's own form of the same, which also takes a token budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<OpenRouterReasoning>,
    /// The config key behind the reasoning option sent, for the hint when a server
    /// refuses it (never sent).
    #[serde(skip)]
    asked: Option<&'static str>,
}

/// OpenRouter's `reasoning` object: one of `effort` and `max_tokens`, not both
/// (openrouter.ai/docs/use-cases/reasoning-tokens).
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum OpenRouterReasoning {
    Effort(&'static str),
    MaxTokens(u32),
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

impl<'a> WireRequest<'a> {
    /// The system prompt (when set) goes first as a `system` message; `stream_options`
    /// only when the provider accepts it (Mistral rejects it, protocols.md §3).
    ///
    /// Reasoning: `reasoning_effort` goes as the top-level field the OpenAI API and the
    /// compatible servers read; `thinking_budget` has no field there and is not sent.
    /// OpenRouter (`openrouter`) takes `reasoning: {"effort": …}` instead, or for a
    /// budget `reasoning: {"max_tokens": N}`, which wins when both are set (it takes
    /// one or the other).
    fn new(request: &'a ChatRequest, include_usage: bool, openrouter: bool) -> Self {
        let system = request.system_prompt.as_deref().map(|content| WireMessage {
            role: "system",
            content,
        });
        let turns = request.messages.iter().map(|m| WireMessage {
            role: match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            },
            content: &m.content,
        });
        let effort = request.reasoning_effort.map(ReasoningEffort::as_str);
        let (reasoning_effort, reasoning, asked) = match (openrouter, request.thinking_budget) {
            (true, Some(budget)) => (
                None,
                Some(OpenRouterReasoning::MaxTokens(budget)),
                Some(reasoning::BUDGET_KEY),
            ),
            (true, None) => (
                None,
                effort.map(OpenRouterReasoning::Effort),
                effort.map(|_| reasoning::EFFORT_KEY),
            ),
            (false, _) => (effort, None, effort.map(|_| reasoning::EFFORT_KEY)),
        };
        WireRequest {
            model: &request.model,
            messages: system.into_iter().chain(turns).collect(),
            stream: true,
            stream_options: include_usage.then_some(StreamOptions {
                include_usage: true,
            }),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            reasoning_effort,
            reasoning,
            asked,
        }
    }
}

/// One `chat.completion.chunk` as the servers send it, or an error frame in its place
/// (protocols.md §1, §3). Only the fields tinychat reads; the rest is ignored.
#[derive(Debug, Deserialize)]
struct Chunk {
    /// An error frame: any JSON, and an error only when truthy (see [`is_truthy`]).
    error: Option<Value>,
    /// Only the first choice is read: tinychat never asks for more than one.
    choices: Option<Vec<Choice>>,
    /// Usage on the last chunk (`stream_options.include_usage`, Mistral, OpenRouter).
    usage: Option<Counts>,
    /// Groq's usage, sent on the last chunk in place of `usage`.
    x_groq: Option<XGroq>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

/// New text: `content`, or `refusal` when the model declines (shown as text too); and
/// thinking, in whichever field the server puts it.
#[derive(Debug, Deserialize)]
struct Delta {
    content: Option<String>,
    refusal: Option<String>,
    /// DeepSeek, vLLM and llama.cpp with a reasoning parser, LM Studio.
    reasoning_content: Option<String>,
    /// OpenRouter, Groq (`reasoning_format: "parsed"`), newer vLLM.
    reasoning: Option<String>,
}

impl Delta {
    /// The thinking of this delta. A server that fills both fields (vLLM while it
    /// renames one to the other) sends the same text twice, so only one is taken.
    fn thinking(&mut self) -> Option<String> {
        let content = self.reasoning_content.take().filter(|t| !t.is_empty());
        let other = self.reasoning.take().filter(|t| !t.is_empty());
        content.or(other)
    }
}

#[derive(Debug, Deserialize)]
struct XGroq {
    usage: Option<Counts>,
}

/// An OpenAI `usage` object.
#[derive(Debug, Deserialize)]
struct Counts {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
    /// OpenRouter: what the request cost in US dollars (credits).
    cost: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u64>,
}

impl Counts {
    /// The token counts; `None` for an object without either count. Cached and
    /// reasoning tokens are already part of `prompt_tokens` and `completion_tokens`
    /// (OpenAI documents them as breakdowns). A zero for either says nothing (OpenAI
    /// reports `reasoning_tokens: 0` for every model that does not reason), so it is
    /// left out; a cost of zero (a free model) is a figure and kept.
    fn usage(self) -> Option<Usage> {
        if self.prompt_tokens.is_none() && self.completion_tokens.is_none() {
            return None;
        }
        Some(Usage {
            input_tokens: self.prompt_tokens.unwrap_or(0),
            output_tokens: self.completion_tokens.unwrap_or(0),
            cached_input_tokens: self
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .filter(|&n| n > 0),
            reasoning_tokens: self
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .filter(|&n| n > 0),
            cost: self.cost.filter(|c| c.is_finite() && *c >= 0.0),
        })
    }
}

/// The OpenAI Chat Completions dialect, spoken by every compatible server.
pub(super) struct OpenAi;

impl Dialect for OpenAi {
    fn config_name(&self) -> &'static str {
        "openai"
    }

    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        provider: &'a ProviderSpec,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<reqwest::Response, ProviderError>> {
        Box::pin(send(client, provider, request))
    }

    fn reply(
        &self,
        provider: &ProviderSpec,
        response: reqwest::Response,
        idle: Duration,
    ) -> ReplyStream {
        reply(provider, response, idle)
    }

    fn read_body(&self, provider: String, body: Body, idle: Duration) -> ReplyStream {
        sse::drive(sse::events(body, idle), ChunkParser::new(provider))
    }

    fn list_models<'a>(
        &'a self,
        client: &'a reqwest::Client,
        provider: &'a ProviderSpec,
    ) -> BoxFuture<'a, Result<Vec<super::models::Listed>, ProviderError>> {
        Box::pin(super::openai_listing::list_openai(client, provider))
    }
}

/// Sends the request and checks the status before any byte of the body is read as a
/// stream. Waiting for the response headers counts against the idle timeout. Errors
/// here happen before the first token, so the caller may retry them.
async fn send(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    request: &ChatRequest,
) -> Result<reqwest::Response, ProviderError> {
    let url = format!(
        "{}/chat/completions",
        provider.base_url.trim_end_matches('/')
    );
    let body = WireRequest::new(request, provider.include_usage, is_openrouter(provider));
    let refine = |error, _: Option<&Value>| reasoning::refused(error, body.asked);
    post_json(client, provider, &url, &body, request.idle_timeout, &refine).await
}

/// OpenRouter's own request fields are used for the built-in of that name and for any
/// provider whose base URL is on openrouter.ai.
fn is_openrouter(provider: &ProviderSpec) -> bool {
    if provider.name == "openrouter" {
        return true;
    }
    let rest = provider
        .base_url
        .split_once("://")
        .map_or(provider.base_url.as_str(), |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    host == "openrouter.ai" || host.ends_with(".openrouter.ai")
}

/// The events of a successful response. Every failure arrives as the terminal `Failed`
/// event; the stream owns the body, so dropping it closes the connection.
fn reply(provider: &ProviderSpec, response: reqwest::Response, idle: Duration) -> ReplyStream {
    sse::reply(
        provider,
        response,
        idle,
        ChunkParser::new(provider.name.clone()),
    )
}

impl EventReader for ChunkParser {
    fn provider(&self) -> &str {
        &self.provider
    }
    /// The events one SSE event yields; a terminal event, if any, is last.
    fn on_event(&mut self, event: &Event) -> Vec<StreamEvent> {
        if event.event == "keepalive" {
            return Vec::new();
        }
        self.seen = true;
        let data = event.data.trim();
        if data == "[DONE]" {
            let ending = self.finish.take().unwrap_or(Ending::Normal(Finish::Stop));
            return vec![ending.event(&self.provider, FIELD)];
        }
        let chunk: Chunk = match parse_event(&self.provider, data.as_bytes(), "an event") {
            Ok(chunk) => chunk,
            Err(events) => return events,
        };
        if let Some(error) = chunk.error.filter(is_truthy) {
            let (code, message) = error_fields(&serde_json::json!({ "error": error }), None)
                .unwrap_or_else(|| (None, error.to_string()));
            return vec![StreamEvent::Failed(
                Problem::Stream { code, message }.at(&self.provider),
            )];
        }
        let mut out = Vec::new();
        if let Some(choice) = chunk.choices.into_iter().flatten().next() {
            if let Some(mut delta) = choice.delta {
                if let Some(thinking) = delta.thinking() {
                    out.push(StreamEvent::Reasoning(thinking));
                }
                // Inline `<think>` tags live in `content` only: a refusal is answer.
                if let Some(text) = delta.content {
                    self.tags.push(text, &mut out);
                }
                if let Some(text) = delta.refusal.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::Delta(text));
                }
            }
            if let Some(reason) = choice.finish_reason {
                // Mistral documents `error` as a finish reason: the reply failed even
                // though the stream carried no error object.
                if reason == "error" {
                    out.push(StreamEvent::Failed(
                        Problem::Stream {
                            code: None,
                            message: "the server ended the reply with finish_reason \"error\""
                                .to_owned(),
                        }
                        .at(&self.provider),
                    ));
                    return out;
                }
                self.finish = Some(ending_of(&reason));
            }
        }
        let usage = chunk
            .usage
            .and_then(Counts::usage)
            .or_else(|| chunk.x_groq.and_then(|x| x.usage).and_then(Counts::usage));
        if let Some(usage) = usage {
            out.push(StreamEvent::Usage(usage));
        }
        out
    }
    /// A `<think>` block the reply ended in (or a tag it never finished) is released.
    fn flush(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        self.tags.finish(&mut out);
        out
    }
    /// The terminal event when the body ends without `[DONE]` (see the type's doc).
    fn on_end(&self) -> StreamEvent {
        match &self.finish {
            Some(ending) => ending.event(&self.provider, FIELD),
            None if !self.seen => StreamEvent::Failed(
                Problem::Malformed {
                    message: "the response held no events; check that base_url points at an OpenAI-compatible API (usually ending in /v1)".to_owned(),
                }
                .at(&self.provider)
            ),
            None => StreamEvent::Failed(Problem::Incomplete.at(&self.provider)),
        }
    }
}

/// The state of one reply between SSE events: which provider (for errors) and the
/// finish reason seen so far.
///
/// End of the body: `[DONE]` is the end marker of every documented server. A body that
/// ends without it but after a chunk carrying `finish_reason` is taken as finished with
/// that reason, because the model said it was done and some small servers omit the
/// marker; a body that ends with neither is [`Problem::Incomplete`].
#[derive(Debug)]
struct ChunkParser {
    provider: String,
    finish: Option<Ending>,
    /// Whether any event arrived: a body with none is not this protocol at all (an HTML
    /// page from a wrong base URL), not a reply cut short.
    seen: bool,
    /// Thinking inline in `content` (servers without a reasoning parser).
    tags: ThinkSplitter,
}

impl ChunkParser {
    fn new(provider: String) -> Self {
        ChunkParser {
            provider,
            finish: None,
            seen: false,
            tags: ThinkSplitter::default(),
        }
    }
}

/// The provider's name for its reason, shown with an abnormal one.
const FIELD: &str = "finish_reason";

/// `stop` (and the spellings compatible servers use for it: TGI's `eos_token`, vLLM's
/// `stop_sequence`…) is a normal end and `length` (Mistral's `model_length`) a cut-off;
/// `content_filter`, `tool_calls`, `function_call` and reasons this build does not know
/// end the reply visibly (spec §3), never as a silent `stop`.
fn ending_of(reason: &str) -> Ending {
    match reason {
        "stop" | "eos" | "eos_token" | "stop_sequence" | "end_turn" => Ending::Normal(Finish::Stop),
        "length" | "model_length" | "max_tokens" => Ending::Normal(Finish::Length),
        "content_filter" => Ending::abnormal(reason, ending_words::CONTENT_FILTER),
        "tool_calls" | "function_call" => Ending::abnormal(reason, ending_words::TOOL_CALL),
        _ => Ending::abnormal(reason, ending_words::UNKNOWN),
    }
}

/// JavaScript-style truthiness, as the OpenAI SDK tests `data.get("error")`.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ChatMessage;
    use crate::provider::test_support::{self, event, summary};
    use pretty_assertions::assert_eq;

    const OPENAI_BASIC: &[u8] = include_bytes!("../../tests/fixtures/openai/stream-basic.sse");
    const MISTRAL_BASIC: &[u8] = include_bytes!("../../tests/fixtures/mistral/stream-basic.sse");

    fn parse_all(datas: &[&str]) -> Vec<StreamEvent> {
        let mut p = ChunkParser::new("p".to_owned());
        datas
            .iter()
            .flat_map(|d| p.on_event(&event("message", d)))
            .collect()
    }

    async fn replay(body: &[u8], size: usize) -> Vec<StreamEvent> {
        test_support::replay(body, size, ChunkParser::new("p".to_owned())).await
    }

    #[tokio::test]
    async fn fixtures_give_the_same_reply_at_every_chunking() {
        for size in [OPENAI_BASIC.len(), 1, 2, 3, 7, 64] {
            let got = summary(&replay(OPENAI_BASIC, size).await);
            assert_eq!(
                got,
                (
                    "Hello! How can I help you today?".to_owned(),
                    None,
                    StreamEvent::Finished(Finish::Stop)
                ),
                "openai, chunk size {size}"
            );
            let got = summary(&replay(MISTRAL_BASIC, size).await);
            assert_eq!(
                got,
                (
                    "Bonjour ! Comment ça va ?".to_owned(),
                    Some(Usage {
                        input_tokens: 10,
                        output_tokens: 8,
                        ..Usage::default()
                    }),
                    StreamEvent::Finished(Finish::Stop)
                ),
                "mistral, chunk size {size}"
            );
        }
    }

    #[test]
    fn role_only_and_empty_chunks_yield_nothing() {
        assert_eq!(
            parse_all(&[
                r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null}"#,
                r#"{"choices":[{"index":0,"delta":{"content":null}}]}"#,
                r#"{"choices":[{"index":0,"delta":{}}]}"#,
                r#"{"choices":[]}"#,
            ]),
            vec![]
        );
    }

    #[test]
    fn refusal_text_counts_as_content() {
        assert_eq!(
            parse_all(&[
                r#"{"choices":[{"delta":{"content":null,"refusal":"I can't help with that."}}]}"#
            ]),
            vec![StreamEvent::Delta("I can't help with that.".to_owned())]
        );
    }

    #[test]
    fn finish_reason_with_text_and_usage_on_one_chunk_then_done() {
        assert_eq!(
            parse_all(&[
                r#"{"choices":[{"delta":{"content":"end"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#,
                "[DONE]",
            ]),
            vec![
                StreamEvent::Delta("end".to_owned()),
                StreamEvent::Usage(Usage {
                    input_tokens: 3,
                    output_tokens: 4,
                    ..Usage::default()
                }),
                StreamEvent::Finished(Finish::Length),
            ]
        );
    }

    #[test]
    fn finish_reason_error_fails_the_reply_and_keeps_its_text() {
        assert_eq!(
            parse_all(&[r#"{"choices":[{"delta":{"content":"par"},"finish_reason":"error"}]}"#]),
            vec![
                StreamEvent::Delta("par".into()),
                StreamEvent::Failed(
                    Problem::Stream {
                        code: None,
                        message: "the server ended the reply with finish_reason \"error\"".into()
                    }
                    .at("p")
                ),
            ]
        );
    }

    #[test]
    fn stop_and_its_spellings_are_normal_and_every_other_reason_shows() {
        for reason in ["stop", "eos", "eos_token", "stop_sequence"] {
            let data = format!(r#"{{"choices":[{{"delta":{{}},"finish_reason":"{reason}"}}]}}"#);
            assert_eq!(
                parse_all(&[&data, "[DONE]"]),
                vec![StreamEvent::Finished(Finish::Stop)],
                "{reason}"
            );
        }
        for (reason, message) in [
            (
                "content_filter",
                "the provider's content filter stopped the reply",
            ),
            (
                "tool_calls",
                "the model stopped to call a tool, which tinychat does not offer",
            ),
            (
                "function_call",
                "the model stopped to call a tool, which tinychat does not offer",
            ),
            (
                "something_new",
                "the reply ended for a reason tinychat does not know",
            ),
        ] {
            let data = format!(r#"{{"choices":[{{"delta":{{}},"finish_reason":"{reason}"}}]}}"#);
            assert_eq!(
                parse_all(&[&data, "[DONE]"]),
                vec![StreamEvent::Failed(
                    Problem::Ended {
                        field: "finish_reason",
                        reason: reason.into(),
                        message: message.into()
                    }
                    .at("p")
                )],
                "{reason}"
            );
        }
    }

    #[test]
    fn groq_usage_comes_from_x_groq() {
        assert_eq!(
            parse_all(&[
                r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":{"queue_time":0.01,"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}}"#,
            ]),
            vec![StreamEvent::Usage(Usage {
                input_tokens: 12,
                output_tokens: 5,
                ..Usage::default()
            })]
        );
    }

    #[test]
    fn error_frames_are_terminal_stream_errors() {
        assert_eq!(
            parse_all(&[
                r#"{"error":{"message":"The server had an error","type":"server_error","code":null}}"#
            ]),
            vec![StreamEvent::Failed(
                Problem::Stream {
                    code: Some("server_error".into()),
                    message: "The server had an error".into()
                }
                .at("p")
            )]
        );
        assert_eq!(
            parse_all(&[r#"{"error":"overloaded"}"#]),
            vec![StreamEvent::Failed(
                Problem::Stream {
                    code: None,
                    message: "overloaded".into()
                }
                .at("p")
            )]
        );
        // A falsy error is no error.
        assert_eq!(
            parse_all(&[r#"{"error":null,"choices":[{"delta":{"content":"x"}}]}"#]),
            vec![StreamEvent::Delta("x".into())]
        );
    }

    #[test]
    fn bad_json_and_non_objects_are_malformed() {
        let got = parse_all(&["{\"choices\":"]);
        assert!(
            matches!(&got[..], [StreamEvent::Failed(ProviderError { problem: Problem::Malformed { message }, .. })] if message.starts_with("invalid JSON in an event: ")),
            "{got:?}"
        );
        assert_eq!(
            parse_all(&["42"]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event is not a JSON object".into()
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_a_wrong_type_names_its_field() {
        assert_eq!(
            parse_all(&[
                r#"{"id":"c1","object":"chat.completion.chunk","system_fingerprint":"fp","choices":[{"index":0,"logprobs":{"content":[]},"delta":{"content":"hi","tool_calls":[],"new_field":{"x":1}},"finish_reason":null,"native_finish_reason":"x"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":0}}}"#,
            ]),
            vec![
                StreamEvent::Delta("hi".into()),
                StreamEvent::Usage(Usage {
                    input_tokens: 1,
                    output_tokens: 2,
                    ..Usage::default()
                }),
            ]
        );
        assert_eq!(
            parse_all(&[r#"{"choices":[{"delta":{"content":42}}]}"#]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event has a wrong `choices[0].delta.content`: invalid type: integer `42`, expected a string at line 1 column 34".into(),
                }
                .at("p")
            )]
        );
        assert_eq!(
            parse_all(&[r#"{"choices":[],"usage":{"prompt_tokens":-1}}"#]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event has a wrong `usage.prompt_tokens`: invalid value: integer `-1`, expected u64 at line 1 column 41".into(),
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn keepalive_events_are_skipped() {
        let mut p = ChunkParser::new("p".to_owned());
        let mut ev = event("message", "not json");
        ev.event = "keepalive".to_owned();
        assert_eq!(p.on_event(&ev), vec![]);
    }

    #[test]
    fn end_without_done_depends_on_a_finish_reason() {
        let mut p = ChunkParser::new("p".to_owned());
        // No event at all: not this protocol (an HTML page from a wrong base URL).
        assert!(matches!(
            p.on_end(),
            StreamEvent::Failed(ProviderError { problem: Problem::Malformed { message }, .. })
                if message.starts_with("the response held no events; check that base_url")
        ));
        p.on_event(&event(
            "message",
            r#"{"choices":[{"delta":{"content":"par"}}]}"#,
        ));
        assert_eq!(p.on_end(), StreamEvent::Failed(Problem::Incomplete.at("p")));
        p.on_event(&event(
            "message",
            r#"{"choices":[{"delta":{},"finish_reason":"length"}]}"#,
        ));
        assert_eq!(p.on_end(), StreamEvent::Finished(Finish::Length));
    }

    #[test]
    fn request_body_has_wire_field_order_and_omits_unset_options() {
        let mut request = ChatRequest {
            model: "m".into(),
            system_prompt: Some("be brief".into()),
            messages: vec![
                ChatMessage {
                    role: Role::User,
                    content: "hi".into(),
                },
                ChatMessage {
                    role: Role::Assistant,
                    content: "hello".into(),
                },
            ],
            temperature: None,
            max_tokens: None,
            idle_timeout: Duration::from_secs(1),
            max_retries: 0,
            reasoning_effort: None,
            thinking_budget: None,
        };
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request, false, false)).unwrap(),
            r#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}],"stream":true}"#
        );
        request.system_prompt = None;
        request.messages.truncate(1);
        request.temperature = Some(0.5);
        request.max_tokens = Some(100);
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request, true, false)).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"temperature":0.5,"max_tokens":100}"#
        );
    }
    fn thinking_request(effort: Option<ReasoningEffort>, budget: Option<u32>) -> ChatRequest {
        ChatRequest {
            reasoning_effort: effort,
            thinking_budget: budget,
            ..crate::provider::test_support::hi_request("m")
        }
    }

    fn body(request: &ChatRequest, openrouter: bool) -> (String, Option<&'static str>) {
        let wire = WireRequest::new(request, false, openrouter);
        (serde_json::to_string(&wire).unwrap(), wire.asked)
    }

    #[test]
    fn reasoning_effort_is_a_top_level_field_and_a_budget_has_none() {
        assert_eq!(
            body(&thinking_request(Some(ReasoningEffort::High), None), false),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"reasoning_effort":"high"}"#.to_owned(),
                Some("reasoning_effort")
            )
        );
        assert_eq!(
            body(&thinking_request(None, Some(4096)), false),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#
                    .to_owned(),
                None
            )
        );
    }

    #[test]
    fn openrouter_takes_a_reasoning_object_with_the_budget_winning_over_the_effort() {
        assert_eq!(
            body(&thinking_request(Some(ReasoningEffort::Low), None), true),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"reasoning":{"effort":"low"}}"#.to_owned(),
                Some("reasoning_effort")
            )
        );
        assert_eq!(
            body(&thinking_request(Some(ReasoningEffort::Low), Some(2000)), true),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"reasoning":{"max_tokens":2000}}"#.to_owned(),
                Some("thinking_budget")
            )
        );
        assert_eq!(
            body(&thinking_request(None, None), true).0,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#
        );
    }

    #[test]
    fn openrouter_is_known_by_its_name_or_its_host() {
        let spec = |name: &str, base_url: &str| ProviderSpec {
            name: name.into(),
            kind: crate::provider::ProviderKind::OpenAi,
            base_url: base_url.into(),
            api_key: None,
            key_env: None,
            disabled: None,
            headers: std::collections::BTreeMap::new(),
            models: None,
            fallback_models: Vec::new(),
            include_usage: true,
            optional: false,
            local: None,
            settings: crate::model_settings::ProviderSettings::default(),
        };
        assert!(is_openrouter(&spec("openrouter", "http://127.0.0.1:9/v1")));
        assert!(is_openrouter(&spec("or", "https://openrouter.ai/api/v1")));
        assert!(is_openrouter(&spec(
            "or",
            "https://u:p@OpenRouter.ai:443/api/v1"
        )));
        assert!(!is_openrouter(&spec(
            "or",
            "https://openrouter.ai.example.com/v1"
        )));
        assert!(!is_openrouter(&spec("openai", "https://api.openai.com/v1")));
    }

    #[test]
    fn reasoning_fields_are_thinking_and_one_is_taken_when_both_come() {
        assert_eq!(
            parse_all(&[
                r#"{"choices":[{"delta":{"role":"assistant","content":null,"reasoning_content":"Hmm, "}}]}"#,
                r#"{"choices":[{"delta":{"reasoning":"so."}}]}"#,
                r#"{"choices":[{"delta":{"reasoning":"twice","reasoning_content":"twice"}}]}"#,
                r#"{"choices":[{"delta":{"content":"Yes.","reasoning_content":""}}]}"#,
            ]),
            vec![
                StreamEvent::Reasoning("Hmm, ".into()),
                StreamEvent::Reasoning("so.".into()),
                StreamEvent::Reasoning("twice".into()),
                StreamEvent::Delta("Yes.".into()),
            ]
        );
    }

    #[test]
    fn usage_details_give_cached_reasoning_and_cost() {
        assert_eq!(
            parse_all(&[
                r#"{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":30},"cost":0.00042}}"#,
            ]),
            vec![StreamEvent::Usage(Usage {
                input_tokens: 100,
                output_tokens: 50,
                cached_input_tokens: Some(64),
                reasoning_tokens: Some(30),
                cost: Some(0.00042),
            })]
        );
        // Zero counts say nothing; a zero cost (a free model) is a figure.
        assert_eq!(
            parse_all(&[
                r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0},"cost":0}}"#,
            ]),
            vec![StreamEvent::Usage(Usage {
                cost: Some(0.0),
                ..Usage::new(1, 2)
            })]
        );
    }
}
