//! What this process last read or wrote of each conversation file, so that a save never
//! replaces a version it has not seen: another tinychat window's messages, an editor's
//! change, or a saved conversation that an opened export shares an id with.
//!
//! Owns the [`Stamp`] of a file version, the per-store record of stamps and forks, and
//! the folder lock that makes "check the file, then rename over it" one step between
//! tinychat processes. It must not decide what a conflict does (the store forks) nor
//! read conversation content.
//!
//! A stamp is the file's identity and size and modification time (device, inode,
//! length, mtime on Unix). Every tinychat save renames a new file into place, so
//! another window's save always changes the inode; an editor that writes in place
//! changes the length or the modification time.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io;
use std::path::Path;
use std::time::SystemTime;

/// One version of a file on disk, as far as metadata can tell versions apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl Stamp {
    pub(crate) fn of(meta: &Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            dev: meta.dev(),
            #[cfg(unix)]
            ino: meta.ino(),
        }
    }

    /// The stamp of the file at `path` now; `None` when there is no file.
    pub(crate) fn at(path: &Path) -> io::Result<Option<Stamp>> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(Stamp::of(&meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The record behind one [`super::ConversationStore`] (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// id → the stamp of its file when this process last read or wrote it.
    pub(crate) files: HashMap<String, Stamp>,
    /// id → the id its saves go to since a save found the file changed by someone
    /// else. Saves already queued with the old id follow it there.
    pub(crate) forks: HashMap<String, String>,
}

/// Held while a save checks a file and renames over it, so no other tinychat process
/// renames in between: an exclusive `flock` on the conversations folder itself
/// (nothing is left behind; released when dropped). Best effort: where the folder
/// cannot be opened or locked (a folder without read permission, a file system without
/// locks, or not Unix) the save goes on unlocked; the check itself still happens.
pub(crate) struct FolderLock {
    #[cfg(unix)]
    _dir: Option<File>,
}

impl FolderLock {
    pub(crate) fn acquire(dir: &Path) -> FolderLock {
        #[cfg(unix)]
        {
            let locked = File::open(dir).and_then(|file| {
                rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
                Ok(file)
            });
            match locked {
                Ok(file) => FolderLock { _dir: Some(file) },
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), error = %e, "saving without the folder lock");
                    FolderLock { _dir: None }
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            FolderLock {}
        }
    }
}
