//! The binary without a terminal (spec §2): `--help`, bad usage, bad config, and the
//! `ask`, `models`, `list` and `export` subcommands against the mock server and a
//! temporary data folder.
//!
//! Every run clears the child's environment (no real key, config or data folder of the
//! machine is seen) and points HOME and the XDG folders at a temporary folder.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{End, MockResponse, MockServer, openai_delta, openai_finish};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const CHAT: &str = "/v1/chat/completions";
const MODELS: &str = "/v1/models";

/// The built-in providers, disabled without their keys, as `models` reports them.
const DISABLED_BUILT_INS: &str = "openai: disabled (set OPENAI_API_KEY)\n\
mistral: disabled (set MISTRAL_API_KEY)\n\
together: disabled (set TOGETHER_API_KEY)\n\
groq: disabled (set GROQ_API_KEY)\n\
openrouter: disabled (set OPENROUTER_API_KEY)\n\
anthropic: disabled (set ANTHROPIC_API_KEY)\n\
gemini: disabled (set GEMINI_API_KEY or GOOGLE_API_KEY)\n\
cohere: disabled (set COHERE_API_KEY or CO_API_KEY)\n";

/// A temporary HOME with XDG folders, a working folder and a config path.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "config", "data", "state", "work"] {
            std::fs::create_dir_all(root.path().join(sub)).expect("sandbox folder");
        }
        Sandbox { root }
    }

    /// A sandbox whose config has the provider `mock` with the model `m1`.
    fn with_mock(server: &MockServer) -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.write_config(&mock_provider("mock", server, true));
        sandbox
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.root.path().join(sub)
    }

    fn config_path(&self) -> PathBuf {
        self.path("config.toml")
    }

    fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).expect("write config");
    }

    fn conversations_dir(&self) -> PathBuf {
        self.path("data").join("tinychat").join("conversations")
    }

    /// A command for the binary with a clean environment; no `--config` added.
    fn bare_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tinychat"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_STATE_HOME", self.path("state"))
            // A closed port: an Ollama running on this machine must not change results.
            .env("OLLAMA_HOST", "127.0.0.1:9")
            .current_dir(self.path("work"))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `tinychat --config <sandbox config> ARGS`.
    fn run(&self, args: &[&str]) -> Run {
        let config = self.config_path();
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        Run::of(self.bare_command(&all))
    }

    /// Runs with `stdin` piped in.
    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let config = self.config_path();
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut cmd = self.bare_command(&all);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn tinychat");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        Run::from_output(child.wait_with_output().expect("wait for tinychat"))
    }
}

/// A `[[providers]]` table for an OpenAI-compatible mock; `models = ["m1"]` when
/// `listed`, else the models are discovered from the server.
fn mock_provider(name: &str, server: &MockServer, listed: bool) -> String {
    let models = if listed { "models = [\"m1\"]\n" } else { "" };
    format!(
        "[[providers]]\nname = \"{name}\"\nkind = \"openai\"\nbase_url = \"{}\"\n{models}",
        server.url("/v1")
    )
}

/// What a run printed and how it ended.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(mut cmd: Command) -> Run {
        Run::from_output(cmd.output().expect("run tinychat"))
    }

    fn from_output(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// The exit code, with the output in the message when it is not `expected`.
    fn assert_code(&self, expected: i32) -> &Run {
        assert_eq!(self.code, Some(expected), "{self:#?}");
        self
    }

    /// stderr is exactly one line, ending in a newline; returns it without the newline.
    fn one_stderr_line(&self) -> &str {
        let line = self
            .stderr
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("stderr does not end a line: {self:#?}"));
        assert!(
            !line.contains('\n'),
            "stderr has more than one line: {self:#?}"
        );
        line
    }
}

/// `pieces` one chunk each, then `end` (e.g. the finish chunk and `[DONE]`, or nothing).
fn reply(pieces: &[&str], end: &str) -> MockResponse {
    let mut chunks: Vec<String> = pieces.iter().map(|p| openai_delta(p)).collect();
    if !end.is_empty() {
        chunks.push(end.to_owned());
    }
    let chunks: Vec<&[u8]> = chunks.iter().map(String::as_bytes).collect();
    MockResponse::sse("")
        .with_chunks(&chunks)
        .with_pause(Duration::from_millis(5))
}

// ---------------------------------------------------------------------------------------
// --help and bad usage
// ---------------------------------------------------------------------------------------

#[test]
fn help_documents_every_subcommand_and_flag() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--help"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    let commands: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(commands, ["models", "list", "export", "ask", "help"]);
    for flag in [
        "--model <PROVIDER/MODEL>",
        "--open <ID_OR_FILE>",
        "--config <PATH>",
    ] {
        assert!(
            run.stdout.contains(flag),
            "--help does not mention {flag}:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("[env: TINYCHAT_CONFIG"));

    let export = sandbox.run(&["export", "--help"]);
    export.assert_code(0);
    for flag in ["<ID_OR_FILE>", "--format <FORMAT>", "-o, --output <PATH>"] {
        assert!(export.stdout.contains(flag), "{}", export.stdout);
    }

    let ask = sandbox.run(&["ask", "--help"]);
    ask.assert_code(0);
    assert!(ask.stdout.contains("--thinking"), "{}", ask.stdout);
}

#[test]
fn an_unknown_flag_is_bad_usage_with_status_2() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--nope"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("error: unexpected argument '--nope' found\n"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("Usage: tinychat"), "{run:#?}");
}

#[test]
fn export_without_an_id_is_bad_usage_with_status_2() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["export"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with(
            "error: the following required arguments were not provided:\n  <ID_OR_FILE>\n"
        ),
        "{run:#?}"
    );
}

#[test]
fn an_unknown_export_format_is_bad_usage_with_status_2() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["export", "x", "--format", "html"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error: invalid value 'html' for '--format <FORMAT>'"),
        "{run:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Bad config
// ---------------------------------------------------------------------------------------

#[test]
fn a_toml_syntax_error_names_the_file_and_line_in_one_line_and_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write_config("temperature = 0.5\nmax_tokens = 100\nsystem_prompt = = \"x\"\n");
    let prefix = format!("{}:3: ", sandbox.config_path().display());
    // The config is checked before the UI starts and before any subcommand runs.
    for args in [&[][..], &["models"], &["list"], &["ask", "hi"]] {
        let run = sandbox.run(args);
        run.assert_code(1);
        assert_eq!(run.stdout, "");
        let line = run.one_stderr_line();
        let problem = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"));
        assert!(!problem.trim().is_empty(), "no problem given: {line:?}");
        assert!(!line.contains("panicked"), "{line}");
    }
}

#[test]
fn an_unknown_config_key_names_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    sandbox.write_config("temperature = 0.5\ncolour = \"red\"\n");
    let run = sandbox.run(&["models"]);
    run.assert_code(1);
    let line = run.one_stderr_line();
    let prefix = format!(
        "{}:2: unknown field `colour`",
        sandbox.config_path().display()
    );
    assert!(line.starts_with(&prefix), "{line:?} vs {prefix:?}");
}

#[test]
fn an_unknown_key_in_a_provider_table_is_reported_on_its_line() {
    let sandbox = Sandbox::new();
    sandbox.write_config(
        "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = [\"x\"]\n",
    );
    let run = sandbox.run(&["models"]);
    run.assert_code(1);
    let line = run.one_stderr_line();
    let prefix = format!(
        "{}:4: unknown field `model`",
        sandbox.config_path().display()
    );
    assert!(line.starts_with(&prefix), "{line:?} vs {prefix:?}");
}

#[test]
fn a_missing_config_file_given_with_config_is_an_error() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["models"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.one_stderr_line(),
        format!(
            "{}: cannot read the config file: No such file or directory (os error 2)",
            sandbox.config_path().display()
        )
    );
}

#[test]
fn a_missing_default_config_file_is_fine() {
    let sandbox = Sandbox::new();
    let run = Run::of(sandbox.bare_command(&["list"]));
    run.assert_code(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
}

#[test]
fn the_config_in_the_xdg_config_folder_is_read_by_default() {
    let server = MockServer::start_in_background(Vec::new());
    let sandbox = Sandbox::new();
    let dir = sandbox.path("config").join("tinychat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        mock_provider("mock", &server, true),
    )
    .unwrap();
    let run = Run::of(sandbox.bare_command(&["models"]));
    run.assert_code(0);
    assert_eq!(run.stdout, "mock/m1\n");
}

#[test]
fn tinychat_config_in_the_environment_works_like_the_config_flag() {
    let server = MockServer::start_in_background(Vec::new());
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.path("elsewhere.toml");
    std::fs::write(&elsewhere, mock_provider("mock", &server, true)).unwrap();

    let mut cmd = sandbox.bare_command(&["models"]);
    cmd.env("TINYCHAT_CONFIG", &elsewhere);
    let run = Run::of(cmd);
    run.assert_code(0);
    assert_eq!(run.stdout, "mock/m1\n");

    std::fs::write(&elsewhere, "temperature = 9\n").unwrap();
    let mut cmd = sandbox.bare_command(&["models"]);
    cmd.env("TINYCHAT_CONFIG", &elsewhere);
    let run = Run::of(cmd);
    run.assert_code(1);
    assert_eq!(
        run.one_stderr_line(),
        format!(
            "{}:1: temperature must be between 0 and 2, not 9",
            elsewhere.display()
        )
    );

    let missing = sandbox.path("missing.toml");
    let mut cmd = sandbox.bare_command(&["models"]);
    cmd.env("TINYCHAT_CONFIG", &missing);
    let run = Run::of(cmd);
    run.assert_code(1);
    assert_eq!(
        run.one_stderr_line(),
        format!(
            "{}: cannot read the config file: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

// ---------------------------------------------------------------------------------------
// ask
// ---------------------------------------------------------------------------------------

#[test]
fn ask_prints_exactly_the_reply_and_exits_0() {
    let server = MockServer::start_in_background(vec![(
        CHAT,
        reply(&["Hello", " from", " the mock."], &openai_finish("stop")),
    )]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "mock/m1", "hi there"]);
    run.assert_code(0);
    // Not a terminal: no newline is added to what the model sent.
    assert_eq!(run.stdout, "Hello from the mock.");
    assert_eq!(run.stderr, "");
    let requests = server.json_bodies(CHAT);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["model"], "m1");
    assert_eq!(requests[0]["stream"], true);
    assert_eq!(
        requests[0]["messages"],
        json!([{"role": "user", "content": "hi there"}])
    );
}

/// A reply that thinks in `reasoning_content` first (a DeepSeek-style server).
fn thinking_reply() -> MockResponse {
    let think = |text: &str| {
        format!(
            "data: {}\n\n",
            json!({"choices":[{"index":0,"delta":{"reasoning_content":text}}]})
        )
    };
    let chunks = [
        think("Two plus two"),
        think(" is four.\n"),
        openai_delta("4"),
        openai_finish("stop"),
    ];
    let chunks: Vec<&[u8]> = chunks.iter().map(String::as_bytes).collect();
    MockResponse::sse("")
        .with_chunks(&chunks)
        .with_pause(Duration::from_millis(5))
}

#[test]
fn ask_with_thinking_prints_the_thinking_exactly_on_stderr_and_only_the_answer_on_stdout() {
    let server = MockServer::start_in_background(vec![(CHAT, thinking_reply())]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--thinking", "--model", "mock/m1", "2+2?"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "4");
    // Not a terminal: the thinking's bytes as sent, no style and nothing added.
    assert_eq!(run.stderr, "Two plus two is four.\n");
}

#[test]
fn ask_without_thinking_prints_no_thinking_at_all() {
    let server = MockServer::start_in_background(vec![(CHAT, thinking_reply())]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "mock/m1", "2+2?"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "4");
    assert_eq!(run.stderr, "");
}

#[test]
fn ask_passes_control_characters_through_when_stdout_is_not_a_terminal() {
    let server = MockServer::start_in_background(vec![(
        CHAT,
        reply(&["red: \u{1b}[31mX\u{1b}[0m\n"], &openai_finish("stop")),
    )]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "mock/m1", "colour"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "red: \u{1b}[31mX\u{1b}[0m\n");
}

#[test]
fn ask_with_a_dash_reads_the_prompt_from_stdin() {
    let server =
        MockServer::start_in_background(vec![(CHAT, reply(&["Got it."], &openai_finish("stop")))]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run_with_stdin(&["ask", "--model", "mock/m1", "-"], "line one\nline two");
    run.assert_code(0);
    assert_eq!(run.stdout, "Got it.");
    assert_eq!(
        server.json_bodies(CHAT)[0]["messages"],
        json!([{"role": "user", "content": "line one\nline two"}])
    );
}

#[test]
fn ask_uses_the_configured_default_model() {
    let server =
        MockServer::start_in_background(vec![(CHAT, reply(&["ok"], &openai_finish("stop")))]);
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "default_model = \"mock/m1\"\nsystem_prompt = \"Be brief.\"\ntemperature = 0.25\nmax_tokens = 64\n{}",
        mock_provider("mock", &server, true)
    ));
    let run = sandbox.run(&["ask", "hi"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "ok");
    let request = &server.json_bodies(CHAT)[0];
    assert_eq!(request["model"], "m1");
    assert_eq!(request["temperature"], 0.25);
    assert_eq!(request["max_tokens"], 64);
    assert_eq!(
        request["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"}
        ])
    );
}

#[test]
fn ask_cut_off_at_the_token_limit_exits_0_and_says_so_on_stderr() {
    let server = MockServer::start_in_background(vec![(
        CHAT,
        reply(&["A long", " answ"], &openai_finish("length")),
    )]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "mock/m1", "hi"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "A long answ");
    assert_eq!(run.stderr, "(the reply was cut off at the token limit)\n");
}

#[test]
fn ask_with_a_body_cut_before_done_keeps_the_partial_text_and_exits_1() {
    let server = MockServer::start_in_background(vec![(CHAT, reply(&["Half", " an answer"], ""))]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "mock/m1", "hi"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "Half an answer");
    assert_eq!(
        run.stderr,
        "mock: the connection ended before the reply was complete\n"
    );
}

#[test]
fn ask_with_a_broken_connection_keeps_the_partial_text_and_exits_1() {
    let server =
        MockServer::start_in_background(vec![(CHAT, reply(&["Half"], "").ending(End::Abort))]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "mock/m1", "hi"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "Half");
    let line = run.one_stderr_line();
    assert!(line.starts_with("mock: "), "{line:?}");
}

#[test]
fn ask_with_a_401_prints_the_providers_message_and_exits_1() {
    let server = MockServer::start_in_background(vec![(
        CHAT,
        MockResponse::fixture_error("openai/chat-401.status-401.json"),
    )]);
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "mock/m1", "hi"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    let line = run.one_stderr_line();
    assert!(
        line.starts_with("mock: HTTP 401 invalid_api_key: Incorrect API key provided: sk-fixt****"),
        "{line:?}"
    );
}

#[test]
fn ask_with_an_unknown_provider_is_bad_usage() {
    let server = MockServer::start_in_background(Vec::new());
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "nope/x", "hi"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.one_stderr_line(),
        if cfg!(feature = "local") {
            "unknown provider `nope` (known: openai, mistral, together, groq, openrouter, anthropic, gemini, cohere, ollama, local, mock)"
        } else {
            "unknown provider `nope` (known: openai, mistral, together, groq, openrouter, anthropic, gemini, cohere, ollama, mock)"
        }
    );
    assert!(server.requests().is_empty());
}

#[test]
fn ask_with_a_model_that_is_not_provider_slash_model_is_bad_usage() {
    let server = MockServer::start_in_background(Vec::new());
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["ask", "--model", "m1", "hi"]);
    run.assert_code(2);
    assert_eq!(
        run.one_stderr_line(),
        "`m1` is not PROVIDER/MODEL (see `tinychat models`)"
    );
}

#[test]
fn ask_with_a_disabled_provider_says_which_key_to_set() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_without_config(&["ask", "--model", "openai/gpt-4o", "hi"]);
    run.assert_code(2);
    assert_eq!(
        run.one_stderr_line(),
        "provider `openai` is disabled: set OPENAI_API_KEY"
    );
}

#[test]
fn ask_without_any_model_says_how_to_choose_one_and_exits_1() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_without_config(&["ask", "hi"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.one_stderr_line(),
        "no model: pass --model PROVIDER/MODEL or set default_model in the config (see `tinychat models`)"
    );
}

#[test]
fn ask_with_an_empty_prompt_is_bad_usage() {
    let server = MockServer::start_in_background(Vec::new());
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run_with_stdin(&["ask", "--model", "mock/m1", "-"], "  \n");
    run.assert_code(2);
    assert_eq!(run.one_stderr_line(), "the prompt is empty");
    assert!(server.requests().is_empty());
}

impl Sandbox {
    /// Runs with no config file at all (the default path, which does not exist).
    fn run_without_config(&self, args: &[&str]) -> Run {
        Run::of(self.bare_command(args))
    }
}

// ---------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------

#[test]
fn models_prints_configured_models_and_says_which_providers_are_disabled() {
    let server = MockServer::start_in_background(Vec::new());
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["models"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "mock/m1\n");
    assert_eq!(run.stderr, DISABLED_BUILT_INS);
    assert!(
        server.requests().is_empty(),
        "listed models need no discovery"
    );
}

#[test]
fn models_prints_discovered_models_sorted() {
    let server = MockServer::start_in_background(vec![(
        MODELS,
        MockResponse::json(200, common::fixture("openai/models.json")),
    )]);
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}{}",
        mock_provider("mock", &server, true),
        mock_provider("found", &server, false)
    ));
    let run = sandbox.run(&["models"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "mock/m1\n\
         found/ft:gpt-4o-mini-2024-07-18:acme::FIXTURE1\n\
         found/gpt-4o\n\
         found/gpt-4o-mini\n\
         found/text-embedding-3-small\n"
    );
    assert_eq!(run.stderr, DISABLED_BUILT_INS);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", MODELS)
    );
}

/// A loopback URL where nothing listens (the port was bound, then released).
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1")
}

#[test]
fn models_with_an_unreachable_provider_says_why_on_stderr_and_still_lists_the_others() {
    let server = MockServer::start_in_background(Vec::new());
    let sandbox = Sandbox::new();
    let dead = dead_url();
    sandbox.write_config(&format!(
        "{}[[providers]]\nname = \"down\"\nbase_url = \"{dead}\"\n",
        mock_provider("mock", &server, true),
    ));
    let run = sandbox.run(&["models"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "mock/m1\n");
    let mut lines = run.stderr.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "down: cannot list models: cannot connect to {dead}: connection refused (is the server running?)"
        )
    );
    assert_eq!(
        format!("{}\n", lines.collect::<Vec<_>>().join("\n")),
        DISABLED_BUILT_INS
    );
}

#[test]
fn models_exits_1_when_no_provider_can_list_anything() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[[providers]]\nname = \"down\"\nbase_url = \"{}\"\n",
        dead_url()
    ));
    let run = sandbox.run(&["models"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with("down: cannot list models: "),
        "{run:#?}"
    );
}

#[test]
fn models_with_no_provider_at_all_says_how_to_add_one() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_without_config(&["models"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.one_stderr_line(),
        "no provider is enabled: set OPENAI_API_KEY (or another provider's key), add [[providers]] to the config, start Ollama, or put a GGUF model in [local] (run `tinychat` and press Enter to download one)"
    );
}

// ---------------------------------------------------------------------------------------
// list and export
// ---------------------------------------------------------------------------------------

const ID: &str = "20261129-140512-3fa2";

/// A conversation file as spec §3 describes it.
fn saved_conversation() -> Value {
    json!({
        "version": 1,
        "id": ID,
        "title": "hello there",
        "created_at": "2026-11-29T14:05:12+01:00",
        "updated_at": "2026-11-29T14:06:40+01:00",
        "system_prompt": null,
        "messages": [
            {"role": "user", "content": "hello there", "created_at": "2026-11-29T14:05:12+01:00"},
            {"role": "assistant", "content": "Hi!\n\nHow can I help?", "model": "openai/gpt-4o-mini",
             "created_at": "2026-11-29T14:05:13+01:00",
             "usage": {"input_tokens": 9, "output_tokens": 7}, "finish": "stop"},
            {"role": "user", "content": "bye", "created_at": "2026-11-29T14:06:39+01:00"},
            {"role": "assistant", "content": "Goo", "model": "mock/m1",
             "created_at": "2026-11-29T14:06:40+01:00", "finish": "cancelled"}
        ]
    })
}

/// Saves the conversation file into the sandbox's data folder; returns its path.
fn save_conversation(sandbox: &Sandbox, value: &Value) -> PathBuf {
    let dir = sandbox.conversations_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.json", value["id"].as_str().unwrap()));
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

const EXPECTED_MD: &str = "# hello there\n\n\
## You\n\nhello there\n\n\
## Assistant (openai/gpt-4o-mini)\n\nHi!\n\nHow can I help?\n\n\
## You\n\nbye\n\n\
## Assistant (mock/m1)\n\nGoo\n\n";

const EXPECTED_TXT: &str =
    "You: hello there\n\nLLM: Hi!\n\nHow can I help?\n\nYou: bye\n\nLLM: Goo\n";

#[test]
fn list_prints_id_updated_time_model_and_title() {
    let sandbox = Sandbox::new();
    save_conversation(&sandbox, &saved_conversation());
    let mut older = saved_conversation();
    older["id"] = json!("20261128-090000-0001");
    older["title"] = json!("older one");
    older["updated_at"] = json!("2026-11-28T09:00:00+01:00");
    older["messages"] = json!([
        {"role": "user", "content": "older one", "created_at": "2026-11-28T09:00:00+01:00"}
    ]);
    save_conversation(&sandbox, &older);
    let run = sandbox.run_without_config(&["list"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        format!(
            "{ID}\t2026-11-29T14:06:40+01:00\tmock/m1\thello there\n\
             20261128-090000-0001\t2026-11-28T09:00:00+01:00\t-\tolder one\n"
        )
    );
}

#[test]
fn list_with_no_saved_conversations_prints_nothing() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_without_config(&["list"]);
    run.assert_code(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert!(
        !sandbox.conversations_dir().exists(),
        "listing creates no folder"
    );
}

#[test]
fn export_prints_markdown_by_default() {
    let sandbox = Sandbox::new();
    save_conversation(&sandbox, &saved_conversation());
    let run = sandbox.run_without_config(&["export", ID]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, EXPECTED_MD);
}

#[test]
fn export_as_txt_prints_the_plain_transcript_byte_for_byte() {
    let sandbox = Sandbox::new();
    save_conversation(&sandbox, &saved_conversation());
    let run = sandbox.run_without_config(&["export", ID, "--format", "txt"]);
    run.assert_code(0);
    assert_eq!(run.stdout, EXPECTED_TXT);
}

#[test]
fn export_as_json_is_the_conversation_file() {
    let sandbox = Sandbox::new();
    save_conversation(&sandbox, &saved_conversation());
    let run = sandbox.run_without_config(&["export", ID, "--format", "json"]);
    run.assert_code(0);
    let value: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value, saved_conversation());
    assert!(run.stdout.ends_with("}\n"));
}

#[test]
fn export_to_a_file_takes_the_format_from_its_extension() {
    let sandbox = Sandbox::new();
    save_conversation(&sandbox, &saved_conversation());
    let out = sandbox.path("work").join("chat.md");
    let run = sandbox.run_without_config(&["export", ID, "-o", out.to_str().unwrap()]);
    run.assert_code(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), EXPECTED_MD);

    // A relative path is taken from the current folder.
    let run = sandbox.run_without_config(&["export", ID, "-o", "chat.txt"]);
    run.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(sandbox.path("work").join("chat.txt")).unwrap(),
        EXPECTED_TXT
    );
}

#[test]
fn export_reads_a_json_file_given_by_path() {
    let sandbox = Sandbox::new();
    let file = sandbox.path("work").join("copy.json");
    std::fs::write(&file, serde_json::to_string(&saved_conversation()).unwrap()).unwrap();
    let run = sandbox.run_without_config(&["export", file.to_str().unwrap(), "--format", "txt"]);
    run.assert_code(0);
    assert_eq!(run.stdout, EXPECTED_TXT);
}

#[test]
fn export_of_a_missing_id_says_there_is_no_saved_conversation() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_without_config(&["export", "missing-id"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.one_stderr_line(),
        "no saved conversation `missing-id` (see `tinychat list`)"
    );
}

#[test]
fn export_into_a_missing_folder_fails_without_creating_it() {
    let sandbox = Sandbox::new();
    save_conversation(&sandbox, &saved_conversation());
    let out = sandbox.path("nowhere").join("chat.md");
    let run = sandbox.run_without_config(&["export", ID, "-o", out.to_str().unwrap()]);
    run.assert_code(1);
    let line = run.one_stderr_line();
    assert!(
        line.contains(&*sandbox.path("nowhere").to_string_lossy()),
        "{line:?}"
    );
    assert!(!sandbox.path("nowhere").exists());
}

#[test]
fn opening_a_missing_conversation_fails_before_the_terminal_is_touched() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_without_config(&["--open", "missing-id"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "", "nothing was drawn");
    assert_eq!(
        run.one_stderr_line(),
        "no saved conversation `missing-id` (see `tinychat list`)"
    );
}

#[test]
fn starting_the_ui_with_an_unknown_provider_is_bad_usage_before_the_terminal_is_touched() {
    let server = MockServer::start_in_background(Vec::new());
    let sandbox = Sandbox::with_mock(&server);
    let run = sandbox.run(&["--model", "nope/x"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "", "nothing was drawn");
    assert_eq!(
        run.one_stderr_line(),
        if cfg!(feature = "local") {
            "unknown provider `nope` (known: openai, mistral, together, groq, openrouter, anthropic, gemini, cohere, ollama, local, mock)"
        } else {
            "unknown provider `nope` (known: openai, mistral, together, groq, openrouter, anthropic, gemini, cohere, ollama, mock)"
        }
    );
}

// ---------------------------------------------------------------------------------------
// The in-process `local` provider
// ---------------------------------------------------------------------------------------

/// A sandbox whose config names one tiny local model that greedily answers `reply`,
/// plus a model folder holding a file that is not a model.
#[cfg(feature = "local")]
fn local_sandbox(reply: &str) -> Sandbox {
    use tinychat::provider::local::testing::{TinySpec, write_tiny_gguf};
    let sandbox = Sandbox::new();
    let model = sandbox.path("work").join("tiny-chat.gguf");
    write_tiny_gguf(&model, &TinySpec::replying("llama", reply)).unwrap();
    let dir = sandbox.path("models");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.gguf"), "not a model").unwrap();
    sandbox.write_config(&format!(
        "temperature = 0\n[local]\nmodels = [\"{}\"]\nmodel_dir = \"{}\"\n",
        model.display(),
        dir.display()
    ));
    sandbox
}

#[cfg(feature = "local")]
#[test]
fn models_lists_local_models_and_says_which_files_were_skipped() {
    let sandbox = local_sandbox("Yo!");
    let run = sandbox.run(&["models"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "local/tiny-chat\n");
    assert!(
        run.stderr
            .contains("local: skipped notes: not a GGUF model file"),
        "{run:#?}"
    );
}

#[cfg(feature = "local")]
#[test]
fn ask_answers_from_a_local_model_in_process() {
    let sandbox = local_sandbox("Yo!");
    let run = sandbox.run(&["ask", "--model", "local/tiny-chat", "hello"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Yo!");
    assert!(
        run.stderr.starts_with("local: loading tiny-chat (1 MB)…"),
        "{run:#?}"
    );
    // Without --model the local model is the first usable one.
    let run = sandbox.run(&["ask", "hello"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Yo!");
}

#[cfg(feature = "local")]
#[test]
fn ask_for_a_local_model_that_is_not_there_says_so() {
    let sandbox = local_sandbox("Yo!");
    let run = sandbox.run(&["ask", "--model", "local/nope", "hello"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr.trim_end(),
        "local: no local model `nope` (see `tinychat models` for the ones found)"
    );
}
