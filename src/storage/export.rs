//! Saving a conversation to a file the user names: Markdown, plain text or the
//! conversation JSON itself (spec §3 "Exports").
//!
//! Owns the exact bytes of each format and the resolution of the user's path (`~/`,
//! relative paths). It must not create folders (a typo must not grow a tree of new
//! folders), must not write anything but the conversation's own fields (never a key),
//! and must not import ratatui or reqwest: `tinychat export` uses it with no UI.
//!
//! Decisions, each pinned by a test in `tests/storage.rs`:
//! - Every message is exported, in order, with its content verbatim (no trimming, no
//!   escaping). A cancelled, errored or incomplete reply exports its partial text; an
//!   errored reply with no text exports as empty content. How a reply ended (`finish`,
//!   `error`), token usage and the system prompt appear only in the JSON export.
//! - Markdown: `# <title>\n\n`, then per message a heading line (`## You`,
//!   `## Assistant (<provider>/<model>)`, or `## Assistant` when the model is unknown),
//!   a blank line, the content, a line end and a blank line. Every message block thus
//!   ends in `"\n\n"`, including the last one.
//! - Text: `You: <content>` / `LLM: <content>` blocks joined by one blank line, then a
//!   single `\n` at the end. A conversation with no messages is an empty text file.
//! - JSON: byte for byte the conversation file the store writes.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use directories::BaseDirs;

pub use super::atomic::Replace;
use super::atomic::{Visibility, write};
use super::error::{IoAction, StorageError};
use super::to_file_bytes;
use crate::conversation::{Conversation, Role};

/// The three export formats of spec §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Markdown,
    Text,
    Json,
}

impl ExportFormat {
    /// The names `--format` accepts, for help and error text.
    pub const NAMES: &'static [&'static str] = &["md", "txt", "json"];

    /// The format a file name asks for: `.md`/`.markdown`, `.txt`, `.json`, in any case.
    pub fn from_extension(path: &Path) -> Option<Self> {
        Self::parse(path.extension()?.to_str()?)
    }

    /// A `--format` value: `md`, `txt` or `json` (also `markdown` and `text`), any case.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(ExportFormat::Markdown),
            "txt" | "text" => Some(ExportFormat::Text),
            "json" => Some(ExportFormat::Json),
            _ => None,
        }
    }

    /// The usual extension, for suggesting a file name.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Markdown => "md",
            ExportFormat::Text => "txt",
            ExportFormat::Json => "json",
        }
    }
}

/// The whole export as text, byte for byte as described in the module doc. Only JSON
/// can fail (see [`StorageError::Encode`]); Markdown and text never do.
pub fn render(conversation: &Conversation, format: ExportFormat) -> Result<String, StorageError> {
    Ok(match format {
        ExportFormat::Markdown => render_markdown(conversation),
        ExportFormat::Text => render_text(conversation),
        ExportFormat::Json => {
            let bytes = to_file_bytes(conversation)?;
            // serde_json writes UTF-8 only; a failure here would be a serde_json bug.
            String::from_utf8(bytes).map_err(|e| StorageError::Encode {
                source: serde::ser::Error::custom(e),
            })?
        }
    })
}

fn render_markdown(conversation: &Conversation) -> String {
    let mut out = format!("# {}\n\n", conversation.title);
    for message in &conversation.messages {
        match (message.role, &message.model) {
            (Role::User, _) => out.push_str("## You"),
            (Role::Assistant, Some(model)) => {
                out.push_str("## Assistant (");
                out.push_str(model);
                out.push(')');
            }
            (Role::Assistant, None) => out.push_str("## Assistant"),
        }
        out.push_str("\n\n");
        if let Some(thinking) = message
            .reasoning
            .as_deref()
            .filter(|r| !r.trim().is_empty())
        {
            // A blank line after the summary, so Markdown inside renders as Markdown.
            out.push_str("<details><summary>Thinking</summary>\n\n");
            out.push_str(thinking.trim_end());
            out.push_str("\n\n</details>\n\n");
        }
        out.push_str(&message.content);
        out.push_str("\n\n");
    }
    out
}

fn render_text(conversation: &Conversation) -> String {
    let mut out = String::new();
    for (i, message) in conversation.messages.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(match message.role {
            Role::User => "You: ",
            Role::Assistant => "LLM: ",
        });
        out.push_str(&message.content);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Writes the conversation to `path` and returns the absolute path written.
///
/// The format is `format` if given, else the extension's. `~/` is the home folder and a
/// relative path is taken from the current folder. The folder must already exist. The
/// file is replaced atomically (temporary file in the same folder, fsync, rename), so an
/// existing export is either fully replaced or left as it was, and it gets the usual
/// permissions for a new file (0666 minus the umask), unlike conversation files.
pub fn export_to_file(
    conversation: &Conversation,
    path: &Path,
    format: Option<ExportFormat>,
) -> Result<PathBuf, StorageError> {
    export_to_file_with(conversation, path, format, Replace::Yes)
}

/// [`export_to_file`], which with [`Replace::No`] writes only a new file: an existing
/// one is [`StorageError::Exists`] (with the absolute path), untouched, so the UI can
/// ask before replacing it.
pub fn export_to_file_with(
    conversation: &Conversation,
    path: &Path,
    format: Option<ExportFormat>,
    replace: Replace,
) -> Result<PathBuf, StorageError> {
    let path = resolve_user_path(path)?;
    let format = match format {
        Some(format) => format,
        None => match path.extension() {
            Some(ext) => ExportFormat::from_extension(&path).ok_or_else(|| {
                StorageError::UnknownFileType {
                    extension: ext.to_string_lossy().into_owned(),
                }
            })?,
            None => return Err(StorageError::NoFileType { path }),
        },
    };
    if path.is_dir() {
        return Err(StorageError::IsAFolder { path });
    }
    let Some(folder) = path.parent().map(Path::to_path_buf) else {
        return Err(StorageError::IsAFolder { path });
    };
    match fs::metadata(&folder) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(StorageError::NotAFolder { path, folder }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StorageError::MissingFolder { path, folder });
        }
        Err(source) => {
            return Err(StorageError::Io {
                action: IoAction::Write,
                path,
                source,
            });
        }
    }
    let text = render(conversation, format)?;
    write(&path, text.as_bytes(), Visibility::Shared, replace)?;
    Ok(path)
}

/// A path as the user typed it, made absolute: `~` and `~/…` start at the home folder
/// (`~user` is not expanded), and a relative path starts at the current folder. `..`
/// is kept as typed, not resolved, so symlinked folders behave as in a shell.
pub fn resolve_user_path(path: &Path) -> Result<PathBuf, StorageError> {
    let mut components = path.components();
    let expanded = match components.next() {
        Some(Component::Normal(first)) if first == "~" => {
            let home = BaseDirs::new()
                .map(|dirs| dirs.home_dir().to_path_buf())
                .ok_or_else(|| StorageError::NoHome {
                    path: path.to_path_buf(),
                })?;
            home.join(components.as_path())
        }
        _ => path.to_path_buf(),
    };
    // `absolute` only fails for an empty path or an unreadable current folder; the
    // relative path still works for the file operations that follow, and those report
    // their own error with the path.
    Ok(std::path::absolute(&expanded).unwrap_or(expanded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn format_follows_the_extension_in_any_case() {
        assert_eq!(
            ExportFormat::from_extension(Path::new("a/b.MD")),
            Some(ExportFormat::Markdown)
        );
        assert_eq!(
            ExportFormat::from_extension(Path::new("b.markdown")),
            Some(ExportFormat::Markdown)
        );
        assert_eq!(
            ExportFormat::from_extension(Path::new("b.Txt")),
            Some(ExportFormat::Text)
        );
        assert_eq!(
            ExportFormat::from_extension(Path::new("b.json")),
            Some(ExportFormat::Json)
        );
        assert_eq!(ExportFormat::from_extension(Path::new("b.xyz")), None);
        assert_eq!(ExportFormat::from_extension(Path::new("b")), None);
        assert_eq!(ExportFormat::parse("JSON"), Some(ExportFormat::Json));
        assert_eq!(ExportFormat::parse("html"), None);
    }

    #[test]
    fn tilde_means_the_home_folder_and_relative_paths_become_absolute() {
        let home = BaseDirs::new().unwrap().home_dir().to_path_buf();
        assert_eq!(
            resolve_user_path(Path::new("~/notes/a.md")).unwrap(),
            home.join("notes/a.md")
        );
        assert_eq!(resolve_user_path(Path::new("~")).unwrap(), home);
        let rel = resolve_user_path(Path::new("a.md")).unwrap();
        assert_eq!(rel, std::env::current_dir().unwrap().join("a.md"));
        assert_eq!(
            resolve_user_path(Path::new("~user/a.md")).unwrap(),
            std::env::current_dir().unwrap().join("~user/a.md")
        );
    }
}
