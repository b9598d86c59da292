//! The conversation browser's data (Ctrl+O): every saved conversation with its full
//! text, a case-insensitive search over it with a snippet per hit, and renaming and
//! deleting conversation files.
//!
//! Owns: building [`IndexEntry`] values from the folder (each file read once), [`search`],
//! [`ConversationStore::rename`] and [`ConversationStore::delete`]. It must not touch the
//! terminal, spawn threads or keep state between calls: the UI runs
//! [`ConversationStore::index`] in a blocking task, keeps the entries, and calls
//! [`search`] on them at every keystroke.
//!
//! Decisions:
//! - What is searched: the title and the content of every message. The system prompt,
//!   models, timestamps and ids are not (an id is matched only for an entry with a
//!   `problem`, which has no title or text: that is how a broken file is found to be
//!   deleted).
//! - Matching is a case-insensitive substring match with Unicode simple case folding
//!   (`ÇA` finds `ça`, `straße` finds `STRAẞE`, but `STRASSE` does not find `straße`:
//!   that needs full folding). Whitespace in the query is flexible: leading and trailing
//!   whitespace is ignored and each inner run matches any run of whitespace, so
//!   `hello world` finds `hello\n  world` (snippets collapse whitespace the same way). A
//!   match never spans two messages.
//! - Snippets come from the first matching message: about [`SNIPPET_BEFORE`] characters
//!   before the match and [`SNIPPET_AFTER`] after it (a run of whitespace counts as one),
//!   cut at char boundaries within that message, whitespace collapsed to single spaces,
//!   `…` where text was cut. A match in the title only gives no snippet (the browser
//!   shows the title anyway); when the body matches too, the snippet shows the body.
//! - Speed: one copy of the text per entry, in its original case, searched with one
//!   compiled `regex` per query. The regex engine's literal prefilters make a query that
//!   matches nowhere a scan at memory speed; see `benches/search.rs` for the figures.
//! - Renaming keeps `updated_at` unchanged, so renaming does not move a conversation to
//!   the top of the newest-first list; the file is otherwise rewritten as read (unknown
//!   fields, key order, replies saved mid-stream untouched).

use std::fs;
use std::io;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::atomic::{Visibility, write_atomic};
use super::seen::Stamp;
use super::{
    ConversationStore, HasId, IoAction, ListEntry, StorageError, corrupt, parse_conversation,
    read_file, read_row, to_file_bytes,
};
use crate::conversation::{Conversation, UNTITLED};

/// Characters of context kept before a match in a snippet.
pub const SNIPPET_BEFORE: usize = 30;
/// Characters of context kept after a match in a snippet.
pub const SNIPPET_AFTER: usize = 50;

/// Separates messages in an entry's text. A control character that is not whitespace
/// (so no query whitespace matches it) and never typed: a match cannot span messages.
const SEPARATOR: char = '\u{1e}';

/// One saved conversation as the browser shows and searches it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// The file stem, which is what `--open` and [`ConversationStore::load`] accept.
    pub id: String,
    pub path: PathBuf,
    /// Empty when the file could not be read.
    pub title: String,
    /// `provider/model` of the last reply.
    pub model: Option<String>,
    /// The file's `updated_at`, or its modification time (RFC 3339) when unreadable.
    pub updated_at: String,
    pub message_count: usize,
    /// What its replies cost in US dollars, when known.
    pub cost: Option<f64>,
    /// Why the file could not be read (like [`super::ListEntry::problem`]); such an
    /// entry has no text and is still listed, so it can be deleted.
    pub problem: Option<String>,
    /// Every message's content in its original case, joined by [`SEPARATOR`]. The only
    /// copy of the text: snippets are cut from it with the match's offsets.
    text: String,
}

impl IndexEntry {
    /// The entry of a conversation in memory (benches, tests, or the UI's own open
    /// conversation); its id is the conversation's.
    pub fn from_conversation(conversation: &Conversation, path: PathBuf) -> Self {
        let row = ListEntry::readable(conversation.id.clone(), path, conversation);
        Self::from_row(row, joined_text(conversation))
    }

    /// A listing row with its searchable text (empty for a file with a problem).
    fn from_row(row: ListEntry, text: String) -> Self {
        let ListEntry {
            id,
            path,
            title,
            model,
            updated_at,
            message_count,
            cost,
            problem,
        } = row;
        IndexEntry {
            id,
            path,
            title,
            model,
            updated_at,
            message_count,
            cost,
            problem,
            text,
        }
    }
}

impl HasId for IndexEntry {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The messages' content joined by [`SEPARATOR`], allocated once at its exact size.
fn joined_text(conversation: &Conversation) -> String {
    let len = conversation
        .messages
        .iter()
        .map(|m| m.content.len() + SEPARATOR.len_utf8())
        .sum();
    let mut text = String::with_capacity(len);
    for (i, message) in conversation.messages.iter().enumerate() {
        if i > 0 {
            text.push(SEPARATOR);
        }
        if message.content.contains(SEPARATOR) {
            // Would let a match or a snippet cross into the next message.
            text.push_str(&message.content.replace(SEPARATOR, " "));
        } else {
            text.push_str(&message.content);
        }
    }
    text
}

impl ConversationStore {
    /// Every conversation with its full text, newest first (the order and skipped files
    /// of [`ConversationStore::list`]); unreadable files are entries with `problem` set.
    /// Reads each file once. Blocking file I/O for the whole folder: the UI runs it on a
    /// blocking thread so it never waits for it.
    pub fn index(&self) -> Vec<IndexEntry> {
        self.scan(index_entry)
    }

    /// Sets a conversation's title in its file: the file is read, checked like
    /// [`ConversationStore::load`] (a corrupt or newer file is refused, never
    /// rewritten), its `title` replaced and the file written back atomically. Everything
    /// else is kept as read, including `updated_at`, so a rename does not reorder the
    /// list. The title's whitespace runs become single spaces; a blank title becomes
    /// [`UNTITLED`].
    ///
    /// A conversation that is open elsewhere and saved later gets the title that save
    /// carries: the caller updates its own copy too.
    pub fn rename(&self, id: &str, title: &str) -> Result<(), StorageError> {
        let path = self.path_for(id)?;
        // Read and written back under the folder lock, so a save from another window
        // cannot land in between and be replaced by the older text read here.
        if !self.dir().is_dir() {
            return Err(StorageError::NotFound {
                what: id.to_owned(),
            });
        }
        let mut seen = self.seen();
        let _lock = self.lock_folder();
        let before = Stamp::at(&path).ok().flatten();
        let bytes = match read_file(&path) {
            Ok(bytes) => bytes,
            Err(StorageError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound {
                    what: id.to_owned(),
                });
            }
            Err(e) => return Err(e),
        };
        parse_conversation(&path, &bytes)?;
        // Rewritten from the JSON value, not the struct: key order, unknown fields and
        // replies saved mid-stream stay exactly as they were.
        let mut value: Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(&path, &e))?;
        if let Value::Object(fields) = &mut value {
            fields.insert("title".to_owned(), Value::String(clean_title(title)));
        }
        write_atomic(&path, &to_file_bytes(&value)?, Visibility::Private)?;
        // A file this store had read or written is still its version after the rename.
        if before.is_some() && seen.files.get(id) == before.as_ref() {
            match Stamp::at(&path) {
                Ok(Some(stamp)) => {
                    seen.files.insert(id.to_owned(), stamp);
                }
                _ => {
                    seen.files.remove(id);
                }
            }
        }
        Ok(())
    }

    /// Deletes a conversation's file. A missing file is [`StorageError::NotFound`];
    /// an id that would escape the folder is [`StorageError::InvalidId`].
    pub fn delete(&self, id: &str) -> Result<(), StorageError> {
        let path = self.path_for(id)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::NotFound {
                what: id.to_owned(),
            }),
            Err(source) => Err(StorageError::Io {
                action: IoAction::Delete,
                path,
                source,
            }),
        }
    }
}

/// A title as typed in the rename box, made one line.
fn clean_title(title: &str) -> String {
    let flat = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        UNTITLED.to_owned()
    } else {
        flat
    }
}

fn index_entry(id: &str, path: PathBuf) -> (Option<DateTime<FixedOffset>>, IndexEntry) {
    let (time, row, conversation) = read_row(id, path);
    let text = conversation.as_ref().map_or_else(String::new, joined_text);
    (time, IndexEntry::from_row(row, text))
}

/// A search result: which entry, and the snippet around the first match in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// Index into the `entries` given to [`search`].
    pub entry: usize,
    /// The first matching message around the match (see the module doc); `None` when
    /// only the title (or, for a broken file, the id) matched, or the query is blank.
    pub snippet: Option<String>,
}

/// Case-insensitive substring search over titles and full text, in entry order (newest
/// first from [`ConversationStore::index`]). A blank query returns every entry with no
/// snippet. Matching and snippet rules are in the module doc.
pub fn search(entries: &[IndexEntry], query: &str) -> Vec<SearchHit> {
    let Some(pattern) = pattern(query) else {
        return (0..entries.len())
            .map(|entry| SearchHit {
                entry,
                snippet: None,
            })
            .collect();
    };
    let regex = match RegexBuilder::new(&pattern)
        .case_insensitive(true)
        .unicode(true)
        .build()
    {
        Ok(regex) => regex,
        Err(e) => {
            // Only a query too large for the regex size limit gets here (the pattern is
            // escaped): nothing can match it in practice.
            tracing::debug!(error = %e, "search query not compiled");
            return Vec::new();
        }
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| hit(&regex, entry).map(|snippet| SearchHit { entry: i, snippet }))
        .collect()
}

/// The regex for `query`: its words escaped and joined by `\s+`; `None` when blank.
fn pattern(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split(|c: char| c.is_whitespace() || c == SEPARATOR)
        .filter(|w| !w.is_empty())
        .map(regex::escape)
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(r"\s+"))
    }
}

/// `Some(snippet)` when `entry` matches: the body's snippet, or `None` for a title (or
/// broken file's id) match.
#[allow(
    clippy::option_option,
    reason = "outer: does it match; inner: is there a snippet"
)]
fn hit(regex: &Regex, entry: &IndexEntry) -> Option<Option<String>> {
    if let Some(m) = regex.find(&entry.text) {
        return Some(Some(snippet(&entry.text, m.start(), m.end())));
    }
    if regex.is_match(&entry.title) || (entry.problem.is_some() && regex.is_match(&entry.id)) {
        return Some(None);
    }
    None
}

/// The snippet around `text[start..end]`, within the message holding it.
fn snippet(text: &str, start: usize, end: usize) -> String {
    let message_start = text[..start].rfind(SEPARATOR).map_or(0, |i| i + 1);
    let message_end = text[end..].find(SEPARATOR).map_or(text.len(), |i| end + i);
    let from = message_start + tail_start(&text[message_start..start], SNIPPET_BEFORE);
    let to = end + head_end(&text[end..message_end], SNIPPET_AFTER);

    let mut out = String::with_capacity(to - from + 8);
    if !text[message_start..from].trim_end().is_empty() {
        out.push('…');
    }
    for (i, word) in text[from..to].split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    if !text[to..message_end].trim_start().is_empty() {
        out.push('…');
    }
    out
}

/// Where the last `budget` characters of `s` start (a whitespace run counts as one).
fn tail_start(s: &str, budget: usize) -> usize {
    walk(s.char_indices().rev(), budget, s.len(), |i, _| i)
}

/// Where the first `budget` characters of `s` end (a whitespace run counts as one).
fn head_end(s: &str, budget: usize) -> usize {
    walk(s.char_indices(), budget, 0, |i, c| i + c.len_utf8())
}

/// Walks `chars` (forwards or backwards) for `budget` characters, a whitespace run
/// counting as one, and returns the byte offset `edge` gives past the last one kept
/// (`start` when none is). One walk for both ends keeps the two budgets counting alike.
fn walk(
    chars: impl Iterator<Item = (usize, char)>,
    budget: usize,
    start: usize,
    edge: impl Fn(usize, char) -> usize,
) -> usize {
    let mut units = 0;
    let mut after_space = false;
    let mut cut = start;
    for (i, c) in chars {
        let space = c.is_whitespace();
        if !(space && after_space) {
            units += 1;
            if units > budget {
                break;
            }
        }
        after_space = space;
        cut = edge(i, c);
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn budgets_count_whitespace_runs_once() {
        assert_eq!(tail_start("ab  \n cd", 3), 2);
        assert_eq!(tail_start("abc", 5), 0);
        assert_eq!(head_end("ab  \n cd", 3), 6);
        assert_eq!(head_end("éé", 1), 2);
    }

    #[test]
    fn query_words_are_escaped_and_joined_by_whitespace() {
        assert_eq!(pattern("  a.b   c "), Some(r"a\.b\s+c".to_owned()));
        assert_eq!(pattern(" \t "), None);
    }
}
