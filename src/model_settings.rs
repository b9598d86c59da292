//! What the user can say about a model's reasoning, window and prices (spec §4): the
//! `reasoning_effort`, `thinking_budget`, `context_window`, `price_in` and `price_out`
//! keys, which may sit at the top of the config, in a `[[providers]]` block, or in
//! its `[providers.per_model."<id>"]` table, the nearer one winning.
//!
//! Plain data shared by the config (which reads it), the provider code (which asks for
//! reasoning) and the app (which shows the context fill and the cost).

use std::collections::BTreeMap;

use serde::Deserialize;

/// How hard a reasoning model should think: OpenAI-compatible `reasoning_effort`,
/// OpenRouter `reasoning.effort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    Low,
    Medium,
    High,
}

impl ReasoningEffort {
    /// The word the APIs take.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

/// One level of the settings; `None` means "not said here", so a nearer level can be
/// laid over a farther one with [`ModelSettings::over`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Tokens the model may spend thinking (Anthropic `budget_tokens`, Gemini
    /// `thinkingBudget`); for Ollama any budget means `think: true`.
    pub thinking_budget: Option<u32>,
    /// The model's context window in tokens, when discovery does not say.
    pub context_window: Option<u64>,
    /// US dollars per million input tokens.
    pub price_in: Option<f64>,
    /// US dollars per million output tokens.
    pub price_out: Option<f64>,
}

impl ModelSettings {
    /// `self` (the nearer level) with every gap filled from `farther`.
    #[must_use]
    pub fn over(self, farther: ModelSettings) -> ModelSettings {
        ModelSettings {
            reasoning_effort: self.reasoning_effort.or(farther.reasoning_effort),
            thinking_budget: self.thinking_budget.or(farther.thinking_budget),
            context_window: self.context_window.or(farther.context_window),
            price_in: self.price_in.or(farther.price_in),
            price_out: self.price_out.or(farther.price_out),
        }
    }
}

/// A provider's settings: its own level (already laid over the config's top level)
/// and the per-model tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderSettings {
    pub provider: ModelSettings,
    pub per_model: BTreeMap<String, ModelSettings>,
}

impl ProviderSettings {
    /// The settings for `model` (the id without the `provider/` prefix).
    pub fn for_model(&self, model: &str) -> ModelSettings {
        self.per_model
            .get(model)
            .copied()
            .unwrap_or_default()
            .over(self.provider)
    }
}

/// What is known about a model's size and price, from its provider's discovery or
/// else from the config; a `None` is unknown and shows nothing (never a guess).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModelInfo {
    /// Context window in tokens (input and output together).
    pub context: Option<u64>,
    /// The most tokens one reply may have, where the provider says.
    pub max_output: Option<u64>,
    /// US dollars per million input tokens.
    pub price_in: Option<f64>,
    /// US dollars per million output tokens.
    pub price_out: Option<f64>,
}

impl ModelInfo {
    /// `self` (discovered) with every gap filled from the config's settings.
    #[must_use]
    pub fn or_settings(self, settings: ModelSettings) -> ModelInfo {
        ModelInfo {
            context: self.context.or(settings.context_window),
            max_output: self.max_output,
            price_in: self.price_in.or(settings.price_in),
            price_out: self.price_out.or(settings.price_out),
        }
    }

    /// The cost in US dollars of a reply that used these counts, when both prices are
    /// known.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> Option<f64> {
        let (p_in, p_out) = (self.price_in?, self.price_out?);
        #[allow(
            clippy::cast_precision_loss,
            reason = "token counts are far below 2^52"
        )]
        Some((input_tokens as f64 * p_in + output_tokens as f64 * p_out) / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearer_level_wins_and_gaps_come_from_the_farther() {
        let settings = ProviderSettings {
            provider: ModelSettings {
                thinking_budget: Some(2048),
                price_in: Some(1.0),
                ..ModelSettings::default()
            },
            per_model: BTreeMap::from([(
                "r1".to_owned(),
                ModelSettings {
                    thinking_budget: Some(8192),
                    ..ModelSettings::default()
                },
            )]),
        };
        let r1 = settings.for_model("r1");
        assert_eq!(r1.thinking_budget, Some(8192));
        assert_eq!(r1.price_in, Some(1.0));
        assert_eq!(settings.for_model("other").thinking_budget, Some(2048));
    }

    #[test]
    fn cost_needs_both_prices_and_is_per_million_tokens() {
        let info = ModelInfo {
            price_in: Some(3.0),
            price_out: Some(15.0),
            ..ModelInfo::default()
        };
        assert_eq!(info.cost(1_000_000, 100_000), Some(4.5));
        let half = ModelInfo {
            price_in: Some(3.0),
            ..ModelInfo::default()
        };
        assert_eq!(half.cost(10, 10), None);
    }

    #[test]
    fn discovery_wins_over_the_config() {
        let discovered = ModelInfo {
            context: Some(128_000),
            ..ModelInfo::default()
        };
        let info = discovered.or_settings(ModelSettings {
            context_window: Some(8192),
            price_out: Some(2.0),
            ..ModelSettings::default()
        });
        assert_eq!(info.context, Some(128_000));
        assert_eq!(info.price_out, Some(2.0));
    }
}
