//! Keys, paste and the mouse on the main screen: what each [`Intent`] of the focused
//! pane does, moving through the conversation and the sidebar, and typing.
//!
//! Popups take their keys in `popup.rs` and `browser.rs`; this file routes to them.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use super::editors::{edit_text, new_input};
use super::{App, Context, Effect, Focus, Intent, LeaveAction, Popup, keymap, line_field, typing};

/// The longest sidebar filter kept: far longer than any model name.
const MAX_FILTER_BYTES: usize = 1024;

impl App {
    pub(super) fn on_terminal(&mut self, event: Event, fx: &mut Vec<Effect>) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => {
                self.on_key(key, fx);
                fx.push(Effect::Redraw);
            }
            Event::Paste(text) => {
                self.on_paste(&text);
                fx.push(Effect::Redraw);
            }
            Event::Mouse(mouse) if self.on_mouse(mouse) => fx.push(Effect::Redraw),
            Event::Resize(width, height) => {
                self.resize(width, height);
                fx.push(Effect::Redraw);
            }
            _ => {}
        }
    }

    pub(super) fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let context = self.context();
        if context != Context::Main(self.chrome.focus) {
            self.on_popup_key(context, key, fx);
            return;
        }
        let intent = keymap::intent(context, &key);
        match intent {
            Intent::Quit => self.leave(LeaveAction::Quit, fx),
            Intent::Send => self.send(fx),
            Intent::Newline => {
                if typing::fits(&self.chrome.input, 1) {
                    self.chrome.input.insert_newline();
                } else {
                    self.set_input_full();
                }
            }
            Intent::Stop => {
                if self.session.stream.is_some() {
                    self.stop(fx);
                } else if self.cancel_download(fx) {
                    // Esc stopped the download.
                } else if self.chrome.focus == Focus::Sidebar {
                    if self.session.catalog.filter.is_empty() {
                        self.set_focus(Focus::Input);
                    } else {
                        self.session.catalog.set_filter(String::new());
                    }
                } else if self.chrome.focus == Focus::Conversation {
                    self.set_focus(Focus::Input);
                }
            }
            Intent::FocusNext => self.set_focus(self.chrome.focus.next()),
            Intent::FocusPrev => self.set_focus(self.chrome.focus.prev()),
            Intent::JumpToFilter => self.set_focus(Focus::Sidebar),
            Intent::Up | Intent::Down | Intent::PageUp | Intent::PageDown => {
                self.on_move(intent);
            }
            Intent::Top => {
                self.view.viewport.to_top();
                self.chrome.selected = None;
            }
            Intent::Bottom => {
                self.view.viewport.to_bottom();
                self.chrome.selected = None;
            }
            Intent::Pick => self.pick_model(),
            Intent::SaveAs => self.chrome.popup = Some(Popup::save_as(&self.session.conversation)),
            Intent::New => self.leave(LeaveAction::New, fx),
            Intent::Regenerate => self.regenerate(fx),
            Intent::Continue => self.continue_reply(fx),
            Intent::CopyMessage => self.copy_message(fx),
            Intent::ToggleThinking => self.toggle_thinking(),
            Intent::CopyCodeBlock(n) => self.copy_code_block(n, fx),
            Intent::CopyLastReply => self.copy_last_reply(fx),
            Intent::ExternalEditor => {
                fx.push(Effect::EditExternally(self.chrome.input.lines().join("\n")));
            }
            Intent::EditSystemPrompt => {
                self.chrome.popup = Some(Popup::system_prompt(
                    self.session.conversation.system_prompt.as_deref(),
                ));
            }
            Intent::Help => self.chrome.popup = Some(Popup::Help),
            Intent::Open => self.open_browser(fx),
            Intent::RecallOlder => {
                self.recall_older(key);
            }
            Intent::RecallNewer => {
                self.recall_newer(key);
            }
            Intent::Edit => self.on_edit(key),
            // Popup intents: no main-screen key has them.
            Intent::Close
            | Intent::Submit
            | Intent::Yes
            | Intent::No
            | Intent::Delete
            | Intent::Rename
            | Intent::Search => {}
        }
    }

    /// A key that is not a binding: it edits whatever has the focus.
    pub(super) fn on_edit(&mut self, key: KeyEvent) {
        match self.chrome.focus {
            Focus::Input => {
                if !typing::fits(&self.chrome.input, typing::added_by(&key)) {
                    self.set_input_full();
                    return;
                }
                edit_text(&mut self.chrome.input, key);
            }
            Focus::Sidebar => {
                let mut filter = self.session.catalog.filter.clone();
                if line_field::edit(&mut filter, key) {
                    self.session.catalog.set_filter(filter);
                }
            }
            Focus::Conversation => {
                // Typing while reading the conversation goes to the input.
                if let KeyCode::Char(_) = key.code
                    && !key.modifiers.contains(KeyModifiers::CONTROL)
                {
                    self.set_focus(Focus::Input);
                    edit_text(&mut self.chrome.input, key);
                }
            }
        }
    }

    pub(super) fn on_move(&mut self, intent: Intent) {
        let page = self
            .view
            .viewport
            .height
            .saturating_sub(1)
            .max(1)
            .cast_signed();
        match self.chrome.focus {
            Focus::Sidebar => {
                let sidebar_page = self.view.areas.sidebar.map_or(1, |s| {
                    usize::from(s.height.saturating_sub(3).max(1)).cast_signed()
                });
                let delta = match intent {
                    Intent::Up => -1,
                    Intent::Down => 1,
                    Intent::PageUp => -sidebar_page,
                    _ => sidebar_page,
                };
                self.session.catalog.move_selection(delta);
            }
            _ => match intent {
                Intent::PageUp => self.scroll_by(-page),
                Intent::PageDown => self.scroll_by(page),
                Intent::Up => self.select_message(-1),
                _ => self.select_message(1),
            },
        }
    }

    pub(super) fn scroll_by(&mut self, delta: isize) {
        self.view
            .viewport
            .scroll_by(delta, self.view.history.total_rows());
    }

    /// Moves the message highlight and scrolls it into view.
    pub(super) fn select_message(&mut self, delta: isize) {
        let n = self.session.conversation.messages.len();
        if n == 0 {
            return;
        }
        let next = match self.chrome.selected {
            None if delta < 0 => n - 1,
            None => {
                // Down with nothing selected: start from the first message on screen.
                let top = self.view.viewport.top_for(self.view.history.total_rows());
                self.view.history.locate(top).map_or(0, |(i, _)| i)
            }
            Some(i) => i.saturating_add_signed(delta).min(n - 1),
        };
        self.chrome.selected = Some(next);
        // Its height must be exact before it is scrolled into view.
        self.view
            .history
            .lay_out(&self.session.conversation.messages, next);
        let first = self.view.history.start_of(next);
        let rows = self.view.history.height(next).max(1);
        self.view
            .viewport
            .reveal(first, rows, self.view.history.total_rows());
    }

    pub(super) fn on_mouse(&mut self, mouse: MouseEvent) -> bool {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_by(-3),
            MouseEventKind::ScrollDown => self.scroll_by(3),
            _ => return false,
        }
        true
    }

    pub(super) fn on_paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if let Some(popup) = &mut self.chrome.popup {
            let held = match popup {
                Popup::SaveAs(save_as) => typing::text_len(&save_as.editor),
                Popup::SystemPrompt(prompt) => typing::text_len(&prompt.editor),
                Popup::Browser(browser) => browser.query.len(),
                Popup::Help | Popup::Leave { .. } => 0,
            };
            if held.saturating_add(text.len()) > typing::MAX_DRAFT_BYTES {
                self.set_error(typing::too_large(
                    "the paste",
                    &new_input(),
                    held + text.len(),
                ));
            } else {
                popup.paste(&text);
            }
            return;
        }
        match self.chrome.focus {
            Focus::Sidebar => {
                let line = text.lines().next().unwrap_or_default();
                // A filter longer than any model name matches nothing; this bounds it.
                if self.session.catalog.filter.len() + line.len() <= MAX_FILTER_BYTES {
                    let mut filter = self.session.catalog.filter.clone();
                    filter.push_str(line);
                    self.session.catalog.set_filter(filter);
                }
            }
            Focus::Input | Focus::Conversation => {
                self.set_focus(Focus::Input);
                if typing::fits(&self.chrome.input, text.len()) {
                    self.chrome.input.insert_str(&text);
                } else {
                    self.set_error(typing::too_large(
                        "the paste",
                        &self.chrome.input,
                        text.len(),
                    ));
                }
            }
        }
    }

    pub(super) fn pick_model(&mut self) {
        let Some(model) = self.session.catalog.selected_model() else {
            self.set_error("no model matches the filter".into());
            return;
        };
        self.set_notice(format!("{model} answers the next message"));
        self.session.active_model = Some(model);
        self.session.catalog.set_filter(String::new());
        if let Some(m) = self.session.active_model.clone() {
            self.session.catalog.select_model(&m);
        }
        self.set_focus(Focus::Input);
    }

    pub(super) fn set_focus(&mut self, focus: Focus) {
        if focus != Focus::Conversation {
            self.chrome.selected = None;
        }
        self.chrome.focus = focus;
    }
}

impl App {
    /// `t`: opens or folds the thinking of the selected reply, or of the last reply
    /// that has thinking when none is selected.
    fn toggle_thinking(&mut self) {
        let messages = &self.session.conversation.messages;
        let has_thinking = |i: usize| {
            messages
                .get(i)
                .is_some_and(|m| m.reasoning.as_deref().is_some_and(|r| !r.is_empty()))
        };
        let target = match self.chrome.selected {
            Some(i) => Some(i).filter(|&i| has_thinking(i)),
            None => (0..messages.len())
                .rev()
                .take(64)
                .find(|&i| has_thinking(i)),
        };
        let Some(index) = target else {
            self.set_error(match self.chrome.selected {
                Some(i) => format!("message {} has no thinking to show", i + 1),
                None => "no recent reply has thinking to show".to_owned(),
            });
            return;
        };
        self.view.history.flip_thinking(messages, index);
        self.lay_out_visible();
    }
}
