//! The providers tinychat knows by name: their kind, key variables, base URL (and the
//! variable that overrides it), fallback models and quirks (spec §4 table).
//!
//! Owns: the built-in table and turning one row into a [`ProviderSpec`] with the key
//! and base URL found in the environment (passed in, so tests never set variables).
//! Must not: read the config file (config.rs merges the user's providers over these)
//! or touch the network.

use std::collections::BTreeMap;

use super::{ProviderKind, ProviderSpec};

/// A built-in provider (spec §4 table): one row per service tinychat knows by name.
pub(crate) struct BuiltIn {
    name: &'static str,
    kind: ProviderKind,
    key_envs: &'static [&'static str],
    base_url: &'static str,
    base_url_env: Option<&'static str>,
    fallback_models: &'static [&'static str],
    include_usage: bool,
    /// No key, and shown only when the server answers (Ollama).
    optional: bool,
}

/// Every built-in provider, in the order the sidebar lists them. An OpenAI-compatible
/// service is added here alone; a native protocol also needs its kind (see
/// [`super::kind`]).
pub(crate) const BUILT_INS: &[BuiltIn] = &[
    BuiltIn {
        name: "openai",
        kind: ProviderKind::OpenAi,
        key_envs: &["OPENAI_API_KEY"],
        base_url: "https://api.openai.com/v1",
        base_url_env: Some("OPENAI_BASE_URL"),
        fallback_models: &["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1"],
        include_usage: true,
        optional: false,
    },
    BuiltIn {
        name: "mistral",
        kind: ProviderKind::OpenAi,
        key_envs: &["MISTRAL_API_KEY"],
        base_url: "https://api.mistral.ai/v1",
        base_url_env: None,
        fallback_models: &[
            "mistral-small-latest",
            "mistral-medium-latest",
            "mistral-large-latest",
            "codestral-latest",
        ],
        // Mistral rejects `stream_options` and sends usage on the finish chunk anyway.
        include_usage: false,
        optional: false,
    },
    BuiltIn {
        name: "together",
        kind: ProviderKind::OpenAi,
        key_envs: &["TOGETHER_API_KEY"],
        base_url: "https://api.together.xyz/v1",
        base_url_env: None,
        fallback_models: &[
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "Qwen/Qwen2.5-72B-Instruct-Turbo",
        ],
        include_usage: true,
        optional: false,
    },
    BuiltIn {
        name: "groq",
        kind: ProviderKind::OpenAi,
        key_envs: &["GROQ_API_KEY"],
        base_url: "https://api.groq.com/openai/v1",
        base_url_env: None,
        fallback_models: &["llama-3.1-8b-instant", "llama-3.3-70b-versatile"],
        include_usage: true,
        optional: false,
    },
    BuiltIn {
        name: "openrouter",
        kind: ProviderKind::OpenAi,
        key_envs: &["OPENROUTER_API_KEY"],
        base_url: "https://openrouter.ai/api/v1",
        base_url_env: None,
        fallback_models: &["openai/gpt-4o-mini", "meta-llama/llama-3.3-70b-instruct"],
        // OpenRouter puts usage on its final chunk without being asked.
        include_usage: false,
        optional: false,
    },
    BuiltIn {
        name: "anthropic",
        kind: ProviderKind::Anthropic,
        key_envs: &["ANTHROPIC_API_KEY"],
        base_url: "https://api.anthropic.com",
        base_url_env: Some("ANTHROPIC_BASE_URL"),
        fallback_models: &["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"],
        include_usage: false,
        optional: false,
    },
    BuiltIn {
        name: "gemini",
        kind: ProviderKind::Gemini,
        key_envs: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        base_url: "https://generativelanguage.googleapis.com",
        base_url_env: None,
        fallback_models: &[
            "gemini-2.5-flash",
            "gemini-2.5-pro",
            "gemini-2.5-flash-lite",
        ],
        include_usage: false,
        optional: false,
    },
    BuiltIn {
        name: "cohere",
        kind: ProviderKind::Cohere,
        key_envs: &["COHERE_API_KEY", "CO_API_KEY"],
        base_url: "https://api.cohere.com",
        base_url_env: None,
        fallback_models: &[
            "command-a-03-2025",
            "command-r-plus-08-2024",
            "command-r-08-2024",
        ],
        include_usage: false,
        optional: false,
    },
    BuiltIn {
        name: "ollama",
        kind: ProviderKind::Ollama,
        key_envs: &[],
        base_url: "http://127.0.0.1:11434",
        base_url_env: Some("OLLAMA_HOST"),
        fallback_models: &[],
        include_usage: false,
        optional: true,
    },
];

impl BuiltIn {
    /// The row as a provider, with its key and base URL from the environment.
    pub(crate) fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> ProviderSpec {
        let found = self
            .key_envs
            .iter()
            .find_map(|var| env(var).filter(|v| !v.is_empty()).map(|v| (*var, v)));
        let base_url = self
            .base_url_env
            .and_then(env)
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .filter(|u| !u.is_empty())
            .map_or_else(
                || self.base_url.to_owned(),
                |u| match self.kind {
                    ProviderKind::Ollama => ollama_base_url(&u),
                    _ => u,
                },
            );
        ProviderSpec {
            name: self.name.to_owned(),
            kind: self.kind,
            base_url,
            key_env: found
                .as_ref()
                .map(|(var, _)| *var)
                .or_else(|| self.key_envs.first().copied())
                .map(str::to_owned),
            disabled: (found.is_none() && !self.key_envs.is_empty())
                .then(|| format!("set {}", self.key_envs.join(" or "))),
            api_key: found.map(|(_, key)| key),
            headers: BTreeMap::new(),
            models: None,
            fallback_models: self.fallback_models.iter().map(|&m| m.to_owned()).collect(),
            include_usage: self.include_usage,
            optional: self.optional,
            local: None,
            settings: crate::model_settings::ProviderSettings::default(),
        }
    }
}

/// `OLLAMA_HOST` as Ollama itself reads it: `host`, `host:port` or a URL; no scheme
/// means http, no port means 11434, and the listen-everywhere address 0.0.0.0 means
/// this machine.
pub(crate) fn ollama_base_url(value: &str) -> String {
    let (scheme, rest) = match value.split_once("://") {
        Some((scheme, rest)) => (scheme, rest),
        None => ("http", value),
    };
    let (host_port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        && !host_port.ends_with(']');
    let host_port = if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:11434")
    };
    let host_port = match host_port.strip_prefix("0.0.0.0") {
        Some(port) => format!("127.0.0.1{port}"),
        None => host_port,
    };
    format!("{scheme}://{host_port}{path}")
}
