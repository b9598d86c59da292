//! The conversation browser (Ctrl+O): saved conversations, newest first, searched by
//! title and full text as the user types; Enter opens, `d` deletes after a
//! confirmation, `r` renames.
//!
//! Plain state inside `App`: the index arrives from a background load
//! (`Effect::LoadIndex` → `Msg::IndexLoaded`), so opening the browser never waits for
//! the disk; searching runs in `update` over the loaded index. Opening, renaming and
//! deleting are effects the runtime carries out on a blocking thread.

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use crate::storage::index::{IndexEntry, SearchHit, search};

use super::keymap::{Context, Intent};
use super::{App, Effect, edit_text, line_field};

/// Which part of the browser takes typed letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserFocus {
    /// Letters edit the search.
    Search,
    /// Letters are commands (`d`, `r`, `j`, `k`, `/`).
    List,
}

/// An action waiting for the user's answer.
pub enum Pending {
    /// "Delete <title>? y/n" for this entry.
    Delete(usize),
    /// A new title for this entry, being typed.
    Rename(usize, Box<TextArea<'static>>),
}

/// The browser's state.
pub struct Browser {
    pub query: String,
    /// `None` while the index loads in the background.
    pub entries: Option<Vec<IndexEntry>>,
    /// Matches of `query`, in entry order (newest first).
    pub hits: Vec<SearchHit>,
    /// Index into `hits`.
    pub selected: usize,
    /// First hit shown.
    pub scroll: usize,
    pub focus: BrowserFocus,
    pub pending: Option<Pending>,
}

impl Browser {
    pub(super) fn new() -> Browser {
        Browser {
            query: String::new(),
            entries: None,
            hits: Vec::new(),
            selected: 0,
            scroll: 0,
            focus: BrowserFocus::Search,
            pending: None,
        }
    }

    /// The highlighted entry.
    pub fn selected_entry(&self) -> Option<(usize, &IndexEntry)> {
        let hit = self.hits.get(self.selected)?;
        let entry = self.entries.as_ref()?.get(hit.entry)?;
        Some((hit.entry, entry))
    }

    /// Rows one hit takes on screen: its line, plus the snippet line when there is one.
    pub fn hit_rows(hit: &SearchHit) -> usize {
        1 + usize::from(hit.snippet.is_some())
    }

    fn refresh(&mut self) {
        self.hits = match &self.entries {
            Some(entries) => search(entries, &self.query),
            None => Vec::new(),
        };
        self.selected = 0;
        self.scroll = 0;
    }

    /// Keeps the selection inside a list `height` rows tall.
    pub(super) fn keep_in_view(&mut self, height: usize) {
        if self.selected < self.scroll {
            self.scroll = self.selected;
        }
        loop {
            let rows: usize = self
                .hits
                .iter()
                .skip(self.scroll)
                .take(self.selected + 1 - self.scroll)
                .map(Browser::hit_rows)
                .sum();
            if rows <= height.max(1) || self.scroll >= self.selected {
                break;
            }
            self.scroll += 1;
        }
    }

    fn move_by(&mut self, delta: isize) {
        if self.hits.is_empty() {
            return;
        }
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(self.hits.len() - 1);
    }

    /// Which binding table the browser's keys follow now.
    pub fn context(&self) -> Context {
        match (&self.pending, self.focus) {
            (Some(Pending::Delete(_)), _) => Context::BrowserDelete,
            (Some(Pending::Rename(..)), _) => Context::BrowserRename,
            (None, BrowserFocus::Search) => Context::BrowserSearch,
            (None, BrowserFocus::List) => Context::BrowserList,
        }
    }

    fn entry_id(&self, entry: usize) -> Option<String> {
        self.entries
            .as_ref()
            .and_then(|es| es.get(entry))
            .map(|e| e.id.clone())
    }

    /// Applies a key's intent to the browser; `height` is its list's rows on screen.
    /// What concerns more than the browser comes back as the outcome.
    pub(super) fn on_intent(
        &mut self,
        intent: Intent,
        key: KeyEvent,
        height: usize,
    ) -> BrowserOutcome {
        // A question being answered takes every key.
        match self.pending.take() {
            Some(Pending::Delete(entry)) => {
                return match (intent, self.entry_id(entry)) {
                    (Intent::Yes, Some(id)) => BrowserOutcome::Delete(id),
                    _ => BrowserOutcome::Stay,
                };
            }
            Some(Pending::Rename(entry, mut editor)) => {
                match intent {
                    Intent::Close => {}
                    Intent::Submit => {
                        let title = editor.lines().join(" ").trim().to_owned();
                        if let (false, Some(id)) = (title.is_empty(), self.entry_id(entry)) {
                            return BrowserOutcome::Rename { id, title };
                        }
                    }
                    _ => {
                        edit_text(&mut editor, key);
                        self.pending = Some(Pending::Rename(entry, editor));
                    }
                }
                return BrowserOutcome::Stay;
            }
            None => {}
        }
        let half_page = (height.max(2) / 2).cast_signed();
        match intent {
            Intent::Close => return BrowserOutcome::Close,
            Intent::Up => self.move_by(-1),
            Intent::Down => self.move_by(1),
            Intent::PageUp => self.move_by(-half_page),
            Intent::PageDown => self.move_by(half_page),
            Intent::FocusNext => {
                self.focus = match self.focus {
                    BrowserFocus::Search => BrowserFocus::List,
                    BrowserFocus::List => BrowserFocus::Search,
                };
            }
            Intent::Submit => {
                if let Some((_, entry)) = self.selected_entry() {
                    return match &entry.problem {
                        // The browser stays open on it, so it can be deleted.
                        Some(problem) => BrowserOutcome::Problem(format!(
                            "cannot open {}: {}",
                            entry.path.display(),
                            problem
                        )),
                        None => BrowserOutcome::Open(entry.id.clone()),
                    };
                }
                return BrowserOutcome::Stay;
            }
            Intent::Delete => {
                if let Some((entry, _)) = self.selected_entry() {
                    self.pending = Some(Pending::Delete(entry));
                }
            }
            Intent::Rename => {
                if let Some((entry, e)) = self.selected_entry() {
                    let mut editor = super::new_editor();
                    editor.insert_str(&e.title);
                    self.pending = Some(Pending::Rename(entry, Box::new(editor)));
                }
            }
            Intent::Search => self.focus = BrowserFocus::Search,
            Intent::Edit => {
                // Typing in the list starts a search.
                if line_field::is_typing(&key) {
                    self.focus = BrowserFocus::Search;
                }
                if line_field::edit(&mut self.query, key) {
                    self.refresh();
                }
            }
            _ => {}
        }
        self.keep_in_view(height);
        BrowserOutcome::Stay
    }
}

/// What a key in the browser asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BrowserOutcome {
    Stay,
    Close,
    /// Open this conversation (asking first if the current one is not saved).
    Open(String),
    /// The highlighted entry cannot be opened: say why.
    Problem(String),
    /// The user said yes: delete this conversation's file.
    Delete(String),
    Rename {
        id: String,
        title: String,
    },
}

impl App {
    /// Ctrl+O: opens the browser and asks for the index.
    pub(super) fn open_browser(&mut self, fx: &mut Vec<Effect>) {
        self.chrome.popup = Some(super::Popup::Browser(Box::new(Browser::new())));
        fx.push(Effect::LoadIndex);
    }

    /// The index arrived (the browser may have been closed meanwhile).
    pub(super) fn on_index(&mut self, entries: Vec<IndexEntry>) {
        let height = self.browser_list_height();
        if let Some(super::Popup::Browser(browser)) = &mut self.chrome.popup {
            browser.entries = Some(entries);
            browser.refresh();
            browser.keep_in_view(height);
        }
    }

    /// Rows of the browser's list on the current screen (see `ui::browser`).
    pub(crate) fn browser_list_height(&self) -> usize {
        usize::from(self.view.screen.height.saturating_sub(4).min(40)).saturating_sub(4)
    }

    pub(super) fn on_browser_key(&mut self, intent: Intent, key: KeyEvent, fx: &mut Vec<Effect>) {
        let height = self.browser_list_height();
        let Some(super::Popup::Browser(browser)) = &mut self.chrome.popup else {
            return;
        };
        match browser.on_intent(intent, key, height) {
            BrowserOutcome::Stay => {}
            BrowserOutcome::Close => self.chrome.popup = None,
            BrowserOutcome::Open(id) => {
                self.chrome.popup = None;
                self.leave(super::LeaveAction::Open(id), fx);
            }
            BrowserOutcome::Problem(text) => self.set_error(text),
            BrowserOutcome::Delete(id) => fx.push(Effect::DeleteConversation { id }),
            BrowserOutcome::Rename { id, title } if id == self.session.conversation.id => {
                // The open conversation is renamed in memory and saved by the
                // autosave, which would overwrite a file rename.
                self.session.conversation.title.clone_from(&title);
                if !self.session.conversation.messages.is_empty() {
                    fx.push(Effect::Save(self.session.conversation.clone()));
                }
                self.on_index_change(&id, IndexChange::Renamed(title));
            }
            BrowserOutcome::Rename { id, title } => {
                fx.push(Effect::RenameConversation { id, title });
            }
        }
    }

    /// Opens a saved conversation: the current reply stops, and the runtime loads the
    /// file in the background.
    pub(super) fn open_saved(&mut self, id: String, fx: &mut Vec<Effect>) {
        if self.session.stream.is_some() {
            self.stop(fx);
        }
        self.set_notice("opening…".into());
        fx.push(Effect::OpenConversation { id });
    }

    /// A rename or delete finished on disk.
    pub(super) fn on_index_change(&mut self, id: &str, change: IndexChange) {
        let Some(super::Popup::Browser(browser)) = &mut self.chrome.popup else {
            return;
        };
        let Some(entries) = browser.entries.as_mut() else {
            return;
        };
        match change {
            IndexChange::Renamed(title) => {
                if let Some(e) = entries.iter_mut().find(|e| e.id == id) {
                    e.title = title;
                }
            }
            IndexChange::Deleted => entries.retain(|e| e.id != id),
        }
        // The search runs again over the changed entries; the highlight stays where it
        // was, or on the last hit when the list got shorter.
        let selected = browser.selected;
        browser.refresh();
        browser.selected = selected.min(browser.hits.len().saturating_sub(1));
    }
}

/// What happened to a saved conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexChange {
    Renamed(String),
    Deleted,
}
