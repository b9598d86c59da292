//! `GET {base_url}/models` as OpenAI-compatible servers answer it, and what their
//! entries say about each model's window and prices (protocols.md §1, §3, §8, §9, §11).
//!
//! Owns: the `{"data":[…]}` list (and Together's bare `[…]`), leaving out entries that
//! cannot chat (Mistral `capabilities.completion_chat == false`, Groq `active ==
//! false`); the fields that describe a model, whichever server sent them:
//! - window: `context_length` (OpenRouter, Together), `top_provider.context_length`
//!   (OpenRouter), `context_window` (Groq), `max_context_length` (Mistral),
//!   `max_model_len` (vLLM), `meta.n_ctx` then `meta.n_ctx_train` (llama.cpp), and for
//!   a llama.cpp server serving one model `GET /props`
//!   `default_generation_settings.n_ctx`, the window its slots really have, over all;
//! - longest reply: `top_provider.max_completion_tokens` (OpenRouter),
//!   `max_completion_tokens` (Groq);
//! - prices: OpenRouter's `pricing.prompt` / `pricing.completion` (strings, US dollars
//!   per token; `"-1"` means "varies") and Together's `pricing.input` /
//!   `pricing.output` (numbers, already per million tokens; zero with an `hourly`
//!   price means the model is only rented by the hour).
//!
//! Must not: guess a value a server did not send, or let a describing field of an odd
//! type hide a model (those read as unknown).

use serde::Deserialize;
use serde_json::Value;

use super::models::{DETAIL_TIMEOUT, Listed, fetch_json};
use super::wire::{lenient, parse_listing};
use super::{Problem, ProviderError, ProviderSpec};
use crate::model_settings::ModelInfo;

/// The shape named when a list cannot be read.
const LISTING_SHAPE: &str = "{\"data\":[{\"id\":...}]}";

/// What llama.cpp's server writes in `owned_by` (its `server-context.cpp`).
const LLAMACPP_OWNER: &str = "llamacpp";

/// The models of an OpenAI-compatible server: `GET {base_url}/models`; for a
/// llama.cpp server serving one model, also `GET /props` for the window it runs with.
pub(crate) async fn list_openai(
    client: &reqwest::Client,
    provider: &ProviderSpec,
) -> Result<Vec<Listed>, ProviderError> {
    let base = provider.base_url.trim_end_matches('/');
    let body = fetch_json(client, provider, &format!("{base}/models")).await?;
    let list = parse_model_list(&provider.name, &body)?;
    let mut entries = list.entries;
    if let Some(i) = list.llamacpp
        && let Some(n_ctx) = llamacpp_window(client, provider).await
        && let Some(entry) = entries.get_mut(i)
    {
        entry.info.context = Some(n_ctx);
    }
    Ok(entries)
}

/// `default_generation_settings.n_ctx` from llama.cpp's `GET /props` (at the server's
/// root, beside `/v1`): the context each slot really has, often smaller than the one
/// the model was trained for. `None` when the server does not answer within
/// [`DETAIL_TIMEOUT`] or says nothing usable: the list never waits longer for it.
async fn llamacpp_window(client: &reqwest::Client, provider: &ProviderSpec) -> Option<u64> {
    let base = provider.base_url.trim_end_matches('/');
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let url = format!("{root}/props");
    let body = tokio::time::timeout(DETAIL_TIMEOUT, fetch_json(client, provider, &url))
        .await
        .ok()?
        .ok()?;
    let props: WireProps = super::wire::parse(&body).ok()?;
    positive(props.default_generation_settings?.n_ctx)
}

/// `GET /props` as llama.cpp sends it (only the field read).
#[derive(Debug, Deserialize)]
struct WireProps {
    #[serde(default, deserialize_with = "lenient")]
    default_generation_settings: Option<WireGenerationSettings>,
}

#[derive(Debug, Deserialize)]
struct WireGenerationSettings {
    #[serde(default, deserialize_with = "lenient")]
    n_ctx: Option<u64>,
}

/// A list read: the chat-capable entries in the server's order, and the index of the
/// only llama.cpp entry, when there is exactly one (a router serving several models
/// has no single `/props` window to ask for).
#[derive(Debug, PartialEq)]
struct ModelList {
    entries: Vec<Listed>,
    llamacpp: Option<usize>,
}

/// `GET {base_url}/models` as OpenAI-compatible servers send it.
#[derive(Debug, Deserialize)]
struct WireList {
    #[serde(deserialize_with = "super::wire::skip_bad_entries")]
    data: Vec<WireModel>,
}

/// One entry; `capabilities` (Mistral) and `active` (Groq) say when it cannot chat,
/// the rest describes the model (module docs).
#[derive(Debug, Deserialize)]
struct WireModel {
    id: Option<String>,
    capabilities: Option<Capabilities>,
    active: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    owned_by: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    context_length: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    context_window: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    max_context_length: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    max_model_len: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    max_completion_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    top_provider: Option<WireTopProvider>,
    #[serde(default, deserialize_with = "lenient")]
    pricing: Option<WirePricing>,
    #[serde(default, deserialize_with = "lenient")]
    meta: Option<WireMeta>,
}

#[derive(Debug, Deserialize)]
struct Capabilities {
    completion_chat: Option<bool>,
}

/// OpenRouter's `top_provider`.
#[derive(Debug, Deserialize)]
struct WireTopProvider {
    #[serde(default, deserialize_with = "lenient")]
    context_length: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    max_completion_tokens: Option<u64>,
}

/// OpenRouter's (`prompt`, `completion`) or Together's (`input`, `output`, `hourly`).
#[derive(Debug, Deserialize)]
struct WirePricing {
    #[serde(default, deserialize_with = "lenient")]
    prompt: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    completion: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    input: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    output: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    hourly: Option<f64>,
}

/// llama.cpp's `meta`.
#[derive(Debug, Deserialize)]
struct WireMeta {
    #[serde(default, deserialize_with = "lenient")]
    n_ctx: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    n_ctx_train: Option<u64>,
}

impl WireModel {
    /// False only when the entry says so: Mistral's `capabilities.completion_chat` or
    /// Groq's `active`. Plain OpenAI entries carry neither and are kept.
    fn can_chat(&self) -> bool {
        let chat = self.capabilities.as_ref().and_then(|c| c.completion_chat);
        chat != Some(false) && self.active != Some(false)
    }

    /// What the entry says about the model, each value from the first field that has
    /// it (module docs).
    fn info(&self) -> ModelInfo {
        let top = self.top_provider.as_ref();
        let meta = self.meta.as_ref();
        let context = [
            self.context_length,
            top.and_then(|t| t.context_length),
            self.context_window,
            self.max_context_length,
            self.max_model_len,
            meta.and_then(|m| m.n_ctx),
            meta.and_then(|m| m.n_ctx_train),
        ]
        .into_iter()
        .find_map(positive);
        let max_output = [
            top.and_then(|t| t.max_completion_tokens),
            self.max_completion_tokens,
        ]
        .into_iter()
        .find_map(positive);
        let (price_in, price_out) = self.pricing.as_ref().map_or((None, None), prices);
        ModelInfo {
            context,
            max_output,
            price_in,
            price_out,
        }
    }
}

/// US dollars per million tokens, in and out.
fn prices(pricing: &WirePricing) -> (Option<f64>, Option<f64>) {
    if pricing.prompt.is_some() || pricing.completion.is_some() {
        let per_million = |v: &Option<Value>| v.as_ref().and_then(per_token).map(per_million);
        return (
            per_million(&pricing.prompt),
            per_million(&pricing.completion),
        );
    }
    // Together: a model rented by the hour lists zero token prices.
    if pricing.hourly.is_some_and(|h| h > 0.0) {
        return (None, None);
    }
    let price = |v: Option<f64>| v.filter(|p| p.is_finite() && *p >= 0.0);
    (price(pricing.input), price(pricing.output))
}

/// An OpenRouter per-token price: a decimal string (a number is taken too); negative
/// (its `"-1"` for "varies by request") or unreadable is unknown, `"0"` is free.
fn per_token(value: &Value) -> Option<f64> {
    let price = match value {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (price.is_finite() && price >= 0.0).then_some(price)
}

/// A per-token price per million tokens, to a millionth of a dollar: the decimal
/// strings are exact, the float product is not (`0.00000015 × 10⁶` is
/// `0.15000000000000002`).
fn per_million(per_token: f64) -> f64 {
    (per_token * 1e12).round() / 1e6
}

/// A token count that means something: zero is no window at all.
fn positive(n: Option<u64>) -> Option<u64> {
    n.filter(|&n| n > 0)
}

/// The chat-capable entries of an OpenAI-style list (`{"data":[…]}`, or a bare array
/// as Together sends), in the server's order.
fn parse_model_list(provider: &str, body: &[u8]) -> Result<ModelList, ProviderError> {
    let wire = if body.trim_ascii_start().starts_with(b"[") {
        bare_array(provider, body)?
    } else {
        parse_listing::<WireList>(provider, body, LISTING_SHAPE)?.data
    };
    let mut entries = Vec::with_capacity(wire.len());
    let mut llamacpp = Vec::new();
    for model in wire.into_iter().filter(WireModel::can_chat) {
        let info = model.info();
        let Some(id) = model.id.filter(|id| !id.is_empty()) else {
            continue;
        };
        if model.owned_by.as_deref() == Some(LLAMACPP_OWNER) {
            llamacpp.push(entries.len());
        }
        entries.push(Listed { id, info });
    }
    let llamacpp = match llamacpp.as_slice() {
        [only] => Some(*only),
        _ => None,
    };
    Ok(ModelList { entries, llamacpp })
}

/// Together's list: the entries without the `{"data": …}` around them; an entry of
/// the wrong shape is skipped like in a wrapped list.
fn bare_array(provider: &str, body: &[u8]) -> Result<Vec<WireModel>, ProviderError> {
    let values: Vec<Value> = serde_json::from_slice(body).map_err(|_| {
        Problem::Malformed {
            message: format!("the model list is not {LISTING_SHAPE}"),
        }
        .at(provider)
    })?;
    Ok(values
        .into_iter()
        .filter_map(|value| serde_json::from_value(value).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::models::Listing;
    use super::*;
    use pretty_assertions::assert_eq;

    /// The ids a list offers, sorted once as discovery sorts them.
    fn ids(provider: &str, body: &[u8]) -> Result<Vec<String>, String> {
        parse_model_list(provider, body)
            .map(|list| Listing::from_entries(list.entries).models)
            .map_err(|e| e.to_string())
    }

    fn info(body: &[u8]) -> Vec<(String, ModelInfo)> {
        parse_model_list("p", body)
            .map(|list| list.entries.into_iter().map(|e| (e.id, e.info)).collect())
            .unwrap_or_default()
    }

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
        assert_eq!(ids("p", body), Ok(vec!["a".to_owned(), "b".to_owned()]));
    }

    #[test]
    fn bodies_that_are_not_a_list_are_rejected() {
        let not_a_list =
            Err("p: unexpected response: the model list is not {\"data\":[{\"id\":...}]}".into());
        assert_eq!(ids("p", b"{\"models\":[]}"), not_a_list);
        assert_eq!(ids("p", b"<html>"), not_a_list);
        assert_eq!(ids("p", b"[{\"id\":"), not_a_list);
    }

    #[test]
    fn an_entry_of_the_wrong_shape_is_skipped_and_the_others_listed() {
        assert_eq!(
            ids(
                "p",
                br#"{"data":[{"id":"a"},{"id":"b","active":"yes"},{"id":5},"c",{"id":"d"}]}"#
            ),
            Ok(vec!["a".to_owned(), "d".to_owned()])
        );
        // The listing itself must still have its shape.
        assert_eq!(
            ids("p", br#"{"models":[]}"#),
            Err(
                "p: unexpected response: the model list is not {\"data\":[{\"id\":...}]}"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_describing_field_of_the_wrong_type_is_unknown_and_the_model_stays() {
        assert_eq!(
            info(
                br#"{"data":[{"id":"a","context_length":"128k","pricing":"cheap","top_provider":{"context_length":4096,"max_completion_tokens":-1}}]}"#
            ),
            vec![(
                "a".to_owned(),
                ModelInfo {
                    context: Some(4096),
                    ..ModelInfo::default()
                }
            )]
        );
    }

    #[test]
    fn openrouter_prices_per_token_become_per_million_and_free_is_zero() {
        let body = br#"{"data":[
            {"id":"paid","context_length":128000,"pricing":{"prompt":"0.00000015","completion":"0.0000006"},
             "top_provider":{"context_length":64000,"max_completion_tokens":16384}},
            {"id":"free","pricing":{"prompt":"0","completion":"0"}},
            {"id":"router","pricing":{"prompt":"-1","completion":"soon"}}
        ]}"#;
        assert_eq!(
            info(body),
            vec![
                (
                    "paid".to_owned(),
                    ModelInfo {
                        context: Some(128_000),
                        max_output: Some(16384),
                        price_in: Some(0.15),
                        price_out: Some(0.6),
                    }
                ),
                (
                    "free".to_owned(),
                    ModelInfo {
                        price_in: Some(0.0),
                        price_out: Some(0.0),
                        ..ModelInfo::default()
                    }
                ),
                ("router".to_owned(), ModelInfo::default()),
            ]
        );
    }

    #[test]
    fn together_sends_a_bare_array_priced_per_million_and_hourly_models_have_no_token_price() {
        let body = br#"[
            {"id":"meta-llama/Llama-3.3-70B-Instruct-Turbo","object":"model","type":"chat","context_length":131072,
             "pricing":{"hourly":0,"input":0.88,"output":0.88,"base":0,"finetune":0}},
            {"id":"dedicated/only","type":"chat","context_length":32768,
             "pricing":{"hourly":1.5,"input":0,"output":0}},
            42
        ]"#;
        assert_eq!(
            info(body),
            vec![
                (
                    "meta-llama/Llama-3.3-70B-Instruct-Turbo".to_owned(),
                    ModelInfo {
                        context: Some(131_072),
                        price_in: Some(0.88),
                        price_out: Some(0.88),
                        ..ModelInfo::default()
                    }
                ),
                (
                    "dedicated/only".to_owned(),
                    ModelInfo {
                        context: Some(32768),
                        ..ModelInfo::default()
                    }
                ),
            ]
        );
    }

    #[test]
    fn groq_mistral_vllm_and_llamacpp_windows_are_read_from_their_own_fields() {
        let body = br#"{"data":[
            {"id":"groq","context_window":131072,"max_completion_tokens":32768},
            {"id":"mistral","max_context_length":32000},
            {"id":"vllm","owned_by":"vllm","max_model_len":8192},
            {"id":"llama","owned_by":"llamacpp","meta":{"n_ctx_train":131072,"n_vocab":32000}},
            {"id":"zero","max_model_len":0}
        ]}"#;
        let window = |n: u64| ModelInfo {
            context: Some(n),
            ..ModelInfo::default()
        };
        assert_eq!(
            info(body),
            vec![
                (
                    "groq".to_owned(),
                    ModelInfo {
                        context: Some(131_072),
                        max_output: Some(32768),
                        ..ModelInfo::default()
                    }
                ),
                ("mistral".to_owned(), window(32000)),
                ("vllm".to_owned(), window(8192)),
                ("llama".to_owned(), window(131_072)),
                ("zero".to_owned(), ModelInfo::default()),
            ]
        );
        assert_eq!(parse_model_list("p", body).map(|l| l.llamacpp), Ok(Some(3)));
    }

    #[test]
    fn props_are_asked_only_for_a_single_llamacpp_model() {
        let two =
            br#"{"data":[{"id":"a","owned_by":"llamacpp"},{"id":"b","owned_by":"llamacpp"}]}"#;
        assert_eq!(parse_model_list("p", two).map(|l| l.llamacpp), Ok(None));
        let openai = br#"{"data":[{"id":"a","owned_by":"system"}]}"#;
        assert_eq!(parse_model_list("p", openai).map(|l| l.llamacpp), Ok(None));
    }

    #[test]
    fn per_million_is_exact_to_a_millionth_of_a_dollar() {
        let exact = |per_token: f64, want: f64| {
            assert_eq!(per_million(per_token).to_bits(), want.to_bits());
        };
        exact(0.000_000_15, 0.15);
        exact(0.000_015, 15.0);
        exact(0.0, 0.0);
    }
}
