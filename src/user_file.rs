//! Reading a file that the user (or another program) names: a conversation given to
//! `--open` or `export`, a saved conversation, the config file.
//!
//! Owns the one function every such read goes through, [`read_user_file`], and its
//! limits. Such a path can be anything: `/dev/zero` never ends, a named pipe blocks the
//! reader until a writer comes, a folder is not a file, and a multi-gigabyte file would
//! be read whole into memory. So only regular files are read, the file is opened
//! without blocking (a FIFO is refused, not waited on), and at most the caller's
//! [`Limit`] of bytes is read, with an error that names the file and the limit. It
//! must not print, log or interpret the bytes: callers parse them.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most tinychat reads of one file of a kind, and the kind's name for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    /// "a conversation file", "the config file": ends "the most tinychat reads from …".
    pub what: &'static str,
}

/// Conversation files and their `.json` exports. A long conversation with several
/// 1 MiB replies is a few MiB; 1,000 ordinary ones together are about 25 MB.
pub const CONVERSATION_LIMIT: Limit = Limit {
    bytes: 64 * 1024 * 1024,
    what: "a conversation file",
};

/// The config file: a few dozen lines in practice.
pub const CONFIG_LIMIT: Limit = Limit {
    bytes: 1024 * 1024,
    what: "the config file",
};

/// Why a user file was not read. `Display` is one line naming the file:
/// `cannot read <path>: <reason>`.
#[derive(Debug)]
pub enum ReadError {
    /// The operating system refused, or the file does not exist.
    Io { path: PathBuf, source: io::Error },
    /// A folder, device, named pipe or socket.
    NotAFile { path: PathBuf, kind: FileKind },
    /// More than the caller's limit.
    TooLarge { path: PathBuf, limit: Limit },
}

impl ReadError {
    /// True when the file does not exist (a missing optional config is not an error).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The file that was not read.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. }
            | ReadError::NotAFile { path, .. }
            | ReadError::TooLarge { path, .. } => path,
        }
    }

    /// Why, without the path: for messages that name the file already.
    pub fn reason(&self) -> String {
        match self {
            ReadError::Io { source, .. } => source.to_string(),
            ReadError::NotAFile { kind, .. } => format!("it is {kind}, not a regular file"),
            ReadError::TooLarge { limit, .. } => format!(
                "it is larger than {}, the most tinychat reads from {}",
                Size(limit.bytes),
                limit.what
            ),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read {}: {}",
            self.path().display(),
            self.reason()
        )
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What a path that is not a regular file is, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Folder,
    NamedPipe,
    CharacterDevice,
    BlockDevice,
    Socket,
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Folder => "a folder",
            FileKind::NamedPipe => "a named pipe (FIFO)",
            FileKind::CharacterDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Socket => "a socket",
            FileKind::Other => "something else",
        })
    }
}

/// A byte count as the limit messages show it: whole MiB, KiB or bytes.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: u64 = 1024;
        const MIB: u64 = 1024 * KIB;
        match self.0 {
            n if n >= MIB && n % MIB == 0 => write!(f, "{} MiB", n / MIB),
            n if n >= KIB && n % KIB == 0 => write!(f, "{} KiB", n / KIB),
            n => write!(f, "{n} bytes"),
        }
    }
}

/// The bytes of the regular file at `path` (symlinks followed), at most `limit.bytes`.
///
/// Anything but a regular file is refused without reading from it; a named pipe is
/// opened non-blocking, so this never waits for a writer. A file larger than the limit
/// is refused from its size, and one that grows past it while being read is refused
/// after reading one byte more than the limit, so memory stays bounded either way.
pub fn read_user_file(path: &Path, limit: Limit) -> Result<Vec<u8>, ReadError> {
    read_user_file_and_metadata(path, limit).map(|(bytes, _)| bytes)
}

/// [`read_user_file`], with the metadata of the very file read (taken from the open
/// file, so it describes these bytes even if the path is replaced meanwhile).
pub fn read_user_file_and_metadata(
    path: &Path,
    limit: Limit,
) -> Result<(Vec<u8>, Metadata), ReadError> {
    let io_error = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = open_without_blocking(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    let too_large = || ReadError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    if meta.len() > limit.bytes {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(too_large());
    }
    Ok((bytes, meta))
}

/// Opens `path` for reading; on Unix with `O_NONBLOCK`, which a regular file ignores and
/// which makes opening a named pipe return at once instead of waiting for a writer.
fn open_without_blocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits().cast_signed());
    }
    options.open(path)
}

fn kind_of(file_type: std::fs::FileType) -> FileKind {
    if file_type.is_dir() {
        return FileKind::Folder;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return FileKind::NamedPipe;
        }
        if file_type.is_char_device() {
            return FileKind::CharacterDevice;
        }
        if file_type.is_block_device() {
            return FileKind::BlockDevice;
        }
        if file_type.is_socket() {
            return FileKind::Socket;
        }
    }
    FileKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_the_largest_whole_unit() {
        assert_eq!(Size(64 * 1024 * 1024).to_string(), "64 MiB");
        assert_eq!(Size(2048).to_string(), "2 KiB");
        assert_eq!(Size(1000).to_string(), "1000 bytes");
    }

    #[test]
    fn a_file_at_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        let limit = Limit {
            bytes: 4,
            what: "a test file",
        };
        std::fs::write(&path, b"1234").unwrap();
        assert_eq!(read_user_file(&path, limit).unwrap(), b"1234");
        std::fs::write(&path, b"12345").unwrap();
        let error = read_user_file(&path, limit).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot read {}: it is larger than 4 bytes, the most tinychat reads from a test file",
                path.display()
            )
        );
    }

    #[test]
    fn a_missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let error = read_user_file(&dir.path().join("nope"), CONFIG_LIMIT).unwrap_err();
        assert!(error.is_not_found(), "{error:?}");
    }
}
