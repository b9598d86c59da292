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

use serde::Serialize;
use serde_json::Value;

use super::http::{error_fields, key_hint, post_json};
use super::models::{follow_pages, list_url};
use super::sse::{self, Event, EventReader};
use super::{
    ChatRequest, Ending, ProviderError, ProviderSpec, ReplyStream, StreamEvent, ending_words,
    json_object,
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
        }
    }
}

/// Sends the request and checks the status before any byte of the body is read as a
/// stream. Waiting for the response headers counts against the idle timeout. Errors
/// here happen before the first token, so the caller may retry them.
pub(super) async fn send(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    request: &ChatRequest,
) -> Result<reqwest::Response, ProviderError> {
    let url = format!("{}/v2/chat", provider.base_url.trim_end_matches('/'));
    let body = WireRequest::new(request);
    let refine = |error, _: Option<&Value>| cohere_error(provider, error);
    post_json(client, provider, &url, &body, request.idle_timeout, &refine).await
}

/// Cohere's own statuses on top of the generic hints: 498 (`InvalidTokenError` in the
/// SDK) is a bad key, and 498/499 (`ClientClosedRequestError`) are errors that another
/// try would not fix.
fn cohere_error(provider: &ProviderSpec, mut error: ProviderError) -> ProviderError {
    if let ProviderError::Http {
        status: status @ (498 | 499),
        hint,
        retry,
        ..
    } = &mut error
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
/// The reader of this kind's event stream, for a body read without a response (see
/// [`super::read_body`]).
pub(super) fn reader(provider: String) -> impl EventReader {
    EventParser { provider }
}

pub(super) fn reply(
    provider: &ProviderSpec,
    response: reqwest::Response,
    idle: Duration,
) -> ReplyStream {
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
        let value = match json_object(&self.provider, data.as_bytes(), "an event") {
            Ok(value) => value,
            Err(events) => return events,
        };
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(event.event.as_str());
        let delta = value.get("delta");
        match kind {
            "content-delta" => delta
                .and_then(|d| d.pointer("/message/content/text"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(|t| StreamEvent::Delta(t.to_owned()))
                .into_iter()
                .collect(),
            "message-end" => self.on_message_end(delta),
            // An error object in place of an event (no `type`): some gateways do this.
            "message" => match error_fields(&value, None) {
                Some((code, message)) => vec![StreamEvent::Failed(ProviderError::Stream {
                    provider: self.provider.clone(),
                    code,
                    message,
                })],
                None => Vec::new(),
            },
            // message-start, content-start, content-end, tool-*, citation-*, debug, and
            // the `thinking` of reasoning models are not part of the reply text.
            _ => Vec::new(),
        }
    }
    /// `message-end` is the only end marker.
    fn on_end(&self) -> StreamEvent {
        StreamEvent::Failed(ProviderError::Incomplete {
            provider: self.provider.clone(),
        })
    }
}

/// Maps one SSE event to events. Stateless apart from the provider name: the text comes
/// in `content-delta`, and `message-end` carries the usage and the finish reason. The
/// body ending before `message-end` is [`ProviderError::Incomplete`].
#[derive(Debug)]
struct EventParser {
    provider: String,
}

impl EventParser {
    /// The usage (when present), then the outcome named by `finish_reason`.
    fn on_message_end(&self, delta: Option<&Value>) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if let Some(usage) = delta.and_then(|d| d.get("usage")).and_then(usage_of) {
            out.push(StreamEvent::Usage(usage));
        }
        let reason = delta
            .and_then(|d| d.get("finish_reason"))
            .and_then(Value::as_str)
            .unwrap_or("COMPLETE");
        let error = delta
            .and_then(|d| d.get("error"))
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty());
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
        StreamEvent::Failed(ProviderError::Stream {
            provider: self.provider.clone(),
            code: None,
            message: message.to_owned(),
        })
    }
}

/// Token counts from `message-end.delta.usage`: `tokens` (what the model processed),
/// else `billed_units` (what is billed). Cohere types the counts as numbers that may
/// carry a fraction, so both integers and floats are read.
fn usage_of(usage: &Value) -> Option<Usage> {
    ["tokens", "billed_units"].iter().find_map(|field| {
        let counts = usage.get(*field)?;
        let count = |name: &str| {
            let n = counts.get(name)?;
            n.as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
        };
        let input = count("input_tokens");
        let output = count("output_tokens");
        if input.is_none() && output.is_none() {
            return None;
        }
        Some(Usage {
            input_tokens: input.unwrap_or(0),
            output_tokens: output.unwrap_or(0),
        })
    })
}

/// The chat models, from `GET {base_url}/v1/models?page_size=1000&endpoint=chat`,
/// following `next_page_token` for at most
/// [`MAX_MODEL_PAGES`](super::models::MAX_MODEL_PAGES) pages.
pub(super) async fn list_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<String>, ProviderError> {
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
    follow_pages(
        client,
        provider,
        page_url,
        |body| parse_page(body).map(|page| (page.names, page.next)),
        "{\"models\":[{\"name\":...}]}",
    )
    .await
}

/// One page of the model list.
#[derive(Debug, PartialEq)]
struct Page {
    names: Vec<String>,
    /// The token of the next page; `None` on the last one.
    next: Option<String>,
}

/// The chat-capable names on a page (entries without `endpoints` are kept: nothing says
/// they cannot chat); `None` when the body is not such a list.
fn parse_page(body: &[u8]) -> Option<Page> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let models = value.get("models")?.as_array()?;
    let names = models
        .iter()
        .filter(|m| match m.get("endpoints").and_then(Value::as_array) {
            Some(endpoints) => endpoints.iter().any(|e| e.as_str() == Some("chat")),
            None => true,
        })
        .filter_map(|m| m.get("name")?.as_str())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    let next = value
        .get("next_page_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Some(Page { names, next })
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
        StreamEvent::Failed(ProviderError::Stream {
            provider: "p".into(),
            code: None,
            message: message.into(),
        })
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
                        output_tokens: 11
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
                        StreamEvent::Failed(ProviderError::Incomplete {
                            provider: "p".into()
                        })
                    ),
                    "chunk size {size}"
                );
            }
        }
        // `[DONE]` is not `message-end`.
        assert_eq!(
            replay(b"data: [DONE]\n\n", 3).await,
            vec![StreamEvent::Failed(ProviderError::Incomplete {
                provider: "p".into()
            })]
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
                vec![StreamEvent::Failed(ProviderError::Ended {
                    provider: "p".into(),
                    field: "finish_reason",
                    reason: reason.into(),
                    message: message.into(),
                })],
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
                    output_tokens: 2
                }),
                stream_error("internal server error while generating"),
            ]
        );
    }

    #[test]
    fn usage_prefers_tokens_over_billed_units() {
        let usage = |u: &str| usage_of(&serde_json::from_str(u).unwrap());
        assert_eq!(
            usage(
                r#"{"billed_units":{"input_tokens":5,"output_tokens":11},"tokens":{"input_tokens":71,"output_tokens":11}}"#
            ),
            Some(Usage {
                input_tokens: 71,
                output_tokens: 11
            })
        );
        assert_eq!(
            usage(r#"{"billed_units":{"input_tokens":5,"output_tokens":11},"tokens":{}}"#),
            Some(Usage {
                input_tokens: 5,
                output_tokens: 11
            })
        );
        assert_eq!(usage(r#"{"cached_tokens":0}"#), None);
    }

    #[test]
    fn other_events_and_thinking_yield_nothing() {
        for data in [
            r#"{"type":"message-start","id":"x","delta":{"message":{"role":"assistant"}}}"#,
            r#"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}"#,
            r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"hmm"}}}}"#,
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
            matches!(&got[..], [StreamEvent::Failed(ProviderError::Malformed { message, .. })] if message.starts_with("invalid JSON in an event: ")),
            "{got:?}"
        );
        assert_eq!(
            parse("7"),
            vec![StreamEvent::Failed(ProviderError::Malformed {
                provider: "p".into(),
                message: "an event is not a JSON object".into()
            })]
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
                br#"{"models":[{"name":"a","endpoints":["generate","chat"]},{"name":"e","endpoints":["embed"]},{"name":"n"},{"endpoints":["chat"]}],"next_page_token":"tok"}"#
            ),
            Some(Page {
                names: vec!["a".to_owned(), "n".to_owned()],
                next: Some("tok".to_owned()),
            })
        );
        assert_eq!(
            parse_page(br#"{"models":[],"next_page_token":""}"#),
            Some(Page {
                names: vec![],
                next: None
            })
        );
        assert_eq!(parse_page(br#"{"data":[]}"#), None);
    }
}
