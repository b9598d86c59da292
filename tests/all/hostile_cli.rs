//! `tinychat ask` against servers that misbehave (issue 10), run as the real binary: no
//! input from a server may panic it, every ending that is not `stop` makes it fail
//! (spec §2: exit 1, the partial text on stdout, the reason on stderr), and a password in
//! a base URL reaches neither stderr nor the log, which only its owner may read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{MockResponse, MockServer, openai_delta, openai_finish};
use pretty_assertions::assert_eq;

const CHAT: &str = "/v1/chat/completions";

/// A temporary HOME with XDG folders and a config naming one OpenAI-compatible provider
/// `mock` (model `m1`) at `base_url`.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new(base_url: &str) -> Sandbox {
        let root = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "config", "data", "state"] {
            std::fs::create_dir_all(root.path().join(sub)).expect("sandbox folder");
        }
        let config = format!(
            "[[providers]]\nname = \"mock\"\nkind = \"openai\"\nbase_url = \"{base_url}\"\nmodels = [\"m1\"]\n"
        );
        std::fs::write(root.path().join("config.toml"), config).expect("config");
        Sandbox { root }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.root.path().join(sub)
    }

    fn log_file(&self) -> PathBuf {
        self.path("state").join("tinychat").join("tinychat.log")
    }

    /// `tinychat --config … ask --model mock/m1 hi` with a clean environment and debug
    /// logging (the most the log can say).
    fn ask(&self) -> (Option<i32>, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_tinychat"))
            .args(["--config", self.path("config.toml").to_str().unwrap()])
            .args(["ask", "--model", "mock/m1", "hi"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("OLLAMA_HOST", "127.0.0.1:9")
            .env("TINYCHAT_LOG", "debug")
            .stdin(Stdio::null())
            .output()
            .expect("run tinychat");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

fn ask_with(response: MockResponse) -> (Option<i32>, String, String) {
    let server = MockServer::start_in_background(vec![(CHAT, response)]);
    Sandbox::new(&server.url("/v1")).ask()
}

#[test]
fn a_reply_that_starts_with_a_bom_is_read_not_a_crash() {
    // eventsource-stream sliced the 3-byte mark at byte 1: the process aborted (134)
    // and the panic message printed the server's bytes.
    let body = format!(
        "\u{feff}{}{}",
        openai_delta("\u{1b}]0;title\u{7}fine"),
        openai_finish("stop")
    );
    let (code, stdout, stderr) = ask_with(MockResponse::sse(body));
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (Some(0), "\u{1b}]0;title\u{7}fine", "")
    );
}

#[test]
fn a_content_filter_ending_keeps_the_text_says_why_and_exits_1() {
    let body = format!(
        "{}{}",
        openai_delta("Here is part"),
        openai_finish("content_filter")
    );
    let (code, stdout, stderr) = ask_with(MockResponse::sse(body));
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (
            Some(1),
            "Here is part",
            "mock: the provider's content filter stopped the reply (finish_reason \"content_filter\")\n"
        )
    );
}

#[test]
fn a_tool_call_ending_without_text_exits_1_not_as_an_empty_answer() {
    let (code, stdout, stderr) = ask_with(MockResponse::sse(openai_finish("tool_calls")));
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (
            Some(1),
            "",
            "mock: the model stopped to call a tool, which tinychat does not offer (finish_reason \"tool_calls\")\n"
        )
    );
}

#[test]
fn an_error_event_exits_1_with_the_servers_message() {
    let body = format!(
        "{}event: error\ndata: {{\"message\":\"Upstream overloaded\"}}\n\n",
        openai_delta("Par")
    );
    let (code, stdout, stderr) = ask_with(MockResponse::sse(body));
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (
            Some(1),
            "Par",
            "mock: error during the reply: Upstream overloaded\n"
        )
    );
}

#[test]
fn a_password_in_the_base_url_reaches_neither_stderr_nor_the_log_and_the_log_is_private() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let sandbox = Sandbox::new(&format!("http://alice:s3cr3t-pass@127.0.0.1:{port}/v1"));
    let (code, stdout, stderr) = sandbox.ask();
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    // Retries come first; the reason is the last line.
    assert_eq!(
        stderr.lines().last(),
        Some(
            format!(
                "mock: cannot connect to http://***@127.0.0.1:{port}/v1: connection refused (is the server running?)"
            )
            .as_str()
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cr3t") && !stderr.contains("alice"),
        "{stderr}"
    );
    let log = std::fs::read_to_string(sandbox.log_file()).expect("a log was written");
    assert!(!log.is_empty());
    assert!(!log.contains("s3cr3t") && !log.contains("alice"), "{log}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sandbox.log_file())
            .expect("log metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
