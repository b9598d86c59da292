//! Model discovery: which models a provider can chat with, and what its listing says
//! about each one's window and prices.
//!
//! Owns: the choice between config models, discovered models and the built-in fallback
//! list; the [`Listing`] every kind's discovery ends in (ids plus a [`ModelInfo`] per
//! model the server described); the authenticated GET every kind's discovery uses; the
//! follow-up that asks per model what the list did not say ([`describe_models`], bounded
//! in time and concurrency, never failing). Each kind parses its own list in its
//! module (OpenAI-compatible servers in [`super::openai_listing`]).
//! Must not: cache results, log keys, make up a number a server did not send, or touch
//! the UI.

use std::collections::BTreeMap;
use std::time::Duration;

use super::http::{authorize, error_from_response, send_error};
use super::{Problem, ProviderError, ProviderSpec};
use crate::model_settings::ModelInfo;

/// How long discovery may take before the provider's models count as unknown.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// How long one follow-up question about a model (llama.cpp `/props`) may take: the
/// list is worth more than the detail, so a slow answer leaves the detail unknown.
pub(crate) const DETAIL_TIMEOUT: Duration = Duration::from_secs(5);

/// What discovery found for a provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// The ids to offer: sorted and without duplicates when discovered, in the
    /// config's order when the config names them.
    pub models: Vec<String>,
    /// What the server said about each model, by id. A model it said nothing about is
    /// absent, so an unknown window is never shown as a number.
    pub info: BTreeMap<String, ModelInfo>,
}

impl Listing {
    /// Ids without any information (config models, the fallback list).
    pub fn bare(models: Vec<String>) -> Listing {
        Listing {
            models,
            info: BTreeMap::new(),
        }
    }

    /// The entries a dialect read, sorted by id once; of duplicates, the first one
    /// that says anything is kept.
    pub(crate) fn from_entries(entries: Vec<Listed>) -> Listing {
        let mut info = BTreeMap::new();
        let mut models = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.info != ModelInfo::default() {
                info.entry(entry.id.clone()).or_insert(entry.info);
            }
            models.push(entry.id);
        }
        models.sort_unstable();
        models.dedup();
        Listing { models, info }
    }
}

/// One entry of a provider's model list: its id and what the entry says about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listed {
    pub id: String,
    pub info: ModelInfo,
}

impl Listed {
    /// An entry that says nothing beyond its id.
    pub(crate) fn bare(id: impl Into<String>) -> Listed {
        Listed {
            id: id.into(),
            info: ModelInfo::default(),
        }
    }
}

/// Lists the models `provider` serves, sorted and without duplicates, with what the
/// listing says about them.
///
/// Models named in the config win and need no network: a server whose model list is
/// missing or slow can still be used (their window and prices come from the config
/// alone). Otherwise asks the server in its own dialect, within 15 s.
pub async fn list_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Listing, ProviderError> {
    if let Some(models) = &provider.models {
        return Ok(Listing::bare(models.clone()));
    }
    let entries = match provider.kind.dialect() {
        Some(dialect) => dialect.list_models(client, provider).await?,
        None => super::local_models(provider).await?,
    };
    Ok(Listing::from_entries(entries))
}

/// What the server says about `models` when asked one model at a time (Ollama's
/// `POST /api/show`), for the ones its list said nothing about.
///
/// Runs after the list is shown, so the sidebar never waits for it. Never fails: a
/// model whose question fails or is not answered within [`DISCOVERY_TIMEOUT`] stays
/// unknown. Empty for kinds whose list says all there is, and for config models.
pub async fn describe_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    models: &[String],
) -> BTreeMap<String, ModelInfo> {
    if provider.models.is_some() || models.is_empty() {
        return BTreeMap::new();
    }
    match provider.kind.dialect() {
        Some(dialect) => dialect.describe_models(client, provider, models).await,
        None => BTreeMap::new(),
    }
}

/// GETs `url` with the provider's authentication and returns the body of a successful
/// response; every failure (refused, timeout, error status) as a [`ProviderError`].
/// Shared by every kind's discovery (pagination calls it once per page).
pub(crate) async fn fetch_json(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    url: &str,
) -> Result<Vec<u8>, ProviderError> {
    let request = authorize(client.get(url), provider);
    let response = match tokio::time::timeout(DISCOVERY_TIMEOUT, request.send()).await {
        Err(_) => return Err(timeout(provider)),
        Ok(Err(e)) => return Err(send_error(provider, &e)),
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    tracing::debug!(provider = %provider.name, status = status.as_u16(), "model list response");
    if !status.is_success() {
        return Err(error_from_response(provider, response, DISCOVERY_TIMEOUT).await);
    }
    match tokio::time::timeout(DISCOVERY_TIMEOUT, response.bytes()).await {
        Err(_) => Err(timeout(provider)),
        Ok(Err(_)) => Err(Problem::Incomplete.at(&provider.name)),
        Ok(Ok(body)) => Ok(body.to_vec()),
    }
}

/// At most this many pages of a model list are read: a server that keeps handing out
/// cursors must not keep discovery busy forever.
pub(crate) const MAX_MODEL_PAGES: usize = 20;

/// `url` parsed for a model-list request; a base URL that cannot make one is a request
/// that cannot be built, worded as [`super::http::send_error`] words it.
pub(crate) fn list_url(provider: &ProviderSpec, url: &str) -> Result<reqwest::Url, ProviderError> {
    reqwest::Url::parse(url).map_err(|e| {
        Problem::Connect {
            message: format!(
                "cannot build a request for {}: {e}",
                super::redact_userinfo(&provider.base_url)
            ),
            hint: None,
        }
        .at(&provider.name)
    })
}

/// Reads a cursor-paginated model list (Anthropic, Gemini, Cohere): `page_url` builds
/// the URL for a cursor (`None` for the first page), and `parse` reads a page's entries and
/// the next cursor, or says why the page is not a listing. Stops at the last page, at a cursor that does not move (it would fetch the
/// same page again), or after [`MAX_MODEL_PAGES`].
pub(crate) async fn follow_pages<T>(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    page_url: impl Fn(Option<&str>) -> Result<reqwest::Url, ProviderError>,
    parse: impl Fn(&[u8]) -> Result<(Vec<T>, Option<String>), ProviderError>,
) -> Result<Vec<T>, ProviderError> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_MODEL_PAGES {
        let url = page_url(cursor.as_deref())?;
        let body = fetch_json(client, provider, url.as_str()).await?;
        let (page, next) = parse(&body)?;
        entries.extend(page);
        match next {
            Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
            _ => return Ok(entries),
        }
    }
    tracing::debug!(provider = %provider.name, pages = MAX_MODEL_PAGES, "model list cut off after too many pages");
    Ok(entries)
}

/// The models to offer for `provider`, and why discovery failed if it did.
///
/// Config models, else the discovered ones; when discovery fails, the built-in fallback
/// list together with the error (so the UI can still offer something and say why the
/// list may be stale). With no fallback, the list is empty and the error is returned.
pub async fn discover_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> (Listing, Option<ProviderError>) {
    match list_models(client, provider).await {
        Ok(listing) => (listing, None),
        Err(e) => {
            tracing::debug!(provider = %provider.name, error = %e, "model discovery failed");
            (Listing::bare(provider.fallback_models.clone()), Some(e))
        }
    }
}

fn timeout(provider: &ProviderSpec) -> ProviderError {
    Problem::Timeout {
        seconds: DISCOVERY_TIMEOUT.as_secs(),
    }
    .at(&provider.name)
}
