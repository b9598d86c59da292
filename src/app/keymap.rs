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
    /// `c` in the conversation: continue the last reply, cut off at the token limit.
    Continue,
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
    /// Up in the input: an earlier prompt of this conversation when the cursor is on
    /// the first line, else the cursor moves up.
    RecallOlder,
    /// Down in the input: a later prompt (or the draft) when the cursor is on the last
    /// line, else the cursor moves down.
    RecallNewer,
    /// Not a binding: the focused editor (input, filter, prompt) handles the key.
    Edit,
}

/// One row of the key table: the keys, where they work, what they do. F1 shows these.
///
/// `keys` is written in a small notation that the agreement test in this file parses, so
/// the help cannot drift from [`intent`]: alternatives are separated by `,` or `/`
/// (`Up/Down, j/k`); a modifier is a prefix (`Ctrl+P`), and `Alt/Shift/Ctrl+Enter` is
/// that key with each of those modifiers; `typing` and `wheel` are not keys. `place` is
/// `anywhere` or one focus: `input`, `conversation` or `sidebar`.
pub struct Binding {
    pub keys: &'static str,
    pub place: &'static str,
    pub action: &'static str,
    /// The focused editor handles these keys itself ([`Intent::Edit`]); the row
    /// documents the editor rather than a binding.
    pub editing: bool,
}

/// Every binding, in the order the help shows them.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "Enter",
        place: "input",
        action: "send (empty: continue a cut-off)",
        editing: false,
    },
    Binding {
        keys: "Alt/Shift/Ctrl+Enter, Ctrl+J",
        place: "input",
        action: "new line",
        editing: false,
    },
    Binding {
        keys: "Up/Down",
        place: "input",
        action: "recall prompts (first/last line)",
        editing: false,
    },
    Binding {
        keys: "Esc",
        place: "anywhere",
        action: "stop the reply (its text stays)",
        editing: false,
    },
    Binding {
        keys: "Tab / Shift+Tab",
        place: "anywhere",
        action: "move focus between the panes",
        editing: false,
    },
    Binding {
        keys: "Up/Down, j/k",
        place: "conversation",
        action: "select the previous/next message",
        editing: false,
    },
    Binding {
        keys: "PgUp/PgDn, wheel",
        place: "anywhere",
        action: "scroll (the sidebar: its models)",
        editing: false,
    },
    // Space shares a row so that the whole table fits an 80×24 screen.
    Binding {
        keys: "Space, Home/End, g/G",
        place: "conversation",
        action: "page down; top / bottom (follows)",
        editing: false,
    },
    Binding {
        keys: "Up/Down, Enter",
        place: "sidebar",
        action: "choose the model that answers",
        editing: false,
    },
    Binding {
        keys: "typing",
        place: "sidebar",
        action: "filter the models",
        editing: true,
    },
    Binding {
        keys: "Ctrl+P",
        place: "anywhere",
        action: "jump to the model filter",
        editing: false,
    },
    Binding {
        keys: "Ctrl+S",
        place: "anywhere",
        action: "save as .md, .txt or .json",
        editing: false,
    },
    Binding {
        keys: "Ctrl+O",
        place: "anywhere",
        action: "open a saved conversation",
        editing: false,
    },
    Binding {
        keys: "Ctrl+N",
        place: "anywhere",
        action: "new conversation",
        editing: false,
    },
    Binding {
        keys: "y / 1…9",
        place: "conversation",
        action: "copy the message / code block N",
        editing: false,
    },
    Binding {
        keys: "Ctrl+Y",
        place: "anywhere",
        action: "copy the last reply",
        editing: false,
    },
    Binding {
        keys: "Ctrl+R",
        place: "anywhere",
        action: "regenerate the last reply",
        editing: false,
    },
    Binding {
        keys: "c",
        place: "conversation",
        action: "continue the cut-off last reply",
        editing: false,
    },
    Binding {
        keys: "Ctrl+X",
        place: "input",
        action: "edit the draft in $EDITOR",
        editing: false,
    },
    Binding {
        keys: "Ctrl+U, Ctrl+W, Ctrl+Z, Alt+Z",
        place: "input",
        action: "delete to start/word; undo, redo",
        editing: true,
    },
    Binding {
        keys: "F1 / F2",
        place: "anywhere",
        action: "this help / the system prompt",
        editing: false,
    },
    Binding {
        keys: "Ctrl+C, Ctrl+Q",
        place: "anywhere",
        action: "quit",
        editing: false,
    },
];

/// The intent of `key` with `focus`, before any popup is considered.
///
/// A binding takes exactly the modifiers the table names (Shift is part of a letter's
/// case), so every non-`Edit` answer here is a row of [`BINDINGS`]; other modified keys
/// go to the editor, which has its own uses for them (Shift+Up selects).
pub fn intent(focus: Focus, key: &KeyEvent) -> Intent {
    let mods = key.modifiers;
    let ctrl = mods == KeyModifiers::CONTROL;
    let bare = mods.is_empty();
    // Letters arrive with Shift when upper case; the case already says so.
    let letter = (mods - KeyModifiers::SHIFT).is_empty();
    // Global bindings first.
    match key.code {
        KeyCode::Char('c' | 'q') if ctrl => return Intent::Quit,
        KeyCode::Char('s') if ctrl => return Intent::SaveAs,
        KeyCode::Char('n') if ctrl => return Intent::New,
        KeyCode::Char('o') if ctrl => return Intent::Open,
        KeyCode::Char('p') if ctrl => return Intent::JumpToFilter,
        KeyCode::Char('r') if ctrl => return Intent::Regenerate,
        KeyCode::Char('y') if ctrl => return Intent::CopyLastReply,
        KeyCode::F(1) if bare => return Intent::Help,
        KeyCode::F(2) if bare => return Intent::EditSystemPrompt,
        KeyCode::Esc if bare => return Intent::Stop,
        KeyCode::Tab if bare => return Intent::FocusNext,
        // Terminals report Shift+Tab as BackTab; the kitty protocol as Tab with Shift.
        KeyCode::Tab if mods == KeyModifiers::SHIFT => return Intent::FocusPrev,
        KeyCode::BackTab if letter => return Intent::FocusPrev,
        KeyCode::PageUp if bare => return Intent::PageUp,
        KeyCode::PageDown if bare => return Intent::PageDown,
        _ => {}
    }
    match focus {
        Focus::Input => match key.code {
            KeyCode::Enter if bare => Intent::Send,
            KeyCode::Enter
                if [
                    KeyModifiers::ALT,
                    KeyModifiers::SHIFT,
                    KeyModifiers::CONTROL,
                ]
                .contains(&mods) =>
            {
                Intent::Newline
            }
            KeyCode::Char('j') if ctrl => Intent::Newline,
            KeyCode::Char('x') if ctrl => Intent::ExternalEditor,
            // On the first/last line these recall prompts; elsewhere they move the cursor
            // (the app decides: it knows where the cursor is).
            KeyCode::Up if bare => Intent::RecallOlder,
            KeyCode::Down if bare => Intent::RecallNewer,
            _ => Intent::Edit,
        },
        Focus::Conversation => match key.code {
            KeyCode::Up | KeyCode::Char('k') if bare => Intent::Up,
            KeyCode::Down | KeyCode::Char('j') if bare => Intent::Down,
            KeyCode::Char(' ') if bare => Intent::PageDown,
            KeyCode::Home | KeyCode::Char('g') if bare => Intent::Top,
            KeyCode::End if bare => Intent::Bottom,
            KeyCode::Char('G') if letter => Intent::Bottom,
            // Copy and continue keys: other letters still move to the input and type there.
            KeyCode::Char('y') if bare => Intent::CopyMessage,
            KeyCode::Char('c') if bare => Intent::Continue,
            KeyCode::Char(c @ '1'..='9') if bare => Intent::CopyCodeBlock(c as u8 - b'0'),
            _ => Intent::Edit,
        },
        Focus::Sidebar => match key.code {
            KeyCode::Up if bare => Intent::Up,
            KeyCode::Down if bare => Intent::Down,
            KeyCode::Enter if bare => Intent::Pick,
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
    fn c_continues_in_the_conversation_only() {
        let c = key(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(intent(Focus::Conversation, &c), Intent::Continue);
        assert_eq!(intent(Focus::Input, &c), Intent::Edit);
        assert_eq!(intent(Focus::Sidebar, &c), Intent::Edit);
        // Upper case C is not a binding: it types.
        let upper = key(KeyCode::Char('C'), KeyModifiers::SHIFT);
        assert_eq!(intent(Focus::Conversation, &upper), Intent::Edit);
    }

    #[test]
    fn focus_cycles_through_all_three() {
        assert_eq!(Focus::Input.next().next().next(), Focus::Input);
        assert_eq!(Focus::Input.next(), Focus::Conversation);
        assert_eq!(Focus::Input.prev(), Focus::Sidebar);
    }

    const FOCUSES: [Focus; 3] = [Focus::Input, Focus::Conversation, Focus::Sidebar];

    /// The focuses a row's `place` names.
    fn places(place: &str) -> Result<Vec<Focus>, String> {
        match place {
            "anywhere" => Ok(FOCUSES.to_vec()),
            "input" => Ok(vec![Focus::Input]),
            "conversation" => Ok(vec![Focus::Conversation]),
            "sidebar" => Ok(vec![Focus::Sidebar]),
            other => Err(format!("unknown place `{other}`")),
        }
    }

    fn modifier(name: &str) -> Option<KeyModifiers> {
        match name {
            "Ctrl" => Some(KeyModifiers::CONTROL),
            "Alt" => Some(KeyModifiers::ALT),
            "Shift" => Some(KeyModifiers::SHIFT),
            _ => None,
        }
    }

    /// One key in the table's notation: `Ctrl+P`, `Shift+Tab`, `PgUp`, `F1`, `j`, and a
    /// digit range `1…9` for each digit in it.
    fn parse_key(text: &str) -> Result<Vec<KeyEvent>, String> {
        if let Some((from, to)) = text.split_once('…')
            && let (Some(from), Some(to)) = (from.parse::<u8>().ok(), to.parse::<u8>().ok())
            && from <= to
            && to <= 9
        {
            return Ok((from..=to)
                .map(|d| key(KeyCode::Char(char::from(b'0' + d)), KeyModifiers::NONE))
                .collect());
        }
        let (mods, name) = match text.rsplit_once('+') {
            Some((m, name)) => (
                modifier(m).ok_or_else(|| format!("unknown modifier in `{text}`"))?,
                name,
            ),
            None => (KeyModifiers::NONE, text),
        };
        let code = match name {
            "Enter" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Tab" if mods == KeyModifiers::SHIFT => {
                // Both ways terminals report it.
                return Ok(vec![
                    KeyEvent::new(KeyCode::BackTab, mods),
                    KeyEvent::new(KeyCode::Tab, mods),
                ]);
            }
            "Tab" => KeyCode::Tab,
            "Up" => KeyCode::Up,
            "Down" => KeyCode::Down,
            "PgUp" => KeyCode::PageUp,
            "PgDn" => KeyCode::PageDown,
            "Home" => KeyCode::Home,
            "End" => KeyCode::End,
            "Space" => KeyCode::Char(' '),
            f if f.len() > 1 && f.starts_with('F') => {
                KeyCode::F(f[1..].parse().map_err(|_| format!("bad key `{text}`"))?)
            }
            c if c.chars().count() == 1 => {
                let c = c.chars().next().unwrap_or_default();
                // With Ctrl a letter is named in upper case but arrives in lower case.
                KeyCode::Char(if mods == KeyModifiers::NONE {
                    c
                } else {
                    c.to_ascii_lowercase()
                })
            }
            _ => return Err(format!("unknown key `{text}`")),
        };
        Ok(vec![KeyEvent::new(code, mods)])
    }

    /// Every key a row names; `None` for the words that are not keys.
    fn parse_keys(keys: &str) -> Result<Option<Vec<KeyEvent>>, String> {
        if keys == "typing" {
            return Ok(None);
        }
        let mut events = Vec::new();
        for part in keys.split(',').map(str::trim) {
            if part == "wheel" {
                continue;
            }
            let pieces: Vec<&str> = part.split('/').map(str::trim).collect();
            let (last, first) = pieces.split_last().ok_or("empty keys")?;
            // `Alt/Shift/Ctrl+Enter`: modifiers sharing one key.
            if let Some((m, name)) = last.split_once('+')
                && !first.is_empty()
                && first.iter().all(|p| modifier(p).is_some())
            {
                for m in first.iter().copied().chain([m]) {
                    events.extend(parse_key(&format!("{m}+{name}"))?);
                }
            } else {
                for piece in pieces {
                    events.extend(parse_key(piece)?);
                }
            }
        }
        Ok(Some(events))
    }

    /// Upper-case letters and BackTab arrive with or without Shift; the key says it already.
    fn same_key(a: &KeyEvent, b: &KeyEvent) -> bool {
        let strip = |k: &KeyEvent| match k.code {
            KeyCode::Char(c) if c.is_uppercase() => k.modifiers - KeyModifiers::SHIFT,
            KeyCode::BackTab => k.modifiers - KeyModifiers::SHIFT,
            _ => k.modifiers,
        };
        a.code == b.code && strip(a) == strip(b)
    }

    /// Key events to try: every key the app could see, alone and with one modifier.
    fn all_keys() -> Vec<KeyEvent> {
        let mut codes: Vec<KeyCode> = [
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::Insert,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
        ]
        .to_vec();
        codes.extend((1..=12).map(KeyCode::F));
        codes.extend((' '..='~').map(KeyCode::Char));
        let mods = [
            KeyModifiers::NONE,
            KeyModifiers::SHIFT,
            KeyModifiers::CONTROL,
            KeyModifiers::ALT,
        ];
        codes
            .into_iter()
            .flat_map(|code| mods.map(|m| KeyEvent::new(code, m)))
            .collect()
    }

    /// Where the table and [`intent`] disagree, one line each (empty when they agree).
    fn disagreements(table: &[Binding]) -> Vec<String> {
        let mut problems = Vec::new();
        let mut documented: Vec<(Focus, KeyEvent)> = Vec::new();
        for row in table {
            let (keys, focuses) = match (parse_keys(row.keys), places(row.place)) {
                (Ok(keys), Ok(focuses)) => (keys, focuses),
                (Err(e), _) | (_, Err(e)) => {
                    problems.push(format!("{}: {e}", row.keys));
                    continue;
                }
            };
            for key in keys.into_iter().flatten() {
                for &focus in &focuses {
                    let got = intent(focus, &key);
                    if row.editing && got != Intent::Edit {
                        problems.push(format!(
                            "{} in {focus:?}: {key:?} is {got:?}, not the editor's",
                            row.keys
                        ));
                    } else if !row.editing && got == Intent::Edit {
                        problems.push(format!(
                            "{} in {focus:?}: {key:?} is not a binding",
                            row.keys
                        ));
                    }
                    if !row.editing {
                        documented.push((focus, key));
                    }
                }
            }
        }
        for focus in FOCUSES {
            for key in all_keys() {
                let got = intent(focus, &key);
                if got != Intent::Edit
                    && !documented
                        .iter()
                        .any(|(f, k)| *f == focus && same_key(k, &key))
                {
                    problems.push(format!(
                        "{key:?} in {focus:?} is {got:?} but not in the help"
                    ));
                }
            }
        }
        problems
    }

    #[test]
    fn the_help_table_and_the_keymap_agree() {
        assert_eq!(disagreements(BINDINGS), Vec::<String>::new());
    }

    #[test]
    fn the_agreement_check_catches_a_missing_row_and_a_false_one() {
        let without_regenerate: Vec<Binding> = BINDINGS
            .iter()
            .filter(|b| b.keys != "Ctrl+R")
            .map(|b| Binding { ..*b })
            .collect();
        assert_eq!(
            disagreements(&without_regenerate),
            ["Input", "Conversation", "Sidebar"]
                .map(|f| format!(
                    "KeyEvent {{ code: Char('r'), modifiers: KeyModifiers(CONTROL), kind: Press, state: KeyEventState(0x0) }} in {f} is Regenerate but not in the help"
                ))
                .to_vec()
        );
        let false_row = [Binding {
            keys: "Ctrl+T",
            place: "sidebar",
            action: "does nothing",
            editing: false,
        }];
        assert_eq!(
            disagreements(&false_row)[0],
            "Ctrl+T in Sidebar: KeyEvent { code: Char('t'), modifiers: KeyModifiers(CONTROL), kind: Press, state: KeyEventState(0x0) } is not a binding"
        );
        let unparseable = [Binding {
            keys: "Hyper+K",
            place: "input",
            action: "",
            editing: false,
        }];
        assert_eq!(
            disagreements(&unparseable)[0],
            "Hyper+K: unknown modifier in `Hyper+K`"
        );
    }

    #[test]
    fn table_notation_is_parsed_into_key_events() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            parse_keys("Alt/Shift/Ctrl+Enter, Ctrl+J").unwrap().unwrap(),
            [
                key(KeyCode::Enter, KeyModifiers::ALT),
                key(KeyCode::Enter, KeyModifiers::SHIFT),
                key(KeyCode::Enter, KeyModifiers::CONTROL),
                key(KeyCode::Char('j'), KeyModifiers::CONTROL),
            ]
        );
        assert_eq!(
            parse_keys("Tab / Shift+Tab").unwrap().unwrap(),
            [
                key(KeyCode::Tab, none),
                key(KeyCode::BackTab, KeyModifiers::SHIFT),
                key(KeyCode::Tab, KeyModifiers::SHIFT),
            ]
        );
        assert_eq!(
            parse_keys("PgUp/PgDn, wheel").unwrap().unwrap(),
            [key(KeyCode::PageUp, none), key(KeyCode::PageDown, none)]
        );
        assert_eq!(
            parse_keys("Home/End, g/G").unwrap().unwrap(),
            [
                key(KeyCode::Home, none),
                key(KeyCode::End, none),
                key(KeyCode::Char('g'), none),
                key(KeyCode::Char('G'), none),
            ]
        );
        assert_eq!(
            parse_keys("F1").unwrap().unwrap(),
            [key(KeyCode::F(1), none)]
        );
        assert_eq!(parse_keys("typing"), Ok(None));
    }

    #[test]
    fn up_and_down_in_the_input_are_recall_only_without_modifiers() {
        assert_eq!(
            intent(Focus::Input, &key(KeyCode::Up, KeyModifiers::NONE)),
            Intent::RecallOlder
        );
        assert_eq!(
            intent(Focus::Input, &key(KeyCode::Down, KeyModifiers::NONE)),
            Intent::RecallNewer
        );
        // Shift+Up selects text in the editor.
        assert_eq!(
            intent(Focus::Input, &key(KeyCode::Up, KeyModifiers::SHIFT)),
            Intent::Edit
        );
    }
}
