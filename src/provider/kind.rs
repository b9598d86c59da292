//! The provider kinds and what each one knows, in one place.
//!
//! Owns: [`ProviderKind`] (the config's `kind`, read with serde), the [`Dialect`] trait
//! every wire protocol implements (authentication header, chat request, reply reader,
//! model listing and description), and the one table from a kind to its dialect.
//! Adding a native kind is a variant and a row here plus its module; an
//! OpenAI-compatible service needs no kind at all, only a row in [`super::builtins`].
//!
//! Must not: hold any protocol's details (each module owns its own) or touch the UI.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::models::Listed;
use super::{ChatRequest, ProviderError, ProviderSpec, ReplyStream};
use super::{anthropic, cohere, gemini, ollama, openai};
use crate::model_settings::ModelInfo;

/// The wire protocol a provider speaks (spec §4 `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ProviderKind {
    /// OpenAI Chat Completions and every compatible server.
    OpenAi,
    /// Anthropic Messages API.
    Anthropic,
    /// Google Gemini `streamGenerateContent`.
    Gemini,
    /// Ollama's native `/api/chat` (NDJSON).
    Ollama,
    /// Cohere v2 chat.
    Cohere,
    /// A GGUF model run inside this process (the built-in `local` provider only).
    Local,
}

/// The kinds a config file may name, in the order error messages list them.
const CONFIG_KINDS: [ProviderKind; 5] = [
    ProviderKind::OpenAi,
    ProviderKind::Anthropic,
    ProviderKind::Gemini,
    ProviderKind::Ollama,
    ProviderKind::Cohere,
];

impl ProviderKind {
    /// The dialect of a kind spoken over HTTP; `None` for the in-process provider. The
    /// one place a kind is mapped to its protocol module.
    pub(crate) fn dialect(self) -> Option<&'static dyn Dialect> {
        Some(match self {
            ProviderKind::OpenAi => &openai::OpenAi,
            ProviderKind::Anthropic => &anthropic::Anthropic,
            ProviderKind::Gemini => &gemini::Gemini,
            ProviderKind::Ollama => &ollama::Ollama,
            ProviderKind::Cohere => &cohere::Cohere,
            ProviderKind::Local => return None,
        })
    }

    /// Parses the config spelling; `None` for a kind this build does not speak (the
    /// in-process kind is never named in a config: it is the built-in `local`).
    pub fn parse(s: &str) -> Option<Self> {
        CONFIG_KINDS
            .into_iter()
            .find(|kind| kind.dialect().is_some_and(|d| d.config_name() == s))
    }

    /// The kinds a config file may name, for error messages.
    pub fn names() -> Vec<&'static str> {
        CONFIG_KINDS
            .iter()
            .filter_map(|kind| kind.dialect().map(Dialect::config_name))
            .collect()
    }
}

/// Why a config's `kind` is not one: shown at the value's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind(String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown kind `{}` (expected one of: {})",
            self.0,
            ProviderKind::names().join(", ")
        )
    }
}

impl TryFrom<String> for ProviderKind {
    type Error = UnknownKind;
    fn try_from(name: String) -> Result<Self, UnknownKind> {
        ProviderKind::parse(&name).ok_or(UnknownKind(name))
    }
}

/// A body already in hand, for [`Dialect::read_body`].
pub(crate) type Body = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Everything tinychat knows about one wire protocol. Each protocol module implements
/// it on a unit struct, and [`ProviderKind::dialect`] hands it out; the rest of the
/// provider code (HTTP, retries, discovery) asks the dialect instead of matching on
/// the kind.
pub(crate) trait Dialect: Sync {
    /// The kind's spelling in `config.toml`.
    fn config_name(&self) -> &'static str;

    /// Adds the key (only called when one is configured) in the header this protocol
    /// reads, plus any header it needs on every request. Bearer by default.
    fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        match key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    /// Sends a chat request and returns the response once its status says success;
    /// anything else is an error that may be retried.
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        provider: &'a ProviderSpec,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<reqwest::Response, ProviderError>>;

    /// The reply events of a successful response.
    fn reply(
        &self,
        provider: &ProviderSpec,
        response: reqwest::Response,
        idle: Duration,
    ) -> ReplyStream;

    /// The reply events of a body already in hand, read by exactly the code that reads
    /// a response's body (see [`super::read_body`]).
    fn read_body(&self, provider: String, body: Body, idle: Duration) -> ReplyStream;

    /// The models the server lists, in any order, each with what its entry says about
    /// its window and prices.
    fn list_models<'a>(
        &'a self,
        client: &'a reqwest::Client,
        provider: &'a ProviderSpec,
    ) -> BoxFuture<'a, Result<Vec<Listed>, ProviderError>>;

    /// What the server says about each of `models` when asked one at a time, for a
    /// protocol whose list says nothing (Ollama's `/api/show`). Never fails; a model
    /// it could not learn about is absent. Nothing to ask by default.
    fn describe_models<'a>(
        &'a self,
        client: &'a reqwest::Client,
        provider: &'a ProviderSpec,
        models: &'a [String],
    ) -> BoxFuture<'a, BTreeMap<String, ModelInfo>> {
        let _ = (client, provider, models);
        Box::pin(std::future::ready(BTreeMap::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn every_config_kind_parses_back_from_its_name_and_local_is_never_named() {
        assert_eq!(
            ProviderKind::names(),
            ["openai", "anthropic", "gemini", "ollama", "cohere"]
        );
        for name in ProviderKind::names() {
            let kind = ProviderKind::parse(name).unwrap();
            assert_eq!(kind.dialect().map(Dialect::config_name), Some(name));
        }
        assert_eq!(ProviderKind::parse("local"), None);
        assert_eq!(
            ProviderKind::Local.dialect().map(Dialect::config_name),
            None
        );
    }

    #[test]
    fn an_unknown_kind_lists_the_valid_ones() {
        assert_eq!(
            ProviderKind::try_from("grpc".to_owned())
                .unwrap_err()
                .to_string(),
            "unknown kind `grpc` (expected one of: openai, anthropic, gemini, ollama, cohere)"
        );
    }
}
