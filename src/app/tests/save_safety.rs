//! Nothing typed or received is discarded without a word: `updated_at` follows the
//! streamed text, a failed save is shown until a save succeeds, and leaving a
//! conversation that is not saved asks first.

use super::*;

#[test]
fn streaming_autosaves_advance_updated_at() {
    let mut app = app();
    let id = send(&mut app, "q");
    const OLD: &str = "2000-01-01T00:00:00+00:00";
    app.conversation.updated_at = OLD.to_owned();
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
    app.conversation.updated_at = OLD.to_owned();
    delta(&mut app, id, "c", t + Duration::from_secs(3));
    let fx = app.update(Msg::Tick(t + Duration::from_secs(5)));
    let saved = fx.iter().find_map(|e| match e {
        Effect::Save(c) => Some(c.updated_at.clone()),
        _ => None,
    });
    assert_ne!(saved.expect("the deadline save"), OLD);
}
