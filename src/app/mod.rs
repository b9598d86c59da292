//! The application state and its one state transition, [`App::update`].
//!
//! Owns everything the user can see or change: the conversation, the input, the model
//! catalog, focus, popups, the status line and the view data derived from them. `update`
//! is pure: it never does I/O, never sleeps and never touches the terminal; it returns
//! [`Effect`]s that the runtime carries out (design §1, §3). That is what lets the key
//! handling, cancellation races and model switches be unit-tested without tokio.

mod access;
pub mod bindings;
mod browser;
mod chat;
mod chrome;
mod copy;
pub mod download;
mod editors;
pub mod keymap;
mod leave;
mod line_field;
mod main_screen;
mod messages;
pub mod models;
mod popup;
mod recall;
mod session;
mod totals;
pub mod typing;
mod view_model;
pub mod viewport;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::conversation::Conversation;
use crate::view::highlight::CodeTheme;
use crate::view::history_layout::HistoryLayout;

pub use browser::{Browser, BrowserFocus, IndexChange, Pending};
pub use chrome::Chrome;
pub use chrome::Notice;
pub use download::{DownloadState, DownloadUpdate, FirstRun};
pub(crate) use editors::{edit_text, new_editor, new_input};
pub use keymap::{Context, Focus, Intent};
pub use messages::{Effect, Msg, StreamId};
pub use models::ModelCatalog;
pub use popup::{LeaveAction, Popup, SaveAs, SystemPrompt};
pub use session::{ActiveStream, Outcome, RetryWait, Session};
pub use totals::Totals;
pub use view_model::ViewModel;
pub use viewport::Viewport;

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
            .or_else(|| config.default_model.clone());
        let effects = config
            .providers
            .iter()
            .filter(|p| p.disabled.is_none())
            .map(|p| Effect::LoadModels(p.clone()))
            .chain(std::iter::once(Effect::LoadRecent))
            .collect();
        // Estimates only: nothing is laid out before the terminal's size is known.
        let mut history = HistoryLayout::lazy(&conversation.messages, 0, CodeTheme::default());
        history.set_show_thinking(&conversation.messages, config.show_thinking);
        let totals = totals::Totals::of(&conversation.messages);
        let mut session = Session::new(config, config_path, conversation, active_model);
        session.totals = totals;
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
                info,
                error,
            } => self.on_models_loaded(&provider, models, info, error, &mut fx),
            Msg::ModelInfoLoaded { provider, info } => {
                self.session.catalog.add_info(&provider, info);
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
                if let Some(stream) = self.session.stream.as_mut() {
                    stream.clock = Some(now);
                    stream.started_at.get_or_insert(now);
                    if stream.thinking_secs().is_some() || stream.waiting_secs().is_some() {
                        fx.push(Effect::Redraw);
                    }
                }
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
    /// its autosave deadline; while the model thinks or the reply is awaited, when the
    /// seconds shown change. `None` otherwise, so idle has no timer.
    pub fn next_tick(&self) -> Option<Instant> {
        let stream = self.session.stream.as_ref()?;
        let thinking = stream
            .thinking_since
            .filter(|_| !stream.answering)
            .map(|since| {
                let shown = stream.thinking_secs().unwrap_or(0);
                since + Duration::from_secs(shown + 1)
            });
        let waiting = stream
            .started_at
            .zip(stream.waiting_secs())
            .map(|(since, shown)| since + Duration::from_secs(shown + 1));
        let countdown = stream.retry.as_ref().map(|wait| {
            let left = Duration::from_secs(wait.seconds_left.saturating_sub(1));
            wait.until.checked_sub(left).unwrap_or(wait.until)
        });
        let autosave = stream
            .unsaved_since
            .map(|since| since + chat::AUTOSAVE_PERIOD);
        [countdown, autosave, thinking, waiting]
            .into_iter()
            .flatten()
            .min()
    }

    /// Where keys land now: the open popup's context, else the focused pane.
    pub fn context(&self) -> Context {
        self.chrome
            .popup
            .as_ref()
            .map_or(Context::Main(self.chrome.focus), Popup::context)
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

    /// Shows a conversation read from disk; the model that wrote its last reply answers
    /// the next message when that provider can be used.
    fn show_conversation(&mut self, conversation: Conversation) {
        let title = conversation.title.clone();
        self.session.conversation = conversation;
        self.forget_saves();
        self.end_recall();
        self.view.viewport.to_bottom();
        self.lay_out_history(self.view.history.width(), self.view.history.code_theme());
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

    /// A provider's discovery finished: its models (and what the listing said about
    /// them) go into the catalog, and the first usable model is chosen if none was.
    fn on_models_loaded(
        &mut self,
        provider: &str,
        models: Vec<String>,
        info: std::collections::BTreeMap<String, crate::model_settings::ModelInfo>,
        error: Option<crate::provider::ProviderError>,
        fx: &mut Vec<Effect>,
    ) {
        // An optional provider (Ollama) that does not answer is simply not shown.
        if let Some(e) = &error
            && !self.session.catalog.is_optional(provider)
        {
            self.set_error(format!("cannot list models: {e}"));
        }
        self.session
            .catalog
            .set_models(provider, models, info, error.map(|e| e.to_string()));
        if self.session.active_model.is_none() {
            self.session.active_model = self.session.catalog.first_usable();
            if let Some(m) = self.session.active_model.clone() {
                self.session.catalog.select_model(&m);
            }
        }
        fx.push(Effect::Redraw);
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

#[cfg(test)]
mod tests;
