//! What bounds the cost of a key in the input (issue 10): the draft's size limit, and
//! keys that arrived together applied as one edit.
//!
//! The editor (ratatui-textarea) re-wraps its whole text after every edit, so a key
//! costs time in proportion to the draft: about 50 ns a byte, 0.3 s a key for a 5 MB
//! paste. Two rules keep that bounded. The input holds at most [`MAX_DRAFT_BYTES`];
//! text that would take it past the limit (a paste, the external editor's result, a
//! recalled prompt, a typed key) is refused with a notice that says so, never cut
//! silently. And keys that were waiting together (typed while the last frame was
//! drawn, or a paste from a terminal without bracketed paste) become one edit: the
//! plain characters in a row are inserted at once, so a thousand queued keys cost one
//! re-wrap, not a thousand. Edits of the draft queued before Ctrl+C or Ctrl+Q are
//! dropped (those after the last key that did something else, such as an Enter that
//! sent the draft): quitting discards the draft anyway, and the quit key is then
//! honoured at once instead of after every key before it.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui_textarea::TextArea;

use super::{App, Context, Effect, Focus, Intent, Msg, keymap};

/// The most text the input (and the system prompt editor) holds: 1 MiB, about 250,000
/// tokens, more than most models' whole context window. At the limit a key costs the
/// editor about 50 ms (see `cargo bench --bench typing`).
pub const MAX_DRAFT_BYTES: usize = 1 << 20;

/// Bytes of text in `editor`, its line breaks included.
pub(crate) fn text_len(editor: &TextArea<'_>) -> usize {
    let lines = editor.lines();
    lines.iter().map(String::len).sum::<usize>() + lines.len().saturating_sub(1)
}

/// Whether `added` more bytes fit in `editor`.
pub(crate) fn fits(editor: &TextArea<'_>, added: usize) -> bool {
    text_len(editor).saturating_add(added) <= MAX_DRAFT_BYTES
}

/// The bytes an editing key would add to an editor: its character, if it types one.
pub(crate) fn added_by(key: &KeyEvent) -> usize {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            c.len_utf8()
        }
        _ => 0,
    }
}

/// `1.0 MiB`, `5.2 MB`: a size for a notice.
pub(crate) fn size_text(bytes: usize) -> String {
    if bytes == MAX_DRAFT_BYTES {
        "1 MiB".to_owned()
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}

/// The notice for text that does not fit; `what` is "the paste", "the edited draft"…
pub(crate) fn too_large(what: &str, editor: &TextArea<'_>, added: usize) -> String {
    format!(
        "{what} was not added: the input holds at most {}, and it would make the draft {}",
        size_text(MAX_DRAFT_BYTES),
        size_text(text_len(editor).saturating_add(added))
    )
}

/// What a key does, for batching: plain text typed into the input, an edit that only
/// changes the draft, a quit, or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Typed(char),
    DraftEdit,
    Quit,
    Other,
}

impl App {
    fn key_kind(&self, msg: &Msg) -> KeyKind {
        let Msg::Term(Event::Key(key)) = msg else {
            return KeyKind::Other;
        };
        if key.kind == KeyEventKind::Release {
            return KeyKind::Other;
        }
        let context = self.context();
        let intent = keymap::intent(context, key);
        if intent == Intent::Quit {
            return KeyKind::Quit;
        }
        if context != Context::Main(Focus::Input) {
            return KeyKind::Other;
        }
        match (intent, key.code) {
            (Intent::Edit, KeyCode::Char(c))
                if (key.modifiers - KeyModifiers::SHIFT).is_empty() =>
            {
                KeyKind::Typed(c)
            }
            (Intent::Edit | Intent::Newline, _) => KeyKind::DraftEdit,
            _ => KeyKind::Other,
        }
    }

    /// Whether `msg` is Ctrl+C or Ctrl+Q (the runtime hands the events before it over
    /// together with it).
    pub fn is_quit_key(&self, msg: &Msg) -> bool {
        self.key_kind(msg) == KeyKind::Quit
    }

    /// Applies messages that arrived together, in order, with plain typing inserted as
    /// one edit per run and draft edits before a quit skipped (see the module doc).
    pub(super) fn apply_batch(&mut self, msgs: Vec<Msg>, fx: &mut Vec<Effect>) {
        let is_edit = |k: KeyKind| matches!(k, KeyKind::Typed(_) | KeyKind::DraftEdit);
        // A quit key is one in any state; what the other keys do depends on the state
        // when they are applied (a Tab before `1` makes it a copy), so each is judged
        // then, with the keys before it applied.
        let quit = msgs.iter().rposition(|m| self.key_kind(m) == KeyKind::Quit);
        let mut msgs: Vec<Option<Msg>> = msgs.into_iter().map(Some).collect();
        // Edits from here to the quit only change a draft the quit discards: every
        // terminal event between is an edit too (an Enter that sends keeps its text).
        let mut skip_to_quit = false;
        // Before this index, some terminal event up to the quit is not an edit.
        let mut not_before = 0;
        let mut typed = String::new();
        for i in 0..msgs.len() {
            let Some(msg) = msgs[i].take() else {
                continue;
            };
            let kind = self.key_kind(&msg);
            if let Some(q) = quit.filter(|&q| i < q && is_edit(kind)) {
                if !skip_to_quit && i >= not_before {
                    match msgs[i + 1..q].iter().position(|m| {
                        m.as_ref().is_some_and(|m| {
                            matches!(m, Msg::Term(_)) && !is_edit(self.key_kind(m))
                        })
                    }) {
                        None => skip_to_quit = true,
                        Some(other) => not_before = i + 1 + other,
                    }
                }
                if skip_to_quit {
                    continue;
                }
            }
            if let KeyKind::Typed(c) = kind {
                typed.push(c);
                continue;
            }
            self.type_text(&mut typed, fx);
            fx.extend(self.update(msg));
        }
        self.type_text(&mut typed, fx);
    }

    /// Inserts `typed` into the input as one edit (as much as fits), and empties it.
    fn type_text(&mut self, typed: &mut String, fx: &mut Vec<Effect>) {
        if typed.is_empty() {
            return;
        }
        let room = MAX_DRAFT_BYTES.saturating_sub(text_len(&self.chrome.input));
        let mut end = room.min(typed.len());
        while !typed.is_char_boundary(end) {
            end -= 1;
        }
        if end < typed.len() {
            self.set_error(format!(
                "the input is full: it holds at most {}",
                size_text(MAX_DRAFT_BYTES)
            ));
        }
        if end > 0 {
            self.chrome.input.insert_str(&typed[..end]);
        }
        typed.clear();
        fx.push(Effect::Redraw);
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use pretty_assertions::assert_eq;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::AppOptions;
    use crate::config::Config;
    use crate::ui::theme::Theme;

    fn app() -> App {
        let config = Config::from_toml(
            "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"m1\"]\n",
            Path::new("test.toml"),
            &|_| None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (mut app, _) = App::new(AppOptions {
            config,
            model: Some("local/m1".into()),
            conversation: None,
            config_path: PathBuf::from("test.toml"),
        });
        app.resize(100, 30);
        app
    }

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
        Msg::Term(Event::Key(KeyEvent::new(code, modifiers)))
    }

    fn typed(text: &str) -> Vec<Msg> {
        text.chars()
            .map(|c| key(KeyCode::Char(c), KeyModifiers::NONE))
            .collect()
    }

    fn draft(app: &App) -> String {
        app.chrome.input.lines().join("\n")
    }

    fn error(app: &App) -> String {
        app.chrome
            .notice
            .as_ref()
            .filter(|n| n.is_error)
            .map(|n| n.text.clone())
            .unwrap_or_default()
    }

    /// Draws one frame, as the runtime does: the editor learns its width and wraps.
    fn draw(app: &App) {
        let mut terminal =
            Terminal::new(TestBackend::new(100, 30)).unwrap_or_else(|e| panic!("{e}"));
        let theme = Theme::for_terminal(crate::config::ThemeChoice::Dark, &|_| None);
        terminal
            .draw(|f| crate::ui::draw(f, app, &theme))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// A draft of `bytes` bytes: lines of prose.
    fn big_text(bytes: usize) -> String {
        let line = "the quick brown fox jumps over the lazy dog 0123456789 ok\n";
        let mut text = line.repeat(bytes / line.len() + 1);
        text.truncate(bytes);
        text
    }

    #[test]
    fn a_paste_past_the_limit_is_refused_with_a_notice_and_the_draft_stays() {
        let mut app = app();
        app.update_batch(typed("keep"));
        app.update(Msg::Term(Event::Paste(big_text(5_000_000))));
        assert_eq!(draft(&app), "keep");
        assert_eq!(
            error(&app),
            "the paste was not added: the input holds at most 1 MiB, and it would make the draft 5.0 MB"
        );
    }

    #[test]
    fn at_the_limit_a_typed_key_or_a_new_line_is_refused_and_said() {
        let mut app = app();
        app.update(Msg::Term(Event::Paste(big_text(MAX_DRAFT_BYTES - 1))));
        assert_eq!(text_len(&app.chrome.input), MAX_DRAFT_BYTES - 1);
        app.update(key(KeyCode::Char('a'), KeyModifiers::NONE));
        assert_eq!(text_len(&app.chrome.input), MAX_DRAFT_BYTES);
        assert_eq!(error(&app), "");
        app.update(key(KeyCode::Char('b'), KeyModifiers::NONE));
        app.update(key(KeyCode::Enter, KeyModifiers::ALT));
        app.update_batch(typed("cd"));
        assert_eq!(text_len(&app.chrome.input), MAX_DRAFT_BYTES);
        assert!(
            draft(&app).ends_with("3456a"),
            "{:?}",
            &draft(&app)[MAX_DRAFT_BYTES - 10..]
        );
        assert_eq!(error(&app), "the input is full: it holds at most 1 MiB");
        // Deleting still works, and makes room again.
        app.update(key(KeyCode::Backspace, KeyModifiers::NONE));
        app.update_batch(typed("z"));
        assert!(draft(&app).ends_with("3456z"));
    }

    #[test]
    fn an_edited_draft_too_large_for_the_input_leaves_the_draft_as_it_was() {
        let mut app = app();
        app.update_batch(typed("mine"));
        app.update(Msg::EditorDone(Ok(big_text(2_000_000))));
        assert_eq!(draft(&app), "mine");
        assert_eq!(
            error(&app),
            "the edited draft was not added: the input holds at most 1 MiB, and it would make the draft 2.0 MB"
        );
    }

    #[test]
    fn keys_that_arrived_together_are_typed_as_one_edit_in_order() {
        let mut app = app();
        let mut batch = typed("hello");
        batch.push(key(KeyCode::Left, KeyModifiers::NONE));
        batch.extend(typed("X"));
        batch.push(key(KeyCode::End, KeyModifiers::NONE));
        batch.extend(typed(" World"));
        batch.push(key(KeyCode::Backspace, KeyModifiers::NONE));
        app.update_batch(batch);
        assert_eq!(draft(&app), "hellXo Worl");
    }

    #[test]
    fn each_key_of_a_batch_does_what_it_does_after_the_keys_before_it() {
        let mut app = app();
        let mut batch = typed("ab");
        batch.push(key(KeyCode::Tab, KeyModifiers::NONE));
        // In the conversation `j` moves the selection and does not type.
        batch.extend(typed("j"));
        batch.push(key(KeyCode::BackTab, KeyModifiers::NONE));
        batch.extend(typed("c"));
        app.update_batch(batch);
        assert_eq!(draft(&app), "abc");
    }

    #[test]
    fn a_thousand_keys_queued_behind_a_big_draft_cost_about_one() {
        let mut app = app();
        app.update(Msg::Term(Event::Paste(big_text(256 * 1024))));
        draw(&app);
        // One key, for the cost of one edit of this draft.
        let one = Instant::now();
        app.update(key(KeyCode::Char('a'), KeyModifiers::NONE));
        let one = one.elapsed();
        let keys = typed(&"x".repeat(1000));
        let started = Instant::now();
        app.update_batch(keys);
        let all = started.elapsed();
        assert!(draft(&app).ends_with(&format!("a{}", "x".repeat(1000))));
        assert!(
            all < one * 10 + Duration::from_millis(200),
            "1,000 queued keys took {all:?}; one key takes {one:?}"
        );
    }

    #[test]
    fn a_quit_behind_queued_edits_is_honoured_at_once_and_a_sent_draft_is_kept() {
        let mut app = app();
        app.update(Msg::Term(Event::Paste(big_text(256 * 1024))));
        draw(&app);
        let mut batch: Vec<Msg> = (0..1000)
            .map(|_| key(KeyCode::Backspace, KeyModifiers::NONE))
            .collect();
        batch.push(key(KeyCode::Char('c'), KeyModifiers::CONTROL));
        let started = Instant::now();
        app.update_batch(batch);
        assert!(app.chrome.quitting);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        // An Enter before the quit sends what was typed before it.
        let mut app = self::app();
        let mut batch = typed("hi");
        batch.push(key(KeyCode::Enter, KeyModifiers::NONE));
        batch.extend(typed("dropped"));
        batch.push(key(KeyCode::Char('q'), KeyModifiers::CONTROL));
        app.update_batch(batch);
        assert!(app.chrome.quitting);
        let sent: Vec<&str> = app
            .session
            .conversation
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(sent.first().copied(), Some("hi"));
    }
}
