//! The conversation browser (Ctrl+O): saved conversations, newest first, searched by
//! title and full text as the user types; Enter opens, `d` deletes after a
//! confirmation, `r` renames.
//!
//! Plain state inside `App`: the index arrives from a background load
//! (`Effect::LoadIndex` → `Msg::IndexLoaded`), so opening the browser never waits for
//! the disk; searching runs in `update` over the loaded index. Opening, renaming and
//! deleting are effects the runtime carries out on a blocking thread.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::storage::index::{IndexEntry, SearchHit, search};

use super::{App, Effect, edit_text};

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

    /// A key that is neither navigation nor Enter/Esc: a command (`d`, `r`, `j`, `k`,
    /// `/` in the list, Ctrl+D and Ctrl+R anywhere), else an edit of the search.
    fn on_command_or_search(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let command = match (self.focus, key.code) {
            (_, KeyCode::Char('d')) if ctrl => Some('d'),
            (_, KeyCode::Char('r')) if ctrl => Some('r'),
            (BrowserFocus::List, KeyCode::Char(c @ ('d' | 'r' | 'j' | 'k' | '/'))) => Some(c),
            (BrowserFocus::List, KeyCode::Delete) => Some('d'),
            _ => None,
        };
        match command {
            Some('d') => {
                if let Some((entry, _)) = self.selected_entry() {
                    self.pending = Some(Pending::Delete(entry));
                }
            }
            Some('r') => {
                if let Some((entry, e)) = self.selected_entry() {
                    let mut editor = super::new_editor();
                    editor.insert_str(&e.title);
                    self.pending = Some(Pending::Rename(entry, Box::new(editor)));
                }
            }
            Some('j') => self.move_by(1),
            Some('k') => self.move_by(-1),
            Some(_) => self.focus = BrowserFocus::Search,
            None => self.edit_query(key.code, ctrl),
        }
    }

    /// Anything else edits the search (typing in the list starts one); the hits are
    /// searched again only when the query changed.
    fn edit_query(&mut self, code: KeyCode, ctrl: bool) {
        let changed = match code {
            KeyCode::Char('u') if ctrl => !std::mem::take(&mut self.query).is_empty(),
            KeyCode::Char(c) if !ctrl => {
                self.focus = BrowserFocus::Search;
                self.query.push(c);
                true
            }
            KeyCode::Backspace => self.query.pop().is_some(),
            _ => false,
        };
        if changed {
            self.refresh();
        }
    }
}

impl App {
    /// Ctrl+O: opens the browser and asks for the index.
    pub(super) fn open_browser(&mut self, fx: &mut Vec<Effect>) {
        self.popup = Some(super::Popup::Browser(Box::new(Browser::new())));
        fx.push(Effect::LoadIndex);
    }

    /// The index arrived (the browser may have been closed meanwhile).
    pub(super) fn on_index(&mut self, entries: Vec<IndexEntry>) {
        let height = self.browser_list_height();
        if let Some(super::Popup::Browser(browser)) = &mut self.popup {
            browser.entries = Some(entries);
            browser.refresh();
            browser.keep_in_view(height);
        }
    }

    /// Rows of the browser's list on the current screen (see `ui::browser`).
    pub(crate) fn browser_list_height(&self) -> usize {
        usize::from(self.screen.height.saturating_sub(4).min(40)).saturating_sub(4)
    }

    pub(super) fn on_browser_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let height = self.browser_list_height();
        let Some(super::Popup::Browser(browser)) = &mut self.popup else {
            return;
        };
        // A question being answered takes every key.
        if let Some(pending) = browser.pending.take() {
            self.on_browser_answer(pending, key, fx);
            return;
        }
        match key.code {
            KeyCode::Esc => {
                self.popup = None;
                return;
            }
            KeyCode::Up => browser.move_by(-1),
            KeyCode::Down => browser.move_by(1),
            KeyCode::PageUp => browser.move_by(-(height.max(2) / 2).cast_signed()),
            KeyCode::PageDown => browser.move_by((height.max(2) / 2).cast_signed()),
            KeyCode::Tab | KeyCode::BackTab => {
                browser.focus = match browser.focus {
                    BrowserFocus::Search => BrowserFocus::List,
                    BrowserFocus::List => BrowserFocus::Search,
                };
            }
            KeyCode::Enter => {
                if let Some((_, entry)) = browser.selected_entry() {
                    if let Some(problem) = &entry.problem {
                        // The browser stays open on it, so it can be deleted.
                        let text = format!("cannot open {}: {}", entry.path.display(), problem);
                        self.set_error(text);
                        return;
                    }
                    let id = entry.id.clone();
                    self.popup = None;
                    self.leave(super::LeaveAction::Open(id), fx);
                }
                return;
            }
            _ => browser.on_command_or_search(key),
        }
        browser.keep_in_view(height);
    }

    /// A key while the browser asks a question (delete?) or takes a new title.
    fn on_browser_answer(&mut self, pending: Pending, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let current_id = self.conversation.id.clone();
        let Some(super::Popup::Browser(browser)) = &mut self.popup else {
            return;
        };
        match pending {
            Pending::Delete(entry) => {
                if matches!(key.code, KeyCode::Char('y' | 'Y'))
                    && let Some(e) = browser.entries.as_ref().and_then(|es| es.get(entry))
                {
                    fx.push(Effect::DeleteConversation { id: e.id.clone() });
                }
            }
            Pending::Rename(entry, mut editor) => {
                match key.code {
                    KeyCode::Esc => {}
                    KeyCode::Enter => {
                        let title = editor.lines().join(" ").trim().to_owned();
                        let id = browser
                            .entries
                            .as_ref()
                            .and_then(|es| es.get(entry))
                            .map(|e| e.id.clone());
                        if let (false, Some(id)) = (title.is_empty(), id) {
                            if id == current_id {
                                // The open conversation is renamed in memory and saved
                                // by the autosave, which would overwrite a file rename.
                                self.conversation.title.clone_from(&title);
                                if !self.conversation.messages.is_empty() {
                                    fx.push(Effect::Save(self.conversation.clone()));
                                }
                                self.on_index_change(&id, IndexChange::Renamed(title));
                            } else {
                                fx.push(Effect::RenameConversation { id, title });
                            }
                        }
                    }
                    _ => {
                        if ctrl && key.code == KeyCode::Char('u') {
                            editor.select_all();
                            editor.cut();
                        } else {
                            edit_text(&mut editor, key);
                        }
                        browser.pending = Some(Pending::Rename(entry, editor));
                    }
                }
            }
        }
    }

    /// Opens a saved conversation: the current reply stops, and the runtime loads the
    /// file in the background.
    pub(super) fn open_saved(&mut self, id: String, fx: &mut Vec<Effect>) {
        if self.stream.is_some() {
            self.stop(fx);
        }
        self.set_notice("opening…".into());
        fx.push(Effect::OpenConversation { id });
    }

    /// A rename or delete finished on disk.
    pub(super) fn on_index_change(&mut self, id: &str, change: IndexChange) {
        let Some(super::Popup::Browser(browser)) = &mut self.popup else {
            if let IndexChange::Failed(e) = change {
                self.set_error(e);
            }
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
            IndexChange::Failed(e) => {
                self.set_error(e);
                return;
            }
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
    Failed(String),
}
