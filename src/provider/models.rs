//! Model discovery.

use super::{ProviderError, ProviderSpec};

/// Lists the models `provider` serves.
pub async fn list_models(
    _client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<String>, ProviderError> {
    Err(ProviderError::Client(format!(
        "{}: discovery not built yet",
        provider.name
    )))
}
