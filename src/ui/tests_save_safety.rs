//! Not saved on the status line, the question before leaving, the save-as question
//! before replacing a file, and the delete question on an unreadable browser entry.

use super::*;
use crate::storage::index::IndexEntry;

/// What an unwritable data folder gives: "cannot create folder
/// /x/file/data/tinychat/conversations: Not a directory (os error 20)".
fn no_folder() -> crate::storage::StorageError {
    crate::storage::StorageError::Io {
        action: crate::storage::IoAction::CreateFolder,
        path: std::path::PathBuf::from("/x/file/data/tinychat/conversations"),
        source: std::io::Error::from_raw_os_error(20),
    }
}

/// A finished exchange whose autosave failed, with the failure's notice replaced by a
/// later one (the marker must not depend on the notice).
fn unsaved_app() -> App {
    let mut app = local_app();
    finished_reply(&mut app, "Plans for the weekend?", "Hike.");
    app.update(Msg::Saved(Err(no_folder())));
    app.update(Msg::Copied(Ok(
        crate::clipboard::CopyMethod::SystemClipboard,
    )));
    app
}

fn status_row(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let y = buffer.area.height - 1;
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol().to_owned())
        .collect::<String>()
}

#[test]
fn the_status_line_says_not_saved_for_as_long_as_it_is_so() {
    let mut app = unsaved_app();
    let row = status_row(&render(&mut app, 100, 24));
    assert!(
        row.starts_with(" local/llama-3.1-8b · idle · NOT SAVED (Ctrl+S saves elsewhere) · "),
        "{row:?}"
    );
    let (x, y) = find(render(&mut app, 100, 24).backend().buffer(), "NOT SAVED");
    let buffer = render(&mut app, 100, 24);
    let cell = &buffer.backend().buffer()[(x, y)];
    assert_eq!(
        cell.fg,
        Theme::dark().status_error.fg.unwrap_or(Color::Reset)
    );
    app.update(Msg::Saved(Ok(None)));
    let row = status_row(&render(&mut app, 100, 24));
    assert!(!row.contains("NOT SAVED"), "{row:?}");
}

#[test]
fn leave_question_80x24() {
    let mut app = unsaved_app();
    press(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn save_as_asks_before_replacing_80x24() {
    let mut app = local_app();
    finished_reply(&mut app, "Plans for the weekend?", "Hike.");
    press(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    app.update(Msg::Exported(Err(crate::storage::StorageError::Exists {
        path: PathBuf::from("/home/me/plans-for-the-weekend-20261129-1405.md"),
    })));
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn deleting_an_unreadable_entry_names_the_file_80x24() {
    let mut app = local_app();
    press(&mut app, KeyCode::Char('o'), KeyModifiers::CONTROL);
    let mut entry = IndexEntry::from_conversation(
        &crate::conversation::Conversation::new(None),
        PathBuf::from("/d/conversations/20261129-140512-3fa2.json"),
    );
    entry.id = "20261129-140512-3fa2".into();
    entry.title = String::new();
    entry.updated_at = "2026-11-29T14:05:12+01:00".into();
    entry.problem =
        Some("not a valid conversation file (EOF while parsing at line 1 column 3)".into());
    app.update(Msg::IndexLoaded(vec![entry]));
    press(&mut app, KeyCode::Char('d'), KeyModifiers::CONTROL);
    assert_snapshot!(render(&mut app, 80, 24).backend());
}
