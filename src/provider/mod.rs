//! Talking to model providers: provider-neutral requests in, provider-neutral events out.
//!
//! This module owns the HTTP side of tinychat and must not import ratatui or anything of
//! the UI, so that `tinychat ask` and `tinychat models` reuse it without a terminal.
//! Each provider kind lives in its own file, implements the `Dialect` trait of
//! `kind.rs` (the one table from a kind to its module) and turns the provider's wire
//! format into [`StreamEvent`]s; the outcome of a reply comes from the protocol itself (end marker
//! seen or not), never from the connection closing (protocols.md §0, checklist).

mod anthropic;
mod builtins;
mod cohere;
mod error;
pub mod first_run;
mod gemini;
mod http;
mod kind;
#[cfg(feature = "local")]
pub mod local;
mod models;
mod ollama;
mod openai;
mod openai_listing;
mod reasoning;
mod retry;
mod sse;
#[cfg(test)]
mod test_support;
mod think_tags;
mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;

use crate::conversation::{Conversation, Finish, Role, Usage};

pub(crate) use builtins::BUILT_INS;
#[cfg(test)]
pub(crate) use builtins::ollama_base_url;
pub use error::{Problem, ProviderError, RetryHint};
pub use http::{REDACTED_USERINFO, redact_userinfo};
pub use kind::{ProviderKind, UnknownKind};
pub use models::{DISCOVERY_TIMEOUT, Listing, describe_models, discover_models, list_models};
pub use sse::MAX_EVENT_BYTES;

/// A provider fully resolved from built-ins, config and environment: everything a request
/// needs. Cheap to clone; no shared lock is ever held across a stream (design §10).
#[derive(Clone, PartialEq)]
pub struct ProviderSpec {
    /// Unique name, the sidebar group and the `provider` in `provider/model`.
    pub name: String,
    pub kind: ProviderKind,
    /// Base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The secret; never logged, saved or shown (Debug redacts it).
    pub api_key: Option<String>,
    /// The variable the key comes from, named in hints ("set OPENAI_API_KEY").
    pub key_env: Option<String>,
    /// Why the provider is disabled (e.g. "set OPENAI_API_KEY"), or `None` when usable.
    pub disabled: Option<String>,
    /// Extra request headers from the config.
    pub headers: BTreeMap<String, String>,
    /// Models named in the config: when set, discovery is skipped.
    pub models: Option<Vec<String>>,
    /// A short list to fall back on when a built-in's discovery fails.
    pub fallback_models: Vec<String>,
    /// Whether to ask for usage with `stream_options.include_usage` (Mistral rejects it).
    pub include_usage: bool,
    /// Shown only once it answers (the Ollama built-in: most machines do not run it).
    pub optional: bool,
    /// Where the in-process provider finds its models and how it runs them
    /// (`ProviderKind::Local` only).
    pub local: Option<std::sync::Arc<crate::config::LocalSettings>>,
    /// Reasoning, window and price settings from the config, per model.
    pub settings: crate::model_settings::ProviderSettings,
}

impl fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("key_env", &self.key_env)
            .field("disabled", &self.disabled)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("models", &self.models)
            .field("include_usage", &self.include_usage)
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}

impl ProviderSpec {
    /// A few words the sidebar shows beside the provider's name, saying where its
    /// models run when that is not a server: `(local, CPU)` for in-process models.
    pub fn sidebar_note(&self) -> Option<&'static str> {
        (self.kind == ProviderKind::Local).then_some("(local, CPU)")
    }
}

/// One turn as a provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// A provider-neutral chat request: each provider maps it onto its own API.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model id as the provider knows it (without the `provider/` prefix).
    pub model: String,
    pub system_prompt: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    /// No byte for this long ends the reply with a timeout error.
    pub idle_timeout: Duration,
    /// How many times a failure before the first token is retried.
    pub max_retries: u32,
    /// How hard a reasoning model should think (`reasoning_effort` in the config).
    pub reasoning_effort: Option<crate::model_settings::ReasoningEffort>,
    /// Tokens the model may think for (`thinking_budget` in the config).
    pub thinking_budget: Option<u32>,
}

/// The default idle-stream timeout (no byte for this long ends the reply).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

impl ChatRequest {
    /// The history of `conversation` as a request for `model`.
    ///
    /// Replies that are still streaming or that carry no text (a turn cancelled or failed
    /// before its first token) are left out, so a failed turn never makes the next request
    /// invalid (issue: errors stay inside the UI). Partial replies that did produce text
    /// are kept: the model sees what the user saw.
    pub fn from_conversation(conversation: &Conversation, model: &str) -> Self {
        let messages = conversation
            .messages
            .iter()
            .filter(|m| match m.role {
                Role::User => true,
                Role::Assistant => !m.is_streaming() && !m.content.is_empty(),
            })
            .map(|m| ChatMessage {
                role: m.role,
                content: m.content.clone(),
            })
            .collect();
        ChatRequest {
            model: model.to_owned(),
            system_prompt: conversation
                .system_prompt
                .clone()
                .filter(|s| !s.trim().is_empty()),
            messages,
            temperature: None,
            max_tokens: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_retries: retry::MAX_RETRIES,
            reasoning_effort: None,
            thinking_budget: None,
        }
    }
}

impl ChatRequest {
    /// The turns in the shape APIs that demand alternation accept (Anthropic, Gemini):
    /// consecutive messages of one role joined by a blank line, and no assistant turn
    /// before the first user turn. Two user turns in a row happen whenever a reply
    /// failed before its first token (it is left out of the history).
    pub fn alternating_turns(&self) -> Vec<ChatMessage> {
        let mut turns: Vec<ChatMessage> = Vec::with_capacity(self.messages.len());
        for m in &self.messages {
            if turns.is_empty() && m.role == Role::Assistant {
                continue;
            }
            match turns.last_mut() {
                Some(last) if last.role == m.role => {
                    last.content.push_str("\n\n");
                    last.content.push_str(&m.content);
                }
                _ => turns.push(m.clone()),
            }
        }
        turns
    }
}

/// What a reply stream reports, already parsed and provider-neutral.
///
/// A stream yields any number of `Delta`, `Reasoning` and `Usage` events, then exactly one terminal
/// event (`Finished` or `Failed`), then ends.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More reply text, exactly as the provider sent it (not yet sanitized).
    Delta(String),
    /// More of the model's thinking before (or between) the answer's text, from
    /// whichever field or inline tag the provider carries it in (not yet sanitized).
    Reasoning(String),
    /// The latest token counts (replace, never add).
    Usage(Usage),
    /// The provider's end marker arrived: `Stop` or `Length`.
    Finished(Finish),
    /// The request failed before the first token and is tried again after `delay`
    /// (attempt `attempt` of `of` retries). `reason` is a few words ("rate limited").
    Retrying {
        reason: String,
        delay: Duration,
        attempt: u32,
        of: u32,
    },
    /// The reply ended badly; [`ProviderError::finish`] says whether as error or incomplete.
    Failed(ProviderError),
    /// Something the user should know about this reply that is not reply text, shown on
    /// the status line until something else is (e.g. that old turns were left out to
    /// fit a local model's context window).
    Notice(String),
    /// What the provider is doing before the first token (e.g. "loading qwen… (676
    /// MB)"): shown in place of "waiting for the reply…", gone once text arrives.
    Preparing(String),
}

impl StreamEvent {
    /// True for the event that ends a stream.
    pub fn is_terminal(&self) -> bool {
        matches!(self, StreamEvent::Finished(_) | StreamEvent::Failed(_))
    }
}

/// How a provider's own end-of-reply field says a reply ended: normally or at the
/// token limit, or otherwise (then in words), which must show on the reply and make
/// `ask` fail (spec §2, §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    Normal(Finish),
    Abnormal { reason: String, words: &'static str },
}

/// Words for the endings every provider has in some form.
pub(crate) mod ending_words {
    pub const CONTENT_FILTER: &str = "the provider's content filter stopped the reply";
    pub const TOOL_CALL: &str = "the model stopped to call a tool, which tinychat does not offer";
    pub const REFUSAL: &str = "the model refused to answer";
    pub const UNKNOWN: &str = "the reply ended for a reason tinychat does not know";
}

impl Ending {
    /// The ending named by `reason`, one the provider's table did not list as normal:
    /// `words` says what it means.
    pub(crate) fn abnormal(reason: &str, words: &'static str) -> Ending {
        Ending::Abnormal {
            // The server's own word, kept short and printable: it is shown and saved.
            reason: reason
                .chars()
                .filter(|c| !c.is_control())
                .take(60)
                .collect(),
            words,
        }
    }

    /// The terminal event for this ending; `field` names the provider's reason field.
    pub(crate) fn event(&self, provider: &str, field: &'static str) -> StreamEvent {
        match self {
            Ending::Normal(finish) => StreamEvent::Finished(*finish),
            Ending::Abnormal { reason, words } => StreamEvent::Failed(
                Problem::Ended {
                    field,
                    reason: reason.clone(),
                    message: (*words).to_owned(),
                }
                .at(provider),
            ),
        }
    }
}

/// A boxed reply stream, `Send` so the runtime can drive it on any task.
pub type ReplyStream = Pin<Box<dyn Stream<Item = StreamEvent> + Send>>;

/// Starts streaming a reply from `provider`. Never fails up front: every problem,
/// including a refused connection or an HTTP error status, arrives as a terminal
/// [`StreamEvent::Failed`]. Failures before the first token are retried (see
/// [`retry`]), announced by [`StreamEvent::Retrying`]. Dropping the stream drops the
/// HTTP request (or the wait before a retry) at once.
pub fn stream_chat(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    request: ChatRequest,
) -> ReplyStream {
    if provider.kind == ProviderKind::Local {
        return local_reply(provider, request);
    }
    retry::stream_with_retries(client.clone(), provider.clone(), request)
}

/// Why a local model is missing from `tinychat models` (files skipped, with the
/// reason); empty for every other kind. Blocking: reads GGUF headers.
pub fn discovery_notes(provider: &ProviderSpec) -> Vec<String> {
    #[cfg(feature = "local")]
    if provider.kind == ProviderKind::Local
        && let Some(settings) = &provider.local
    {
        return local::skipped_notes(settings);
    }
    let _ = provider;
    Vec::new()
}

/// The in-process provider's reply (no HTTP, no retries: nothing to retry).
#[cfg_attr(
    not(feature = "local"),
    allow(
        clippy::needless_pass_by_value,
        reason = "the same signature in every build"
    )
)]
fn local_reply(provider: &ProviderSpec, request: ChatRequest) -> ReplyStream {
    #[cfg(feature = "local")]
    if let Some(settings) = &provider.local {
        return local::reply(&provider.name, std::sync::Arc::clone(settings), request);
    }
    let _ = request;
    failed_reply(not_built(provider))
}

/// A reply that fails before it starts: one terminal event.
pub(crate) fn failed_reply(error: ProviderError) -> ReplyStream {
    Box::pin(futures_util::stream::iter([StreamEvent::Failed(error)]))
}

/// The in-process provider's models, found off the async threads.
#[cfg_attr(
    not(feature = "local"),
    allow(clippy::unused_async, reason = "the same signature in every build")
)]
async fn local_models(provider: &ProviderSpec) -> Result<Vec<models::Listed>, ProviderError> {
    #[cfg(feature = "local")]
    if let Some(settings) = &provider.local {
        // A `[local] context` is the window the engine runs every model with; without
        // one it is each file's own (capped), which the search does not read.
        let context = settings.context.and_then(|n| u64::try_from(n).ok());
        let names = local::list_models(&provider.name, std::sync::Arc::clone(settings)).await?;
        return Ok(names
            .into_iter()
            .map(|id| models::Listed {
                id,
                info: crate::model_settings::ModelInfo {
                    context,
                    ..crate::model_settings::ModelInfo::default()
                },
            })
            .collect());
    }
    Err(not_built(provider))
}

/// A `local` provider in a build without the `local` feature.
fn not_built(provider: &ProviderSpec) -> ProviderError {
    ProviderError::local(
        &provider.name,
        "this build has no in-process models (built without the `local` feature)",
    )
}

/// A local provider has no HTTP side: reaching the HTTP path with one is a bug that
/// must show as an error, never a panic.
fn no_http(provider: &ProviderSpec) -> ProviderError {
    ProviderError::local(
        &provider.name,
        "an in-process provider has no HTTP endpoint",
    )
}

/// Sends a chat request in `provider`'s dialect and returns the response once its
/// status says success; anything else is an error that may be retried.
async fn send(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    request: &ChatRequest,
) -> Result<reqwest::Response, ProviderError> {
    match provider.kind.dialect() {
        Some(dialect) => dialect.send(client, provider, request).await,
        None => Err(no_http(provider)),
    }
}

/// The reply events of a successful response, in `provider`'s dialect.
fn reply(provider: &ProviderSpec, response: reqwest::Response, idle: Duration) -> ReplyStream {
    match provider.kind.dialect() {
        Some(dialect) => dialect.reply(provider, response, idle),
        None => failed_reply(no_http(provider)),
    }
}

/// The reply events of a body that is already in hand, read by exactly the code that
/// reads a response's body for `kind` (its SSE or NDJSON reader, the size bound, the
/// idle timeout). For the hostile-stream tests and the parsing benches, which feed
/// bodies no real server would send without the cost of HTTP in the measurement.
#[doc(hidden)]
pub fn read_body<S>(kind: ProviderKind, provider: &str, body: S, idle: Duration) -> ReplyStream
where
    S: Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static,
{
    match kind.dialect() {
        Some(dialect) => dialect.read_body(provider.to_owned(), Box::pin(body), idle),
        None => failed_reply(ProviderError::local(
            provider,
            "an in-process provider has no HTTP body",
        )),
    }
}

/// The HTTP client every request shares: rustls, a 10 s connect timeout, and proxies
/// from the environment (loopback hosts always bypass them).
pub fn http_client() -> Result<reqwest::Client, ProviderError> {
    http_client_builder(&|name| std::env::var(name).ok())?
        .build()
        .map_err(|e| ProviderError::client(e.to_string()))
}

/// The configured builder behind [`http_client`], with the environment passed in so
/// tests can set proxies (and point host names at loopback servers) without touching
/// the process's own variables.
pub fn http_client_builder(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<reqwest::ClientBuilder, ProviderError> {
    // reqwest is built without a default crypto provider; ring is ours. Installing it
    // twice (a second client) is fine: the first one stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("tinychat/", env!("CARGO_PKG_VERSION")))
        // Proxies come only from the rules below, never from reqwest's own lookup.
        .no_proxy();
    for proxy in proxies_from_env(env)? {
        builder = builder.proxy(proxy);
    }
    Ok(builder)
}

/// `HTTPS_PROXY`, `HTTP_PROXY` and `ALL_PROXY` (upper or lower case), each honouring
/// `NO_PROXY`; loopback hosts (Ollama, local servers) are always reached directly.
fn proxies_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<reqwest::Proxy>, ProviderError> {
    let var = |upper: &str| {
        env(upper)
            .or_else(|| env(&upper.to_lowercase()))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut bypass = var("NO_PROXY").unwrap_or_default();
    bypass.push_str(",localhost,127.0.0.0/8,::1");
    let mut proxies = Vec::new();
    for name in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"] {
        if let Some(url) = var(name) {
            let made = match name {
                "HTTPS_PROXY" => reqwest::Proxy::https(url.as_str()),
                "HTTP_PROXY" => reqwest::Proxy::http(url.as_str()),
                _ => reqwest::Proxy::all(url.as_str()),
            };
            let proxy = made.map_err(|e| {
                let url = redact_userinfo(&url);
                ProviderError::client(format!("{name} is not a proxy URL ({url}): {e}"))
            })?;
            proxies.push(proxy.no_proxy(reqwest::NoProxy::from_string(&bypass)));
        }
    }
    Ok(proxies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn turn(role: Role, content: &str) -> ChatMessage {
        ChatMessage {
            role,
            content: content.to_owned(),
        }
    }

    #[test]
    fn alternating_turns_merge_runs_and_start_with_the_user() {
        let request = ChatRequest {
            model: "m".into(),
            system_prompt: None,
            messages: vec![
                turn(Role::Assistant, "orphan"),
                turn(Role::User, "a"),
                turn(Role::User, "b"),
                turn(Role::Assistant, "c"),
                turn(Role::Assistant, "d"),
                turn(Role::User, "e"),
            ],
            temperature: None,
            max_tokens: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_retries: 0,
            reasoning_effort: None,
            thinking_budget: None,
        };
        assert_eq!(
            request.alternating_turns(),
            [
                turn(Role::User, "a\n\nb"),
                turn(Role::Assistant, "c\n\nd"),
                turn(Role::User, "e"),
            ]
        );
    }
}
