//! Popups over the main screen: save-as prompt, system prompt editor, help.
//!
//! A popup takes every key while it is open; Esc closes it without a change. The
//! save-as prompt is a one-line editor pre-filled with a file name in the current folder
//! (spec §6); Enter asks the runtime to write the file.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::conversation::{Conversation, UNTITLED};

use super::{App, Effect, edit_text, typing};

/// An open popup.
pub enum Popup {
    /// Ctrl+S: the path to write.
    SaveAs(TextArea<'static>),
    /// F2: the conversation's system prompt.
    SystemPrompt(TextArea<'static>),
    /// F1: every key binding.
    Help,
    /// Ctrl+O: saved conversations.
    Browser(Box<super::Browser>),
}

impl Popup {
    pub(super) fn save_as(conversation: &Conversation) -> Popup {
        let mut editor = super::new_editor();
        editor.insert_str(default_file_name(conversation));
        Popup::SaveAs(editor)
    }

    pub(super) fn system_prompt(current: Option<&str>) -> Popup {
        let mut editor = super::new_editor();
        editor.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
        editor.set_placeholder_text("No system prompt. Type one…");
        editor.insert_str(current.unwrap_or_default());
        Popup::SystemPrompt(editor)
    }

    /// Pasted text goes into the popup's editor (one line for a path).
    pub(super) fn paste(&mut self, text: &str) {
        match self {
            Popup::SaveAs(editor) => {
                editor.insert_str(text.lines().next().unwrap_or_default());
            }
            Popup::SystemPrompt(editor) => {
                editor.insert_str(text);
            }
            Popup::Help => {}
            Popup::Browser(browser) => {
                browser
                    .query
                    .push_str(text.lines().next().unwrap_or_default());
            }
        }
    }
}

/// `<words-of-the-title>.md`, a safe file name in the current folder.
pub fn default_file_name(conversation: &Conversation) -> String {
    let mut slug = String::new();
    for c in conversation.title.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.chars().count() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() || conversation.title == UNTITLED {
        format!("tinychat-{}.md", conversation.id)
    } else {
        format!("{slug}.md")
    }
}

impl App {
    pub(super) fn on_popup_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c' | 'q')) {
            self.popup = None;
            self.quit(fx);
            return;
        }
        if let Some(Popup::Browser(_)) = &self.popup {
            self.on_browser_key(key, fx);
            return;
        }
        let Some(popup) = &mut self.popup else {
            return;
        };
        match (popup, key.code) {
            // Esc closes any popup; any key closes the help.
            (_, KeyCode::Esc) | (Popup::Help, _) => {
                self.popup = None;
            }
            (Popup::SaveAs(editor), KeyCode::Enter) => {
                let path = editor.lines().join("").trim().to_owned();
                if path.is_empty() {
                    self.set_error("type a file name (.md, .txt or .json)".into());
                    return;
                }
                if self.conversation.messages.is_empty() {
                    self.set_error("nothing to save yet: the conversation is empty".into());
                    self.popup = None;
                    return;
                }
                fx.push(Effect::Export {
                    path,
                    conversation: self.conversation.clone(),
                });
                self.set_notice("saving…".into());
                self.popup = None;
            }
            (Popup::SaveAs(editor), _) => {
                if ctrl && key.code == KeyCode::Char('u') {
                    editor.select_all();
                    editor.cut();
                } else {
                    edit_text(editor, key);
                }
            }
            (Popup::SystemPrompt(editor), KeyCode::Enter)
                if key
                    .modifiers
                    .intersects(KeyModifiers::ALT | KeyModifiers::SHIFT) =>
            {
                editor.insert_newline();
            }
            (Popup::SystemPrompt(editor), KeyCode::Enter) => {
                let text = editor.lines().join("\n").trim().to_owned();
                self.conversation.system_prompt = (!text.is_empty()).then_some(text);
                self.conversation.touch();
                self.set_notice(if self.conversation.system_prompt.is_some() {
                    "system prompt set for this conversation".into()
                } else {
                    "system prompt cleared".into()
                });
                self.popup = None;
                if !self.conversation.messages.is_empty() {
                    fx.push(Effect::Save(self.conversation.clone()));
                }
            }
            (Popup::SystemPrompt(editor), KeyCode::Char('j')) if ctrl => {
                editor.insert_newline();
            }
            (Popup::SystemPrompt(editor), _) if !typing::fits(editor, typing::added_by(&key)) => {
                self.set_input_full();
            }
            (Popup::SystemPrompt(editor), _) => edit_text(editor, key),
            // Handled above.
            (Popup::Browser(_), _) => {}
        }
        self.refresh_focus_styles();
    }
}
