//! The chrome: what surrounds the conversation and takes the user's keys — which pane
//! has the focus, the input editor, the open popup, the status line's notice, the
//! highlighted message, the prompt recall and the copy in flight.
//!
//! Plain data owned by [`App`](super::App). The input's cursor style is derived from
//! the focus and the popup by [`Chrome::sync_cursor`], which the app calls once at the
//! end of every update, so no handler has to remember it.

use ratatui::style::{Modifier, Style};
use ratatui_textarea::TextArea;

use super::editors::new_input;
use super::recall::Recall;
use super::{Focus, Popup};

/// The transient message on the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

pub struct Chrome {
    pub(super) focus: Focus,
    pub(super) input: TextArea<'static>,
    pub(super) popup: Option<Popup>,
    /// The transient message on the status line.
    pub(super) notice: Option<Notice>,
    /// Message highlighted in the conversation (Up/Down there).
    pub(super) selected: Option<usize>,
    /// Set while Up/Down in the input walk through earlier prompts.
    pub(super) recall: Option<Recall>,
    /// What the copy in flight is, with its length, for the status line once it is done.
    pub(super) copying: Option<String>,
    /// Set when the app asked to quit; the runtime exits after saving.
    pub(super) quitting: bool,
}

impl Chrome {
    pub(super) fn new() -> Chrome {
        let mut chrome = Chrome {
            focus: Focus::Input,
            input: new_input(),
            popup: None,
            notice: None,
            selected: None,
            recall: None,
            copying: None,
            quitting: false,
        };
        chrome.sync_cursor();
        chrome
    }

    /// True when keys go to the input: it has the focus and no popup is open.
    pub(super) fn input_takes_keys(&self) -> bool {
        self.focus == Focus::Input && self.popup.is_none()
    }

    /// The input shows its block cursor only while it takes the keys.
    pub(super) fn sync_cursor(&mut self) {
        let cursor = if self.input_takes_keys() {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        if self.input.cursor_style() != cursor {
            self.input.set_cursor_style(cursor);
        }
    }
}
