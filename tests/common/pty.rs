//! The real `tinychat` binary in a pseudo-terminal, for end-to-end tests kept outside
//! `tests/e2e_pty.rs`: a sandbox (temporary HOME and XDG folders, a config pointing
//! the `mock` provider at a [`super::MockServer`]) and a running child whose screen is
//! parsed with `vt100`. A minimal copy of that file's harness; every wait has a
//! timeout and prints the screen when it runs out.
//!
//! Several children may run on one sandbox at once (two windows on one data folder).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::MockServer;

pub const ROWS: u16 = 30;
pub const COLS: u16 = 100;
/// The longest any single wait may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub const ENTER: &str = "\r";
pub const ESC: &str = "\x1b";
pub const CTRL_C: &str = "\x03";
pub const CTRL_N: &str = "\x0e";
pub const CTRL_Q: &str = "\x11";
pub const CTRL_S: &str = "\x13";
pub const CTRL_U: &str = "\x15";

pub const ENTER_ALT_SCREEN: &[u8] = b"\x1b[?1049h";
pub const LEAVE_ALT_SCREEN: &[u8] = b"\x1b[?1049l";
pub const SHOW_CURSOR: &[u8] = b"\x1b[?25h";
pub const BRACKETED_PASTE_OFF: &[u8] = b"\x1b[?2004l";
pub const KITTY_KEYS_POP: &[u8] = b"\x1b[<1u";
/// Part of crossterm's DisableMouseCapture: the basic mouse reports turned off.
pub const MOUSE_REPORTING_OFF: &[u8] = b"\x1b[?1000l";

/// A temporary home for one run: HOME, the XDG folders, a working folder and a config.
pub struct Sandbox {
    pub root: tempfile::TempDir,
    /// `XDG_DATA_HOME` given to the child (`<root>/data` unless changed).
    pub data_home: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let root = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "config", "data", "state", "work"] {
            std::fs::create_dir_all(root.path().join(sub)).expect("sandbox folder");
        }
        std::fs::write(root.path().join("config.toml"), "").expect("write config");
        let data_home = root.path().join("data");
        Sandbox { root, data_home }
    }

    /// A sandbox whose config has one provider, `mock`, with the model `m1`.
    pub fn with_mock(server: &MockServer) -> Sandbox {
        Sandbox::with_mock_config(server, "")
    }

    /// [`Sandbox::with_mock`] with `top` (top-level config keys) before the provider.
    pub fn with_mock_config(server: &MockServer, top: &str) -> Sandbox {
        let sandbox = Sandbox::new();
        std::fs::write(
            sandbox.config_path(),
            format!(
                "{top}[[providers]]\nname = \"mock\"\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"m1\"]\n",
                server.url("/v1")
            ),
        )
        .expect("write config");
        sandbox
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.root.path().join(sub)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("config.toml")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// The one saved conversation (fails when there are none or several).
    pub fn only_conversation(&self) -> (PathBuf, serde_json::Value) {
        let mut all = self.saved_conversations();
        assert_eq!(all.len(), 1, "expected exactly one saved conversation");
        all.remove(0)
    }

    pub fn conversations_dir(&self) -> PathBuf {
        self.data_home.join("tinychat").join("conversations")
    }

    /// Every saved conversation file as JSON, sorted by path.
    pub fn saved_conversations(&self) -> Vec<(PathBuf, serde_json::Value)> {
        let Ok(entries) = std::fs::read_dir(self.conversations_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("read conversation");
                (
                    p,
                    serde_json::from_str(&text).expect("conversation is JSON"),
                )
            })
            .collect()
    }

    fn env(&self) -> Vec<(String, std::ffi::OsString)> {
        vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), self.path("home").into()),
            ("XDG_CONFIG_HOME".into(), self.path("config").into()),
            ("XDG_DATA_HOME".into(), self.data_home.clone().into()),
            ("XDG_STATE_HOME".into(), self.path("state").into()),
            // A closed port: an Ollama running on this machine must not change results.
            ("OLLAMA_HOST".into(), "127.0.0.1:9".into()),
        ]
    }

    /// Runs `tinychat --config <sandbox config> ARGS` without a terminal, giving up
    /// (and failing) after [`TIMEOUT`] so a read that blocks cannot hang the test.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tinychat"));
        cmd.arg("--config").arg(self.config_path()).args(args);
        cmd.env_clear()
            .envs(self.env())
            .current_dir(self.path("work"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn tinychat");
        let deadline = Instant::now() + TIMEOUT;
        while child.try_wait().expect("try_wait").is_none() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("tinychat {args:?} did not exit within {TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait_with_output().expect("output")
    }

    /// Starts tinychat in a pseudo-terminal with `--config <sandbox>/config.toml` and
    /// `args`, in a cleared environment.
    pub fn spawn(&self, args: &[&str]) -> Tinychat {
        self.spawn_with_env(args, &[])
    }

    /// [`Sandbox::spawn`] with more environment variables (`EDITOR`, `TMPDIR`…).
    pub fn spawn_with_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Tinychat {
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_tinychat"));
        cmd.arg("--config");
        cmd.arg(self.config_path());
        for arg in args {
            cmd.arg(arg);
        }
        cmd.env_clear();
        for (name, value) in self.env() {
            cmd.env(name, value);
        }
        for (name, value) in extra {
            cmd.env(name, value);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("LANG", "C.UTF-8");
        cmd.cwd(self.path("work"));
        Tinychat::spawn(cmd)
    }
}

/// The running binary, its screen as a terminal would show it, and every byte it wrote.
pub struct Tinychat {
    /// The parsed screen, for tests that look at cells (colours, attributes).
    pub parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    reader_done: Arc<AtomicBool>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

/// Terminal queries and the answers a real terminal would give. tinychat is not
/// expected to send any; if it does, it must not hang waiting for the answer.
const QUERIES: &[(&[u8], &[u8])] = &[
    (b"\x1b[6n", b"\x1b[1;1R"),
    (b"\x1b[c", b"\x1b[?62;22c"),
    (b"\x1b[0c", b"\x1b[?62;22c"),
    (b"\x1b[?u", b"\x1b[?0u"),
];

impl Tinychat {
    fn spawn(cmd: CommandBuilder) -> Tinychat {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let child = pair.slave.spawn_command(cmd).expect("spawn tinychat");
        // Only the child holds the terminal side now, so the reader sees EOF at exit.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer: Arc<Mutex<Box<dyn Write + Send>>> =
            Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let reader_done = Arc::new(AtomicBool::new(false));
        {
            let (parser, raw, done, writer) = (
                Arc::clone(&parser),
                Arc::clone(&raw),
                Arc::clone(&reader_done),
                Arc::clone(&writer),
            );
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut scanned = 0usize;
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            parser.lock().unwrap().process(&buf[..n]);
                            let mut raw = raw.lock().unwrap();
                            raw.extend_from_slice(&buf[..n]);
                            scanned = answer_queries(&raw, scanned, &writer);
                        }
                    }
                }
                done.store(true, Ordering::SeqCst);
            });
        }
        Tinychat {
            parser,
            raw,
            reader_done,
            writer,
            child,
            _master: pair.master,
        }
    }

    /// Types `text` as the terminal would send it.
    pub fn send(&self, text: &str) {
        let mut writer = self.writer.lock().unwrap();
        writer.write_all(text.as_bytes()).expect("write to the pty");
        writer.flush().expect("flush the pty");
    }

    /// The screen as text, one line per row (trailing blanks trimmed by vt100).
    pub fn screen_text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// One row of the screen, trailing blanks trimmed.
    pub fn row(&self, row: u16) -> String {
        let parser = self.parser.lock().unwrap();
        let text: Vec<String> = parser.screen().rows(0, COLS).collect();
        text[usize::from(row)].trim_end().to_owned()
    }

    /// The first `n` text rows of the conversation pane (between its borders).
    pub fn conversation_rows(&self, n: usize) -> Vec<String> {
        let parser = self.parser.lock().unwrap();
        let rows: Vec<String> = parser.screen().rows(0, COLS).collect();
        rows.iter()
            .skip(1)
            .take(n)
            .map(|l| {
                let start = l.rfind("││").map_or(0, |i| i + "││".len());
                l[start..]
                    .trim_end()
                    .trim_end_matches('│')
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    /// The status line (the last row).
    pub fn status_line(&self) -> String {
        self.row(ROWS - 1)
    }

    /// Everything tinychat wrote so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Waits until `ready` holds for the screen text, or panics with the screen.
    pub fn wait_until(&self, what: &str, ready: impl Fn(&Tinychat) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if ready(self) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {TIMEOUT:?} waiting for {what}; the screen:\n{}\n",
                self.framed_screen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn wait_for_text(&self, needle: &str) {
        self.wait_until(&format!("{needle:?} on screen"), |t| {
            t.screen_text().contains(needle)
        });
    }

    pub fn framed_screen(&self) -> String {
        let parser = self.parser.lock().unwrap();
        let rows: Vec<String> = parser.screen().rows(0, COLS).collect();
        rows.iter()
            .enumerate()
            .map(|(i, r)| format!("{i:2}|{r}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Ctrl+Q, and asserts that tinychat exits successfully.
    pub fn quit(&mut self) {
        self.send(CTRL_Q);
        assert!(self.wait_exit().success());
    }

    /// Waits for the process to exit and for its last output to be read.
    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let screen = self.framed_screen();
                let _ = self.child.kill();
                panic!("tinychat did not exit within {TIMEOUT:?}; the screen:\n{screen}\n");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        while !self.reader_done.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "the pty was not closed after tinychat exited"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        status
    }

    /// Types `text` from another thread, as one write: a burst larger than the pty's
    /// buffer blocks until tinychat has read it, so the test can watch meanwhile.
    pub fn send_in_background(&self, text: String) -> std::thread::JoinHandle<()> {
        let writer = Arc::clone(&self.writer);
        std::thread::spawn(move || {
            let mut writer = writer.lock().unwrap();
            writer.write_all(text.as_bytes()).expect("write to the pty");
            writer.flush().expect("flush the pty");
        })
    }

    /// Types `text` and Enter, then waits until `reply` is on screen and the state is
    /// idle again.
    pub fn say_and_wait_for_reply(&self, text: &str, reply: &str) {
        self.wait_for_text("Type a message");
        self.send(text);
        self.send(ENTER);
        self.wait_until(&format!("{reply:?} and the idle state"), |t| {
            t.screen_text().contains(reply) && t.status_line().contains("mock/m1 · idle")
        });
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("child pid")
    }
}

impl Drop for Tinychat {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Answers every complete query in `raw[from..]`; returns where the next scan starts
/// (before a query that may still be arriving).
fn answer_queries(raw: &[u8], from: usize, writer: &Mutex<Box<dyn Write + Send>>) -> usize {
    let mut i = from;
    'scan: while i < raw.len() {
        for (query, answer) in QUERIES {
            if raw[i..].starts_with(query) {
                let mut w = writer.lock().unwrap();
                let _ = w.write_all(answer);
                let _ = w.flush();
                i += query.len();
                continue 'scan;
            }
            if query.starts_with(&raw[i..]) {
                // A query cut by the read: look again when more bytes arrive.
                break 'scan;
            }
        }
        i += 1;
    }
    i
}

pub fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts the run ended by putting the terminal back: after the last switch to the
/// alternate screen come the sequences that leave it and show the cursor again.
pub fn assert_terminal_restored(app: &Tinychat) {
    let raw = app.raw();
    let entered = find_last(&raw, ENTER_ALT_SCREEN).expect("tinychat entered the alternate screen");
    let tail = &raw[entered..];
    for (name, seq) in [
        ("leave the alternate screen", LEAVE_ALT_SCREEN),
        ("show the cursor", SHOW_CURSOR),
        ("turn bracketed paste off", BRACKETED_PASTE_OFF),
        ("pop the keyboard flags", KITTY_KEYS_POP),
        ("turn mouse reporting off", MOUSE_REPORTING_OFF),
    ] {
        assert!(
            contains(tail, seq),
            "the output after the last {ENTER_ALT_SCREEN:?} does not {name} ({seq:?}); tail: {:?}",
            String::from_utf8_lossy(&tail[tail.len().saturating_sub(200)..])
        );
    }
    let leave = find_last(&raw, LEAVE_ALT_SCREEN).unwrap_or_default();
    assert!(leave > entered, "the alternate screen was left last");
    let parser = app.parser.lock().unwrap();
    let screen = parser.screen();
    assert!(!screen.alternate_screen(), "still on the alternate screen");
    assert!(!screen.hide_cursor(), "the cursor is still hidden");
    assert!(!screen.bracketed_paste(), "bracketed paste is still on");
    assert_eq!(
        screen.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse reporting is still on"
    );
}

/// A reply streamed as one chunk per piece, 20 ms apart, ending normally.
pub fn streamed_reply(pieces: &[&str]) -> super::MockResponse {
    paced_reply(pieces, Duration::from_millis(20))
}

/// A reply streamed as one chunk per piece, `pause` apart, ending normally.
pub fn paced_reply(pieces: &[&str], pause: Duration) -> super::MockResponse {
    let mut chunks: Vec<String> = pieces.iter().map(|p| super::openai_delta(p)).collect();
    chunks.push(super::openai_finish("stop"));
    let chunks: Vec<&[u8]> = chunks.iter().map(String::as_bytes).collect();
    super::MockResponse::sse("")
        .with_chunks(&chunks)
        .with_pause(pause)
}
