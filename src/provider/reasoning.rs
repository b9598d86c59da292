//! What asking for thinking means on every kind alike: the config keys a request's
//! reasoning options come from, and the hint shown when a provider refuses them.
//!
//! Each kind's module decides which field (if any) each option becomes in its own body
//! and names the key behind what it sent; this module only words the fix, so that the
//! same refusal reads the same whatever the provider.
//!
//! Must not: build any request body or know any wire format.

use super::{Problem, ProviderError};

/// The config key of [`super::ChatRequest::reasoning_effort`].
pub(crate) const EFFORT_KEY: &str = "reasoning_effort";
/// The config key of [`super::ChatRequest::thinking_budget`].
pub(crate) const BUDGET_KEY: &str = "thinking_budget";

/// The fix for a request refused because it asked for thinking: a model or server that
/// does not think answers 400 (Ollama, Anthropic, Gemini) or 422 (validating proxies,
/// vLLM) to the option, and the provider's message alone rarely says which setting of
/// tinychat's sent it. `asked` is the key behind what the body carried (`None` when it
/// asked for no thinking: the error is left as it is). A hint the provider's own reading
/// already gave (a bad key) is kept: that is the problem to fix first.
pub(crate) fn refused(mut error: ProviderError, asked: Option<&'static str>) -> ProviderError {
    let Some(key) = asked else {
        return error;
    };
    if let Problem::Http {
        status: 400 | 422,
        hint: hint @ None,
        ..
    } = &mut error.problem
    {
        *hint = Some(format!(
            "this request asked for thinking: remove {key} for this model in the config"
        ));
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::RetryHint;
    use pretty_assertions::assert_eq;

    fn http(status: u16, hint: Option<&str>) -> ProviderError {
        Problem::Http {
            status,
            code: Some("invalid_request_error".into()),
            message: "think value \"true\" is not supported for this model".into(),
            hint: hint.map(str::to_owned),
            retry: RetryHint::default(),
        }
        .at("ollama")
    }

    #[test]
    fn a_refused_thinking_request_names_the_key_to_remove() {
        assert_eq!(
            refused(http(400, None), Some(BUDGET_KEY)).to_string(),
            "ollama: HTTP 400 invalid_request_error: think value \"true\" is not supported for this model (this request asked for thinking: remove thinking_budget for this model in the config)"
        );
        assert_eq!(
            refused(http(422, None), Some(EFFORT_KEY)).to_string(),
            "ollama: HTTP 422 invalid_request_error: think value \"true\" is not supported for this model (this request asked for thinking: remove reasoning_effort for this model in the config)"
        );
    }

    #[test]
    fn other_statuses_other_hints_and_requests_without_thinking_are_left_alone() {
        assert_eq!(refused(http(400, None), None), http(400, None));
        assert_eq!(refused(http(500, None), Some(BUDGET_KEY)), http(500, None));
        assert_eq!(
            refused(http(400, Some("check GEMINI_API_KEY")), Some(BUDGET_KEY)),
            http(400, Some("check GEMINI_API_KEY"))
        );
    }
}
