//! Cohere's v2 chat API: `POST {base_url}/v2/chat`, streamed as named SSE events
//! (protocols.md §7).
//!
//! Owns: the request body (system prompt as the first message), the Cohere-specific
//! error handling (498 is a bad token, 498/499 are never retried), the mapping of the
//! `content-delta` and `message-end` events to [`StreamEvent`]s, and the paginated
//! `GET {base_url}/v1/models?endpoint=chat`.
//! Must not: parse SSE framing (that is [`super::sse`]), wait for `[DONE]` (the reply
//! ends at `message-end`), decide retries, touch the UI, or log a header or key.

use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{error_fields, key_hint, post_json};
use super::models::{Listed, follow_pages, list_url};
use super::reasoning;
use super::sse::{self, Event, EventReader};
use super::wire::{parse_event, parse_listing};
use crate::model_settings::ModelInfo;
use futures_util::future::BoxFuture;

use super::kind::{Body, Dialect};
use super::{
    ChatRequest, Ending, Problem, ProviderError, ProviderSpec, ReplyStream, StreamEvent,
    ending_words,
};
use crate::conversation::{Finish, Role, Usage};

/// The JSON body of a streaming v2 chat request. Field order is the wire order.
#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<Thinking>,
}

/// Reasoning models' `thinking`: `{"type": "enabled", "token_budget": N}` (Cohere's
/// reasoning docs; cohere-python passes `type` and `token_budget` through).
#[derive(Debug, Serialize)]
struct Thinking {
    #[serde(rename = "type")]
    kind: &'static str,
    token_budget: u32,
}

#[derive(Debug, Serialize)]
struct WireMessage {
    role: &'static str,
    content: String,
}

impl<'a> WireRequest<'a> {
    /// The system prompt (when set) goes first as a `system` message. The turns are
    /// merged into alternating user/assistant turns ([`ChatRequest::alternating_turns`]):
    /// whether v2 accepts two user turns in a row is not documented, and one merged turn
    /// says the same thing and is valid either way.
    ///
    /// A `thinking_budget` is sent as `thinking.token_budget`. Cohere has no effort
    /// levels, so `reasoning_effort` is not sent (its reasoning models think by
    /// default).
    fn new(request: &'a ChatRequest) -> Self {
        let system = request.system_prompt.as_ref().map(|content| WireMessage {
            role: "system",
            content: content.clone(),
        });
        let turns = request
            .alternating_turns()
            .into_iter()
            .map(|m| WireMessage {
                role: match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                },
                content: m.content,
            });
        WireRequest {
            model: &request.model,
            messages: system.into_iter().chain(turns).collect(),
            stream: true,
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            thinking: request.thinking_budget.map(|token_budget| Thinking {
                kind: "enabled",
                token_budget,
            }),
        }
    }
}

/// The Cohere v2 chat dialect.
pub(super) struct Cohere;

impl Dialect for Cohere {
    fn config_name(&self) -> &'static str {
        "cohere"
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
        sse::drive(sse::events(body, idle), EventParser { provider })
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
    let url = format!("{}/v2/chat", provider.base_url.trim_end_matches('/'));
    let body = WireRequest::new(request);
    let asked = body.thinking.as_ref().map(|_| reasoning::BUDGET_KEY);
    let refine =
        |error, _: Option<&Value>| reasoning::refused(cohere_error(provider, error), asked);
    post_json(client, provider, &url, &body, request.idle_timeout, &refine).await
}

/// Cohere's own statuses on top of the generic hints: 498 (`InvalidTokenError` in the
/// SDK) is a bad key, and 498/499 (`ClientClosedRequestError`) are errors that another
/// try would not fix.
fn cohere_error(provider: &ProviderSpec, mut error: ProviderError) -> ProviderError {
    if let Problem::Http {
        status: status @ (498 | 499),
        hint,
        retry,
        ..
    } = &mut error.problem
    {
        if *status == 498 {
            *hint = Some(key_hint(provider));
        }
        retry.allowed = Some(false);
    }
    error
}

/// The events of a successful response. Every failure arrives as the terminal `Failed`
/// event; the stream owns the body, so dropping it closes the connection.
fn reply(provider: &ProviderSpec, response: reqwest::Response, idle: Duration) -> ReplyStream {
    sse::reply(
        provider,
        response,
        idle,
        EventParser {
            provider: provider.name.clone(),
        },
    )
}

impl EventReader for EventParser {
    fn provider(&self) -> &str {
        &self.provider
    }
    /// The events one SSE event yields; a terminal event, if any, is last.
    fn on_event(&mut self, event: &Event) -> Vec<StreamEvent> {
        let data = event.data.trim();
        // The SDK stops on `[DONE]`; the reply already ended at `message-end`, so one
        // that comes first (or alone) changes nothing.
        if data == "[DONE]" {
            return Vec::new();
        }
        let value: WireEvent = match parse_event(&self.provider, data.as_bytes(), "an event") {
            Ok(value) => value,
            Err(events) => return events,
        };
        let kind = value.kind.as_deref().unwrap_or(event.event.as_str());
        match kind {
            "content-delta" => {
                let content = value
                    .delta
                    .and_then(|d| d.message)
                    .and_then(|m| m.content)
                    .unwrap_or_default();
                let thinking = content.thinking.filter(|t| !t.is_empty());
                let text = content.text.filter(|t| !t.is_empty());
                thinking
                    .map(StreamEvent::Reasoning)
                    .into_iter()
                    .chain(text.map(StreamEvent::Delta))
                    .collect()
            }
            "message-end" => self.on_message_end(value.delta),
            // An error object in place of an event (no `type`): some gateways do this.
            // It is read in any shape error payloads come in, once, as the reply ends.
            "message" => {
                let payload = serde_json::from_str::<Value>(data).unwrap_or(Value::Null);
                match error_fields(&payload, None) {
                    Some((code, message)) => vec![StreamEvent::Failed(
                        Problem::Stream { code, message }.at(&self.provider),
                    )],
                    None => Vec::new(),
                }
            }
            // message-start, content-start, content-end, tool-*, citation-* and debug
            // are not part of the reply.
            _ => Vec::new(),
        }
    }
    /// `message-end` is the only end marker.
    fn on_end(&self) -> StreamEvent {
        StreamEvent::Failed(Problem::Incomplete.at(&self.provider))
    }
}

/// Maps one SSE event to events. Stateless apart from the provider name: the text comes
/// in `content-delta`, and `message-end` carries the usage and the finish reason. The
/// body ending before `message-end` is [`Problem::Incomplete`].
#[derive(Debug)]
struct EventParser {
    provider: String,
}

impl EventParser {
    /// The usage (when present), then the outcome named by `finish_reason`.
    fn on_message_end(&self, delta: Option<Delta>) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        let delta = delta.unwrap_or_default();
        if let Some(usage) = delta.usage.and_then(WireUsage::usage) {
            out.push(StreamEvent::Usage(usage));
        }
        let reason = delta.finish_reason.as_deref().unwrap_or("COMPLETE");
        let error = delta.error.as_deref().filter(|e| !e.is_empty());
        // COMPLETE and STOP_SEQUENCE end the reply normally and MAX_TOKENS cuts it off;
        // TOOL_CALL and reasons this build does not know end it visibly (spec §3).
        let ending = match reason {
            "COMPLETE" | "STOP_SEQUENCE" => Ending::Normal(Finish::Stop),
            "MAX_TOKENS" => Ending::Normal(Finish::Length),
            "ERROR" => {
                out.push(self.failed(error.unwrap_or("the model reported an error")));
                return out;
            }
            "TIMEOUT" => {
                out.push(self.failed(error.unwrap_or("the model timed out before it finished")));
                return out;
            }
            "TOOL_CALL" => Ending::abnormal(reason, ending_words::TOOL_CALL),
            _ => Ending::abnormal(reason, ending_words::UNKNOWN),
        };
        out.push(ending.event(&self.provider, "finish_reason"));
        out
    }

    fn failed(&self, message: &str) -> StreamEvent {
        StreamEvent::Failed(
            Problem::Stream {
                code: None,
                message: message.to_owned(),
            }
            .at(&self.provider),
        )
    }
}

/// One v2 chat stream event as Cohere sends it (protocols.md §7): `content-delta`
/// carries text, `message-end` the usage and the finish reason. Only those fields.
#[derive(Debug, Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: Option<String>,
    delta: Option<Delta>,
}

/// `delta` of both events: `message.content.text` in a `content-delta`; `finish_reason`,
/// `usage` and an `error` text in `message-end`.
#[derive(Debug, Default, Deserialize)]
struct Delta {
    message: Option<DeltaMessage>,
    finish_reason: Option<String>,
    error: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct DeltaMessage {
    content: Option<DeltaContent>,
}

/// `message.content`: an object with the new `text` (or, from reasoning models,
/// `thinking`) in a `content-delta`, a list of blocks in `message-start` (not read: it
/// is empty when the reply starts).
#[derive(Debug, Default)]
struct DeltaContent {
    text: Option<String>,
    thinking: Option<String>,
}

impl<'de> Deserialize<'de> for DeltaContent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = DeltaContent;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a content object or a list of content blocks")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DeltaContent, A::Error> {
                let mut content = DeltaContent::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "text" {
                        content.text = map.next_value()?;
                    } else if key == "thinking" {
                        content.thinking = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(content)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<DeltaContent, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(DeltaContent::default())
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// `tokens` (what the model processed) and `billed_units` (what is billed).
#[derive(Debug, Deserialize)]
struct WireUsage {
    tokens: Option<Counts>,
    billed_units: Option<Counts>,
    /// Input tokens read from the prompt cache, where reported.
    cached_tokens: Option<f64>,
}

/// Cohere types the counts as numbers that may carry a fraction.
#[derive(Debug, Deserialize)]
struct Counts {
    input_tokens: Option<f64>,
    output_tokens: Option<f64>,
}

impl WireUsage {
    /// `tokens`, else `billed_units`; `None` when neither has a count. A cached count
    /// of zero says nothing and is left out.
    fn usage(self) -> Option<Usage> {
        let cached = self
            .cached_tokens
            .filter(|f| *f >= 1.0)
            .map(|f| f.round() as u64);
        [self.tokens, self.billed_units]
            .into_iter()
            .flatten()
            .find_map(|counts| {
                let count = |n: Option<f64>| n.filter(|f| *f >= 0.0).map(|f| f.round() as u64);
                let input = count(counts.input_tokens);
                let output = count(counts.output_tokens);
                if input.is_none() && output.is_none() {
                    return None;
                }
                Some(Usage {
                    input_tokens: input.unwrap_or(0),
                    output_tokens: output.unwrap_or(0),
                    cached_input_tokens: cached,
                    ..Usage::default()
                })
            })
    }
}

/// The chat models, from `GET {base_url}/v1/models?page_size=1000&endpoint=chat`,
/// following `next_page_token` for at most
/// [`MAX_MODEL_PAGES`](super::models::MAX_MODEL_PAGES) pages.
async fn list_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<Listed>, ProviderError> {
    let base = format!("{}/v1/models", provider.base_url.trim_end_matches('/'));
    let page_url = |token: Option<&str>| {
        let mut url = list_url(provider, &base)?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("page_size", "1000");
            query.append_pair("endpoint", "chat");
            if let Some(token) = token {
                query.append_pair("page_token", token);
            }
        }
        Ok(url)
    };
    follow_pages(client, provider, page_url, |body| {
        parse_page(&provider.name, body).map(|page| (page.models, page.next))
    })
    .await
}

/// One page of the model list.
#[derive(Debug, PartialEq)]
struct Page {
    models: Vec<Listed>,
    /// The token of the next page; `None` on the last one.
    next: Option<String>,
}

/// One page of `GET /v1/models` as Cohere sends it.
#[derive(Debug, Deserialize)]
struct WirePage {
    #[serde(deserialize_with = "super::wire::skip_bad_entries")]
    models: Vec<WireModel>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireModel {
    name: Option<String>,
    endpoints: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::wire::lenient")]
    context_length: Option<u64>,
}

/// The chat-capable names on a page (entries without `endpoints` are kept: nothing says
/// they cannot chat), with `context_length` as the window.
fn parse_page(provider: &str, body: &[u8]) -> Result<Page, ProviderError> {
    let page: WirePage = parse_listing(provider, body, "{\"models\":[{\"name\":...}]}")?;
    let models = page
        .models
        .into_iter()
        .filter(|m| {
            m.endpoints
                .as_ref()
                .is_none_or(|endpoints| endpoints.iter().any(|e| e == "chat"))
        })
        .filter_map(|m| {
            let id = m.name.filter(|name| !name.is_empty())?;
            let info = ModelInfo {
                context: m.context_length.filter(|&n| n > 0),
                ..ModelInfo::default()
            };
            Some(Listed { id, info })
        })
        .collect();
    let next = page.next_page_token.filter(|t| !t.is_empty());
    Ok(Page { models, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ChatMessage;
    use crate::provider::test_support::{self, delta, event, summary};
    use pretty_assertions::assert_eq;

    const BASIC: &[u8] = include_bytes!("../../tests/fixtures/cohere/stream-basic.sse");
    const BASIC_TEXT: &str = "Hello! Nice to meet you. What shall we build?";

    fn parse(data: &str) -> Vec<StreamEvent> {
        EventParser {
            provider: "p".to_owned(),
        }
        .on_event(&event("message", data))
    }

    async fn replay(body: &[u8], size: usize) -> Vec<StreamEvent> {
        let parser = EventParser {
            provider: "p".to_owned(),
        };
        test_support::replay(body, size, parser).await
    }

    fn stream_error(message: &str) -> StreamEvent {
        StreamEvent::Failed(
            Problem::Stream {
                code: None,
                message: message.into(),
            }
            .at("p"),
        )
    }

    #[tokio::test]
    async fn fixture_gives_the_same_reply_at_every_chunking() {
        for size in [BASIC.len(), 1, 2, 3, 7, 64] {
            assert_eq!(
                summary(&replay(BASIC, size).await),
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
        }
    }

    #[tokio::test]
    async fn without_done_the_reply_still_ends_at_message_end() {
        let cut = BASIC.len() - b"data: [DONE]\n\n".len();
        let body = &BASIC[..cut];
        assert!(body.ends_with(b"}}}\n\n"));
        for size in [body.len(), 1, 3, 7] {
            assert_eq!(
                summary(&replay(body, size).await).2,
                StreamEvent::Finished(Finish::Stop),
                "chunk size {size}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_cut_before_message_end_is_incomplete() {
        let end = BASIC
            .windows(b"event: message-end".len())
            .position(|w| w == b"event: message-end")
            .expect("message-end in the fixture");
        // Cut inside message-end too: the SSE parser drops the unfinished event.
        for body in [&BASIC[..end], &BASIC[..end + 60]] {
            for size in [body.len(), 1, 7] {
                assert_eq!(
                    summary(&replay(body, size).await),
                    (
                        BASIC_TEXT.to_owned(),
                        None,
                        StreamEvent::Failed(Problem::Incomplete.at("p"))
                    ),
                    "chunk size {size}"
                );
            }
        }
        // `[DONE]` is not `message-end`.
        assert_eq!(
            replay(b"data: [DONE]\n\n", 3).await,
            vec![StreamEvent::Failed(Problem::Incomplete.at("p"))]
        );
    }

    #[tokio::test]
    async fn a_split_utf8_character_is_joined_at_every_chunking() {
        let body = "event: content-delta\n\
            data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"caf\u{e9} \u{1f980}\"}}}}\n\n\
            event: message-end\n\
            data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\"}}\n\n";
        for size in [body.len(), 1, 2, 3, 7] {
            assert_eq!(
                replay(body.as_bytes(), size).await,
                vec![
                    delta("caf\u{e9} \u{1f980}"),
                    StreamEvent::Finished(Finish::Stop)
                ],
                "chunk size {size}"
            );
        }
    }

    #[test]
    fn thinking_deltas_are_reasoning_and_cached_tokens_are_reported() {
        assert_eq!(
            parse(
                r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"Alice has 2 sisters."}}}}"#
            ),
            vec![StreamEvent::Reasoning("Alice has 2 sisters.".into())]
        );
        assert_eq!(
            parse(
                r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"","text":"Three."}}}}"#
            ),
            vec![delta("Three.")]
        );
        assert_eq!(
            parse(
                r#"{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":20,"output_tokens":9},"tokens":{"input_tokens":80,"output_tokens":9},"cached_tokens":64}}}"#
            ),
            vec![
                StreamEvent::Usage(Usage {
                    cached_input_tokens: Some(64),
                    ..Usage::new(80, 9)
                }),
                StreamEvent::Finished(Finish::Stop)
            ]
        );
    }

    #[test]
    fn a_thinking_budget_is_sent_as_thinking_and_an_effort_is_not_sent() {
        let mut request = ChatRequest {
            reasoning_effort: Some(crate::model_settings::ReasoningEffort::High),
            ..crate::provider::test_support::hi_request("command-a-reasoning-08-2025")
        };
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"command-a-reasoning-08-2025","messages":[{"role":"user","content":"hi"}],"stream":true}"#
        );
        request.thinking_budget = Some(2048);
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"command-a-reasoning-08-2025","messages":[{"role":"user","content":"hi"}],"stream":true,"thinking":{"type":"enabled","token_budget":2048}}"#
        );
    }

    #[test]
    fn finish_reasons_map_to_outcomes() {
        let end = |reason: &str| {
            parse(&format!(
                r#"{{"type":"message-end","delta":{{"finish_reason":"{reason}"}}}}"#
            ))
        };
        for reason in ["COMPLETE", "STOP_SEQUENCE"] {
            assert_eq!(
                end(reason),
                vec![StreamEvent::Finished(Finish::Stop)],
                "{reason}"
            );
        }
        for (reason, message) in [
            (
                "TOOL_CALL",
                "the model stopped to call a tool, which tinychat does not offer",
            ),
            (
                "NEW_ONE",
                "the reply ended for a reason tinychat does not know",
            ),
        ] {
            assert_eq!(
                end(reason),
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
        assert_eq!(
            end("MAX_TOKENS"),
            vec![StreamEvent::Finished(Finish::Length)]
        );
        assert_eq!(
            end("ERROR"),
            vec![stream_error("the model reported an error")]
        );
        assert_eq!(
            end("TIMEOUT"),
            vec![stream_error("the model timed out before it finished")]
        );
        assert_eq!(
            parse(r#"{"type":"message-end","delta":{}}"#),
            vec![StreamEvent::Finished(Finish::Stop)]
        );
    }

    #[test]
    fn error_finish_carries_the_error_text_after_the_usage() {
        assert_eq!(
            parse(
                r#"{"type":"message-end","delta":{"finish_reason":"ERROR","error":"internal server error while generating","usage":{"billed_units":{"input_tokens":5.0,"output_tokens":2.0}}}}"#
            ),
            vec![
                StreamEvent::Usage(Usage {
                    input_tokens: 5,
                    output_tokens: 2,
                    ..Usage::default()
                }),
                stream_error("internal server error while generating"),
            ]
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_a_wrong_type_names_its_field() {
        assert_eq!(
            parse(
                r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"hi","type":"text"},"citations":[]}},"logprobs":null}"#
            ),
            vec![delta("hi")]
        );
        assert_eq!(
            parse(r#"{"type":"content-delta","delta":{"message":{"content":{"text":false}}}}"#),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event has a wrong `delta.message.content.text`: invalid type: boolean `false`, expected a string at line 1 column 67".into(),
                }
                .at("p")
            )]
        );
        assert_eq!(
            parse(r#"{"type":"message-end","delta":{"finish_reason":["COMPLETE"]}}"#),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event has a wrong `delta.finish_reason`: invalid type: sequence, expected a string at line 1 column 47".into(),
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn usage_prefers_tokens_over_billed_units() {
        let usage = |u: &str| serde_json::from_str::<WireUsage>(u).unwrap().usage();
        assert_eq!(
            usage(
                r#"{"billed_units":{"input_tokens":5,"output_tokens":11},"tokens":{"input_tokens":71,"output_tokens":11}}"#
            ),
            Some(Usage {
                input_tokens: 71,
                output_tokens: 11,
                ..Usage::default()
            })
        );
        assert_eq!(
            usage(r#"{"billed_units":{"input_tokens":5,"output_tokens":11},"tokens":{}}"#),
            Some(Usage {
                input_tokens: 5,
                output_tokens: 11,
                ..Usage::default()
            })
        );
        assert_eq!(usage(r#"{"cached_tokens":0}"#), None);
    }

    #[test]
    fn other_events_and_empty_deltas_yield_nothing() {
        for data in [
            r#"{"type":"message-start","id":"x","delta":{"message":{"role":"assistant"}}}"#,
            r#"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}"#,
            r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":""}}}}"#,
            r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":""}}}}"#,
            r#"{"type":"content-end","index":0}"#,
            r#"{"type":"tool-plan-delta","delta":{"message":{"tool_plan":"I will"}}}"#,
            r#"{"type":"citation-start","index":0,"delta":{}}"#,
            r#"{"type":"debug","prompt":"x"}"#,
            "[DONE]",
        ] {
            assert_eq!(parse(data), vec![], "{data}");
        }
    }

    #[test]
    fn the_event_name_stands_in_for_a_missing_type() {
        let mut p = EventParser {
            provider: "p".to_owned(),
        };
        assert_eq!(
            p.on_event(&event(
                "content-delta",
                r#"{"delta":{"message":{"content":{"text":"x"}}}}"#
            )),
            vec![delta("x")]
        );
    }

    #[test]
    fn a_bare_error_object_fails_the_reply() {
        assert_eq!(
            parse(r#"{"message":"too many tokens"}"#),
            vec![stream_error("too many tokens")]
        );
    }

    #[test]
    fn bad_json_and_non_objects_are_malformed() {
        let got = parse("{\"type\":");
        assert!(
            matches!(&got[..], [StreamEvent::Failed(ProviderError { problem: Problem::Malformed { message }, .. })] if message.starts_with("invalid JSON in an event: ")),
            "{got:?}"
        );
        assert_eq!(
            parse("7"),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "an event is not a JSON object".into()
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn request_body_merges_runs_and_omits_unset_options() {
        let turn = |role, content: &str| ChatMessage {
            role,
            content: content.into(),
        };
        let mut request = ChatRequest {
            model: "command-a-03-2025".into(),
            system_prompt: Some("be brief".into()),
            messages: vec![
                turn(Role::User, "hi"),
                turn(Role::User, "again"),
                turn(Role::Assistant, "hello"),
            ],
            temperature: None,
            max_tokens: None,
            idle_timeout: Duration::from_secs(1),
            max_retries: 0,
            reasoning_effort: None,
            thinking_budget: None,
        };
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"command-a-03-2025","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi\n\nagain"},{"role":"assistant","content":"hello"}],"stream":true}"#
        );
        request.system_prompt = None;
        request.messages.truncate(1);
        request.temperature = Some(0.3);
        request.max_tokens = Some(10);
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"command-a-03-2025","messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":0.3,"max_tokens":10}"#
        );
    }

    #[test]
    fn model_pages_keep_chat_models_and_the_next_token() {
        assert_eq!(
            parse_page(
                "p",
                br#"{"models":[{"name":"a","endpoints":["generate","chat"]},{"name":"e","endpoints":["embed"]},{"name":"n"},{"endpoints":["chat"]}],"next_page_token":"tok"}"#
            ),
            Ok(Page {
                models: vec![Listed::bare("a"), Listed::bare("n")],
                next: Some("tok".to_owned()),
            })
        );
        assert_eq!(
            parse_page("p", br#"{"models":[],"next_page_token":""}"#),
            Ok(Page {
                models: vec![],
                next: None
            })
        );
        assert_eq!(
            parse_page(
                "p",
                br#"{"models":[{"name":"command-a-03-2025","endpoints":["chat"],"context_length":256000}]}"#
            )
            .map(|page| page.models),
            Ok(vec![Listed {
                id: "command-a-03-2025".to_owned(),
                info: ModelInfo {
                    context: Some(256_000),
                    ..ModelInfo::default()
                }
            }])
        );
        assert_eq!(
            parse_page("p", br#"{"data":[]}"#).map_err(|e| e.to_string()),
            Err(
                r#"p: unexpected response: the model list is not {"models":[{"name":...}]}"#
                    .to_owned()
            )
        );
    }
}
