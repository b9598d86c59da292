//! Why saving, loading, listing or exporting a conversation failed, as one line a user
//! can act on.
//!
//! Owns the `StorageError` enum and its messages. Every message starts with what failed
//! and names the file involved (design §7, spec §2: "what failed, and what to do"). It
//! must not print, log or decide exit codes: callers (UI status line, CLI) do that.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::conversation::FORMAT_VERSION;
use crate::user_file::ReadError;

/// What tinychat was doing to a file when the operating system said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoAction {
    Read,
    Write,
    CreateFolder,
    Delete,
}

impl fmt::Display for IoAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IoAction::Read => "read",
            IoAction::Write => "write",
            IoAction::CreateFolder => "create folder",
            IoAction::Delete => "delete",
        })
    }
}

/// A storage failure. `Display` is the single line shown on the status line or stderr.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The operating system refused (permission denied, disk full, not a folder…).
    /// Example: `cannot write /x/y.json: Permission denied (os error 13)`.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: IoAction,
        path: PathBuf,
        source: io::Error,
    },

    /// An export target whose folder does not exist; tinychat does not create it, so a
    /// typo in the folder name is not silently turned into a new tree of folders.
    #[error("cannot write {}: the folder {} does not exist", path.display(), folder.display())]
    MissingFolder { path: PathBuf, folder: PathBuf },

    /// An export target whose "folder" is actually a file.
    #[error("cannot write {}: {} is not a folder", path.display(), folder.display())]
    NotAFolder { path: PathBuf, folder: PathBuf },

    /// A save-as target that exists, when the user has not agreed to replace it.
    #[error("{} already exists", path.display())]
    Exists { path: PathBuf },

    /// An export target that is an existing folder.
    #[error(
        "cannot write {}: it is a folder; give a file name ending in .md, .txt or .json",
        path.display()
    )]
    IsAFolder { path: PathBuf },

    /// The file is not JSON, or not a conversation; `reason` is serde's message with the
    /// line and column. Such a file is never rewritten by tinychat.
    #[error(
        "cannot open {}: it is not a valid conversation file ({reason}); fix it in an editor or move it away",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },

    /// The file's `version` is larger than [`FORMAT_VERSION`]; reading it could lose data.
    #[error(
        "{}: written by a newer tinychat (format version {version}; this one reads {FORMAT_VERSION}); upgrade tinychat to open it",
        path.display()
    )]
    NewerVersion { path: PathBuf, version: u64 },

    /// No conversation with that id in the conversations folder.
    #[error("no saved conversation `{what}` (see `tinychat list`)")]
    NotFound { what: String },

    /// A conversation id that is not a safe file stem (it would escape the folder).
    #[error(
        "cannot save conversation `{id}`: its id is not a safe file name (it must not be empty, start with `.`, or contain `/`, `\\` or `..`)"
    )]
    InvalidId { id: String },

    /// An export path whose extension names no known format.
    #[error("unknown file type `.{extension}`: use .md, .txt or .json")]
    UnknownFileType { extension: String },

    /// An export path with no extension and no explicit format.
    #[error(
        "cannot tell the file type of {}: end the name with .md, .txt or .json",
        path.display()
    )]
    NoFileType { path: PathBuf },

    /// A `~/…` path when the home folder cannot be found.
    #[error("cannot resolve `~` in {}: the home folder is unknown; give a full path", path.display())]
    NoHome { path: PathBuf },

    /// A path that is not a regular file, or a file over the size limit (see
    /// [`crate::user_file`]); the message names the file and the limit.
    #[error(transparent)]
    Unreadable(ReadError),

    /// Encoding the conversation as JSON failed. `Conversation` has only string map keys
    /// and derived `Serialize`, so this is not expected; it is an error, not a panic.
    #[error("cannot encode the conversation as JSON: {source}")]
    Encode { source: serde_json::Error },
}

impl From<ReadError> for StorageError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Io { path, source } => StorageError::Io {
                action: IoAction::Read,
                path,
                source,
            },
            other => StorageError::Unreadable(other),
        }
    }
}

impl StorageError {
    /// The problem in a few words without the path, for `tinychat list` rows where the
    /// file is already named.
    pub fn problem(&self) -> String {
        match self {
            StorageError::Io { action, source, .. } => format!("cannot {action}: {source}"),
            StorageError::Corrupt { reason, .. } => {
                format!("not a valid conversation file ({reason})")
            }
            StorageError::NewerVersion { version, .. } => {
                format!("written by a newer tinychat (format version {version})")
            }
            StorageError::Unreadable(e) => e.reason(),
            other => other.to_string(),
        }
    }
}
