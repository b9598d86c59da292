//! `App::update` as a pure function: keys and stream events in, state and effects out.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use pretty_assertions::assert_eq;

use super::*;
use crate::clipboard::{CopyError, CopyMethod};
use crate::config::Config;
use crate::conversation::{Finish, Role, Usage};
use crate::model_settings::ModelInfo;
use crate::provider::ChatRequest;
use crate::provider::{ChatMessage, Problem, RetryHint, StreamEvent};
use crate::storage::{IoAction, StorageError};
use crate::view::layout;

/// What the storage layer reports when the operating system refuses with `errno`.
pub(super) fn os_error(action: IoAction, path: &str, errno: i32) -> StorageError {
    StorageError::Io {
        action,
        path: PathBuf::from(path),
        source: std::io::Error::from_raw_os_error(errno),
    }
}

fn config() -> Config {
    Config::from_toml(
        "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"m1\", \"m2\"]\n\
         [[providers]]\nname = \"other\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"x\"]\n",
        Path::new("test.toml"),
        &|_| None,
    )
    .unwrap()
}

fn app() -> App {
    let (mut app, _) = App::new(AppOptions {
        config: config(),
        model: Some("local/m1".into()),
        conversation: None,
        config_path: PathBuf::from("test.toml"),
    });
    app.resize(100, 30);
    app
}

fn key(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    app.update(Msg::Term(Event::Key(KeyEvent::new(code, modifiers))))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    key(app, KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn enter(app: &mut App) -> Vec<Effect> {
    key(app, KeyCode::Enter, KeyModifiers::NONE)
}

fn stream(app: &mut App, id: StreamId, event: StreamEvent, at: Instant) -> Vec<Effect> {
    app.update(Msg::Stream { id, event, at })
}

/// The id and request of the stream the effects start.
fn started(fx: &[Effect]) -> (StreamId, String, ChatRequest) {
    fx.iter()
        .find_map(|e| match e {
            Effect::StartStream {
                id,
                provider,
                request,
            } => Some((*id, provider.name.clone(), request.clone())),
            _ => None,
        })
        .expect("a stream starts")
}

fn user(text: &str) -> ChatMessage {
    ChatMessage {
        role: Role::User,
        content: text.into(),
    }
}

fn assistant(text: &str) -> ChatMessage {
    ChatMessage {
        role: Role::Assistant,
        content: text.into(),
    }
}

fn saves(fx: &[Effect]) -> usize {
    fx.iter().filter(|e| matches!(e, Effect::Save(_))).count()
}

/// Whether the effects start a stream.
fn starts_stream(fx: &[Effect]) -> bool {
    fx.iter().any(|e| matches!(e, Effect::StartStream { .. }))
}

/// Whether the effects cancel stream `id`.
fn cancels(fx: &[Effect], id: StreamId) -> bool {
    fx.iter()
        .any(|e| matches!(e, Effect::CancelStream(c) if *c == id))
}

fn notice_text(app: &App) -> Option<&str> {
    app.chrome.notice.as_ref().map(|n| n.text.as_str())
}

/// Types `text`, presses Enter and returns the id of the stream that starts.
fn send(app: &mut App, text: &str) -> StreamId {
    type_text(app, text);
    started(&enter(app)).0
}

fn delta(app: &mut App, id: StreamId, text: &str, at: Instant) -> Vec<Effect> {
    stream(app, id, StreamEvent::Delta(text.into()), at)
}

fn finish_stream(app: &mut App, id: StreamId, finish: Finish, at: Instant) -> Vec<Effect> {
    stream(app, id, StreamEvent::Finished(finish), at)
}

/// Streams `text` into stream `id` as one delta, then ends it with `finish`.
fn answer(app: &mut App, id: StreamId, text: &str, finish: Finish) {
    let t = Instant::now();
    delta(app, id, text, t);
    stream(app, id, StreamEvent::Finished(finish), t);
}

#[test]
fn start_asks_for_every_enabled_providers_models() {
    let (app, fx) = App::new(AppOptions {
        config: config(),
        model: None,
        conversation: None,
        config_path: PathBuf::from("t"),
    });
    let names: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::LoadModels(p) => Some(p.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["ollama", "local", "other"]);
    assert_eq!(app.session.active_model.as_deref(), Some("local/m1"));
}

#[test]
fn model_info_takes_what_discovery_said_over_the_config_and_the_config_for_the_rest() {
    let config = Config::from_toml(
        "[[providers]]\nname = \"router\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
         context_window = 8192\nprice_in = 1.0\nprice_out = 2.0\n\
         [providers.per_model.\"quiet\"]\ncontext_window = 4096\n",
        Path::new("test.toml"),
        &|_| None,
    )
    .unwrap();
    let (mut app, _) = App::new(AppOptions {
        config,
        model: None,
        conversation: None,
        config_path: PathBuf::from("test.toml"),
    });
    let discovered = ModelInfo {
        context: Some(128_000),
        max_output: Some(16384),
        price_in: Some(0.15),
        price_out: None,
    };
    app.update(Msg::ModelsLoaded {
        provider: "router".into(),
        models: vec!["described".into(), "quiet".into()],
        info: std::collections::BTreeMap::from([("described".to_owned(), discovered)]),
        error: None,
    });
    assert_eq!(
        app.model_info("router/described"),
        ModelInfo {
            context: Some(128_000),
            max_output: Some(16384),
            price_in: Some(0.15),
            price_out: Some(2.0),
        }
    );
    assert_eq!(
        app.model_info("router/quiet"),
        ModelInfo {
            context: Some(4096),
            max_output: None,
            price_in: Some(1.0),
            price_out: Some(2.0),
        }
    );

    // A second message (Ollama's `/api/show`) adds to it; a new discovery replaces it.
    app.update(Msg::ModelInfoLoaded {
        provider: "router".into(),
        info: std::collections::BTreeMap::from([(
            "quiet".to_owned(),
            ModelInfo {
                context: Some(40960),
                ..ModelInfo::default()
            },
        )]),
    });
    assert_eq!(app.model_info("router/quiet").context, Some(40960));
    assert_eq!(app.model_info("router/described").context, Some(128_000));
    app.update(Msg::ModelsLoaded {
        provider: "router".into(),
        models: vec!["described".into(), "quiet".into()],
        info: std::collections::BTreeMap::new(),
        error: None,
    });
    assert_eq!(app.model_info("router/described").context, Some(8192));
    assert_eq!(app.model_info("router/quiet").context, Some(4096));
}

#[test]
fn failed_discovery_shows_the_built_in_list_and_says_why() {
    let mut app = app();
    app.update(Msg::ModelsLoaded {
        provider: "other".into(),
        models: vec!["fallback-1".into()],
        info: std::collections::BTreeMap::new(),
        error: Some(
            Problem::Connect {
                message: "cannot connect to http://127.0.0.1:9/v1: connection refused".into(),
                hint: None,
            }
            .at("other"),
        ),
    });
    assert_eq!(
        notice_text(&app),
        Some(
            "cannot list models: other: cannot connect to http://127.0.0.1:9/v1: connection refused"
        )
    );
    let other = app
        .session
        .catalog
        .providers
        .iter()
        .position(|p| p.name == "other")
        .unwrap();
    assert_eq!(
        app.session.catalog.hint_lines(other).join(" "),
        "cannot list models: built-in list"
    );
    assert_eq!(app.session.catalog.providers[other].models, ["fallback-1"]);
}

#[test]
fn enter_sends_the_draft_saves_and_starts_a_stream() {
    let mut app = app();
    type_text(&mut app, "hello");
    let fx = enter(&mut app);
    assert_eq!(saves(&fx), 1);
    let (_, provider, request) = started(&fx);
    assert_eq!(provider, "local");
    assert_eq!(request.model, "m1");
    assert_eq!(request.messages, [user("hello")]);
    assert!(app.chrome.input.is_empty());
    assert_eq!(app.session.conversation.messages.len(), 2);
    assert!(app.session.conversation.messages[1].is_streaming());
    assert_eq!(
        app.session.conversation.messages[1].model.as_deref(),
        Some("local/m1")
    );
    assert_eq!(app.session.conversation.title, "hello");
}

#[test]
fn alt_enter_adds_a_line_instead_of_sending() {
    let mut app = app();
    type_text(&mut app, "a");
    let fx = key(&mut app, KeyCode::Enter, KeyModifiers::ALT);
    type_text(&mut app, "b");
    assert!(!starts_stream(&fx));
    assert_eq!(app.chrome.input.lines(), ["a", "b"]);
    assert_eq!(
        app.view.areas.input.height, 4,
        "the input grows with its text"
    );
    let (_, _, request) = started(&enter(&mut app));
    assert_eq!(request.messages, [user("a\nb")]);
    assert_eq!(app.view.areas.input.height, 3, "and shrinks back once sent");
}

#[test]
fn empty_draft_is_not_sent() {
    let mut app = app();
    type_text(&mut app, "   ");
    let fx = enter(&mut app);
    assert!(!starts_stream(&fx));
    assert!(app.session.conversation.messages.is_empty());
}

#[test]
fn deltas_build_the_reply_and_finish_saves_it() {
    let mut app = app();
    let id = send(&mut app, "hi");
    let t = Instant::now();
    delta(&mut app, id, "Hel", t);
    delta(&mut app, id, "lo!", t);
    stream(
        &mut app,
        id,
        StreamEvent::Usage(Usage {
            input_tokens: 5,
            output_tokens: 2,
            ..Usage::default()
        }),
        t,
    );
    let fx = stream(&mut app, id, StreamEvent::Finished(Finish::Stop), t);
    assert_eq!(saves(&fx), 1);
    let reply = &app.session.conversation.messages[1];
    assert_eq!(reply.content, "Hello!");
    assert_eq!(reply.finish, Some(Finish::Stop));
    assert_eq!(
        reply.usage.as_deref(),
        Some(&Usage {
            input_tokens: 5,
            output_tokens: 2,
            ..Usage::default()
        })
    );
    assert!(app.session.stream.is_none());
}

#[test]
fn a_batch_of_deltas_is_laid_out_once_at_its_end_and_matches_one_by_one() {
    let text = [
        "# Title\n",
        "Some **bold",
        "** text.\n\n- a\n",
        "- b\n\n```rust\nfn x",
        "() {}\n```\nend",
    ];
    let mut one_by_one = app();
    one_by_one.resize(60, 30);
    let id = send(&mut one_by_one, "hi");
    let t = Instant::now();
    for piece in text {
        delta(&mut one_by_one, id, piece, t);
    }

    let mut batched = app();
    batched.resize(60, 30);
    let id = send(&mut batched, "hi");
    let rows_before = batched.view.history.total_rows();
    let msgs = text.map(|piece| Msg::Stream {
        id,
        event: StreamEvent::Delta(piece.into()),
        at: t,
    });
    let fx = batched.update_batch(msgs);
    assert!(fx.iter().any(|e| matches!(e, Effect::Redraw)));
    assert!(batched.view.history.total_rows() > rows_before);
    assert_eq!(
        batched.view.history.total_rows(),
        one_by_one.view.history.total_rows()
    );
    assert_eq!(batched.view.history.total_rows(), 3 + 13);
    // Outside a batch the layout follows every delta again.
    delta(&mut batched, id, "\n\nmore", t);
    assert_eq!(batched.view.history.total_rows(), 3 + 15);
}

#[test]
fn esc_cancels_and_a_late_delta_is_dropped() {
    let mut app = app();
    let id = send(&mut app, "hi");
    let t = Instant::now();
    delta(&mut app, id, "partial", t);
    let fx = key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(cancels(&fx, id));
    assert_eq!(saves(&fx), 1);
    // The stream task may still have sent events before it was aborted.
    let late = delta(&mut app, id, " more", t);
    stream(&mut app, id, StreamEvent::Finished(Finish::Stop), t);
    assert!(late.is_empty());
    let reply = &app.session.conversation.messages[1];
    assert_eq!(reply.content, "partial");
    assert_eq!(reply.finish, Some(Finish::Cancelled));
    assert_eq!(app.session.outcome, Outcome::Stopped);
}

#[test]
fn events_of_an_old_stream_never_reach_a_new_reply() {
    let mut app = app();
    let first = send(&mut app, "one");
    key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    let second = send(&mut app, "two");
    assert_ne!(first, second);
    let t = Instant::now();
    delta(&mut app, first, "old", t);
    delta(&mut app, second, "new", t);
    assert_eq!(app.session.conversation.messages[3].content, "new");
}

#[test]
fn switching_model_in_the_sidebar_carries_the_whole_history() {
    let mut app = app();
    let id = send(&mut app, "hello");
    answer(&mut app, id, "Hi", Finish::Stop);

    ctrl(&mut app, 'p');
    assert_eq!(app.chrome.focus, Focus::Sidebar);
    type_text(&mut app, "OTH");
    assert_eq!(
        app.session.catalog.selected_model().as_deref(),
        Some("other/x")
    );
    enter(&mut app);
    assert_eq!(app.chrome.focus, Focus::Input);
    assert_eq!(app.session.active_model.as_deref(), Some("other/x"));
    assert_eq!(app.session.catalog.filter, "");

    type_text(&mut app, "again");
    let (_, provider, request) = started(&enter(&mut app));
    assert_eq!(provider, "other");
    assert_eq!(request.model, "x");
    assert_eq!(
        request.messages,
        [user("hello"), assistant("Hi"), user("again")]
    );
    assert_eq!(
        app.session.conversation.messages[3].model.as_deref(),
        Some("other/x")
    );
}

#[test]
fn sidebar_arrows_choose_among_models_only() {
    let mut app = app();
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(app.chrome.focus, Focus::Sidebar);
    key(&mut app, KeyCode::Down, KeyModifiers::NONE);
    assert_eq!(
        app.session.catalog.selected_model().as_deref(),
        Some("local/m2")
    );
    key(&mut app, KeyCode::Down, KeyModifiers::NONE);
    assert_eq!(
        app.session.catalog.selected_model().as_deref(),
        Some("other/x")
    );
    key(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(app.session.active_model.as_deref(), Some("other/x"));
}

#[test]
fn a_failed_turn_keeps_its_error_and_does_not_poison_the_next_request() {
    let mut app = app();
    let id = send(&mut app, "hello");
    let error = Problem::Http {
        status: 401,
        code: Some("invalid_api_key".into()),
        message: "Incorrect API key provided.".into(),
        hint: None,
        retry: RetryHint::default(),
    }
    .at("local");
    let fx = stream(&mut app, id, StreamEvent::Failed(error), Instant::now());
    assert_eq!(saves(&fx), 1);
    let reply = &app.session.conversation.messages[1];
    assert_eq!(reply.finish, Some(Finish::Error));
    assert_eq!(
        reply.error.as_deref(),
        Some("local: HTTP 401 invalid_api_key: Incorrect API key provided.")
    );
    assert_eq!(app.session.outcome, Outcome::Failed);
    assert!(app.chrome.notice.as_ref().is_some_and(|n| n.is_error));

    type_text(&mut app, "retry");
    let (_, _, request) = started(&enter(&mut app));
    // The empty failed reply is left out; two user turns in a row are valid.
    assert_eq!(request.messages, [user("hello"), user("retry")]);
}

#[test]
fn incomplete_reply_keeps_partial_text_and_is_marked() {
    let mut app = app();
    let id = send(&mut app, "q");
    let t = Instant::now();
    delta(&mut app, id, "half an ans", t);
    stream(
        &mut app,
        id,
        StreamEvent::Failed(Problem::Incomplete.at("local")),
        t,
    );
    let reply = &app.session.conversation.messages[1];
    assert_eq!(reply.content, "half an ans");
    assert_eq!(reply.finish, Some(Finish::Incomplete));
    type_text(&mut app, "go on");
    let (_, _, request) = started(&enter(&mut app));
    assert_eq!(
        request.messages,
        [user("q"), assistant("half an ans"), user("go on")]
    );
}

#[test]
fn streaming_reply_is_saved_at_least_every_two_seconds() {
    let mut app = app();
    let id = send(&mut app, "q");
    let t = Instant::now();
    let mut saved_at = Vec::new();
    for ms in (0..=5000).step_by(250) {
        let fx = delta(&mut app, id, "x", t + Duration::from_millis(ms));
        if saves(&fx) > 0 {
            saved_at.push(ms);
        }
    }
    // Text from 0 ms is saved at 2000; the next unsaved text (2250) by 4250.
    assert_eq!(saved_at, [2000, 4250]);
}

#[test]
fn text_that_stops_arriving_is_saved_by_its_deadline() {
    let mut app = app();
    let id = send(&mut app, "q");
    assert_eq!(app.next_tick(), None);
    let t = Instant::now();
    let fx = delta(&mut app, id, "Partial", t);
    assert_eq!(saves(&fx), 0);
    // The stream stalls: the runtime wakes at the deadline and the text is saved.
    assert_eq!(app.next_tick(), Some(t + Duration::from_secs(2)));
    let fx = app.update(Msg::Tick(t + Duration::from_secs(2)));
    assert_eq!(saves(&fx), 1);
    match fx.iter().find_map(|e| match e {
        Effect::Save(c) => Some(c.messages[1].content.clone()),
        _ => None,
    }) {
        Some(content) => assert_eq!(content, "Partial"),
        None => panic!("no save"),
    }
    assert_eq!(app.next_tick(), None, "nothing unsaved: no timer");
}

#[test]
fn enter_while_streaming_keeps_the_draft() {
    let mut app = app();
    type_text(&mut app, "one");
    enter(&mut app);
    type_text(&mut app, "two");
    let fx = enter(&mut app);
    assert!(!starts_stream(&fx));
    assert_eq!(app.chrome.input.lines(), ["two"]);
    assert_eq!(
        notice_text(&app),
        Some("a reply is still streaming: Esc stops it")
    );
}

#[test]
fn sending_without_a_usable_model_says_why_and_keeps_the_draft() {
    let (mut app, _) = App::new(AppOptions {
        config: Config::from_toml("", Path::new("t"), &|_| None).unwrap(),
        model: None,
        conversation: None,
        config_path: PathBuf::from("t"),
    });
    app.resize(80, 24);
    // As in a build with no model to download (the offer has its own tests).
    app.session.first_run = None;
    type_text(&mut app, "hello");
    let fx = enter(&mut app);
    assert!(!starts_stream(&fx));
    assert_eq!(app.chrome.input.lines(), ["hello"]);
    assert!(app.session.conversation.messages.is_empty());
    assert_eq!(
        notice_text(&app),
        Some("no provider is set up: see the welcome text for how to add one")
    );
}

#[test]
fn ctrl_s_prompts_for_a_path_and_enter_exports() {
    let mut app = app();
    let id = send(&mut app, "Hello World!");
    finish_stream(&mut app, id, Finish::Stop, Instant::now());
    ctrl(&mut app, 's');
    match &app.chrome.popup {
        Some(Popup::SaveAs(save)) => assert_eq!(
            save.editor.lines(),
            [super::popup::default_file_name(&app.session.conversation)]
        ),
        _ => panic!("save prompt expected"),
    }
    ctrl(&mut app, 'u');
    type_text(&mut app, "/tmp/out.txt");
    let fx = enter(&mut app);
    let path = fx.iter().find_map(|e| match e {
        Effect::Export {
            path, conversation, ..
        } => {
            assert_eq!(conversation.messages.len(), 2);
            Some(path.clone())
        }
        _ => None,
    });
    assert_eq!(path.as_deref(), Some("/tmp/out.txt"));
    assert!(app.chrome.popup.is_none());
    app.update(Msg::Exported(Ok(PathBuf::from("/tmp/out.txt"))));
    assert_eq!(notice_text(&app), Some("saved to /tmp/out.txt"));
}

#[test]
fn esc_closes_the_save_prompt_without_writing() {
    let mut app = app();
    ctrl(&mut app, 's');
    let fx = key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(app.chrome.popup.is_none());
    assert!(!fx.iter().any(|e| matches!(e, Effect::Export { .. })));
}

#[test]
fn quitting_mid_reply_stops_it_saves_and_quits() {
    let mut app = app();
    let id = send(&mut app, "q");
    let fx = ctrl(&mut app, 'q');
    assert!(cancels(&fx, id));
    assert_eq!(saves(&fx), 1);
    assert!(fx.iter().any(|e| matches!(e, Effect::Quit)));
    assert!(app.chrome.quitting);
}

#[test]
fn key_releases_are_ignored() {
    let mut app = app();
    let mut release = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    let fx = app.update(Msg::Term(Event::Key(release)));
    assert!(fx.is_empty());
    assert!(app.chrome.input.is_empty());
}

#[test]
fn paste_inserts_lines_without_sending() {
    let mut app = app();
    let fx = app.update(Msg::Term(Event::Paste("line one\r\nline two".into())));
    assert!(!starts_stream(&fx));
    assert_eq!(app.chrome.input.lines(), ["line one", "line two"]);
}

#[test]
fn regenerate_replaces_the_last_reply() {
    let mut app = app();
    let id = send(&mut app, "q");
    answer(&mut app, id, "first", Finish::Stop);
    let (_, _, request) = started(&ctrl(&mut app, 'r'));
    assert_eq!(request.messages, [user("q")]);
    assert_eq!(app.session.conversation.messages.len(), 2);
    assert_eq!(app.session.conversation.messages[1].content, "");
}

#[test]
fn new_conversation_starts_empty_with_the_same_model() {
    let mut app = app();
    type_text(&mut app, "q");
    enter(&mut app);
    let fx = ctrl(&mut app, 'n');
    assert_eq!(saves(&fx), 1, "the stopped reply is saved");
    assert!(app.session.conversation.messages.is_empty());
    assert_eq!(app.session.active_model.as_deref(), Some("local/m1"));
}

#[test]
fn system_prompt_is_edited_with_f2_and_sent() {
    let mut app = app();
    key(&mut app, KeyCode::F(2), KeyModifiers::NONE);
    type_text(&mut app, "Be brief.");
    enter(&mut app);
    assert_eq!(
        app.session.conversation.system_prompt.as_deref(),
        Some("Be brief.")
    );
    type_text(&mut app, "q");
    let (_, _, request) = started(&enter(&mut app));
    assert_eq!(request.system_prompt.as_deref(), Some("Be brief."));
}

#[test]
fn scrolling_up_stops_following_and_end_resumes() {
    let mut app = app();
    for i in 0..30 {
        let id = send(&mut app, &format!("message {i}"));
        finish_stream(&mut app, id, Finish::Stop, Instant::now());
    }
    key(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
    assert!(
        !app.view.viewport.follow,
        "PageUp scrolls from the input too"
    );
    key(&mut app, KeyCode::PageDown, KeyModifiers::NONE);
    assert!(app.view.viewport.follow);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
    assert!(!app.view.viewport.follow);
    key(&mut app, KeyCode::End, KeyModifiers::NONE);
    assert!(app.view.viewport.follow);
    key(&mut app, KeyCode::Up, KeyModifiers::NONE);
    assert_eq!(app.chrome.selected, Some(59));
}

#[test]
fn a_retry_wait_counts_down_on_the_status_line_and_esc_stops_it() {
    let mut app = app();
    let id = send(&mut app, "q");
    assert_eq!(app.next_tick(), None, "no timer while simply waiting");
    let t = Instant::now();
    stream(
        &mut app,
        id,
        StreamEvent::Retrying {
            reason: "rate limited".into(),
            delay: Duration::from_millis(4500),
            attempt: 1,
            of: 2,
        },
        t,
    );
    assert_eq!(
        crate::ui::status::state_text(&app),
        "rate limited, retrying in 5 s (1 of 2) · Esc stops"
    );
    // The next tick comes when the shown number changes: 4.5 s - 4 s after the event.
    assert_eq!(app.next_tick(), Some(t + Duration::from_millis(500)));
    app.update(Msg::Tick(t + Duration::from_millis(500)));
    assert_eq!(
        crate::ui::status::state_text(&app),
        "rate limited, retrying in 4 s (1 of 2) · Esc stops"
    );
    let fx = key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(cancels(&fx, id));
    assert_eq!(
        app.session.conversation.messages[1].finish,
        Some(Finish::Cancelled)
    );
    assert_eq!(app.next_tick(), None);
}

#[test]
fn the_first_token_after_a_retry_clears_the_countdown() {
    let mut app = app();
    let id = send(&mut app, "q");
    let t = Instant::now();
    stream(
        &mut app,
        id,
        StreamEvent::Retrying {
            reason: "overloaded".into(),
            delay: Duration::from_secs(1),
            attempt: 1,
            of: 2,
        },
        t,
    );
    delta(&mut app, id, "Hi", t + Duration::from_secs(2));
    // Only the autosave deadline of the new text remains.
    assert_eq!(app.next_tick(), Some(t + Duration::from_secs(4)));
    assert_eq!(crate::ui::status::state_text(&app), "streaming · 1 token");
}

/// A conversation `id`: the prompt `title` and `model`'s finished reply `answer`.
fn conversation(
    id: &str,
    title: &str,
    model: &str,
    answer: &str,
) -> crate::conversation::Conversation {
    let mut c = crate::conversation::Conversation::new(None);
    c.id = id.into();
    c.push_user(title);
    let mut reply = crate::conversation::Message::assistant_pending(model);
    reply.content = answer.into();
    reply.finish = Some(Finish::Stop);
    c.messages.push(std::sync::Arc::new(reply));
    c
}

/// A saved conversation as the browser lists it.
fn saved(id: &str, title: &str, model: &str) -> crate::storage::index::IndexEntry {
    let c = conversation(id, title, model, "an answer");
    crate::storage::index::IndexEntry::from_conversation(&c, PathBuf::from(format!("/d/{id}.json")))
}

fn open_browser_with(app: &mut App, entries: Vec<crate::storage::index::IndexEntry>) {
    let fx = ctrl(app, 'o');
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadIndex)));
    assert!(matches!(app.chrome.popup, Some(Popup::Browser(_))));
    app.update(Msg::IndexLoaded(entries));
}

fn browser(app: &App) -> &Browser {
    match &app.chrome.popup {
        Some(Popup::Browser(b)) => b,
        _ => panic!("the browser is not open"),
    }
}

#[test]
fn ctrl_o_lists_saved_conversations_and_typing_filters_them() {
    let mut app = app();
    open_browser_with(
        &mut app,
        vec![
            saved("c3", "Rust lifetimes", "local/m1"),
            saved("c2", "Pasta recipe", "other/x"),
            saved("c1", "More rust questions", "local/m2"),
        ],
    );
    assert_eq!(browser(&app).hits.len(), 3);
    type_text(&mut app, "RUST");
    let b = browser(&app);
    assert_eq!(b.query, "RUST");
    let ids: Vec<_> = b
        .hits
        .iter()
        .map(|h| b.entries.as_ref().unwrap()[h.entry].id.as_str())
        .collect();
    assert_eq!(ids, ["c3", "c1"]);
}

#[test]
fn enter_in_the_browser_opens_the_conversation_and_restores_its_model() {
    let mut app = app();
    open_browser_with(
        &mut app,
        vec![
            saved("c2", "first", "local/m1"),
            saved("c1", "second", "other/x"),
        ],
    );
    key(&mut app, KeyCode::Down, KeyModifiers::NONE);
    let fx = enter(&mut app);
    let id = fx.iter().find_map(|e| match e {
        Effect::OpenConversation { id } => Some(id.clone()),
        _ => None,
    });
    assert_eq!(id.as_deref(), Some("c1"));
    assert!(app.chrome.popup.is_none());

    let c = conversation("c1", "second", "other/x", "old answer");
    app.update(Msg::Opened(Ok(crate::storage::Opened {
        conversation: c,
        notice: None,
    })));
    assert_eq!(app.session.conversation.id, "c1");
    assert_eq!(app.session.active_model.as_deref(), Some("other/x"));
    assert_eq!(app.view.history.len(), 2);
    type_text(&mut app, "continue");
    let (_, provider, request) = started(&enter(&mut app));
    assert_eq!(provider, "other");
    assert_eq!(
        request.messages,
        [user("second"), assistant("old answer"), user("continue")]
    );
}

#[test]
fn d_asks_first_and_y_deletes() {
    let mut app = app();
    open_browser_with(&mut app, vec![saved("c1", "doomed", "local/m1")]);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    let fx = key(&mut app, KeyCode::Char('d'), KeyModifiers::NONE);
    assert!(
        fx.iter()
            .all(|e| !matches!(e, Effect::DeleteConversation { .. }))
    );
    assert!(matches!(browser(&app).pending, Some(Pending::Delete(0))));
    let fx = key(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::DeleteConversation { id } if id == "c1"))
    );
    app.update(Msg::IndexChanged {
        id: "c1".into(),
        result: Ok(IndexChange::Deleted),
    });
    assert!(browser(&app).hits.is_empty());
}

#[test]
fn any_other_answer_keeps_the_conversation() {
    let mut app = app();
    open_browser_with(&mut app, vec![saved("c1", "kept", "local/m1")]);
    let fx = ctrl(&mut app, 'd');
    assert!(
        fx.iter()
            .all(|e| !matches!(e, Effect::DeleteConversation { .. }))
    );
    let fx = key(&mut app, KeyCode::Char('n'), KeyModifiers::NONE);
    assert!(
        fx.iter()
            .all(|e| !matches!(e, Effect::DeleteConversation { .. }))
    );
    assert!(browser(&app).pending.is_none());
}

#[test]
fn r_renames_a_saved_conversation() {
    let mut app = app();
    open_browser_with(&mut app, vec![saved("c1", "old name", "local/m1")]);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, KeyCode::Char('r'), KeyModifiers::NONE);
    ctrl(&mut app, 'u');
    type_text(&mut app, "new name");
    let fx = enter(&mut app);
    let renamed = fx.iter().find_map(|e| match e {
        Effect::RenameConversation { id, title } => Some((id.clone(), title.clone())),
        _ => None,
    });
    assert_eq!(renamed, Some(("c1".into(), "new name".into())));
    app.update(Msg::IndexChanged {
        id: "c1".into(),
        result: Ok(IndexChange::Renamed("new name".into())),
    });
    assert_eq!(browser(&app).entries.as_ref().unwrap()[0].title, "new name");
}

#[test]
fn renaming_the_open_conversation_renames_it_in_memory_and_saves() {
    let mut app = app();
    let id = send(&mut app, "hello");
    finish_stream(&mut app, id, Finish::Stop, Instant::now());
    let current = app.session.conversation.id.clone();
    open_browser_with(&mut app, vec![saved(&current, "hello", "local/m1")]);
    ctrl(&mut app, 'r');
    ctrl(&mut app, 'u');
    type_text(&mut app, "greetings");
    let fx = enter(&mut app);
    assert_eq!(app.session.conversation.title, "greetings");
    assert_eq!(saves(&fx), 1);
    assert!(
        fx.iter()
            .all(|e| !matches!(e, Effect::RenameConversation { .. }))
    );
}

#[test]
fn esc_closes_the_browser() {
    let mut app = app();
    open_browser_with(&mut app, vec![]);
    key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(app.chrome.popup.is_none());
}

#[test]
fn a_failing_autosave_is_reported_once_and_again_after_it_recovers() {
    let mut app = app();
    let failure = || Msg::Saved(Err(os_error(IoAction::Write, "/ro/x.json", 13)));
    let fx = app.update(failure());
    assert!(fx.iter().any(|e| matches!(e, Effect::Redraw)));
    assert_eq!(
        notice_text(&app),
        Some(
            "autosave failed: cannot write /ro/x.json: Permission denied (os error 13); the conversation stays in memory (Ctrl+S saves elsewhere)"
        )
    );
    app.chrome.notice = None;
    assert!(
        app.update(failure()).is_empty(),
        "the same error is not repeated"
    );
    assert_eq!(app.chrome.notice, None);
    app.update(Msg::Saved(Ok(None)));
    app.update(failure());
    assert!(app.chrome.notice.as_ref().is_some_and(|n| n.is_error));
}

const CODE_REPLY: &str =
    "Two ways:\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\nor\n~~~sh\necho hi\n~~~\n";

/// An app whose conversation is "show me" and the finished reply `reply`.
fn app_with_reply(reply: &str) -> App {
    let mut app = app();
    let id = send(&mut app, "show me");
    answer(&mut app, id, reply, Finish::Stop);
    app
}

/// The (text, what) of every copy the effects ask for.
fn copies(fx: &[Effect]) -> Vec<(String, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Copy { text, what } => Some((text.clone(), what.clone())),
            _ => None,
        })
        .collect()
}

fn notice(app: &App) -> Option<(&str, bool)> {
    app.chrome
        .notice
        .as_ref()
        .map(|n| (n.text.as_str(), n.is_error))
}

fn copy_pair(text: &str, what: &str) -> (String, String) {
    (text.to_owned(), what.to_owned())
}

#[test]
fn y_copies_the_selected_message_exactly_and_keeps_the_focus() {
    let mut app = app_with_reply(CODE_REPLY);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, KeyCode::Up, KeyModifiers::NONE);
    key(&mut app, KeyCode::Up, KeyModifiers::NONE);
    assert_eq!(app.chrome.selected, Some(0));
    let fx = key(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(copies(&fx), [copy_pair("show me", "the selected message")]);
    assert_eq!(app.chrome.focus, Focus::Conversation);
    assert!(app.chrome.input.is_empty(), "the y was not typed");
    app.update(Msg::Copied(Ok(CopyMethod::SystemClipboard)));
    assert_eq!(
        notice(&app),
        Some((
            "copied the selected message (7 characters) to the clipboard",
            false
        ))
    );

    key(&mut app, KeyCode::Down, KeyModifiers::NONE);
    let fx = key(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(copies(&fx), [copy_pair(CODE_REPLY, "the selected message")]);
}

#[test]
fn with_nothing_selected_y_copies_the_last_message() {
    let mut app = app_with_reply("Hi ✓");
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(app.chrome.selected, None);
    let fx = key(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(copies(&fx), [copy_pair("Hi ✓", "the last message")]);
    app.update(Msg::Copied(Ok(CopyMethod::Osc52)));
    assert_eq!(
        notice(&app),
        Some((
            "copied the last message (4 characters) via the terminal (OSC 52)",
            false
        ))
    );
}

#[test]
fn digits_copy_that_code_block_of_the_selected_message() {
    let mut app = app_with_reply(CODE_REPLY);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, KeyCode::Up, KeyModifiers::NONE);
    assert_eq!(app.chrome.selected, Some(1));
    let fx = key(&mut app, KeyCode::Char('1'), KeyModifiers::NONE);
    assert_eq!(
        copies(&fx),
        [copy_pair(
            "fn main() {\n    println!(\"hi\");\n}",
            "code block 1"
        )]
    );
    let fx = key(&mut app, KeyCode::Char('2'), KeyModifiers::NONE);
    assert_eq!(copies(&fx), [copy_pair("echo hi", "code block 2")]);
    app.update(Msg::Copied(Ok(CopyMethod::SystemClipboard)));
    assert_eq!(
        notice(&app),
        Some(("copied code block 2 (7 characters) to the clipboard", false))
    );
    assert_eq!(app.chrome.focus, Focus::Conversation);
    assert!(app.chrome.input.is_empty(), "no digit was typed");
}

#[test]
fn a_missing_code_block_is_an_error_and_copies_nothing() {
    let mut app = app_with_reply(CODE_REPLY);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    let fx = key(&mut app, KeyCode::Char('3'), KeyModifiers::NONE);
    assert_eq!(copies(&fx), []);
    assert_eq!(
        notice(&app),
        Some(("message 2 has no code block 3 (it has 2)", true))
    );
    key(&mut app, KeyCode::Up, KeyModifiers::NONE);
    key(&mut app, KeyCode::Up, KeyModifiers::NONE);
    let fx = key(&mut app, KeyCode::Char('1'), KeyModifiers::NONE);
    assert_eq!(copies(&fx), []);
    assert_eq!(
        notice(&app),
        Some(("message 1 has no code block 1 (it has none)", true))
    );
    assert_eq!(app.chrome.focus, Focus::Conversation);
}

#[test]
fn other_letters_in_the_conversation_still_go_to_the_input() {
    let mut app = app_with_reply("ok");
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    let fx = key(&mut app, KeyCode::Char('x'), KeyModifiers::NONE);
    assert_eq!(copies(&fx), []);
    assert_eq!(app.chrome.focus, Focus::Input);
    assert_eq!(app.chrome.input.lines(), ["x"]);
}

#[test]
fn ctrl_y_copies_what_has_arrived_of_a_streaming_reply() {
    let mut app = app();
    let fx = ctrl(&mut app, 'y');
    assert_eq!(copies(&fx), []);
    assert_eq!(notice(&app), Some(("no reply to copy yet", true)));

    let id = send(&mut app, "hello");
    let fx = ctrl(&mut app, 'y');
    assert_eq!(copies(&fx), []);
    assert_eq!(
        notice(&app),
        Some(("the last reply has no text yet: nothing to copy", true))
    );
    delta(&mut app, id, "Part", Instant::now());
    delta(&mut app, id, "ial…", Instant::now());
    let fx = ctrl(&mut app, 'y');
    assert_eq!(copies(&fx), [copy_pair("Partial…", "the last reply")]);
    assert!(
        app.session.stream.is_some(),
        "copying does not stop the reply"
    );
    assert_eq!(app.chrome.focus, Focus::Input);
    assert_eq!(app.chrome.input.lines(), [""], "Ctrl+Y is not typed");
    app.update(Msg::Copied(Err(CopyError::Terminal(
        std::io::Error::other("broken pipe"),
    ))));
    assert_eq!(
        notice(&app),
        Some((
            "could not copy the last reply (8 characters): cannot write to the terminal: broken pipe",
            true
        ))
    );
}

#[test]
fn the_header_knows_the_code_blocks_of_each_message() {
    let app = app_with_reply(CODE_REPLY);
    assert_eq!(
        app.view.history.message(1).unwrap().code_labels(),
        ["rust", "sh"]
    );
    assert!(
        app.view
            .history
            .message(0)
            .unwrap()
            .code_labels()
            .is_empty()
    );
}

/// Sends `text` (lines joined with Alt+Enter) and lets the reply finish.
fn exchange(app: &mut App, text: &str) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            key(app, KeyCode::Enter, KeyModifiers::ALT);
        }
        type_text(app, line);
    }
    let (id, _, _) = started(&enter(app));
    answer(app, id, "ok", Finish::Stop);
}

fn up(app: &mut App) {
    key(app, KeyCode::Up, KeyModifiers::NONE);
}

fn down(app: &mut App) {
    key(app, KeyCode::Down, KeyModifiers::NONE);
}

#[test]
fn up_recalls_earlier_prompts_newest_first_and_down_brings_back_the_draft() {
    let mut app = app();
    exchange(&mut app, "first");
    exchange(&mut app, "second");
    type_text(&mut app, "draft");
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["second"]);
    assert_eq!(app.chrome.input.cursor(), (0, 6));
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["first"]);
    // Nothing older: the oldest stays.
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["first"]);
    down(&mut app);
    assert_eq!(app.chrome.input.lines(), ["second"]);
    down(&mut app);
    assert_eq!(app.chrome.input.lines(), ["draft"]);
    assert_eq!(app.chrome.input.cursor(), (0, 5));
    // Past the draft there is nothing newer.
    down(&mut app);
    assert_eq!(app.chrome.input.lines(), ["draft"]);
    assert_eq!(app.chrome.recall, None);
}

#[test]
fn up_and_down_move_the_cursor_unless_it_is_on_the_first_or_last_line() {
    let mut app = app();
    exchange(&mut app, "one\ntwo");
    type_text(&mut app, "a");
    key(&mut app, KeyCode::Enter, KeyModifiers::ALT);
    type_text(&mut app, "b");
    // On the draft's second line, Up moves the cursor.
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["a", "b"]);
    assert_eq!(app.chrome.input.cursor(), (0, 1));
    // On its first line, Up recalls; the cursor lands on the first line to go on back.
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["one", "two"]);
    assert_eq!(app.chrome.input.cursor(), (0, 3));
    // Down on the first line of two moves the cursor down...
    down(&mut app);
    assert_eq!(app.chrome.input.lines(), ["one", "two"]);
    assert_eq!(app.chrome.input.cursor(), (1, 3));
    // ...and on the last line comes forward to the draft.
    down(&mut app);
    assert_eq!(app.chrome.input.lines(), ["a", "b"]);
    assert_eq!(app.chrome.input.cursor(), (1, 1));
}

#[test]
fn an_edited_recalled_prompt_is_sent_as_edited_and_the_draft_comes_back() {
    let mut app = app();
    exchange(&mut app, "first");
    exchange(&mut app, "second");
    type_text(&mut app, "draft");
    up(&mut app);
    type_text(&mut app, "!");
    assert_eq!(app.chrome.input.lines(), ["second!"]);
    let (_, _, request) = started(&enter(&mut app));
    assert_eq!(request.messages.last(), Some(&user("second!")));
    assert_eq!(app.session.conversation.messages[4].content, "second!");
    assert_eq!(app.chrome.input.lines(), ["draft"]);
    assert_eq!(app.chrome.recall, None);
}

#[test]
fn edits_to_recalled_prompts_survive_walking_past_them() {
    let mut app = app();
    exchange(&mut app, "first");
    exchange(&mut app, "second");
    up(&mut app);
    type_text(&mut app, "X");
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["first"]);
    down(&mut app);
    assert_eq!(app.chrome.input.lines(), ["secondX"]);
    down(&mut app);
    // The draft was empty.
    assert_eq!(app.chrome.input.lines(), [""]);
    // A new walk starts from the prompts as sent.
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["second"]);
}

#[test]
fn up_without_earlier_prompts_keeps_the_draft() {
    let mut app = app();
    type_text(&mut app, "draft");
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["draft"]);
    assert_eq!(app.chrome.recall, None);
    // Assistant messages are not prompts.
    let mut app = self::app();
    exchange(&mut app, "only");
    up(&mut app);
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["only"]);
    assert_eq!(
        app.chrome.recall.as_ref().map(|r| r.draft.as_str()),
        Some("")
    );
}

#[test]
fn a_new_conversation_ends_the_walk_and_keeps_the_input() {
    let mut app = app();
    exchange(&mut app, "first");
    up(&mut app);
    ctrl(&mut app, 'n');
    assert_eq!(app.chrome.recall, None);
    assert_eq!(app.chrome.input.lines(), ["first"]);
    up(&mut app);
    assert_eq!(app.chrome.input.lines(), ["first"]);
}

/// An app whose conversation is "tell me" and a reply "Once upon" that ended with
/// `finish`.
fn app_with_ending(finish: Finish) -> App {
    let mut app = app();
    let id = send(&mut app, "tell me");
    answer(&mut app, id, "Once upon", finish);
    app
}

#[test]
fn a_cut_off_reply_says_how_to_continue() {
    let app = app_with_ending(Finish::Length);
    assert_eq!(
        notice(&app),
        Some(("cut off: Enter on an empty input continues", false))
    );
    assert_eq!(
        app.view.history.message(1).unwrap().footer,
        ["⚠ cut off at the token limit · Enter on an empty input continues"]
    );
}

#[test]
fn enter_on_an_empty_input_continues_a_cut_off_reply() {
    let mut app = app_with_ending(Finish::Length);
    type_text(&mut app, "  ");
    let fx = enter(&mut app);
    assert_eq!(saves(&fx), 1);
    let (_, provider, request) = started(&fx);
    assert_eq!(provider, "local");
    assert_eq!(
        request.messages,
        [
            user("tell me"),
            assistant("Once upon"),
            user("Continue exactly where you stopped.")
        ]
    );
    assert!(app.chrome.input.is_empty());
    assert_eq!(app.session.conversation.messages.len(), 4);
    assert_eq!(app.session.conversation.messages[2].role, Role::User);
    assert_eq!(
        app.session.conversation.messages[2].content,
        "Continue exactly where you stopped."
    );
    assert!(app.session.conversation.messages[3].is_streaming());
    assert_eq!(app.session.conversation.title, "tell me");
    // The cut-off reply is no longer last: its hint is gone.
    assert_eq!(
        app.view.history.message(1).unwrap().footer,
        ["⚠ cut off at the token limit"]
    );
    assert_eq!(app.chrome.notice, None);
}

#[test]
fn enter_on_an_empty_input_sends_nothing_after_other_endings() {
    for finish in [
        Finish::Stop,
        Finish::Cancelled,
        Finish::Error,
        Finish::Incomplete,
    ] {
        let mut app = app_with_ending(finish);
        let notice_before = app.chrome.notice.clone();
        type_text(&mut app, " ");
        let fx = enter(&mut app);
        assert!(!starts_stream(&fx), "{finish:?}");
        assert_eq!(app.session.conversation.messages.len(), 2, "{finish:?}");
        assert_eq!(app.chrome.input.lines(), [" "], "{finish:?}");
        assert_eq!(app.chrome.notice, notice_before, "{finish:?}");
    }
}

#[test]
fn enter_on_an_empty_input_sends_nothing_once_the_cut_off_reply_is_answered() {
    let mut app = app_with_ending(Finish::Length);
    // A cut-off reply further up is not continued by an empty Enter.
    let id = send(&mut app, "never mind");
    finish_stream(&mut app, id, Finish::Stop, Instant::now());
    let fx = enter(&mut app);
    assert!(!starts_stream(&fx));
    assert_eq!(app.session.conversation.messages.len(), 4);
}

#[test]
fn c_in_the_conversation_continues_a_cut_off_reply_and_keeps_the_draft() {
    let mut app = app_with_ending(Finish::Length);
    type_text(&mut app, "later");
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(app.chrome.focus, Focus::Conversation);
    let fx = key(&mut app, KeyCode::Char('c'), KeyModifiers::NONE);
    assert_eq!(saves(&fx), 1);
    let (_, _, request) = started(&fx);
    assert_eq!(
        request.messages.last(),
        Some(&user("Continue exactly where you stopped."))
    );
    assert_eq!(app.session.conversation.messages.len(), 4);
    assert!(app.session.conversation.messages[3].is_streaming());
    assert_eq!(app.chrome.input.lines(), ["later"], "the c was not typed");
    assert_eq!(app.chrome.focus, Focus::Conversation);
}

#[test]
fn c_without_a_cut_off_reply_says_there_is_nothing_to_continue() {
    let mut app = app_with_ending(Finish::Stop);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    let fx = key(&mut app, KeyCode::Char('c'), KeyModifiers::NONE);
    assert!(!starts_stream(&fx));
    assert_eq!(app.session.conversation.messages.len(), 2);
    assert_eq!(
        notice(&app),
        Some(("nothing to continue: the last reply was not cut off", true))
    );
    assert!(app.chrome.input.is_empty());
    assert_eq!(app.chrome.focus, Focus::Conversation);
}

#[test]
fn nothing_is_continued_while_a_reply_streams() {
    let mut app = app_with_ending(Finish::Length);
    let (id, _, _) = started(&enter(&mut app));
    delta(&mut app, id, " a time", Instant::now());
    // Enter on the empty input while the continuation streams.
    let fx = enter(&mut app);
    assert!(!starts_stream(&fx));
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    let fx = key(&mut app, KeyCode::Char('c'), KeyModifiers::NONE);
    assert!(!starts_stream(&fx));
    assert_eq!(
        notice(&app),
        Some(("a reply is still streaming: Esc stops it", true))
    );
    assert_eq!(app.session.conversation.messages.len(), 4);
    assert_eq!(app.session.conversation.messages[3].content, " a time");
    assert!(app.session.conversation.messages[3].is_streaming());
}

// ---------------------------------------------------------------------------------------
// First run: the welcome's download of a model that runs in-process

#[cfg(feature = "local")]
mod first_run {
    use super::*;
    use crate::app::{DownloadState, DownloadUpdate};
    use crate::provider::ProviderKind;
    use crate::provider::first_run::DownloadProgress;
    use pretty_assertions::assert_eq;

    fn fresh() -> App {
        let (mut app, effects) = App::new(AppOptions {
            config: Config::from_toml("", Path::new("test.toml"), &|_| None).unwrap(),
            model: None,
            conversation: None,
            config_path: PathBuf::from("test.toml"),
        });
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::LoadModels(p) if p.kind == ProviderKind::Local)),
            "the local provider looks for models at start"
        );
        app.resize(100, 30);
        app
    }

    fn progress(done: u64) -> DownloadUpdate {
        DownloadUpdate::Progress(DownloadProgress {
            done,
            total: 1000,
            bytes_per_sec: 100.0,
            eta: Some(Duration::from_secs(5)),
        })
    }

    fn state(app: &App) -> DownloadState {
        app.session.first_run.as_ref().unwrap().state.clone()
    }

    #[test]
    fn enter_downloads_esc_stops_and_enter_resumes() {
        let mut app = fresh();
        assert!(app.offers_download());
        type_text(&mut app, "hello");
        let fx = enter(&mut app);
        assert!(matches!(&fx[0], Effect::StartDownload(p) if p.kind == ProviderKind::Local));
        assert_eq!(state(&app), DownloadState::Running(None));
        // The draft is kept for when the model is ready; nothing was sent.
        assert_eq!(app.chrome.input.lines().join("\n"), "hello");
        assert!(app.session.conversation.messages.is_empty());

        app.update(Msg::Download(progress(400)));
        assert!(matches!(state(&app), DownloadState::Running(Some(p)) if p.done == 400));
        // A second Enter while it runs starts nothing more.
        assert!(
            !enter(&mut app)
                .iter()
                .any(|e| matches!(e, Effect::StartDownload(_)))
        );

        let fx = key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
        assert!(fx.iter().any(|e| matches!(e, Effect::CancelDownload)));
        assert_eq!(state(&app), DownloadState::Offered);
        assert_eq!(
            app.chrome.notice.as_ref().unwrap().text,
            "download stopped: Enter resumes it"
        );
        // A report that was already on its way is dropped.
        app.update(Msg::Download(progress(500)));
        assert_eq!(state(&app), DownloadState::Offered);

        let fx = enter(&mut app);
        assert!(fx.iter().any(|e| matches!(e, Effect::StartDownload(_))));
    }

    #[test]
    fn a_finished_download_becomes_the_active_model() {
        let mut app = fresh();
        enter(&mut app);
        let fx = app.update(Msg::Download(DownloadUpdate::Finished(Ok(()))));
        assert_eq!(state(&app), DownloadState::Done);
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::LoadModels(p) if p.kind == ProviderKind::Local))
        );
        assert_eq!(
            app.chrome.notice.as_ref().unwrap().text,
            "Qwen2.5 0.5B Instruct is ready: type a message"
        );
        app.update(Msg::ModelsLoaded {
            provider: "local".into(),
            models: vec!["qwen2.5-0.5b-instruct-q8_0".into()],
            info: std::collections::BTreeMap::new(),
            error: None,
        });
        assert!(!app.offers_download());
        assert_eq!(
            app.session.active_model.as_deref(),
            Some("local/qwen2.5-0.5b-instruct-q8_0")
        );
        type_text(&mut app, "hi");
        let (_, provider, request) = started(&enter(&mut app));
        assert_eq!(provider, "local");
        assert_eq!(request.model, "qwen2.5-0.5b-instruct-q8_0");
    }

    #[test]
    fn a_failed_download_says_why_and_enter_tries_again() {
        let mut app = fresh();
        enter(&mut app);
        app.update(Msg::Download(DownloadUpdate::Finished(Err(
            "cannot reach huggingface.co".into(),
        ))));
        assert_eq!(
            state(&app),
            DownloadState::Failed("cannot reach huggingface.co".into())
        );
        let notice = app.chrome.notice.clone().unwrap();
        assert!(notice.is_error);
        assert_eq!(notice.text, "download failed: cannot reach huggingface.co");
        assert!(
            enter(&mut app)
                .iter()
                .any(|e| matches!(e, Effect::StartDownload(_)))
        );
    }

    #[test]
    fn no_offer_once_a_provider_can_answer() {
        let mut app = fresh();
        app.update(Msg::ModelsLoaded {
            provider: "local".into(),
            models: vec!["smollm2".into()],
            info: std::collections::BTreeMap::new(),
            error: None,
        });
        assert!(!app.offers_download());
        assert!(
            !enter(&mut app)
                .iter()
                .any(|e| matches!(e, Effect::StartDownload(_)))
        );
    }
}

/// Saving safety (issue 10): what the app does when saves fail, files collide or a
/// conversation is about to be left.
#[path = "tests_save_safety.rs"]
mod save_safety;

#[test]
fn ctrl_enter_adds_a_line_in_the_system_prompt_as_in_the_input() {
    let mut app = app();
    key(&mut app, KeyCode::F(2), KeyModifiers::NONE);
    type_text(&mut app, "Be brief.");
    key(&mut app, KeyCode::Enter, KeyModifiers::CONTROL);
    type_text(&mut app, "Use French.");
    assert!(
        app.chrome.popup.is_some(),
        "Ctrl+Enter did not close the editor"
    );
    enter(&mut app);
    assert_eq!(
        app.session.conversation.system_prompt.as_deref(),
        Some("Be brief.\nUse French.")
    );
}

#[test]
fn ctrl_u_deletes_to_the_start_in_the_save_as_prompt_as_in_the_input() {
    let mut app = app();
    ctrl(&mut app, 's');
    key(&mut app, KeyCode::Home, KeyModifiers::NONE);
    key(&mut app, KeyCode::Right, KeyModifiers::NONE);
    key(&mut app, KeyCode::Right, KeyModifiers::NONE);
    ctrl(&mut app, 'u');
    let Some(Popup::SaveAs(save)) = &app.chrome.popup else {
        panic!("the prompt stays open");
    };
    let name = popup::default_file_name(&app.session.conversation);
    assert_eq!(save.editor.lines(), [name[2..].to_owned()]);
}

#[test]
fn ctrl_w_deletes_a_word_of_the_sidebar_filter() {
    let mut app = app();
    ctrl(&mut app, 'p');
    type_text(&mut app, "loc m");
    ctrl(&mut app, 'w');
    assert_eq!(app.session.catalog.filter, "loc ");
    ctrl(&mut app, 'u');
    assert_eq!(app.session.catalog.filter, "");
}

#[test]
fn the_input_shows_its_cursor_only_while_it_takes_the_keys() {
    use ratatui::style::Modifier;
    let reversed = |app: &App| {
        app.chrome
            .input
            .cursor_style()
            .add_modifier
            .contains(Modifier::REVERSED)
    };
    let mut app = app();
    assert!(reversed(&app));
    // Every popup takes the keys, so the input's block cursor goes while it is open.
    for open in [KeyCode::F(1), KeyCode::F(2)] {
        key(&mut app, open, KeyModifiers::NONE);
        assert!(!reversed(&app), "{open:?}");
        key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
        assert!(reversed(&app), "{open:?} closed");
    }
    ctrl(&mut app, 's');
    assert!(!reversed(&app), "save-as");
    key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    ctrl(&mut app, 'o');
    assert!(!reversed(&app), "browser");
}

#[test]
fn the_input_grows_when_its_text_fills_the_box_not_the_screen() {
    let mut app = app();
    // 100 columns with the sidebar: the input box is narrower than the screen.
    let inner = usize::from(layout::inner(app.view.areas.input).width);
    assert!(inner < 98, "the sidebar takes room: {inner}");
    type_text(&mut app, &"x".repeat(inner + 1));
    assert_eq!(
        app.view.areas.input.height, 4,
        "two text rows and the borders"
    );
}

#[test]
fn send_stop_and_a_late_event_return_exactly_their_effects() {
    let mut app = app();
    type_text(&mut app, "hello");
    let fx = enter(&mut app);
    let (id, provider, request) = started(&fx);
    let spec = app
        .session
        .config
        .providers
        .iter()
        .find(|p| p.name == provider)
        .cloned()
        .unwrap();
    // The user's message and the pending reply are saved before the request goes out.
    assert_eq!(
        fx,
        vec![
            Effect::Save(app.session.conversation.clone()),
            Effect::StartStream {
                id,
                provider: spec,
                request,
            },
            Effect::Redraw,
        ]
    );
    let fx = key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(
        fx,
        vec![
            Effect::CancelStream(id),
            Effect::Save(app.session.conversation.clone()),
            Effect::Redraw,
        ]
    );
    // A delta of the stream that was stopped changes nothing and asks for nothing.
    assert_eq!(delta(&mut app, id, "late", Instant::now()), vec![]);
}

#[test]
fn a_finished_reply_is_saved_and_drawn() {
    let mut app = app();
    let id = send(&mut app, "hello");
    let t = Instant::now();
    assert_eq!(delta(&mut app, id, "Hi", t), vec![Effect::Redraw]);
    let fx = finish_stream(&mut app, id, Finish::Stop, t);
    assert_eq!(
        fx,
        vec![
            Effect::Save(app.session.conversation.clone()),
            Effect::Redraw
        ]
    );
}
