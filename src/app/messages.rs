//! What flows through [`App::update`](super::App::update): the [`Msg`]s that come in
//! (terminal events, provider events, results of background work) and the [`Effect`]s
//! that go out for the runtime to carry out (design §3).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use crossterm::event::Event;

use crate::clipboard::{CopyError, CopyMethod};
use crate::conversation::Conversation;
use crate::external_editor::EditorError;
use crate::model_settings::ModelInfo;
use crate::provider::{ChatRequest, ProviderError, ProviderSpec, StreamEvent};
use crate::storage::export::Replace;
use crate::storage::index::IndexEntry;
use crate::storage::{ListEntry, Opened, Saved, StorageError};

use super::{DownloadUpdate, IndexChange};

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
    /// ones when discovery failed), what the listing said about their windows and
    /// prices (by model id, without the provider), and why discovery failed.
    ModelsLoaded {
        provider: String,
        models: Vec<String>,
        info: BTreeMap<String, ModelInfo>,
        error: Option<ProviderError>,
    },
    /// What a provider said about its models when asked one at a time after the list
    /// was shown (Ollama's `/api/show`), by model id: it arrives after `ModelsLoaded`
    /// so the sidebar never waits for it.
    ModelInfoLoaded {
        provider: String,
        info: BTreeMap<String, ModelInfo>,
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
