//! Popups over the main screen: save-as prompt, system prompt editor, help, and the
//! question before leaving a conversation that is not saved.
//!
//! A popup takes every key while it is open, through its own binding table
//! (`keymap::Context`); Esc closes it without a change. Each popup's state applies the
//! key's intent itself and returns a small outcome that the app carries out. The
//! save-as prompt is a one-line editor pre-filled with a file name in the current folder
//! (spec §6); Enter asks the runtime to write the file, which it does only when no
//! file of that name exists. When one does, the prompt asks whether to replace it.

use std::path::PathBuf;

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use crate::storage::export::Replace;

use crate::conversation::{Conversation, UNTITLED};

use super::keymap::{self, Context, Intent};
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
    SystemPrompt(SystemPrompt),
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
        Popup::SystemPrompt(SystemPrompt { editor })
    }

    /// Which binding table the popup's keys follow.
    pub fn context(&self) -> Context {
        match self {
            Popup::SaveAs(SaveAs { confirm: None, .. }) => Context::SaveAs,
            Popup::SaveAs(SaveAs {
                confirm: Some(_), ..
            }) => Context::ReplaceFile,
            Popup::Leave { .. } => Context::Leave,
            Popup::SystemPrompt(_) => Context::SystemPrompt,
            Popup::Help => Context::Help,
            Popup::Browser(browser) => browser.context(),
        }
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
            Popup::SystemPrompt(prompt) => {
                prompt.editor.insert_str(text);
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

/// What a key did in the save-as prompt, for the app to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SaveAsOutcome {
    Stay,
    Close,
    /// Enter on an empty name.
    NoName,
    /// Write this path, but not over an existing file.
    Write(String),
    /// The user said yes: replace this file.
    Replace(PathBuf),
}

impl SaveAs {
    /// Applies a key's intent; the prompt changes itself, the app does the rest.
    pub(super) fn on_intent(&mut self, intent: Intent, key: KeyEvent) -> SaveAsOutcome {
        match (&self.confirm, intent) {
            (_, Intent::Close) => SaveAsOutcome::Close,
            (Some(path), Intent::Yes) => SaveAsOutcome::Replace(path.clone()),
            (Some(_), Intent::No) => {
                self.confirm = None;
                SaveAsOutcome::Stay
            }
            (None, Intent::Submit) => {
                let path = self.editor.lines().join("").trim().to_owned();
                if path.is_empty() {
                    SaveAsOutcome::NoName
                } else {
                    SaveAsOutcome::Write(path)
                }
            }
            (None, Intent::Edit) => {
                edit_text(&mut self.editor, key);
                SaveAsOutcome::Stay
            }
            (_, _) => SaveAsOutcome::Stay,
        }
    }
}

/// The system prompt editor (F2).
pub struct SystemPrompt {
    pub editor: TextArea<'static>,
}

/// What a key did in the system prompt editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PromptOutcome {
    Stay,
    Close,
    /// The key would take the prompt past the size limit; nothing changed.
    Full,
    /// Enter: the conversation's new system prompt (`None`: cleared).
    Set(Option<String>),
}

impl SystemPrompt {
    pub(super) fn on_intent(&mut self, intent: Intent, key: KeyEvent) -> PromptOutcome {
        match intent {
            Intent::Close => PromptOutcome::Close,
            Intent::Submit => {
                let text = self.editor.lines().join("\n").trim().to_owned();
                PromptOutcome::Set((!text.is_empty()).then_some(text))
            }
            Intent::Newline if typing::fits(&self.editor, 1) => {
                self.editor.insert_newline();
                PromptOutcome::Stay
            }
            Intent::Edit if typing::fits(&self.editor, typing::added_by(&key)) => {
                edit_text(&mut self.editor, key);
                PromptOutcome::Stay
            }
            Intent::Newline | Intent::Edit => PromptOutcome::Full,
            _ => PromptOutcome::Stay,
        }
    }
}

impl App {
    /// A key while a popup is open: its context's intent, carried out by the popup's
    /// own state; the app routes what comes out.
    pub(super) fn on_popup_key(&mut self, context: Context, key: KeyEvent, fx: &mut Vec<Effect>) {
        let intent = keymap::intent(context, &key);
        if intent == Intent::Quit {
            // Asked once: quitting again while asked is the answer.
            if let Some(Popup::Leave {
                action: LeaveAction::Quit,
                ..
            }) = &self.chrome.popup
            {
                self.leave_now(LeaveAction::Quit, fx);
            } else {
                self.chrome.popup = None;
                self.leave(LeaveAction::Quit, fx);
            }
            return;
        }
        let Some(popup) = &mut self.chrome.popup else {
            return;
        };
        match popup {
            Popup::Help => {
                if intent == Intent::Close {
                    self.chrome.popup = None;
                }
            }
            Popup::Leave { action, .. } => {
                let action = action.clone();
                self.on_leave_intent(action, intent, fx);
            }
            Popup::Browser(_) => self.on_browser_key(intent, key, fx),
            Popup::SaveAs(save_as) => match save_as.on_intent(intent, key) {
                SaveAsOutcome::Stay => {}
                SaveAsOutcome::Close => self.chrome.popup = None,
                SaveAsOutcome::NoName => {
                    self.set_error("type a file name (.md, .txt or .json)".into());
                }
                SaveAsOutcome::Write(_) if self.session.conversation.messages.is_empty() => {
                    self.set_error("nothing to save yet: the conversation is empty".into());
                    self.chrome.popup = None;
                }
                SaveAsOutcome::Write(path) => self.export(path, Replace::No, fx),
                SaveAsOutcome::Replace(path) => {
                    self.export(path.display().to_string(), Replace::Yes, fx);
                }
            },
            Popup::SystemPrompt(prompt) => match prompt.on_intent(intent, key) {
                PromptOutcome::Stay => {}
                PromptOutcome::Close => self.chrome.popup = None,
                PromptOutcome::Full => self.set_input_full(),
                PromptOutcome::Set(text) => {
                    self.session.conversation.system_prompt = text;
                    self.session.conversation.touch();
                    self.set_notice(if self.session.conversation.system_prompt.is_some() {
                        "system prompt set for this conversation".into()
                    } else {
                        "system prompt cleared".into()
                    });
                    self.chrome.popup = None;
                    if !self.session.conversation.messages.is_empty() {
                        fx.push(Effect::Save(self.session.conversation.clone()));
                    }
                }
            },
        }
    }

    /// Asks the runtime to write the save-as file and closes the prompt.
    fn export(&mut self, path: String, replace: Replace, fx: &mut Vec<Effect>) {
        self.exporting();
        fx.push(Effect::Export {
            path,
            conversation: self.session.conversation.clone(),
            replace,
        });
        self.set_notice("saving…".into());
        self.chrome.popup = None;
    }

    /// The save-as target exists: the prompt comes back, asking whether to replace it
    /// (unless another popup opened meanwhile; then the notice says it).
    pub(super) fn ask_to_replace(&mut self, path: PathBuf) {
        if self.chrome.popup.is_some() {
            self.set_error(format!(
                "{} already exists; nothing was written",
                path.display()
            ));
            return;
        }
        let mut editor = super::new_editor();
        editor.insert_str(path.display().to_string());
        self.set_notice(format!("{} already exists", path.display()));
        self.chrome.popup = Some(Popup::SaveAs(SaveAs {
            editor,
            confirm: Some(path),
        }));
    }
}
