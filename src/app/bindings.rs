//! The binding table of every context: what F1 lists, what each popup's frame hints,
//! and what the agreement test in `keymap` checks against [`intent`](super::keymap::intent).
//!
//! One table per screen, so a popup's hint line is generated from the rows that do the
//! work and cannot promise a key that does something else.

#[cfg(doc)]
use super::keymap::Intent;
use super::keymap::{Context, Focus};

/// One row of the key table: the keys, where they work, what they do. F1 shows these.
///
/// `keys` is written in a small notation that the agreement test in this file parses, so
/// the help cannot drift from [`intent`]: alternatives are separated by `,` or `/`
/// (`Up/Down, j/k`); a modifier is a prefix (`Ctrl+P`), and `Alt/Shift/Ctrl+Enter` is
/// that key with each of those modifiers; `typing` and `wheel` are not keys, and `any key`
/// is every key the table does not name otherwise. `place` names the contexts the row
/// applies to (see [`contexts`]).
pub struct Binding {
    pub keys: &'static str,
    pub place: &'static str,
    pub action: &'static str,
    /// The context's editor handles these keys itself ([`Intent::Edit`]); the row
    /// documents the editor rather than a binding.
    pub editing: bool,
    /// Where the popup's frame shows this row, and the words it shows (they start with
    /// the row's keys, which the agreement test checks).
    pub hint: Option<Hint>,
}

/// A hint in a popup's frame: on its top border (after the popup's name) or its bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Title(&'static str),
    Bottom(&'static str),
}

/// The main screen's bindings, in the order F1 shows them.
pub const MAIN: &[Binding] = &[
    Binding {
        keys: "Enter",
        place: "input",
        action: "send (empty: continue a cut-off)",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Alt/Shift/Ctrl+Enter, Ctrl+J",
        place: "input",
        action: "new line",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Up/Down",
        place: "input",
        action: "recall prompts (first/last line)",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Esc",
        place: "anywhere",
        action: "stop the reply (its text stays)",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Tab / Shift+Tab",
        place: "anywhere",
        action: "move focus between the panes",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Up/Down, j/k",
        place: "conversation",
        action: "select the previous/next message",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "PgUp/PgDn, wheel",
        place: "anywhere",
        action: "scroll (the sidebar: its models)",
        editing: false,
        hint: None,
    },
    // Space shares a row so that the whole table fits an 80×24 screen.
    Binding {
        keys: "Space, Home/End, g/G",
        place: "conversation",
        action: "page down; top / bottom (follows)",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Up/Down, Enter",
        place: "sidebar",
        action: "choose the model that answers",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "typing",
        place: "sidebar",
        action: "filter the models",
        editing: true,
        hint: None,
    },
    Binding {
        keys: "Ctrl+P",
        place: "anywhere",
        action: "jump to the model filter",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+S",
        place: "anywhere",
        action: "save as .md, .txt or .json",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+O",
        place: "anywhere",
        action: "open a saved conversation",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+N",
        place: "anywhere",
        action: "new conversation",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "y / 1…9",
        place: "conversation",
        action: "copy the message / code block N",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+Y",
        place: "anywhere",
        action: "copy the last reply",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+R",
        place: "anywhere",
        action: "regenerate the last reply",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "c / t",
        place: "conversation",
        action: "continue cut-off / fold thinking",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+X",
        place: "input",
        action: "edit the draft in $EDITOR",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+U, Ctrl+W, Ctrl+Z, Alt+Z",
        place: "input",
        action: "delete to start/word; undo, redo",
        editing: true,
        hint: None,
    },
    Binding {
        keys: "F1 / F2",
        place: "anywhere",
        action: "this help / the system prompt",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+C, Ctrl+Q",
        place: "everywhere",
        action: "quit",
        editing: false,
        hint: None,
    },
];

/// F1: the help takes any key to close.
pub const HELP: &[Binding] = &[Binding {
    keys: "any key",
    place: "help",
    action: "close the help",
    editing: false,
    hint: Some(Hint::Title("any key closes")),
}];

/// Ctrl+S: the path prompt, a one-line editor.
pub const SAVE_AS: &[Binding] = &[
    Binding {
        keys: "Enter",
        place: "save-as",
        action: "write the file (asks before replacing one)",
        editing: false,
        hint: Some(Hint::Title("Enter write")),
    },
    Binding {
        keys: "Esc",
        place: "save-as",
        action: "cancel",
        editing: false,
        hint: Some(Hint::Title("Esc cancel")),
    },
    Binding {
        keys: "Ctrl+U",
        place: "save-as",
        action: "delete to the start (the whole name, from the end)",
        editing: true,
        hint: Some(Hint::Bottom("Ctrl+U clears")),
    },
];

/// Ctrl+S found a file of that name.
pub const REPLACE_FILE: &[Binding] = &[
    Binding {
        keys: "y/Y",
        place: "replace",
        action: "replace the file",
        editing: false,
        hint: Some(Hint::Bottom("y replace")),
    },
    Binding {
        keys: "n/N",
        place: "replace",
        action: "back to the name",
        editing: false,
        hint: Some(Hint::Bottom("n change the name")),
    },
    Binding {
        keys: "Esc",
        place: "replace",
        action: "cancel: nothing is written",
        editing: false,
        hint: Some(Hint::Bottom("Esc cancel")),
    },
];

/// F2: the system prompt, a multi-line editor with the input's new-line keys.
pub const SYSTEM_PROMPT: &[Binding] = &[
    Binding {
        keys: "Enter",
        place: "system prompt",
        action: "keep it for this conversation",
        editing: false,
        hint: Some(Hint::Title("Enter save")),
    },
    Binding {
        keys: "Esc",
        place: "system prompt",
        action: "cancel",
        editing: false,
        hint: Some(Hint::Title("Esc cancel")),
    },
    Binding {
        keys: "Alt/Shift/Ctrl+Enter, Ctrl+J",
        place: "system prompt",
        action: "new line",
        editing: false,
        hint: Some(Hint::Bottom("Alt+Enter new line")),
    },
];

/// Leaving a conversation whose autosave failed.
pub const LEAVE: &[Binding] = &[
    Binding {
        keys: "s/S",
        place: "not saved",
        action: "save it to a file first",
        editing: false,
        hint: Some(Hint::Bottom("s save to a file")),
    },
    Binding {
        keys: "y/Y",
        place: "not saved",
        action: "discard it and go on",
        editing: false,
        hint: Some(Hint::Bottom("y discard")),
    },
    Binding {
        keys: "n/N, Esc",
        place: "not saved",
        action: "stay",
        editing: false,
        hint: Some(Hint::Bottom("n/Esc stay")),
    },
];

/// Ctrl+O: the conversation browser, its search line and its list.
pub const BROWSER: &[Binding] = &[
    Binding {
        keys: "Enter",
        place: "browser",
        action: "open the conversation",
        editing: false,
        hint: Some(Hint::Title("Enter open")),
    },
    Binding {
        keys: "Tab / Shift+Tab",
        place: "browser",
        action: "switch between the search and the list",
        editing: false,
        hint: Some(Hint::Title("Tab list/search")),
    },
    Binding {
        keys: "Esc",
        place: "browser",
        action: "close",
        editing: false,
        hint: Some(Hint::Title("Esc close")),
    },
    Binding {
        keys: "Up/Down, PgUp/PgDn",
        place: "browser",
        action: "move the highlight",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Ctrl+D",
        place: "search",
        action: "delete the conversation (asks first)",
        editing: false,
        hint: Some(Hint::Bottom("Ctrl+D delete")),
    },
    Binding {
        keys: "Ctrl+R",
        place: "search",
        action: "rename the conversation",
        editing: false,
        hint: Some(Hint::Bottom("Ctrl+R rename")),
    },
    Binding {
        keys: "typing",
        place: "browser",
        action: "search titles and text",
        editing: true,
        hint: None,
    },
    Binding {
        keys: "d, Delete, Ctrl+D",
        place: "list",
        action: "delete the conversation (asks first)",
        editing: false,
        hint: Some(Hint::Bottom("d delete")),
    },
    Binding {
        keys: "r, Ctrl+R",
        place: "list",
        action: "rename the conversation",
        editing: false,
        hint: Some(Hint::Bottom("r rename")),
    },
    Binding {
        keys: "j/k",
        place: "list",
        action: "move the highlight",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "/",
        place: "list",
        action: "back to the search",
        editing: false,
        hint: Some(Hint::Bottom("/ search")),
    },
];

/// "Delete …? (y/n)".
pub const BROWSER_DELETE: &[Binding] = &[
    Binding {
        keys: "y/Y",
        place: "delete?",
        action: "delete the file",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "any key",
        place: "delete?",
        action: "keep it",
        editing: false,
        hint: None,
    },
];

/// A new title for the highlighted conversation.
pub const BROWSER_RENAME: &[Binding] = &[
    Binding {
        keys: "Enter",
        place: "rename",
        action: "keep the new title",
        editing: false,
        hint: None,
    },
    Binding {
        keys: "Esc",
        place: "rename",
        action: "keep the old title",
        editing: false,
        hint: None,
    },
];

/// The table that documents `context`.
pub fn table(context: Context) -> &'static [Binding] {
    match context {
        Context::Main(_) => MAIN,
        Context::Help => HELP,
        Context::SaveAs => SAVE_AS,
        Context::ReplaceFile => REPLACE_FILE,
        Context::SystemPrompt => SYSTEM_PROMPT,
        Context::Leave => LEAVE,
        Context::BrowserSearch | Context::BrowserList => BROWSER,
        Context::BrowserDelete => BROWSER_DELETE,
        Context::BrowserRename => BROWSER_RENAME,
    }
}

/// The contexts a row's `place` names; empty for a name no table uses.
pub fn contexts(place: &str) -> Vec<Context> {
    match place {
        "anywhere" => vec![
            Context::Main(Focus::Input),
            Context::Main(Focus::Conversation),
            Context::Main(Focus::Sidebar),
        ],
        // Popups included: quitting works from every screen.
        "everywhere" => Context::ALL.to_vec(),
        "input" => vec![Context::Main(Focus::Input)],
        "conversation" => vec![Context::Main(Focus::Conversation)],
        "sidebar" => vec![Context::Main(Focus::Sidebar)],
        "help" => vec![Context::Help],
        "save-as" => vec![Context::SaveAs],
        "replace" => vec![Context::ReplaceFile],
        "system prompt" => vec![Context::SystemPrompt],
        "not saved" => vec![Context::Leave],
        "browser" => vec![Context::BrowserSearch, Context::BrowserList],
        "search" => vec![Context::BrowserSearch],
        "list" => vec![Context::BrowserList],
        "delete?" => vec![Context::BrowserDelete],
        "rename" => vec![Context::BrowserRename],
        _ => Vec::new(),
    }
}

/// Which border of a popup a hint line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Title,
    Bottom,
}

/// The hints of `context`'s rows for one border, joined with ` · ` (empty: none).
pub fn hints(context: Context, slot: Slot) -> String {
    let mut words = Vec::new();
    for row in table(context) {
        if !contexts(row.place).contains(&context) {
            continue;
        }
        match (row.hint, slot) {
            (Some(Hint::Title(text)), Slot::Title) | (Some(Hint::Bottom(text)), Slot::Bottom) => {
                words.push(text);
            }
            _ => {}
        }
    }
    words.join(" · ")
}
