//! The application state and its one state transition, [`App::update`].
//!
//! Owns everything the user can see or change: the conversation, the input, the model
//! catalog, focus, popups, the status line and the view data derived from them. `update`
//! is pure: it never does I/O, never sleeps and never touches the terminal; it returns
//! [`Effect`]s that the runtime carries out (design §1, §3). That is what lets the key
//! handling, cancellation races and model switches be unit-tested without tokio.

pub mod bindings;
mod browser;
mod chat;
mod chrome;
mod copy;
pub mod download;
pub mod keymap;
mod leave;
mod line_field;
pub mod models;
mod popup;
mod recall;
mod session;
pub mod typing;
mod view_model;
pub mod viewport;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{TextArea, WrapMode};

use crate::clipboard::{CopyError, CopyMethod};
use crate::config::Config;
use crate::conversation::Conversation;
use crate::external_editor::EditorError;
use crate::provider::{ChatRequest, ProviderError, ProviderSpec, StreamEvent};
use crate::storage::export::Replace;
use crate::storage::index::IndexEntry;
use crate::storage::{ListEntry, Opened, Saved, StorageError};
use crate::view::highlight::CodeTheme;
use crate::view::history_layout::HistoryLayout;
use crate::view::layout::{self, Areas};
use crate::view::wrap::display_width_upto;

pub use browser::{Browser, BrowserFocus, IndexChange, Pending};
pub use chrome::Chrome;
pub use download::{DownloadState, DownloadUpdate, FirstRun};
pub use keymap::{Context, Focus, Intent};
pub use models::ModelCatalog;
pub use popup::{LeaveAction, Popup, SaveAs, SystemPrompt};
pub use session::Session;
pub use view_model::ViewModel;
pub use viewport::Viewport;

/// The longest sidebar filter kept: far longer than any model name.
const MAX_FILTER_BYTES: usize = 1024;

/// Identifies one reply stream. Events from any other stream than the active one are
/// dropped, which makes cancellation races harmless (design §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId(pub u64);

/// Everything that can change the app's state. Results carry typed errors, so `update`
/// can tell a file that exists from a full disk, or a missing editor from a failed one.
#[derive(Debug)]
pub enum Msg {
    /// A terminal event: key, paste, mouse, resize.
    Term(Event),
    /// A provider event, stamped with the time it arrived (for tokens/s and autosave).
    Stream {
        id: StreamId,
        event: StreamEvent,
        at: Instant,
    },
    /// Model discovery finished for a provider: the models to show (the configured
    /// ones when discovery failed), and why it failed.
    ModelsLoaded {
        provider: String,
        models: Vec<String>,
        error: Option<ProviderError>,
    },
    /// An autosave finished: where it went (`None`: nothing to write yet), or why not.
    Saved(Result<Option<Saved>, StorageError>),
    /// A save-as (export) finished. [`StorageError::Exists`] means the file was there
    /// and nothing was written: the app asks before replacing it.
    Exported(Result<PathBuf, StorageError>),
    /// `$EDITOR` returned the edited draft.
    EditorDone(Result<String, EditorError>),
    /// SIGTERM/SIGHUP: save and quit.
    Shutdown,
    /// The countdown's second changed (scheduled only while a retry wait shows).
    Tick(Instant),
    /// The browser's index finished loading.
    IndexLoaded(Vec<IndexEntry>),
    /// The newest saved conversations, for the welcome text.
    RecentLoaded(Vec<ListEntry>),
    /// A saved conversation was read for opening.
    Opened(Result<Opened, StorageError>),
    /// A saved conversation was renamed or deleted, or that failed.
    IndexChanged {
        id: String,
        result: Result<IndexChange, StorageError>,
    },
    /// An [`Effect::Copy`] was carried out, or why it could not be.
    Copied(Result<CopyMethod, CopyError>),
    /// The first-run model download made progress or ended.
    Download(DownloadUpdate),
}

/// Work the runtime does on the app's behalf. Comparable, so tests assert the whole
/// list an update returns (design §8).
#[derive(Debug, PartialEq)]
pub enum Effect {
    StartStream {
        id: StreamId,
        provider: ProviderSpec,
        request: ChatRequest,
    },
    CancelStream(StreamId),
    /// Autosave this snapshot (cheap: messages are shared `Arc`s).
    Save(Conversation),
    /// Write the conversation to a user-chosen file; an existing file is replaced
    /// only with [`Replace::Yes`] (the user said yes).
    Export {
        path: String,
        conversation: Conversation,
        replace: Replace,
    },
    /// Discover a provider's models in the background.
    LoadModels(ProviderSpec),
    /// Suspend the terminal and edit this text in `$EDITOR`.
    EditExternally(String),
    /// Read every saved conversation for the browser.
    LoadIndex,
    /// Read the newest saved conversations for the welcome text.
    LoadRecent,
    /// Read a saved conversation to continue it.
    OpenConversation {
        id: String,
    },
    DeleteConversation {
        id: String,
    },
    RenameConversation {
        id: String,
        title: String,
    },
    /// Put `text` on the clipboard; `what` names it for the status line ("code block 2").
    Copy {
        text: String,
        what: String,
    },
    /// Download the model the welcome offers, for this `local` provider.
    StartDownload(ProviderSpec),
    /// Stop the download in flight (its partial file stays for a resume).
    CancelDownload,
    /// Something visible changed; the runtime coalesces these into frames.
    Redraw,
    /// Leave after the pending saves are written.
    Quit,
}

/// The transient message on the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// How the last reply went, for the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Idle,
    Stopped,
    Failed,
}

/// The reply being streamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveStream {
    pub id: StreamId,
    /// When the first event arrived (`None` while waiting).
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
    /// Text deltas received: about one token each, until the provider reports usage.
    pub deltas: u64,
    /// Output tokens reported by the provider, when it did.
    pub reported_tokens: Option<u64>,
    /// When the oldest text not yet saved arrived (`None` when all is on disk).
    unsaved_since: Option<Instant>,
    /// Set while waiting to retry a request that failed before its first token.
    pub retry: Option<RetryWait>,
    /// What the provider said it is doing before the first token ("loading …").
    pub preparing: Option<String>,
}

/// A retry the status line counts down to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryWait {
    /// A few words: "rate limited", "overloaded"…
    pub reason: String,
    pub until: Instant,
    /// Whole seconds left, as shown (updated by [`Msg::Tick`]).
    pub seconds_left: u64,
    pub attempt: u32,
    pub of: u32,
}

/// Start-up inputs for the app.
pub struct AppOptions {
    pub config: Config,
    /// `provider/model` chosen on the command line or in the config.
    pub model: Option<String>,
    /// A conversation to continue (`--open`).
    pub conversation: Option<Conversation>,
    /// Shown in the welcome text so users know where to put a provider.
    pub config_path: PathBuf,
}

/// The whole UI state, in three owned parts: the [`Session`] (the conversation and
/// who answers it), the [`Chrome`] (focus, input, popups, notices) and the
/// [`ViewModel`] (sizes, areas, history layout, scroll). Handlers change the first two;
/// [`App::sync`] derives the third from them at the end of every update.
pub struct App {
    session: Session,
    chrome: Chrome,
    view: ViewModel,
}

impl App {
    /// Builds the app and the effects to run at start (model discovery).
    pub fn new(options: AppOptions) -> (App, Vec<Effect>) {
        let AppOptions {
            config,
            model,
            conversation,
            config_path,
        } = options;
        let conversation =
            conversation.unwrap_or_else(|| Conversation::new(config.system_prompt.clone()));
        let active_model = model
            .or_else(|| conversation.last_model().map(str::to_owned))
            .or_else(|| config.default_model.clone())
            .or_else(|| ModelCatalog::new(&config.providers).first_usable());
        let effects = config
            .providers
            .iter()
            .filter(|p| p.disabled.is_none())
            .map(|p| Effect::LoadModels(p.clone()))
            .chain(std::iter::once(Effect::LoadRecent))
            .collect();
        let history = HistoryLayout::new(
            conversation.messages.iter().map(AsRef::as_ref),
            1,
            CodeTheme::default(),
        );
        let mut session = Session::new(config, config_path, conversation, active_model);
        if session.config.local_provider().is_some() {
            session.first_run = crate::provider::first_run::offer().map(|offer| FirstRun {
                offer,
                state: DownloadState::Offered,
            });
        }
        let app = App {
            session,
            chrome: Chrome::new(),
            view: ViewModel::new(history),
        };
        (app, effects)
    }

    /// The one state transition: applies `msg` and returns the work to do.
    /// Applies messages that arrived together (stream events waiting when the runtime
    /// woke), laying out the live reply once at the end rather than after each delta:
    /// a fast stream then costs one layout per frame, not one per token.
    /// Keys that arrived together are applied as cheaply as one (see [`typing`]).
    pub fn update_batch(&mut self, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
        self.view.defer_live = true;
        let mut fx = Vec::new();
        self.apply_batch(msgs.into_iter().collect(), &mut fx);
        self.view.defer_live = false;
        self.sync();
        fx
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut fx = Vec::new();
        match msg {
            Msg::Term(event) => self.on_terminal(event, &mut fx),
            Msg::Stream { id, event, at } => self.on_stream(id, event, at, &mut fx),
            Msg::ModelsLoaded {
                provider,
                models,
                error,
            } => {
                // An optional provider (Ollama) that does not answer is simply not shown.
                if let Some(e) = &error
                    && !self.session.catalog.is_optional(&provider)
                {
                    self.set_error(format!("cannot list models: {e}"));
                }
                self.session
                    .catalog
                    .set_models(&provider, models, error.map(|e| e.to_string()));
                if self.session.active_model.is_none() {
                    self.session.active_model = self.session.catalog.first_usable();
                    if let Some(m) = self.session.active_model.clone() {
                        self.session.catalog.select_model(&m);
                    }
                }
                fx.push(Effect::Redraw);
            }
            Msg::Saved(result) => self.on_save_result(result, &mut fx),
            Msg::Exported(result) => self.on_exported(result, &mut fx),
            Msg::EditorDone(result) => {
                match result {
                    Ok(text) => {
                        let text = text.strip_suffix('\n').unwrap_or(&text).to_owned();
                        if text.len() <= typing::MAX_DRAFT_BYTES {
                            self.chrome.input = new_input();
                            self.chrome.input.insert_str(&text);
                            self.set_notice("draft updated from the editor".into());
                        } else {
                            self.set_error(typing::too_large(
                                "the edited draft",
                                &new_input(),
                                text.len(),
                            ));
                        }
                    }
                    Err(e) => self.set_error(e.to_string()),
                }
                fx.push(Effect::Redraw);
            }
            Msg::Shutdown => self.quit(&mut fx),
            Msg::RecentLoaded(entries) => {
                self.session.recent = entries;
                fx.push(Effect::Redraw);
            }
            Msg::IndexLoaded(entries) => {
                self.on_index(entries);
                fx.push(Effect::Redraw);
            }
            Msg::Opened(result) => {
                match result {
                    Ok(opened) => {
                        self.show_conversation(opened.conversation);
                        if let Some(notice) = opened.notice {
                            self.set_notice(notice);
                        }
                    }
                    Err(e) => self.set_error(e.to_string()),
                }
                fx.push(Effect::Redraw);
            }
            Msg::IndexChanged { id, result } => {
                match result {
                    Ok(change) => {
                        if change == IndexChange::Deleted && id == self.session.conversation.id {
                            // The open conversation is gone: start afresh rather than
                            // re-save it.
                            self.new_conversation(&mut fx);
                        }
                        self.on_index_change(&id, change);
                    }
                    Err(e) => self.set_error(e.to_string()),
                }
                fx.push(Effect::Redraw);
            }
            Msg::Copied(result) => {
                self.on_copied(result);
                fx.push(Effect::Redraw);
            }
            Msg::Download(update) => self.on_download(update, &mut fx),
            Msg::Tick(now) => {
                if let Some(wait) = self.session.stream.as_mut().and_then(|s| s.retry.as_mut()) {
                    wait.seconds_left = seconds_until(wait.until, now);
                    fx.push(Effect::Redraw);
                }
                self.save_if_due(now, &mut fx);
            }
        }
        self.sync();
        fx
    }

    /// When the runtime should send the next [`Msg::Tick`]: while a retry countdown
    /// shows, at the moment its number changes; while streamed text is not on disk, at
    /// its autosave deadline. `None` otherwise, so idle has no timer.
    pub fn next_tick(&self) -> Option<Instant> {
        let stream = self.session.stream.as_ref()?;
        let countdown = stream.retry.as_ref().map(|wait| {
            let left = Duration::from_secs(wait.seconds_left.saturating_sub(1));
            wait.until.checked_sub(left).unwrap_or(wait.until)
        });
        let autosave = stream
            .unsaved_since
            .map(|since| since + chat::AUTOSAVE_PERIOD);
        match (countdown, autosave) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_terminal(&mut self, event: Event, fx: &mut Vec<Effect>) {
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

    /// Applies a new terminal size (the runtime sends one before the first frame).
    pub fn resize(&mut self, width: u16, height: u16) {
        self.view.screen = Rect::new(0, 0, width, height);
        self.sync_view();
    }

    /// Where keys land now: the open popup's context, else the focused pane.
    pub fn context(&self) -> Context {
        self.chrome
            .popup
            .as_ref()
            .map_or(Context::Main(self.chrome.focus), Popup::context)
    }

    fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
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
    fn on_edit(&mut self, key: KeyEvent) {
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

    fn on_move(&mut self, intent: Intent) {
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

    fn scroll_by(&mut self, delta: isize) {
        self.view
            .viewport
            .scroll_by(delta, self.view.history.total_rows());
    }

    /// Moves the message highlight and scrolls it into view.
    fn select_message(&mut self, delta: isize) {
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
        let first = self.view.history.start_of(next);
        let rows = self
            .view
            .history
            .message(next)
            .map_or(1, crate::view::history_layout::MessageLayout::height);
        self.view
            .viewport
            .reveal(first, rows, self.view.history.total_rows());
    }

    fn on_mouse(&mut self, mouse: MouseEvent) -> bool {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_by(-3),
            MouseEventKind::ScrollDown => self.scroll_by(3),
            _ => return false,
        }
        true
    }

    fn on_paste(&mut self, text: &str) {
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

    fn pick_model(&mut self) {
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

    fn set_focus(&mut self, focus: Focus) {
        if focus != Focus::Conversation {
            self.chrome.selected = None;
        }
        self.chrome.focus = focus;
    }

    /// Shows `text` on the status line (start-up uses it for `--open`'s notice).
    pub fn show_notice(&mut self, text: String) {
        self.set_notice(text);
    }

    pub(crate) fn set_notice(&mut self, text: String) {
        self.chrome.notice = Some(Notice {
            text,
            is_error: false,
        });
    }

    pub(crate) fn set_error(&mut self, text: String) {
        self.chrome.notice = Some(Notice {
            text,
            is_error: true,
        });
    }

    fn set_input_full(&mut self) {
        self.set_error(format!(
            "the input is full: it holds at most {}",
            typing::size_text(typing::MAX_DRAFT_BYTES)
        ));
    }

    fn quit(&mut self, fx: &mut Vec<Effect>) {
        if self.session.stream.is_some() {
            self.stop(fx);
        }
        self.chrome.quitting = true;
        fx.push(Effect::Quit);
    }

    /// Brings everything derived up to date with what the update changed: the
    /// screen's areas (only when the screen, the input's height or the sidebar's
    /// visibility changed), the history's layout (only when its width changed; the
    /// live reply's once per batch), the sidebar's scroll and the input's cursor.
    /// Called once at the end of every update, so no handler refreshes anything itself.
    fn sync(&mut self) {
        self.sync_view();
        if self.view.live_stale && !self.view.defer_live {
            self.refresh_live_layout();
        }
        self.chrome.sync_cursor();
    }

    fn sync_view(&mut self) {
        let sidebar_focused = self.chrome.focus == Focus::Sidebar;
        let key = (self.view.screen, self.input_rows(), sidebar_focused);
        if self.view.areas_for != Some(key) {
            self.view.areas_for = Some(key);
            self.view.areas = layout::areas(key.0, key.1, key.2);
            let inner = layout::inner(self.view.areas.conversation);
            let width = usize::from(inner.width).max(1);
            if width != self.view.history.width() {
                self.rewrap_history(width);
            }
            self.view.viewport.height = usize::from(inner.height).max(1);
        }
        if let Some(sidebar) = self.view.areas.sidebar {
            let catalog = &mut self.session.catalog;
            catalog.set_width(usize::from(sidebar.width.saturating_sub(2)));
            // Rows of the list: the box minus its borders and the filter line.
            catalog.keep_in_view(usize::from(sidebar.height.saturating_sub(3)));
        }
    }

    /// Lays the history out at a new width, keeping the row at the top of the screen
    /// in view across the re-wrap.
    fn rewrap_history(&mut self, width: usize) {
        let view = &mut self.view;
        let total = view.history.total_rows();
        let anchor = view
            .history
            .locate(view.viewport.top_for(total))
            .filter(|_| !view.viewport.follow);
        self.lay_out_history(width, self.view.history.code_theme());
        if let Some((index, row)) = anchor {
            let view = &mut self.view;
            let rows = view
                .history
                .message(index)
                .map_or(1, crate::view::history_layout::MessageLayout::height);
            view.viewport.top = view.history.start_of(index) + row.min(rows - 1);
        }
    }

    /// Picks the code highlighting colours for this terminal's theme (the runtime
    /// calls this once at start-up, before the first frame).
    pub fn set_code_theme(&mut self, theme: CodeTheme) {
        if theme != self.view.history.code_theme() {
            self.lay_out_history(self.view.history.width(), theme);
        }
    }

    /// Lays the whole conversation out again: a new width, theme or conversation.
    pub(crate) fn lay_out_history(&mut self, width: usize, theme: CodeTheme) {
        self.view.history = HistoryLayout::new(
            self.session.conversation.messages.iter().map(AsRef::as_ref),
            width,
            theme,
        );
    }

    /// Text rows the input needs at the input box's width (for its height), counted
    /// only up to the screen's height: the box never grows past a third of the screen,
    /// so a key in a big draft measures a screenful of it, not all of it.
    fn input_rows(&self) -> u16 {
        // The box's width does not depend on its height.
        let input_box =
            layout::areas(self.view.screen, 1, self.chrome.focus == Focus::Sidebar).input;
        let width = usize::from(layout::inner(input_box).width).max(1);
        let most = usize::from(self.view.screen.height).max(1);
        let mut rows = 0usize;
        for line in self.chrome.input.lines() {
            rows += display_width_upto(line, width * (most - rows)) / width + 1;
            if rows >= most {
                break;
            }
        }
        rows.min(most) as u16
    }

    /// Shows a conversation read from disk; the model that wrote its last reply answers
    /// the next message when that provider can be used.
    fn show_conversation(&mut self, conversation: Conversation) {
        let title = conversation.title.clone();
        self.session.conversation = conversation;
        self.forget_saves();
        self.end_recall();
        self.lay_out_history(self.view.history.width(), self.view.history.code_theme());
        self.view.viewport.to_bottom();
        self.chrome.selected = None;
        self.session.outcome = Outcome::Idle;
        if let Some(model) = self.session.conversation.last_model().map(str::to_owned)
            && crate::config::split_model(&model)
                .is_some_and(|(p, _)| self.session.catalog.is_usable(p))
        {
            self.session.catalog.select_model(&model);
            self.session.active_model = Some(model);
        }
        self.set_notice(format!("opened “{}”", crate::view::wrap::sanitize(&title)));
        self.set_focus(Focus::Input);
    }
}

/// Read access for the UI, the runtime and tests outside `app`: they see the state,
/// and change it only through [`App::update`].
impl App {
    pub fn config(&self) -> &Config {
        &self.session.config
    }

    /// Where the config file is (or would be), for the welcome text.
    pub fn config_path(&self) -> &std::path::Path {
        &self.session.config_path
    }

    pub fn conversation(&self) -> &Conversation {
        &self.session.conversation
    }

    pub fn catalog(&self) -> &ModelCatalog {
        &self.session.catalog
    }

    /// `provider/model` that answers the next message.
    pub fn active_model(&self) -> Option<&str> {
        self.session.active_model.as_deref()
    }

    /// The reply being streamed.
    pub fn stream(&self) -> Option<&ActiveStream> {
        self.session.stream.as_ref()
    }

    pub fn outcome(&self) -> Outcome {
        self.session.outcome
    }

    /// The newest saved conversations, for the welcome text.
    pub fn recent(&self) -> &[ListEntry] {
        &self.session.recent
    }

    /// The first-run download the welcome offers, when this build can run a model.
    pub fn first_run(&self) -> Option<&FirstRun> {
        self.session.first_run.as_ref()
    }

    pub fn focus(&self) -> Focus {
        self.chrome.focus
    }

    pub fn input(&self) -> &TextArea<'static> {
        &self.chrome.input
    }

    pub fn popup(&self) -> Option<&Popup> {
        self.chrome.popup.as_ref()
    }

    pub fn notice(&self) -> Option<&Notice> {
        self.chrome.notice.as_ref()
    }

    /// The message highlighted in the conversation.
    pub fn selected(&self) -> Option<usize> {
        self.chrome.selected
    }

    /// Set once the app asked to quit: the runtime exits after the pending saves.
    pub fn is_quitting(&self) -> bool {
        self.chrome.quitting
    }

    pub fn viewport(&self) -> &Viewport {
        &self.view.viewport
    }

    pub fn history(&self) -> &HistoryLayout {
        &self.view.history
    }

    pub fn areas(&self) -> &Areas {
        &self.view.areas
    }

    /// The terminal size the view model was built for.
    pub fn screen(&self) -> Rect {
        self.view.screen
    }
}

#[cfg(test)]
impl App {
    /// As in a build without in-process models: the welcome offers no download.
    pub(crate) fn forget_first_run(&mut self) {
        self.session.first_run = None;
    }
}

/// Whole seconds from `now` to `until`, rounded up (a wait of 0.2 s shows as 1 s).
pub(crate) fn seconds_until(until: Instant, now: Instant) -> u64 {
    let left = until.saturating_duration_since(now);
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

/// A text editor without colours of its own. The editor's defaults (a dark grey
/// placeholder, a light blue selection) would bypass the theme and `NO_COLOR`; the
/// app holds no theme, so these use attributes only, which read on any background.
pub(crate) fn new_editor() -> TextArea<'static> {
    let mut editor = TextArea::default();
    editor.set_cursor_line_style(Style::default());
    editor.set_placeholder_style(Style::default().add_modifier(Modifier::DIM));
    editor.set_selection_style(Style::default().add_modifier(Modifier::REVERSED));
    editor
}

/// A fresh input editor.
fn new_input() -> TextArea<'static> {
    let mut input = new_editor();
    input.set_wrap_mode(WrapMode::WordOrGlyph);
    input.set_placeholder_text("Type a message…");
    input.set_max_histories(200);
    input
}

/// Applies an editing key to a text editor, with tinychat's choices for the keys the
/// editor's defaults disagree on (Ctrl+U clears to the line start, Ctrl+Z undoes).
pub(crate) fn edit_text(editor: &mut TextArea<'static>, key: KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('u') if ctrl => {
            editor.delete_line_by_head();
        }
        KeyCode::Char('z') if ctrl => {
            editor.undo();
        }
        KeyCode::Char('z') if alt => {
            editor.redo();
        }
        // Enter and Tab are bindings; they never reach the editor as text.
        KeyCode::Enter | KeyCode::Tab => {}
        _ => {
            editor.input(key);
        }
    }
}

#[cfg(test)]
mod tests;
