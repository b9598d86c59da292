//! What discovery learns about each model's window and prices, against loopback servers
//! serving realistic listing bodies (OpenRouter, Together, Gemini, Ollama with
//! `/api/show`, vLLM, llama.cpp with `/props`).

// Helpers outside #[test] fns fail loudly too.
#![allow(clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post};
use common::{MockResponse, MockServer, fixture, listing, provider_spec};
use pretty_assertions::assert_eq;
use serde_json::json;
use tinychat::model_settings::ModelInfo;
use tinychat::provider::{ProviderKind, ProviderSpec, describe_models, http_client};

fn openai_compatible(server: &MockServer) -> ProviderSpec {
    provider_spec("p", ProviderKind::OpenAi, server.url("/v1"))
}

fn window(context: u64) -> ModelInfo {
    ModelInfo {
        context: Some(context),
        ..ModelInfo::default()
    }
}

fn info(entries: &[(&str, ModelInfo)]) -> BTreeMap<String, ModelInfo> {
    entries
        .iter()
        .map(|(id, info)| ((*id).to_owned(), *info))
        .collect()
}

#[tokio::test]
async fn openrouter_gives_the_window_the_reply_limit_and_prices_per_million() {
    let mut body: serde_json::Value =
        serde_json::from_slice(&fixture("openrouter/models.json")).expect("fixture JSON");
    let entries = body["data"].as_array_mut().expect("data");
    entries.push(json!({
        "id": "meta-llama/llama-3.3-70b-instruct:free",
        "context_length": 65536,
        "pricing": {"prompt": "0", "completion": "0", "request": "0", "image": "0"},
        "top_provider": {"context_length": 65536, "max_completion_tokens": null, "is_moderated": false}
    }));
    entries.push(json!({
        "id": "openrouter/auto",
        "context_length": 2_000_000,
        "pricing": {"prompt": "-1", "completion": "-1"},
        "top_provider": {"context_length": null, "max_completion_tokens": null, "is_moderated": false}
    }));
    let server = MockServer::start(vec![(
        "/v1/models",
        MockResponse::json(200, serde_json::to_vec(&body).expect("JSON")),
    )])
    .await;
    let listing = listing(&openai_compatible(&server)).await.expect("listing");
    assert_eq!(
        listing.models,
        [
            "meta-llama/llama-3.3-70b-instruct:free",
            "openai/gpt-4o-mini",
            "openrouter/auto"
        ]
    );
    assert_eq!(
        listing.info,
        info(&[
            (
                "openai/gpt-4o-mini",
                ModelInfo {
                    context: Some(128_000),
                    max_output: Some(16384),
                    price_in: Some(0.15),
                    price_out: Some(0.6),
                }
            ),
            (
                "meta-llama/llama-3.3-70b-instruct:free",
                ModelInfo {
                    context: Some(65536),
                    price_in: Some(0.0),
                    price_out: Some(0.0),
                    ..ModelInfo::default()
                }
            ),
            ("openrouter/auto", window(2_000_000)),
        ])
    );
}

#[tokio::test]
async fn together_lists_a_bare_array_priced_per_million_tokens() {
    let body = json!([
        {"id": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "object": "model", "created": 1_733_443_200,
         "type": "chat", "running": false, "display_name": "Llama 3.3 70B Instruct Turbo",
         "organization": "Meta", "link": "https://example.test", "license": "other",
         "context_length": 131_072,
         "config": {"chat_template": "{{ messages }}", "stop": ["<|eot_id|>"]},
         "pricing": {"hourly": 0, "input": 0.88, "output": 0.88, "base": 0, "finetune": 0}},
        {"id": "BAAI/bge-base-en-v1.5", "object": "model", "type": "embedding",
         "context_length": 512,
         "pricing": {"hourly": 0, "input": 0.008, "output": 0, "base": 0, "finetune": 0}}
    ]);
    let server = MockServer::start(vec![(
        "/v1/models",
        MockResponse::json(200, serde_json::to_vec(&body).expect("JSON")),
    )])
    .await;
    let listing = listing(&openai_compatible(&server)).await.expect("listing");
    assert_eq!(
        listing.info,
        info(&[
            (
                "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                ModelInfo {
                    context: Some(131_072),
                    price_in: Some(0.88),
                    price_out: Some(0.88),
                    ..ModelInfo::default()
                }
            ),
            (
                "BAAI/bge-base-en-v1.5",
                ModelInfo {
                    context: Some(512),
                    price_in: Some(0.008),
                    price_out: Some(0.0),
                    ..ModelInfo::default()
                }
            ),
        ])
    );
}

#[tokio::test]
async fn gemini_gives_input_and_output_token_limits_across_pages() {
    let page_two = json!({
        "models": [{
            "name": "models/gemini-2.0-flash-lite",
            "displayName": "Gemini 2.0 Flash-Lite",
            "inputTokenLimit": 1_048_576,
            "outputTokenLimit": 8192,
            "supportedGenerationMethods": ["generateContent", "countTokens"]
        }]
    });
    let server = MockServer::start(vec![
        (
            "/v1beta/models",
            MockResponse::json(200, fixture("gemini/models.json")),
        ),
        (
            "/v1beta/models",
            MockResponse::json(200, serde_json::to_vec(&page_two).expect("JSON")),
        ),
    ])
    .await;
    let provider = ProviderSpec {
        api_key: Some("fake-gemini-key".to_owned()),
        ..provider_spec("gemini", ProviderKind::Gemini, server.url(""))
    };
    let listing = listing(&provider).await.expect("listing");
    assert_eq!(
        listing.info,
        info(&[
            (
                "gemini-2.5-flash",
                ModelInfo {
                    context: Some(1_048_576),
                    max_output: Some(65536),
                    ..ModelInfo::default()
                }
            ),
            (
                "gemini-2.0-flash-lite",
                ModelInfo {
                    context: Some(1_048_576),
                    max_output: Some(8192),
                    ..ModelInfo::default()
                }
            ),
        ])
    );
}

#[tokio::test]
async fn vllm_gives_max_model_len_and_is_not_asked_for_props() {
    let body = json!({
        "object": "list",
        "data": [{
            "id": "Qwen/Qwen2.5-7B-Instruct", "object": "model", "created": 1_735_689_600,
            "owned_by": "vllm", "root": "/models/Qwen2.5-7B-Instruct", "parent": null,
            "max_model_len": 32768,
            "permission": [{"id": "modelperm-fixture", "object": "model_permission",
                            "allow_sampling": true, "organization": "*", "is_blocking": false}]
        }]
    });
    let server = MockServer::start(vec![(
        "/v1/models",
        MockResponse::json(200, serde_json::to_vec(&body).expect("JSON")),
    )])
    .await;
    let listing = listing(&openai_compatible(&server)).await.expect("listing");
    assert_eq!(
        listing.info,
        info(&[("Qwen/Qwen2.5-7B-Instruct", window(32768))])
    );
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/models"]);
}

/// `GET /v1/models` of a llama.cpp server serving one GGUF.
fn llamacpp_models() -> Vec<u8> {
    let body = json!({
        "models": [{"name": "qwen2.5-0.5b-instruct-q8_0.gguf", "model": "qwen2.5-0.5b-instruct-q8_0.gguf",
                    "type": "model", "capabilities": ["completion"]}],
        "object": "list",
        "data": [{
            "id": "qwen2.5-0.5b-instruct-q8_0.gguf", "object": "model", "created": 1_766_000_000,
            "owned_by": "llamacpp",
            "meta": {"vocab_type": 2, "n_vocab": 151_936, "n_ctx_train": 32768, "n_embd": 896,
                     "n_params": 494_032_768_u64, "size": 531_068_928_u64}
        }]
    });
    serde_json::to_vec(&body).expect("JSON")
}

#[tokio::test]
async fn llamacpp_props_give_the_window_the_server_really_runs_with() {
    let props = json!({
        "default_generation_settings": {"n_ctx": 4096, "params": {"temperature": 0.8, "n_predict": -1}},
        "total_slots": 1,
        "model_path": "/models/qwen2.5-0.5b-instruct-q8_0.gguf",
        "chat_template": "{{ messages }}",
        "build_info": "b6000-fixture"
    });
    let server = MockServer::start(vec![
        ("/v1/models", MockResponse::json(200, llamacpp_models())),
        (
            "/props",
            MockResponse::json(200, serde_json::to_vec(&props).expect("JSON")),
        ),
    ])
    .await;
    let listing = listing(&openai_compatible(&server)).await.expect("listing");
    assert_eq!(
        listing.info,
        info(&[("qwen2.5-0.5b-instruct-q8_0.gguf", window(4096))])
    );
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/models", "/props"]);
}

#[tokio::test]
async fn llamacpp_without_props_falls_back_to_the_trained_window() {
    // No `/props` route: the mock answers 404.
    let server = MockServer::start(vec![(
        "/v1/models",
        MockResponse::json(200, llamacpp_models()),
    )])
    .await;
    let listing = listing(&openai_compatible(&server)).await.expect("listing");
    assert_eq!(listing.models, ["qwen2.5-0.5b-instruct-q8_0.gguf"]);
    assert_eq!(
        listing.info,
        info(&[("qwen2.5-0.5b-instruct-q8_0.gguf", window(32768))])
    );
}

/// An Ollama that lists three models and answers `/api/show` by the model asked for:
/// two with their metadata, one with a 404 (removed since the list was read).
async fn ollama() -> String {
    async fn show(body: Bytes) -> (StatusCode, String) {
        let asked: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let answer = match asked["model"].as_str() {
            Some("llama3.2:latest") => json!({
                "modelfile": "FROM llama3.2", "parameters": "stop \"<|eot_id|>\"",
                "template": "{{ .Prompt }}",
                "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B"},
                "model_info": {"general.architecture": "llama", "general.parameter_count": 3_212_749_888_u64,
                               "llama.block_count": 28, "llama.context_length": 131_072},
                "capabilities": ["completion", "tools"]
            }),
            Some("qwen3:8b") => json!({
                "details": {"format": "gguf", "family": "qwen3"},
                "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960,
                               "qwen3.embedding_length": 4096},
                "capabilities": ["completion", "thinking"]
            }),
            other => {
                let name = other.unwrap_or_default();
                return (
                    StatusCode::NOT_FOUND,
                    json!({"error": format!("model '{name}' not found")}).to_string(),
                );
            }
        };
        (StatusCode::OK, answer.to_string())
    }
    let mut tags: serde_json::Value =
        serde_json::from_slice(&fixture("ollama/tags.json")).expect("fixture JSON");
    tags["models"]
        .as_array_mut()
        .expect("models")
        .push(json!({"name": "gone:1b", "model": "gone:1b", "size": 1}));
    let tags = tags.to_string();
    let app = Router::new()
        .route("/api/tags", get(move || std::future::ready(tags.clone())))
        .route("/api/show", post(show));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn ollama_lists_first_then_show_gives_each_window_and_a_failed_show_stays_unknown() {
    let provider = provider_spec("ollama", ProviderKind::Ollama, ollama().await);
    let listing = listing(&provider).await.expect("listing");
    assert_eq!(listing.models, ["gone:1b", "llama3.2:latest", "qwen3:8b"]);
    assert_eq!(listing.info, BTreeMap::new(), "/api/tags says nothing");

    let client = http_client().expect("client");
    let described = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        describe_models(&client, &provider, &listing.models),
    )
    .await
    .expect("described within 10 s");
    assert_eq!(
        described,
        info(&[
            ("llama3.2:latest", window(131_072)),
            ("qwen3:8b", window(40960))
        ])
    );
}

#[tokio::test]
async fn config_models_are_never_described() {
    let mut provider = provider_spec("ollama", ProviderKind::Ollama, ollama().await);
    provider.models = Some(vec!["llama3.2:latest".to_owned()]);
    let client = http_client().expect("client");
    assert_eq!(
        describe_models(&client, &provider, &["llama3.2:latest".to_owned()]).await,
        BTreeMap::new()
    );
}
