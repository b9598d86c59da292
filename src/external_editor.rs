//! Editing the draft in `$VISUAL`/`$EDITOR` (Ctrl+X): the terminal is handed over to the
//! editor and taken back, and what it wrote becomes the draft.
//!
//! Owned by the runtime, which calls [`edit`] for `Effect::EditExternally` and hands
//! the result to the app as `Msg::EditorDone`. What the editor wrote but the input
//! cannot hold is never thrown away: its file is kept and the error says where.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

use crate::app::typing::MAX_DRAFT_BYTES;
use crate::terminal::{TerminalGuard, Tui};
use crate::user_file::{Limit, read_user_file};

/// The most an edited draft may hold, as the input does (`app::typing`).
const EDITED_DRAFT: Limit = Limit {
    bytes: MAX_DRAFT_BYTES as u64,
    what: "a draft",
};

/// Why the draft did not come back from the editor. `Display` is the status line.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    #[error("cannot create a file for the editor: {0}")]
    CreateFile(#[source] io::Error),
    #[error("cannot write the draft: {0}")]
    WriteDraft(#[source] io::Error),
    #[error("cannot take the terminal back: {0}")]
    Resume(#[source] io::Error),
    /// The editor wrote something the input cannot hold (too large, not UTF-8); the
    /// file stays where `kept` says.
    #[error("the edited draft was not taken: {why}; your text is kept in {}", kept.display())]
    NotTaken { why: String, kept: PathBuf },
    /// As [`EditorError::NotTaken`], and keeping the file failed too.
    #[error("the edited draft was not taken: {why} ({keep_error})")]
    NotKept { why: String, keep_error: String },
    #[error("{editor} exited with {status}; the draft is unchanged")]
    Failed { editor: String, status: ExitStatus },
    #[error("cannot run the editor `{editor}`: {source} (set $EDITOR)")]
    Run {
        editor: String,
        #[source]
        source: io::Error,
    },
}

/// The editor command: `$VISUAL`, else `$EDITOR`, else `vi`. An empty `$VISUAL` (set to
/// turn it off) falls through to `$EDITOR`.
fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned())
}

/// Runs the editor on `draft` with the terminal handed over, and returns what it wrote.
pub fn edit(
    draft: &str,
    guard: &mut TerminalGuard,
    terminal: &mut Tui,
) -> Result<String, EditorError> {
    let editor = editor_command();
    let file = tempfile::Builder::new()
        .prefix("tinychat-draft-")
        .suffix(".md")
        .tempfile()
        .map_err(EditorError::CreateFile)?;
    std::fs::write(file.path(), draft).map_err(EditorError::WriteDraft)?;
    guard.suspend();
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(words)
        .arg(file.path())
        .status();
    guard.resume(terminal).map_err(EditorError::Resume)?;
    match status {
        Ok(s) if s.success() => {
            let text = read_user_file(file.path(), EDITED_DRAFT)
                .map_err(|e| e.reason())
                .and_then(|bytes| String::from_utf8(bytes).map_err(|e| e.to_string()));
            // What cannot become the draft is the user's work all the same: the file
            // stays, and the message says where.
            text.map_err(|why| match file.keep() {
                Ok((_, kept)) => EditorError::NotTaken { why, kept },
                Err(e) => EditorError::NotKept {
                    why,
                    keep_error: e.to_string(),
                },
            })
        }
        Ok(status) => Err(EditorError::Failed { editor, status }),
        Err(source) => Err(EditorError::Run { editor, source }),
    }
}
