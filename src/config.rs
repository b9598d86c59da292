//! The config file, the built-in providers and where tinychat keeps its files.
//!
//! Owns: parsing `config.toml` (spec §4) with the `toml` crate, validating it with the
//! line of every problem, merging it over the built-in provider table, and resolving
//! keys from the environment. It must not touch the terminal or the network: a bad file
//! is reported before the UI starts (design §6). The environment is passed in as a
//! lookup function so tests never mutate the process's variables.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use directories::ProjectDirs;
use serde::Deserialize;
use toml::Spanned;

use crate::model_settings::{ModelSettings, ProviderSettings, ReasoningEffort};
use crate::provider::{BUILT_INS, DEFAULT_IDLE_TIMEOUT, ProviderKind, ProviderSpec};

/// The documented example config, embedded so it can be shown and tested.
pub const EXAMPLE_CONFIG: &str = include_str!("../assets/default-config.toml");

/// A config problem, shown as one line: `file:line: problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.problem),
            None => write!(f, "{}: {}", self.path.display(), self.problem),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The config file as written by the user. Unknown keys are errors, so typos are caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    default_model: Option<Spanned<String>>,
    system_prompt: Option<String>,
    temperature: Option<Spanned<f64>>,
    max_tokens: Option<Spanned<u32>>,
    stream_timeout_secs: Option<Spanned<u64>>,
    theme: Option<Spanned<ThemeChoice>>,
    #[serde(default)]
    providers: Vec<RawProvider>,
    local: Option<RawLocal>,
    show_thinking: Option<Spanned<ShowThinking>>,
    reasoning_effort: Option<ReasoningEffort>,
    thinking_budget: Option<Spanned<u32>>,
    context_window: Option<Spanned<u64>>,
    price_in: Option<Spanned<f64>>,
    price_out: Option<Spanned<f64>>,
}

/// The `[local]` table: GGUF models run inside tinychat (spec §4).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocal {
    models: Option<Vec<String>>,
    model_dir: Option<String>,
    threads: Option<Spanned<usize>>,
    context: Option<Spanned<usize>>,
}

/// The `[local]` table resolved: where GGUF models are looked for and how they run.
/// Plain data, read by the local provider (it exists in every build so the config
/// file means the same with or without the `local` feature).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalSettings {
    /// GGUF files named in `[local] models` (`~` expanded).
    pub models: Vec<PathBuf>,
    /// `[local] model_dir`: every `*.gguf` in it is a model.
    pub model_dir: Option<PathBuf>,
    /// Threads for the kernels; `None` means physical cores − 1 (at least 1), because
    /// candle's spin-waiting pool collapses when another process holds one of the cores.
    pub threads: Option<usize>,
    /// Context window in tokens; `None` means the model's own, capped so a
    /// 128k-context model does not reserve gigabytes for its cache.
    pub context: Option<usize>,
    /// The folder downloaded models live in (`~/.cache/tinychat/models` on Linux).
    pub cache_dir: Option<PathBuf>,
    /// Ollama's model stores to search (`$OLLAMA_MODELS`, else `~/.ollama/models`;
    /// then `/usr/share/ollama/.ollama/models`), in that order.
    pub ollama_roots: Vec<PathBuf>,
}

/// The smallest context a local model may be given: a system prompt and one short
/// exchange.
pub const MIN_LOCAL_CONTEXT: usize = 256;

/// `~` or `~/…` at the start of a config path means the home folder, as in a shell.
pub fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_path_buf(),
        (Some(rest), Some(home)) if rest.starts_with('/') => home.join(&rest[1..]),
        _ => PathBuf::from(path),
    }
}

/// Ollama's store on Linux when it runs as a system service.
pub const SYSTEM_OLLAMA_ROOT: &str = "/usr/share/ollama/.ollama/models";

/// Ollama's stores, searched in the order Ollama itself would use them: a set
/// `$OLLAMA_MODELS` replaces the home store, as it does for Ollama. A store that does
/// not exist is simply empty when searched.
pub fn ollama_roots(env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> Vec<PathBuf> {
    let own = match env("OLLAMA_MODELS").filter(|v| !v.trim().is_empty()) {
        Some(dir) => Some(expand_home(dir.trim(), home)),
        None => home.map(|h| h.join(".ollama/models")),
    };
    own.into_iter()
        .chain([PathBuf::from(SYSTEM_OLLAMA_ROOT)])
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    name: Spanned<String>,
    kind: Option<Spanned<ProviderKind>>,
    base_url: Option<Spanned<String>>,
    api_key_env: Option<String>,
    api_key: Option<String>,
    models: Option<Vec<String>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    include_usage: Option<bool>,
    reasoning_effort: Option<ReasoningEffort>,
    thinking_budget: Option<Spanned<u32>>,
    context_window: Option<Spanned<u64>>,
    price_in: Option<Spanned<f64>>,
    price_out: Option<Spanned<f64>>,
    /// `[providers.per_model."<id>"]`: the same keys for one model.
    #[serde(default)]
    per_model: BTreeMap<String, ModelSettings>,
}

/// Validated settings, passed down by reference (no global config, design §7).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `provider/model` to start with.
    pub default_model: Option<String>,
    pub system_prompt: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub stream_timeout: Duration,
    /// Colours for a dark or light background, or guessed from the terminal.
    pub theme: ThemeChoice,
    /// Every provider, built-ins first in table order, then the config's own.
    pub providers: Vec<ProviderSpec>,
    /// How a reply's thinking is shown when it has finished.
    pub show_thinking: ShowThinking,
    /// The `[local]` table (also carried by the `local` provider's spec).
    pub local: Arc<LocalSettings>,
}

/// The config's `theme`: which palette to draw with (the UI turns it into styles).
/// Read by serde; an unknown value is an error at its line that lists the valid ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum ThemeChoice {
    Dark,
    Light,
    /// Light when `COLORFGBG` says the background is white, else dark.
    #[default]
    Auto,
}

impl ThemeChoice {
    /// The values the config accepts, for the error message.
    pub const NAMES: [&'static str; 3] = ["dark", "light", "auto"];

    /// The theme named `name` (surrounding spaces are forgiven).
    pub fn parse(name: &str) -> Option<ThemeChoice> {
        match name.trim() {
            "dark" => Some(ThemeChoice::Dark),
            "light" => Some(ThemeChoice::Light),
            "auto" => Some(ThemeChoice::Auto),
            _ => None,
        }
    }
}

impl TryFrom<String> for ThemeChoice {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        ThemeChoice::parse(&name).ok_or_else(|| {
            format!(
                "unknown theme `{name}` (expected one of: {})",
                ThemeChoice::NAMES.join(", ")
            )
        })
    }
}

/// The config's `show_thinking`: how a finished reply's thinking is shown (the key on
/// a reply opens and closes it either way, except `hidden`, which keeps it out of view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShowThinking {
    /// One line, `▸ Thought for 14 s · 1,203 tokens`.
    #[default]
    Folded,
    /// The whole text, dim, above the answer.
    Open,
    /// Not shown at all (still saved and exported).
    Hidden,
}

/// Where tinychat keeps its files (spec §3), resolved once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl Paths {
    /// `directories::ProjectDirs` for "tinychat" (honours `XDG_*` on Linux).
    pub fn from_env() -> Option<Paths> {
        let dirs = ProjectDirs::from("", "", "tinychat")?;
        Some(Paths {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
            log_dir: dirs
                .state_dir()
                .unwrap_or_else(|| dirs.data_dir())
                .to_path_buf(),
        })
    }

    /// The folder of saved conversations.
    pub fn conversations_dir(&self) -> PathBuf {
        self.data_dir.join("conversations")
    }
}

/// Reads and validates the config at `path`. A missing file is fine unless `required`
/// (an explicit `--config` / `TINYCHAT_CONFIG` that does not exist is an error).
pub fn load(
    path: &Path,
    required: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let bytes = match crate::user_file::read_user_file(path, crate::user_file::CONFIG_LIMIT) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() && !required => {
            return Config::from_toml("", path, env);
        }
        Err(e) => {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: None,
                problem: format!("cannot read the config file: {}", e.reason()),
            });
        }
    };
    let text = String::from_utf8(bytes).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        problem: format!("the config file is not UTF-8 text ({e})"),
    })?;
    Config::from_toml(&text, path, env)
}

impl Config {
    /// Parses config text; `path` is only used to name the file in errors.
    #[allow(
        clippy::too_many_lines,
        reason = "validation reads top to bottom, one check per key"
    )]
    pub fn from_toml(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let err_at = |span: Option<std::ops::Range<usize>>, problem: String| ConfigError {
            path: path.to_path_buf(),
            line: span.map(|s| line_of(text, s.start)),
            problem,
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| err_at(e.span(), e.message().trim().to_owned()))?;

        if let Some(t) = &raw.temperature
            && !(0.0..=2.0).contains(t.get_ref())
        {
            return Err(err_at(
                Some(t.span()),
                format!("temperature must be between 0 and 2, not {}", t.get_ref()),
            ));
        }
        if let Some(m) = &raw.max_tokens
            && *m.get_ref() == 0
        {
            return Err(err_at(
                Some(m.span()),
                "max_tokens must be at least 1".into(),
            ));
        }
        if let Some(s) = &raw.stream_timeout_secs
            && *s.get_ref() == 0
        {
            return Err(err_at(
                Some(s.span()),
                "stream_timeout_secs must be at least 1".into(),
            ));
        }

        let theme = raw
            .theme
            .as_ref()
            .map_or(ThemeChoice::Auto, |t| *t.get_ref());

        let top = checked_settings(
            RawSettings {
                reasoning_effort: raw.reasoning_effort,
                thinking_budget: raw.thinking_budget.as_ref(),
                context_window: raw.context_window.as_ref(),
                price_in: raw.price_in.as_ref(),
                price_out: raw.price_out.as_ref(),
            },
            &err_at,
        )?;
        let local = Arc::new(resolve_local(raw.local.as_ref(), env, &err_at)?);
        let mut providers: Vec<ProviderSpec> = BUILT_INS.iter().map(|b| b.resolve(env)).collect();
        if cfg!(feature = "local") {
            providers.push(local_provider(&local));
        }
        for p in &mut providers {
            p.settings.provider = top;
        }
        let mut seen: Vec<&str> = Vec::new();
        for p in &raw.providers {
            let name = p.name.get_ref().trim();
            if name.is_empty() || name.contains('/') || name.contains(char::is_whitespace) {
                return Err(err_at(
                    Some(p.name.span()),
                    format!("provider name `{name}` must be one word without `/`"),
                ));
            }
            if seen.contains(&name) {
                return Err(err_at(
                    Some(p.name.span()),
                    format!("provider `{name}` is defined twice"),
                ));
            }
            seen.push(name);
            // A block named like the in-process built-in replaces it with a server
            // (spec §4's own example is `name = "local"`): nothing of it is inherited.
            providers.retain(|b| !(b.name == name && b.kind == ProviderKind::Local));
            let existing = providers.iter().position(|b| b.name == name);
            let kind = match &p.kind {
                Some(k) => *k.get_ref(),
                None => existing.map_or(ProviderKind::OpenAi, |i| providers[i].kind),
            };
            let base_url = match &p.base_url {
                Some(u) => {
                    let url = u.get_ref().trim().trim_end_matches('/');
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(err_at(
                            Some(u.span()),
                            format!(
                                "base_url `{}` must start with http:// or https://",
                                crate::provider::redact_userinfo(url)
                            ),
                        ));
                    }
                    url.to_owned()
                }
                None => match existing {
                    Some(i) => providers[i].base_url.clone(),
                    None => {
                        return Err(err_at(
                            Some(p.name.span()),
                            format!("provider `{name}` needs a base_url"),
                        ));
                    }
                },
            };
            let own = checked_settings(
                RawSettings {
                    reasoning_effort: p.reasoning_effort,
                    thinking_budget: p.thinking_budget.as_ref(),
                    context_window: p.context_window.as_ref(),
                    price_in: p.price_in.as_ref(),
                    price_out: p.price_out.as_ref(),
                },
                &err_at,
            )?;
            for (model, settings) in &p.per_model {
                check_model_settings(settings).map_err(|problem| {
                    err_at(
                        Some(p.name.span()),
                        format!("provider `{name}`, per_model \"{model}\": {problem}"),
                    )
                })?;
            }
            let settings = ProviderSettings {
                provider: own.over(top),
                per_model: p.per_model.clone(),
            };
            let builtin = existing.map(|i| providers[i].clone());
            let (api_key, key_env, disabled) = match (&p.api_key, &p.api_key_env) {
                (Some(key), _) => (Some(key.clone()), None, None),
                (None, Some(var)) => match env(var).filter(|v| !v.is_empty()) {
                    Some(key) => (Some(key), Some(var.clone()), None),
                    None => (None, Some(var.clone()), Some(format!("set {var}"))),
                },
                (None, None) => match &builtin {
                    // Overriding a built-in without naming a key keeps its key variable.
                    Some(b) => (b.api_key.clone(), b.key_env.clone(), b.disabled.clone()),
                    None => (None, None, None),
                },
            };
            let spec = ProviderSpec {
                name: name.to_owned(),
                kind,
                base_url,
                api_key,
                key_env,
                disabled,
                headers: p.headers.clone(),
                models: p.models.clone().filter(|m| !m.is_empty()),
                fallback_models: builtin
                    .as_ref()
                    .map(|b| b.fallback_models.clone())
                    .unwrap_or_default(),
                include_usage: p
                    .include_usage
                    .unwrap_or_else(|| builtin.as_ref().is_some_and(|b| b.include_usage)),
                // A provider the user configured is always shown.
                optional: false,
                local: None,
                settings,
            };
            match existing {
                Some(i) => providers[i] = spec,
                None => providers.push(spec),
            }
        }

        let default_model = match &raw.default_model {
            Some(m) => {
                let value = m.get_ref().trim();
                if split_model(value).is_none() {
                    return Err(err_at(
                        Some(m.span()),
                        format!("default_model `{value}` must be PROVIDER/MODEL"),
                    ));
                }
                Some(value.to_owned())
            }
            None => None,
        };

        Ok(Config {
            default_model,
            system_prompt: raw.system_prompt.filter(|s| !s.trim().is_empty()),
            temperature: raw.temperature.map(Spanned::into_inner),
            max_tokens: raw.max_tokens.map(Spanned::into_inner),
            stream_timeout: raw.stream_timeout_secs.map_or(DEFAULT_IDLE_TIMEOUT, |s| {
                Duration::from_secs(s.into_inner())
            }),
            theme,
            show_thinking: raw
                .show_thinking
                .map_or_else(ShowThinking::default, Spanned::into_inner),
            providers,
            local,
        })
    }

    /// The provider called `name`.
    pub fn provider(&self, name: &str) -> Option<&ProviderSpec> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// The in-process provider, unless this build has none or the config replaced it
    /// with a server of the same name.
    pub fn local_provider(&self) -> Option<&ProviderSpec> {
        self.providers
            .iter()
            .find(|p| p.kind == ProviderKind::Local)
    }
}

/// The name of the built-in in-process provider (`local/<model>`).
pub const LOCAL_PROVIDER: &str = "local";

/// The built-in `local` provider: always usable (it needs no key), shown once it has
/// found a model (like Ollama, so machines without models see no empty group).
fn local_provider(settings: &Arc<LocalSettings>) -> ProviderSpec {
    ProviderSpec {
        name: LOCAL_PROVIDER.to_owned(),
        kind: ProviderKind::Local,
        base_url: String::new(),
        api_key: None,
        key_env: None,
        disabled: None,
        headers: BTreeMap::new(),
        models: None,
        fallback_models: Vec::new(),
        include_usage: false,
        optional: true,
        local: Some(Arc::clone(settings)),
        settings: ProviderSettings::default(),
    }
}

/// The reasoning, window and price keys of one level, as read (spans for errors).
#[derive(Clone, Copy)]
struct RawSettings<'a> {
    reasoning_effort: Option<ReasoningEffort>,
    thinking_budget: Option<&'a Spanned<u32>>,
    context_window: Option<&'a Spanned<u64>>,
    price_in: Option<&'a Spanned<f64>>,
    price_out: Option<&'a Spanned<f64>>,
}

/// One level's settings, checked, with the line of a bad value.
fn checked_settings(
    raw: RawSettings<'_>,
    err_at: &dyn Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
) -> Result<ModelSettings, ConfigError> {
    let settings = ModelSettings {
        reasoning_effort: raw.reasoning_effort,
        thinking_budget: raw.thinking_budget.map(|b| *b.get_ref()),
        context_window: raw.context_window.map(|c| *c.get_ref()),
        price_in: raw.price_in.map(|p| *p.get_ref()),
        price_out: raw.price_out.map(|p| *p.get_ref()),
    };
    check_model_settings(&settings).map_err(|problem| {
        let span = match problem {
            SettingsProblem::Budget => raw.thinking_budget.map(Spanned::span),
            SettingsProblem::Window => raw.context_window.map(Spanned::span),
            SettingsProblem::PriceIn => raw.price_in.map(Spanned::span),
            SettingsProblem::PriceOut => raw.price_out.map(Spanned::span),
        };
        err_at(span, problem.to_string())
    })?;
    Ok(settings)
}

/// A reasoning, window or price value that cannot be right.
#[derive(Debug, Clone, Copy)]
enum SettingsProblem {
    Budget,
    Window,
    PriceIn,
    PriceOut,
}

impl fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SettingsProblem::Budget => "thinking_budget must be at least 1 token",
            SettingsProblem::Window => "context_window must be at least 1 token",
            SettingsProblem::PriceIn => {
                "price_in must be a number of dollars per million tokens, 0 or more"
            }
            SettingsProblem::PriceOut => {
                "price_out must be a number of dollars per million tokens, 0 or more"
            }
        })
    }
}

fn check_model_settings(s: &ModelSettings) -> Result<(), SettingsProblem> {
    let price_ok = |p: Option<f64>| p.is_none_or(|p| p.is_finite() && p >= 0.0);
    if s.thinking_budget == Some(0) {
        Err(SettingsProblem::Budget)
    } else if s.context_window == Some(0) {
        Err(SettingsProblem::Window)
    } else if !price_ok(s.price_in) {
        Err(SettingsProblem::PriceIn)
    } else if !price_ok(s.price_out) {
        Err(SettingsProblem::PriceOut)
    } else {
        Ok(())
    }
}

/// Validates the `[local]` table and resolves its paths.
fn resolve_local(
    raw: Option<&RawLocal>,
    env: &dyn Fn(&str) -> Option<String>,
    err_at: &dyn Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
) -> Result<LocalSettings, ConfigError> {
    let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let home = home.as_deref();
    let mut settings = LocalSettings {
        cache_dir: ProjectDirs::from("", "", "tinychat").map(|d| d.cache_dir().join("models")),
        ollama_roots: ollama_roots(env, home),
        ..LocalSettings::default()
    };
    let Some(raw) = raw else {
        return Ok(settings);
    };
    if let Some(t) = &raw.threads {
        if *t.get_ref() == 0 {
            return Err(err_at(
                Some(t.span()),
                "[local] threads must be at least 1".into(),
            ));
        }
        settings.threads = Some(*t.get_ref());
    }
    if let Some(c) = &raw.context {
        if *c.get_ref() < MIN_LOCAL_CONTEXT {
            return Err(err_at(
                Some(c.span()),
                format!("[local] context must be at least {MIN_LOCAL_CONTEXT} tokens"),
            ));
        }
        settings.context = Some(*c.get_ref());
    }
    settings.models = raw
        .models
        .iter()
        .flatten()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .map(|m| expand_home(m, home))
        .collect();
    settings.model_dir = raw
        .model_dir
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| expand_home(d, home));
    Ok(settings)
}

/// Splits `provider/model` at the first `/` (model ids may contain more slashes).
pub fn split_model(full: &str) -> Option<(&str, &str)> {
    full.split_once('/')
        .filter(|(p, m)| !p.is_empty() && !m.is_empty())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |before| {
        before.bytes().filter(|&b| b == b'\n').count() + 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ollama_base_url;
    use pretty_assertions::assert_eq;

    /// The built-in providers in table order, which overriding one must keep.
    const BUILT_IN_ORDER: [&str; 9] = [
        "openai",
        "mistral",
        "together",
        "groq",
        "openrouter",
        "anthropic",
        "gemini",
        "cohere",
        "ollama",
    ];

    /// The built-ins as listed: the in-process `local` comes last, when built in.
    fn built_in_order() -> Vec<&'static str> {
        let mut names = BUILT_IN_ORDER.to_vec();
        if cfg!(feature = "local") {
            names.push(LOCAL_PROVIDER);
        }
        names
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/c/config.toml"), &no_env)
    }

    #[test]
    fn empty_config_lists_built_ins_disabled_without_keys() {
        let c = parse("").unwrap();
        let names: Vec<_> = c.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, built_in_order());
        assert_eq!(
            c.providers[0].disabled.as_deref(),
            Some("set OPENAI_API_KEY")
        );
        assert_eq!(c.stream_timeout, DEFAULT_IDLE_TIMEOUT);
        assert_eq!(
            c.provider("gemini").unwrap().disabled.as_deref(),
            Some("set GEMINI_API_KEY or GOOGLE_API_KEY")
        );
        let ollama = c.provider("ollama").unwrap();
        assert_eq!(ollama.disabled, None);
        assert!(ollama.optional);
        assert_eq!(ollama.base_url, "http://127.0.0.1:11434");
    }

    #[test]
    fn second_key_variable_enables_a_built_in_and_is_named_in_hints() {
        let env = |k: &str| (k == "GOOGLE_API_KEY").then(|| "g".to_owned());
        let c = Config::from_toml("", Path::new("c.toml"), &env).unwrap();
        let gemini = c.provider("gemini").unwrap();
        assert_eq!(gemini.disabled, None);
        assert_eq!(gemini.key_env.as_deref(), Some("GOOGLE_API_KEY"));
    }

    #[test]
    fn ollama_host_is_read_like_ollama_reads_it() {
        assert_eq!(ollama_base_url("0.0.0.0"), "http://127.0.0.1:11434");
        assert_eq!(
            ollama_base_url("example.lan:8000"),
            "http://example.lan:8000"
        );
        assert_eq!(
            ollama_base_url("https://ollama.example/"),
            "https://ollama.example:11434"
        );
        assert_eq!(ollama_base_url("http://[::1]:11434"), "http://[::1]:11434");
        let env = |k: &str| (k == "OLLAMA_HOST").then(|| "127.0.0.1:9999".to_owned());
        let c = Config::from_toml("", Path::new("c.toml"), &env).unwrap();
        assert_eq!(
            c.provider("ollama").unwrap().base_url,
            "http://127.0.0.1:9999"
        );
    }

    #[test]
    fn key_from_env_enables_a_built_in_and_base_url_env_overrides() {
        let env = |k: &str| match k {
            "OPENAI_API_KEY" => Some("sk-test".to_owned()),
            "OPENAI_BASE_URL" => Some("http://127.0.0.1:9/v1/".to_owned()),
            _ => None,
        };
        let c = Config::from_toml("", Path::new("c.toml"), &env).unwrap();
        let openai = c.provider("openai").unwrap();
        assert_eq!(openai.disabled, None);
        assert_eq!(openai.api_key.as_deref(), Some("sk-test"));
        assert_eq!(openai.base_url, "http://127.0.0.1:9/v1");
    }

    #[test]
    fn custom_provider_without_auth_is_enabled() {
        let c = parse(
            "[[providers]]\nname = \"local\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:8080/v1/\"\nmodels = [\"llama\"]\nheaders = { \"X-Title\" = \"tinychat\" }\n",
        )
        .unwrap();
        let local = c.provider("local").unwrap();
        assert_eq!(local.base_url, "http://127.0.0.1:8080/v1");
        assert_eq!(local.disabled, None);
        assert_eq!(local.models, Some(vec!["llama".to_owned()]));
        assert_eq!(
            local.headers.get("X-Title").map(String::as_str),
            Some("tinychat")
        );
    }

    #[test]
    fn missing_key_variable_disables_a_custom_provider() {
        let c = parse(
            "[[providers]]\nname = \"local\"\nbase_url = \"http://x/v1\"\napi_key_env = \"LOCAL_KEY\"\n",
        )
        .unwrap();
        assert_eq!(
            c.provider("local").unwrap().disabled.as_deref(),
            Some("set LOCAL_KEY")
        );
    }

    #[test]
    fn local_table_resolves_paths_threads_and_context() {
        let env = |k: &str| match k {
            "HOME" => Some("/home/u".to_owned()),
            "OLLAMA_MODELS" => Some("~/ollama-store".to_owned()),
            _ => None,
        };
        let c = Config::from_toml(
            "[local]\nmodels = [\"~/models/a.gguf\", \"/abs/b.gguf\", \" \"]\nmodel_dir = \"~\"\nthreads = 3\ncontext = 4096\n",
            Path::new("c.toml"),
            &env,
        )
        .unwrap();
        assert_eq!(
            c.local.models,
            [
                PathBuf::from("/home/u/models/a.gguf"),
                PathBuf::from("/abs/b.gguf")
            ]
        );
        assert_eq!(c.local.model_dir, Some(PathBuf::from("/home/u")));
        assert_eq!(c.local.threads, Some(3));
        assert_eq!(c.local.context, Some(4096));
        assert_eq!(
            c.local.ollama_roots,
            [
                PathBuf::from("/home/u/ollama-store"),
                PathBuf::from("/usr/share/ollama/.ollama/models")
            ]
        );
        if cfg!(feature = "local") {
            let local = c.local_provider().unwrap();
            assert_eq!(local.name, "local");
            assert_eq!(local.disabled, None);
            assert!(local.optional);
            assert_eq!(local.local.as_deref(), Some(&*c.local));
            assert_eq!(local.sidebar_note(), Some("(local, CPU)"));
        }
    }

    #[test]
    fn ollama_store_defaults_to_the_home_folder() {
        let env = |k: &str| (k == "HOME").then(|| "/home/u".to_owned());
        let c = Config::from_toml("", Path::new("c.toml"), &env).unwrap();
        assert_eq!(
            c.local.ollama_roots,
            [
                PathBuf::from("/home/u/.ollama/models"),
                PathBuf::from("/usr/share/ollama/.ollama/models")
            ]
        );
        assert_eq!(expand_home("~", None), PathBuf::from("~"));
        let home = Path::new("/home/u");
        assert_eq!(
            expand_home("~/m/a.gguf", Some(home)),
            PathBuf::from("/home/u/m/a.gguf")
        );
        assert_eq!(expand_home("~", Some(home)), PathBuf::from("/home/u"));
        assert_eq!(expand_home("/x/~/a", Some(home)), PathBuf::from("/x/~/a"));
        assert_eq!(expand_home("~bob/a", Some(home)), PathBuf::from("~bob/a"));
        assert_eq!(expand_home("~/a", None), PathBuf::from("~/a"));
        assert_eq!(
            expand_home("~user/x", Some(Path::new("/h"))),
            PathBuf::from("~user/x")
        );
    }

    #[test]
    fn bad_local_values_name_their_line() {
        let e = parse("[local]\nthreads = 0\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:2: [local] threads must be at least 1"
        );
        let e = parse("[local]\n\ncontext = 100\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:3: [local] context must be at least 256 tokens"
        );
        let e = parse("[local]\nmodel = \"x\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/c/config.toml:2: unknown field `model`"),
            "{e}"
        );
    }

    #[test]
    fn a_server_named_local_replaces_the_in_process_provider() {
        let c = parse("[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:8080/v1\"\n")
            .unwrap();
        let local: Vec<_> = c.providers.iter().filter(|p| p.name == "local").collect();
        assert_eq!(local.len(), 1);
        assert_eq!(local[0].kind, ProviderKind::OpenAi);
        assert_eq!(local[0].base_url, "http://127.0.0.1:8080/v1");
        assert!(!local[0].optional);
        assert!(c.local_provider().is_none());
        let e = parse("[[providers]]\nname = \"local\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:2: provider `local` needs a base_url"
        );
    }

    #[test]
    fn same_name_overrides_a_built_in() {
        let c = parse("[[providers]]\nname = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\napi_key = \"k\"\n").unwrap();
        let names: Vec<_> = c.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, built_in_order());
        let openai = c.provider("openai").unwrap();
        assert_eq!(openai.base_url, "http://127.0.0.1:1/v1");
        assert!(openai.include_usage);
        assert_eq!(openai.disabled, None);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let e = parse("system_prompt = \"ok\"\n\ntemperature = = 3\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.to_string().starts_with("/c/config.toml:3: "), "{e}");
    }

    #[test]
    fn unknown_key_is_reported_with_its_line() {
        let e = parse("\ndefualt_model = \"a/b\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.problem.contains("unknown field `defualt_model`"),
            "{}",
            e.problem
        );
    }

    #[test]
    fn unknown_kind_and_bad_values_are_reported_with_their_lines() {
        let e = parse("[[providers]]\nname = \"x\"\nkind = \"grpc\"\nbase_url = \"http://x\"\n")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:3: unknown kind `grpc` (expected one of: openai, anthropic, gemini, ollama, cohere)"
        );
        let e = parse("temperature = 7.5\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:1: temperature must be between 0 and 2, not 7.5"
        );
        let e = parse("default_model = \"gpt\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:1: default_model `gpt` must be PROVIDER/MODEL"
        );
        let e = parse("[[providers]]\nname = \"x\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:2: provider `x` needs a base_url"
        );
        let e = parse("[[providers]]\nname = \"x\"\nbase_url = \"ftp://h\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn kind_is_read_by_serde_and_local_or_a_number_is_refused_at_its_line() {
        let c =
            parse("[[providers]]\nname = \"x\"\nkind = \"anthropic\"\nbase_url = \"http://x\"\n")
                .unwrap();
        assert_eq!(c.provider("x").unwrap().kind, ProviderKind::Anthropic);
        let e = parse("[[providers]]\nname = \"x\"\nbase_url = \"http://x\"\nkind = \"local\"\n")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:4: unknown kind `local` (expected one of: openai, anthropic, gemini, ollama, cohere)"
        );
        let e = parse("[[providers]]\nname = \"x\"\nkind = 3\n").unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn a_theme_with_spaces_around_it_is_still_read() {
        assert_eq!(
            parse("theme = \" light \"\n").unwrap().theme,
            ThemeChoice::Light
        );
    }

    #[test]
    fn theme_defaults_to_auto_and_takes_dark_or_light() {
        assert_eq!(parse("").unwrap().theme, ThemeChoice::Auto);
        assert_eq!(
            parse("theme = \"auto\"\n").unwrap().theme,
            ThemeChoice::Auto
        );
        assert_eq!(
            parse("theme = \"dark\"\n").unwrap().theme,
            ThemeChoice::Dark
        );
        assert_eq!(
            parse("theme = \"light\"\n").unwrap().theme,
            ThemeChoice::Light
        );
    }

    #[test]
    fn unknown_theme_is_reported_with_its_line() {
        let e = parse("temperature = 0.5\ntheme = \"solarized\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:2: unknown theme `solarized` (expected one of: dark, light, auto)"
        );
        let e = parse("theme = 3\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn duplicate_provider_is_an_error() {
        let e = parse("[[providers]]\nname = \"a\"\nbase_url = \"http://x\"\n[[providers]]\nname = \"a\"\nbase_url = \"http://y\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config.toml:5: provider `a` is defined twice"
        );
    }

    #[test]
    fn example_config_parses() {
        let c = parse(EXAMPLE_CONFIG).unwrap();
        assert_eq!(c.provider("llamacpp").unwrap().kind, ProviderKind::OpenAi);
        // The example's server does not replace the in-process provider.
        assert_eq!(c.local_provider().is_some(), cfg!(feature = "local"));
        // Its commented [local] table is valid once uncommented.
        let uncommented: String = EXAMPLE_CONFIG
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with("[local]")
                        || l.contains("# model")
                        || l.contains("# threads")
                        || l.contains("# context") =>
                {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = parse(&uncommented).unwrap();
        assert_eq!(c.local.threads, Some(1));
        assert_eq!(c.local.context, Some(8192));
    }

    #[test]
    fn split_model_splits_at_the_first_slash() {
        assert_eq!(
            split_model("openrouter/openai/gpt-4o"),
            Some(("openrouter", "openai/gpt-4o"))
        );
        assert_eq!(split_model("nope"), None);
        assert_eq!(split_model("/x"), None);
    }
}
