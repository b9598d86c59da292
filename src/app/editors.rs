//! The text editors the app uses (input, popups' fields) and how editing keys apply to
//! them, the same in every editor.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{TextArea, WrapMode};

/// A text editor without colours of its own. The editor's defaults (a dark grey
/// placeholder, a light blue selection) would bypass the theme and `NO_COLOR`; the
/// app holds no theme, so these use attributes only, which read on any background.
pub(crate) fn new_editor() -> TextArea<'static> {
    let mut editor = TextArea::default();
    editor.set_cursor_line_style(Style::default());
    editor.set_placeholder_style(Style::default().add_modifier(Modifier::DIM));
    editor.set_selection_style(Style::default().add_modifier(Modifier::REVERSED));
    editor
}

/// A fresh input editor.
pub(crate) fn new_input() -> TextArea<'static> {
    let mut input = new_editor();
    input.set_wrap_mode(WrapMode::WordOrGlyph);
    input.set_placeholder_text("Type a message…");
    input.set_max_histories(200);
    input
}

/// Applies an editing key to a text editor, with tinychat's choices for the keys the
/// editor's defaults disagree on (Ctrl+U clears to the line start, Ctrl+Z undoes).
pub(crate) fn edit_text(editor: &mut TextArea<'static>, key: KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('u') if ctrl => {
            editor.delete_line_by_head();
        }
        KeyCode::Char('z') if ctrl => {
            editor.undo();
        }
        KeyCode::Char('z') if alt => {
            editor.redo();
        }
        // Enter and Tab are bindings; they never reach the editor as text.
        KeyCode::Enter | KeyCode::Tab => {}
        _ => {
            editor.input(key);
        }
    }
}
