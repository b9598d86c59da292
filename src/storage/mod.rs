//! Saved conversations on disk: one JSON file per conversation in
//! `<data_dir>/conversations/<id>.json` (spec §3), plus exports in [`export`] and the
//! conversation browser's full-text index, search, rename and delete in [`index`].
//!
//! Owns: where a conversation's file lives, writing it atomically, reading it back with
//! a version check and clear errors, and listing the folder. It must not import ratatui,
//! reqwest or tokio (design §2): the UI runs [`ConversationStore::save`] in a blocking
//! task, and `tinychat list` / `export` call it with no UI at all.
//!
//! File layout decision: conversation files are pretty-printed JSON (`serde_json`'s
//! two-space indent) followed by one `\n`, so they diff and read well; fields appear in
//! the order of the struct, with unknown fields (kept in `extra`) after the known ones
//! in the order they were read. A file written by this store therefore loads and saves
//! back byte for byte.
//!
//! A save never replaces a version of the file that this store has not read or
//! written itself (see [`seen`]): another tinychat window's messages, an editor's
//! change, a corrupt file, or a saved conversation that an opened export shares its id
//! with. It writes the conversation under a new id instead (a fork) and says so in
//! [`Saved`]; later saves of the old id follow it. The check and the rename happen
//! under a lock on the folder, so two tinychat processes cannot interleave them.

mod atomic;
mod error;
pub mod export;
pub mod index;
mod seen;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, FixedOffset, Local, SecondsFormat};
use serde::{Deserialize, Serialize};

use crate::conversation::{Conversation, FORMAT_VERSION, Finish, Role};
use crate::user_file::{CONVERSATION_LIMIT, read_user_file, read_user_file_and_metadata};

pub use error::{IoAction, StorageError};

use atomic::{Visibility, write_atomic};
use seen::{FolderLock, Seen, Stamp};

/// The `error` given to a reply that was still streaming when its file was last saved:
/// tinychat stopped (crash, kill, power cut) before the reply ended.
pub const CUT_OFF_ERROR: &str = "tinychat stopped before the reply ended";

/// The folder of saved conversations. Cheap to clone (clones share what was seen);
/// holds no open files. Any number of stores (UI, CLI, tests, other processes) may point
/// at the same folder: each one only ever replaces file versions it read or wrote.
#[derive(Debug, Clone)]
pub struct ConversationStore {
    dir: PathBuf,
    /// The versions of files this store read or wrote, and its forks.
    seen: Arc<Mutex<Seen>>,
}

/// Where a save went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub path: PathBuf,
    /// The id the conversation was saved under: its own, or the fork's.
    pub id: String,
    /// Set on the save that found the conversation's file changed by someone else
    /// (another window, an editor, a different conversation of the same id) and so
    /// wrote a copy under [`Saved::id`]; the other file is left as it was.
    pub forked_from: Option<String>,
}

/// A conversation read to be continued, and what the user should be told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub conversation: Conversation,
    /// Set when the file was not the saved conversation itself (an export, a file
    /// elsewhere): which saved conversation it continues as.
    pub notice: Option<String>,
}

/// One row of `tinychat list` and of the UI's open list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListEntry {
    /// The file stem, which is what `--open` and `export` accept.
    pub id: String,
    pub path: PathBuf,
    /// Empty when the file could not be read.
    pub title: String,
    /// `provider/model` of the last reply.
    pub model: Option<String>,
    /// The file's `updated_at`, or its modification time (RFC 3339) when unreadable.
    pub updated_at: String,
    pub message_count: usize,
    /// What its replies cost in US dollars, when any reply's cost is known.
    pub cost: Option<f64>,
    /// Why the file could not be read; such files are listed, never skipped silently,
    /// and never crash the listing.
    pub problem: Option<String>,
}

impl ConversationStore {
    /// A store over `dir` (normally [`crate::config::Paths::conversations_dir`]). The
    /// folder is created on the first save, not here, so listing never creates it.
    pub fn new(dir: PathBuf) -> Self {
        ConversationStore {
            dir,
            seen: Arc::default(),
        }
    }

    /// The record; a panic elsewhere while it was held leaves plain data, still usable.
    pub(crate) fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The folder this store reads and writes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the conversation with `id` is (or would be) saved. Refuses ids that would
    /// escape the folder (`../x`, `a/b`) or be hidden like temporary files.
    pub fn path_for(&self, id: &str) -> Result<PathBuf, StorageError> {
        if is_safe_id(id) {
            Ok(self.dir.join(format!("{id}.json")))
        } else {
            Err(StorageError::InvalidId { id: id.to_owned() })
        }
    }

    /// Writes `conversation` to `<dir>/<id>.json` atomically and says where it went.
    ///
    /// A conversation with no messages is never written (opening tinychat and quitting
    /// must not litter the folder): that returns `Ok(None)` and touches nothing.
    /// The folder is created if missing. Concurrent saves of the same conversation from
    /// several threads are safe: they take turns, and the file always holds one
    /// complete version.
    ///
    /// The file is replaced only if it is the version this store last read or wrote
    /// (or is missing). Otherwise someone else wrote it since, and their version is
    /// kept: the conversation is written under a new id, [`Saved::forked_from`] names
    /// the old one, and every later save of the old id goes to the new one.
    pub fn save(&self, conversation: &Conversation) -> Result<Option<Saved>, StorageError> {
        self.path_for(&conversation.id)?;
        if conversation.messages.is_empty() {
            return Ok(None);
        }
        fs::create_dir_all(&self.dir).map_err(|source| StorageError::Io {
            action: IoAction::CreateFolder,
            path: self.dir.clone(),
            source,
        })?;
        let mut seen = self.seen();
        let _lock = self.lock_folder();
        let mut id = seen
            .forks
            .get(&conversation.id)
            .cloned()
            .unwrap_or_else(|| conversation.id.clone());
        let mut path = self.path_for(&id)?;
        let mut forked_from = None;
        let on_disk = Stamp::at(&path).map_err(|source| StorageError::Io {
            action: IoAction::Read,
            path: path.clone(),
            source,
        })?;
        let ours = match (on_disk, seen.files.get(&id)) {
            (None, _) => true,
            (Some(now), Some(known)) => now == *known,
            (Some(_), None) => false,
        };
        if !ours {
            let new_id = self.unused_id()?;
            tracing::warn!(
                id,
                new_id,
                "conversation file changed by someone else: saving a copy"
            );
            seen.forks.insert(conversation.id.clone(), new_id.clone());
            forked_from = Some(std::mem::replace(&mut id, new_id));
            path = self.path_for(&id)?;
        }
        let bytes = if id == conversation.id {
            to_file_bytes(conversation)?
        } else {
            let mut copy = conversation.clone();
            copy.id.clone_from(&id);
            to_file_bytes(&copy)?
        };
        write_atomic(&path, &bytes, Visibility::Private)?;
        match Stamp::at(&path) {
            Ok(Some(stamp)) => {
                seen.files.insert(id.clone(), stamp);
            }
            // Written but not stat-able: the next save forks rather than guess.
            _ => {
                seen.files.remove(&id);
            }
        }
        Ok(Some(Saved {
            path,
            id,
            forked_from,
        }))
    }

    /// Reads a conversation to continue it (`--open`, the browser), remembering the
    /// version read so that saving it later replaces exactly that version.
    ///
    /// A file that is not the saved conversation itself (an export, a copy elsewhere)
    /// never overwrites the saved conversation of the same id: when that one exists
    /// and differs, the file continues under a new id; when it is identical, the saved
    /// one is continued; when there is none, the file is saved under its own id. In
    /// each case [`Opened::notice`] says which.
    pub fn open(&self, id_or_file: &str) -> Result<Opened, StorageError> {
        let path = self.locate(id_or_file)?;
        let (bytes, meta) =
            read_user_file_and_metadata(&path, CONVERSATION_LIMIT).map_err(StorageError::from)?;
        let mut conversation = parse_conversation(&path, &bytes)?;
        mark_cut_off_replies(&mut conversation);
        let mut seen = self.seen();
        // Continuing this id from its file again: earlier saves of it that went to a
        // fork no longer say where this conversation's saves go.
        seen.forks.remove(&conversation.id);
        let own = self.path_for(&conversation.id).ok();
        if own.as_deref().is_some_and(|own| same_file(own, &path)) {
            seen.files.insert(conversation.id.clone(), Stamp::of(&meta));
            return Ok(Opened {
                conversation,
                notice: None,
            });
        }
        let shown = path.display().to_string();
        let saved = own.as_deref().and_then(|own| {
            read_user_file_and_metadata(own, CONVERSATION_LIMIT)
                .ok()
                .map(|(bytes, meta)| (bytes, Stamp::of(&meta)))
        });
        let notice = match (own, saved) {
            (Some(_), Some((saved_bytes, stamp))) if saved_bytes == bytes => {
                seen.files.insert(conversation.id.clone(), stamp);
                format!(
                    "{shown} is the saved conversation {}: continuing it",
                    conversation.id
                )
            }
            (Some(own), None) if !own.exists() => format!(
                "opened {shown}; it is saved as conversation {}",
                conversation.id
            ),
            (own, _) => {
                let old = std::mem::replace(&mut conversation.id, self.unused_id()?);
                if own.is_some() {
                    format!(
                        "{shown} differs from the saved conversation {old}, which is kept as it is: continuing as a new conversation {}",
                        conversation.id
                    )
                } else {
                    format!(
                        "opened {shown}; its id is not a file name: continuing as a new conversation {}",
                        conversation.id
                    )
                }
            }
        };
        Ok(Opened {
            conversation,
            notice: Some(notice),
        })
    }

    /// An id no file in the folder has yet.
    fn unused_id(&self) -> Result<String, StorageError> {
        loop {
            let id = crate::conversation::new_id();
            if !self.path_for(&id)?.exists() {
                return Ok(id);
            }
        }
    }

    /// Holds off every other tinychat process's saves into this folder (best effort,
    /// see [`FolderLock`]).
    pub(crate) fn lock_folder(&self) -> FolderLock {
        FolderLock::acquire(&self.dir)
    }

    /// Reads a conversation by id (`20261129-140512-3fa2`) or by file path.
    ///
    /// An argument ending in `.json` or containing a path separator is a file path.
    /// Otherwise the id's file in the folder is read if it exists, and only then an
    /// existing file of that name in the current folder, so a stray file never shadows a
    /// saved conversation. A reply that was still streaming when the file was written is
    /// marked [`Finish::Incomplete`] with [`CUT_OFF_ERROR`]: tinychat stopped mid-reply.
    pub fn load(&self, id_or_file: &str) -> Result<Conversation, StorageError> {
        read_conversation(&self.locate(id_or_file)?)
    }

    /// The file [`ConversationStore::load`] reads for `id_or_file`.
    fn locate(&self, id_or_file: &str) -> Result<PathBuf, StorageError> {
        let as_path = Path::new(id_or_file);
        let looks_like_file = as_path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
            || id_or_file.contains('/')
            || id_or_file.contains(std::path::MAIN_SEPARATOR);
        let path = if looks_like_file {
            export::resolve_user_path(as_path)?
        } else {
            match self.path_for(id_or_file) {
                // `exists`, not `is_file`: a saved id that is not a regular file is
                // reported as such by the reader, not looked up elsewhere.
                Ok(p) if p.exists() => p,
                _ if !id_or_file.is_empty() && as_path.is_file() => as_path.to_path_buf(),
                _ => {
                    return Err(StorageError::NotFound {
                        what: id_or_file.to_owned(),
                    });
                }
            }
        };
        Ok(path)
    }

    /// Every `*.json` file in the folder, newest first by `updated_at` (file
    /// modification time when that is missing or not RFC 3339). Unreadable files are
    /// listed with `problem` set; hidden files (temporary files of a save in progress)
    /// and other extensions are ignored. A missing folder is an empty list.
    pub fn list(&self) -> Vec<ListEntry> {
        self.scan(list_row)
    }

    /// The conversation files of the folder, each turned into a row by `row` (which gets
    /// the file stem and path and returns the row with its sort time), newest first.
    /// Shared by [`ConversationStore::list`] and [`ConversationStore::index`] so both
    /// skip the same files and sort the same way.
    fn scan<T>(&self, row: impl Fn(&str, PathBuf) -> (Option<DateTime<FixedOffset>>, T)) -> Vec<T>
    where
        T: HasId,
    {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(dir = %self.dir.display(), error = %e, "cannot list conversations");
                }
                return Vec::new();
            }
        };
        let mut rows: Vec<(Option<DateTime<FixedOffset>>, T)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let path = entry.path();
                let name = entry.file_name();
                let name = name.to_str()?;
                let id = name.strip_suffix(".json")?;
                if id.is_empty() || name.starts_with('.') || !path.is_file() {
                    return None;
                }
                Some(row(id, path))
            })
            .collect();
        // Newest first; undated rows last; ties broken by id (also newest first, since
        // ids start with the creation time) so the order is stable.
        rows.sort_by(|(a_time, a), (b_time, b)| {
            b_time.cmp(a_time).then_with(|| b.id().cmp(a.id()))
        });
        rows.into_iter().map(|(_, entry)| entry).collect()
    }
}

impl ListEntry {
    /// The row of a conversation that was read without a problem.
    fn readable(id: String, path: PathBuf, conversation: &Conversation) -> Self {
        ListEntry {
            id,
            path,
            title: conversation.title.clone(),
            model: conversation.last_model().map(str::to_owned),
            updated_at: conversation.updated_at.clone(),
            message_count: conversation.messages.len(),
            cost: total_cost(conversation.messages.iter().map(|m| m.usage.as_deref())),
            problem: None,
        }
    }
}

/// The sum of the replies' known costs; `None` when no reply has one.
fn total_cost<'a>(
    usages: impl Iterator<Item = Option<&'a crate::conversation::Usage>>,
) -> Option<f64> {
    usages
        .flatten()
        .filter_map(|u| u.cost)
        .fold(None, |sum, c| Some(sum.unwrap_or(0.0) + c))
}

/// A row of a folder scan: its id breaks ties in the sort.
trait HasId {
    fn id(&self) -> &str;
}

impl HasId for ListEntry {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The modification time of a file, for files without a usable `updated_at`.
fn modified_time(path: &Path) -> Option<DateTime<FixedOffset>> {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(|t| DateTime::<Local>::from(t).fixed_offset())
}

/// `time` as the RFC 3339 text shown for unreadable files (empty when unknown).
fn time_text(time: Option<DateTime<FixedOffset>>) -> String {
    time.map_or_else(String::new, |t| {
        t.to_rfc3339_opts(SecondsFormat::Secs, false)
    })
}

/// The exact bytes of a conversation file (see the module doc): pretty JSON + `\n`.
/// Generic so a rename, which rewrites the file's JSON value rather than a
/// [`Conversation`], writes the same layout.
pub(crate) fn to_file_bytes(value: &impl Serialize) -> Result<Vec<u8>, StorageError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| StorageError::Encode { source })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The least of a file that says which format it is in, read when the whole file does
/// not parse.
#[derive(Deserialize)]
struct VersionProbe {
    version: Option<u64>,
}

/// Reads and checks one conversation file.
fn read_conversation(path: &Path) -> Result<Conversation, StorageError> {
    let bytes = read_file(path)?;
    let mut conversation = parse_conversation(path, &bytes)?;
    mark_cut_off_replies(&mut conversation);
    Ok(conversation)
}

/// The bytes of one conversation file, through the one bounded reader of user files
/// (a FIFO, a device or a file over [`CONVERSATION_LIMIT`] is refused), with the error
/// naming the file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, StorageError> {
    read_user_file(path, CONVERSATION_LIMIT).map_err(StorageError::from)
}

/// Checks the version of a conversation file's `bytes` and parses them, as written
/// (replies saved mid-stream are not marked here).
///
/// The version decides first: a newer format may not fit this build's structs, and
/// "upgrade tinychat" is the useful message then, not a parse error. A file that parses
/// carries its version, so only a file that does not is read a second time for it:
/// listing a folder parses each good file once.
fn parse_conversation(path: &Path, bytes: &[u8]) -> Result<Conversation, StorageError> {
    parse_versioned(path, bytes, |c: &Conversation| c.version)
}

/// [`parse_conversation`] for any shape of the file that knows its version.
fn parse_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    version: impl Fn(&T) -> u32,
) -> Result<T, StorageError> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(parsed) => {
            refuse_newer(path, u64::from(version(&parsed)))?;
            Ok(parsed)
        }
        Err(error) => {
            let probe: VersionProbe =
                serde_json::from_slice(bytes).map_err(|e| corrupt(path, &e))?;
            if let Some(version) = probe.version {
                refuse_newer(path, version)?;
            }
            Err(corrupt(path, &error))
        }
    }
}

/// [`StorageError::NewerVersion`] when `version` is newer than this build reads.
fn refuse_newer(path: &Path, version: u64) -> Result<(), StorageError> {
    if version > u64::from(FORMAT_VERSION) {
        return Err(StorageError::NewerVersion {
            path: path.to_path_buf(),
            version,
        });
    }
    Ok(())
}

/// A file that is not a conversation, with serde's line and column.
fn corrupt(path: &Path, error: &serde_json::Error) -> StorageError {
    StorageError::Corrupt {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

/// A reply saved while streaming has no `finish`; once read back it can never resume.
fn mark_cut_off_replies(conversation: &mut Conversation) {
    for message in &mut conversation.messages {
        if message.role == Role::Assistant && message.finish.is_none() {
            let message = Arc::make_mut(message);
            message.finish = Some(Finish::Incomplete);
            if message.error.is_none() {
                message.error = Some(CUT_OFF_ERROR.to_owned());
            }
        }
    }
}

/// One conversation file read for a listing: its sort time, its row, and the
/// conversation when it could be read. Shared by [`ConversationStore::list`] and
/// [`ConversationStore::index`] so a file gets the same row, time and problem in both.
fn read_row(
    id: &str,
    path: PathBuf,
) -> (
    Option<DateTime<FixedOffset>>,
    ListEntry,
    Option<Conversation>,
) {
    match read_conversation(&path) {
        Ok(c) => {
            let time = DateTime::parse_from_rfc3339(&c.updated_at)
                .ok()
                .or_else(|| modified_time(&path));
            (time, ListEntry::readable(id.to_owned(), path, &c), Some(c))
        }
        Err(e) => {
            let modified = modified_time(&path);
            let entry = ListEntry {
                id: id.to_owned(),
                path,
                title: String::new(),
                model: None,
                updated_at: time_text(modified),
                message_count: 0,
                cost: None,
                problem: Some(e.problem()),
            };
            (modified, entry, None)
        }
    }
}

/// A conversation file as the list reads it: the same fields and rules as
/// [`Conversation`] (so exactly the same files are readable), but the messages' text is
/// only checked to be text, not kept. Listing a folder with a 40 MB conversation then
/// costs the file's bytes for a moment, not a second copy of the conversation beside
/// the one open (issue 11: the welcome's recent list is read at every start).
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "fields are parsed to check the file, as a load would"
)]
struct ListProbe {
    version: u32,
    id: String,
    title: String,
    created_at: String,
    updated_at: String,
    system_prompt: Option<String>,
    messages: Vec<MessageProbe>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// [`crate::conversation::Message`] with its content checked and dropped.
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "fields are parsed to check the file, as a load would"
)]
struct MessageProbe {
    role: Role,
    content: TextCheck,
    #[serde(default)]
    model: Option<String>,
    created_at: String,
    #[serde(default)]
    usage: Option<crate::conversation::Lossless<crate::conversation::Usage>>,
    #[serde(default)]
    finish: Option<Finish>,
    #[serde(default)]
    error: Option<String>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// A JSON string, checked and not kept.
struct TextCheck;

impl<'de> Deserialize<'de> for TextCheck {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = TextCheck;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<TextCheck, E> {
                Ok(TextCheck)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The list's row for one file (see [`ListProbe`]).
fn list_row(id: &str, path: PathBuf) -> (Option<DateTime<FixedOffset>>, ListEntry) {
    let parsed = read_file(&path)
        .and_then(|bytes| parse_versioned(&path, &bytes, |p: &ListProbe| p.version));
    match parsed {
        Ok(probe) => {
            let time = DateTime::parse_from_rfc3339(&probe.updated_at)
                .ok()
                .or_else(|| modified_time(&path));
            let model = probe
                .messages
                .iter()
                .rev()
                .find(|m| m.role == Role::Assistant)
                .and_then(|m| m.model.clone());
            let entry = ListEntry {
                id: id.to_owned(),
                path,
                title: probe.title,
                model,
                updated_at: probe.updated_at,
                message_count: probe.messages.len(),
                cost: total_cost(probe.messages.iter().map(|m| m.usage.as_deref())),
                problem: None,
            };
            (time, entry)
        }
        Err(e) => {
            let modified = modified_time(&path);
            let entry = ListEntry {
                id: id.to_owned(),
                path,
                title: String::new(),
                model: None,
                updated_at: time_text(modified),
                message_count: 0,
                cost: None,
                problem: Some(e.problem()),
            };
            (modified, entry)
        }
    }
}

/// Whether two paths name one file (after symlinks and `..`); unreadable paths differ.
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A file stem that stays inside the folder and is not hidden.
fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && !id.contains("..")
        && !id.contains(['/', '\\', '\0'])
        && !id.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a file that parses is checked through its parsed version; a newer one must
    /// still be refused, not opened.
    #[test]
    fn a_newer_file_that_fits_this_builds_structs_is_refused() {
        let mut conversation = Conversation::new(None);
        conversation.version = FORMAT_VERSION + 1;
        let bytes = to_file_bytes(&conversation).unwrap();
        let error = parse_conversation(Path::new("x.json"), &bytes).unwrap_err();
        assert!(
            matches!(error, StorageError::NewerVersion { version, .. } if version == u64::from(FORMAT_VERSION + 1)),
            "{error:?}"
        );
    }

    /// The list reads a file without keeping its text, yet finds exactly the files a
    /// load finds readable, and the same title, model, time and count.
    #[test]
    fn the_list_agrees_with_a_load_on_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConversationStore::new(dir.path().to_path_buf());
        let good = r#"{"version":1,"id":"a","title":"t","created_at":"c","updated_at":"2026-11-29T14:05:12+01:00","system_prompt":null,"messages":[{"role":"assistant","content":"hi \"there\"","model":"p/m","created_at":"c","finish":"stop","mood":1},{"role":"user","content":"q","created_at":"c"}],"pinned":true}"#;
        let files = [
            ("good", good.to_owned()),
            ("number", good.replace(r#""content":"q""#, r#""content":7"#)),
            ("finish", good.replace(r#""stop""#, r#""done""#)),
            ("no-created", good.replace(r#","created_at":"c"}]"#, "}]")),
            ("newer", good.replace(r#""version":1"#, r#""version":9"#)),
            ("not-json", "{".to_owned()),
        ];
        for (id, text) in &files {
            std::fs::write(dir.path().join(format!("{id}.json")), text).unwrap();
        }
        let listed = store.list();
        assert_eq!(listed.len(), files.len());
        for entry in listed {
            let loaded = read_row(&entry.id, entry.path.clone()).1;
            assert_eq!(entry, loaded, "{}", entry.id);
        }
        let good = store.list().into_iter().find(|e| e.id == "good").unwrap();
        assert_eq!(
            (good.model.as_deref(), good.message_count, good.problem),
            (Some("p/m"), 2, None)
        );
    }

    /// A file that does not parse is still read for its version first, and is corrupt
    /// with the whole parse's error only when the version is not newer.
    #[test]
    fn a_file_that_does_not_parse_reports_its_version_or_the_parse_error() {
        let path = Path::new("x.json");
        for (text, newer) in [
            (r#"{"version": 2, "turns": 1}"#, true),
            (r#"{"version": 1, "id": 7}"#, false),
            (r#"{"version": 1, "version": 1}"#, false),
            ("[1]", false),
            ("not json", false),
        ] {
            let error = parse_conversation(path, text.as_bytes()).unwrap_err();
            let is_newer = matches!(error, StorageError::NewerVersion { .. });
            assert_eq!(is_newer, newer, "{text}: {error:?}");
        }
    }
}
