//! Model discovery: which models a provider can chat with.
//!
//! Owns: the choice between config models, discovered models and the built-in fallback
//! list; the authenticated GET every kind's discovery uses; and `GET {base_url}/models`
//! for OpenAI-compatible servers, filtering out entries that cannot chat (Mistral
//! `capabilities.completion_chat == false`, Groq `active == false`). Each other kind
//! parses its own list in its module. Must not: cache results, log keys, or touch the UI.

use std::time::Duration;

use serde::Deserialize;

use super::http::{authorize, error_from_response, send_error};
use super::wire::parse_listing;
use super::{Problem, ProviderError, ProviderSpec};

/// How long discovery may take before the provider's models count as unknown.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// Lists the models `provider` serves, sorted and without duplicates.
///
/// Models named in the config win and need no network: a server whose model list is
/// missing or slow can still be used. Otherwise asks the server in its own dialect,
/// within 15 s.
pub async fn list_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<String>, ProviderError> {
    if let Some(models) = &provider.models {
        return Ok(models.clone());
    }
    let mut models = match provider.kind.dialect() {
        Some(dialect) => dialect.list_models(client, provider).await?,
        None => super::local_models(provider).await?,
    };
    models.sort_unstable();
    models.dedup();
    Ok(models)
}

/// The models of an OpenAI-compatible server: `GET {base_url}/models`.
pub(crate) async fn list_openai(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<String>, ProviderError> {
    let url = format!("{}/models", provider.base_url.trim_end_matches('/'));
    let body = fetch_json(client, provider, &url).await?;
    parse_model_list(&provider.name, &body)
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
/// the URL for a cursor (`None` for the first page), and `parse` reads a page's ids and
/// the next cursor, or says why the page is not a listing. Stops at the last page, at a cursor that does not move (it would fetch the
/// same page again), or after [`MAX_MODEL_PAGES`].
pub(crate) async fn follow_pages(
    client: &reqwest::Client,
    provider: &ProviderSpec,
    page_url: impl Fn(Option<&str>) -> Result<reqwest::Url, ProviderError>,
    parse: impl Fn(&[u8]) -> Result<(Vec<String>, Option<String>), ProviderError>,
) -> Result<Vec<String>, ProviderError> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_MODEL_PAGES {
        let url = page_url(cursor.as_deref())?;
        let body = fetch_json(client, provider, url.as_str()).await?;
        let (page, next) = parse(&body)?;
        ids.extend(page);
        match next {
            Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
            _ => return Ok(ids),
        }
    }
    tracing::debug!(provider = %provider.name, pages = MAX_MODEL_PAGES, "model list cut off after too many pages");
    Ok(ids)
}

/// The models to offer for `provider`, and why discovery failed if it did.
///
/// Config models, else the discovered ones; when discovery fails, the built-in fallback
/// list together with the error (so the UI can still offer something and say why the
/// list may be stale). With no fallback, the list is empty and the error is returned.
pub async fn discover_models(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> (Vec<String>, Option<ProviderError>) {
    match list_models(client, provider).await {
        Ok(models) => (models, None),
        Err(e) => {
            tracing::debug!(provider = %provider.name, error = %e, "model discovery failed");
            (provider.fallback_models.clone(), Some(e))
        }
    }
}

fn timeout(provider: &ProviderSpec) -> ProviderError {
    Problem::Timeout {
        seconds: DISCOVERY_TIMEOUT.as_secs(),
    }
    .at(&provider.name)
}

/// `GET {base_url}/models` as OpenAI-compatible servers send it.
#[derive(Debug, Deserialize)]
struct WireList {
    #[serde(deserialize_with = "super::wire::skip_bad_entries")]
    data: Vec<WireModel>,
}

/// One entry; `capabilities` (Mistral) and `active` (Groq) say when it cannot chat.
#[derive(Debug, Deserialize)]
struct WireModel {
    id: Option<String>,
    capabilities: Option<Capabilities>,
    active: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Capabilities {
    completion_chat: Option<bool>,
}

impl WireModel {
    /// False only when the entry says so: Mistral's `capabilities.completion_chat` or
    /// Groq's `active`. Plain OpenAI entries carry neither and are kept.
    fn can_chat(&self) -> bool {
        let chat = self.capabilities.as_ref().and_then(|c| c.completion_chat);
        chat != Some(false) && self.active != Some(false)
    }
}

/// The chat-capable ids in an OpenAI-style list, sorted and de-duplicated.
fn parse_model_list(provider: &str, body: &[u8]) -> Result<Vec<String>, ProviderError> {
    let list: WireList = parse_listing(provider, body, "{\"data\":[{\"id\":...}]}")?;
    let mut ids: Vec<String> = list
        .data
        .into_iter()
        .filter(WireModel::can_chat)
        .filter_map(|entry| entry.id)
        .filter(|id| !id.is_empty())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn entries_that_cannot_chat_are_skipped_and_ids_sorted_once() {
        let body = br#"{"data":[
            {"id":"b","active":true},
            {"id":"a","capabilities":{"completion_chat":true}},
            {"id":"embed","capabilities":{"completion_chat":false}},
            {"id":"old","active":false},
            {"id":"b"},
            {"object":"model"}
        ]}"#;
        assert_eq!(
            parse_model_list("p", body),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn bodies_that_are_not_a_list_are_rejected() {
        let not_a_list = Err(Problem::Malformed {
            message: "the model list is not {\"data\":[{\"id\":...}]}".into(),
        }
        .at("p"));
        assert_eq!(parse_model_list("p", b"{\"models\":[]}"), not_a_list);
        assert_eq!(parse_model_list("p", b"<html>"), not_a_list);
    }

    #[test]
    fn an_entry_of_the_wrong_shape_is_skipped_and_the_others_listed() {
        assert_eq!(
            parse_model_list(
                "p",
                br#"{"data":[{"id":"a"},{"id":"b","active":"yes"},{"id":5},"c",{"id":"d"}]}"#
            )
            .map_err(|e| e.to_string()),
            Ok(vec!["a".to_owned(), "d".to_owned()])
        );
        // The listing itself must still have its shape.
        assert_eq!(
            parse_model_list("p", br#"{"models":[]}"#).map_err(|e| e.to_string()),
            Err(
                "p: unexpected response: the model list is not {\"data\":[{\"id\":...}]}"
                    .to_owned()
            )
        );
    }
}
