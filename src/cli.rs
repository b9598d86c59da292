//! The command line (spec §2): flags, subcommands, and the commands that run without
//! the UI (`models`, `list`, `export`, `ask`).
//!
//! clap parses and reports bad usage (exit 2). The subcommands reuse `provider` and
//! `storage` directly and print to stdout/stderr; they never touch the terminal modes.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use futures_util::StreamExt;

use crate::config::{Config, split_model};
use crate::conversation::{Conversation, Finish};
use crate::provider::{self, ChatRequest, StreamEvent};
use crate::storage::ConversationStore;
use crate::storage::export::{ExportFormat, export_to_file, render};
use crate::view::wrap::sanitize;

/// A fast full-screen terminal chat client for large language models.
///
/// Without a subcommand, opens the chat UI on a new conversation. Providers are enabled
/// by their API key variables (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY,
/// MISTRAL_API_KEY, COHERE_API_KEY, GROQ_API_KEY, OPENROUTER_API_KEY, TOGETHER_API_KEY),
/// by a running Ollama, or by `[[providers]]` in the config file.
#[derive(Debug, Parser)]
#[command(name = "tinychat", version, about, long_about)]
pub struct Cli {
    /// Start with this model selected, as PROVIDER/MODEL.
    #[arg(long, value_name = "PROVIDER/MODEL", global = true)]
    pub model: Option<String>,

    /// Reopen a saved conversation: an id (see `tinychat list`) or a .json file.
    #[arg(long, value_name = "ID_OR_FILE")]
    pub open: Option<String>,

    /// Use this config file instead of <config dir>/tinychat/config.toml.
    #[arg(long, value_name = "PATH", env = "TINYCHAT_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every provider's models, one PROVIDER/MODEL a line.
    Models,
    /// Print saved conversations: id, updated time, model, title.
    List,
    /// Write a saved conversation to stdout or a file.
    Export {
        /// A conversation id or a .json file.
        id_or_file: String,
        /// Output format (default: from the -o extension, else md).
        #[arg(long, value_parser = ["md", "txt", "json"])]
        format: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "PATH")]
        output: Option<PathBuf>,
    },
    /// Stream one reply to stdout, without the UI.
    Ask {
        /// The prompt; `-` reads it from stdin.
        prompt: String,
    },
}

/// What `models` says when nothing can be asked.
const NONE_ENABLED: &str = "no provider is enabled: set OPENAI_API_KEY (or another provider's key), add [[providers]] to the config, start Ollama, or put a GGUF model in [local] (run `tinychat` and press Enter to download one)";

/// `tinychat models`: every enabled provider's models; problems on stderr.
#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "CLI output, no UI running"
)]
pub async fn models(config: &Config) -> ExitCode {
    let client = match provider::http_client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let enabled: Vec<_> = config
        .providers
        .iter()
        .filter(|p| p.disabled.is_none())
        .collect();
    if enabled.is_empty() {
        eprintln!("{NONE_ENABLED}");
        return ExitCode::FAILURE;
    }
    let lookups = enabled.iter().map(|&p| {
        let client = &client;
        async move { (p, provider::discover_models(client, p).await) }
    });
    let results = futures_util::future::join_all(lookups).await;
    let mut printed = 0usize;
    let mut stdout = std::io::stdout().lock();
    for (p, (models, error)) in results {
        for note in provider::discovery_notes(p) {
            eprintln!("{}: {}", p.name, sanitize(&note));
        }
        // Ollama not running is the normal case on most machines, not an error.
        if p.optional && models.is_empty() {
            continue;
        }
        if let Some(e) = error {
            // The error names its provider already; the line starts with that name once.
            let e = e.to_string();
            let e = e.strip_prefix(&format!("{}: ", p.name)).unwrap_or(&e);
            if models.is_empty() {
                eprintln!("{}: cannot list models: {e}", p.name);
            } else {
                eprintln!(
                    "{}: cannot list models ({e}); showing tinychat's built-in list",
                    p.name
                );
            }
        }
        for m in models {
            if writeln!(stdout, "{}/{m}", p.name).is_err() {
                return ExitCode::FAILURE;
            }
            printed += 1;
        }
    }
    if printed == 0 && enabled.iter().all(|p| p.optional) {
        eprintln!("{NONE_ENABLED}");
        return ExitCode::FAILURE;
    }
    for p in config.providers.iter().filter(|p| p.disabled.is_some()) {
        eprintln!(
            "{}: disabled ({})",
            p.name,
            p.disabled.as_deref().unwrap_or_default()
        );
    }
    if printed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `tinychat ask`: streams one reply to stdout. Exit 0 on stop or length, 1 otherwise.
#[allow(clippy::print_stderr, reason = "CLI output, no UI running")]
pub async fn ask(config: &Config, model: Option<&str>, prompt: &str) -> ExitCode {
    let prompt = if prompt == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("cannot read the prompt from stdin: {e}");
            return ExitCode::FAILURE;
        }
        text
    } else {
        prompt.to_owned()
    };
    if prompt.trim().is_empty() {
        eprintln!("the prompt is empty");
        return ExitCode::from(2);
    }
    let client = match provider::http_client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let full = match model
        .map(str::to_owned)
        .or_else(|| config.default_model.clone())
    {
        Some(m) => m,
        None => {
            if let Some(m) = first_model(config, &client).await {
                m
            } else {
                eprintln!(
                    "no model: pass --model PROVIDER/MODEL or set default_model in the config (see `tinychat models`)"
                );
                return ExitCode::FAILURE;
            }
        }
    };
    let spec = match resolve_provider(config, &full) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut conversation = Conversation::new(config.system_prompt.clone());
    conversation.push_user(prompt);
    let model_id = split_model(&full).map_or("", |(_, m)| m);
    let mut request = ChatRequest::from_conversation(&conversation, model_id);
    request.temperature = config.temperature;
    request.max_tokens = config.max_tokens;
    request.idle_timeout = config.stream_timeout;

    let stream = provider::stream_chat(&client, spec, request);
    print_reply(stream, spec_name(&full)).await
}

/// Prints a reply stream to stdout as it arrives; retries, notes and the reason of a
/// failure go to stderr. The exit status follows spec §2.
#[allow(clippy::print_stderr, reason = "CLI output, no UI running")]
async fn print_reply(mut stream: provider::ReplyStream, provider_name: &str) -> ExitCode {
    let stdout = std::io::stdout();
    let to_terminal = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut ended_with_newline = true;
    while let Some(event) = stream.next().await {
        match event {
            StreamEvent::Delta(text) => {
                // On a terminal, escape sequences from the model are shown, not obeyed.
                let shown = if to_terminal {
                    sanitize(&text)
                } else {
                    text.as_str().into()
                };
                if !shown.is_empty() {
                    ended_with_newline = shown.ends_with('\n');
                }
                if out
                    .write_all(shown.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return ExitCode::FAILURE;
                }
            }
            StreamEvent::Usage(_) => {}
            StreamEvent::Notice(text) | StreamEvent::Preparing(text) => {
                eprintln!("{provider_name}: {}", sanitize(&text));
            }
            StreamEvent::Retrying {
                reason,
                delay,
                attempt,
                of,
            } => {
                eprintln!(
                    "{provider_name}: {reason}, retrying in {:.1} s ({attempt} of {of})",
                    delay.as_secs_f64()
                );
            }
            StreamEvent::Finished(finish) => {
                if to_terminal && !ended_with_newline {
                    let _ = writeln!(out);
                }
                if finish == Finish::Length {
                    eprintln!("(the reply was cut off at the token limit)");
                }
                return ExitCode::SUCCESS;
            }
            StreamEvent::Failed(error) => {
                // Only a terminal needs the line ended before the reason on stderr; a
                // pipe or file keeps exactly the partial text the provider sent.
                if to_terminal && !ended_with_newline {
                    let _ = writeln!(out);
                }
                let _ = out.flush();
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("{provider_name}: the reply ended without an outcome");
    ExitCode::FAILURE
}

fn spec_name(full: &str) -> &str {
    split_model(full).map_or(full, |(p, _)| p)
}

/// The provider of `provider/model`, if it exists and is enabled.
pub fn resolve_provider<'c>(
    config: &'c Config,
    full: &str,
) -> Result<&'c provider::ProviderSpec, String> {
    let Some((name, _)) = split_model(full) else {
        return Err(format!(
            "`{full}` is not PROVIDER/MODEL (see `tinychat models`)"
        ));
    };
    match config.provider(name) {
        None => Err(format!(
            "unknown provider `{name}` (known: {})",
            config
                .providers
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(p) => match &p.disabled {
            Some(why) => Err(format!("provider `{name}` is disabled: {why}")),
            None => Ok(p),
        },
    }
}

/// The first model of the first enabled provider, for `ask` without a model.
async fn first_model(config: &Config, client: &reqwest::Client) -> Option<String> {
    for p in config.providers.iter().filter(|p| p.disabled.is_none()) {
        let (models, _) = provider::discover_models(client, p).await;
        if let Some(m) = models.first() {
            return Some(format!("{}/{m}", p.name));
        }
    }
    None
}

/// `tinychat list`.
#[allow(clippy::print_stderr, reason = "CLI output, no UI running")]
pub fn list(store: &ConversationStore) -> ExitCode {
    let mut out = std::io::stdout().lock();
    for entry in store.list() {
        let line = match &entry.problem {
            Some(problem) => format!("{}\t-\t-\t({problem})", entry.id),
            None => format!(
                "{}\t{}\t{}\t{}",
                entry.id,
                entry.updated_at,
                entry.model.as_deref().unwrap_or("-"),
                sanitize(&entry.title)
            ),
        };
        if writeln!(out, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// `tinychat export`.
#[allow(clippy::print_stderr, reason = "CLI output, no UI running")]
pub fn export(
    store: &ConversationStore,
    id_or_file: &str,
    format: Option<&str>,
    output: Option<&std::path::Path>,
) -> ExitCode {
    let conversation = match store.load(id_or_file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let format = format.and_then(ExportFormat::parse);
    match output {
        Some(path) => match export_to_file(&conversation, path, format) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        None => match render(&conversation, format.unwrap_or(ExportFormat::Markdown)) {
            Ok(text) => {
                let mut out = std::io::stdout().lock();
                if out
                    .write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return ExitCode::FAILURE;
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}
