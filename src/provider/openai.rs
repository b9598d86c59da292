//! OpenAI-compatible chat completions.

use super::{ChatRequest, ProviderError, ProviderSpec, ReplyStream, StreamEvent};

pub(super) fn stream_chat(
    _client: reqwest::Client,
    provider: ProviderSpec,
    _request: ChatRequest,
) -> ReplyStream {
    Box::pin(futures_util::stream::once(async move {
        StreamEvent::Failed(ProviderError::Client(format!(
            "{}: not built yet",
            provider.name
        )))
    }))
}
