//! Editing a one-line text field whose cursor is always at its end: the sidebar's model
//! filter and the browser's search.
//!
//! The keys mean what they mean in the input's editor, so Ctrl+U and Ctrl+W behave
//! the same in every field (with the cursor at the end, "delete to the start" empties
//! the field).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// True for a key that types a character (no Ctrl or Alt).
pub(crate) fn is_typing(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char(_))
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

/// Applies an editing key to `field`; true when the text changed.
pub(crate) fn edit(field: &mut String, key: KeyEvent) -> bool {
    let ctrl = key.modifiers == KeyModifiers::CONTROL;
    match key.code {
        KeyCode::Char(c) if is_typing(&key) => {
            field.push(c);
            true
        }
        KeyCode::Backspace if key.modifiers.is_empty() => field.pop().is_some(),
        // Delete to the start of the line: the whole field.
        KeyCode::Char('u') if ctrl => !std::mem::take(field).is_empty(),
        // Delete the word before the cursor, and the spaces after it.
        KeyCode::Char('w') if ctrl => {
            let kept = field
                .trim_end()
                .trim_end_matches(|c: char| !c.is_whitespace());
            let changed = kept.len() != field.len();
            field.truncate(kept.len());
            changed
        }
        _ => false,
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
    fn letters_type_backspace_deletes_and_ctrl_u_empties_the_field() {
        let mut field = String::new();
        assert!(edit(
            &mut field,
            key(KeyCode::Char('G'), KeyModifiers::SHIFT)
        ));
        assert!(edit(
            &mut field,
            key(KeyCode::Char('p'), KeyModifiers::NONE)
        ));
        assert_eq!(field, "Gp");
        assert!(edit(
            &mut field,
            key(KeyCode::Backspace, KeyModifiers::NONE)
        ));
        assert_eq!(field, "G");
        assert!(edit(
            &mut field,
            key(KeyCode::Char('u'), KeyModifiers::CONTROL)
        ));
        assert_eq!(field, "");
        assert!(!edit(
            &mut field,
            key(KeyCode::Char('u'), KeyModifiers::CONTROL)
        ));
        assert!(!edit(
            &mut field,
            key(KeyCode::Char('x'), KeyModifiers::ALT)
        ));
        assert_eq!(field, "");
    }

    #[test]
    fn ctrl_w_deletes_the_last_word_and_the_spaces_after_it() {
        let mut field = "gpt 4o  ".to_owned();
        assert!(edit(
            &mut field,
            key(KeyCode::Char('w'), KeyModifiers::CONTROL)
        ));
        assert_eq!(field, "gpt ");
        assert!(edit(
            &mut field,
            key(KeyCode::Char('w'), KeyModifiers::CONTROL)
        ));
        assert_eq!(field, "");
        assert!(!edit(
            &mut field,
            key(KeyCode::Char('w'), KeyModifiers::CONTROL)
        ));
    }
}
