//! The session: what the conversation is and who answers it — the conversation, the
//! reply streaming into it, the model that answers next, the catalog of models, and
//! what is known about the conversation's copy on disk.
//!
//! Plain data owned by [`App`](super::App); the app's handlers change it and the UI
//! reads it through the app's accessors. Nothing here knows about the screen.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::conversation::{Conversation, Message};
use crate::storage::ListEntry;

use super::{FirstRun, ModelCatalog, StreamId};

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
    pub(super) unsaved_since: Option<Instant>,
    /// Set while waiting to retry a request that failed before its first token.
    pub retry: Option<RetryWait>,
    /// What the provider said it is doing before the first token ("loading …").
    pub preparing: Option<String>,
    /// When the first thinking arrived (`None`: the model has not thought aloud).
    pub thinking_since: Option<Instant>,
    /// Thinking chunks received.
    pub thinking_chunks: u64,
    /// Set once the answer starts after thinking: the thinking is over.
    pub answering: bool,
    /// The latest time the app heard of (events and ticks): elapsed times on screen
    /// are counted to it, so drawing never reads a clock.
    pub clock: Option<Instant>,
    /// When the wait for the reply began (the runtime's first tick after starting it).
    pub started_at: Option<Instant>,
}

impl ActiveStream {
    /// Whole seconds since the request went out, while nothing has come back (a model
    /// that thinks without showing it, a slow server); `None` once anything arrived or
    /// while a retry or preparation says more.
    pub fn waiting_secs(&self) -> Option<u64> {
        if self.first_at.is_some() || self.retry.is_some() || self.preparing.is_some() {
            return None;
        }
        let since = self.started_at?;
        Some(
            self.clock
                .map_or(0, |now| now.saturating_duration_since(since).as_secs()),
        )
    }

    /// Whole seconds the model has been thinking, while it still is.
    pub fn thinking_secs(&self) -> Option<u64> {
        let since = self.thinking_since.filter(|_| !self.answering)?;
        Some(
            self.clock
                .map_or(0, |now| now.saturating_duration_since(since).as_secs()),
        )
    }
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

pub struct Session {
    pub(super) config: Config,
    /// Shown in the welcome text so users know where to put a provider.
    pub(super) config_path: PathBuf,
    pub(super) conversation: Conversation,
    pub(super) catalog: ModelCatalog,
    /// `provider/model` that answers the next message.
    pub(super) active_model: Option<String>,
    pub(super) stream: Option<ActiveStream>,
    pub(super) next_stream_id: u64,
    /// How the last reply went, for the status line.
    pub(super) outcome: Outcome,
    /// The newest saved conversations, shown in the welcome text.
    pub(super) recent: Vec<ListEntry>,
    /// The model the welcome offers to download, when this build can run one.
    pub(super) first_run: Option<FirstRun>,
    /// Why the conversation is not on disk: the last autosave's error, until a save
    /// succeeds. Shown on the status line for as long as it lasts (a failing disk is
    /// reported in the notice once), and Ctrl+N, Ctrl+O and quit ask first.
    pub(super) unsaved: Option<String>,
    /// The messages as written by the save-as in flight, and by the last one that
    /// succeeded: a conversation saved elsewhere since its autosave failed is not lost.
    pub(super) export_pending: Option<Vec<Arc<Message>>>,
    pub(super) exported: Option<Vec<Arc<Message>>>,
    /// The context the conversation fills and what it has cost.
    pub(super) totals: super::Totals,
}

impl Session {
    /// A session on `conversation`, answered first by `active_model`, else by the
    /// catalog's first usable model.
    pub(super) fn new(
        config: Config,
        config_path: PathBuf,
        conversation: Conversation,
        active_model: Option<String>,
    ) -> Session {
        let mut catalog = ModelCatalog::new(&config.providers);
        let active_model = active_model.or_else(|| catalog.first_usable());
        if let Some(m) = &active_model {
            catalog.select_model(m);
        }
        Session {
            config,
            config_path,
            conversation,
            catalog,
            active_model,
            stream: None,
            next_stream_id: 0,
            outcome: Outcome::Idle,
            recent: Vec::new(),
            first_run: None,
            unsaved: None,
            export_pending: None,
            exported: None,
            totals: super::Totals::default(),
        }
    }
}
