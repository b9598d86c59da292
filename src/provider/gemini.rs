//! The gemini wire protocol (being written: see issue 3).
#![allow(
    clippy::unused_async,
    reason = "placeholder until this protocol lands; same signatures as openai.rs"
)]

use std::time::Duration;

use futures_util::stream;

use super::{ChatRequest, ProviderError, ProviderSpec, ReplyStream, StreamEvent};

fn unsupported(provider: &ProviderSpec) -> ProviderError {
    ProviderError::Client(format!(
        "{}: the gemini protocol is not in this build",
        provider.name
    ))
}

pub(super) async fn send(
    _client: &reqwest::Client,
    provider: &ProviderSpec,
    _request: &ChatRequest,
) -> Result<reqwest::Response, ProviderError> {
    Err(unsupported(provider))
}

pub(super) fn reply(
    provider: &ProviderSpec,
    _response: reqwest::Response,
    _idle: Duration,
) -> ReplyStream {
    Box::pin(stream::iter([StreamEvent::Failed(unsupported(provider))]))
}

pub(super) async fn list_models(
    _client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<String>, ProviderError> {
    Err(unsupported(provider))
}
