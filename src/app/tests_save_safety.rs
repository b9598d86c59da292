//! Nothing typed or received is discarded without a word: `updated_at` follows the
//! streamed text, a failed save is shown until a save succeeds, and leaving a
//! conversation that is not saved asks first.

use super::*;
use crate::conversation::Conversation;
use crate::storage::export::Replace;
use pretty_assertions::assert_eq;

#[test]
fn streaming_autosaves_advance_updated_at() {
    const OLD: &str = "2000-01-01T00:00:00+00:00";
    let mut app = app();
    let id = send(&mut app, "q");
    app.session.conversation.updated_at = OLD.to_owned();
    let t = Instant::now();
    delta(&mut app, id, "a", t);
    let fx = delta(&mut app, id, "b", t + Duration::from_secs(2));
    let saved = fx.iter().find_map(|e| match e {
        Effect::Save(c) => Some(c.updated_at.clone()),
        _ => None,
    });
    let saved = saved.expect("the 2 s autosave");
    assert_ne!(saved, OLD, "a save mid-stream must carry a new updated_at");

    // The same for the save at the deadline when no text arrives.
    app.session.conversation.updated_at = OLD.to_owned();
    delta(&mut app, id, "c", t + Duration::from_secs(3));
    let fx = app.update(Msg::Tick(t + Duration::from_secs(5)));
    let saved = fx.iter().find_map(|e| match e {
        Effect::Save(c) => Some(c.updated_at.clone()),
        _ => None,
    });
    assert_ne!(saved.expect("the deadline save"), OLD);
}

/// The error an unwritable data folder gives.
const NO_FOLDER: &str =
    "cannot create folder /x/file/data/tinychat/conversations: Not a directory (os error 20)";

/// The storage error behind [`NO_FOLDER`].
fn no_folder() -> crate::storage::StorageError {
    crate::storage::StorageError::Io {
        action: crate::storage::IoAction::CreateFolder,
        path: std::path::PathBuf::from("/x/file/data/tinychat/conversations"),
        source: std::io::Error::from_raw_os_error(20),
    }
}

/// An app with one finished exchange whose autosave failed.
fn unsaved_app() -> App {
    let mut app = app();
    let id = send(&mut app, "hello");
    answer(&mut app, id, "Hi!", Finish::Stop);
    app.update(Msg::Saved(Err(no_folder())));
    app
}

fn leave_popup(app: &App) -> Option<(&LeaveAction, &str)> {
    match &app.chrome.popup {
        Some(Popup::Leave { action, reason }) => Some((action, reason.as_str())),
        _ => None,
    }
}

fn quits(fx: &[Effect]) -> bool {
    fx.iter().any(|e| matches!(e, Effect::Quit))
}

#[test]
fn a_failed_autosave_marks_the_conversation_unsaved_until_a_save_succeeds() {
    let mut app = unsaved_app();
    assert!(app.is_unsaved());
    // Another notice replaces the error; the conversation is still not saved.
    app.set_notice("copied".into());
    assert!(app.is_unsaved());
    app.update(Msg::Saved(Ok(None)));
    assert!(!app.is_unsaved());
}

#[test]
fn ctrl_n_and_quit_ask_first_while_unsaved_and_esc_keeps_everything() {
    let mut app = unsaved_app();
    let fx = ctrl(&mut app, 'n');
    assert_eq!(leave_popup(&app), Some((&LeaveAction::New, NO_FOLDER)));
    assert_eq!(
        app.session.conversation.messages.len(),
        2,
        "nothing discarded yet"
    );
    assert!(fx.iter().all(|e| matches!(e, Effect::Redraw)));
    key(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(app.chrome.popup.is_none());
    assert_eq!(app.session.conversation.messages.len(), 2);

    let fx = ctrl(&mut app, 'q');
    assert!(!quits(&fx));
    assert!(!app.chrome.quitting);
    assert_eq!(leave_popup(&app).map(|(a, _)| a), Some(&LeaveAction::Quit));
    key(&mut app, KeyCode::Char('n'), KeyModifiers::NONE);
    assert!(app.chrome.popup.is_none() && !app.chrome.quitting);
}

#[test]
fn y_discards_and_a_second_ctrl_q_quits() {
    let mut app = unsaved_app();
    ctrl(&mut app, 'n');
    key(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert!(
        app.session.conversation.messages.is_empty(),
        "a new conversation"
    );
    assert!(!app.is_unsaved());

    let mut app = unsaved_app();
    ctrl(&mut app, 'q');
    let fx = ctrl(&mut app, 'q');
    assert!(quits(&fx) && app.chrome.quitting);
}

#[test]
fn s_in_the_question_opens_save_as_and_a_successful_save_as_lets_the_user_leave() {
    let mut app = unsaved_app();
    ctrl(&mut app, 'n');
    key(&mut app, KeyCode::Char('s'), KeyModifiers::NONE);
    assert!(matches!(
        app.chrome.popup,
        Some(Popup::SaveAs(SaveAs { confirm: None, .. }))
    ));
    let fx = enter(&mut app);
    let replace = fx.iter().find_map(|e| match e {
        Effect::Export { replace, .. } => Some(*replace),
        _ => None,
    });
    assert_eq!(replace, Some(Replace::No), "Enter never replaces a file");
    app.update(Msg::Exported(Ok(PathBuf::from("/tmp/hello.md"))));
    assert!(!app.is_unsaved(), "these messages are in /tmp/hello.md");
    ctrl(&mut app, 'n');
    assert!(app.chrome.popup.is_none());
    assert!(app.session.conversation.messages.is_empty());
}

#[test]
fn a_message_after_the_save_as_is_unsaved_again() {
    let mut app = unsaved_app();
    ctrl(&mut app, 's');
    enter(&mut app);
    app.update(Msg::Exported(Ok(PathBuf::from("/tmp/hello.md"))));
    let id = send(&mut app, "more");
    answer(&mut app, id, "Sure.", Finish::Stop);
    assert!(app.is_unsaved());
    ctrl(&mut app, 'n');
    assert!(leave_popup(&app).is_some());
}

#[test]
fn opening_another_conversation_from_the_browser_asks_first_while_unsaved() {
    let mut app = unsaved_app();
    ctrl(&mut app, 'o');
    let entry = crate::storage::index::IndexEntry::from_conversation(
        &{
            let mut c = Conversation::new(None);
            c.id = "other".into();
            c.push_user("other");
            c
        },
        PathBuf::from("/d/other.json"),
    );
    app.update(Msg::IndexLoaded(vec![entry]));
    let fx = enter(&mut app);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::OpenConversation { .. }))
    );
    assert_eq!(
        leave_popup(&app).map(|(a, _)| a),
        Some(&LeaveAction::Open("other".into()))
    );
    let fx = key(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::OpenConversation { id } if id == "other"))
    );
}

#[test]
fn without_a_failed_save_nothing_asks() {
    let mut app = app();
    let id = send(&mut app, "hello");
    answer(&mut app, id, "Hi!", Finish::Stop);
    let fx = ctrl(&mut app, 'q');
    assert!(quits(&fx));
}

// ---------------------------------------------------------------------------------------
// Save as: never replaces a file without a yes
// ---------------------------------------------------------------------------------------

#[test]
fn save_as_onto_an_existing_file_asks_and_y_replaces_it() {
    let mut app = app();
    let id = send(&mut app, "hello");
    answer(&mut app, id, "Hi!", Finish::Stop);
    ctrl(&mut app, 's');
    enter(&mut app);
    let existing = PathBuf::from("/work/hello.md");
    app.update(Msg::Exported(Err(crate::storage::StorageError::Exists {
        path: existing.clone(),
    })));
    match &app.chrome.popup {
        Some(Popup::SaveAs(save)) => assert_eq!(save.confirm.as_ref(), Some(&existing)),
        _ => panic!("the prompt asks about the existing file"),
    }
    assert_eq!(notice_text(&app), Some("/work/hello.md already exists"));
    // n goes back to the name, to change it.
    key(&mut app, KeyCode::Char('n'), KeyModifiers::NONE);
    match &app.chrome.popup {
        Some(Popup::SaveAs(save)) => {
            assert_eq!(save.confirm, None);
            assert_eq!(save.editor.lines(), ["/work/hello.md"]);
        }
        _ => panic!("the prompt stays open"),
    }
    enter(&mut app);
    app.update(Msg::Exported(Err(crate::storage::StorageError::Exists {
        path: existing.clone(),
    })));
    let fx = key(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    let export = fx.iter().find_map(|e| match e {
        Effect::Export { path, replace, .. } => Some((path.clone(), *replace)),
        _ => None,
    });
    assert_eq!(export, Some(("/work/hello.md".to_owned(), Replace::Yes)));
    assert!(app.chrome.popup.is_none());
}

#[test]
fn the_pre_filled_name_has_the_start_time_so_same_titles_differ() {
    let mut a = Conversation::new(None);
    a.push_user("Plans for the weekend?");
    a.created_at = "2026-11-29T14:05:12+01:00".into();
    let mut b = a.clone();
    b.created_at = "2026-12-06T09:30:00+01:00".into();
    assert_eq!(
        super::super::popup::default_file_name(&a),
        "plans-for-the-weekend-20261129-1405.md"
    );
    assert_eq!(
        super::super::popup::default_file_name(&b),
        "plans-for-the-weekend-20261206-0930.md"
    );
    b.created_at = "yesterday".into();
    b.id = "my/id".into();
    assert_eq!(
        super::super::popup::default_file_name(&b),
        "plans-for-the-weekend-my-id.md"
    );
}

// ---------------------------------------------------------------------------------------
// A save that found the file changed elsewhere, and the browser's broken entries
// ---------------------------------------------------------------------------------------

#[test]
fn a_fork_reported_by_the_store_becomes_this_conversations_id_with_a_notice() {
    let mut app = app();
    let id = send(&mut app, "hello");
    answer(&mut app, id, "Hi!", Finish::Stop);
    let old = app.session.conversation.id.clone();
    app.update(Msg::Saved(Ok(Some(crate::storage::Saved {
        path: PathBuf::from("/d/new.json"),
        id: "new-id".into(),
        forked_from: Some(old.clone()),
    }))));
    assert_eq!(app.session.conversation.id, "new-id");
    assert_eq!(
        notice_text(&app),
        Some(
            format!(
                "continuing as copy new-id: the saved {old} was changed elsewhere (another tinychat window?) and is kept as it is"
            )
            .as_str()
        )
    );
}

#[test]
fn enter_on_an_unreadable_entry_says_why_and_names_the_file() {
    let mut app = app();
    ctrl(&mut app, 'o');
    let mut entry = crate::storage::index::IndexEntry::from_conversation(
        &Conversation::new(None),
        PathBuf::from("/d/broken.json"),
    );
    entry.problem = Some("not a valid conversation file (EOF at line 1 column 3)".into());
    app.update(Msg::IndexLoaded(vec![entry]));
    let fx = enter(&mut app);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::OpenConversation { .. }))
    );
    assert_eq!(
        notice_text(&app),
        Some("cannot open /d/broken.json: not a valid conversation file (EOF at line 1 column 3)")
    );
    assert!(
        matches!(app.chrome.popup, Some(Popup::Browser(_))),
        "stays open to delete it"
    );
}
