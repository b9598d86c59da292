//! The Anthropic Messages API (protocols.md §2).
//!
//! Owns: the request body of `POST {base_url}/v1/messages` (top-level `system`, strictly
//! alternating `user`/`assistant` turns, the required `max_tokens`), the Anthropic error
//! rules the shared HTTP code cannot know (a spend-limit 429 is final), the mapping of the
//! named SSE events (`message_start`, `content_block_*`, `message_delta`, `message_stop`,
//! `ping`, `error`) to [`StreamEvent`]s, and the paginated `GET {base_url}/v1/models`.
//! Must not: parse SSE framing (that is [`super::sse`]), decide retries (it only says
//! "never" for the spend limit), touch the UI, or log a header or key.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{error_fields, post_json};
use super::models::{Listed, follow_pages, list_url};
use super::reasoning;
use super::sse::{self, Event, EventReader};
use super::wire::{parse_event, parse_listing};
use crate::model_settings::ModelInfo;
use futures_util::future::BoxFuture;

use super::kind::{Body, Dialect};
use super::{
    ChatRequest, Ending, Problem, ProviderError, ProviderSpec, ReplyStream, RetryHint, StreamEvent,
    ending_words,
};
use crate::conversation::{Finish, Role, Usage};

/// The API version every request names (protocols.md §2).
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// `max_tokens` is required by the API (protocols.md §2); this is sent when the request
/// names none. Every current model accepts it.
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The largest page the model listing serves (`limit` is 1..=1000).
const MODELS_PAGE_LIMIT: u32 = 1000;

/// The `error.details.error_code` of a 429 that no wait will cure (protocols.md §2).
const SPEND_LIMIT_CODE: &str = "enforced_spend_limit_reached";

/// The JSON body of a streaming Messages request. Field order is the wire order.
#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: Vec<WireMessage>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<Thinking>,
}

/// Extended thinking: `{"type": "enabled", "budget_tokens": N}`.
#[derive(Debug, Serialize)]
struct Thinking {
    #[serde(rename = "type")]
    kind: &'static str,
    budget_tokens: u32,
}

#[derive(Debug, Serialize)]
struct WireMessage {
    role: &'static str,
    content: String,
}

impl<'a> WireRequest<'a> {
    /// The system prompt goes in the top-level `system`, never in `messages`; the turns
    /// are merged so roles alternate and the first is the user's, as the API demands
    /// (a reply that failed before its first token leaves two user turns in a row).
    ///
    /// A `thinking_budget` turns on extended thinking with the rules it brings
    /// (protocols.md §10): the budget must be below `max_tokens`, which counts the
    /// thinking and the answer together, so a `max_tokens` (or the default) that is
    /// not above the budget is raised to the budget plus [`DEFAULT_MAX_TOKENS`] for the
    /// answer; and `temperature` may not be changed while thinking, so it is not sent.
    /// `reasoning_effort` has no field in this API and is not sent.
    fn new(request: &'a ChatRequest) -> Self {
        let messages = request
            .alternating_turns()
            .into_iter()
            .map(|m| WireMessage {
                role: match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                },
                content: m.content,
            })
            .collect();
        let mut max_tokens = request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
        let thinking = request.thinking_budget.map(|budget| {
            if max_tokens <= budget {
                max_tokens = budget.saturating_add(DEFAULT_MAX_TOKENS);
            }
            Thinking {
                kind: "enabled",
                budget_tokens: budget,
            }
        });
        WireRequest {
            model: &request.model,
            max_tokens,
            system: request.system_prompt.as_deref(),
            messages,
            stream: true,
            temperature: request.temperature.filter(|_| thinking.is_none()),
            thinking,
        }
    }
}

/// One event's data as the Messages API sends it (protocols.md §2): one flat struct for
/// every event type, since each type uses only some of the fields and the rest are
/// absent. Fields tinychat does not read are ignored.
#[derive(Debug, Deserialize)]
struct WireEvent {
    /// The event type (`message_start`, `content_block_delta`…), equal to the SSE name.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// `message_start`: the message, with the first usage counts.
    message: Option<MessageStart>,
    /// `content_block_*`: which block.
    index: Option<u64>,
    /// `content_block_start`: the block's type.
    content_block: Option<Block>,
    /// `content_block_delta` (text) and `message_delta` (stop reason).
    delta: Option<Delta>,
    /// `message_delta`: the cumulative counts.
    usage: Option<Counts>,
    /// `error`: `{type, message}`, read like any error payload.
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct MessageStart {
    usage: Option<Counts>,
}

#[derive(Debug, Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// A block delta (`type` and `text` or `thinking`) or a message delta (`stop_reason`).
#[derive(Debug, Deserialize)]
struct Delta {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    thinking: Option<String>,
    stop_reason: Option<String>,
}

/// Anthropic's counts. `input_tokens` leaves out what was read from or written to the
/// prompt cache, which has counts of its own.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[allow(clippy::struct_field_names, reason = "the API's own names")]
struct Counts {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

/// The text shown in the thinking for a `redacted_thinking` block: the model thought
/// there, but the provider sent that part encrypted, so there are no words to show.
pub(crate) const REDACTED_THINKING: &str = "[part of the thinking was redacted by the provider]\n";

/// What a content block (by `index`) holds, from its `content_block_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    /// `tool_use`, `redacted_thinking` and block types added later: never shown.
    Other,
}

/// `{base_url}/{path}` whatever the configured base URL ends with.
fn endpoint(provider: &ProviderSpec, path: &str) -> String {
    format!("{}/{path}", provider.base_url.trim_end_matches('/'))
}

/// The Anthropic Messages dialect.
pub(super) struct Anthropic;

impl Dialect for Anthropic {
    fn config_name(&self) -> &'static str {
        "anthropic"
    }

    /// `x-api-key`, and the API version every request names (protocols.md §2).
    fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = builder.header("anthropic-version", ANTHROPIC_VERSION);
        match key {
            Some(key) => builder.header("x-api-key", key),
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
        sse::drive(sse::events(body, idle), EventParser::new(provider))
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
    let url = endpoint(provider, "v1/messages");
    let body = WireRequest::new(request);
    let asked = body.thinking.as_ref().map(|_| reasoning::BUDGET_KEY);
    let refine =
        |error, value: Option<&Value>| reasoning::refused(spend_limit(error, value), asked);
    post_json(client, provider, &url, &body, request.idle_timeout, &refine).await
}

/// The Anthropic rule on top of the shared reading of an error: a spend-limit 429 is
/// final (waiting does not lift the limit), so it is not retried and says what to do.
fn spend_limit(mut error: ProviderError, body: Option<&Value>) -> ProviderError {
    let body = body.and_then(|v| ErrorBody::deserialize(v).ok());
    // The request id is what Anthropic support asks for; it is no secret, but the user
    // line stays short, so it goes to the log only.
    if let Some(id) = body.as_ref().and_then(|b| b.request_id.as_deref()) {
        tracing::debug!(request_id = id, "error response");
    }
    if let Problem::Http {
        status: 429,
        message,
        hint,
        retry,
        ..
    } = &mut error.problem
        && is_spend_limit(body.as_ref(), message)
    {
        *hint = Some(
            "the spend limit is reached; raise it in the Anthropic Console or wait until it resets"
                .to_owned(),
        );
        *retry = RetryHint {
            after: None,
            allowed: Some(false),
        };
    }
    error
}

/// The parts of an Anthropic error body the shared reading does not know (protocols.md
/// §2); any other shape is simply not refined.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    request_id: Option<String>,
    error: Option<ErrorInfo>,
}

#[derive(Debug, Deserialize)]
struct ErrorInfo {
    details: Option<ErrorDetails>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetails {
    error_code: Option<String>,
}

/// True for the 429 of an exhausted spend limit: `error.details.error_code` says so,
/// or (for gateways that drop `details`) the message names the spend limit.
fn is_spend_limit(body: Option<&ErrorBody>, message: &str) -> bool {
    let code = body
        .and_then(|b| b.error.as_ref())
        .and_then(|e| e.details.as_ref())
        .and_then(|d| d.error_code.as_deref());
    code == Some(SPEND_LIMIT_CODE) || message.to_ascii_lowercase().contains("spend limit")
}

/// The events of a successful response. Every failure arrives as the terminal `Failed`
/// event; the stream owns the body, so dropping it closes the connection.
fn reply(provider: &ProviderSpec, response: reqwest::Response, idle: Duration) -> ReplyStream {
    sse::reply(
        provider,
        response,
        idle,
        EventParser::new(provider.name.clone()),
    )
}

impl EventReader for EventParser {
    fn provider(&self) -> &str {
        &self.provider
    }
    /// The events one SSE event yields; a terminal event, if any, is last.
    fn on_event(&mut self, event: &Event) -> Vec<StreamEvent> {
        let data: WireEvent =
            match parse_event(&self.provider, event.data.trim().as_bytes(), "an event") {
                Ok(data) => data,
                Err(events) => return events,
            };
        // The event name equals `data.type`; the data is the authority, the name the
        // fallback for a gateway that drops the field.
        let kind = data.kind.as_deref().unwrap_or(event.event.as_str());
        match kind {
            "message_start" => {
                let usage = data.message.and_then(|m| m.usage);
                self.usage_event(usage).into_iter().collect()
            }
            "content_block_start" => {
                let block_type = data.content_block.and_then(|b| b.kind);
                let kind = match block_type.as_deref() {
                    Some("text") => BlockKind::Text,
                    Some("thinking") => BlockKind::Thinking,
                    _ => BlockKind::Other,
                };
                if let Some(index) = data.index {
                    self.blocks.insert(index, kind);
                }
                if block_type.as_deref() == Some("redacted_thinking") {
                    return vec![StreamEvent::Reasoning(REDACTED_THINKING.to_owned())];
                }
                Vec::new()
            }
            "content_block_delta" => self.delta(data.index, data.delta).into_iter().collect(),
            "message_delta" => {
                if let Some(reason) = data.delta.and_then(|d| d.stop_reason) {
                    self.finish = Some(ending_of(&reason));
                }
                self.usage_event(data.usage).into_iter().collect()
            }
            "message_stop" => {
                let ending = self.finish.take().unwrap_or(Ending::Normal(Finish::Stop));
                vec![ending.event(&self.provider, "stop_reason")]
            }
            "error" => vec![self.stream_error(data.error, &event.data)],
            // `ping`, `content_block_stop` and event types added later carry no text.
            _ => Vec::new(),
        }
    }
    /// The terminal event when the body ends without `message_stop`.
    fn on_end(&self) -> StreamEvent {
        StreamEvent::Failed(Problem::Incomplete.at(&self.provider))
    }
}

/// The state of one reply between SSE events.
///
/// `message_stop` is the only end marker: a body that ends without it is
/// [`Problem::Incomplete`], even after a `stop_reason` (protocols.md checklist 2).
/// Usage counts are cumulative, so each report replaces the last; `message_delta` may
/// omit `input_tokens`, which then keeps the value from `message_start`.
#[derive(Debug)]
struct EventParser {
    provider: String,
    /// What each content block (by `index`) holds: text is the answer, thinking the
    /// thinking, and the rest (`tool_use`, …) is never shown.
    blocks: HashMap<u64, BlockKind>,
    /// The latest value of each count (cumulative, so replaced, never added).
    counts: Counts,
    usage: Option<Usage>,
    finish: Option<Ending>,
}

impl EventParser {
    fn new(provider: String) -> Self {
        EventParser {
            provider,
            blocks: HashMap::new(),
            counts: Counts::default(),
            usage: None,
            finish: None,
        }
    }

    /// The text of a `content_block_delta`: `text_delta`s are the answer and
    /// `thinking_delta`s the thinking, each only in a block not known to be something
    /// else (signature, tool input and citation deltas are neither). A delta whose
    /// block start was never seen is still shown: its own type says what it is.
    fn delta(&self, index: Option<u64>, delta: Option<Delta>) -> Option<StreamEvent> {
        let delta = delta?;
        let block = index.and_then(|i| self.blocks.get(&i)).copied();
        let (text, wanted, event): (_, _, fn(String) -> StreamEvent) = match delta.kind.as_deref() {
            Some("text_delta") => (delta.text, BlockKind::Text, StreamEvent::Delta),
            Some("thinking_delta") => (delta.thinking, BlockKind::Thinking, StreamEvent::Reasoning),
            _ => return None,
        };
        if block.is_some_and(|b| b != wanted) {
            return None;
        }
        text.filter(|t| !t.is_empty()).map(event)
    }

    /// Replaces the known counts with those in `usage` (absent ones are kept) and
    /// reports the result; `None` when `usage` carries no count.
    ///
    /// The input reported is the whole prompt: `input_tokens` plus the tokens read
    /// from and written to the cache (Anthropic counts them apart), so it compares
    /// with other providers' and with the context window; the cache reads are also
    /// its cached part. A cache count of zero says nothing and is not reported.
    fn usage_event(&mut self, usage: Option<Counts>) -> Option<StreamEvent> {
        let usage = usage?;
        if usage.input_tokens.is_none()
            && usage.output_tokens.is_none()
            && usage.cache_read_input_tokens.is_none()
            && usage.cache_creation_input_tokens.is_none()
        {
            return None;
        }
        let known = self.counts;
        let counts = Counts {
            input_tokens: usage.input_tokens.or(known.input_tokens),
            output_tokens: usage.output_tokens.or(known.output_tokens),
            cache_read_input_tokens: usage
                .cache_read_input_tokens
                .or(known.cache_read_input_tokens),
            cache_creation_input_tokens: usage
                .cache_creation_input_tokens
                .or(known.cache_creation_input_tokens),
        };
        self.counts = counts;
        let cached = counts.cache_read_input_tokens.unwrap_or(0);
        let next = Usage {
            input_tokens: counts.input_tokens.unwrap_or(0)
                + cached
                + counts.cache_creation_input_tokens.unwrap_or(0),
            output_tokens: counts.output_tokens.unwrap_or(0),
            cached_input_tokens: (cached > 0).then_some(cached),
            ..Usage::default()
        };
        self.usage = Some(next);
        Some(StreamEvent::Usage(next))
    }

    /// `event: error` after HTTP 200, e.g. `overloaded_error` (protocols.md §2).
    fn stream_error(&self, error: Option<Value>, data: &str) -> StreamEvent {
        // Without an `error` object the payload is read whole, in any shape error
        // payloads come in: this happens once, on the event that ends the reply.
        let payload = match error {
            Some(error) => serde_json::json!({ "error": error }),
            None => serde_json::from_str(data.trim()).unwrap_or(Value::Null),
        };
        let (code, message) =
            error_fields(&payload, None).unwrap_or_else(|| (None, data.trim().to_owned()));
        StreamEvent::Failed(Problem::Stream { code, message }.at(&self.provider))
    }
}

/// `end_turn` and `stop_sequence` end the reply normally and `max_tokens` /
/// `model_context_window_exceeded` cut it off; `tool_use`, `pause_turn`, `refusal` and
/// reasons this build does not know end it visibly (spec §3), never as a silent `stop`.
fn ending_of(reason: &str) -> Ending {
    match reason {
        "end_turn" | "stop_sequence" => Ending::Normal(Finish::Stop),
        "max_tokens" | "model_context_window_exceeded" => Ending::Normal(Finish::Length),
        "tool_use" => Ending::abnormal(reason, ending_words::TOOL_CALL),
        "refusal" => Ending::abnormal(reason, ending_words::REFUSAL),
        "pause_turn" => Ending::abnormal(
            reason,
            "the provider paused the reply before it was complete",
        ),
        _ => Ending::abnormal(reason, ending_words::UNKNOWN),
    }
}

/// Lists the model ids, following `has_more`/`last_id` pages (at most
/// [`MAX_MODEL_PAGES`](super::models::MAX_MODEL_PAGES)).
async fn list_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<Listed>, ProviderError> {
    let base = endpoint(provider, "v1/models");
    follow_pages(
        client,
        provider,
        |after| page_url(provider, &base, after),
        |body| parse_page(&provider.name, body).map(|page| (page.models, page.next)),
    )
    .await
}

/// `…/v1/models?limit=1000`, plus `&after_id=…` (encoded) after the first page.
fn page_url(
    provider: &ProviderSpec,
    base: &str,
    after: Option<&str>,
) -> Result<reqwest::Url, ProviderError> {
    let mut url = list_url(provider, base)?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("limit", &MODELS_PAGE_LIMIT.to_string());
        if let Some(after) = after {
            query.append_pair("after_id", after);
        }
    }
    Ok(url)
}

/// One page of the model listing.
#[derive(Debug, PartialEq)]
struct ModelPage {
    models: Vec<Listed>,
    /// The `after_id` of the next page, when `has_more` says there is one.
    next: Option<String>,
}

/// One page of `GET /v1/models` as the API sends it.
#[derive(Debug, Deserialize)]
struct WirePage {
    #[serde(deserialize_with = "super::wire::skip_bad_entries")]
    data: Vec<WireModel>,
    has_more: Option<bool>,
    last_id: Option<String>,
}

/// An entry; newer listings add the window (`max_input_tokens`) and the largest
/// `max_tokens` a request may ask for (the SDK's `types/model_info.py`).
#[derive(Debug, Deserialize)]
struct WireModel {
    id: Option<String>,
    #[serde(default, deserialize_with = "super::wire::lenient")]
    max_input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "super::wire::lenient")]
    max_tokens: Option<u64>,
}

/// The shape named when a page cannot be read.
const LISTING_SHAPE: &str = "{\"data\":[{\"id\":...}]}";

/// `data[].id` (with its window and reply limit when given) and the cursor of the
/// next page.
fn parse_page(provider: &str, body: &[u8]) -> Result<ModelPage, ProviderError> {
    let page: WirePage = parse_listing(provider, body, LISTING_SHAPE)?;
    let models: Vec<Listed> = page
        .data
        .into_iter()
        .filter_map(|entry| {
            let id = entry.id.filter(|id| !id.is_empty())?;
            let info = ModelInfo {
                context: entry.max_input_tokens.filter(|&n| n > 0),
                max_output: entry.max_tokens.filter(|&n| n > 0),
                ..ModelInfo::default()
            };
            Some(Listed { id, info })
        })
        .collect();
    let next = (page.has_more == Some(true))
        .then(|| {
            page.last_id
                .filter(|id| !id.is_empty())
                .or_else(|| models.last().map(|m| m.id.clone()))
        })
        .flatten();
    Ok(ModelPage { models, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ChatMessage;
    use crate::provider::test_support::{self, delta, event, summary, text, usage};
    use pretty_assertions::assert_eq;

    const BASIC: &[u8] = include_bytes!("../../tests/fixtures/anthropic/stream-basic.sse");
    const BASIC_TEXT: &str = "Sure \u{2014} here's a haiku:\n\nQuiet terminal\nbytes arrive like falling snow\nthe cursor blinks on";

    /// Each `data` as an event named after its `type`, as the API sends them.
    fn parse_all(datas: &[&str]) -> Vec<StreamEvent> {
        let mut p = EventParser::new("p".to_owned());
        datas
            .iter()
            .flat_map(|d| {
                let name = serde_json::from_str::<Value>(d)
                    .ok()
                    .and_then(|v| v.get("type")?.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "message".to_owned());
                p.on_event(&event(&name, d))
            })
            .collect()
    }

    async fn replay(body: &[u8], size: usize) -> Vec<StreamEvent> {
        test_support::replay(body, size, EventParser::new("p".to_owned())).await
    }

    #[tokio::test]
    async fn basic_fixture_gives_the_same_events_at_every_chunking() {
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
        expected.push(usage(18, 27));
        expected.push(StreamEvent::Finished(Finish::Stop));
        for size in [BASIC.len(), 1, 2, 3, 7, 64] {
            assert_eq!(replay(BASIC, size).await, expected, "chunk size {size}");
        }
        assert_eq!(text(&expected), BASIC_TEXT);
    }

    /// The text, last usage and terminal event of every transcript, at every chunking.
    #[tokio::test]
    async fn own_transcripts_give_the_same_reply_at_every_chunking() {
        let overloaded = StreamEvent::Failed(
            Problem::Stream {
                code: Some("overloaded_error".into()),
                message: "Overloaded".into(),
            }
            .at("p"),
        );
        let incomplete = StreamEvent::Failed(Problem::Incomplete.at("p"));
        let cases: [(&str, &'static [u8], &str, Usage, StreamEvent); 5] = [
            (
                "thinking",
                include_bytes!("../../tests/fixtures/anthropic/stream-thinking.sse"),
                "27 \u{d7} 453 = **12,231**",
                Usage {
                    input_tokens: 42,
                    output_tokens: 61,
                    ..Usage::default()
                },
                StreamEvent::Finished(Finish::Stop),
            ),
            (
                "error",
                include_bytes!("../../tests/fixtures/anthropic/stream-error-overloaded.sse"),
                "Les r\u{e9}sultats montrent que",
                Usage {
                    input_tokens: 25,
                    output_tokens: 1,
                    ..Usage::default()
                },
                overloaded,
            ),
            (
                "truncated",
                include_bytes!("../../tests/fixtures/anthropic/stream-truncated.sse"),
                "Once upon a time, in a",
                Usage {
                    input_tokens: 9,
                    output_tokens: 8,
                    ..Usage::default()
                },
                incomplete,
            ),
            (
                "multiline",
                include_bytes!("../../tests/fixtures/anthropic/stream-multiline-data.sse"),
                "line one\nline two \u{1f980}",
                Usage {
                    input_tokens: 7,
                    output_tokens: 5,
                    ..Usage::default()
                },
                StreamEvent::Finished(Finish::Length),
            ),
            (
                "tool use",
                include_bytes!("../../tests/fixtures/anthropic/stream-tool-use.sse"),
                "Let me check the weather.",
                Usage {
                    input_tokens: 380,
                    output_tokens: 54,
                    ..Usage::default()
                },
                // A reply that stops for a tool tinychat never offered is not complete.
                StreamEvent::Failed(
                    Problem::Ended {
                        field: "stop_reason",
                        reason: "tool_use".into(),
                        message: "the model stopped to call a tool, which tinychat does not offer"
                            .into(),
                    }
                    .at("p"),
                ),
            ),
        ];
        for (name, body, text, last_usage, terminal) in cases {
            for size in [body.len(), 1, 2, 3, 7, 64] {
                let (got, usage, last) = summary(&replay(body, size).await);
                assert_eq!(
                    (got.as_str(), usage, &last),
                    (text, Some(last_usage), &terminal),
                    "{name}, chunk size {size}"
                );
            }
        }
    }

    #[test]
    fn text_blocks_are_the_answer_thinking_blocks_the_thinking_and_nothing_else_shows() {
        assert_eq!(
            parse_all(&[
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think"}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}"#,
                r#"{"type":"content_block_stop","index":0}"#,
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Answer"}}"#,
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{"type":"char_location","cited_text":"x"}}}"#,
                r#"{"type":"content_block_stop","index":1}"#,
                r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}"#,
                r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
                r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"never"}}"#,
                r#"{"type":"content_block_start","index":3,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}}"#,
                r#"{"type":"content_block_delta","index":3,"delta":{"type":"thinking_delta","thinking":"never"}}"#,
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":"never"}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"never"}}"#,
            ]),
            vec![
                StreamEvent::Reasoning("Let me think".into()),
                delta("Answer"),
                StreamEvent::Reasoning(
                    "[part of the thinking was redacted by the provider]\n".into()
                ),
            ]
        );
    }

    #[test]
    fn a_text_delta_without_its_block_start_is_still_text() {
        assert_eq!(
            parse_all(&[
                r#"{"type":"content_block_delta","index":4,"delta":{"type":"text_delta","text":"x"}}"#,
                r#"{"type":"content_block_delta","index":4,"delta":{"type":"text_delta","text":""}}"#,
            ]),
            vec![delta("x")]
        );
    }

    #[test]
    fn usage_is_replaced_and_a_missing_input_count_is_kept() {
        assert_eq!(
            parse_all(&[
                r#"{"type":"message_start","message":{"usage":{"input_tokens":12,"output_tokens":1}}}"#,
                r#"{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":5}}"#,
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"#,
                r#"{"type":"message_delta","delta":{},"usage":{"input_tokens":20,"output_tokens":10}}"#,
                r#"{"type":"message_delta","delta":{},"usage":{"cache_read_input_tokens":3}}"#,
                r#"{"type":"message_stop"}"#,
            ]),
            vec![
                usage(12, 1),
                usage(12, 5),
                usage(12, 9),
                usage(20, 10),
                // A cache count alone is news too: the prompt was 23 tokens, 3 cached.
                StreamEvent::Usage(Usage {
                    cached_input_tokens: Some(3),
                    ..Usage::new(23, 10)
                }),
                StreamEvent::Finished(Finish::Stop),
            ]
        );
    }

    #[test]
    fn stop_reasons_map_to_finish() {
        let ended = |reason: &str, message: &str| {
            StreamEvent::Failed(
                Problem::Ended {
                    field: "stop_reason",
                    reason: reason.into(),
                    message: message.into(),
                }
                .at("p"),
            )
        };
        for (reason, end) in [
            ("end_turn", StreamEvent::Finished(Finish::Stop)),
            ("stop_sequence", StreamEvent::Finished(Finish::Stop)),
            ("max_tokens", StreamEvent::Finished(Finish::Length)),
            (
                "model_context_window_exceeded",
                StreamEvent::Finished(Finish::Length),
            ),
            (
                "tool_use",
                ended(
                    "tool_use",
                    "the model stopped to call a tool, which tinychat does not offer",
                ),
            ),
            (
                "pause_turn",
                ended(
                    "pause_turn",
                    "the provider paused the reply before it was complete",
                ),
            ),
            ("refusal", ended("refusal", "the model refused to answer")),
            (
                "something_new",
                ended(
                    "something_new",
                    "the reply ended for a reason tinychat does not know",
                ),
            ),
        ] {
            let delta =
                format!(r#"{{"type":"message_delta","delta":{{"stop_reason":"{reason}"}}}}"#);
            assert_eq!(
                parse_all(&[&delta, r#"{"type":"message_stop"}"#]),
                vec![end],
                "{reason}"
            );
        }
        assert_eq!(
            parse_all(&[r#"{"type":"message_stop"}"#]),
            vec![StreamEvent::Finished(Finish::Stop)]
        );
    }

    #[test]
    fn error_event_is_a_terminal_stream_error() {
        assert_eq!(
            parse_all(&[
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Par"}}"#,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            ]),
            vec![
                delta("Par"),
                StreamEvent::Failed(
                    Problem::Stream {
                        code: Some("overloaded_error".into()),
                        message: "Overloaded".into()
                    }
                    .at("p")
                ),
            ]
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_a_wrong_type_names_its_field() {
        assert_eq!(
            parse_all(&[
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi","extra":[1,2]},"trace":{"id":"t"}}"#,
            ]),
            vec![delta("hi")]
        );
        assert_eq!(
            parse_all(&[
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":["hi"]}}"#,
            ]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event has a wrong `delta.text`: invalid type: sequence, expected a string at line 1 column 76".into(),
                }
                .at("p")
            )]
        );
        assert_eq!(
            parse_all(&[r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":"9"}}"#]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event has a wrong `usage.output_tokens`: invalid type: string \"9\", expected u64 at line 1 column 63".into(),
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn ping_and_unknown_events_are_ignored() {
        let mut p = EventParser::new("p".to_owned());
        assert_eq!(p.on_event(&event("ping", r#"{"type":"ping"}"#)), vec![]);
        assert_eq!(
            p.on_event(&event("brand_new", r#"{"type":"brand_new","x":1}"#)),
            vec![]
        );
        // The name decides when the data has no type.
        assert_eq!(
            p.on_event(&event("message_stop", "{}")),
            vec![StreamEvent::Finished(Finish::Stop)]
        );
    }

    #[test]
    fn end_without_message_stop_is_incomplete_even_after_a_stop_reason() {
        let mut p = EventParser::new("p".to_owned());
        p.on_event(&event(
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#,
        ));
        assert_eq!(p.on_end(), StreamEvent::Failed(Problem::Incomplete.at("p")));
    }

    #[test]
    fn bad_json_and_non_objects_are_malformed() {
        let got = parse_all(&["{\"type\":"]);
        assert!(
            matches!(&got[..], [StreamEvent::Failed(ProviderError { problem: Problem::Malformed { message }, .. })] if message.starts_with("invalid JSON in an event: ")),
            "{got:?}"
        );
        assert_eq!(
            parse_all(&["[1]"]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event is not a JSON object".into()
                }
                .at("p")
            )]
        );
    }

    fn turn(role: Role, content: &str) -> ChatMessage {
        ChatMessage {
            role,
            content: content.to_owned(),
        }
    }

    #[test]
    fn request_body_has_wire_field_order_and_always_max_tokens() {
        let mut request = ChatRequest {
            model: "m".into(),
            system_prompt: Some("be brief".into()),
            messages: vec![turn(Role::User, "hi"), turn(Role::Assistant, "hello")],
            temperature: None,
            max_tokens: None,
            idle_timeout: Duration::from_secs(1),
            max_retries: 0,
            reasoning_effort: None,
            thinking_budget: None,
        };
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"m","max_tokens":4096,"system":"be brief","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}],"stream":true}"#
        );
        request.system_prompt = None;
        request.messages = vec![turn(Role::User, "a"), turn(Role::User, "b")];
        request.temperature = Some(0.5);
        request.max_tokens = Some(100);
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"a\n\nb"}],"stream":true,"temperature":0.5}"#
        );
    }

    #[test]
    fn a_thinking_budget_enables_thinking_raises_max_tokens_and_drops_temperature() {
        let mut request = ChatRequest {
            model: "m".into(),
            system_prompt: None,
            messages: vec![turn(Role::User, "hi")],
            temperature: Some(0.5),
            max_tokens: None,
            idle_timeout: Duration::from_secs(1),
            max_retries: 0,
            reasoning_effort: Some(crate::model_settings::ReasoningEffort::High),
            thinking_budget: Some(8192),
        };
        // The default 4096 is not above the budget: budget + 4096.
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"m","max_tokens":12288,"messages":[{"role":"user","content":"hi"}],"stream":true,"thinking":{"type":"enabled","budget_tokens":8192}}"#
        );
        // A max_tokens above the budget is kept as it is.
        request.max_tokens = Some(10_000);
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"m","max_tokens":10000,"messages":[{"role":"user","content":"hi"}],"stream":true,"thinking":{"type":"enabled","budget_tokens":8192}}"#
        );
        // An effort alone asks for nothing here, and the temperature goes as before.
        request.thinking_budget = None;
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"m","max_tokens":10000,"messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":0.5}"#
        );
    }

    #[test]
    fn spend_limit_is_recognised_by_code_or_message() {
        let body: ErrorBody = serde_json::from_str(
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"x","details":{"error_code":"enforced_spend_limit_reached"}}}"#,
        )
        .unwrap();
        assert!(is_spend_limit(Some(&body), "x"));
        assert!(is_spend_limit(None, "You have reached your Spend Limit."));
        assert!(!is_spend_limit(
            None,
            "Number of request tokens has exceeded your per-minute rate limit"
        ));
    }

    #[test]
    fn a_model_entry_with_limits_gives_its_window_and_longest_reply() {
        assert_eq!(
            parse_page(
                "p",
                br#"{"data":[{"id":"claude","max_input_tokens":200000,"max_tokens":64000},{"id":"odd","max_input_tokens":"big"}],"has_more":false}"#
            ),
            Ok(ModelPage {
                models: vec![
                    Listed {
                        id: "claude".into(),
                        info: ModelInfo {
                            context: Some(200_000),
                            max_output: Some(64000),
                            ..ModelInfo::default()
                        }
                    },
                    Listed::bare("odd")
                ],
                next: None
            })
        );
    }

    #[test]
    fn model_pages_follow_has_more_and_last_id() {
        assert_eq!(
            parse_page("p", br#"{"data":[{"id":"a"},{"id":""},{"type":"model"}],"has_more":true,"last_id":"a"}"#),
            Ok(ModelPage {
                models: vec![Listed::bare("a")],
                next: Some("a".into())
            })
        );
        assert_eq!(
            parse_page(
                "p",
                br#"{"data":[{"id":"b"}],"has_more":true,"last_id":null}"#
            ),
            Ok(ModelPage {
                models: vec![Listed::bare("b")],
                next: Some("b".into())
            })
        );
        assert_eq!(
            parse_page(
                "p",
                br#"{"data":[{"id":"c"}],"has_more":false,"last_id":"c"}"#
            ),
            Ok(ModelPage {
                models: vec![Listed::bare("c")],
                next: None
            })
        );
        assert_eq!(
            parse_page("p", b"{\"models\":[]}").map_err(|e| e.to_string()),
            Err(
                "p: unexpected response: the model list is not {\"data\":[{\"id\":...}]}"
                    .to_owned()
            )
        );
    }
}
