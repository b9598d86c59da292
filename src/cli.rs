//! The command line (spec §2): flags, subcommands, and the commands that run without
//! the UI (`models`, `list`, `export`, `ask`).
//!
//! clap parses and reports bad usage (exit 2). The subcommands reuse `provider` and
//! `storage` directly and print to stdout/stderr; they never touch the terminal modes.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use futures_util::StreamExt;

use crate::config::{Config, split_model};
use crate::conversation::{Conversation, Finish};
use crate::model_ref::{self, ModelError};
use crate::provider::{self, ChatRequest, StreamEvent};
use crate::storage::ConversationStore;
use crate::storage::export::{ExportFormat, export_to_file, render};
use crate::view::wrap::{sanitize, sanitize_for_print};

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
        /// Also print the model's thinking, to stderr as it streams (dim on a
        /// terminal); stdout stays the answer alone.
        #[arg(long)]
        thinking: bool,
    },
}

/// What `models` says when nothing can be asked.
const NONE_ENABLED: &str = "no provider is enabled: set OPENAI_API_KEY (or another provider's key), add [[providers]] to the config, start Ollama, or put a GGUF model in [local] (run `tinychat` and press Enter to download one)";

/// `tinychat models`: every enabled provider's models; problems on stderr.
pub async fn models(config: &Config) -> ExitCode {
    let client = match provider::http_client() {
        Ok(c) => c,
        Err(e) => {
            crate::say!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let enabled: Vec<_> = config
        .providers
        .iter()
        .filter(|p| p.disabled.is_none())
        .collect();
    if enabled.is_empty() {
        crate::say!("{NONE_ENABLED}");
        return ExitCode::FAILURE;
    }
    let lookups = enabled.iter().map(|&p| {
        let client = &client;
        async move { (p, provider::discover_models(client, p).await) }
    });
    let results = futures_util::future::join_all(lookups).await;
    let mut printed = 0usize;
    let mut stdout = stdout();
    for (p, (listing, error)) in results {
        let models = listing.models;
        for note in provider::discovery_notes(p) {
            crate::say!("{}: {note}", p.name);
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
                crate::say!("{}: cannot list models: {e}", p.name);
            } else {
                crate::say!(
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
        crate::say!("{NONE_ENABLED}");
        return ExitCode::FAILURE;
    }
    for p in config.providers.iter().filter(|p| p.disabled.is_some()) {
        crate::say!(
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

/// `tinychat ask`: streams one reply to stdout, and with `thinking` the model's thinking
/// to stderr. Exit 0 on stop or length, 1 otherwise.
pub async fn ask(config: &Config, model: Option<&str>, prompt: &str, thinking: bool) -> ExitCode {
    let prompt = if prompt == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            crate::say!("cannot read the prompt from stdin: {e}");
            return ExitCode::FAILURE;
        }
        text
    } else {
        prompt.to_owned()
    };
    if prompt.trim().is_empty() {
        crate::say!("the prompt is empty");
        return ExitCode::from(2);
    }
    let client = match provider::http_client() {
        Ok(c) => c,
        Err(e) => {
            crate::say!("{e}");
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
                crate::say!(
                    "no model: pass --model PROVIDER/MODEL or set default_model in the config (see `tinychat models`)"
                );
                return ExitCode::FAILURE;
            }
        }
    };
    let (spec, model_id) = match resolve_provider(config, &full) {
        Ok(found) => found,
        Err(e) => {
            crate::say!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut conversation = Conversation::new(config.system_prompt.clone());
    conversation.push_user(prompt);
    let mut request = ChatRequest::from_conversation(&conversation, model_id);
    request.temperature = config.temperature;
    request.max_tokens = config.max_tokens;
    request.idle_timeout = config.stream_timeout;
    let settings = spec.settings.for_model(model_id);
    request.reasoning_effort = settings.reasoning_effort;
    request.thinking_budget = settings.thinking_budget;

    let stream = provider::stream_chat(&client, spec, request);
    let thoughts = thinking.then(ThinkingOut::default);
    print_reply(stream, spec_name(&full), thoughts).await
}

/// Starts dim text on a terminal (SGR 2).
const DIM: &str = "\x1b[2m";
/// Ends it (SGR 0).
const UNDIM: &str = "\x1b[0m";

/// `ask --thinking`: the model's thinking on stderr as it streams. On a terminal it is
/// sanitized like all output, drawn dim, and each run of thinking is ended with a
/// newline and a blank line, so the answer (on stdout, the same screen) starts on a
/// line of its own. To a file or a pipe the thinking's bytes pass exactly as sent,
/// with nothing added.
#[derive(Default)]
struct ThinkingOut {
    /// Open while a run of thinking is being printed.
    err: Option<Printer<io::StderrLock<'static>>>,
    ended_with_newline: bool,
}

impl ThinkingOut {
    fn write(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if self.err.is_none() {
            let mut err = stderr();
            err.write_style(DIM)?;
            self.err = Some(err);
        }
        let Some(err) = &mut self.err else {
            return Ok(());
        };
        self.ended_with_newline = text.ends_with('\n');
        err.write_all(text.as_bytes())?;
        err.flush()
    }

    /// Ends the current run of thinking, if one is open: before any answer text and
    /// before anything else is said on stderr.
    fn end(&mut self) {
        let Some(mut err) = self.err.take() else {
            return;
        };
        if err.is_terminal() {
            let newline = if self.ended_with_newline {
                "\n"
            } else {
                "\n\n"
            };
            let _ = err
                .write_style(UNDIM)
                .and_then(|()| err.write_all(newline.as_bytes()));
        }
        let _ = err.flush();
    }
}

/// Prints a reply stream to stdout as it arrives; retries, notes and the reason of a
/// failure go to stderr, and so does the thinking when `thoughts` is given (else it is
/// not printed). The exit status follows spec §2.
async fn print_reply(
    mut stream: provider::ReplyStream,
    provider_name: &str,
    mut thoughts: Option<ThinkingOut>,
) -> ExitCode {
    // On a terminal, escape sequences from the model are shown, not obeyed.
    let mut out = stdout();
    let to_terminal = out.is_terminal();
    let mut ended_with_newline = true;
    while let Some(event) = stream.next().await {
        if !matches!(event, StreamEvent::Reasoning(_) | StreamEvent::Usage(_))
            && let Some(thoughts) = &mut thoughts
        {
            thoughts.end();
        }
        match event {
            StreamEvent::Delta(text) => {
                if !text.is_empty() {
                    ended_with_newline = text.ends_with('\n');
                }
                if out
                    .write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return ExitCode::FAILURE;
                }
            }
            StreamEvent::Reasoning(text) => {
                if let Some(thoughts) = &mut thoughts
                    && thoughts.write(&text).is_err()
                {
                    return ExitCode::FAILURE;
                }
            }
            StreamEvent::Usage(_) => {}
            StreamEvent::Notice(text) | StreamEvent::Preparing(text) => {
                crate::say!("{provider_name}: {text}");
            }
            StreamEvent::Retrying {
                reason,
                delay,
                attempt,
                of,
            } => {
                crate::say!(
                    "{provider_name}: {reason}, retrying in {:.1} s ({attempt} of {of})",
                    delay.as_secs_f64()
                );
            }
            StreamEvent::Finished(finish) => {
                if to_terminal && !ended_with_newline {
                    let _ = writeln!(out);
                }
                drop(out);
                if finish == Finish::Length {
                    crate::say!("(the reply was cut off at the token limit)");
                }
                return ExitCode::SUCCESS;
            }
            StreamEvent::Failed(error) => {
                // Only a terminal needs the line ended before the reason on stderr; a
                // pipe or file keeps exactly the partial text the provider sent.
                if to_terminal && !ended_with_newline {
                    let _ = writeln!(out);
                }
                // The held end of the reply comes before the reason.
                drop(out);
                crate::say!("{error}");
                return ExitCode::FAILURE;
            }
        }
    }
    crate::say!("{provider_name}: the reply ended without an outcome");
    ExitCode::FAILURE
}

fn spec_name(full: &str) -> &str {
    split_model(full).map_or(full, |(p, _)| p)
}

/// The provider of `provider/model`, if it exists and is enabled; the error says what
/// to do on the command line.
pub fn resolve_provider<'c, 'm>(
    config: &'c Config,
    full: &'m str,
) -> Result<(&'c provider::ProviderSpec, &'m str), String> {
    model_ref::resolve(config, full).map_err(|e| model_error_text(&e))
}

/// A model error as the command line words it: what to run or which providers exist.
pub fn model_error_text(e: &ModelError) -> String {
    match e {
        ModelError::NotProviderModel { .. } => format!("{e} (see `tinychat models`)"),
        ModelError::UnknownProvider { known, .. } => {
            format!("{e} (known: {})", known.join(", "))
        }
        ModelError::Disabled { .. } => e.to_string(),
    }
}

/// The first model of the first enabled provider, for `ask` without a model.
async fn first_model(config: &Config, client: &reqwest::Client) -> Option<String> {
    for p in config.providers.iter().filter(|p| p.disabled.is_none()) {
        let (listing, _) = provider::discover_models(client, p).await;
        if let Some(m) = listing.models.first() {
            return Some(format!("{}/{m}", p.name));
        }
    }
    None
}

/// `tinychat list`.
pub fn list(store: &ConversationStore) -> ExitCode {
    let mut out = stdout();
    for entry in store.list() {
        // Free-text fields lose their tabs and line breaks even in a pipe, so that every
        // conversation stays one line of four columns; the id is printed as it is named.
        let line = match &entry.problem {
            Some(problem) => format!("{}\t-\t-\t({})", entry.id, sanitize(problem)),
            None => format!(
                "{}\t{}\t{}\t{}",
                entry.id,
                entry.updated_at,
                sanitize(entry.model.as_deref().unwrap_or("-")),
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
pub fn export(
    store: &ConversationStore,
    id_or_file: &str,
    format: Option<&str>,
    output: Option<&std::path::Path>,
) -> ExitCode {
    let conversation = match store.load(id_or_file) {
        Ok(c) => c,
        Err(e) => {
            crate::say!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let format = format.and_then(ExportFormat::parse);
    match output {
        Some(path) => match export_to_file(&conversation, path, format) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                crate::say!("{e}");
                ExitCode::FAILURE
            }
        },
        None => match render(&conversation, format.unwrap_or(ExportFormat::Markdown)) {
            Ok(text) => {
                let mut out = stdout();
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
                crate::say!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Why the chat UI cannot run here, if it cannot: it draws on stdout, so stdout must be
/// a terminal (the UI's escape codes must never land in a file or a pipe), and it reads
/// keys from stdin or, when stdin is redirected, from the process's terminal, as
/// crossterm does. Checked before the terminal is touched, so a script, a cron job or
/// `tinychat < /dev/null` gets one line that points to `tinychat ask` (spec §2).
pub fn ui_needs_terminal() -> Option<String> {
    let problem = if !io::stdout().is_terminal() {
        "its output is not a terminal"
    } else if !(io::stdin().is_terminal() || controlling_terminal()) {
        "there is no terminal to read keys from"
    } else {
        return None;
    };
    Some(format!(
        "tinychat: the chat UI needs a terminal, and {problem}; for one reply without the UI use `tinychat ask PROMPT` (`tinychat ask -` reads the prompt from stdin)"
    ))
}

/// Whether the process has a terminal of its own (`/dev/tty` opens), the one crossterm
/// reads keys from when stdin is not a terminal (elsewhere crossterm opens the console
/// itself, so the answer is left to it).
fn controlling_terminal() -> bool {
    #[cfg(unix)]
    {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok()
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Prints one line to stderr through [`Printer`]: every message the command line
/// writes there (provider errors quote servers, load errors quote files) goes this way.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!($crate::cli::stderr(), $($arg)*);
    }};
}

/// Standard output, sanitized when it is a terminal ([`Printer`]).
pub fn stdout() -> Printer<io::StdoutLock<'static>> {
    let out = io::stdout();
    let terminal = out.is_terminal();
    Printer::new(out.lock(), terminal)
}

/// Standard error, sanitized when it is a terminal ([`Printer`]).
pub fn stderr() -> Printer<io::StderrLock<'static>> {
    let err = io::stderr();
    let terminal = err.is_terminal();
    Printer::new(err.lock(), terminal)
}

/// The one way the command line prints. To a terminal, text passes through the UI's
/// sanitizing ([`sanitize_for_print`]): a model, a server or a file can put escape
/// sequences in what is printed (a title change, an OSC 52 clipboard write, a cleared
/// screen), and a terminal would obey them. To a file or a pipe the bytes pass
/// unchanged, so exports and `ask` output stay exactly what was saved or sent.
///
/// Writes may split a character or a `\r\n` anywhere (a reply streams in pieces): the
/// unfinished end is held back until the next write, and shown when the printer is
/// dropped if nothing completes it.
pub struct Printer<W: Write> {
    inner: W,
    terminal: bool,
    /// Bytes held back on a terminal: an incomplete UTF-8 sequence or a final `\r`.
    held: Vec<u8>,
}

impl<W: Write> Printer<W> {
    /// `terminal` says whether `inner` is one (and so needs sanitizing).
    pub fn new(inner: W, terminal: bool) -> Printer<W> {
        Printer {
            inner,
            terminal,
            held: Vec::new(),
        }
    }

    /// Whether this printer writes to a terminal.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Writes `code`, a styling escape sequence of tinychat's own, past the sanitizing
    /// and only to a terminal (a file or a pipe gets the text alone). What is held back
    /// goes out first, so the style starts exactly where the text so far ends.
    pub fn write_style(&mut self, code: &str) -> io::Result<()> {
        if !self.terminal {
            return Ok(());
        }
        self.write_held(true)?;
        self.inner.write_all(code.as_bytes())
    }

    /// Sanitizes and writes `held`, all of it when `finish`, else up to what a later
    /// write could still change.
    fn write_held(&mut self, finish: bool) -> io::Result<()> {
        let mut text = String::new();
        let mut rest = self.held.as_slice();
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // Checked by from_utf8 just now.
                    text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        // The sequence may be completed by the next write.
                        None if !finish => {
                            rest = after;
                            break;
                        }
                        None => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &[];
                            break;
                        }
                    }
                }
            }
        }
        let mut keep = rest.to_vec();
        if !finish && rest.is_empty() && text.ends_with('\r') {
            // A `\r\n` may be split between two writes.
            text.pop();
            keep = b"\r".to_vec();
        }
        self.inner.write_all(sanitize_for_print(&text).as_bytes())?;
        self.held = keep;
        Ok(())
    }
}

impl<W: Write> Write for Printer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.terminal {
            return self.inner.write(buf);
        }
        self.held.extend_from_slice(buf);
        self.write_held(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for Printer<W> {
    fn drop(&mut self) {
        if !self.held.is_empty() {
            let _ = self.write_held(true);
        }
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn printed(terminal: bool, writes: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut printer = Printer::new(&mut out, terminal);
            for w in writes {
                printer.write_all(w).unwrap_or_default();
            }
        }
        out
    }

    #[test]
    fn a_terminal_sees_escape_sequences_as_symbols_and_keeps_tabs_and_line_ends() {
        let hostile: &[&[u8]] = &[
            b"title\x1b]0;pwned\x07 clip\x1b]52;c;aGk=\x07",
            b" clear\x1b[2J\x1b[H\tcol\r",
            b"\nnext \xc2",
            b"\x9b line\n",
        ];
        assert_eq!(
            String::from_utf8(printed(true, hostile)).unwrap_or_default(),
            "title\u{241b}]0;pwned\u{2407} clip\u{241b}]52;c;aGk=\u{2407} clear\u{241b}[2J\u{241b}[H\tcol\r\nnext \u{fffd} line\n"
        );
    }

    #[test]
    fn a_pipe_gets_exactly_the_bytes_written() {
        let bytes: &[&[u8]] = &[b"a\x1b]52;c;aGk=\x07\r", b"\xff\xc2", b"\x9b\n"];
        assert_eq!(printed(false, bytes), bytes.concat());
    }

    #[test]
    fn what_no_later_write_completes_is_shown_at_the_end() {
        assert_eq!(
            String::from_utf8(printed(true, &[b"cut \xe2\x82", b"and \r"])).unwrap_or_default(),
            "cut \u{fffd}and \u{240d}"
        );
    }
}
