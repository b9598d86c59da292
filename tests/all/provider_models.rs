//! Model discovery against a local mock server serving the fixture model lists.

// Helpers outside #[test] fns fail loudly too.
#![allow(clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;

use common::{MockResponse, MockServer, fixture, list, provider_spec};
use pretty_assertions::assert_eq;
use tinychat::provider::{
    Listing, ProviderError, ProviderKind, ProviderSpec, discover_models, http_client, list_models,
};

const MODELS: &str = "/v1/models";

fn spec(server: &MockServer, name: &str) -> ProviderSpec {
    ProviderSpec {
        api_key: Some("sk-test-fake".to_owned()),
        key_env: Some(format!("{}_API_KEY", name.to_uppercase())),
        headers: BTreeMap::from([("HTTP-Referer".to_owned(), "https://example.test".to_owned())]),
        include_usage: true,
        ..provider_spec(name, ProviderKind::OpenAi, server.url("/v1"))
    }
}

async fn listed(name: &str, body: Vec<u8>) -> (Result<Vec<String>, ProviderError>, MockServer) {
    let server = MockServer::start(vec![(MODELS, MockResponse::json(200, body))]).await;
    (list(&spec(&server, name)).await, server)
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|&s| s.to_owned()).collect()
}

#[tokio::test]
async fn openai_list_is_sorted_and_sent_with_auth_and_headers() {
    let (result, server) = listed("openai", fixture("openai/models.json")).await;
    assert_eq!(
        result,
        Ok(ids(&[
            "ft:gpt-4o-mini-2024-07-18:acme::FIXTURE1",
            "gpt-4o",
            "gpt-4o-mini",
            "text-embedding-3-small",
        ]))
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", MODELS)
    );
    assert_eq!(
        requests[0].header("authorization").as_deref(),
        Some("Bearer sk-test-fake")
    );
    assert_eq!(
        requests[0].header("http-referer").as_deref(),
        Some("https://example.test")
    );
}

#[tokio::test]
async fn mistral_models_that_cannot_chat_are_skipped() {
    let (result, _server) = listed("mistral", fixture("mistral/models.json")).await;
    assert_eq!(result, Ok(ids(&["mistral-small-latest"])));
}

#[tokio::test]
async fn groq_inactive_models_are_skipped() {
    let (result, _server) = listed("groq", fixture("groq/models.json")).await;
    assert_eq!(
        result,
        Ok(ids(&["llama-3.3-70b-versatile", "openai/gpt-oss-20b"]))
    );

    let mut list: serde_json::Value =
        serde_json::from_slice(&fixture("groq/models.json")).expect("fixture JSON");
    list["data"][0]["active"] = serde_json::Value::Bool(false);
    let (result, _server) = listed("groq", serde_json::to_vec(&list).expect("JSON")).await;
    assert_eq!(result, Ok(ids(&["openai/gpt-oss-20b"])));
}

#[tokio::test]
async fn openrouter_list_is_read() {
    let (result, _server) = listed("openrouter", fixture("openrouter/models.json")).await;
    assert_eq!(result, Ok(ids(&["openai/gpt-4o-mini"])));
}

#[tokio::test]
async fn duplicates_are_listed_once() {
    let body = br#"{"data":[{"id":"b"},{"id":"a"},{"id":"b"}]}"#.to_vec();
    let (result, _server) = listed("local", body).await;
    assert_eq!(result, Ok(ids(&["a", "b"])));
}

#[tokio::test]
async fn a_body_that_is_not_a_list_is_malformed() {
    let (result, _server) = listed("local", b"{\"models\":[]}".to_vec()).await;
    assert_eq!(
        result.map_err(|e| e.to_string()),
        Err(
            r#"local: unexpected response: the model list is not {"data":[{"id":...}]}"#.to_owned()
        )
    );
}

#[tokio::test]
async fn config_models_skip_the_network() {
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::json(200, fixture("openai/models.json")),
    )])
    .await;
    let mut provider = spec(&server, "local");
    provider.models = Some(ids(&["zeta", "alpha"]));
    let client = http_client().expect("client");
    assert_eq!(
        list_models(&client, &provider).await,
        Ok(Listing::bare(ids(&["zeta", "alpha"])))
    );
    assert_eq!(
        discover_models(&client, &provider).await,
        (Listing::bare(ids(&["zeta", "alpha"])), None)
    );
    assert_eq!(server.requests().len(), 0);
}

#[tokio::test]
async fn failed_discovery_offers_the_fallback_with_the_error() {
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::fixture_error("openai/chat-401.status-401.json"),
    )])
    .await;
    let mut provider = spec(&server, "openai");
    provider.fallback_models = ids(&["gpt-4o-mini", "gpt-4o"]);
    let client = http_client().expect("client");
    let (listing, error) = discover_models(&client, &provider).await;
    assert_eq!(listing, Listing::bare(ids(&["gpt-4o-mini", "gpt-4o"])));
    let error = error.expect("the discovery error");
    assert_eq!(error.status(), Some(401));
    assert!(
        error
            .to_string()
            .starts_with("openai: HTTP 401 invalid_api_key: Incorrect API key provided"),
        "{error}"
    );

    provider.fallback_models.clear();
    let (listing, error) = discover_models(&client, &provider).await;
    assert_eq!(listing, Listing::default());
    assert_eq!(error.and_then(|e| e.status()), Some(401));
}

#[tokio::test]
async fn successful_discovery_reports_no_error() {
    let server = MockServer::start(vec![(
        MODELS,
        MockResponse::json(200, fixture("openrouter/models.json")),
    )])
    .await;
    let mut provider = spec(&server, "openrouter");
    provider.fallback_models = ids(&["unused"]);
    let client = http_client().expect("client");
    let (listing, error) = discover_models(&client, &provider).await;
    assert_eq!(
        (listing.models, error),
        (ids(&["openai/gpt-4o-mini"]), None)
    );
}
