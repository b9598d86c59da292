//! The first-run download inside `App::update`: on a machine with nothing set up, the
//! welcome offers a small model that runs in-process, Enter fetches it (with progress),
//! Esc cancels, and when it lands the `local` provider lists it and it becomes the
//! active model.
//!
//! Invariants: at most one download runs; its progress only ever describes the run in
//! flight (a late update after Esc is dropped); the offer shows only while no provider
//! can be used.

use crate::provider::first_run::{DownloadOffer, DownloadProgress};

use super::{App, Effect};

/// Where the offered download stands.
#[derive(Debug, Clone, PartialEq)]
pub enum DownloadState {
    /// Not started (or cancelled: a partial file resumes on the next Enter).
    Offered,
    /// Running; `None` until the first progress report.
    Running(Option<DownloadProgress>),
    /// The last try failed, with the reason; Enter tries again.
    Failed(String),
    /// The model is on disk.
    Done,
}

/// The offer and its state, for the welcome text.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstRun {
    pub offer: DownloadOffer,
    pub state: DownloadState,
}

/// What a download reports back to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum DownloadUpdate {
    Progress(DownloadProgress),
    Finished(Result<(), String>),
}

impl App {
    /// True while the welcome offers the download (nothing else can answer yet).
    pub fn offers_download(&self) -> bool {
        self.session
            .first_run
            .as_ref()
            .is_some_and(|f| !matches!(f.state, DownloadState::Done))
            && !self.session.catalog.any_enabled()
    }

    /// Enter with nothing set up: start (or resume) the download.
    pub(super) fn start_download(&mut self, fx: &mut Vec<Effect>) {
        let Some(spec) = self.session.config.local_provider().cloned() else {
            return;
        };
        let Some(first_run) = self.session.first_run.as_mut() else {
            return;
        };
        if matches!(first_run.state, DownloadState::Running(_)) {
            return;
        }
        first_run.state = DownloadState::Running(None);
        self.chrome.notice = None;
        fx.push(Effect::StartDownload(spec));
        fx.push(Effect::Redraw);
    }

    /// Esc while downloading: stop it; the partial file stays for a resume.
    pub(super) fn cancel_download(&mut self, fx: &mut Vec<Effect>) -> bool {
        let Some(first_run) = self
            .session
            .first_run
            .as_mut()
            .filter(|f| matches!(f.state, DownloadState::Running(_)))
        else {
            return false;
        };
        first_run.state = DownloadState::Offered;
        fx.push(Effect::CancelDownload);
        self.set_notice("download stopped: Enter resumes it".into());
        true
    }

    /// Progress or the end of the download in flight.
    pub(super) fn on_download(&mut self, update: DownloadUpdate, fx: &mut Vec<Effect>) {
        let Some(first_run) = self
            .session
            .first_run
            .as_mut()
            .filter(|f| matches!(f.state, DownloadState::Running(_)))
        else {
            // A late report from a download that was cancelled.
            return;
        };
        match update {
            DownloadUpdate::Progress(progress) => {
                first_run.state = DownloadState::Running(Some(progress));
            }
            DownloadUpdate::Finished(Ok(())) => {
                first_run.state = DownloadState::Done;
                let label = first_run.offer.label;
                self.set_notice(format!("{label} is ready: type a message"));
                // The local provider lists the new file; ModelsLoaded then makes it
                // the active model, since nothing else was usable.
                if let Some(spec) = self.session.config.local_provider().cloned() {
                    fx.push(Effect::LoadModels(spec));
                }
            }
            DownloadUpdate::Finished(Err(reason)) => {
                first_run.state = DownloadState::Failed(reason.clone());
                self.set_error(format!("download failed: {reason}"));
            }
        }
        fx.push(Effect::Redraw);
    }
}
