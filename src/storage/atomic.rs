//! Replacing a file so that readers see either the old bytes or the new ones, never a
//! mix, and a crash never leaves a torn file (spec §3).
//!
//! Owns the write-temp / fsync / rename / fsync-folder sequence used by both the
//! conversation store and exports. It must not create folders or decide file names
//! beyond the hidden temporary one: callers check the target folder first.

use std::io::{self, Write};
use std::path::Path;

use tempfile::Builder;

use super::error::{IoAction, StorageError};

/// Who may read the written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// Owner only (0600): conversation files hold private chats.
    Private,
    /// What the user's umask allows (0666 & !umask), like any file an editor saves:
    /// exports are meant to be shared.
    Shared,
}

/// Writes `bytes` to `path` atomically: a hidden temporary file in the same folder
/// (`.tinychat-XXXXXX.tmp`, so a rename never crosses file systems), `fsync`, rename over
/// `path`, then `fsync` of the folder so the rename itself survives a power cut.
///
/// On any error the temporary file is removed (`NamedTempFile` deletes itself on drop)
/// and the old `path`, if any, is untouched. Errors name `path`, not the temporary file,
/// because that is the file the user asked for.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    visibility: Visibility,
) -> Result<(), StorageError> {
    write(path, bytes, visibility, Replace::Yes)
}

/// Whether an existing file at the target may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    Yes,
    /// Only a new file is written: an existing one (even one created a moment ago by
    /// another program) is [`StorageError::Exists`] and stays as it was. The check is
    /// the rename itself (`renameat2(RENAME_NOREPLACE)` or a hard link), not a look
    /// beforehand.
    No,
}

/// [`write_atomic`], refusing to replace an existing file unless `replace` says so.
pub(crate) fn write(
    path: &Path,
    bytes: &[u8],
    visibility: Visibility,
    replace: Replace,
) -> Result<(), StorageError> {
    let write_error = |source| StorageError::Io {
        action: IoAction::Write,
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };

    let mut builder = Builder::new();
    builder.prefix(".tinychat-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match visibility {
            Visibility::Private => 0o600,
            Visibility::Shared => 0o666,
        };
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = visibility;

    let mut temp = builder
        .tempfile_in(dir)
        .map_err(|e| write_error(without_temp_path(e)))?;
    // Through the plain `File`: `NamedTempFile`'s own `Write` adds the temp path to errors.
    temp.as_file_mut().write_all(bytes).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    // On failure `PersistError` hands the temp file back; dropping it deletes it.
    match replace {
        Replace::Yes => {
            temp.persist(path).map_err(|e| write_error(e.error))?;
        }
        Replace::No => match temp.persist_noclobber(path) {
            Ok(_) => {}
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StorageError::Exists {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(write_error(e.error)),
        },
    }

    #[cfg(unix)]
    {
        use std::fs::File;
        // Best effort: some file systems refuse to fsync a directory; the data itself
        // is already on disk, so this is not worth failing the save for.
        if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
            tracing::debug!(dir = %dir.display(), error = %e, "folder fsync failed");
        }
    }
    Ok(())
}

/// `tempfile` appends ` at path "<temporary file>"` to creation errors; our messages
/// already name the target file, so the suffix is dropped to keep one clean line
/// ("cannot write /x/a.md: Permission denied (os error 13)"). The OS's own message never
/// contains " at path ", so the first occurrence is where tempfile's suffix starts.
fn without_temp_path(error: io::Error) -> io::Error {
    if error.get_ref().is_none() {
        return error;
    }
    let text = error.to_string();
    match text.split_once(" at path ") {
        Some((head, _)) => io::Error::new(error.kind(), head.to_owned()),
        None => error,
    }
}
