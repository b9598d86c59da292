//! A long conversation through the app (issue 11): a resize lays out a screenful and
//! leaves the rest to bounded batches; the screen stays on its message while they land;
//! Home, End and selection work before the history is measured; a theme change redraws
//! in the other palette without laying anything out again.
#![allow(
    clippy::unwrap_used,
    reason = "test set-up: a failure is a failed test"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use pretty_assertions::assert_eq;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use tinychat::app::{App, AppOptions, Focus, Msg};
use tinychat::config::{Config, ThemeChoice};
use tinychat::conversation::{Conversation, Finish, Message};
use tinychat::ui::{self, theme::Theme};
use tinychat::view::highlight::CodeTheme;
use tinychat::view::history_layout::BATCH_MESSAGES;

const MESSAGES: usize = 4_000;

fn conversation(n: usize) -> Conversation {
    let mut c = Conversation::new(None);
    for i in 0..n {
        let m = if i % 2 == 0 {
            Message::user(format!("question {i}: what does this line of code do?"))
        } else {
            let mut m = Message::assistant_pending("local/m");
            m.content = format!(
                "Answer {i}: it returns the number, as this shows.\n\n```rust\nfn answer() -> u32 {{ {i} }}\n```\n"
            );
            m.finish = Some(Finish::Stop);
            m
        };
        c.messages.push(Arc::new(m));
    }
    c
}

fn app(n: usize) -> App {
    let config = Config::from_toml(
        "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"m\"]\n",
        Path::new("test.toml"),
        &|_| None,
    )
    .unwrap();
    let (app, _) = App::new(AppOptions {
        config,
        model: Some("local/m".into()),
        conversation: Some(conversation(n)),
        config_path: PathBuf::from("test.toml"),
    });
    app
}

fn key(code: KeyCode) -> Msg {
    Msg::Term(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// The conversation pane's text rows (inside its border, without the bottom border
/// that counts the rows below), drawn at `width`×`height`.
fn screen(app: &App, theme: &Theme, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::draw(f, app, theme)).unwrap();
    let area = app.areas().conversation;
    let buffer = terminal.backend().buffer();
    (area.y + 1..area.y + area.height - 1)
        .map(|y| {
            (area.x + 1..area.x + area.width - 1)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect()
}

/// Runs the background batches to the end, as the runtime does between events.
fn finish_batches(app: &mut App) -> usize {
    let mut turns = 0;
    while app.layout_pending() {
        let before = app.history().measured_count();
        app.lay_out_more();
        assert!(app.history().measured_count() - before <= BATCH_MESSAGES);
        turns += 1;
    }
    turns
}

#[test]
fn opening_and_resizing_a_long_conversation_lay_out_only_a_screenful() {
    let mut app = app(MESSAGES);
    // Before the terminal's size is known nothing is laid out.
    assert_eq!(app.history().laid_out_count(), 0);
    app.update(Msg::Term(Event::Resize(120, 40)));
    let first = app.history().laid_out_count();
    assert!((1..=40).contains(&first), "{first} laid out");
    assert!(app.layout_pending());
    let turns = finish_batches(&mut app);
    assert!(turns >= MESSAGES / BATCH_MESSAGES, "{turns} turns");
    assert_eq!(app.history().measured_count(), MESSAGES);
    // Measuring keeps no rows: only what was shown is laid out.
    assert_eq!(app.history().laid_out_count(), first);

    app.update(Msg::Term(Event::Resize(90, 40)));
    assert!(app.history().laid_out_count() <= 40);
    assert!(app.history().measured_count() <= 40);
    assert!(app.layout_pending());
    finish_batches(&mut app);
    assert!(!app.layout_pending());
    // Every height is exact now: the same as a whole layout at that width.
    let whole = tinychat::view::history_layout::HistoryLayout::new(
        app.conversation().messages.iter().map(AsRef::as_ref),
        app.history().width(),
        CodeTheme::Dark,
    );
    assert_eq!(app.history().total_rows(), whole.total_rows());
}

#[test]
fn the_screen_stays_on_its_message_while_batches_land() {
    let mut app = app(MESSAGES);
    app.update(Msg::Term(Event::Resize(120, 40)));
    finish_batches(&mut app);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.focus(), Focus::Conversation);
    for _ in 0..30 {
        app.update(key(KeyCode::PageUp));
    }
    assert!(!app.viewport().follow);
    // A resize re-estimates everything above the screen; the batches then correct it.
    app.update(Msg::Term(Event::Resize(100, 40)));
    let top = |app: &App| {
        app.history()
            .locate(app.viewport().top_for(app.history().total_rows()))
    };
    let anchor = top(&app);
    let theme = Theme::dark();
    let before = screen(&app, &theme, 100, 40);
    assert!(before.iter().any(|l| l.starts_with("You")), "{before:#?}");
    let mut turns = 0;
    while app.layout_pending() {
        let rows = app.history().total_rows();
        app.lay_out_more();
        turns += 1;
        assert_eq!(top(&app), anchor, "after batch {turns}");
        if app.history().total_rows() != rows {
            assert_eq!(screen(&app, &theme, 100, 40), before, "after batch {turns}");
        }
    }
    assert!(turns > 1);
}

#[test]
fn home_end_and_selection_work_before_the_history_is_measured() {
    let mut app = app(MESSAGES);
    app.update(Msg::Term(Event::Resize(120, 40)));
    assert!(app.layout_pending());
    let theme = Theme::dark();
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Home));
    assert!(app.layout_pending());
    let top = screen(&app, &theme, 120, 40);
    assert_eq!(top[0], "You");
    assert_eq!(top[1], "question 0: what does this line of code do?");
    assert!(app.history().message(0).is_some());
    // Up from nothing selected picks the last message and scrolls to it.
    app.update(key(KeyCode::End));
    app.update(key(KeyCode::Up));
    assert_eq!(app.selected(), Some(MESSAGES - 1));
    let labels = app.history().message(MESSAGES - 1).unwrap().code_labels();
    assert_eq!(labels, ["rust"]);
    let bottom = screen(&app, &theme, 120, 40);
    assert!(
        bottom
            .iter()
            .any(|l| l == "Assistant · local/m · code [1] rust"),
        "{bottom:#?}"
    );
    // Down from nothing selected starts at the first message on screen.
    app.update(key(KeyCode::Home));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    assert_eq!(app.selected(), Some(1));
    assert!(app.history().message(1).is_some());
}

#[test]
fn a_theme_change_redraws_in_the_other_palette_without_laying_out_again() {
    let mut app = app(MESSAGES);
    app.update(Msg::Term(Event::Resize(120, 40)));
    finish_batches(&mut app);
    let truecolor = |name: &str| (name == "COLORTERM").then(|| "truecolor".to_owned());
    let dark = Theme::for_terminal(ThemeChoice::Dark, &truecolor);
    let light = Theme::for_terminal(ThemeChoice::Light, &truecolor);
    let last = MESSAGES - 1;
    let before: *const _ = app.history().message(last).unwrap();
    let laid_out = app.history().laid_out_count();
    app.set_code_theme(CodeTheme::Light);
    assert!(std::ptr::eq(before, app.history().message(last).unwrap()));
    assert_eq!(app.history().laid_out_count(), laid_out);
    assert!(!app.layout_pending());

    let colours = |theme: &Theme| {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal.draw(|f| ui::draw(f, &app, theme)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        let area = buffer.area;
        let cell = (area.top()..area.bottom())
            .flat_map(|y| (area.left()..area.right()).map(move |x| (x, y)))
            .find(|&(x, y)| {
                buffer[(x, y)].symbol() == "f"
                    && buffer[(x + 1, y)].symbol() == "n"
                    && buffer[(x + 3, y)].symbol() == "a"
            })
            .unwrap();
        (screen(&app, theme, 120, 40), buffer[cell].fg)
    };
    let (dark_text, dark_fn) = colours(&dark);
    let (light_text, light_fn) = colours(&light);
    assert_eq!(dark_text, light_text);
    assert!(matches!(dark_fn, Color::Rgb(..)), "{dark_fn:?}");
    assert!(matches!(light_fn, Color::Rgb(..)), "{light_fn:?}");
    assert_ne!(dark_fn, light_fn);
}
