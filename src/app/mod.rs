//! The application state and its one state transition, [`App::update`].
//!
//! Owns everything the user can see or change: the conversation, the input, the model
//! catalog, focus, popups, the status line and the view data derived from them. `update`
//! is pure: it never does I/O, never sleeps and never touches the terminal; it returns
//! [`Effect`]s that the runtime carries out (design §1, §3). That is what lets the key
//! handling, cancellation races and model switches be unit-tested without tokio.

mod browser;
mod chat;
mod copy;
pub mod download;
pub mod keymap;
mod leave;
pub mod models;
mod popup;
mod recall;
pub mod typing;
pub mod viewport;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{TextArea, WrapMode};

use crate::config::Config;
use crate::conversation::Conversation;
use crate::provider::{ChatRequest, ProviderSpec, StreamEvent};
use crate::storage::ListEntry;
use crate::storage::export::Replace;
use crate::storage::index::IndexEntry;
use crate::view::highlight::CodeTheme;
use crate::view::history_layout::HistoryLayout;
use crate::view::layout::{self, Areas};
use crate::view::wrap::display_width_upto;

pub use browser::{Browser, BrowserFocus, IndexChange, Pending};
pub use download::{DownloadState, DownloadUpdate, FirstRun};
pub use keymap::{Focus, Intent};
pub use models::ModelCatalog;
pub use popup::{LeaveAction, Popup, SaveAs};
pub use viewport::Viewport;

/// The longest sidebar filter kept: far longer than any model name.
const MAX_FILTER_BYTES: usize = 1024;

/// Identifies one reply stream. Events from any other stream than the active one are
/// dropped, which makes cancellation races harmless (design §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId(pub u64);

/// Everything that can change the app's state.
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
    /// Model discovery finished for a provider (`error` set when it failed).
    ModelsLoaded {
        provider: String,
        models: Vec<String>,
        error: Option<String>,
    },
    /// An autosave finished: where it went (`None`: nothing to write yet), or why not.
    Saved(Result<Option<crate::storage::Saved>, String>),
    /// A save-as (export) finished.
    Exported(Result<PathBuf, String>),
    /// A save-as found this file already there and wrote nothing: ask before
    /// replacing it.
    ExportWouldReplace(PathBuf),
    /// `$EDITOR` returned the edited draft.
    EditorDone(Result<String, String>),
    /// SIGTERM/SIGHUP: save and quit.
    Shutdown,
    /// The countdown's second changed (scheduled only while a retry wait shows).
    Tick(Instant),
    /// The browser's index finished loading.
    IndexLoaded(Vec<IndexEntry>),
    /// The newest saved conversations, for the welcome text.
    RecentLoaded(Vec<ListEntry>),
    /// A saved conversation was read for opening.
    Opened(Result<crate::storage::Opened, String>),
    /// A saved conversation was renamed or deleted (or that failed).
    IndexChanged { id: String, change: IndexChange },
    /// An [`Effect::Copy`] was carried out: how ("clipboard" or "terminal (OSC 52)"),
    /// or why it could not be.
    Copied(Result<String, String>),
    /// The first-run model download made progress or ended.
    Download(DownloadUpdate),
}

/// Work the runtime does on the app's behalf.
#[derive(Debug)]
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

/// The whole UI state.
pub struct App {
    pub config: Config,
    pub config_path: PathBuf,
    pub conversation: Conversation,
    pub input: TextArea<'static>,
    pub catalog: ModelCatalog,
    pub focus: Focus,
    /// `provider/model` that answers the next message.
    pub active_model: Option<String>,
    pub stream: Option<ActiveStream>,
    next_stream_id: u64,
    pub outcome: Outcome,
    pub notice: Option<Notice>,
    pub popup: Option<Popup>,
    pub viewport: Viewport,
    /// Message highlighted in the conversation (Up/Down there).
    pub selected: Option<usize>,
    /// Wrapped rows of the history at the conversation pane's width.
    pub history: HistoryLayout,
    pub areas: Areas,
    pub screen: Rect,
    /// Set when the app asked to quit; the runtime exits after saving.
    pub quitting: bool,
    /// The newest saved conversations, shown in the welcome text.
    pub recent: Vec<ListEntry>,
    /// The model the welcome offers to download, when this build can run one.
    pub first_run: Option<FirstRun>,
    /// Why the conversation is not on disk: the last autosave's error, until a save
    /// succeeds. Shown on the status line for as long as it lasts (a failing disk is
    /// reported in the notice once), and Ctrl+N, Ctrl+O and quit ask first.
    pub unsaved: Option<String>,
    /// The messages as written by the save-as in flight, and by the last one that
    /// succeeded: a conversation saved elsewhere since its autosave failed is not lost.
    export_pending: Option<Vec<std::sync::Arc<crate::conversation::Message>>>,
    exported: Option<Vec<std::sync::Arc<crate::conversation::Message>>>,
    /// What the copy in flight is, with its length, for the status line once it is done.
    copying: Option<String>,
    /// Set while Up/Down in the input walk through earlier prompts.
    recall: Option<recall::Recall>,
    /// Inside [`App::update_batch`]: the live reply's layout waits for the batch's end.
    defer_layout: bool,
    /// The live reply changed while its layout was deferred.
    layout_stale: bool,
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
        let catalog = ModelCatalog::new(&config.providers);
        let conversation =
            conversation.unwrap_or_else(|| Conversation::new(config.system_prompt.clone()));
        let active_model = model
            .or_else(|| conversation.last_model().map(str::to_owned))
            .or_else(|| config.default_model.clone())
            .or_else(|| catalog.first_usable());
        let effects = config
            .providers
            .iter()
            .filter(|p| p.disabled.is_none())
            .map(|p| Effect::LoadModels(p.clone()))
            .chain(std::iter::once(Effect::LoadRecent))
            .collect();
        // Estimates only: nothing is laid out before the terminal's size is known.
        let history = HistoryLayout::lazy(&conversation.messages, 0, CodeTheme::default());
        let mut app = App {
            config,
            config_path,
            conversation,
            input: new_input(),
            catalog,
            focus: Focus::Input,
            active_model,
            stream: None,
            next_stream_id: 0,
            outcome: Outcome::Idle,
            notice: None,
            popup: None,
            viewport: Viewport::default(),
            selected: None,
            history,
            areas: Areas::default(),
            screen: Rect::default(),
            quitting: false,
            recent: Vec::new(),
            first_run: None,
            unsaved: None,
            export_pending: None,
            exported: None,
            copying: None,
            recall: None,
            defer_layout: false,
            layout_stale: false,
        };
        if let Some(m) = app.active_model.clone() {
            app.catalog.select_model(&m);
        }
        if app.config.local_provider().is_some() {
            app.first_run = crate::provider::first_run::offer().map(|offer| FirstRun {
                offer,
                state: DownloadState::Offered,
            });
        }
        app.refresh_focus_styles();
        (app, effects)
    }

    /// The one state transition: applies `msg` and returns the work to do.
    /// Applies messages that arrived together (stream events waiting when the runtime
    /// woke), laying out the live reply once at the end rather than after each delta:
    /// a fast stream then costs one layout per frame, not one per token.
    /// Keys that arrived together are applied as cheaply as one (see [`typing`]).
    pub fn update_batch(&mut self, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
        self.defer_layout = true;
        let mut fx = Vec::new();
        self.apply_batch(msgs.into_iter().collect(), &mut fx);
        self.defer_layout = false;
        if self.layout_stale {
            self.refresh_live_layout();
        }
        self.lay_out_visible();
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
                    && !self.catalog.is_optional(&provider)
                {
                    self.set_error(format!("cannot list models: {e}"));
                }
                self.catalog.set_models(&provider, models, error);
                if self.active_model.is_none() {
                    self.active_model = self.catalog.first_usable();
                    if let Some(m) = self.active_model.clone() {
                        self.catalog.select_model(&m);
                    }
                }
                self.relayout();
                fx.push(Effect::Redraw);
            }
            Msg::Saved(result) => self.on_save_result(result, &mut fx),
            Msg::Exported(result) => self.on_exported(result, &mut fx),
            Msg::ExportWouldReplace(path) => {
                self.export_pending = None;
                self.ask_to_replace(path);
                fx.push(Effect::Redraw);
            }
            Msg::EditorDone(result) => {
                match result {
                    Ok(text) => {
                        let text = text.strip_suffix('\n').unwrap_or(&text).to_owned();
                        if text.len() <= typing::MAX_DRAFT_BYTES {
                            self.input = new_input();
                            self.input.insert_str(&text);
                            self.set_notice("draft updated from the editor".into());
                        } else {
                            self.set_error(typing::too_large(
                                "the edited draft",
                                &new_input(),
                                text.len(),
                            ));
                        }
                    }
                    Err(e) => self.set_error(e),
                }
                self.relayout();
                fx.push(Effect::Redraw);
            }
            Msg::Shutdown => self.quit(&mut fx),
            Msg::RecentLoaded(entries) => {
                self.recent = entries;
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
                    Err(e) => self.set_error(e),
                }
                fx.push(Effect::Redraw);
            }
            Msg::IndexChanged { id, change } => {
                if change == IndexChange::Deleted && id == self.conversation.id {
                    // The open conversation is gone: start afresh rather than re-save it.
                    self.new_conversation(&mut fx);
                }
                self.on_index_change(&id, change);
                fx.push(Effect::Redraw);
            }
            Msg::Copied(result) => {
                self.on_copied(result);
                fx.push(Effect::Redraw);
            }
            Msg::Download(update) => self.on_download(update, &mut fx),
            Msg::Tick(now) => {
                if let Some(wait) = self.stream.as_mut().and_then(|s| s.retry.as_mut()) {
                    wait.seconds_left = seconds_until(wait.until, now);
                    fx.push(Effect::Redraw);
                }
                self.save_if_due(now, &mut fx);
            }
        }
        self.lay_out_visible();
        fx
    }

    /// When the runtime should send the next [`Msg::Tick`]: while a retry countdown
    /// shows, at the moment its number changes; while streamed text is not on disk, at
    /// its autosave deadline. `None` otherwise, so idle has no timer.
    pub fn next_tick(&self) -> Option<Instant> {
        let stream = self.stream.as_ref()?;
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
        self.screen = Rect::new(0, 0, width, height);
        self.relayout();
    }

    fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        if self.popup.is_some() {
            self.on_popup_key(key, fx);
            return;
        }
        let intent = keymap::intent(self.focus, &key);
        match intent {
            Intent::Quit => self.leave(LeaveAction::Quit, fx),
            Intent::Send => self.send(fx),
            Intent::Newline => {
                if typing::fits(&self.input, 1) {
                    self.input.insert_newline();
                    self.relayout();
                } else {
                    self.set_input_full();
                }
            }
            Intent::Stop => {
                if self.stream.is_some() {
                    self.stop(fx);
                } else if self.cancel_download(fx) {
                    // Esc stopped the download.
                } else if self.focus == Focus::Sidebar {
                    if self.catalog.filter.is_empty() {
                        self.set_focus(Focus::Input);
                    } else {
                        self.catalog.set_filter(String::new());
                        self.relayout();
                    }
                } else if self.focus == Focus::Conversation {
                    self.set_focus(Focus::Input);
                }
            }
            Intent::FocusNext => self.set_focus(self.focus.next()),
            Intent::FocusPrev => self.set_focus(self.focus.prev()),
            Intent::JumpToFilter => self.set_focus(Focus::Sidebar),
            Intent::Up | Intent::Down | Intent::PageUp | Intent::PageDown => {
                self.on_move(intent);
            }
            Intent::Top => {
                self.viewport.to_top();
                self.selected = None;
            }
            Intent::Bottom => {
                self.viewport.to_bottom();
                self.selected = None;
            }
            Intent::Pick => self.pick_model(),
            Intent::SaveAs => self.popup = Some(Popup::save_as(&self.conversation)),
            Intent::New => self.leave(LeaveAction::New, fx),
            Intent::Regenerate => self.regenerate(fx),
            Intent::Continue => self.continue_reply(fx),
            Intent::CopyMessage => self.copy_message(fx),
            Intent::CopyCodeBlock(n) => self.copy_code_block(n, fx),
            Intent::CopyLastReply => self.copy_last_reply(fx),
            Intent::ExternalEditor => {
                fx.push(Effect::EditExternally(self.input.lines().join("\n")));
            }
            Intent::EditSystemPrompt => {
                self.popup = Some(Popup::system_prompt(
                    self.conversation.system_prompt.as_deref(),
                ));
            }
            Intent::Help => self.popup = Some(Popup::Help),
            Intent::Open => self.open_browser(fx),
            Intent::RecallOlder => {
                self.recall_older(key);
                self.relayout();
            }
            Intent::RecallNewer => {
                self.recall_newer(key);
                self.relayout();
            }
            Intent::Edit => self.on_edit(key),
        }
    }

    /// A key that is not a binding: it edits whatever has the focus.
    fn on_edit(&mut self, key: KeyEvent) {
        match self.focus {
            Focus::Input => {
                if !typing::fits(&self.input, typing::added_by(&key)) {
                    self.set_input_full();
                    return;
                }
                edit_text(&mut self.input, key);
                self.relayout();
            }
            Focus::Sidebar => {
                let mut filter = self.catalog.filter.clone();
                match key.code {
                    KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                        filter.push(c);
                    }
                    KeyCode::Backspace => {
                        filter.pop();
                    }
                    KeyCode::Char('u') => filter.clear(),
                    _ => return,
                }
                self.catalog.set_filter(filter);
                self.relayout();
            }
            Focus::Conversation => {
                // Typing while reading the conversation goes to the input.
                if let KeyCode::Char(_) = key.code
                    && !key.modifiers.contains(KeyModifiers::CONTROL)
                {
                    self.set_focus(Focus::Input);
                    edit_text(&mut self.input, key);
                    self.relayout();
                }
            }
        }
    }

    fn on_move(&mut self, intent: Intent) {
        let page = self.viewport.height.saturating_sub(1).max(1).cast_signed();
        match self.focus {
            Focus::Sidebar => {
                let sidebar_page = self.areas.sidebar.map_or(1, |s| {
                    usize::from(s.height.saturating_sub(3).max(1)).cast_signed()
                });
                let delta = match intent {
                    Intent::Up => -1,
                    Intent::Down => 1,
                    Intent::PageUp => -sidebar_page,
                    _ => sidebar_page,
                };
                self.catalog.move_selection(delta);
                self.relayout();
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
        self.viewport.scroll_by(delta, self.history.total_rows());
    }

    /// Moves the message highlight and scrolls it into view.
    fn select_message(&mut self, delta: isize) {
        let n = self.conversation.messages.len();
        if n == 0 {
            return;
        }
        let next = match self.selected {
            None if delta < 0 => n - 1,
            None => {
                // Down with nothing selected: start from the first message on screen.
                let top = self.viewport.top_for(self.history.total_rows());
                self.history.locate(top).map_or(0, |(i, _)| i)
            }
            Some(i) => i.saturating_add_signed(delta).min(n - 1),
        };
        self.selected = Some(next);
        // Its height must be exact before it is scrolled into view.
        self.history.lay_out(&self.conversation.messages, next);
        let first = self.history.start_of(next);
        let rows = self.history.height(next).max(1);
        self.viewport.reveal(first, rows, self.history.total_rows());
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
        if let Some(popup) = &mut self.popup {
            let held = match popup {
                Popup::SaveAs(save_as) => typing::text_len(&save_as.editor),
                Popup::SystemPrompt(editor) => typing::text_len(editor),
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
        match self.focus {
            Focus::Sidebar => {
                let line = text.lines().next().unwrap_or_default();
                // A filter longer than any model name matches nothing; this bounds it.
                if self.catalog.filter.len() + line.len() <= MAX_FILTER_BYTES {
                    let mut filter = self.catalog.filter.clone();
                    filter.push_str(line);
                    self.catalog.set_filter(filter);
                }
            }
            Focus::Input | Focus::Conversation => {
                self.set_focus(Focus::Input);
                if typing::fits(&self.input, text.len()) {
                    self.input.insert_str(&text);
                } else {
                    self.set_error(typing::too_large("the paste", &self.input, text.len()));
                }
            }
        }
        self.relayout();
    }

    fn pick_model(&mut self) {
        let Some(model) = self.catalog.selected_model() else {
            self.set_error("no model matches the filter".into());
            return;
        };
        self.set_notice(format!("{model} answers the next message"));
        self.active_model = Some(model);
        self.catalog.set_filter(String::new());
        if let Some(m) = self.active_model.clone() {
            self.catalog.select_model(&m);
        }
        self.set_focus(Focus::Input);
    }

    fn set_focus(&mut self, focus: Focus) {
        if focus != Focus::Conversation {
            self.selected = None;
        }
        self.focus = focus;
        self.refresh_focus_styles();
        self.relayout();
    }

    fn refresh_focus_styles(&mut self) {
        // The input shows its cursor only while it has the focus.
        let cursor = if self.focus == Focus::Input && self.popup.is_none() {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        self.input.set_cursor_style(cursor);
    }

    /// Shows `text` on the status line (start-up uses it for `--open`'s notice).
    pub fn show_notice(&mut self, text: String) {
        self.set_notice(text);
    }

    pub(crate) fn set_notice(&mut self, text: String) {
        self.notice = Some(Notice {
            text,
            is_error: false,
        });
    }

    pub(crate) fn set_error(&mut self, text: String) {
        self.notice = Some(Notice {
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
        if self.stream.is_some() {
            self.stop(fx);
        }
        self.quitting = true;
        fx.push(Effect::Quit);
    }

    /// Recomputes the derived view data after a size, content or focus change.
    pub(crate) fn relayout(&mut self) {
        let input_rows = self.input_rows();
        self.areas = layout::areas(self.screen, input_rows, self.focus == Focus::Sidebar);
        let inner = layout::inner(self.areas.conversation);
        let width = usize::from(inner.width).max(1);
        if width != self.history.width() {
            // Keep the row at the top of the screen in view across the re-wrap.
            let total = self.history.total_rows();
            let anchor = self
                .history
                .locate(self.viewport.top_for(total))
                .filter(|_| !self.viewport.follow);
            // Only the screen is laid out now; the rest is measured in batches.
            self.history.set_width(&self.conversation.messages, width);
            if let Some((index, row)) = anchor {
                self.history.lay_out(&self.conversation.messages, index);
                let rows = self.history.height(index).max(1);
                self.viewport.top = self.history.start_of(index) + row.min(rows - 1);
            }
        }
        self.viewport.height = usize::from(inner.height).max(1);
        self.lay_out_visible();
        if let Some(sidebar) = self.areas.sidebar {
            self.catalog
                .set_width(usize::from(sidebar.width.saturating_sub(2)));
            // Rows of the list: the box minus its borders and the filter line.
            self.catalog
                .keep_in_view(usize::from(sidebar.height.saturating_sub(3)));
        }
    }

    /// Picks the code highlighting colours for this terminal's theme (the runtime
    /// calls this once at start-up, before the first frame). Dark ↔ light is a palette
    /// swap: the layout holds syntax classes, not colours.
    pub fn set_code_theme(&mut self, theme: CodeTheme) {
        self.history
            .set_code_theme(&self.conversation.messages, theme);
        self.lay_out_visible();
    }

    /// Lays the conversation out again (a new conversation): estimates for every
    /// message, the screen laid out now, the rest measured in batches.
    pub(crate) fn lay_out_history(&mut self, width: usize, theme: CodeTheme) {
        self.history = HistoryLayout::lazy(&self.conversation.messages, width, theme);
        self.lay_out_visible();
    }

    /// Lays out the messages on screen (cheap when they are already): drawing reads
    /// rows only of laid-out messages, and every scroll or resize ends here.
    fn lay_out_visible(&mut self) {
        let messages = &self.conversation.messages;
        let height = self.viewport.height;
        if self.viewport.follow {
            self.history.lay_out_bottom(messages, height);
            return;
        }
        // Exact heights may end the history sooner than the estimates did, which moves
        // a view near the bottom up onto messages not laid out yet: look again then.
        for _ in 0..8 {
            let top = self.viewport.top_for(self.history.total_rows());
            self.history.lay_out_rows(messages, top, height);
            if self.viewport.top_for(self.history.total_rows()) >= top {
                break;
            }
        }
    }

    /// Whether history heights are still being measured in the background: the
    /// runtime then calls [`App::lay_out_more`] once per loop turn, after the keys.
    pub fn layout_pending(&self) -> bool {
        self.history.pending()
    }

    /// Measures one bounded batch of the history ([`HistoryLayout::measure_batch`]),
    /// keeping the top of the screen on the same row of the same message while the
    /// heights above it change: the user sees no jump.
    pub fn lay_out_more(&mut self) -> Vec<Effect> {
        let total = self.history.total_rows();
        let anchor = if self.viewport.follow {
            None
        } else {
            self.history.locate(self.viewport.top_for(total))
        };
        self.history.measure_batch(&self.conversation.messages);
        if let Some((index, row)) = anchor {
            self.viewport.top = self.history.start_of(index) + row;
        }
        self.lay_out_visible();
        // The rows below the screen ("↓ n more rows") changed.
        if self.history.total_rows() == total {
            Vec::new()
        } else {
            vec![Effect::Redraw]
        }
    }

    /// Text rows the input needs at the input box's width (for its height), counted
    /// only up to the screen's height: the box never grows past a third of the screen,
    /// so a key in a big draft measures a screenful of it, not all of it.
    fn input_rows(&self) -> u16 {
        let width = usize::from(self.screen.width.saturating_sub(2)).max(1);
        let most = usize::from(self.screen.height).max(1);
        let mut rows = 0usize;
        for line in self.input.lines() {
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
        self.conversation = conversation;
        self.forget_saves();
        self.end_recall();
        self.viewport.to_bottom();
        self.lay_out_history(self.history.width(), self.history.code_theme());
        self.selected = None;
        self.outcome = Outcome::Idle;
        if let Some(model) = self.conversation.last_model().map(str::to_owned)
            && crate::config::split_model(&model).is_some_and(|(p, _)| self.catalog.is_usable(p))
        {
            self.catalog.select_model(&model);
            self.active_model = Some(model);
        }
        self.set_notice(format!("opened “{}”", crate::view::wrap::sanitize(&title)));
        self.set_focus(Focus::Input);
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
