//! Popups over the main screen: save-as prompt, system prompt editor, help, and the
//! question before leaving a conversation that is not saved.
//!
//! A popup takes every key while it is open; Esc closes it without a change. The
//! save-as prompt is a one-line editor pre-filled with a file name in the current folder
//! (spec §6); Enter asks the runtime to write the file, which it does only when no
//! file of that name exists. When one does, the prompt asks whether to replace it.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::storage::export::Replace;

use crate::conversation::{Conversation, UNTITLED};

use super::{App, Effect, edit_text, typing};

/// The save-as prompt.
pub struct SaveAs {
    pub editor: TextArea<'static>,
    /// Set while asking whether to replace this existing file.
    pub confirm: Option<PathBuf>,
}

/// What the user asked to do when the conversation was not saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveAction {
    Quit,
    New,
    /// Open this saved conversation (Ctrl+O).
    Open(String),
}

impl LeaveAction {
    /// The end of "y …" in the question.
    pub fn words(&self) -> &'static str {
        match self {
            LeaveAction::Quit => "quit anyway",
            LeaveAction::New => "start a new one anyway",
            LeaveAction::Open(_) => "open the other one anyway",
        }
    }
}

/// An open popup.
pub enum Popup {
    /// Ctrl+S: the path to write.
    SaveAs(SaveAs),
    /// Ctrl+N, Ctrl+O or quit while the conversation is not saved: what to do.
    Leave {
        action: LeaveAction,
        /// Why it is not saved (the autosave's error).
        reason: String,
    },
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
        Popup::SaveAs(SaveAs {
            editor,
            confirm: None,
        })
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
            Popup::SaveAs(SaveAs {
                editor,
                confirm: None,
            }) => {
                editor.insert_str(text.lines().next().unwrap_or_default());
            }
            Popup::SaveAs(_) | Popup::Leave { .. } | Popup::Help => {}
            Popup::SystemPrompt(editor) => {
                editor.insert_str(text);
            }
            Popup::Browser(browser) => {
                browser
                    .query
                    .push_str(text.lines().next().unwrap_or_default());
            }
        }
    }
}

/// `<words-of-the-title>-<YYYYMMDD-HHMM>.md`, a safe file name in the current folder.
/// The conversation's start time keeps two conversations that begin with the same
/// words apart (and Enter asks before replacing a file anyway).
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
        return format!("tinychat-{}.md", conversation.id);
    }
    match chrono::DateTime::parse_from_rfc3339(&conversation.created_at) {
        Ok(start) => format!("{slug}-{}.md", start.format("%Y%m%d-%H%M")),
        // A file written by hand may have any `created_at`; the id is unique.
        Err(_) => format!("{slug}-{}.md", file_safe(&conversation.id)),
    }
}

/// `text` with every character that is not a letter, digit, `-` or `_` made a `-`.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

impl App {
    pub(super) fn on_popup_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c' | 'q')) {
            // Asked once: quitting again while asked is the answer.
            if let Some(Popup::Leave {
                action: LeaveAction::Quit,
                ..
            }) = &self.popup
            {
                self.leave_now(LeaveAction::Quit, fx);
            } else {
                self.popup = None;
                self.leave(LeaveAction::Quit, fx);
            }
            return;
        }
        if let Some(Popup::Leave { action, .. }) = &self.popup {
            let action = action.clone();
            self.on_leave_key(action, key.code, fx);
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
            (
                Popup::SaveAs(SaveAs {
                    confirm: Some(path),
                    ..
                }),
                code,
            ) => match code {
                KeyCode::Char('y' | 'Y') => {
                    let path = path.display().to_string();
                    self.export(path, Replace::Yes, fx);
                }
                KeyCode::Char('n' | 'N') => {
                    if let Some(Popup::SaveAs(save)) = &mut self.popup {
                        save.confirm = None;
                    }
                }
                _ => {}
            },
            (Popup::SaveAs(SaveAs { editor, .. }), KeyCode::Enter) => {
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
                self.export(path, Replace::No, fx);
            }
            (Popup::SaveAs(SaveAs { editor, .. }), _) => {
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
            (Popup::Browser(_) | Popup::Leave { .. }, _) => {}
        }
        self.refresh_focus_styles();
    }

    /// Asks the runtime to write the save-as file and closes the prompt.
    fn export(&mut self, path: String, replace: Replace, fx: &mut Vec<Effect>) {
        self.exporting();
        fx.push(Effect::Export {
            path,
            conversation: self.conversation.clone(),
            replace,
        });
        self.set_notice("saving…".into());
        self.popup = None;
    }

    /// The save-as target exists: the prompt comes back, asking whether to replace it
    /// (unless another popup opened meanwhile; then the notice says it).
    pub(super) fn ask_to_replace(&mut self, path: PathBuf) {
        if self.popup.is_some() {
            self.set_error(format!(
                "{} already exists; nothing was written",
                path.display()
            ));
            return;
        }
        let mut editor = super::new_editor();
        editor.insert_str(path.display().to_string());
        self.set_notice(format!("{} already exists", path.display()));
        self.popup = Some(Popup::SaveAs(SaveAs {
            editor,
            confirm: Some(path),
        }));
        self.refresh_focus_styles();
    }
}
