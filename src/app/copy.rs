//! The copy keys inside `App::update`: `y`, `1`…`9` and Ctrl+Y become [`Effect::Copy`].
//!
//! Decides what text to copy (a message's raw content exactly as saved, or one of its
//! fenced code blocks) and what the status line says once the runtime reports back with
//! [`super::Msg::Copied`]. It never touches a clipboard or the terminal itself: the
//! runtime does (system clipboard first, OSC 52 otherwise).

use crate::clipboard::{CopyError, CopyMethod};
use crate::conversation::Role;
use crate::view::code_blocks::code_blocks;

use super::{App, Effect};

impl App {
    /// The message the conversation keys act on: the selected one, else the last one;
    /// and how to name it on the status line.
    fn copy_target(&self) -> Option<(usize, &'static str)> {
        match self.chrome.selected {
            Some(i) if i < self.session.conversation.messages.len() => {
                Some((i, "the selected message"))
            }
            _ => self
                .session
                .conversation
                .messages
                .len()
                .checked_sub(1)
                .map(|i| (i, "the last message")),
        }
    }

    /// `y`: the selected message's text, exactly as saved.
    pub(super) fn copy_message(&mut self, fx: &mut Vec<Effect>) {
        let Some((index, what)) = self.copy_target() else {
            self.set_error("nothing to copy yet".into());
            return;
        };
        let text = self.session.conversation.messages[index].content.clone();
        if text.is_empty() {
            self.set_error(format!("message {} is empty: nothing to copy", index + 1));
            return;
        }
        self.request_copy(text, what.to_owned(), fx);
    }

    /// `1`…`9`: code block `n` of the selected message.
    pub(super) fn copy_code_block(&mut self, n: u8, fx: &mut Vec<Effect>) {
        let Some((index, _)) = self.copy_target() else {
            self.set_error("nothing to copy yet".into());
            return;
        };
        let content = &self.session.conversation.messages[index].content;
        let blocks = code_blocks(content);
        let Some(block) = blocks.get(usize::from(n).saturating_sub(1)) else {
            let has = match blocks.len() {
                0 => "it has none".to_owned(),
                1 => "it has 1".to_owned(),
                k => format!("it has {k}"),
            };
            self.set_error(format!(
                "message {} has no code block {n} ({has})",
                index + 1
            ));
            return;
        };
        let text = block.text(content).into_owned();
        self.request_copy(text, format!("code block {n}"), fx);
    }

    /// Ctrl+Y: the last reply, or what has arrived of it while it streams.
    pub(super) fn copy_last_reply(&mut self, fx: &mut Vec<Effect>) {
        let Some(reply) = self
            .session
            .conversation
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
        else {
            self.set_error("no reply to copy yet".into());
            return;
        };
        if reply.content.is_empty() {
            self.set_error("the last reply has no text yet: nothing to copy".into());
            return;
        }
        let text = reply.content.clone();
        self.request_copy(text, "the last reply".into(), fx);
    }

    fn request_copy(&mut self, text: String, what: String, fx: &mut Vec<Effect>) {
        let chars = text.chars().count();
        let unit = if chars == 1 {
            "character"
        } else {
            "characters"
        };
        self.chrome.copying = Some(format!("{what} ({chars} {unit})"));
        fx.push(Effect::Copy { text, what });
    }

    /// The runtime's answer to [`Effect::Copy`].
    pub(super) fn on_copied(&mut self, result: Result<CopyMethod, CopyError>) {
        let what = self
            .chrome
            .copying
            .take()
            .unwrap_or_else(|| "the text".to_owned());
        match result {
            Ok(CopyMethod::SystemClipboard) => {
                self.set_notice(format!("copied {what} to the clipboard"));
            }
            Ok(how @ CopyMethod::Osc52) => self.set_notice(format!("copied {what} via the {how}")),
            Err(e) => self.set_error(format!("could not copy {what}: {e}")),
        }
    }
}
