//! What the command line prints to a terminal (issue 10): the real binary runs in a
//! pseudo-terminal and the test reads every byte it wrote there. Text from a model, a
//! server or a file must reach the terminal without a single escape sequence (no title
//! change, no OSC 52 clipboard write, no cleared screen), while the same command with
//! its output in a pipe gives exactly the bytes of the conversation or reply. Without a
//! terminal the chat UI refuses to start, says why, and writes no escape code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{MockResponse, MockServer, openai_delta, openai_finish};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use pretty_assertions::assert_eq;

/// Text with every kind of hostile sequence: a title change (OSC 0), a clipboard write
/// (OSC 52), a cleared screen (CSI 2J) and a CSI introduced by its 8-bit C1 form.
const HOSTILE: &str =
    "see\x1b]0;pwned\x07 this\x1b]52;c;aGVsbG8=\x07 and\x1b[2J\x1b[H now\u{9b}31m!";
/// HOSTILE as a terminal must show it.
const HOSTILE_SHOWN: &str = "see\u{241b}]0;pwned\u{2407} this\u{241b}]52;c;aGVsbG8=\u{2407} and\u{241b}[2J\u{241b}[H now\u{fffd}31m!";

/// The longest a command may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Temporary HOME and XDG folders, so the machine's own config and conversations are
/// never seen.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new(config: &str) -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        for sub in ["home", "config", "data", "state"] {
            std::fs::create_dir_all(root.path().join(sub)).unwrap();
        }
        std::fs::write(root.path().join("config.toml"), config).unwrap();
        Sandbox { root }
    }

    /// A sandbox whose one provider, `mock`, is `server` (models listed by it unless
    /// `models` names them).
    fn with_mock(server: &MockServer, models: Option<&str>) -> Sandbox {
        let models = models
            .map(|m| format!("models = [\"{m}\"]\n"))
            .unwrap_or_default();
        Sandbox::new(&format!(
            "[[providers]]\nname = \"mock\"\nkind = \"openai\"\nbase_url = \"{}\"\n{models}",
            server.url("/v1")
        ))
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.root.path().join(sub)
    }

    fn conversations(&self) -> PathBuf {
        self.path("data").join("tinychat").join("conversations")
    }

    /// Saves a conversation whose title, model and both messages carry `HOSTILE`.
    fn save_hostile_conversation(&self) -> PathBuf {
        let dir = self.conversations();
        std::fs::create_dir_all(&dir).unwrap();
        let conversation = serde_json::json!({
            "version": 1, "id": "20261201-120000-abcd", "title": format!("title {HOSTILE}"),
            "created_at": "2026-12-01T12:00:00+00:00", "updated_at": "2026-12-01T12:00:00+00:00",
            "system_prompt": null,
            "messages": [
                {"role": "user", "content": format!("question {HOSTILE}\n\tindented"),
                 "created_at": "2026-12-01T12:00:00+00:00"},
                {"role": "assistant", "content": format!("answer {HOSTILE}"),
                 "model": format!("mock/m1{HOSTILE}"), "created_at": "2026-12-01T12:00:01+00:00",
                 "finish": "stop"}
            ]
        });
        let path = dir.join("20261201-120000-abcd.json");
        std::fs::write(&path, serde_json::to_string_pretty(&conversation).unwrap()).unwrap();
        path
    }

    /// The environment every run gets (the rest is cleared).
    fn env(&self) -> Vec<(String, PathBuf)> {
        vec![
            ("HOME".into(), self.path("home")),
            ("XDG_CONFIG_HOME".into(), self.path("config")),
            ("XDG_DATA_HOME".into(), self.path("data")),
            ("XDG_STATE_HOME".into(), self.path("state")),
        ]
    }

    fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec![
            "--config".to_owned(),
            self.path("config.toml").display().to_string(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        all
    }

    /// Runs tinychat with `args` in a pseudo-terminal (stdin, stdout and stderr all on
    /// it) and returns everything it wrote there and its exit code.
    fn run_in_terminal(&self, args: &[&str]) -> (Vec<u8>, u32) {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 30,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_tinychat"));
        cmd.args(self.args(args));
        cmd.env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.env("TERM", "xterm-256color");
        cmd.env("LANG", "C.UTF-8");
        cmd.env("OLLAMA_HOST", "127.0.0.1:9");
        for (name, value) in self.env() {
            cmd.env(name, value);
        }
        let mut child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let output = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 8192];
            // EIO once the child has gone and the last byte was read.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
            }
            all
        });
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("tinychat {args:?} did not finish within {TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        drop(pair.master);
        (output.join().unwrap(), status.exit_code())
    }

    /// Runs tinychat with `args`, stdin closed and stdout and stderr piped, in a new
    /// session (so there is no terminal at all).
    fn run_piped(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("setsid");
        cmd.arg("--wait")
            .arg(env!("CARGO_BIN_EXE_tinychat"))
            .args(self.args(args))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TERM", "xterm-256color")
            .env("LANG", "C.UTF-8")
            .env("OLLAMA_HOST", "127.0.0.1:9")
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.output().expect("run tinychat under setsid")
    }
}

/// Asserts that nothing in `output` is an escape sequence or another control character
/// a terminal acts on (a line end and a tab are harmless).
fn assert_no_control_bytes(output: &[u8], what: &str) {
    let text = String::from_utf8_lossy(output);
    let bad: Vec<(usize, char)> = text
        .char_indices()
        .filter(|&(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: control characters reached the terminal at {bad:?}:\n{text}"
    );
}

/// What the terminal showed, with the pty's `\r\n` line ends made `\n` again.
fn shown(output: &[u8]) -> String {
    String::from_utf8_lossy(output).replace("\r\n", "\n")
}

fn sse_reply(pieces: &[&str]) -> MockResponse {
    let mut chunks: Vec<String> = pieces.iter().map(|p| openai_delta(p)).collect();
    chunks.push(openai_finish("stop"));
    let chunks: Vec<&[u8]> = chunks.iter().map(String::as_bytes).collect();
    MockResponse::sse("").with_chunks(&chunks)
}

/// The hostile text, cut inside its escape sequences, as a model would stream it.
fn hostile_pieces() -> Vec<&'static str> {
    vec![
        "see\x1b",
        "]0;pwned",
        "\x07 this\x1b]52;c;",
        "aGVsbG8=\x07 and\x1b[",
        "2J\x1b[H now",
        "\u{9b}31m!",
    ]
}

#[test]
fn export_to_a_terminal_shows_escape_sequences_as_symbols() {
    let sandbox = Sandbox::new("");
    sandbox.save_hostile_conversation();
    let (output, code) = sandbox.run_in_terminal(&["export", "20261201-120000-abcd"]);
    assert_eq!(code, 0, "{}", shown(&output));
    assert_no_control_bytes(&output, "export");
    let text = shown(&output);
    assert!(
        text.contains(&format!("# title {HOSTILE_SHOWN}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("answer {HOSTILE_SHOWN}\n")),
        "{text}"
    );
    assert!(text.contains("\n\tindented\n"), "a tab stays a tab: {text}");
}

#[test]
fn export_to_a_pipe_is_byte_exact_and_equal_to_the_file_export() {
    let sandbox = Sandbox::new("");
    sandbox.save_hostile_conversation();
    for format in ["md", "txt", "json"] {
        let piped = sandbox.run_piped(&["export", "20261201-120000-abcd", "--format", format]);
        assert!(piped.status.success(), "{piped:?}");
        let file = sandbox.path(&format!("out.{format}"));
        let written = sandbox.run_piped(&[
            "export",
            "20261201-120000-abcd",
            "-o",
            file.to_str().unwrap(),
        ]);
        assert!(written.status.success(), "{written:?}");
        assert_eq!(piped.stdout, std::fs::read(&file).unwrap(), "{format}");
        if format != "json" {
            let text = String::from_utf8(piped.stdout).unwrap();
            assert!(
                text.contains(&format!("answer {HOSTILE}")),
                "{format}: {text:?}"
            );
        }
    }
}

#[test]
fn list_on_a_terminal_shows_hostile_titles_models_and_file_names_as_symbols() {
    let sandbox = Sandbox::new("");
    sandbox.save_hostile_conversation();
    // A file name is an id as well, and anyone can name a file.
    let odd = sandbox.conversations().join("odd\x1b]0;name\x07.json");
    std::fs::write(&odd, "not json \x1b[2J").unwrap();
    let (output, code) = sandbox.run_in_terminal(&["list"]);
    assert_eq!(code, 0, "{}", shown(&output));
    assert_no_control_bytes(&output, "list");
    let text = shown(&output);
    assert!(
        text.contains(&format!(
            "20261201-120000-abcd\t2026-12-01T12:00:00+00:00\tmock/m1{HOSTILE_SHOWN}\ttitle {HOSTILE_SHOWN}\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("odd\u{241b}]0;name\u{2407}\t-\t-\t("),
        "{text}"
    );
}

#[test]
fn ask_on_a_terminal_shows_a_hostile_reply_as_symbols_and_in_a_pipe_as_sent() {
    let pieces = hostile_pieces();
    let server = MockServer::start_in_background(vec![
        ("/v1/chat/completions", sse_reply(&pieces)),
        ("/v1/chat/completions", sse_reply(&pieces)),
    ]);
    let sandbox = Sandbox::with_mock(&server, Some("m1"));

    let (output, code) = sandbox.run_in_terminal(&["ask", "--model", "mock/m1", "hi"]);
    assert_eq!(code, 0, "{}", shown(&output));
    assert_no_control_bytes(&output, "ask");
    assert_eq!(shown(&output), format!("{HOSTILE_SHOWN}\n"));

    let piped = sandbox.run_piped(&["ask", "--model", "mock/m1", "hi"]);
    assert!(piped.status.success(), "{piped:?}");
    assert_eq!(String::from_utf8(piped.stdout).unwrap(), HOSTILE);
}

#[test]
fn ask_with_thinking_on_a_terminal_shows_it_dim_sanitized_and_apart_from_the_answer() {
    let think = |text: &str| {
        format!(
            "data: {}\n\n",
            serde_json::json!({"choices":[{"index":0,"delta":{"reasoning":text}}]})
        )
    };
    let chunks = [
        think("Thinking "),
        think(HOSTILE),
        openai_delta("Answer."),
        openai_finish("stop"),
    ];
    let chunks: Vec<&[u8]> = chunks.iter().map(String::as_bytes).collect();
    let server = MockServer::start_in_background(vec![(
        "/v1/chat/completions",
        MockResponse::sse("")
            .with_chunks(&chunks)
            .with_pause(Duration::from_millis(5)),
    )]);
    let sandbox = Sandbox::with_mock(&server, Some("m1"));
    let (output, code) =
        sandbox.run_in_terminal(&["ask", "--thinking", "--model", "mock/m1", "hi"]);
    assert_eq!(code, 0, "{}", shown(&output));
    // The only escape sequences are tinychat's own dim on and off.
    assert_eq!(
        shown(&output),
        format!("\x1b[2mThinking {HOSTILE_SHOWN}\x1b[0m\n\nAnswer.\n")
    );
}

#[test]
fn ask_on_a_terminal_shows_a_hostile_error_message_as_symbols() {
    let error = serde_json::json!({
        "error": {"message": format!("bad request {HOSTILE}"), "type": "invalid_request_error"}
    });
    let server = MockServer::start_in_background(vec![(
        "/v1/chat/completions",
        MockResponse::json(400, error.to_string()),
    )]);
    let sandbox = Sandbox::with_mock(&server, Some("m1"));
    let (output, code) = sandbox.run_in_terminal(&["ask", "--model", "mock/m1", "hi"]);
    assert_eq!(code, 1, "{}", shown(&output));
    assert_no_control_bytes(&output, "ask's error");
    assert!(
        shown(&output).contains(&format!("bad request {HOSTILE_SHOWN}")),
        "{}",
        shown(&output)
    );
}

#[test]
fn models_on_a_terminal_shows_hostile_model_ids_and_errors_as_symbols() {
    let models = serde_json::json!({
        "object": "list",
        "data": [{"id": "good-model", "object": "model"}, {"id": format!("evil{HOSTILE}"), "object": "model"}]
    });
    let server = MockServer::start_in_background(vec![(
        "/v1/models",
        MockResponse::json(200, models.to_string()),
    )]);
    let failing = MockServer::start_in_background(vec![(
        "/v1/models",
        MockResponse::json(
            500,
            serde_json::json!({"error": {"message": format!("down {HOSTILE}")}}).to_string(),
        ),
    )]);
    let sandbox = Sandbox::new(&format!(
        "[[providers]]\nname = \"mock\"\nbase_url = \"{}\"\n\n[[providers]]\nname = \"broken\"\nbase_url = \"{}\"\n",
        server.url("/v1"),
        failing.url("/v1")
    ));
    let (output, code) = sandbox.run_in_terminal(&["models"]);
    assert_eq!(code, 0, "{}", shown(&output));
    assert_no_control_bytes(&output, "models");
    let text = shown(&output);
    assert!(text.contains("mock/good-model\n"), "{text}");
    assert!(
        text.contains(&format!("mock/evil{HOSTILE_SHOWN}\n")),
        "{text}"
    );
    assert!(text.contains(&format!("down {HOSTILE_SHOWN}")), "{text}");
}

#[test]
fn without_a_terminal_the_ui_says_it_needs_one_points_to_ask_and_writes_no_escape_code() {
    let sandbox = Sandbox::new("");
    let output = sandbox.run_piped(&[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(output.stdout, b"", "nothing on stdout");
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "tinychat: the chat UI needs a terminal, and its output is not a terminal; for one reply without the UI use `tinychat ask PROMPT` (`tinychat ask -` reads the prompt from stdin)\n"
    );
}

#[test]
fn with_output_on_a_terminal_but_no_terminal_for_keys_the_ui_says_so() {
    // stdout and stderr are a pty, but stdin is /dev/null and the process has no
    // controlling terminal (a new session that never acquires one).
    let pair = native_pty_system().openpty(PtySize::default()).unwrap();
    let sandbox = Sandbox::new("");
    let tty = pair.master.tty_name().expect("the pty's path");
    let out = std::fs::OpenOptions::new().write(true).open(&tty).unwrap();
    let err = out.try_clone().unwrap();
    let status = Command::new("setsid")
        .arg("--wait")
        .arg(env!("CARGO_BIN_EXE_tinychat"))
        .args(sandbox.args(&[]))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm-256color")
        .envs(sandbox.env())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let mut reader = pair.master.try_clone_reader().unwrap();
    drop(pair.slave);
    let mut buf = vec![0u8; 4096];
    let n = reader.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).replace("\r\n", "\n");
    assert_eq!(
        text,
        "tinychat: the chat UI needs a terminal, and there is no terminal to read keys from; for one reply without the UI use `tinychat ask PROMPT` (`tinychat ask -` reads the prompt from stdin)\n"
    );
}
