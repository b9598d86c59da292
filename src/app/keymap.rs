//! Keys to intents: what the user wants, decided from the key and the screen's context.
//!
//! Pure and table-driven so key tests need no `App`. Every screen — the main panes, each
//! popup, the browser and its questions — is a [`Context`] with its own binding table in
//! [`bindings`](super::bindings); F1 and the popups' hint lines are generated from those
//! tables, and the agreement test below checks each table against [`intent`] for every
//! key, so help and behaviour cannot drift apart (spec §6). Keys that are not bindings
//! fall through to the context's editor as [`Intent::Edit`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Which part of the main screen receives keys.
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

/// Where a key lands: a pane of the main screen, or the popup that is open (with the
/// part of it that takes keys). Each has one binding table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Main(Focus),
    /// F1.
    Help,
    /// Ctrl+S: typing the path.
    SaveAs,
    /// Ctrl+S found the file there: replace it?
    ReplaceFile,
    /// F2.
    SystemPrompt,
    /// Leaving a conversation that is not saved: save, discard or stay?
    Leave,
    /// Ctrl+O with the search line taking letters.
    BrowserSearch,
    /// Ctrl+O with the list taking letters as commands.
    BrowserList,
    /// The browser asks "Delete …? (y/n)".
    BrowserDelete,
    /// The browser takes a new title.
    BrowserRename,
}

impl Context {
    /// Every context, for tests that walk them all.
    pub const ALL: [Context; 12] = [
        Context::Main(Focus::Input),
        Context::Main(Focus::Conversation),
        Context::Main(Focus::Sidebar),
        Context::Help,
        Context::SaveAs,
        Context::ReplaceFile,
        Context::SystemPrompt,
        Context::Leave,
        Context::BrowserSearch,
        Context::BrowserList,
        Context::BrowserDelete,
        Context::BrowserRename,
    ];
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Send,
    Newline,
    /// Esc on the main screen: stop the reply or the download, clear the sidebar filter,
    /// or go back to the input.
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
    /// `t` in the conversation: open or fold the selected reply's thinking (the last
    /// reply that has some when none is selected).
    ToggleThinking,
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
    /// Esc in a popup: close it (a question: the answer is "no, leave it").
    Close,
    /// Enter in a popup: write the file, save the prompt, open the conversation, keep
    /// the new title.
    Submit,
    /// `y` to a question.
    Yes,
    /// `n` to a question (or, where it says so, any other key).
    No,
    /// `d` (list) or Ctrl+D in the browser: delete the highlighted conversation.
    Delete,
    /// `r` (list) or Ctrl+R in the browser: rename it.
    Rename,
    /// `/` in the browser's list: back to the search.
    Search,
    /// Not a binding: the context's editor (input, filter, path, search) handles the
    /// key; where there is no editor it does nothing.
    Edit,
}

/// The intent of `key` in `context`.
///
/// A binding takes exactly the modifiers its table names (Shift is part of a letter's
/// case), so every answer but [`Intent::Edit`] is a row of that context's table; other
/// modified keys go to the editor, which has its own uses for them (Shift+Up selects).
/// Ctrl+C and Ctrl+Q quit from every context.
pub fn intent(context: Context, key: &KeyEvent) -> Intent {
    let keys = Keys::of(key);
    if keys.ctrl && matches!(key.code, KeyCode::Char('c' | 'q')) {
        return Intent::Quit;
    }
    match context {
        Context::Main(focus) => main_intent(focus, key, keys),
        // Any key closes the help.
        Context::Help => Intent::Close,
        Context::SaveAs | Context::BrowserRename => match key.code {
            KeyCode::Esc if keys.bare => Intent::Close,
            KeyCode::Enter if keys.bare => Intent::Submit,
            _ => Intent::Edit,
        },
        Context::SystemPrompt => match key.code {
            KeyCode::Esc if keys.bare => Intent::Close,
            KeyCode::Enter if keys.bare => Intent::Submit,
            _ if keys.is_newline(key) => Intent::Newline,
            _ => Intent::Edit,
        },
        Context::ReplaceFile => match key.code {
            KeyCode::Esc if keys.bare => Intent::Close,
            KeyCode::Char('y') if keys.bare => Intent::Yes,
            KeyCode::Char('Y') if keys.letter => Intent::Yes,
            KeyCode::Char('n') if keys.bare => Intent::No,
            KeyCode::Char('N') if keys.letter => Intent::No,
            _ => Intent::Edit,
        },
        Context::Leave => match key.code {
            KeyCode::Esc if keys.bare => Intent::Close,
            KeyCode::Char('y') if keys.bare => Intent::Yes,
            KeyCode::Char('Y') if keys.letter => Intent::Yes,
            KeyCode::Char('n') if keys.bare => Intent::No,
            KeyCode::Char('N') if keys.letter => Intent::No,
            KeyCode::Char('s') if keys.bare => Intent::SaveAs,
            KeyCode::Char('S') if keys.letter => Intent::SaveAs,
            _ => Intent::Edit,
        },
        Context::BrowserDelete => match key.code {
            KeyCode::Char('y') if keys.bare => Intent::Yes,
            KeyCode::Char('Y') if keys.letter => Intent::Yes,
            // Any other key keeps the conversation.
            _ => Intent::No,
        },
        Context::BrowserSearch | Context::BrowserList => browser_intent(context, key, keys),
    }
}

/// The modifier facts every table uses.
#[derive(Clone, Copy)]
struct Keys {
    ctrl: bool,
    bare: bool,
    /// No modifier but perhaps Shift: letters arrive with Shift when upper case, and
    /// the case already says so.
    letter: bool,
}

impl Keys {
    fn of(key: &KeyEvent) -> Keys {
        let mods = key.modifiers;
        Keys {
            ctrl: mods == KeyModifiers::CONTROL,
            bare: mods.is_empty(),
            letter: (mods - KeyModifiers::SHIFT).is_empty(),
        }
    }

    /// Alt/Shift/Ctrl+Enter and Ctrl+J: a new line in every multi-line editor.
    fn is_newline(self, key: &KeyEvent) -> bool {
        match key.code {
            KeyCode::Enter => [
                KeyModifiers::ALT,
                KeyModifiers::SHIFT,
                KeyModifiers::CONTROL,
            ]
            .contains(&key.modifiers),
            KeyCode::Char('j') => self.ctrl,
            _ => false,
        }
    }
}

fn main_intent(focus: Focus, key: &KeyEvent, keys: Keys) -> Intent {
    let Keys { ctrl, bare, letter } = keys;
    // Bindings of the whole main screen first.
    match key.code {
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
        KeyCode::Tab if key.modifiers == KeyModifiers::SHIFT => return Intent::FocusPrev,
        KeyCode::BackTab if letter => return Intent::FocusPrev,
        KeyCode::PageUp if bare => return Intent::PageUp,
        KeyCode::PageDown if bare => return Intent::PageDown,
        _ => {}
    }
    match focus {
        Focus::Input => match key.code {
            KeyCode::Enter if bare => Intent::Send,
            _ if keys.is_newline(key) => Intent::Newline,
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
            KeyCode::Char('t') if bare => Intent::ToggleThinking,
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

fn browser_intent(context: Context, key: &KeyEvent, keys: Keys) -> Intent {
    let Keys { ctrl, bare, letter } = keys;
    let list = context == Context::BrowserList;
    match key.code {
        KeyCode::Esc if bare => Intent::Close,
        KeyCode::Enter if bare => Intent::Submit,
        KeyCode::Up if bare => Intent::Up,
        KeyCode::Down if bare => Intent::Down,
        KeyCode::PageUp if bare => Intent::PageUp,
        KeyCode::PageDown if bare => Intent::PageDown,
        KeyCode::Tab if bare || key.modifiers == KeyModifiers::SHIFT => Intent::FocusNext,
        KeyCode::BackTab if letter => Intent::FocusNext,
        KeyCode::Char('d') if ctrl => Intent::Delete,
        KeyCode::Char('r') if ctrl => Intent::Rename,
        KeyCode::Char('d') | KeyCode::Delete if list && bare => Intent::Delete,
        KeyCode::Char('r') if list && bare => Intent::Rename,
        KeyCode::Char('k') if list && bare => Intent::Up,
        KeyCode::Char('j') if list && bare => Intent::Down,
        KeyCode::Char('/') if list && bare => Intent::Search,
        _ => Intent::Edit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::bindings::{Binding, Hint, MAIN, contexts, table};
    use pretty_assertions::assert_eq;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn enter_sends_and_modified_enter_or_ctrl_j_adds_a_line() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            intent(Context::Main(Focus::Input), &key(KeyCode::Enter, none)),
            Intent::Send
        );
        for m in [KeyModifiers::ALT, KeyModifiers::SHIFT] {
            assert_eq!(
                intent(Context::Main(Focus::Input), &key(KeyCode::Enter, m)),
                Intent::Newline
            );
        }
        assert_eq!(
            intent(
                Context::Main(Focus::Input),
                &key(KeyCode::Char('j'), KeyModifiers::CONTROL)
            ),
            Intent::Newline
        );
    }

    #[test]
    fn global_keys_work_in_every_focus() {
        for focus in [Focus::Input, Focus::Conversation, Focus::Sidebar] {
            let ctrl = KeyModifiers::CONTROL;
            assert_eq!(
                intent(Context::Main(focus), &key(KeyCode::Char('q'), ctrl)),
                Intent::Quit
            );
            assert_eq!(
                intent(Context::Main(focus), &key(KeyCode::Char('c'), ctrl)),
                Intent::Quit
            );
            assert_eq!(
                intent(Context::Main(focus), &key(KeyCode::Char('s'), ctrl)),
                Intent::SaveAs
            );
            assert_eq!(
                intent(Context::Main(focus), &key(KeyCode::Char('p'), ctrl)),
                Intent::JumpToFilter
            );
            assert_eq!(
                intent(Context::Main(focus), &key(KeyCode::Esc, KeyModifiers::NONE)),
                Intent::Stop
            );
            assert_eq!(
                intent(Context::Main(focus), &key(KeyCode::Tab, KeyModifiers::NONE)),
                Intent::FocusNext
            );
            assert_eq!(
                intent(
                    Context::Main(focus),
                    &key(KeyCode::BackTab, KeyModifiers::SHIFT)
                ),
                Intent::FocusPrev
            );
        }
    }

    #[test]
    fn letters_type_in_input_and_sidebar_but_move_in_conversation() {
        let k = key(KeyCode::Char('k'), KeyModifiers::NONE);
        assert_eq!(intent(Context::Main(Focus::Input), &k), Intent::Edit);
        assert_eq!(intent(Context::Main(Focus::Sidebar), &k), Intent::Edit);
        assert_eq!(intent(Context::Main(Focus::Conversation), &k), Intent::Up);
    }

    #[test]
    fn y_and_digits_copy_in_the_conversation_only_and_ctrl_y_everywhere() {
        let none = KeyModifiers::NONE;
        let y = key(KeyCode::Char('y'), none);
        assert_eq!(
            intent(Context::Main(Focus::Conversation), &y),
            Intent::CopyMessage
        );
        assert_eq!(intent(Context::Main(Focus::Input), &y), Intent::Edit);
        assert_eq!(intent(Context::Main(Focus::Sidebar), &y), Intent::Edit);
        for (c, n) in [('1', 1), ('5', 5), ('9', 9)] {
            assert_eq!(
                intent(
                    Context::Main(Focus::Conversation),
                    &key(KeyCode::Char(c), none)
                ),
                Intent::CopyCodeBlock(n)
            );
            assert_eq!(
                intent(Context::Main(Focus::Input), &key(KeyCode::Char(c), none)),
                Intent::Edit
            );
        }
        assert_eq!(
            intent(
                Context::Main(Focus::Conversation),
                &key(KeyCode::Char('0'), none)
            ),
            Intent::Edit
        );
        assert_eq!(
            intent(
                Context::Main(Focus::Conversation),
                &key(KeyCode::Char('x'), none)
            ),
            Intent::Edit
        );
        for focus in [Focus::Input, Focus::Conversation, Focus::Sidebar] {
            assert_eq!(
                intent(
                    Context::Main(focus),
                    &key(KeyCode::Char('y'), KeyModifiers::CONTROL)
                ),
                Intent::CopyLastReply
            );
        }
    }

    #[test]
    fn c_continues_in_the_conversation_only() {
        let c = key(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(
            intent(Context::Main(Focus::Conversation), &c),
            Intent::Continue
        );
        assert_eq!(intent(Context::Main(Focus::Input), &c), Intent::Edit);
        assert_eq!(intent(Context::Main(Focus::Sidebar), &c), Intent::Edit);
        // Upper case C is not a binding: it types.
        let upper = key(KeyCode::Char('C'), KeyModifiers::SHIFT);
        assert_eq!(
            intent(Context::Main(Focus::Conversation), &upper),
            Intent::Edit
        );
    }

    #[test]
    fn focus_cycles_through_all_three() {
        assert_eq!(Focus::Input.next().next().next(), Focus::Input);
        assert_eq!(Focus::Input.next(), Focus::Conversation);
        assert_eq!(Focus::Input.prev(), Focus::Sidebar);
    }

    /// The contexts a row's `place` names.
    fn places(place: &str) -> Result<Vec<Context>, String> {
        let found = contexts(place);
        if found.is_empty() {
            Err(format!("unknown place `{place}`"))
        } else {
            Ok(found)
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
            "Delete" => KeyCode::Delete,
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
        if keys == "typing" || keys == ANY_KEY {
            return Ok(None);
        }
        let mut events = Vec::new();
        for part in keys.split(',').map(str::trim) {
            if part == "wheel" {
                continue;
            }
            // The slash key itself, not a separator.
            if part == "/" {
                events.push(key(KeyCode::Char('/'), KeyModifiers::NONE));
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

    /// The row notation for "every key no other row names".
    const ANY_KEY: &str = "any key";

    /// Where `table` and [`intent`] disagree in the contexts of `scope`, one line each
    /// (empty when they agree): a row whose keys do something else, a key that does
    /// something no row says, a hint that names keys its row does not bind.
    fn disagreements(table: &[Binding], scope: &[Context]) -> Vec<String> {
        let mut problems = Vec::new();
        let mut documented: Vec<(Context, KeyEvent)> = Vec::new();
        let mut any_key: Vec<Context> = Vec::new();
        for row in table {
            let (keys, in_scope) = match (parse_keys(row.keys), places(row.place)) {
                (Ok(keys), Ok(found)) => (
                    keys,
                    found
                        .into_iter()
                        .filter(|c| scope.contains(c))
                        .collect::<Vec<_>>(),
                ),
                (Err(e), _) | (_, Err(e)) => {
                    problems.push(format!("{}: {e}", row.keys));
                    continue;
                }
            };
            if let Some(Hint::Title(text) | Hint::Bottom(text)) = row.hint
                && let Err(e) = hint_names_row_keys(text, row.keys)
            {
                problems.push(format!("{}: {e}", row.keys));
            }
            if row.keys == ANY_KEY {
                any_key.extend(in_scope.iter().copied());
            }
            for key in keys.into_iter().flatten() {
                for &context in &in_scope {
                    let got = intent(context, &key);
                    if row.editing && got != Intent::Edit {
                        problems.push(format!(
                            "{} in {context:?}: {key:?} is {got:?}, not the editor's",
                            row.keys
                        ));
                    } else if !row.editing && got == Intent::Edit {
                        problems.push(format!(
                            "{} in {context:?}: {key:?} is not a binding",
                            row.keys
                        ));
                    }
                    if !row.editing {
                        documented.push((context, key));
                    }
                }
            }
        }
        for &context in scope {
            for key in all_keys() {
                let got = intent(context, &key);
                let named = documented
                    .iter()
                    .any(|(c, k)| *c == context && same_key(k, &key));
                if any_key.contains(&context) && !named && got == Intent::Edit {
                    problems.push(format!(
                        "{key:?} in {context:?} does nothing but the help says any key does"
                    ));
                }
                if got != Intent::Edit && !named && !any_key.contains(&context) {
                    problems.push(format!(
                        "{key:?} in {context:?} is {got:?} but not in the help"
                    ));
                }
            }
        }
        problems
    }

    /// A hint starts with its row's keys, or with some of them (`n/Esc stay` on the
    /// row `n/Esc`, `d delete` on `d, Delete`).
    fn hint_names_row_keys(hint: &str, keys: &str) -> Result<(), String> {
        if hint.starts_with(keys) {
            return Ok(());
        }
        let first = hint.split(' ').next().unwrap_or_default();
        let named = parse_keys(first)
            .map_err(|e| format!("hint `{hint}`: {e}"))?
            .unwrap_or_default();
        let bound = parse_keys(keys)?.unwrap_or_default();
        if named.is_empty() || !named.iter().all(|k| bound.iter().any(|b| same_key(k, b))) {
            return Err(format!("hint `{hint}` names keys the row does not bind"));
        }
        Ok(())
    }

    fn main_contexts() -> Vec<Context> {
        contexts("anywhere")
    }

    #[test]
    fn the_help_table_and_the_keymap_agree() {
        assert_eq!(disagreements(MAIN, &main_contexts()), Vec::<String>::new());
    }

    #[test]
    fn every_popup_table_and_the_keymap_agree() {
        // The quit row of the main table says it works everywhere.
        let everywhere = MAIN.iter().filter(|b| b.place == "everywhere");
        for context in Context::ALL {
            let rows: Vec<Binding> = table(context)
                .iter()
                .chain(everywhere.clone())
                .map(|b| Binding { ..*b })
                .collect();
            assert_eq!(
                disagreements(&rows, &[context]),
                Vec::<String>::new(),
                "{context:?}"
            );
        }
    }

    #[test]
    fn the_new_line_keys_are_the_same_in_the_input_and_the_system_prompt() {
        for key in [
            key(KeyCode::Enter, KeyModifiers::ALT),
            key(KeyCode::Enter, KeyModifiers::SHIFT),
            key(KeyCode::Enter, KeyModifiers::CONTROL),
            key(KeyCode::Char('j'), KeyModifiers::CONTROL),
        ] {
            assert_eq!(intent(Context::Main(Focus::Input), &key), Intent::Newline);
            assert_eq!(intent(Context::SystemPrompt, &key), Intent::Newline);
        }
        let enter = key(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(intent(Context::SystemPrompt, &enter), Intent::Submit);
    }

    #[test]
    fn ctrl_u_is_the_editors_everywhere_it_edits() {
        let ctrl_u = key(KeyCode::Char('u'), KeyModifiers::CONTROL);
        for context in [
            Context::Main(Focus::Input),
            Context::Main(Focus::Sidebar),
            Context::SaveAs,
            Context::SystemPrompt,
            Context::BrowserSearch,
            Context::BrowserRename,
        ] {
            assert_eq!(intent(context, &ctrl_u), Intent::Edit, "{context:?}");
        }
    }

    #[test]
    fn a_hint_must_name_keys_of_its_row() {
        let row = [Binding {
            keys: "Esc",
            place: "save-as",
            action: "cancel",
            editing: false,
            hint: Some(Hint::Title("Enter cancel")),
        }];
        assert_eq!(
            disagreements(&row, &[Context::SaveAs])[..2],
            [
                "Esc: hint `Enter cancel` names keys the row does not bind".to_owned(),
                "KeyEvent { code: Enter, modifiers: KeyModifiers(0x0), kind: Press, state: KeyEventState(0x0) } in SaveAs is Submit but not in the help".to_owned(),
            ]
        );
    }

    #[test]
    fn the_agreement_check_catches_a_missing_row_and_a_false_one() {
        let without_regenerate: Vec<Binding> = MAIN
            .iter()
            .filter(|b| b.keys != "Ctrl+R")
            .map(|b| Binding { ..*b })
            .collect();
        assert_eq!(
            disagreements(&without_regenerate, &main_contexts()),
            ["Input", "Conversation", "Sidebar"]
                .map(|f| format!(
                    "KeyEvent {{ code: Char('r'), modifiers: KeyModifiers(CONTROL), kind: Press, state: KeyEventState(0x0) }} in Main({f}) is Regenerate but not in the help"
                ))
                .to_vec()
        );
        let false_row = [Binding {
            keys: "Ctrl+T",
            place: "sidebar",
            action: "does nothing",
            editing: false,
            hint: None,
        }];
        assert_eq!(
            disagreements(&false_row, &main_contexts())[0],
            "Ctrl+T in Main(Sidebar): KeyEvent { code: Char('t'), modifiers: KeyModifiers(CONTROL), kind: Press, state: KeyEventState(0x0) } is not a binding"
        );
        let unparseable = [Binding {
            keys: "Hyper+K",
            place: "input",
            action: "",
            editing: false,
            hint: None,
        }];
        assert_eq!(
            disagreements(&unparseable, &main_contexts())[0],
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
            intent(
                Context::Main(Focus::Input),
                &key(KeyCode::Up, KeyModifiers::NONE)
            ),
            Intent::RecallOlder
        );
        assert_eq!(
            intent(
                Context::Main(Focus::Input),
                &key(KeyCode::Down, KeyModifiers::NONE)
            ),
            Intent::RecallNewer
        );
        // Shift+Up selects text in the editor.
        assert_eq!(
            intent(
                Context::Main(Focus::Input),
                &key(KeyCode::Up, KeyModifiers::SHIFT)
            ),
            Intent::Edit
        );
    }
}
