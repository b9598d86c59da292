//! Ollama's native chat API: `POST {base_url}/api/chat`, streamed as NDJSON
//! (protocols.md §5).
//!
//! Owns: the request body (system prompt as the first message, `options` only when
//! temperature or a token limit is set), the Ollama-specific hints (`ollama pull` for an
//! unknown model, `ollama serve` when nothing listens), splitting the body into lines
//! (one JSON object per `\n`-terminated line, which is **not** SSE), the mapping of each
//! line to [`StreamEvent`]s, reading `GET {base_url}/api/tags`, and asking
//! `POST {base_url}/api/show` for each model's window.
//! Must not: use the SSE reader for this body, decide retries, touch the UI, or log a
//! header or key.

use std::collections::BTreeMap;
use std::ops::Range;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::authorize;
use super::http::{error_fields, post_json};
use super::models::{DISCOVERY_TIMEOUT, Listed, fetch_json};
use super::reasoning;
use super::sse::{self, MAX_EVENT_BYTES, SseError};
use super::think_tags::ThinkSplitter;
use super::wire::{parse_event, parse_listing};
use crate::model_settings::ModelInfo;
use futures_util::future::BoxFuture;

use super::kind::{self, Dialect};
use super::{
    ChatRequest, Ending, Problem, ProviderError, ProviderSpec, ReplyStream, StreamEvent,
    ending_words,
};
use crate::conversation::{Finish, Role, Usage};

/// What to do when nothing answers at the Ollama address.
const NOT_RUNNING_HINT: &str = "is Ollama running? start it with `ollama serve`";

/// The JSON body of a streaming `/api/chat` request. Field order is the wire order.
#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<WireOptions>,
    /// `true`, or a level for the models that take one (gpt-oss).
    #[serde(skip_serializing_if = "Option::is_none")]
    think: Option<Think>,
    /// The config key behind `think`, for the hint when a model refuses it (never sent).
    #[serde(skip)]
    asked: Option<&'static str>,
}

/// Ollama's `think`: a boolean, or `"low" | "medium" | "high"` (ollama-js README, "think
/// `<boolean | "high" | "medium" | "low">`").
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Think {
    On(bool),
    Level(&'static str),
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

/// Sampling options; Ollama calls the token limit `num_predict`.
#[derive(Debug, Serialize)]
struct WireOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_predict: Option<u32>,
}

impl<'a> WireRequest<'a> {
    /// The turns go as they are: Ollama does not require user and assistant turns to
    /// alternate, so two user turns in a row (after a failed reply) are valid.
    ///
    /// Thinking: a `reasoning_effort` is sent as the level (`think: "high"`), and a
    /// `thinking_budget` alone as `think: true`, since Ollama takes no budget. A model
    /// without thinking answers 400 to either, which then names the key to remove.
    fn new(request: &'a ChatRequest) -> Self {
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
        let options = (request.temperature.is_some() || request.max_tokens.is_some()).then_some(
            WireOptions {
                temperature: request.temperature,
                num_predict: request.max_tokens,
            },
        );
        let (think, asked) = match (request.reasoning_effort, request.thinking_budget) {
            (Some(effort), _) => (
                Some(Think::Level(effort.as_str())),
                Some(reasoning::EFFORT_KEY),
            ),
            (None, Some(_)) => (Some(Think::On(true)), Some(reasoning::BUDGET_KEY)),
            (None, None) => (None, None),
        };
        WireRequest {
            model: &request.model,
            messages: system.into_iter().chain(turns).collect(),
            stream: true,
            options,
            think,
            asked,
        }
    }
}

/// Ollama's native NDJSON dialect.
pub(super) struct Ollama;

impl Dialect for Ollama {
    fn config_name(&self) -> &'static str {
        "ollama"
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

    fn read_body(&self, provider: String, body: kind::Body, idle: Duration) -> ReplyStream {
        read(provider, body, idle)
    }

    fn list_models<'a>(
        &'a self,
        client: &'a reqwest::Client,
        provider: &'a ProviderSpec,
    ) -> BoxFuture<'a, Result<Vec<Listed>, ProviderError>> {
        Box::pin(list_models(client, provider))
    }

    fn describe_models<'a>(
        &'a self,
        client: &'a reqwest::Client,
        provider: &'a ProviderSpec,
        models: &'a [String],
    ) -> BoxFuture<'a, BTreeMap<String, ModelInfo>> {
        Box::pin(describe_models(client, provider, models))
    }
}

/// Sends the request and checks the status before the body is read as a stream.
/// Waiting for the response headers counts against the idle timeout. Errors here happen
/// before the first token, so the caller may retry them.
async fn send(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    request: &ChatRequest,
) -> Result<reqwest::Response, ProviderError> {
    let url = format!("{}/api/chat", provider.base_url.trim_end_matches('/'));
    let body = WireRequest::new(request);
    let refine = |error, _: Option<&Value>| {
        reasoning::refused(
            with_pull_hint(not_running(error), &request.model),
            body.asked,
        )
    };
    post_json(client, provider, &url, &body, request.idle_timeout, &refine).await
}

/// A refused connection means Ollama is not running there: say how to start it instead
/// of the generic "is the server running?". Other connection failures (DNS, TLS, a
/// timeout) keep their own words. `send_error` ends the message with the root cause,
/// which [`super::http::root_cause`] words as "connection refused" on every platform.
fn not_running(mut error: ProviderError) -> ProviderError {
    if let Problem::Connect { message, hint, .. } = &mut error.problem
        && message.ends_with(": connection refused")
    {
        *hint = Some(NOT_RUNNING_HINT.to_owned());
    }
    error
}

/// A 404 about a model (`model 'x' not found`) means it is not pulled yet: name the
/// command that fetches it. Other 404s (a wrong base URL) keep the generic hint.
fn with_pull_hint(mut error: ProviderError, model: &str) -> ProviderError {
    if let Problem::Http {
        status: 404,
        message,
        hint,
        ..
    } = &mut error.problem
        && message.contains("model")
    {
        *hint = Some(format!("run `ollama pull {model}`"));
    }
    error
}

/// The events of a successful response. Every failure arrives as the terminal `Failed`
/// event; the stream owns the body, so dropping it closes the connection.
fn reply(provider: &ProviderSpec, response: reqwest::Response, idle: Duration) -> ReplyStream {
    if let Some(error) = super::http::unsupported_encoding(provider, response.headers()) {
        return super::failed_reply(error);
    }
    read(provider.name.clone(), response.bytes_stream(), idle)
}

/// The reply events of `body` read as this kind's NDJSON, for a body read without a
/// response (see [`super::read_body`]).
pub(super) fn read<S, B, E>(provider: String, body: S, idle: Duration) -> ReplyStream
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: std::error::Error + 'static,
{
    reply_events(provider, Box::pin(sse::idle_limited(body, idle)))
}

/// Body chunks with the idle timeout applied, boxed so the reply stream can own them.
type Body<B> = Pin<Box<dyn Stream<Item = Result<B, SseError>> + Send>>;

/// Splits the body into lines, maps them to [`StreamEvent`]s, and ends right after the
/// terminal one, dropping the body (and so the connection) at that moment.
fn reply_events<B>(provider: String, body: Body<B>) -> ReplyStream
where
    B: AsRef<[u8]> + Send + 'static,
{
    let started = Instant::now();
    let state = Some((body, Reader::new(provider)));
    let batches = stream::unfold(state, move |state| async move {
        let (mut body, mut reader) = state?;
        let mut out = match body.next().await {
            Some(Ok(chunk)) => reader.on_chunk(chunk.as_ref()),
            Some(Err(e)) => vec![StreamEvent::Failed(
                e.into_provider_error(&reader.parser.provider),
            )],
            None => reader.on_end(),
        };
        if let Some(last) = out.pop_if(|e| e.is_terminal()) {
            // Text held back for a possible `<think>` tag goes out before the end.
            reader.parser.tags.finish(&mut out);
            out.push(last);
        }
        if let Some(last) = out.last().filter(|e| e.is_terminal()) {
            tracing::debug!(
                provider = %reader.parser.provider,
                elapsed_ms = started.elapsed().as_millis(),
                outcome = ?last,
                "reply ended"
            );
            return Some((out, None));
        }
        Some((out, Some((body, reader))))
    });
    Box::pin(batches.flat_map(stream::iter))
}

/// Cuts a byte stream into `\n`-terminated lines without rescanning or copying what it
/// already holds: each byte is searched once, and consumed lines are dropped in bulk
/// once they make up at least half of the buffer, so the total cost stays linear in the
/// body length. Lines are handed out as raw bytes: a UTF-8 character split across
/// chunks is whole again by the time its line is complete.
#[derive(Debug, Default)]
struct LineBuffer {
    buf: Vec<u8>,
    /// Where the first unconsumed line starts.
    start: usize,
    /// How far `buf` has been searched for `\n` (no newline in `start..scanned`).
    scanned: usize,
}

impl LineBuffer {
    fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line (without its `\n`), as a range of `buf`.
    fn next_line(&mut self) -> Option<Range<usize>> {
        let Some(offset) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
            self.scanned = self.buf.len();
            return None;
        };
        let end = self.scanned + offset;
        let line = self.start..end;
        self.start = end + 1;
        self.scanned = self.start;
        Some(line)
    }

    /// What is left after the last `\n`: a line the body never finished.
    fn rest(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Lines in, events out.
#[derive(Debug)]
struct Reader {
    lines: LineBuffer,
    parser: LineParser,
    /// Whether a line was handed out yet (the first may start with a BOM).
    started: bool,
}

impl Reader {
    fn new(provider: String) -> Self {
        Reader {
            lines: LineBuffer::default(),
            parser: LineParser::new(provider),
            started: false,
        }
    }

    /// The events of every line `chunk` completes; stops at the first terminal event.
    /// A line still unfinished after [`MAX_EVENT_BYTES`] ends the reply: nothing that
    /// long is a reply line, and it would otherwise be held in memory without end.
    fn on_chunk(&mut self, chunk: &[u8]) -> Vec<StreamEvent> {
        self.lines.push(chunk);
        let mut out = Vec::new();
        while let Some(range) = self.lines.next_line() {
            let mut line = &self.lines.buf[range];
            if !self.started {
                // A leading byte-order mark is no part of the first line's JSON.
                self.started = true;
                line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            }
            out.extend(self.parser.on_line(line));
            if out.last().is_some_and(StreamEvent::is_terminal) {
                return out;
            }
        }
        if self.lines.rest().len() > MAX_EVENT_BYTES {
            out.push(StreamEvent::Failed(
                SseError::TooLarge.into_provider_error(&self.parser.provider),
            ));
        }
        out
    }

    /// The body ended without `done:true`. A last line without its `\n` still counts
    /// when it is complete JSON (a server that omits the final newline); anything else
    /// means the reply was cut off.
    fn on_end(&mut self) -> Vec<StreamEvent> {
        let mut rest = self.lines.rest();
        if !self.started {
            rest = rest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(rest);
        }
        let mut out = Vec::new();
        if !rest.trim_ascii().is_empty()
            && serde_json::from_slice::<serde::de::IgnoredAny>(rest).is_ok()
        {
            out = self.parser.on_line(rest);
        }
        if !out.last().is_some_and(StreamEvent::is_terminal) {
            out.push(StreamEvent::Failed(
                Problem::Incomplete.at(&self.parser.provider),
            ));
        }
        out
    }
}

/// Maps one NDJSON line to events. Ollama repeats nothing across lines, and the final
/// line carries the usage and the reason; the only state is the `<think>` splitter for
/// models that write their thinking into `content` (run without `think`).
#[derive(Debug)]
struct LineParser {
    provider: String,
    tags: ThinkSplitter,
}

impl LineParser {
    fn new(provider: String) -> Self {
        LineParser {
            provider,
            tags: ThinkSplitter::default(),
        }
    }

    /// The events of one line; a terminal event, if any, is last. Blank lines (and a
    /// `\r` before the `\n`) are tolerated.
    fn on_line(&mut self, line: &[u8]) -> Vec<StreamEvent> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Vec::new();
        }
        let mut value: WireLine = match parse_event(&self.provider, line, "a line") {
            Ok(value) => value,
            Err(events) => return events,
        };
        if let Some(error) = value.error {
            let message = match error {
                Value::String(text) if !text.is_empty() => text,
                other => error_fields(&serde_json::json!({ "error": other }), None)
                    .map_or_else(|| other.to_string(), |(_, message)| message),
            };
            return vec![StreamEvent::Failed(
                Problem::Stream {
                    code: None,
                    message,
                }
                .at(&self.provider),
            )];
        }
        let mut out = Vec::new();
        if let Some(message) = value.message.take() {
            // `message.thinking` (with `think` set) comes before the answer's text.
            if let Some(thinking) = message.thinking.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::Reasoning(thinking));
            }
            if let Some(text) = message.content {
                self.tags.push(text, &mut out);
            }
        }
        if value.done == Some(true) {
            if let Some(usage) = value.usage() {
                out.push(StreamEvent::Usage(usage));
            }
            // `stop` (or no reason: Ollama before 0.1.32 sent none) ends the reply
            // normally and `length` cuts it off; any other reason (`load`, `unload`,
            // ones added later) ends it visibly (spec §3).
            let ending = match value.done_reason.as_deref() {
                None | Some("stop") => Ending::Normal(Finish::Stop),
                Some("length") => Ending::Normal(Finish::Length),
                Some(reason) => Ending::abnormal(reason, ending_words::UNKNOWN),
            };
            out.push(ending.event(&self.provider, "done_reason"));
        }
        out
    }
}

/// One NDJSON line of `/api/chat` as Ollama sends it (protocols.md §5), or an error
/// line in its place. Only the fields tinychat reads.
#[derive(Debug, Deserialize)]
struct WireLine {
    /// Ollama's own errors are a string; proxies in front of it send objects.
    error: Option<Value>,
    message: Option<WireMessageIn>,
    done: Option<bool>,
    done_reason: Option<String>,
    prompt_eval_count: Option<u64>,
    eval_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct WireMessageIn {
    content: Option<String>,
    thinking: Option<String>,
}

impl WireLine {
    /// Token counts from the `done:true` line; `None` when it carries neither count (a
    /// model answered from cache may omit `prompt_eval_count`).
    fn usage(&self) -> Option<Usage> {
        if self.prompt_eval_count.is_none() && self.eval_count.is_none() {
            return None;
        }
        Some(Usage {
            input_tokens: self.prompt_eval_count.unwrap_or(0),
            output_tokens: self.eval_count.unwrap_or(0),
            ..Usage::default()
        })
    }
}

/// The locally pulled models, from `GET {base_url}/api/tags` (which says nothing about
/// their windows: [`describe_models`] asks).
async fn list_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<Listed>, ProviderError> {
    let url = format!("{}/api/tags", provider.base_url.trim_end_matches('/'));
    let body = fetch_json(client, provider, &url)
        .await
        .map_err(not_running)?;
    parse_tags(&provider.name, &body)
}

/// `GET /api/tags` as Ollama sends it.
#[derive(Debug, Deserialize)]
struct WireTags {
    #[serde(deserialize_with = "super::wire::skip_bad_entries")]
    models: Vec<WireTag>,
}

#[derive(Debug, Deserialize)]
struct WireTag {
    model: Option<String>,
    name: Option<String>,
}

/// `models[].model`, else `models[].name`.
fn parse_tags(provider: &str, body: &[u8]) -> Result<Vec<Listed>, ProviderError> {
    let tags: WireTags = parse_listing(provider, body, "{\"models\":[{\"model\":...}]}")?;
    Ok(tags
        .models
        .into_iter()
        .filter_map(|m| {
            [m.model, m.name]
                .into_iter()
                .flatten()
                .find(|s| !s.is_empty())
        })
        .map(Listed::bare)
        .collect())
}

/// How many `POST /api/show` questions are in flight at once: each one makes Ollama
/// read a model's header, and a machine with fifty models should not get fifty at once.
const SHOW_CONCURRENCY: usize = 4;

/// Each model's window, from `POST {base_url}/api/show {"model": id}`:
/// `model_info["<arch>.context_length"]`, `<arch>` being
/// `model_info["general.architecture"]`. At most [`SHOW_CONCURRENCY`] at a time, and
/// all within [`DISCOVERY_TIMEOUT`]: what has not answered by then (or failed, or said
/// nothing) stays unknown.
async fn describe_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    models: &[String],
) -> BTreeMap<String, ModelInfo> {
    let url = format!("{}/api/show", provider.base_url.trim_end_matches('/'));
    let deadline = tokio::time::Instant::now() + DISCOVERY_TIMEOUT;
    let url = url.as_str();
    let mut answers = stream::iter(models.iter().cloned())
        .map(|model| show(client, provider, url, model))
        .buffer_unordered(SHOW_CONCURRENCY);
    let mut described = BTreeMap::new();
    loop {
        match tokio::time::timeout_at(deadline, answers.next()).await {
            Ok(Some(Some((model, context)))) => {
                let info = ModelInfo {
                    context: Some(context),
                    ..ModelInfo::default()
                };
                described.insert(model, info);
            }
            Ok(Some(None)) => {}
            Ok(None) => break,
            Err(_) => {
                tracing::debug!(provider = %provider.name, "model details cut off at the discovery timeout");
                break;
            }
        }
    }
    described
}

/// One model's window, or `None` when the question fails in any way.
async fn show(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    url: &str,
    model: String,
) -> Option<(String, u64)> {
    let body = serde_json::to_vec(&WireShowRequest { model: &model }).ok()?;
    let request = authorize(client.post(url), provider)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    let response = request.send().await.ok()?;
    if !response.status().is_success() {
        tracing::debug!(provider = %provider.name, status = response.status().as_u16(), "model details refused");
        return None;
    }
    let body = response.bytes().await.ok()?;
    Some((model, parse_show(&body)?))
}

#[derive(Debug, Serialize)]
struct WireShowRequest<'a> {
    model: &'a str,
}

/// `POST /api/show` as Ollama answers it (only the field read).
#[derive(Debug, Deserialize)]
struct WireShow {
    #[serde(default, deserialize_with = "super::wire::lenient")]
    model_info: Option<serde_json::Map<String, Value>>,
}

/// `model_info["<general.architecture>.context_length"]`, when positive.
fn parse_show(body: &[u8]) -> Option<u64> {
    let show: WireShow = super::wire::parse(body).ok()?;
    let info = show.model_info?;
    let arch = info.get("general.architecture")?.as_str()?;
    info.get(&format!("{arch}.context_length"))?
        .as_u64()
        .filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ChatMessage;
    use crate::provider::test_support::{delta, summary};
    use pretty_assertions::assert_eq;

    const BASIC: &[u8] = include_bytes!("../../tests/fixtures/ollama/chat-basic.ndjson");
    const BASIC_TEXT: &str = "The sky is blue because of Rayleigh scattering.";
    const BASIC_USAGE: Usage = Usage::new(26, 10);

    /// Feeds `body` split into `size`-byte chunks through the real line reader.
    async fn replay(body: &[u8], size: usize) -> Vec<StreamEvent> {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(size).map(|c| Ok(c.to_vec())).collect();
        let body = sse::idle_limited(stream::iter(chunks), Duration::from_secs(5));
        reply_events("p".to_owned(), Box::pin(body)).collect().await
    }

    fn parse_lines(lines: &[&str]) -> Vec<StreamEvent> {
        let mut p = LineParser::new("p".to_owned());
        lines.iter().flat_map(|l| p.on_line(l.as_bytes())).collect()
    }

    #[tokio::test]
    async fn fixture_gives_the_same_reply_at_every_chunking() {
        for size in [BASIC.len(), 1, 2, 3, 7, 64] {
            assert_eq!(
                summary(&replay(BASIC, size).await),
                (
                    BASIC_TEXT.to_owned(),
                    Some(BASIC_USAGE),
                    StreamEvent::Finished(Finish::Stop)
                ),
                "chunk size {size}"
            );
        }
    }

    #[tokio::test]
    async fn crlf_blank_lines_and_a_split_utf8_character_at_every_chunking() {
        let body = "{\"message\":{\"role\":\"assistant\",\"content\":\"caf\u{e9} \u{1f980}\"},\"done\":false}\r\n\
            \r\n\n\
            {\"message\":{\"role\":\"assistant\",\"content\":\"\u{2014}ok\"},\"done\":false}\r\n\
            {\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"eval_count\":4}\r\n";
        for size in [body.len(), 1, 2, 3, 7] {
            assert_eq!(
                replay(body.as_bytes(), size).await,
                vec![
                    delta("caf\u{e9} \u{1f980}"),
                    delta("\u{2014}ok"),
                    StreamEvent::Usage(Usage {
                        input_tokens: 0,
                        output_tokens: 4,
                        ..Usage::default()
                    }),
                    StreamEvent::Finished(Finish::Length),
                ],
                "chunk size {size}"
            );
        }
    }

    #[tokio::test]
    async fn the_reply_ends_at_done_and_ignores_what_follows() {
        let body =
            "{\"message\":{\"content\":\"a\"},\"done\":true}\n{\"message\":{\"content\":\"b\"}}\n";
        assert_eq!(
            replay(body.as_bytes(), 3).await,
            vec![delta("a"), StreamEvent::Finished(Finish::Stop)]
        );
    }

    #[tokio::test]
    async fn a_body_cut_mid_line_or_before_done_is_incomplete() {
        let cut_mid_line = &BASIC[..BASIC.len() - 20];
        let cut_at_line_end = &BASIC[..BASIC.iter().rposition(|&b| b == b'\n').unwrap_or(0)];
        let before_done = &cut_at_line_end[..=cut_at_line_end
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap_or(0)];
        for body in [cut_mid_line, before_done] {
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
        // The done line without its final newline is still complete JSON: accepted.
        assert_eq!(
            summary(&replay(cut_at_line_end, 5).await),
            (
                BASIC_TEXT.to_owned(),
                Some(BASIC_USAGE),
                StreamEvent::Finished(Finish::Stop)
            )
        );
        assert_eq!(
            replay(b"", 1).await,
            vec![StreamEvent::Failed(Problem::Incomplete.at("p"))]
        );
    }

    #[test]
    fn error_lines_are_terminal_stream_errors() {
        assert_eq!(
            parse_lines(&[
                r#"{"message":{"role":"assistant","content":"Par"},"done":false}"#,
                r#"{"error":"an error was encountered while running the model: unexpected EOF"}"#,
            ]),
            vec![
                delta("Par"),
                StreamEvent::Failed(
                    Problem::Stream {
                        code: None,
                        message: "an error was encountered while running the model: unexpected EOF"
                            .into()
                    }
                    .at("p")
                ),
            ]
        );
        assert_eq!(
            parse_lines(&[r#"{"error":{"message":"boom"}}"#]),
            vec![StreamEvent::Failed(
                Problem::Stream {
                    code: None,
                    message: "boom".into()
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_a_wrong_type_names_its_field() {
        assert_eq!(
            parse_lines(&[
                r#"{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"hi","images":null},"done":false,"new":1}"#,
            ]),
            vec![delta("hi")]
        );
        assert_eq!(
            parse_lines(&[r#"{"message":{"content":"x"},"done":"true"}"#]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "a line has a wrong `done`: invalid type: string \"true\", expected a boolean at line 1 column 40".into(),
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn thinking_is_reasoning_and_empty_content_yields_nothing() {
        assert_eq!(
            parse_lines(&[
                r#"{"message":{"role":"assistant","content":"","thinking":"Let me think"},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"","thinking":""},"done":false}"#,
                r#"{"message":{"role":"assistant"},"done":false}"#,
                r#"{"done":false}"#,
                "   ",
            ]),
            vec![StreamEvent::Reasoning("Let me think".into())]
        );
    }

    #[test]
    fn stop_or_no_reason_is_a_normal_end_other_reasons_show_and_usage_is_optional() {
        assert_eq!(
            parse_lines(&[r#"{"message":{"content":""},"done":true,"done_reason":"stop"}"#]),
            vec![StreamEvent::Finished(Finish::Stop)]
        );
        assert_eq!(
            parse_lines(&[r#"{"message":{"content":""},"done":true}"#]),
            vec![StreamEvent::Finished(Finish::Stop)]
        );
        for reason in ["load", "unload", "whatever"] {
            let line =
                format!(r#"{{"message":{{"content":""}},"done":true,"done_reason":"{reason}"}}"#);
            assert_eq!(
                parse_lines(&[&line]),
                vec![StreamEvent::Failed(
                    Problem::Ended {
                        field: "done_reason",
                        reason: reason.into(),
                        message: "the reply ended for a reason tinychat does not know".into()
                    }
                    .at("p")
                )],
                "{reason}"
            );
        }
        assert_eq!(
            parse_lines(&[
                r#"{"message":{"content":"end"},"done":true,"done_reason":"length","prompt_eval_count":3,"eval_count":5}"#
            ]),
            vec![
                delta("end"),
                StreamEvent::Usage(Usage {
                    input_tokens: 3,
                    output_tokens: 5,
                    ..Usage::default()
                }),
                StreamEvent::Finished(Finish::Length),
            ]
        );
    }

    #[test]
    fn bad_json_and_non_objects_are_malformed() {
        let got = parse_lines(&["{\"message\":"]);
        assert!(
            matches!(&got[..], [StreamEvent::Failed(ProviderError { problem: Problem::Malformed { message }, .. })] if message.starts_with("invalid JSON in a line: ")),
            "{got:?}"
        );
        assert_eq!(
            parse_lines(&["[1]"]),
            vec![StreamEvent::Failed(
                Problem::Malformed {
                    message: "a line is not a JSON object".into()
                }
                .at("p")
            )]
        );
    }

    #[test]
    fn line_buffer_hands_out_each_line_once_and_stays_small() {
        let mut lines = LineBuffer::default();
        let mut got = Vec::new();
        let line = b"0123456789\n";
        for _ in 0..1000 {
            for piece in line.chunks(4) {
                lines.push(piece);
                while let Some(range) = lines.next_line() {
                    got.push(lines.buf[range].to_vec());
                }
            }
        }
        assert_eq!(got.len(), 1000);
        assert!(got.iter().all(|l| l == b"0123456789"));
        assert!(lines.buf.len() <= 2 * line.len(), "{}", lines.buf.len());
        assert_eq!(lines.rest(), b"");
    }

    #[test]
    fn thinking_is_asked_with_think_true_or_the_effort_as_its_level() {
        let mut request = ChatRequest {
            thinking_budget: Some(1024),
            ..crate::provider::test_support::hi_request("qwen3")
        };
        let wire = WireRequest::new(&request);
        assert_eq!(
            (serde_json::to_string(&wire).unwrap(), wire.asked),
            (
                r#"{"model":"qwen3","messages":[{"role":"user","content":"hi"}],"stream":true,"think":true}"#.to_owned(),
                Some("thinking_budget")
            )
        );
        request.reasoning_effort = Some(crate::model_settings::ReasoningEffort::Medium);
        request.max_tokens = Some(8);
        let wire = WireRequest::new(&request);
        assert_eq!(
            (serde_json::to_string(&wire).unwrap(), wire.asked),
            (
                r#"{"model":"qwen3","messages":[{"role":"user","content":"hi"}],"stream":true,"options":{"num_predict":8},"think":"medium"}"#.to_owned(),
                Some("reasoning_effort")
            )
        );
    }

    #[test]
    fn message_thinking_and_inline_tags_are_reasoning() {
        assert_eq!(
            parse_lines(&[
                r#"{"message":{"role":"assistant","content":"","thinking":"Let me"},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"","thinking":" think."},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"Blue."},"done":false}"#,
            ]),
            vec![
                StreamEvent::Reasoning("Let me".into()),
                StreamEvent::Reasoning(" think.".into()),
                delta("Blue."),
            ]
        );
        assert_eq!(
            parse_lines(&[
                r#"{"message":{"role":"assistant","content":"<th"},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"ink>hm</think>\n\nBlue."},"done":false}"#,
            ]),
            vec![StreamEvent::Reasoning("hm".into()), delta("Blue.")]
        );
    }

    #[tokio::test]
    async fn thinking_held_at_the_end_is_released_before_the_finish() {
        let body = "{\"message\":{\"content\":\"<think>only </th\"},\"done\":false}\n{\"message\":{\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"}\n";
        for size in [body.len(), 1, 5] {
            assert_eq!(
                replay(body.as_bytes(), size).await,
                vec![
                    StreamEvent::Reasoning("only ".into()),
                    StreamEvent::Reasoning("</th".into()),
                    StreamEvent::Finished(Finish::Stop),
                ],
                "chunk size {size}"
            );
        }
    }

    #[test]
    fn request_body_has_wire_field_order_and_options_only_when_set() {
        let mut request = ChatRequest {
            model: "llama3.2".into(),
            system_prompt: Some("be brief".into()),
            messages: vec![ChatMessage {
                role: Role::User,
                content: "hi".into(),
            }],
            temperature: None,
            max_tokens: None,
            idle_timeout: Duration::from_secs(1),
            max_retries: 0,
            reasoning_effort: None,
            thinking_budget: None,
        };
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"llama3.2","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stream":true}"#
        );
        request.system_prompt = None;
        request.max_tokens = Some(64);
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true,"options":{"num_predict":64}}"#
        );
        request.temperature = Some(0.5);
        assert_eq!(
            serde_json::to_string(&WireRequest::new(&request)).unwrap(),
            r#"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true,"options":{"temperature":0.5,"num_predict":64}}"#
        );
    }

    #[test]
    fn tags_prefer_model_then_name() {
        assert_eq!(
            parse_tags("p", br#"{"models":[{"name":"a:latest","model":"a:latest"},{"name":"b:1b"},{"model":"","name":"c"},{"size":1}]}"#),
            Ok(vec![
                Listed::bare("a:latest"),
                Listed::bare("b:1b"),
                Listed::bare("c")
            ])
        );
        assert_eq!(
            parse_tags("p", br#"{"data":[]}"#).map_err(|e| e.to_string()),
            Err(
                r#"p: unexpected response: the model list is not {"models":[{"model":...}]}"#
                    .to_owned()
            )
        );
    }

    #[test]
    fn show_gives_the_context_length_of_the_models_own_architecture() {
        assert_eq!(
            parse_show(
                br#"{"details":{"family":"qwen3"},"model_info":{"general.architecture":"qwen3","llama.context_length":8192,"qwen3.context_length":40960}}"#
            ),
            Some(40960)
        );
        assert_eq!(
            parse_show(br#"{"model_info":{"llama.context_length":8192}}"#),
            None
        );
        assert_eq!(
            parse_show(
                br#"{"model_info":{"general.architecture":"llama","llama.context_length":"8k"}}"#
            ),
            None
        );
        assert_eq!(parse_show(br#"{"error":"model 'x' not found"}"#), None);
        assert_eq!(parse_show(b"not json"), None);
    }

    #[test]
    fn serve_hint_only_for_a_refused_connection() {
        let connect = |message: &str| {
            Problem::Connect {
                message: message.into(),
                hint: None,
            }
            .at("ollama")
        };
        assert_eq!(
            not_running(connect(
                "cannot connect to http://h:11434: connection refused"
            ))
            .to_string(),
            "ollama: cannot connect to http://h:11434: connection refused \
             (is Ollama running? start it with `ollama serve`)"
        );
        assert_eq!(
            not_running(connect(
                "cannot connect to https://h: invalid peer certificate"
            ))
            .to_string(),
            "ollama: cannot connect to https://h: invalid peer certificate"
        );
    }

    #[test]
    fn pull_hint_only_for_a_missing_model() {
        let http = |message: &str| {
            Problem::Http {
                status: 404,
                code: None,
                message: message.into(),
                hint: Some("generic".into()),
                retry: crate::provider::RetryHint::default(),
            }
            .at("ollama")
        };
        assert_eq!(
            with_pull_hint(http("model 'x' not found"), "x").to_string(),
            "ollama: HTTP 404: model 'x' not found (run `ollama pull x`)"
        );
        assert_eq!(
            with_pull_hint(http("404 page not found"), "x").to_string(),
            "ollama: HTTP 404: 404 page not found (generic)"
        );
    }
}
