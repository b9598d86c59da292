//! Keys to intents: what the user wants, decided from the key and where the focus is.
//!
//! Pure and table-driven so key tests need no `App`, and so the F1 help is generated from
//! the same table ([`BINDINGS`]) that documents the behaviour here (spec §6). Keys that
//! are not bindings fall through to the focused editor as [`Intent::Edit`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Which part of the screen receives keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Input,
    Conversation,
    Sidebar,
}

impl Focus {
    /// Tab order: input → conversation → sidebar (spec §6).
    pub fn next(self) -> Focus {
        match self {
            Focus::Input => Focus::Conversation,
            Focus::Conversation => Focus::Sidebar,
            Focus::Sidebar => Focus::Input,
        }
    }

    pub fn prev(self) -> Focus {
        match self {
            Focus::Input => Focus::Sidebar,
            Focus::Conversation => Focus::Input,
            Focus::Sidebar => Focus::Conversation,
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Send,
    Newline,
    /// Esc: stop the reply, close a popup, or leave the sidebar filter.
    Stop,
    FocusNext,
    FocusPrev,
    /// Move the selection up (conversation: previous message; sidebar: previous model).
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter in the sidebar: pick the highlighted model.
    Pick,
    JumpToFilter,
    SaveAs,
    /// Ctrl+O: the conversation browser.
    Open,
    New,
    Regenerate,
    /// `y` in the conversation: copy the selected message (the last one if none is).
    CopyMessage,
    /// `1`…`9` in the conversation: copy that code block of the selected message.
    CopyCodeBlock(u8),
    /// Ctrl+Y: copy the last reply, as much as has arrived.
    CopyLastReply,
    ExternalEditor,
    EditSystemPrompt,
    Help,
    Quit,
    /// Not a binding: the focused editor (input, filter, prompt) handles the key.
    Edit,
}

/// One row of the key table: the keys, where they work, what they do. F1 shows these.
pub struct Binding {
    pub keys: &'static str,
    pub place: &'static str,
    pub action: &'static str,
}

/// Every binding, in the order the help shows them.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "Enter",
        place: "input",
        action: "send the message",
    },
    Binding {
        keys: "Alt+Enter, Ctrl+J, Shift+Enter",
        place: "input",
        action: "new line",
    },
    Binding {
        keys: "Esc",
        place: "anywhere",
        action: "stop the reply (the partial reply stays)",
    },
    Binding {
        keys: "Tab / Shift+Tab",
        place: "anywhere",
        action: "move focus: input → conversation → sidebar",
    },
    Binding {
        keys: "Up/Down, j/k",
        place: "conversation",
        action: "select the previous/next message",
    },
    Binding {
        keys: "PgUp/PgDn, wheel",
        place: "anywhere",
        action: "scroll the conversation",
    },
    Binding {
        keys: "Home/End",
        place: "conversation",
        action: "top / bottom; the bottom follows the reply again",
    },
    Binding {
        keys: "Up/Down, Enter",
        place: "sidebar",
        action: "choose the model for the next message",
    },
    Binding {
        keys: "typing",
        place: "sidebar",
        action: "filter the models",
    },
    Binding {
        keys: "Ctrl+P",
        place: "anywhere",
        action: "jump to the model filter",
    },
    Binding {
        keys: "Ctrl+S",
        place: "anywhere",
        action: "save the conversation to a file (.md, .txt, .json)",
    },
    Binding {
        keys: "Ctrl+O",
        place: "anywhere",
        action: "open a saved conversation (type to search, d deletes, r renames)",
    },
    Binding {
        keys: "Ctrl+N",
        place: "anywhere",
        action: "new conversation",
    },
    Binding {
        keys: "y / 1…9",
        place: "conversation",
        action: "copy the selected message / its code block N (no selection: the last message)",
    },
    Binding {
        keys: "Ctrl+Y",
        place: "anywhere",
        action: "copy the last reply (while it streams: what has arrived)",
    },
    Binding {
        keys: "Ctrl+R",
        place: "anywhere",
        action: "regenerate the last reply",
    },
    Binding {
        keys: "Ctrl+X",
        place: "input",
        action: "edit the draft in $EDITOR",
    },
    Binding {
        keys: "Ctrl+U / Ctrl+W",
        place: "input",
        action: "delete to line start / previous word",
    },
    Binding {
        keys: "Ctrl+Z / Alt+Z",
        place: "input",
        action: "undo / redo",
    },
    Binding {
        keys: "F2",
        place: "anywhere",
        action: "edit this conversation's system prompt",
    },
    Binding {
        keys: "F1",
        place: "anywhere",
        action: "this help",
    },
    Binding {
        keys: "Ctrl+C, Ctrl+Q",
        place: "anywhere",
        action: "quit",
    },
];

/// The intent of `key` with `focus`, before any popup is considered.
pub fn intent(focus: Focus, key: &KeyEvent) -> Intent {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    // Global bindings first.
    match key.code {
        KeyCode::Char('c' | 'q') if ctrl => return Intent::Quit,
        KeyCode::Char('s') if ctrl => return Intent::SaveAs,
        KeyCode::Char('n') if ctrl => return Intent::New,
        KeyCode::Char('o') if ctrl => return Intent::Open,
        KeyCode::Char('p') if ctrl => return Intent::JumpToFilter,
        KeyCode::Char('r') if ctrl => return Intent::Regenerate,
        KeyCode::Char('y') if ctrl => return Intent::CopyLastReply,
        KeyCode::F(1) => return Intent::Help,
        KeyCode::F(2) => return Intent::EditSystemPrompt,
        KeyCode::Esc => return Intent::Stop,
        KeyCode::Tab if !ctrl && !alt => return Intent::FocusNext,
        KeyCode::BackTab => return Intent::FocusPrev,
        _ => {}
    }
    match focus {
        Focus::Input => match key.code {
            KeyCode::Enter if alt || shift || ctrl => Intent::Newline,
            KeyCode::Enter => Intent::Send,
            KeyCode::Char('j') if ctrl => Intent::Newline,
            KeyCode::Char('x') if ctrl => Intent::ExternalEditor,
            // Paging reads the conversation while typing; the input rarely needs it.
            KeyCode::PageUp => Intent::PageUp,
            KeyCode::PageDown => Intent::PageDown,
            _ => Intent::Edit,
        },
        Focus::Conversation => match key.code {
            KeyCode::Up | KeyCode::Char('k') => Intent::Up,
            KeyCode::Down | KeyCode::Char('j') => Intent::Down,
            KeyCode::PageUp => Intent::PageUp,
            KeyCode::PageDown | KeyCode::Char(' ') => Intent::PageDown,
            KeyCode::Home | KeyCode::Char('g') => Intent::Top,
            KeyCode::End | KeyCode::Char('G') => Intent::Bottom,
            // Copy keys: other letters still move to the input and type there.
            KeyCode::Char('y') if !alt => Intent::CopyMessage,
            KeyCode::Char(c @ '1'..='9') if !alt => Intent::CopyCodeBlock(c as u8 - b'0'),
            _ => Intent::Edit,
        },
        Focus::Sidebar => match key.code {
            KeyCode::Up => Intent::Up,
            KeyCode::Down => Intent::Down,
            KeyCode::PageUp => Intent::PageUp,
            KeyCode::PageDown => Intent::PageDown,
            KeyCode::Enter => Intent::Pick,
            _ => Intent::Edit,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn enter_sends_and_modified_enter_or_ctrl_j_adds_a_line() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            intent(Focus::Input, &key(KeyCode::Enter, none)),
            Intent::Send
        );
        for m in [KeyModifiers::ALT, KeyModifiers::SHIFT] {
            assert_eq!(
                intent(Focus::Input, &key(KeyCode::Enter, m)),
                Intent::Newline
            );
        }
        assert_eq!(
            intent(
                Focus::Input,
                &key(KeyCode::Char('j'), KeyModifiers::CONTROL)
            ),
            Intent::Newline
        );
    }

    #[test]
    fn global_keys_work_in_every_focus() {
        for focus in [Focus::Input, Focus::Conversation, Focus::Sidebar] {
            let ctrl = KeyModifiers::CONTROL;
            assert_eq!(intent(focus, &key(KeyCode::Char('q'), ctrl)), Intent::Quit);
            assert_eq!(intent(focus, &key(KeyCode::Char('c'), ctrl)), Intent::Quit);
            assert_eq!(
                intent(focus, &key(KeyCode::Char('s'), ctrl)),
                Intent::SaveAs
            );
            assert_eq!(
                intent(focus, &key(KeyCode::Char('p'), ctrl)),
                Intent::JumpToFilter
            );
            assert_eq!(
                intent(focus, &key(KeyCode::Esc, KeyModifiers::NONE)),
                Intent::Stop
            );
            assert_eq!(
                intent(focus, &key(KeyCode::Tab, KeyModifiers::NONE)),
                Intent::FocusNext
            );
            assert_eq!(
                intent(focus, &key(KeyCode::BackTab, KeyModifiers::SHIFT)),
                Intent::FocusPrev
            );
        }
    }

    #[test]
    fn letters_type_in_input_and_sidebar_but_move_in_conversation() {
        let k = key(KeyCode::Char('k'), KeyModifiers::NONE);
        assert_eq!(intent(Focus::Input, &k), Intent::Edit);
        assert_eq!(intent(Focus::Sidebar, &k), Intent::Edit);
        assert_eq!(intent(Focus::Conversation, &k), Intent::Up);
    }

    #[test]
    fn y_and_digits_copy_in_the_conversation_only_and_ctrl_y_everywhere() {
        let none = KeyModifiers::NONE;
        let y = key(KeyCode::Char('y'), none);
        assert_eq!(intent(Focus::Conversation, &y), Intent::CopyMessage);
        assert_eq!(intent(Focus::Input, &y), Intent::Edit);
        assert_eq!(intent(Focus::Sidebar, &y), Intent::Edit);
        for (c, n) in [('1', 1), ('5', 5), ('9', 9)] {
            assert_eq!(
                intent(Focus::Conversation, &key(KeyCode::Char(c), none)),
                Intent::CopyCodeBlock(n)
            );
            assert_eq!(
                intent(Focus::Input, &key(KeyCode::Char(c), none)),
                Intent::Edit
            );
        }
        assert_eq!(
            intent(Focus::Conversation, &key(KeyCode::Char('0'), none)),
            Intent::Edit
        );
        assert_eq!(
            intent(Focus::Conversation, &key(KeyCode::Char('x'), none)),
            Intent::Edit
        );
        for focus in [Focus::Input, Focus::Conversation, Focus::Sidebar] {
            assert_eq!(
                intent(focus, &key(KeyCode::Char('y'), KeyModifiers::CONTROL)),
                Intent::CopyLastReply
            );
        }
    }

    #[test]
    fn focus_cycles_through_all_three() {
        assert_eq!(Focus::Input.next().next().next(), Focus::Input);
        assert_eq!(Focus::Input.next(), Focus::Conversation);
        assert_eq!(Focus::Input.prev(), Focus::Sidebar);
    }
}
