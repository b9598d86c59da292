//! Finding the provider that answers for a `provider/model` name, written once for the
//! UI, `tinychat ask` and the start-up checks.
//!
//! Each caller adds its own advice to the error (the UI points at the sidebar, the
//! command line at `tinychat models`), but what counts as a usable model is decided
//! here only.

use crate::config::{Config, split_model};
use crate::provider::ProviderSpec;

/// Why a `provider/model` name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("`{full}` is not PROVIDER/MODEL")]
    NotProviderModel { full: String },
    /// `known` lists the configured providers, for the command line's message.
    #[error("unknown provider `{name}`")]
    UnknownProvider { name: String, known: Vec<String> },
    /// The provider is configured but cannot answer (a missing key, say).
    #[error("provider `{name}` is disabled: {why}")]
    Disabled { name: String, why: String },
}

/// The provider of `full` and the model's id at that provider (the part after the
/// first `/`), when the provider exists and is enabled.
pub fn resolve<'c, 'm>(
    config: &'c Config,
    full: &'m str,
) -> Result<(&'c ProviderSpec, &'m str), ModelError> {
    let Some((name, model)) = split_model(full) else {
        return Err(ModelError::NotProviderModel { full: full.into() });
    };
    match config.provider(name) {
        None => Err(ModelError::UnknownProvider {
            name: name.into(),
            known: config.providers.iter().map(|p| p.name.clone()).collect(),
        }),
        Some(p) => match &p.disabled {
            Some(why) => Err(ModelError::Disabled {
                name: name.into(),
                why: why.clone(),
            }),
            None => Ok((p, model)),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use pretty_assertions::assert_eq;

    fn config() -> Config {
        Config::from_toml(
            "[[providers]]\nname = \"mock\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"m1\"]\n",
            Path::new("test.toml"),
            &|_| None,
        )
        .unwrap()
    }

    #[test]
    fn a_configured_provider_answers_with_the_model_after_the_first_slash() {
        let config = config();
        let (spec, model) = resolve(&config, "mock/org/m1").unwrap();
        assert_eq!((spec.name.as_str(), model), ("mock", "org/m1"));
    }

    #[test]
    fn a_bad_name_an_unknown_provider_and_a_disabled_one_say_which() {
        let config = config();
        assert_eq!(
            resolve(&config, "m1").unwrap_err().to_string(),
            "`m1` is not PROVIDER/MODEL"
        );
        let unknown = resolve(&config, "nope/m1").unwrap_err();
        assert_eq!(unknown.to_string(), "unknown provider `nope`");
        assert!(
            matches!(&unknown, ModelError::UnknownProvider { known, .. } if known.contains(&"mock".to_owned()))
        );
        // No key in this environment: the built-in OpenAI provider is disabled.
        assert_eq!(
            resolve(&config, "openai/gpt-4o").unwrap_err().to_string(),
            "provider `openai` is disabled: set OPENAI_API_KEY"
        );
    }
}
