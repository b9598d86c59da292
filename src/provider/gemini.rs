//! Google Gemini `streamGenerateContent` over SSE, and its model list (protocols.md §4).
//!
//! Owns: the request body and URL of `POST {base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse`
//! (roles `user`/`model`, `systemInstruction`, `generationConfig`), the Gemini reading
//! of error bodies (`error.status` as the code, `API_KEY_*` reasons, `RetryInfo.retryDelay`),
//! the mapping of each `GenerateContentResponse` chunk to [`StreamEvent`]s (text without
//! thought parts, `usageMetadata`, `finishReason`, `promptFeedback.blockReason`, error
//! payloads), and `GET {base_url}/v1beta/models` with its page tokens.
//!
//! Must not: put the key anywhere but the `x-goog-api-key` header (never in the URL, where
//! proxies and logs would keep it), parse SSE framing (that is [`super::sse`]; Gemini
//! frames events with CRLF, which the SSE parser reads), decide retries, touch the
//! UI, or log a header or key.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{error_fields, key_hint, post_json};
use super::models::{Listed, follow_pages, list_url};
use super::reasoning;
use super::sse::{self, Event, EventReader, SseError};
use super::wire::{parse_event, parse_listing};
use crate::model_settings::ModelInfo;
use futures_util::future::BoxFuture;

use super::kind::{Body, Dialect};
use super::{ChatRequest, Problem, ProviderError, ProviderSpec, ReplyStream, StreamEvent};
use crate::conversation::{Finish, Role, Usage};
use crate::model_settings::ReasoningEffort;

/// The API version every path names (python-genai `_api_client.py`: `v1beta`).
const API_VERSION: &str = "v1beta";

/// Models asked for per discovery page (the API's maximum).
const PAGE_SIZE: &str = "1000";

/// The JSON body of a `streamGenerateContent` request; camelCase as the API spells it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest<'a> {
    contents: Vec<Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<Instruction<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generation_config: Option<GenerationConfig>,
}

#[derive(Debug, Serialize)]
struct Content {
    role: &'static str,
    parts: [Part; 1],
}

#[derive(Debug, Serialize)]
struct Part {
    text: String,
}

#[derive(Debug, Serialize)]
struct Instruction<'a> {
    parts: [TextRef<'a>; 1],
}

#[derive(Debug, Serialize)]
struct TextRef<'a> {
    text: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<ThinkingConfig>,
}

/// `thinkingConfig`: thought summaries asked for, with a budget (Gemini 2.5) or a
/// level (Gemini 3), never both (the API refuses both in one request).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    include_thoughts: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_budget: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_level: Option<&'static str>,
}

impl<'a> WireRequest<'a> {
    /// Gemini demands alternating turns that start with the user, so a history with two
    /// user turns in a row (a reply failed before its first token and was left out) is
    /// merged by [`ChatRequest::alternating_turns`]. The assistant's role is `model`.
    /// `systemInstruction` and `generationConfig` appear only when there is something
    /// to say: an empty one is noise at best and rejected at worst.
    ///
    /// Thinking: a `thinking_budget` is `thinkingConfig.thinkingBudget`, else a
    /// `reasoning_effort` is `thinkingConfig.thinkingLevel` (`low`/`medium`/`high`,
    /// Gemini 3); either way `includeThoughts: true`, without which the API sends no
    /// thought summaries at all.
    fn new(request: &'a ChatRequest) -> Self {
        let contents = request
            .alternating_turns()
            .into_iter()
            .map(|m| Content {
                role: match m.role {
                    Role::User => "user",
                    Role::Assistant => "model",
                },
                parts: [Part { text: m.content }],
            })
            .collect();
        let system_instruction = request
            .system_prompt
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|text| Instruction {
                parts: [TextRef { text }],
            });
        let thinking_config = match (request.thinking_budget, request.reasoning_effort) {
            (None, None) => None,
            (budget, effort) => Some(ThinkingConfig {
                include_thoughts: true,
                thinking_budget: budget,
                thinking_level: budget
                    .is_none()
                    .then(|| effort.map(ReasoningEffort::as_str))
                    .flatten(),
            }),
        };
        let generation_config = (request.temperature.is_some()
            || request.max_tokens.is_some()
            || thinking_config.is_some())
        .then_some(GenerationConfig {
            temperature: request.temperature,
            max_output_tokens: request.max_tokens,
            thinking_config,
        });
        WireRequest {
            contents,
            system_instruction,
            generation_config,
        }
    }
}

/// `{base}/v1beta/models/{model}:streamGenerateContent?alt=sse`.
///
/// A model id that already names its collection (`models/gemini-2.5-flash`,
/// `tunedModels/my-model`) is used as it is, so `models/` is never doubled; a bare id
/// gets `models/`. Nothing is percent-encoded: model ids are URL-safe. `alt=sse` is the
/// only query parameter (without it the API streams one JSON array instead), and the key
/// is never one.
fn chat_url(provider: &ProviderSpec, model: &str) -> String {
    let base = provider.base_url.trim_end_matches('/');
    let path = if model.contains('/') {
        model.to_owned()
    } else {
        format!("models/{model}")
    };
    format!("{base}/{API_VERSION}/{path}:streamGenerateContent?alt=sse")
}

/// The Gemini `streamGenerateContent` dialect.
pub(super) struct Gemini;

impl Dialect for Gemini {
    fn config_name(&self) -> &'static str {
        "gemini"
    }

    /// The key goes in a header, never in the URL (protocols.md §4).
    fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        match key {
            Some(key) => builder.header("x-goog-api-key", key),
            None => builder,
        }
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
    ) -> BoxFuture<'a, Result<Vec<Listed>, ProviderError>> {
        Box::pin(list_models(client, provider))
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
    let url = chat_url(provider, &request.model);
    let body = WireRequest::new(request);
    let asked = body
        .generation_config
        .as_ref()
        .and_then(|g| g.thinking_config.as_ref())
        .map(|t| match t.thinking_budget {
            Some(_) => reasoning::BUDGET_KEY,
            None => reasoning::EFFORT_KEY,
        });
    let refine = |error: ProviderError, value: Option<&Value>| {
        let error = refine(provider, error, value.and_then(|v| v.get("error")));
        reasoning::refused(error, asked)
    };
    post_json(client, provider, &url, &body, request.idle_timeout, &refine).await
}

/// Adds what a Gemini error body says beyond the common shapes (python-genai `errors.py`,
/// protocols.md §4):
/// - the code shown is `error.status` (`INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`…), since
///   `error.code` only repeats the HTTP status;
/// - a `details[].reason` starting with `API_KEY_` (`API_KEY_INVALID` comes with **400**,
///   not 401) means the key is wrong: the hint names the key variable and the request is
///   never retried;
/// - `google.rpc.RetryInfo.retryDelay` (`"47s"`, `"1.5s"`) is the wait before a retry
///   (it wins over a header: Google documents none) and is named in the 429 hint.
///
/// The retry advice from the headers is already in `error`; the body's may override it.
fn refine(
    provider: &ProviderSpec,
    mut error: ProviderError,
    detail: Option<&Value>,
) -> ProviderError {
    let Problem::Http {
        status,
        code,
        hint,
        retry,
        ..
    } = &mut error.problem
    else {
        return error;
    };
    if let Some(rpc) = detail.and_then(|d| RpcError::deserialize(d).ok()) {
        if let Some(rpc_status) = rpc.status.filter(|s| !s.is_empty()) {
            *code = Some(rpc_status);
        }
        // Each detail is read on its own: one of a kind tinychat does not know (or of
        // an unexpected shape) must not hide the others.
        let details: Vec<RpcDetail> = rpc
            .details
            .iter()
            .filter_map(|d| RpcDetail::deserialize(d).ok())
            .collect();
        let key_rejected = details.iter().any(|d| {
            d.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("API_KEY_"))
        });
        if key_rejected {
            *hint = Some(key_hint(provider));
            retry.allowed = Some(false);
        }
        if let Some(delay) = details.iter().find_map(RpcDetail::retry_delay) {
            retry.after = Some(delay);
        }
    }
    if *status == 429
        && let Some(after) = retry.after
    {
        *hint = Some(format!(
            "rate limited; try again in {} s",
            sse::whole_seconds(after)
        ));
    }
    error
}

/// The `error` object of a Gemini error body (a `google.rpc.Status`).
#[derive(Debug, Deserialize)]
struct RpcError {
    /// The RPC code in words (`INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`…).
    status: Option<String>,
    /// `google.rpc.*` details of any type; each is read on its own.
    #[serde(default)]
    details: Vec<Value>,
}

/// The fields tinychat reads of a detail: `ErrorInfo.reason` and
/// `RetryInfo.retryDelay`, told apart by `@type`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcDetail {
    #[serde(rename = "@type")]
    kind: Option<String>,
    reason: Option<String>,
    retry_delay: Option<RpcDuration>,
}

/// A protobuf Duration in JSON: a string (`"47s"`, `"1.5s"`) or, from some encoders,
/// `{seconds, nanos}`, where int64 seconds may be written as a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RpcDuration {
    Text(String),
    Parts {
        seconds: Option<RpcNumber>,
        nanos: Option<RpcNumber>,
    },
    /// Anything else (a bare number…): no delay.
    Other(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RpcNumber {
    Number(f64),
    Text(String),
}

impl RpcNumber {
    fn value(&self) -> Option<f64> {
        match self {
            RpcNumber::Number(n) => Some(*n),
            RpcNumber::Text(s) => s.parse().ok(),
        }
    }
}

impl RpcDetail {
    /// The `retryDelay` of a `google.rpc.RetryInfo` detail; `None` for other details,
    /// a negative or unreadable delay, or one too large to be a `Duration`.
    fn retry_delay(&self) -> Option<Duration> {
        if !self.kind.as_deref()?.ends_with("google.rpc.RetryInfo") {
            return None;
        }
        let seconds = match self.retry_delay.as_ref()? {
            RpcDuration::Text(s) => s.trim().strip_suffix('s')?.parse::<f64>().ok()?,
            RpcDuration::Parts { seconds, nanos } => {
                let whole = seconds.as_ref().and_then(RpcNumber::value).unwrap_or(0.0);
                let nanos = nanos.as_ref().and_then(RpcNumber::value).unwrap_or(0.0);
                whole + nanos / 1e9
            }
            RpcDuration::Other(_) => return None,
        };
        if seconds < 0.0 {
            return None;
        }
        // try_: a huge or non-finite delay must not panic; it is simply ignored.
        Duration::try_from_secs_f64(seconds).ok()
    }
}

/// One `GenerateContentResponse` chunk as the API streams it (python-genai `types.py`),
/// or an error payload in its place. Only the fields tinychat reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    error: Option<Value>,
    /// Only the first candidate is read: tinychat never asks for more.
    candidates: Option<Vec<Candidate>>,
    usage_metadata: Option<UsageMetadata>,
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<ReplyContent>,
    finish_reason: Option<String>,
    finish_message: Option<String>,
}

/// The candidate's content (the request's is [`Content`]).
#[derive(Debug, Deserialize)]
struct ReplyContent {
    parts: Option<Vec<ReplyPart>>,
}

/// One part: text, a thought summary (`thought: true`), or something else (a
/// `functionCall`, `inlineData`…) that has no `text`.
#[derive(Debug, Deserialize)]
struct ReplyPart {
    text: Option<String>,
    thought: Option<bool>,
}

impl Candidate {
    /// Its parts' `text` in order, as thinking for thought summaries (`"thought":
    /// true`, sent only when `includeThoughts` is set) and as answer for the rest;
    /// consecutive parts of one kind are joined, and non-text parts are skipped.
    fn events(&mut self, out: &mut Vec<StreamEvent>) {
        let Some(parts) = self.content.as_mut().and_then(|c| c.parts.as_mut()) else {
            return;
        };
        let mut run: Option<(bool, String)> = None;
        for part in parts {
            let Some(text) = part.text.take().filter(|t| !t.is_empty()) else {
                continue;
            };
            let thought = part.thought == Some(true);
            match &mut run {
                Some((kind, joined)) if *kind == thought => joined.push_str(&text),
                _ => {
                    out.extend(run.take().map(part_event));
                    run = Some((thought, text));
                }
            }
        }
        out.extend(run.map(part_event));
    }
}

/// The event of a run of parts: thinking or answer.
fn part_event((thought, text): (bool, String)) -> StreamEvent {
    if thought {
        StreamEvent::Reasoning(text)
    } else {
        StreamEvent::Delta(text)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_field_names,
    reason = "the API's own names, camelCased by serde"
)]
struct UsageMetadata {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
}

impl UsageMetadata {
    /// Input is `promptTokenCount` (cached tokens are part of it); output is
    /// `candidatesTokenCount` **plus** `thoughtsTokenCount`, because thinking tokens are
    /// generated and billed as output (OpenAI's `completion_tokens` counts its reasoning
    /// tokens the same way), so input + output = `totalTokenCount`. Intermediate chunks
    /// carry only prompt and total counts: their output is 0 until the last chunk.
    /// `thoughtsTokenCount` is also the reasoning part of the output, and
    /// `cachedContentTokenCount` the cached part of the input (a zero of either says
    /// nothing and is left out). `None` when no count is present.
    fn usage(self) -> Option<Usage> {
        let (input, candidates, thoughts) = (
            self.prompt_token_count,
            self.candidates_token_count,
            self.thoughts_token_count,
        );
        if input.is_none() && candidates.is_none() && thoughts.is_none() {
            return None;
        }
        Some(Usage {
            input_tokens: input.unwrap_or(0),
            output_tokens: candidates.unwrap_or(0) + thoughts.unwrap_or(0),
            cached_input_tokens: self.cached_content_token_count.filter(|&n| n > 0),
            reasoning_tokens: thoughts.filter(|&n| n > 0),
            cost: None,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
    block_reason_message: Option<String>,
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

/// A Gemini `error` object met where reply data was expected: its `status` (or the
/// common code) and message.
fn stream_error(provider: &str, error: &Value) -> ProviderError {
    let wrapped = serde_json::json!({ "error": error });
    let (code, message) = error_fields(&wrapped, None).unwrap_or_else(|| (None, error.to_string()));
    let status = error
        .get("status")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Problem::Stream {
        code: status.or(code),
        message,
    }
    .at(provider)
}

impl EventReader for ChunkParser {
    fn provider(&self) -> &str {
        &self.provider
    }
    /// The events one SSE event yields: text first (the finish reason rides on the last
    /// chunk together with the last text), then usage, then a terminal event, if any.
    fn on_event(&mut self, event: &Event) -> Vec<StreamEvent> {
        let chunk: Chunk =
            match parse_event(&self.provider, event.data.trim().as_bytes(), "an event") {
                Ok(chunk) => chunk,
                Err(events) => return events,
            };
        // python-genai raises on any chunk that starts with `{"error":` (protocols.md §4).
        if let Some(error) = &chunk.error {
            return vec![StreamEvent::Failed(stream_error(&self.provider, error))];
        }
        let mut out = Vec::new();
        let mut candidate = chunk.candidates.into_iter().flatten().next();
        if let Some(candidate) = &mut candidate {
            candidate.events(&mut out);
        }
        if let Some(usage) = chunk.usage_metadata.and_then(UsageMetadata::usage)
            && self.usage != Some(usage)
        {
            self.usage = Some(usage);
            out.push(StreamEvent::Usage(usage));
        }
        let reason = candidate
            .as_ref()
            .and_then(|c| c.finish_reason.as_deref())
            .filter(|r| !r.is_empty());
        match reason {
            Some("STOP") => self.finish = Some(Finish::Stop),
            Some("MAX_TOKENS") => self.finish = Some(Finish::Length),
            Some(reason) => out.push(self.stopped(reason, candidate.as_ref())),
            None if candidate.is_none() => {
                if let Some(blocked) = chunk.prompt_feedback.and_then(|f| self.prompt_blocked(f)) {
                    out.push(blocked);
                }
            }
            None => {}
        }
        out
    }
    /// The terminal event when the body breaks off or falls silent. After a finish
    /// reason the reply is whole (nothing else was coming), so that is still a finish;
    /// before one it is the failure it is.
    fn on_error(&self, error: SseError) -> StreamEvent {
        match (self.finish, &error) {
            (Some(finish), SseError::Idle(_) | SseError::Transport(_)) => {
                StreamEvent::Finished(finish)
            }
            _ => StreamEvent::Failed(error.into_provider_error(&self.provider)),
        }
    }
    /// The terminal event when the body ends (see the type's doc).
    fn on_end(&self) -> StreamEvent {
        match self.finish {
            Some(finish) => StreamEvent::Finished(finish),
            None => StreamEvent::Failed(Problem::Incomplete.at(&self.provider)),
        }
    }
}

/// The state of one reply between SSE events.
///
/// Gemini sends no end event: the chunk that carries `candidates[0].finishReason` is the
/// last, and the server closes the body after it (protocols.md §4). So the outcome is
/// decided at EOF: after `STOP` or `MAX_TOKENS` the reply is finished; with no finish
/// reason it is [`Problem::Incomplete`] (the SSE parser drops an event cut
/// off at EOF silently, protocols.md §0). Any other finish reason (`SAFETY`,
/// `RECITATION`, `PROHIBITED_CONTENT`, `OTHER`…) means the model was stopped: the
/// user must see that, so it fails the reply at once with the reason as the code,
/// keeping the text already shown.
#[derive(Debug)]
struct ChunkParser {
    provider: String,
    finish: Option<Finish>,
    /// The usage last reported: every chunk repeats `usageMetadata`, and only a change
    /// is worth an event.
    usage: Option<Usage>,
}

impl ChunkParser {
    fn new(provider: String) -> Self {
        ChunkParser {
            provider,
            finish: None,
            usage: None,
        }
    }

    /// The failure for a finish reason other than `STOP` and `MAX_TOKENS`.
    fn stopped(&self, reason: &str, candidate: Option<&Candidate>) -> StreamEvent {
        let mut message = match blocked_because(reason) {
            Some(why) => format!("the reply was blocked {why}"),
            None => match reason {
                "LANGUAGE" => "the reply was stopped: the language is not supported".to_owned(),
                "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => {
                    "the reply was stopped at a tool call, which tinychat does not make".to_owned()
                }
                _ => "the model stopped the reply before it was complete".to_owned(),
            },
        };
        if let Some(more) = candidate
            .and_then(|c| c.finish_message.as_deref())
            .filter(|m| !m.trim().is_empty())
        {
            message.push_str(": ");
            message.push_str(more.trim());
        }
        StreamEvent::Failed(
            Problem::Stream {
                code: Some(reason.to_owned()),
                message,
            }
            .at(&self.provider),
        )
    }

    /// The failure of a chunk without candidates whose `promptFeedback.blockReason` says
    /// the prompt itself was refused; `None` for a chunk that only carries usage.
    fn prompt_blocked(&self, feedback: PromptFeedback) -> Option<StreamEvent> {
        let reason = feedback.block_reason.filter(|r| !r.is_empty())?;
        let reason = reason.as_str();
        let mut message = match blocked_because(reason) {
            Some(why) => format!("the prompt was blocked {why}"),
            None => "the prompt was blocked".to_owned(),
        };
        if let Some(more) = feedback
            .block_reason_message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
        {
            message.push_str(": ");
            message.push_str(more.trim());
        }
        Some(StreamEvent::Failed(
            Problem::Stream {
                code: Some(reason.to_owned()),
                message,
            }
            .at(&self.provider),
        ))
    }
}

/// Why a reply or prompt was blocked, in words, for the reasons that are a block
/// (python-genai `types.py` `FinishReason`, `BlockedReason`).
fn blocked_because(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "SAFETY" => "by the safety filters",
        "RECITATION" => "because it recited published material",
        "BLOCKLIST" => "because it contained a blocklisted term",
        "PROHIBITED_CONTENT" => "for prohibited content",
        "SPII" => "because it contained sensitive personal information",
        "IMAGE_SAFETY" => "by the image safety filters",
        _ => return None,
    })
}

/// The models that can chat: every page of `GET {base}/v1beta/models` (following
/// `nextPageToken`, at most [`MAX_MODEL_PAGES`](super::models::MAX_MODEL_PAGES)),
/// keeping entries whose `supportedGenerationMethods` contains `generateContent`, named
/// without `models/`, with `inputTokenLimit` as the window and `outputTokenLimit` as
/// the longest reply.
async fn list_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<Listed>, ProviderError> {
    let base = format!(
        "{}/{API_VERSION}/models",
        provider.base_url.trim_end_matches('/')
    );
    follow_pages(
        client,
        provider,
        |token| page_url(provider, &base, token),
        |body| parse_page(&provider.name, body),
    )
    .await
}

/// `base?pageSize=1000[&pageToken=…]`; the token is percent-encoded (it is opaque and
/// may hold `=`, `+` or `/`).
fn page_url(
    provider: &ProviderSpec,
    base: &str,
    token: Option<&str>,
) -> Result<reqwest::Url, ProviderError> {
    let mut url = list_url(provider, base)?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("pageSize", PAGE_SIZE);
        if let Some(token) = token {
            query.append_pair("pageToken", token);
        }
    }
    Ok(url)
}

/// One page of `GET /v1beta/models`; an empty last page may omit `models` altogether.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePage {
    #[serde(default, deserialize_with = "super::wire::skip_bad_entries")]
    models: Vec<WireModel>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireModel {
    name: Option<String>,
    supported_generation_methods: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::wire::lenient")]
    input_token_limit: Option<u64>,
    #[serde(default, deserialize_with = "super::wire::lenient")]
    output_token_limit: Option<u64>,
}

/// The chat models of one page and its next-page token.
fn parse_page(provider: &str, body: &[u8]) -> Result<(Vec<Listed>, Option<String>), ProviderError> {
    let page: WirePage = parse_listing(provider, body, "{\"models\":[{\"name\":...}]}")?;
    let models = page
        .models
        .into_iter()
        .filter(|m| {
            m.supported_generation_methods
                .as_ref()
                .is_some_and(|methods| methods.iter().any(|x| x == "generateContent"))
        })
        .filter_map(|m| {
            let name = m.name?;
            let id = match name.strip_prefix("models/") {
                Some(id) => id.to_owned(),
                None => name,
            };
            let info = ModelInfo {
                context: m.input_token_limit.filter(|&n| n > 0),
                max_output: m.output_token_limit.filter(|&n| n > 0),
                ..ModelInfo::default()
            };
            (!id.is_empty()).then_some(Listed { id, info })
        })
        .collect();
    let next = page.next_page_token.filter(|t| !t.is_empty());
    Ok((models, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::http::http_error;
    use crate::provider::test_support::{self, delta, event, text, usage};
    use crate::provider::{ChatMessage, RetryHint};
    use pretty_assertions::assert_eq;
    use reqwest::StatusCode;
    use std::collections::BTreeMap;

    const BASIC: &[u8] = include_bytes!("../../tests/fixtures/gemini/stream-basic-crlf.sse");
    const KEY_400: &[u8] =
        include_bytes!("../../tests/fixtures/gemini/generate-400-api-key.status-400.json");
    const MODELS: &[u8] = include_bytes!("../../tests/fixtures/gemini/models.json");
    const BASIC_TEXT: &str =
        "Rust's ownership model guarantees memory safety without a garbage collector.";

    fn provider() -> ProviderSpec {
        ProviderSpec {
            name: "gemini".into(),
            kind: super::super::ProviderKind::Gemini,
            base_url: "https://generativelanguage.googleapis.com/".into(),
            api_key: Some("fake-gemini-key".into()),
            key_env: Some("GEMINI_API_KEY".into()),
            disabled: None,
            headers: BTreeMap::new(),
            models: None,
            fallback_models: Vec::new(),
            include_usage: false,
            optional: false,
            local: None,
            settings: crate::model_settings::ProviderSettings::default(),
        }
    }

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

    fn stream_failure(code: &str, message: &str) -> StreamEvent {
        StreamEvent::Failed(
            Problem::Stream {
                code: Some(code.into()),
                message: message.into(),
            }
            .at("p"),
        )
    }

    #[tokio::test]
    async fn crlf_fixture_gives_the_same_events_at_every_chunking() {
        let expected = vec![
            delta("Rust's ownership"),
            usage(9, 0),
            delta(" model guarantees memory safety"),
            delta(" without a garbage collector."),
            // 14 answer + 38 thinking tokens, the thinking billed as output.
            StreamEvent::Usage(Usage {
                reasoning_tokens: Some(38),
                ..Usage::new(9, 52)
            }),
            StreamEvent::Finished(Finish::Stop),
        ];
        for size in [BASIC.len(), 1, 2, 3, 7, 64] {
            let got = replay(BASIC, size).await;
            assert_eq!(got, expected, "chunk size {size}");
        }
        assert_eq!(text(&expected), BASIC_TEXT);
    }

    #[test]
    fn thought_parts_are_thinking_in_order_and_non_text_parts_are_skipped() {
        assert_eq!(
            parse_all(&[
                r#"{"candidates":[{"content":{"parts":[{"text":"Let me think…","thought":true},{"text":"An"},{"functionCall":{"name":"f","args":{}}},{"text":"swer","thoughtSignature":"c2ln"},{"text":""}],"role":"model"},"index":0}]}"#,
                r#"{"candidates":[{"content":{"parts":[{"text":"only ","thought":true},{"text":"thinking","thought":true}],"role":"model"},"index":0}]}"#,
                r#"{"candidates":[{"content":{"role":"model"},"index":0}]}"#,
            ]),
            vec![
                StreamEvent::Reasoning("Let me think…".into()),
                delta("Answer"),
                StreamEvent::Reasoning("only thinking".into()),
            ]
        );
    }

    #[test]
    fn max_tokens_is_a_length_finish_at_eof() {
        let mut p = ChunkParser::new("p".to_owned());
        let got = p.on_event(&event(
            "message",
            r#"{"candidates":[{"content":{"parts":[{"text":"cut"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":8,"totalTokenCount":12}}"#,
        ));
        assert_eq!(got, vec![delta("cut"), usage(4, 8)]);
        assert_eq!(p.on_end(), StreamEvent::Finished(Finish::Length));
    }

    #[test]
    fn a_blocking_finish_reason_fails_after_the_text_of_its_chunk() {
        assert_eq!(
            parse_all(&[
                r#"{"candidates":[{"content":{"parts":[{"text":"Sure, "}],"role":"model"},"index":0}]}"#,
                r#"{"candidates":[{"content":{"parts":[{"text":"here"}],"role":"model"},"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7}}"#,
            ]),
            vec![
                delta("Sure, "),
                delta("here"),
                usage(5, 2),
                stream_failure("SAFETY", "the reply was blocked by the safety filters"),
            ]
        );
    }

    #[test]
    fn every_other_finish_reason_is_an_error_in_words() {
        for (reason, message) in [
            (
                "RECITATION",
                "the reply was blocked because it recited published material",
            ),
            (
                "BLOCKLIST",
                "the reply was blocked because it contained a blocklisted term",
            ),
            (
                "PROHIBITED_CONTENT",
                "the reply was blocked for prohibited content",
            ),
            (
                "SPII",
                "the reply was blocked because it contained sensitive personal information",
            ),
            (
                "LANGUAGE",
                "the reply was stopped: the language is not supported",
            ),
            (
                "MALFORMED_FUNCTION_CALL",
                "the reply was stopped at a tool call, which tinychat does not make",
            ),
            (
                "OTHER",
                "the model stopped the reply before it was complete",
            ),
            (
                "SOMETHING_NEW",
                "the model stopped the reply before it was complete",
            ),
        ] {
            let data = format!(r#"{{"candidates":[{{"finishReason":"{reason}","index":0}}]}}"#);
            assert_eq!(
                parse_all(&[&data]),
                vec![stream_failure(reason, message)],
                "{reason}"
            );
        }
        assert_eq!(
            parse_all(&[
                r#"{"candidates":[{"finishReason":"OTHER","finishMessage":" Unexpected model state. ","index":0}]}"#
            ]),
            vec![stream_failure(
                "OTHER",
                "the model stopped the reply before it was complete: Unexpected model state."
            )]
        );
    }

    #[test]
    fn a_blocked_prompt_fails_with_its_reason() {
        assert_eq!(
            parse_all(&[
                r#"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12}}"#
            ]),
            vec![
                usage(12, 0),
                stream_failure(
                    "PROHIBITED_CONTENT",
                    "the prompt was blocked for prohibited content"
                ),
            ]
        );
        assert_eq!(
            parse_all(&[
                r#"{"candidates":[],"promptFeedback":{"blockReason":"OTHER","blockReasonMessage":"Try again."}}"#
            ]),
            vec![stream_failure(
                "OTHER",
                "the prompt was blocked: Try again."
            )]
        );
        // Feedback without a block reason, or a usage-only chunk, is not an error.
        assert_eq!(
            parse_all(&[
                r#"{"promptFeedback":{"safetyRatings":[]},"usageMetadata":{"promptTokenCount":3}}"#
            ]),
            vec![usage(3, 0)]
        );
    }

    #[test]
    fn usage_is_reported_only_when_it_changes_and_counts_thoughts_as_output() {
        assert_eq!(
            parse_all(&[
                r#"{"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}}"#,
                r#"{"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}}"#,
                r#"{"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":3,"thoughtsTokenCount":10,"cachedContentTokenCount":4,"totalTokenCount":22}}"#,
                r#"{"usageMetadata":{}}"#,
            ]),
            vec![
                usage(9, 0),
                StreamEvent::Usage(Usage {
                    cached_input_tokens: Some(4),
                    reasoning_tokens: Some(10),
                    ..Usage::new(9, 13)
                })
            ]
        );
    }

    #[test]
    fn error_payloads_fail_with_their_status() {
        assert_eq!(
            parse_all(&[
                r#"{"candidates":[{"content":{"parts":[{"text":"Part"}],"role":"model"},"index":0}]}"#,
                r#"{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"#,
            ]),
            vec![
                delta("Part"),
                stream_failure("INTERNAL", "An internal error has occurred."),
            ]
        );
        assert_eq!(
            parse_all(&[r#"{"error":{"code":503,"message":"overloaded"}}"#]),
            vec![stream_failure("503", "overloaded")]
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_a_wrong_type_names_its_field() {
        assert_eq!(
            parse_all(&[
                r#"{"candidates":[{"content":{"parts":[{"text":"hi","thoughtSignature":"c2ln"}],"role":"model"},"index":0,"safetyRatings":[]}],"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#,
            ]),
            vec![delta("hi")]
        );
        assert_eq!(
            parse_all(&[r#"{"candidates":[{"content":{"parts":[{"text":"a"},{"text":{"t":"b"}}]}}]}"#]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event has a wrong `candidates[0].content.parts[1].text`: invalid type: map, expected a string at line 1 column 57".into(),
                }
                .at("p")
            )]
        );
        assert_eq!(
            parse_all(&[r#"{"candidates":[{"finishReason":7}]}"#]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event has a wrong `candidates[0].finishReason`: invalid type: integer `7`, expected a string at line 1 column 32".into(),
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn bad_json_and_non_objects_are_malformed() {
        let got = parse_all(&["{\"candidates\":"]);
        assert!(
            matches!(&got[..], [StreamEvent::Failed(ProviderError { problem: Problem::Malformed { message }, .. })] if message.starts_with("invalid JSON in an event: ")),
            "{got:?}"
        );
        assert_eq!(
            parse_all(&["[{}]"]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event is not a JSON object".into()
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn the_end_is_decided_by_a_finish_reason() {
        let mut p = ChunkParser::new("p".to_owned());
        let incomplete = StreamEvent::Failed(Problem::Incomplete.at("p"));
        assert_eq!(p.on_end(), incomplete);
        assert_eq!(p.on_error(SseError::Transport("reset".into())), incomplete);
        p.on_event(&event(
            "message",
            r#"{"candidates":[{"finishReason":"STOP","index":0}]}"#,
        ));
        assert_eq!(p.on_end(), StreamEvent::Finished(Finish::Stop));
        // After the last chunk, a broken or silent connection loses nothing.
        assert_eq!(
            p.on_error(SseError::Idle(Duration::from_secs(1))),
            StreamEvent::Finished(Finish::Stop)
        );
        assert_eq!(
            p.on_error(SseError::Utf8("bad".into())),
            StreamEvent::Failed(
                Problem::Malformed {
                    message: "bad".into()
                }
                .at("p")
            )
        );
    }

    fn turn(role: Role, content: &str) -> ChatMessage {
        ChatMessage {
            role,
            content: content.to_owned(),
        }
    }

    #[test]
    fn thinking_asks_for_thoughts_with_a_budget_or_else_a_level() {
        let mut request = ChatRequest {
            model: "gemini-2.5-flash".into(),
            system_prompt: None,
            messages: vec![turn(Role::User, "hi")],
            temperature: None,
            max_tokens: None,
            idle_timeout: Duration::from_secs(1),
            max_retries: 0,
            reasoning_effort: Some(ReasoningEffort::Low),
            thinking_budget: Some(2048),
        };
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"thinkingConfig":{"includeThoughts":true,"thinkingBudget":2048}}}"#
        );
        request.thinking_budget = None;
        request.max_tokens = Some(100);
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":100,"thinkingConfig":{"includeThoughts":true,"thinkingLevel":"low"}}}"#
        );
    }

    #[test]
    fn request_body_uses_model_role_system_instruction_and_generation_config() {
        let mut request = ChatRequest {
            model: "gemini-2.5-flash".into(),
            system_prompt: Some("be brief".into()),
            messages: vec![
                turn(Role::User, "hi"),
                turn(Role::Assistant, "hello"),
                turn(Role::User, "more"),
            ],
            temperature: Some(0.5),
            max_tokens: Some(100),
            idle_timeout: Duration::from_secs(1),
            max_retries: 0,
            reasoning_effort: None,
            thinking_budget: None,
        };
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"hello"}]},{"role":"user","parts":[{"text":"more"}]}],"systemInstruction":{"parts":[{"text":"be brief"}]},"generationConfig":{"temperature":0.5,"maxOutputTokens":100}}"#
        );
        request.system_prompt = Some("  ".into());
        request.temperature = None;
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"hello"}]},{"role":"user","parts":[{"text":"more"}]}],"generationConfig":{"maxOutputTokens":100}}"#
        );
        request.max_tokens = None;
        request.messages = vec![turn(Role::User, "a"), turn(Role::User, "b")];
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"contents":[{"role":"user","parts":[{"text":"a\n\nb"}]}]}"#
        );
    }

    #[test]
    fn chat_url_never_doubles_models_and_carries_no_key() {
        let p = provider();
        let expected = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
        assert_eq!(chat_url(&p, "gemini-2.5-flash"), expected);
        assert_eq!(chat_url(&p, "models/gemini-2.5-flash"), expected);
        assert_eq!(
            chat_url(&p, "tunedModels/mine-1"),
            "https://generativelanguage.googleapis.com/v1beta/tunedModels/mine-1:streamGenerateContent?alt=sse"
        );
        assert!(!chat_url(&p, "m").contains("fake-gemini-key"));
    }

    fn retry_info(delay: &str) -> RpcDetail {
        serde_json::from_str(&format!(
            r#"{{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":{delay}}}"#
        ))
        .unwrap()
    }

    fn retry_delay(detail: &RpcDetail) -> Option<Duration> {
        detail.retry_delay()
    }

    #[test]
    fn retry_delays_are_read_from_retry_info() {
        assert_eq!(
            retry_delay(&retry_info(r#""47s""#)),
            Some(Duration::from_secs(47))
        );
        assert_eq!(
            retry_delay(&retry_info(r#""1.5s""#)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_delay(&retry_info(r#"{"seconds":"2","nanos":500000000}"#)),
            Some(Duration::from_millis(2500))
        );
        for bad in [r#""47""#, r#""-1s""#, r#""1e300s""#, r#""NaNs""#, "47"] {
            assert_eq!(retry_delay(&retry_info(bad)), None, "{bad}");
        }
        let help: RpcDetail = serde_json::from_str(
            r#"{"@type":"type.googleapis.com/google.rpc.Help","retryDelay":"5s"}"#,
        )
        .unwrap();
        assert_eq!(retry_delay(&help), None);
    }

    fn refined(status: u16, body: &[u8]) -> ProviderError {
        let p = provider();
        let value: Value = serde_json::from_slice(body).unwrap();
        let status = StatusCode::from_u16(status).unwrap();
        refine(&p, http_error(&p, status, body), value.get("error"))
    }

    #[test]
    fn an_invalid_key_400_names_the_variable_and_forbids_retries() {
        let e = refined(400, KEY_400);
        assert_eq!(
            e.to_string(),
            "gemini: HTTP 400 INVALID_ARGUMENT: API key not valid. Please pass a valid API key. (check GEMINI_API_KEY)"
        );
        assert!(matches!(
            e.problem,
            Problem::Http {
                retry: RetryHint {
                    allowed: Some(false),
                    after: None
                },
                ..
            }
        ));
    }

    #[test]
    fn a_429_takes_its_wait_from_retry_info() {
        let body = br#"{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#;
        let e = refined(429, body);
        assert_eq!(
            e.to_string(),
            "gemini: HTTP 429 RESOURCE_EXHAUSTED: Quota exceeded. (rate limited; try again in 2 s)"
        );
        assert!(matches!(
            e.problem,
            Problem::Http {
                retry: RetryHint {
                    after: Some(d),
                    allowed: None
                },
                ..
            } if d == Duration::from_millis(1500)
        ));
    }

    #[test]
    fn model_pages_keep_chat_models_without_the_prefix_and_with_their_limits() {
        assert_eq!(
            parse_page("p", MODELS),
            Ok((
                vec![Listed {
                    id: "gemini-2.5-flash".to_owned(),
                    info: ModelInfo {
                        context: Some(1_048_576),
                        max_output: Some(65536),
                        ..ModelInfo::default()
                    }
                }],
                Some("FiXtUrEpAgEtOkEn".to_owned())
            ))
        );
        assert_eq!(parse_page("p", b"{}"), Ok((vec![], None)));
        let shape = "p: unexpected response: the model list is not {\"models\":[{\"name\":...}]}";
        assert_eq!(
            parse_page("p", b"{\"models\":{}}").map_err(|e| e.to_string()),
            Err(format!(
                "{shape} (`models`: invalid type: map, expected a sequence at line 1 column 10)"
            ))
        );
        assert_eq!(
            parse_page("p", b"[]").map_err(|e| e.to_string()),
            Err(shape.to_owned())
        );
    }

    #[test]
    fn page_urls_encode_the_token() {
        let p = provider();
        let base = "https://generativelanguage.googleapis.com/v1beta/models";
        assert_eq!(
            page_url(&p, base, None).unwrap().as_str(),
            "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000"
        );
        assert_eq!(
            page_url(&p, base, Some("a+b/c=")).unwrap().as_str(),
            "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000&pageToken=a%2Bb%2Fc%3D"
        );
    }
}
