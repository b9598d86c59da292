//! Read access to the app's state for the UI, the runtime and tests outside `app/`.

use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use crate::config::Config;
use crate::conversation::Conversation;
use crate::storage::ListEntry;
use crate::view::history_layout::HistoryLayout;
use crate::view::layout::Areas;

use super::{ActiveStream, App, FirstRun, Focus, ModelCatalog, Notice, Outcome, Popup, Viewport};

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

    /// What is known of `full`'s (`provider/model`) window and prices: its
    /// provider's discovery first, then the config's nearest setting; unknown stays
    /// `None`.
    pub fn model_info(&self, full: &str) -> crate::model_settings::ModelInfo {
        let discovered = self.session.catalog.info(full);
        let settings = crate::config::split_model(full)
            .and_then(|(provider, model)| {
                self.session
                    .config
                    .provider(provider)
                    .map(|p| p.settings.for_model(model))
            })
            .unwrap_or_default();
        discovered.or_settings(settings)
    }

    /// How full the conversation's context is and what it has cost.
    pub fn totals(&self) -> super::Totals {
        self.session.totals
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

    /// True when keys go to the input: it has the focus and no popup is open.
    pub fn input_takes_keys(&self) -> bool {
        self.chrome.input_takes_keys()
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
