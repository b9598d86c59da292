//! End to end: the real `tinychat` binary in a pseudo-terminal, talking to the mock
//! provider server (design §8, "end-to-end"). The screen is parsed with `vt100`; every
//! wait has a timeout and prints the whole screen when it runs out.
//!
//! Each test gets its own temporary HOME and XDG folders and a config that points the
//! `mock` provider at a `MockServer`; the child's environment is cleared, so no real key
//! or config of the machine running the tests is ever seen.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::pty::{
    COLS, CTRL_C, CTRL_Q, CTRL_S, CTRL_U, ENTER, ESC, ROWS, Sandbox, TIMEOUT, Tinychat,
    assert_terminal_restored, contains, find_last, paced_reply,
};
use common::{End, MockResponse, MockServer, openai_delta as delta};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const CHAT: &str = "/v1/chat/completions";
/// The start of the clipboard escape (OSC 52).
const OSC52: &[u8] = b"\x1b]52;";

// ---------------------------------------------------------------------------------------
// Scripted replies
// ---------------------------------------------------------------------------------------

/// A reply streamed as one chunk per piece, 50 ms apart, ending normally.
fn streamed_reply(pieces: &[&str]) -> MockResponse {
    paced_reply(pieces, Duration::from_millis(50))
}

/// A reply that sends `pieces` and then neither ends nor sends anything more.
fn stalled_reply(pieces: &[&str]) -> MockResponse {
    let chunks: Vec<String> = pieces.iter().map(|p| delta(p)).collect();
    let chunks: Vec<&[u8]> = chunks.iter().map(String::as_bytes).collect();
    MockResponse::sse("")
        .with_chunks(&chunks)
        .with_pause(Duration::from_millis(20))
        .ending(End::Stall)
}

const REPLY: [&str; 5] = ["Hello", " there!", " How are", " you", " today?"];
const REPLY_TEXT: &str = "Hello there! How are you today?";

/// Starts the mock server with `replies` to the chat endpoint, in turn, and a sandbox
/// whose `mock` provider points at it.
fn mock_with(replies: Vec<MockResponse>) -> (MockServer, Sandbox) {
    let server = MockServer::start_in_background(replies.into_iter().map(|r| (CHAT, r)).collect());
    let sandbox = Sandbox::with_mock(&server);
    (server, sandbox)
}

/// Waits for the input to be ready, then types `text` and Enter.
fn say(app: &Tinychat, text: &str) {
    app.wait_for_text("Type a message");
    app.send(text);
    app.send(ENTER);
}

/// Types `text` and Enter, then waits until `partial` is on screen while the reply is
/// still streaming.
fn say_and_wait_while_streaming(app: &Tinychat, text: &str, partial: &str) {
    say(app, text);
    app.wait_until(&format!("{partial:?} while streaming"), |t| {
        t.screen_text().contains(partial) && t.status_line().contains("streaming")
    });
}

/// Sends `signal` ("TERM", "KILL") to the running tinychat.
fn kill(app: &Tinychat, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &app.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Asserts that `conversation` (saved or exported as JSON) is "hello" and the finished
/// [`REPLY_TEXT`] from mock/m1.
fn assert_hello_exchange(conversation: &Value) {
    assert_eq!(conversation["version"], 1);
    assert_eq!(conversation["title"], "hello");
    let messages = conversation["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["content"], "hello");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"], REPLY_TEXT);
    assert_eq!(messages[1]["model"], "mock/m1");
    assert_eq!(messages[1]["finish"], "stop");
}

fn wait_for_disconnect(server: &MockServer) {
    let deadline = Instant::now() + TIMEOUT;
    while server.disconnects() < 1 {
        assert!(
            Instant::now() < deadline,
            "the server never saw the client go away"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn a_typed_message_streams_the_reply_onto_the_screen_and_ends_idle() {
    let (server, sandbox) = mock_with(vec![streamed_reply(&REPLY)]);
    let app = sandbox.spawn(&[]);

    app.say_and_wait_for_reply("hello", REPLY_TEXT);

    assert_eq!(
        app.conversation_rows(6),
        ["You", "hello", "", "Assistant · mock/m1", REPLY_TEXT, ""],
        "the conversation pane:\n{}",
        app.screen_text()
    );
    assert_eq!(
        app.status_line(),
        format!(" mock/m1 · idle{:>84}", "F1 help")
    );

    let requests = server.json_bodies(CHAT);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["model"], "m1");
    assert_eq!(
        requests[0]["messages"],
        json!([{"role": "user", "content": "hello"}])
    );
    assert_eq!(requests[0]["stream"], true);
    let recorded = &server.requests()[0];
    assert_eq!(recorded.method, "POST");
    assert_eq!(
        recorded.header("authorization"),
        None,
        "no key was configured"
    );
}

#[test]
fn esc_mid_reply_stops_it_marks_it_stopped_and_drops_the_connection() {
    let (server, sandbox) = mock_with(vec![stalled_reply(&["The first", " words"])]);
    let app = sandbox.spawn(&[]);
    say_and_wait_while_streaming(&app, "hello", "The first words");
    assert_eq!(server.disconnects(), 0);

    app.send(ESC);
    app.wait_for_text("■ stopped");
    app.wait_until("the stopped state", |t| {
        t.status_line().contains("mock/m1 · stopped")
    });
    wait_for_disconnect(&server);
    // The partial reply stays, without the live cursor, marked stopped.
    assert_eq!(
        app.conversation_rows(7),
        [
            "You",
            "hello",
            "",
            "Assistant · mock/m1",
            "The first words",
            "■ stopped",
            ""
        ],
        "the conversation pane:\n{}",
        app.screen_text()
    );
}

#[test]
fn ctrl_s_saves_the_conversation_as_markdown_text_and_json() {
    let (_server, sandbox) = mock_with(vec![streamed_reply(&REPLY)]);
    let mut app = sandbox.spawn(&[]);
    app.say_and_wait_for_reply("hello", REPLY_TEXT);

    let out = sandbox.path("out");
    std::fs::create_dir(&out).unwrap();
    let save_as = |name: &str| -> PathBuf {
        let path = out.join(name);
        app.send(CTRL_S);
        app.wait_for_text("Save as · Enter write · Esc cancel");
        // The pre-filled name is the title and the start time (`hello-20261129-1405.md`).
        app.wait_for_text("hello-20");
        app.send(CTRL_U);
        app.wait_until("an empty save prompt", |t| {
            !t.screen_text().contains("hello-20")
        });
        app.send(path.to_str().unwrap());
        app.send(ENTER);
        let notice = format!("saved to {}", path.display());
        app.wait_until(&format!("{notice:?} on the status line"), |t| {
            t.status_line().contains(&notice)
        });
        path
    };

    let md = save_as("chat.md");
    assert_eq!(
        std::fs::read_to_string(&md).unwrap(),
        format!("# hello\n\n## You\n\nhello\n\n## Assistant (mock/m1)\n\n{REPLY_TEXT}\n\n")
    );

    let txt = save_as("chat.txt");
    assert_eq!(
        std::fs::read_to_string(&txt).unwrap(),
        format!("You: hello\n\nLLM: {REPLY_TEXT}\n")
    );

    let json_path = save_as("chat.json");
    let exported = std::fs::read(&json_path).unwrap();
    let value: Value = serde_json::from_slice(&exported).unwrap();
    assert_hello_exchange(&value);
    assert_eq!(value["messages"][1].get("error"), None);

    app.quit();
    // The JSON export is the conversation file itself, byte for byte.
    let (saved, _) = sandbox.only_conversation();
    assert_eq!(
        String::from_utf8(exported).unwrap(),
        std::fs::read_to_string(saved).unwrap()
    );
}

#[test]
fn ctrl_q_quits_with_status_0_restores_the_terminal_and_leaves_the_conversation_saved() {
    let (_server, sandbox) = mock_with(vec![streamed_reply(&REPLY)]);
    let mut app = sandbox.spawn(&[]);
    app.say_and_wait_for_reply("hello", REPLY_TEXT);

    app.send(CTRL_Q);
    let status = app.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(status.exit_code(), 0);
    assert_terminal_restored(&app);

    let (path, saved) = sandbox.only_conversation();
    let id = saved["id"].as_str().unwrap();
    assert_eq!(path, sandbox.conversations_dir().join(format!("{id}.json")));
    assert_hello_exchange(&saved);
}

#[test]
fn an_http_error_shows_the_providers_message_under_the_reply_and_the_ui_stays_usable() {
    let (server, sandbox) = mock_with(vec![
        MockResponse::fixture_error("openai/chat-401.status-401.json"),
        streamed_reply(&["Second", " time", " lucky."]),
    ]);
    let mut app = sandbox.spawn(&[]);
    say(&app, "hello");
    app.wait_until("the error state", |t| {
        t.status_line().contains("mock/m1 · error")
    });
    let screen = app.screen_text();
    let lines: Vec<&str> = screen.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.contains("Assistant · mock/m1"))
        .unwrap_or_else(|| panic!("no reply header:\n{screen}"));
    assert!(
        lines[header + 1].contains("✗ mock: HTTP 401 invalid_api_key: Incorrect API key provided"),
        "the provider's message is right under the reply header:\n{screen}"
    );
    assert!(
        app.status_line()
            .contains("mock: HTTP 401 invalid_api_key: Incorrect API key provided"),
        "the status line says what failed: {:?}",
        app.status_line()
    );

    app.send("again");
    app.send(ENTER);
    app.wait_until("the second reply and the idle state", |t| {
        t.screen_text().contains("Second time lucky.") && t.status_line().contains("· idle")
    });
    // The error stays where it was, above the new exchange.
    assert!(app.screen_text().contains("Incorrect API key provided"));
    let requests = server.json_bodies(CHAT);
    assert_eq!(requests.len(), 2);
    // The failed reply had no text, so it is not sent back to the model.
    assert_eq!(
        requests[1]["messages"],
        json!([
            {"role": "user", "content": "hello"},
            {"role": "user", "content": "again"}
        ])
    );

    app.quit();
    let (_, saved) = sandbox.only_conversation();
    let messages = saved["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[1]["finish"], "error");
    assert_eq!(messages[1]["content"], "");
    assert!(
        messages[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("mock: HTTP 401 invalid_api_key: Incorrect API key provided")
    );
    assert_eq!(messages[3]["content"], "Second time lucky.");
    assert_eq!(messages[3]["finish"], "stop");
}

#[test]
fn with_no_provider_the_welcome_says_how_to_add_one_and_ctrl_c_quits() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut app = sandbox.spawn(&[]);
    // With in-process models built in, the welcome first offers one to download.
    app.wait_for_text(if cfg!(feature = "local") {
        "Or add a provider, then start tinychat again:"
    } else {
        "No provider is set up yet. Add one, then start tinychat again:"
    });
    // The status line is the last row of a frame: once it is there, so is the rest.
    app.wait_until("the status line", |t| {
        t.status_line().starts_with(" no model · idle")
    });
    assert!(
        app.screen_text()
            .contains("• set an API key: OPENAI_API_KEY"),
        "{}",
        app.screen_text()
    );

    app.send(CTRL_C);
    let status = app.wait_exit();
    assert_eq!(status.exit_code(), 0);
    assert!(status.success());
    assert_terminal_restored(&app);
    assert!(
        sandbox.saved_conversations().is_empty(),
        "an empty conversation is not saved"
    );
}

/// A reply stalled mid-stream, then `signal` from outside: tinychat exits 0 with the
/// terminal restored, and the partial reply is saved as cancelled.
fn a_signal_saves_the_partial_reply_and_restores_the_terminal(signal: &str) {
    let (server, sandbox) = mock_with(vec![stalled_reply(&["Partial", " answer"])]);
    let mut app = sandbox.spawn(&[]);
    say_and_wait_while_streaming(&app, "hello", "Partial answer");

    kill(&app, signal);
    let status = app.wait_exit();
    assert_eq!(status.exit_code(), 0, "{signal}: {status:?}");
    assert_terminal_restored(&app);
    wait_for_disconnect(&server);

    let (_, saved) = sandbox.only_conversation();
    let messages = saved["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["content"], "Partial answer");
    assert_eq!(messages[1]["finish"], "cancelled");
    assert_eq!(messages[1]["model"], "mock/m1");
}

#[test]
fn sigterm_while_streaming_saves_the_partial_reply_as_cancelled_and_restores_the_terminal() {
    a_signal_saves_the_partial_reply_and_restores_the_terminal("TERM");
}

#[test]
fn sigint_from_outside_saves_the_partial_reply_and_restores_the_terminal() {
    a_signal_saves_the_partial_reply_and_restores_the_terminal("INT");
}

#[test]
fn escape_sequences_in_a_reply_are_shown_as_symbols_and_never_reach_the_terminal() {
    let (_server, sandbox) = mock_with(vec![streamed_reply(&[
        "title \u{1b}]0;pwned\u{7}",
        " query \u{1b}[6n",
        " bell\u{7} done",
    ])]);
    let mut app = sandbox.spawn(&[]);
    app.say_and_wait_for_reply("hello", "title ␛]0;pwned␇ query ␛[6n bell␇ done");
    app.quit();
    let raw = app.raw();
    for (what, seq) in [
        ("the title change", &b"\x1b]0;pwned"[..]),
        ("the cursor position query", b"\x1b[6n"),
        ("the bell", b"\x07"),
    ] {
        assert!(!contains(&raw, seq), "{what} reached the terminal");
    }
    // The conversation file keeps the text exactly as the model sent it.
    let (_, saved) = sandbox.only_conversation();
    assert_eq!(
        saved["messages"][1]["content"],
        "title \u{1b}]0;pwned\u{7} query \u{1b}[6n bell\u{7} done"
    );
}

#[test]
fn a_reply_cut_before_its_end_marker_is_marked_incomplete_on_screen_and_on_disk() {
    let chunks = [delta("Half"), delta(" an answer")];
    let chunks: Vec<&[u8]> = chunks.iter().map(String::as_bytes).collect();
    let (_server, sandbox) = mock_with(vec![
        MockResponse::sse("")
            .with_chunks(&chunks)
            .with_pause(Duration::from_millis(20)),
    ]);
    let mut app = sandbox.spawn(&[]);
    say(&app, "hello");
    app.wait_until("the error state", |t| {
        t.status_line().contains("mock/m1 · error")
    });
    assert_eq!(
        app.conversation_rows(7),
        [
            "You",
            "hello",
            "",
            "Assistant · mock/m1",
            "Half an answer",
            "⚠ incomplete: mock: the connection ended before the reply was complete",
            ""
        ],
        "{}",
        app.screen_text()
    );
    app.quit();
    let (_, saved) = sandbox.only_conversation();
    let reply = &saved["messages"][1];
    assert_eq!(reply["content"], "Half an answer");
    assert_eq!(reply["finish"], "incomplete");
    assert_eq!(
        reply["error"],
        "mock: the connection ended before the reply was complete"
    );
}

#[test]
fn open_continues_a_saved_conversation_and_sends_its_history() {
    let (server, sandbox) = mock_with(vec![streamed_reply(&["Blue."])]);
    let id = "20261129-140512-3fa2";
    let dir = sandbox.conversations_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let file = json!({
        "version": 1, "id": id, "title": "colours",
        "created_at": "2026-11-29T14:05:12+01:00", "updated_at": "2026-11-29T14:05:13+01:00",
        "system_prompt": "Answer in one word.",
        "messages": [
            {"role": "user", "content": "colours", "created_at": "2026-11-29T14:05:12+01:00"},
            {"role": "assistant", "content": "Red.", "model": "mock/m1",
             "created_at": "2026-11-29T14:05:13+01:00", "finish": "stop"}
        ],
        "pinned": true
    });
    std::fs::write(dir.join(format!("{id}.json")), file.to_string()).unwrap();

    let mut app = sandbox.spawn(&["--open", id]);
    app.wait_for_text("Red.");
    app.wait_until("the title and the model", |t| {
        t.row(0).contains("┌ colours ") && t.status_line().starts_with(" mock/m1 · idle")
    });
    app.send("another");
    app.send(ENTER);
    app.wait_until("the new reply and the idle state", |t| {
        t.screen_text().contains("Blue.") && t.status_line().contains("mock/m1 · idle")
    });
    assert_eq!(
        server.json_bodies(CHAT)[0]["messages"],
        json!([
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "colours"},
            {"role": "assistant", "content": "Red."},
            {"role": "user", "content": "another"}
        ])
    );
    app.quit();
    let (path, saved) = sandbox.only_conversation();
    assert_eq!(path, dir.join(format!("{id}.json")));
    assert_eq!(saved["pinned"], true, "unknown fields are kept");
    let contents: Vec<&str> = saved["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["colours", "Red.", "another", "Blue."]);
}

#[test]
fn a_paste_with_new_lines_goes_into_the_input_without_sending_and_enter_sends_it_whole() {
    let (server, sandbox) = mock_with(vec![streamed_reply(&["Pasted."])]);
    let mut app = sandbox.spawn(&[]);
    app.wait_for_text("Type a message");
    app.send("\x1b[200~first line\r\nsecond line\x1b[201~");
    app.wait_for_text("second line");
    // Give a wrongly sent message time to reach the server before checking.
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.json_bodies(CHAT).is_empty(), "the paste was sent");
    assert!(app.screen_text().contains("Welcome to tinychat."));

    app.send(ENTER);
    app.wait_until("the reply and the idle state", |t| {
        t.screen_text().contains("Pasted.") && t.status_line().contains("mock/m1 · idle")
    });
    assert_eq!(
        server.json_bodies(CHAT)[0]["messages"],
        json!([{"role": "user", "content": "first line\nsecond line"}])
    );
    app.quit();
}

#[test]
fn kill_9_mid_reply_keeps_the_text_and_reopens_it_marked_incomplete() {
    let (_server, sandbox) = mock_with(vec![stalled_reply(&["Partial", " answer"])]);
    let mut app = sandbox.spawn(&[]);
    say_and_wait_while_streaming(&app, "hello", "Partial answer");
    // The text arrived; within 2 s it must be on disk although the stream stalls.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let on_disk = sandbox
            .saved_conversations()
            .first()
            .is_some_and(|(_, c)| c["messages"][1]["content"] == "Partial answer");
        if on_disk {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the partial reply was never saved"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(&app, "KILL");
    let _ = app.wait_exit();

    let (path, saved) = sandbox.only_conversation();
    let messages = saved["messages"].as_array().unwrap();
    assert_eq!(messages[1]["content"], "Partial answer");
    assert_eq!(
        messages[1].get("finish"),
        None,
        "the reply was cut off mid-stream"
    );
    // No temporary file is left behind by the kill.
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.conversations_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path() != path)
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let id = saved["id"].as_str().unwrap().to_owned();
    let mut reopened = sandbox.spawn(&["--open", &id]);
    reopened.wait_until("the partial reply marked incomplete", |t| {
        let screen = t.screen_text();
        screen.contains("Partial answer") && screen.contains("⚠ incomplete")
    });
    reopened.quit();
    // Only looking changes nothing on disk; the mark is saved with the next change.
    let (_, after) = sandbox.only_conversation();
    assert_eq!(after["messages"][1]["content"], "Partial answer");
}

#[test]
fn one_in_the_conversation_copies_code_block_1_through_osc_52() {
    let (_server, sandbox) = mock_with(vec![streamed_reply(&[
        "Run:\n```sh\n",
        "echo 'hi \u{2713}'\nls\n",
        "```\nDone.",
    ])]);
    // The environment is cleared, so there is no DISPLAY or WAYLAND_DISPLAY either.
    let mut app = sandbox.spawn_with_env(&[], &[("TINYCHAT_CLIPBOARD", "osc52")]);
    app.say_and_wait_for_reply("a script please", "Done.");
    assert_eq!(
        app.conversation_rows(5),
        [
            "You",
            "a script please",
            "",
            "Assistant · mock/m1 · code [1] sh",
            "Run:"
        ],
        "the conversation pane:\n{}",
        app.screen_text()
    );
    assert!(!contains(&app.raw(), OSC52), "nothing was copied yet");

    app.send("\t");
    app.send("1");
    app.wait_until("the copy on the status line", |t| {
        t.status_line().contains("copied code block 1")
    });
    assert_eq!(
        app.status_line(),
        format!(
            "{:<92}F1 help",
            " mock/m1 · idle · copied code block 1 (14 characters) via the terminal (OSC 52)"
        )
    );
    // base64 of "echo 'hi ✓'\nls": the block's lines, without the fences.
    let raw = app.raw();
    let expected = b"\x1b]52;c;ZWNobyAnaGkg4pyTJwpscw==\x07";
    assert!(
        contains(&raw, expected),
        "the OSC 52 sequence was not written; OSC 52 seen: {:?}",
        find_last(&raw, OSC52)
            .map(|i| String::from_utf8_lossy(&raw[i..(i + 60).min(raw.len())]).into_owned())
    );
    assert_eq!(
        raw.windows(OSC52.len()).filter(|w| *w == OSC52).count(),
        1,
        "exactly one copy"
    );

    app.quit();
    assert_terminal_restored(&app);
}

#[test]
fn without_a_display_ctrl_y_falls_back_to_osc_52() {
    let (_server, sandbox) = mock_with(vec![streamed_reply(&REPLY)]);
    // No TINYCHAT_CLIPBOARD and no DISPLAY: the system clipboard fails, OSC 52 is used.
    let mut app = sandbox.spawn(&[]);
    app.say_and_wait_for_reply("hello", REPLY_TEXT);
    app.send("\x19");
    app.wait_until("the copy on the status line", |t| {
        t.status_line().contains("copied the last reply")
    });
    assert_eq!(
        app.status_line(),
        format!(
            "{:<92}F1 help",
            " mock/m1 · idle · copied the last reply (31 characters) via the terminal (OSC 52)"
        )
    );
    // base64 of "Hello there! How are you today?".
    assert!(contains(
        &app.raw(),
        b"\x1b]52;c;SGVsbG8gdGhlcmUhIEhvdyBhcmUgeW91IHRvZGF5Pw==\x07"
    ));
    app.quit();
}

#[test]
fn a_markdown_reply_never_shows_its_markup_even_when_markers_arrive_in_pieces() {
    let (_server, sandbox) = mock_with(vec![streamed_reply(&[
        "# Ti",
        "tle\nSome **bo",
        "ld** and `co",
        "de`.\n\n- one\n- tw",
        "o\n\n``",
        "`rust\nfn main",
        "() {}\n``",
        "`\nDone.",
    ])]);
    let mut app = sandbox.spawn(&[]);
    app.say_and_wait_for_reply("format please", "Done.");

    let rows = app.conversation_rows(15);
    assert_eq!(
        rows[..11],
        [
            "You",
            "format please",
            "",
            "Assistant · mock/m1 · code [1] rust",
            "Title",
            "",
            "Some bold and code.",
            "",
            "• one",
            "• two",
            "",
        ],
        "the conversation pane:\n{}",
        app.screen_text()
    );
    assert!(rows[11].starts_with("[1] rust ───"), "{}", rows[11]);
    assert_eq!(rows[12..], ["  fn main() {}", "", "Done."]);

    // Not even for one frame: everything ever written to the terminal is free of them.
    let raw = app.raw();
    for marker in [&b"**"[..], b"``", b"# T", b"- one"] {
        assert!(
            !contains(&raw, marker),
            "{:?} reached the terminal",
            String::from_utf8_lossy(marker)
        );
    }
    // The code is highlighted (base16-ocean.dark in the 256-colour palette: no
    // COLORTERM in the test's environment).
    {
        let parser = app.parser.lock().unwrap();
        let screen = parser.screen();
        let (row, col) = (0..ROWS)
            .find_map(|r| {
                let text: String = screen.contents_between(r, 0, r, COLS);
                text.find("fn main")
                    .map(|c| (r, text[..c].chars().count() as u16))
            })
            .expect("the code is on screen");
        let cell = screen.cell(row, col).expect("a cell");
        assert_eq!(cell.contents(), "f");
        assert_eq!(cell.fgcolor(), vt100::Color::Idx(139));
    }

    app.quit();
    assert_terminal_restored(&app);
}

// ---------------------------------------------------------------------------------------
// The first-run download of a local model, against a hub on 127.0.0.1 (HF_ENDPOINT)
// ---------------------------------------------------------------------------------------

/// Where the pinned default model is asked for on the hub.
#[cfg(feature = "local")]
const DEFAULT_MODEL_PATH: &str = "/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/9217f5db79a29953eb74d5343926648285ec7e67/qwen2.5-0.5b-instruct-q8_0.gguf";

#[cfg(feature = "local")]
fn models_cache(sandbox: &Sandbox) -> PathBuf {
    sandbox
        .path("home")
        .join(".cache")
        .join("tinychat")
        .join("models")
}

/// A hub on 127.0.0.1 that answers the default model's download with `response`.
#[cfg(feature = "local")]
fn model_hub(response: MockResponse) -> MockServer {
    MockServer::start_in_background(vec![(
        DEFAULT_MODEL_PATH,
        response.with_header("content-type", "application/octet-stream"),
    )])
}

/// tinychat with nothing set up and `HF_ENDPOINT=endpoint`, after Enter on the
/// welcome's download offer.
#[cfg(feature = "local")]
fn start_welcome_download(endpoint: &str) -> (Sandbox, Tinychat) {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let app = sandbox.spawn_with_env(&[], &[("HF_ENDPOINT", endpoint)]);
    app.wait_for_text("Enter: download Qwen2.5 0.5B Instruct (≈ 676 MB) and chat offline.");
    app.send(ENTER);
    (sandbox, app)
}

#[cfg(feature = "local")]
fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(feature = "local")]
#[test]
fn the_welcome_download_without_a_network_says_why_and_leaves_nothing() {
    let (sandbox, mut app) = start_welcome_download("http://127.0.0.1:9");
    app.wait_for_text("The download failed: cannot reach 127.0.0.1:9");
    app.wait_until("the error on the status line", |t| {
        t.status_line()
            .contains("download failed: cannot reach 127.0.0.1:9")
    });
    app.wait_for_text("Enter tries again");
    assert_eq!(files_in(&models_cache(&sandbox)), Vec::<String>::new());
    app.quit();
    assert_terminal_restored(&app);
}

#[cfg(feature = "local")]
#[test]
fn esc_stops_the_welcome_download_and_keeps_the_part_for_a_resume() {
    // 4 MiB in 1 KiB pieces, 20 ms apart: slow enough to be stopped.
    let server = model_hub(
        MockResponse::json(200, vec![b'x'; 4 << 20])
            .chunked(1024)
            .with_pause(Duration::from_millis(20)),
    );
    let (sandbox, mut app) = start_welcome_download(&server.url(""));
    app.wait_for_text("Downloading Qwen2.5 0.5B Instruct · Esc stops");
    app.wait_until("progress on the status line", |t| {
        t.status_line().contains("% · Esc stops")
    });
    app.wait_for_text("░ ");
    app.send(ESC);
    app.wait_until("the stop on the status line", |t| {
        t.status_line()
            .contains("download stopped: Enter resumes it")
    });
    app.wait_for_text("Enter: download Qwen2.5 0.5B Instruct");
    // What arrived is kept for the next Enter; nothing is a model yet.
    assert_eq!(
        files_in(&models_cache(&sandbox)),
        ["qwen2.5-0.5b-instruct-q8_0.gguf.part"]
    );
    app.quit();
    assert_terminal_restored(&app);
}

#[cfg(feature = "local")]
#[test]
fn a_download_that_is_not_the_pinned_file_is_refused_and_removed() {
    let server = model_hub(
        MockResponse::json(200, vec![b'x'; 64 << 10])
            .with_header("content-length", "65536")
            .chunked(4096),
    );
    let (sandbox, mut app) = start_welcome_download(&server.url(""));
    app.wait_for_text("The download failed:");
    app.wait_until("the reason on the status line", |t| {
        t.status_line()
            .contains("download failed: qwen2.5-0.5b-instruct-q8_0.gguf")
    });
    assert_eq!(files_in(&models_cache(&sandbox)), Vec::<String>::new());
    app.quit();
    assert_terminal_restored(&app);
}

// ---------------------------------------------------------------------------------------
// A model running inside tinychat: the tiny GGUF the library writes for tests
// ---------------------------------------------------------------------------------------

#[cfg(feature = "local")]
#[test]
fn a_local_model_answers_inside_the_process_with_no_server_and_no_key() {
    use tinychat::provider::local::testing::{TinySpec, write_tiny_gguf};

    let sandbox = Sandbox::new();
    let model = sandbox.path("work").join("tiny-chat.gguf");
    write_tiny_gguf(&model, &TinySpec::replying("qwen2", "Howdy!")).unwrap();
    sandbox.write_config(&format!(
        "temperature = 0\n[local]\nmodels = [\"{}\"]\n",
        model.display()
    ));
    let mut app = sandbox.spawn(&[]);
    // Nothing else is set up: the local model is found and becomes the active one.
    app.wait_until(
        "the local model in the sidebar and on the status line",
        |t| {
            t.screen_text().contains("local (local, CPU)")
                && t.status_line().starts_with(" local/tiny-chat · idle")
        },
    );
    assert!(
        app.screen_text().contains("▸ tiny-chat"),
        "{}",
        app.framed_screen()
    );
    say(&app, "hello");
    app.wait_until("the local reply and the idle state", |t| {
        t.screen_text().contains("Howdy!") && t.status_line().contains("local/tiny-chat · idle")
    });
    assert_eq!(
        app.conversation_rows(5),
        [
            "You",
            "hello",
            "",
            // The in-process engine reports its counts like any provider.
            "Assistant · local/tiny-chat · 20 in · 6 out",
            "Howdy!"
        ]
    );
    app.quit();
    assert_terminal_restored(&app);

    let (_, saved) = sandbox.only_conversation();
    let messages = saved["messages"].as_array().unwrap();
    assert_eq!(messages[1]["content"], "Howdy!");
    assert_eq!(messages[1]["model"], "local/tiny-chat");
    assert_eq!(messages[1]["finish"], "stop");
    // One token per reply byte; the end-of-turn token is not counted as text.
    assert_eq!(messages[1]["usage"]["output_tokens"], 6);
}

/// Issue 10: one huge event must not freeze the UI. The reply's first words, then one
/// 4 MB `data:` line arriving in 64 KiB chunks 20 ms apart (about 1.3 s of flood), then
/// silence. eventsource-stream re-scanned its buffer per chunk on the UI's thread, so Esc
/// waited for seconds; now the body is parsed in linear time off the UI's thread.
#[test]
fn esc_is_answered_at_once_while_one_huge_event_floods_in() {
    let mut huge = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"".to_vec();
    huge.resize(4_000_000, b'x');
    let first = delta("Reading");
    let mut chunks: Vec<&[u8]> = vec![first.as_bytes()];
    chunks.extend(huge.chunks(64 * 1024));
    let flood = MockResponse::sse("")
        .with_chunks(&chunks)
        .with_pause(Duration::from_millis(20))
        .ending(End::Stall);
    let (_server, sandbox) = mock_with(vec![flood]);
    let app = sandbox.spawn(&[]);
    say_and_wait_while_streaming(&app, "hello", "Reading");
    std::thread::sleep(Duration::from_millis(200));
    let pressed = Instant::now();
    app.send(ESC);
    app.wait_for_text("■ stopped");
    let answered = pressed.elapsed();
    eprintln!("Esc answered in {answered:?} during the flood");
    assert!(answered < Duration::from_secs(1), "Esc took {answered:?}");
}
