//! Prompt recall (issue 5, item 8): Up on the input's first line brings back the
//! conversation's earlier prompts, newest first; Down on its last line comes forward,
//! and Down past the newest gives back the draft that was being typed.
//!
//! Owns only the walk's position, the put-aside draft and any edits made to recalled
//! prompts, so moving through the list never loses text: an edited prompt keeps its
//! edit while the walk lasts, and the draft comes back after Down past the newest or
//! after sending a recalled prompt. Pure state, like the rest of `app/`.

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;
use ratatui_textarea::CursorMove;

use super::typing::MAX_DRAFT_BYTES;
use super::{App, edit_text, new_input};
use crate::conversation::Role;

/// A walk through earlier prompts, from the first Up until Down past the newest, a send
/// or a change of conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recall {
    /// Which prompt the input shows: 0 is the newest.
    pub(super) pos: usize,
    /// What the input held when the walk began.
    pub(super) draft: String,
    /// Recalled prompts the user changed, by position, so walking past them keeps the
    /// change.
    edits: BTreeMap<usize, String>,
}

impl Recall {
    /// The draft put aside when the walk began.
    pub(crate) fn into_draft(self) -> String {
        self.draft
    }
}

/// Where the cursor goes in a recalled text.
#[derive(Clone, Copy)]
enum CursorAt {
    /// The end of the first line: a further Up goes on back.
    FirstLineEnd,
    /// The end of the text: a further Down goes on forward.
    End,
}

impl App {
    /// The `n`th user prompt of the conversation counting back from the newest. A
    /// prompt larger than the input holds (one sent with `tinychat ask -`, say) is not
    /// recalled: the walk passes over it.
    fn prompt_back(&self, n: usize) -> Option<&str> {
        self.session
            .conversation
            .messages
            .iter()
            .rev()
            .filter(|m| m.role == Role::User && m.content.len() <= MAX_DRAFT_BYTES)
            .nth(n)
            .map(|m| m.content.as_str())
    }

    fn input_text(&self) -> String {
        self.chrome.input.lines().join("\n")
    }

    /// Up in the input.
    pub(super) fn recall_older(&mut self, key: KeyEvent) {
        if self.chrome.input.cursor().0 != 0 {
            edit_text(&mut self.chrome.input, key);
            return;
        }
        let next = self.chrome.recall.as_ref().map_or(0, |r| r.pos + 1);
        // Nothing older: the input stays as it is.
        let Some(prompt) = self.prompt_back(next).map(str::to_owned) else {
            return;
        };
        let current = self.input_text();
        match self.chrome.recall.take() {
            None => {
                self.chrome.recall = Some(Recall {
                    pos: next,
                    draft: current,
                    edits: BTreeMap::new(),
                });
            }
            Some(mut walk) => {
                self.keep_edit(&mut walk, current);
                walk.pos = next;
                self.chrome.recall = Some(walk);
            }
        }
        let text = self
            .chrome
            .recall
            .as_ref()
            .and_then(|w| w.edits.get(&next).cloned())
            .unwrap_or(prompt);
        self.show_in_input(&text, CursorAt::FirstLineEnd);
    }

    /// Down in the input.
    pub(super) fn recall_newer(&mut self, key: KeyEvent) {
        let on_last_line = self.chrome.input.cursor().0 + 1 >= self.chrome.input.lines().len();
        let Some(mut walk) = self.chrome.recall.take_if(|_| on_last_line) else {
            edit_text(&mut self.chrome.input, key);
            return;
        };
        let current = self.input_text();
        self.keep_edit(&mut walk, current);
        if walk.pos == 0 {
            self.show_in_input(&walk.draft, CursorAt::End);
            return;
        }
        walk.pos -= 1;
        let text = walk
            .edits
            .get(&walk.pos)
            .cloned()
            .or_else(|| self.prompt_back(walk.pos).map(str::to_owned))
            .unwrap_or_default();
        self.chrome.recall = Some(walk);
        self.show_in_input(&text, CursorAt::End);
    }

    /// Remembers what the input shows for the walk's prompt, if the user changed it.
    fn keep_edit(&self, walk: &mut Recall, current: String) {
        if self.prompt_back(walk.pos) == Some(current.as_str()) {
            walk.edits.remove(&walk.pos);
        } else {
            walk.edits.insert(walk.pos, current);
        }
    }

    fn show_in_input(&mut self, text: &str, cursor: CursorAt) {
        self.chrome.input = new_input();
        self.chrome.input.insert_str(text);
        if let CursorAt::FirstLineEnd = cursor {
            let first_line = self
                .chrome
                .input
                .lines()
                .first()
                .map_or(0, |l| l.chars().count());
            self.chrome.input.move_cursor(CursorMove::Jump(
                0,
                first_line.min(usize::from(u16::MAX)) as u16,
            ));
        }
    }

    /// The prompts change with the conversation: the walk ends, and the input keeps
    /// what it shows.
    pub(super) fn end_recall(&mut self) {
        self.chrome.recall = None;
    }
}
