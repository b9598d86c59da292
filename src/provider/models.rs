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

/// The models to show for `provider`, and the discovery error if there was one.
pub async fn discover_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> (Vec<String>, Option<ProviderError>) {
    match list_models(client, provider).await {
        Ok(models) => (models, None),
        Err(e) => (provider.fallback_models.clone(), Some(e)),
    }
}
