//! What the app knows about the conversation's copy on disk, and leaving it safely.
//!
//! Owns: adopting a fork the store made (another window changed the file), whether
//! anything would be lost by leaving the conversation now, and the question asked
//! before Ctrl+N, Ctrl+O's open and quit throw away a conversation that is not saved.
//! A conversation counts as saved when its last autosave succeeded, or when its
//! messages are exactly those of a save-as that succeeded since (compared by pointer:
//! the live reply is copied on write, so any change after the save shows).

use std::path::PathBuf;
use std::sync::Arc;

use crate::conversation::Message;
use crate::storage::{Saved, StorageError};

use super::{App, Effect, Intent, LeaveAction, Popup};

impl App {
    /// An autosave finished.
    pub(super) fn on_save_result(
        &mut self,
        result: Result<Option<Saved>, StorageError>,
        fx: &mut Vec<Effect>,
    ) {
        match result.map_err(|e| e.to_string()) {
            Ok(saved) => {
                let was_unsaved = self.session.unsaved.take().is_some();
                let forked = saved.as_ref().is_some_and(|s| s.forked_from.is_some());
                if let Some(saved) = saved {
                    self.on_saved(saved);
                }
                if was_unsaved || forked {
                    fx.push(Effect::Redraw);
                }
            }
            // Said once, not every 2 s: the conversation stays in memory meanwhile, and
            // the status line says it is not saved until a save succeeds.
            Err(e) if self.session.unsaved.as_deref() != Some(e.as_str()) => {
                self.set_error(format!(
                    "autosave failed: {e}; the conversation stays in memory (Ctrl+S saves elsewhere)"
                ));
                self.session.unsaved = Some(e);
                fx.push(Effect::Redraw);
            }
            Err(_) => {}
        }
    }

    /// A save-as finished: on success, these messages are safe even if the autosave
    /// keeps failing.
    /// A file of that name was there: nothing was written, and the prompt asks.
    pub(super) fn on_exported(
        &mut self,
        result: Result<PathBuf, StorageError>,
        fx: &mut Vec<Effect>,
    ) {
        match result {
            Ok(path) => {
                self.session.exported = self.session.export_pending.take();
                self.set_notice(format!("saved to {}", path.display()));
            }
            Err(StorageError::Exists { path }) => {
                self.session.export_pending = None;
                self.ask_to_replace(path);
            }
            Err(e) => {
                self.session.export_pending = None;
                self.set_error(e.to_string());
            }
        }
        fx.push(Effect::Redraw);
    }

    /// A key while [`Popup::Leave`] asks: `y` leaves, `s` opens save-as, `n`/Esc stays.
    pub(super) fn on_leave_intent(
        &mut self,
        action: LeaveAction,
        intent: Intent,
        fx: &mut Vec<Effect>,
    ) {
        match intent {
            Intent::Yes => self.leave_now(action, fx),
            Intent::SaveAs => self.chrome.popup = Some(Popup::save_as(&self.session.conversation)),
            Intent::Close | Intent::No => self.chrome.popup = None,
            _ => {}
        }
    }

    /// A save finished: when the store wrote a copy under a new id because the file
    /// had changed elsewhere, this conversation is that copy from now on.
    pub(super) fn on_saved(&mut self, saved: Saved) {
        if let Some(old) = saved.forked_from
            && self.session.conversation.id == old
        {
            self.session.conversation.id.clone_from(&saved.id);
            // The new id first: the rest may not fit an 80-column status line.
            self.set_error(format!(
                "continuing as copy {}: the saved {old} was changed elsewhere (another tinychat window?) and is kept as it is",
                saved.id
            ));
        }
    }

    /// A different conversation is shown: what was known about saving the last one
    /// does not apply.
    pub(super) fn forget_saves(&mut self) {
        self.session.unsaved = None;
        self.session.export_pending = None;
        self.session.exported = None;
    }

    /// True while some of the conversation exists only in memory: the last autosave
    /// failed and no save-as has written these exact messages since.
    pub fn is_unsaved(&self) -> bool {
        self.session.unsaved.is_some()
            && !self.session.conversation.messages.is_empty()
            && !self
                .session
                .exported
                .as_deref()
                .is_some_and(|copy| same_messages(copy, &self.session.conversation.messages))
    }

    /// Ctrl+N, Ctrl+O's Enter, Ctrl+Q: done at once when nothing would be lost, else
    /// asked first.
    pub(super) fn leave(&mut self, action: LeaveAction, fx: &mut Vec<Effect>) {
        if self.is_unsaved() {
            self.chrome.popup = Some(Popup::Leave {
                action,
                reason: self.session.unsaved.clone().unwrap_or_default(),
            });
        } else {
            self.leave_now(action, fx);
        }
    }

    /// The user said leave (or nothing is at stake).
    pub(super) fn leave_now(&mut self, action: LeaveAction, fx: &mut Vec<Effect>) {
        self.chrome.popup = None;
        match action {
            LeaveAction::Quit => self.quit(fx),
            LeaveAction::New => self.new_conversation(fx),
            LeaveAction::Open(id) => self.open_saved(id, fx),
        }
    }

    /// Remembers the messages a save-as is writing (see [`App::is_unsaved`]).
    pub(super) fn exporting(&mut self) {
        self.session.export_pending = Some(self.session.conversation.messages.clone());
    }
}

fn same_messages(a: &[Arc<Message>], b: &[Arc<Message>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y))
}
