//! Screen snapshots of every visible state, drawn through `ui::draw` into a
//! `TestBackend` (design §8), plus explicit style checks where colour carries meaning.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::draw;
use super::theme::Theme;
use crate::app::{App, AppOptions, Effect, Msg, StreamId};
use crate::config::Config;
use crate::config::ThemeChoice;
use crate::conversation::Finish;
use crate::provider::{Problem, RetryHint, StreamEvent};

fn app_with(config_text: &str, env: &dyn Fn(&str) -> Option<String>, model: Option<&str>) -> App {
    let config = Config::from_toml(config_text, Path::new("test.toml"), env).unwrap();
    // A fixed id and start time, which the save-as prompt's name is made of.
    let mut conversation = crate::conversation::Conversation::new(config.system_prompt.clone());
    conversation.id = "20261129-140512-3fa2".into();
    conversation.created_at = "2026-11-29T14:05:12+01:00".into();
    let (app, _) = App::new(AppOptions {
        config,
        model: model.map(str::to_owned),
        conversation: Some(conversation),
        config_path: PathBuf::from("~/.config/tinychat/config.toml"),
    });
    app
}

const LOCAL: &str = "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"llama-3.1-8b\", \"qwen2.5-7b\"]\n";

fn local_app() -> App {
    app_with(LOCAL, &|_| None, Some("local/llama-3.1-8b"))
}

fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    render_with(app, width, height, &Theme::dark())
}

fn render_with(app: &mut App, width: u16, height: u16, theme: &Theme) -> Terminal<TestBackend> {
    app.set_code_theme(theme.code_theme);
    app.resize(width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app, theme)).unwrap();
    terminal
}

/// Where `text` first starts on screen (row by row, left to right).
fn find(buffer: &Buffer, text: &str) -> (u16, u16) {
    let area = buffer.area;
    for y in 0..area.height {
        let row: Vec<String> = (0..area.width)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect();
        for x in 0..area.width {
            if row[usize::from(x)..].concat().starts_with(text) {
                return (x, y);
            }
        }
    }
    panic!("`{text}` is not on screen");
}

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    app.update(Msg::Term(Event::Key(KeyEvent::new(code, modifiers))))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

/// Sends `text` and returns the id of the reply's stream.
fn send(app: &mut App, text: &str) -> StreamId {
    type_text(app, text);
    press(app, KeyCode::Enter, KeyModifiers::NONE)
        .into_iter()
        .find_map(|e| match e {
            Effect::StartStream { id, .. } => Some(id),
            _ => None,
        })
        .unwrap()
}

fn deliver(app: &mut App, id: StreamId, event: StreamEvent, at: Instant) {
    app.update(Msg::Stream { id, event, at });
}

fn delta(app: &mut App, id: StreamId, text: &str, at: Instant) {
    deliver(app, id, StreamEvent::Delta(text.into()), at);
}

/// Sends `prompt` and streams `reply` as one delta that then ends normally.
fn finished_reply(app: &mut App, prompt: &str, reply: &str) {
    let id = send(app, prompt);
    let t = Instant::now();
    delta(app, id, reply, t);
    deliver(app, id, StreamEvent::Finished(Finish::Stop), t);
}

#[test]
fn welcome_without_providers_80x24() {
    let mut app = app_with("", &|_| None, None);
    // As in a build without in-process models: no download to offer.
    app.forget_first_run();
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn welcome_with_a_provider_80x24() {
    let mut app = local_app();
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn streaming_reply_80x24() {
    let mut app = local_app();
    let id = send(&mut app, "Write a haiku about terminals");
    let t = Instant::now();
    delta(&mut app, id, "Quiet terminal\nbytes arrive like", t);
    delta(&mut app, id, " falling snow", t + Duration::from_secs(1));
    assert_snapshot!(render(&mut app, 80, 24).backend());
    // The live cursor after the text so far is in its own colour; the text is not.
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    let (x, y) = find(buffer, "falling snow▌");
    let cursor = (x + "falling snow".len() as u16, y);
    assert_eq!(buffer[cursor].symbol(), "▌");
    assert_eq!(buffer[cursor].fg, Color::Cyan);
    assert_eq!(buffer[(x, y)].fg, Color::Reset);
}

#[test]
fn error_under_partial_reply_80x24() {
    let mut app = error_screen();
    let terminal = render(&mut app, 80, 24);
    assert_snapshot!(terminal.backend());
    // The error line is drawn in the error colour, the reply text in the default one.
    let buffer = terminal.backend().buffer();
    let (x, error_row) = find(buffer, "✗ local");
    assert_eq!(buffer[(x, error_row)].fg, Color::Red);
    assert_eq!(buffer[(x, error_row - 1)].fg, Color::Reset);
}

#[test]
fn http_error_with_no_text_80x24() {
    let mut app = local_app();
    let id = send(&mut app, "hello");
    deliver(
        &mut app,
        id,
        StreamEvent::Failed(
            Problem::Http {
                status: 401,
                code: Some("invalid_api_key".into()),
                message: "Incorrect API key provided: sk-te****.".into(),
                hint: Some("check LOCAL_KEY".into()),
                retry: RetryHint::default(),
            }
            .at("local"),
        ),
        Instant::now(),
    );
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn stopped_and_cut_off_replies_are_marked_80x24() {
    let mut app = local_app();
    let id = send(&mut app, "one");
    let t = Instant::now();
    delta(&mut app, id, "partial answer", t);
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    let id = send(&mut app, "two");
    delta(&mut app, id, "long answer", t);
    deliver(&mut app, id, StreamEvent::Finished(Finish::Length), t);
    assert_snapshot!(render(&mut app, 80, 24).backend());
    // Both marks are notes, in the note colour, not errors.
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    assert_eq!(buffer[find(buffer, "■ stopped")].fg, Color::Yellow);
    assert_eq!(
        buffer[find(buffer, "⚠ cut off at the token limit")].fg,
        Color::Yellow
    );
}

#[test]
fn sidebar_with_disabled_providers_and_a_filter_80x24() {
    let env = |k: &str| (k == "MISTRAL_API_KEY").then(|| "fake".to_owned());
    let mut app = app_with(LOCAL, &env, Some("local/llama-3.1-8b"));
    app.update(Msg::ModelsLoaded {
        provider: "mistral".into(),
        models: vec!["mistral-small-latest".into(), "mistral-large-latest".into()],
        info: std::collections::BTreeMap::new(),
        error: None,
    });
    assert_snapshot!(
        "sidebar_unfiltered_80x24",
        render(&mut app, 80, 24).backend()
    );
    // Disabled providers and their hint are dimmed; the answering model is marked.
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    assert_eq!(buffer[find(buffer, "openai")].fg, Color::DarkGray);
    assert_eq!(
        buffer[find(buffer, "set OPENAI_API_KEY")].fg,
        Color::DarkGray
    );
    let local = buffer[find(buffer, "local ")].clone();
    assert_eq!(local.fg, Color::Reset);
    assert!(local.modifier.contains(Modifier::BOLD));
    let active = buffer[find(buffer, "▸ llama-3.1-8b")].clone();
    assert_eq!(active.fg, Color::Cyan);
    assert!(active.modifier.contains(Modifier::BOLD));
    assert!(!active.modifier.contains(Modifier::REVERSED));

    press(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    type_text(&mut app, "LA");
    assert_snapshot!(render(&mut app, 80, 24).backend());
    // With the focus in the sidebar, the highlighted model is reversed.
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    let reversed: Vec<String> = (0..24)
        .filter_map(|y| {
            let row: String = (0..23)
                .filter(|&x| buffer[(x, y)].modifier.contains(Modifier::REVERSED))
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect();
            (!row.is_empty()).then_some(row)
        })
        .collect();
    assert_eq!(reversed, ["  mistral-small-latest"]);
}

#[test]
fn save_prompt_80x24() {
    let mut app = local_app();
    finished_reply(&mut app, "Plans for the weekend?", "Hike.");
    // The pre-filled name carries the start time (see `app_with`).
    press(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn help_popup_80x24() {
    let mut app = local_app();
    press(&mut app, KeyCode::F(1), KeyModifiers::NONE);
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn narrow_terminal_40x12() {
    let mut app = local_app();
    let id = send(&mut app, "hello");
    delta(
        &mut app,
        id,
        "Hello! How can I help you today? Ask me anything.",
        Instant::now(),
    );
    assert_snapshot!(render(&mut app, 40, 12).backend());
    press(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    assert_snapshot!(
        "narrow_terminal_sidebar_40x12",
        render(&mut app, 40, 12).backend()
    );
}

#[test]
fn tiny_terminal_15x5_says_so() {
    let mut app = local_app();
    assert_snapshot!(render(&mut app, 15, 5).backend());
}

#[test]
fn every_size_draws_without_panicking() {
    let mut app = local_app();
    let id = send(
        &mut app,
        "a message long enough to wrap on narrow screens 日本語 😀",
    );
    delta(&mut app, id, "reply\twith\x1b[2J escapes", Instant::now());
    press(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    for width in 0..70 {
        for height in 0..16 {
            render(&mut app, width, height);
        }
    }
}

#[test]
fn escape_sequences_from_the_model_are_drawn_as_symbols() {
    let mut app = local_app();
    let id = send(&mut app, "hi");
    delta(&mut app, id, "a\x1b]0;pwned\x07b\x1b[2Jc", Instant::now());
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    let text: String = buffer
        .content()
        .iter()
        .map(|c| c.symbol().to_owned())
        .collect();
    assert!(text.contains("a␛]0;pwned␇b␛[2Jc"), "{text}");
    assert!(!text.contains('\x1b'));
}

#[test]
fn conversation_browser_80x24() {
    use crate::conversation::{Conversation, Message};
    use crate::storage::index::IndexEntry;
    let mut app = local_app();
    press(&mut app, KeyCode::Char('o'), KeyModifiers::CONTROL);
    assert_snapshot!(
        "conversation_browser_loading_80x24",
        render(&mut app, 80, 24).backend()
    );
    let entries = [
        (
            "20261129-140512-3fa2",
            "Rust lifetimes explained",
            "local/llama-3.1-8b",
            "2026-11-29T14:05:12+01:00",
        ),
        (
            "20261128-090000-0001",
            "Pasta for four",
            "mistral/mistral-small",
            "2026-11-28T09:00:00+01:00",
        ),
    ]
    .iter()
    .map(|(id, title, model, at)| {
        let mut c = Conversation::new(None);
        c.id = (*id).into();
        c.push_user(*title);
        let mut reply = Message::assistant_pending(*model);
        reply.content = format!("About {title}: the borrow checker is not involved here.");
        reply.finish = Some(Finish::Stop);
        c.messages.push(std::sync::Arc::new(reply));
        c.updated_at = (*at).into();
        IndexEntry::from_conversation(&c, PathBuf::from(format!("/d/{id}.json")))
    })
    .collect();
    app.update(Msg::IndexLoaded(entries));
    assert_snapshot!(render(&mut app, 80, 24).backend());
    type_text(&mut app, "BORROW");
    assert_snapshot!(
        "conversation_browser_search_80x24",
        render(&mut app, 80, 24).backend()
    );
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('d'), KeyModifiers::NONE);
    assert_snapshot!(
        "conversation_browser_confirm_delete_80x24",
        render(&mut app, 80, 24).backend()
    );
}

#[test]
fn code_blocks_are_numbered_on_the_header_80x24() {
    let mut app = local_app();
    finished_reply(
        &mut app,
        "Show me",
        "Build it:\n```rust\nfn main() {}\n```\nthen run:\n~~~\n./app\n~~~\n```sh\ncargo run\n```",
    );
    assert_snapshot!(render(&mut app, 80, 24).backend());
    // Narrow, the reply selected (so its header is in view): the labels are clipped at
    // the pane's edge.
    app.resize(40, 12);
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Up, KeyModifiers::NONE);
    assert_snapshot!(
        "code_blocks_are_numbered_on_the_header_40x12",
        render(&mut app, 40, 12).backend()
    );
}

/// A user message, a partial reply and its error: every coloured role on one screen.
fn error_screen() -> App {
    let mut app = local_app();
    let id = send(&mut app, "hello");
    let t = Instant::now();
    delta(&mut app, id, "Hi! Let me", t);
    deliver(
        &mut app,
        id,
        StreamEvent::Failed(
            Problem::Stream {
                code: Some("server_error".into()),
                message: "Provider disconnected unexpectedly".into(),
            }
            .at("local"),
        ),
        t,
    );
    app
}

#[test]
fn light_theme_changes_colours_but_not_text_80x24() {
    let mut app = error_screen();
    let dark = render_with(&mut app, 80, 24, &Theme::dark());
    let light = render_with(&mut app, 80, 24, &Theme::light());
    assert_snapshot!(light.backend());
    assert_eq!(light.backend().to_string(), dark.backend().to_string());

    let (dark, light) = (dark.backend().buffer(), light.backend().buffer());
    let user = find(light, "You");
    let assistant = find(light, "Assistant");
    let error = find(light, "✗ local");
    // The focused input's border: its top-left corner.
    let input = find(light, "┌ Message");
    for (cell, dark_fg, light_fg) in [
        (user, Color::Green, Color::Blue),
        (assistant, Color::Magenta, Color::Magenta),
        (error, Color::Red, Color::Red),
        (input, Color::Cyan, Color::Blue),
    ] {
        assert_eq!(dark[cell].fg, dark_fg, "dark {cell:?}");
        assert_eq!(light[cell].fg, light_fg, "light {cell:?}");
    }
    assert!(light[user].modifier.contains(Modifier::BOLD));
    // The reply text keeps the terminal's own colour in both.
    let reply = find(light, "Hi! Let me");
    assert_eq!(dark[reply].fg, Color::Reset);
    assert_eq!(light[reply].fg, Color::Reset);
}

#[test]
fn dark_theme_colours_80x24() {
    let mut app = error_screen();
    let terminal = render_with(&mut app, 80, 24, &Theme::dark());
    assert_snapshot!(terminal.backend());
    let buffer = terminal.backend().buffer();
    assert_eq!(buffer[find(buffer, "You")].fg, Color::Green);
    assert_eq!(buffer[find(buffer, "✗ local")].fg, Color::Red);
    let status = find(buffer, "F1 help");
    assert_eq!(buffer[status].fg, Color::DarkGray);
}

#[test]
fn no_color_draws_attributes_only() {
    let mut app = error_screen();
    let env = |k: &str| (k == "NO_COLOR").then(|| "1".to_owned());
    let theme = Theme::for_terminal(ThemeChoice::Light, &env);
    let terminal = render_with(&mut app, 80, 24, &theme);
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
    let user = find(buffer, "You");
    assert!(buffer[user].modifier.contains(Modifier::BOLD));
    assert!(
        buffer[find(buffer, "✗ local")]
            .modifier
            .contains(Modifier::BOLD)
    );
}

const MARKDOWN_REPLY: &str = "# Setup\nInstall it **first**, then run `make`.\n\n- one *item*\n- two\n\n> Note: see [the guide](https://ex.com/g).\n\n| Key | Does |\n|-----|------|\n| y | copy |\n\n```rust\nfn main() {\n    let x = \"hi\";\n}\n```\nDone.";

/// A finished reply with every kind of Markdown block, drawn with `theme`.
fn markdown_screen(theme: &Theme) -> Terminal<TestBackend> {
    let mut app = local_app();
    finished_reply(&mut app, "How?", MARKDOWN_REPLY);
    render_with(&mut app, 80, 34, theme)
}

#[test]
fn markdown_reply_80x34() {
    let terminal = markdown_screen(&Theme::dark());
    assert_snapshot!(terminal.backend());
    let buffer = terminal.backend().buffer();
    let screen: String = buffer
        .content()
        .iter()
        .map(ratatui::buffer::Cell::symbol)
        .collect();
    for raw in ["**", "```", "# Setup", "`make`", "](", "|-----"] {
        assert!(!screen.contains(raw), "raw Markdown {raw:?} on screen");
    }
    let heading = buffer[find(buffer, "Setup")].clone();
    assert_eq!(heading.fg, Color::Cyan);
    assert!(
        heading
            .modifier
            .contains(Modifier::BOLD | Modifier::UNDERLINED)
    );
    assert!(
        buffer[find(buffer, "first")]
            .modifier
            .contains(Modifier::BOLD)
    );
    assert_eq!(buffer[find(buffer, "make")].fg, Color::Yellow);
    assert!(
        buffer[find(buffer, "item")]
            .modifier
            .contains(Modifier::ITALIC)
    );
    let link = buffer[find(buffer, "the guide")].clone();
    assert_eq!(link.fg, Color::LightBlue);
    assert!(link.modifier.contains(Modifier::UNDERLINED));
    assert_eq!(
        buffer[find(buffer, "(https://ex.com/g)")].fg,
        Color::DarkGray
    );
    assert_eq!(buffer[find(buffer, "[1] rust ─")].fg, Color::Cyan);
    // base16-ocean.dark, in the 256-colour palette (no COLORTERM): `fn` and `let` are
    // keywords in one colour, the string another, and the braces plain text.
    let keyword = buffer[find(buffer, "fn main")].fg;
    assert_eq!(keyword, Color::Indexed(139));
    assert_eq!(buffer[find(buffer, "let x")].fg, keyword);
    let string = buffer[find(buffer, "hi\";")].fg;
    assert_eq!(string, Color::Indexed(144));
}

#[test]
fn code_colours_suit_light_terminals_and_truecolor() {
    let light = markdown_screen(&Theme::light());
    let buffer = light.backend().buffer();
    let keyword = buffer[find(buffer, "fn main")].fg;
    let string = buffer[find(buffer, "\"hi\"")].fg;
    assert_ne!(keyword, Color::Indexed(139));
    assert_ne!(keyword, string);
    assert_eq!(buffer[find(buffer, "[1] rust ─")].fg, Color::Blue);
    let env = |k: &str| (k == "COLORTERM").then(|| "truecolor".to_owned());
    let deep = markdown_screen(&Theme::for_terminal(ThemeChoice::Dark, &env));
    let buffer = deep.backend().buffer();
    assert!(matches!(buffer[find(buffer, "fn main")].fg, Color::Rgb(..)));
    let env = |k: &str| (k == "NO_COLOR").then(|| "1".to_owned());
    let mono = markdown_screen(&Theme::for_terminal(ThemeChoice::Dark, &env));
    let buffer = mono.backend().buffer();
    assert!(buffer.content().iter().all(|c| c.fg == Color::Reset));
}

/// CJK, emoji (a skin tone, a ZWJ family), a combining accent and a tab, in prose with
/// no Markdown syntax (the body renderer is not what this checks).
const WIDE_REPLY: &str = "日本語のテキストを折り返すと、幅の広い文字は二つのセルを使います。 \
     Emoji 👍🏽 🎉 👨\u{200d}👩\u{200d}👧 take two cells each, and cafe\u{301} keeps its accent.\tA tab \
     becomes spaces.";

/// Asserts that `text` is drawn from `at` one grapheme per cell, each wide one (CJK,
/// emoji) followed by the blank cell it covers, so every later glyph is in its column.
fn assert_cells(buffer: &Buffer, (mut x, y): (u16, u16), text: &str) {
    use unicode_segmentation::UnicodeSegmentation;
    for g in text.graphemes(true) {
        let width = crate::view::wrap::display_width(g) as u16;
        assert_eq!(buffer[(x, y)].symbol(), g, "cell ({x}, {y})");
        for covered in x + 1..x + width {
            assert_eq!(
                buffer[(covered, y)].symbol(),
                " ",
                "under {g:?} at ({x}, {y})"
            );
        }
        x += width;
    }
}

#[test]
fn wide_characters_and_the_input_cursor_80x24() {
    let mut app = local_app();
    finished_reply(
        &mut app,
        "日本語のテキストを折り返す 👍🏽 🎉 👨\u{200d}👩\u{200d}👧 please",
        WIDE_REPLY,
    );
    // A draft with the cursor between the emoji and "abc".
    type_text(&mut app, "漢字😀abc");
    for _ in 0..3 {
        press(&mut app, KeyCode::Left, KeyModifiers::NONE);
    }
    let terminal = render(&mut app, 80, 24);
    assert_snapshot!(terminal.backend());
    let buffer = terminal.backend().buffer();

    // History rows: glyphs in their true widths, the combining accent in one cell and
    // the tab as spaces.
    let left = app.areas().conversation.x + 1;
    let you = find(buffer, "You").1;
    assert_cells(
        buffer,
        (left, you + 1),
        "日本語のテキストを折り返す 👍🏽 🎉 👨\u{200d}👩\u{200d}👧 please",
    );
    let reply = find(buffer, "Assistant").1;
    assert_cells(
        buffer,
        (left, reply + 1),
        "日本語のテキストを折り返すと、幅の広い文字は二つのセル",
    );
    assert_cells(
        buffer,
        (left, reply + 2),
        "を使います。 Emoji 👍🏽 🎉 👨\u{200d}👩\u{200d}👧 take two cells each, and",
    );
    assert_cells(
        buffer,
        (left, reply + 3),
        "cafe\u{301} keeps its accent.    A tab becomes spaces.",
    );

    // The input: the draft in its true widths and the cursor right after the emoji, at
    // the column its display width gives (2 + 2 + 2), not its char count (3).
    let input = (app.areas().input.x + 1, app.areas().input.y + 1);
    assert_eq!(input, (25, 21));
    assert_cells(buffer, input, "漢字😀abc");
    let before_cursor = crate::view::wrap::display_width("漢字😀");
    assert_eq!(before_cursor, 6);
    let cursor_x = input.0 + before_cursor as u16;
    assert_eq!(cursor_x, 31);
    // tinychat keeps the terminal's own cursor hidden: the editor draws its cursor as a
    // reversed cell, and that cell is the only reversed one in the input.
    assert!(!terminal.backend().cursor_visible());
    let reversed: Vec<(u16, &str)> = (app.areas().input.x..app.areas().input.right())
        .filter(|&x| buffer[(x, input.1)].modifier.contains(Modifier::REVERSED))
        .map(|x| (x, buffer[(x, input.1)].symbol()))
        .collect();
    assert_eq!(reversed, [(cursor_x, "a")]);
}

#[test]
fn what_the_provider_prepares_shows_until_the_first_text() {
    let mut app = local_app();
    let id = send(&mut app, "hi");
    let t = Instant::now();
    deliver(
        &mut app,
        id,
        StreamEvent::Preparing("loading tiny.gguf (94 MB)…".into()),
        t,
    );
    let status = |app: &mut App| {
        let terminal = render(app, 80, 24);
        let buffer = terminal.backend().buffer();
        (0..80u16)
            .map(|x| buffer[(x, 23)].symbol().to_owned())
            .collect::<String>()
    };
    assert!(
        status(&mut app).starts_with(" local/llama-3.1-8b · loading tiny.gguf (94 MB)… "),
        "{}",
        status(&mut app)
    );
    delta(&mut app, id, "Hello", t + Duration::from_millis(10));
    let line = status(&mut app);
    assert!(
        line.starts_with(" local/llama-3.1-8b · streaming"),
        "{line}"
    );
    assert!(!line.contains("loading"), "{line}");
}

#[cfg(feature = "local")]
mod first_run {
    use super::*;
    use crate::app::DownloadUpdate;
    use crate::provider::first_run::DownloadProgress;

    #[test]
    fn welcome_offers_a_model_to_download_80x24() {
        let mut app = app_with("", &|_| None, None);
        let terminal = render(&mut app, 80, 24);
        assert_snapshot!(terminal.backend());
        let (x, y) = find(terminal.backend().buffer(), "Enter: download Qwen2.5");
        assert_eq!(terminal.backend().buffer()[(x, y)].fg, Color::Cyan);
    }

    #[test]
    fn download_progress_bar_80x24() {
        let mut app = app_with("", &|_| None, None);
        press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
        app.update(Msg::Download(DownloadUpdate::Progress(DownloadProgress {
            done: 325_000_000,
            total: 676_000_000,
            bytes_per_sec: 12_300_000.0,
            eta: Some(Duration::from_secs(28)),
        })));
        assert_snapshot!(render(&mut app, 80, 24).backend());
    }

    #[test]
    fn download_failure_80x24() {
        let mut app = app_with("", &|_| None, None);
        press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
        app.update(Msg::Download(DownloadUpdate::Finished(Err(
            "cannot reach huggingface.co (check the network, HF_ENDPOINT or HTTPS_PROXY)".into(),
        ))));
        assert_snapshot!(render(&mut app, 80, 24).backend());
    }

    #[test]
    fn local_models_are_marked_in_the_sidebar_80x24() {
        let mut app = app_with("", &|_| None, None);
        app.update(Msg::ModelsLoaded {
            provider: "local".into(),
            models: vec!["qwen2.5:0.5b".into(), "smollm2-135m".into()],
            info: std::collections::BTreeMap::new(),
            error: None,
        });
        let terminal = render(&mut app, 80, 24);
        assert_snapshot!(terminal.backend());
        let (x, y) = find(terminal.backend().buffer(), "(local, CPU)");
        assert_eq!(terminal.backend().buffer()[(x, y)].fg, Color::DarkGray);
    }
}

/// The screens of issue 10's saving safety: not saved, asked before leaving or
/// replacing a file, broken browser entries.
#[path = "tests_save_safety.rs"]
mod save_safety;

/// Issue 12's screens: thinking, usage, the context meter and cost.
#[path = "tests_thinking.rs"]
mod thinking;
