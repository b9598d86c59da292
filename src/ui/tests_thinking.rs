//! Issue 12 on screen: thinking streaming open, folding when the answer starts,
//! opened and folded by `t`; usage in reply headers; the context meter and the cost on
//! the status line.

use super::*;
use crate::conversation::Usage;

/// `LOCAL` with a thinking default and a window and prices for its models.
fn priced_app(show_thinking: &str, window: u64) -> App {
    let config = format!(
        "show_thinking = \"{show_thinking}\"\n{LOCAL}context_window = {window}\nprice_in = 3.0\nprice_out = 15.0\n"
    );
    app_with(&config, &|_| None, Some("local/llama-3.1-8b"))
}

fn thinking(app: &mut App, id: StreamId, text: &str, at: Instant) {
    deliver(app, id, StreamEvent::Reasoning(text.into()), at);
}

/// A reply that thought for 14 s (two chunks), then answered and reported its usage.
fn thought_reply(app: &mut App, t: Instant) {
    let id = send(app, "Is 1,001 prime?");
    thinking(app, id, "\nThe user asks whether 1001 is prime.\n", t);
    thinking(
        app,
        id,
        "1001 = 7 × 143 = 7 × 11 × 13, so it is not.\n\n",
        t + Duration::from_secs(3),
    );
    delta(
        app,
        id,
        "No: 1,001 = 7 × 11 × 13.",
        t + Duration::from_secs(14),
    );
    deliver(
        app,
        id,
        StreamEvent::Usage(Usage {
            reasoning_tokens: Some(1_203),
            cached_input_tokens: Some(200),
            ..Usage::new(312, 1_024)
        }),
        t + Duration::from_secs(14),
    );
    deliver(
        app,
        id,
        StreamEvent::Finished(Finish::Stop),
        t + Duration::from_secs(14),
    );
}

#[test]
fn thinking_streams_open_with_its_time_80x24() {
    let mut app = priced_app("folded", 128_000);
    let id = send(&mut app, "Is 1,001 prime?");
    let t = Instant::now();
    thinking(&mut app, id, "\nThe user asks whether 1001 is prime.\n", t);
    thinking(
        &mut app,
        id,
        "1001 = 7 × 143",
        t + Duration::from_millis(2_500),
    );
    // The second changes by a tick, with no new text.
    app.update(Msg::Tick(t + Duration::from_secs(3)));
    let terminal = render(&mut app, 80, 24);
    assert_snapshot!(terminal.backend());
    let buffer = terminal.backend().buffer();
    let label = find(buffer, "Thinking… 3 s");
    assert_eq!(buffer[label].fg, Color::DarkGray);
    assert!(buffer[label].modifier.contains(Modifier::ITALIC));
    let text = find(buffer, "1001 = 7 × 143▌");
    assert!(buffer[text].modifier.contains(Modifier::ITALIC));
    assert!(buffer.content.iter().any(|c| c.symbol() == "▌"));
    assert_eq!(
        crate::ui::status::state_text(&app),
        "thinking 3 s · 2 tokens"
    );
    // Everything is saved (the second chunk came 2.5 s after the first): the next tick
    // comes when the second changes.
    assert_eq!(app.next_tick(), Some(t + Duration::from_secs(4)));
}

#[test]
fn the_answer_folds_the_thinking_and_the_header_shows_usage_80x24() {
    let mut app = priced_app("folded", 128_000);
    thought_reply(&mut app, Instant::now());
    let terminal = render(&mut app, 80, 24);
    assert_snapshot!(terminal.backend());
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("▸ Thought for 14 s · 1,203 tokens"),
        "{screen}"
    );
    assert!(screen.contains("ctx 1.34k / 128k · $0.016 "), "{screen}");
    // 312 × $3 + 1,024 × $15 per million tokens is $0.0163.
    let wide = render(&mut app, 110, 24).backend().to_string();
    assert!(
        wide.contains("Assistant · local/llama-3.1-8b · 312 in · 1,024 out (200 cached) · $0.016 "),
        "{wide}"
    );
    assert!(!screen.contains("1001 = 7 × 143"), "{screen}");
}

#[test]
fn t_opens_and_folds_the_selected_replys_thinking_in_both_themes_80x24() {
    let mut app = priced_app("folded", 128_000);
    thought_reply(&mut app, Instant::now());
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Up, KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('t'), KeyModifiers::NONE);
    let dark = render_with(&mut app, 80, 24, &Theme::dark());
    let light = render_with(&mut app, 80, 24, &Theme::light());
    assert_snapshot!("thinking_open_dark", dark.backend());
    assert_snapshot!("thinking_open_light", light.backend());
    let buffer = light.backend().buffer();
    let text = find(buffer, "1001 = 7 × 143 = 7 × 11 × 13");
    assert_eq!(buffer[text].fg, Color::DarkGray);
    let screen = dark.backend().to_string();
    assert!(
        screen.contains("▾ Thought for 14 s · 1,203 tokens · t folds"),
        "{screen}"
    );
    press(&mut app, KeyCode::Char('t'), KeyModifiers::NONE);
    let screen = render(&mut app, 80, 24).backend().to_string();
    assert!(
        screen.contains("▸ Thought for 14 s · 1,203 tokens · t opens"),
        "{screen}"
    );
    assert!(!screen.contains("1001 = 7 × 143"), "{screen}");
}

#[test]
fn show_thinking_open_and_hidden_set_the_default() {
    let mut open = priced_app("open", 128_000);
    thought_reply(&mut open, Instant::now());
    let screen = render(&mut open, 80, 24).backend().to_string();
    assert!(screen.contains("▾ Thought for 14 s"), "{screen}");
    assert!(
        screen.contains("│ 1001 = 7 × 143 = 7 × 11 × 13, so it is not."),
        "{screen}"
    );

    let mut hidden = priced_app("hidden", 128_000);
    thought_reply(&mut hidden, Instant::now());
    let screen = render(&mut hidden, 80, 24).backend().to_string();
    assert!(!screen.contains("Thought"), "{screen}");
    assert!(screen.contains("No: 1,001 = 7 × 11 × 13."), "{screen}");
    // The key still opens it.
    press(&mut hidden, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut hidden, KeyCode::Char('t'), KeyModifiers::NONE);
    let screen = render(&mut hidden, 80, 24).backend().to_string();
    assert!(screen.contains("▾ Thought for 14 s"), "{screen}");
}

#[test]
fn the_context_meter_warns_above_80_percent() {
    let mut app = priced_app("folded", 1_600);
    thought_reply(&mut app, Instant::now());
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    let meter = find(buffer, "ctx 1.34k / 1.6k");
    assert_eq!(buffer[meter].fg, Color::Yellow);
    assert!(buffer[meter].modifier.contains(Modifier::BOLD));

    let mut roomy = priced_app("folded", 2_000);
    thought_reply(&mut roomy, Instant::now());
    let terminal = render(&mut roomy, 80, 24);
    let buffer = terminal.backend().buffer();
    let meter = find(buffer, "ctx 1.34k / 2k");
    assert_eq!(buffer[meter].fg, Color::Reset);
}

#[test]
fn nothing_is_shown_where_window_and_prices_are_unknown() {
    let mut app = local_app();
    thought_reply(&mut app, Instant::now());
    let screen = render(&mut app, 110, 24).backend().to_string();
    assert!(!screen.contains("ctx"), "{screen}");
    assert!(!screen.contains('$'), "{screen}");
    assert!(
        screen.contains("312 in · 1,024 out (200 cached)"),
        "{screen}"
    );
}

#[test]
fn a_message_that_would_not_fit_is_refused_and_kept() {
    let mut app = priced_app("folded", 1_400);
    thought_reply(&mut app, Instant::now());
    // 1,336 tokens used; 400 bytes are about 100 more.
    type_text(&mut app, &"word ".repeat(80));
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::StartStream { .. })),
        "{fx:?}"
    );
    assert_eq!(app.conversation().messages.len(), 2);
    assert_eq!(app.input().lines().join("\n"), "word ".repeat(80));
    assert_eq!(
        app.notice().map(|n| n.text.as_str()),
        Some(
            "this message would not fit local/llama-3.1-8b's context window (about 1.44k of 1.4k tokens): start a new conversation (Ctrl+N) or pick a model with a larger window"
        )
    );
}

#[test]
fn escape_sequences_in_thinking_are_drawn_as_symbols() {
    let mut app = local_app();
    let id = send(&mut app, "hi");
    thinking(
        &mut app,
        id,
        "evil \x1b[2J\x1b]52;c;AAAA\x07 done",
        Instant::now(),
    );
    let screen = render(&mut app, 80, 24).backend().to_string();
    assert!(!screen.contains('\x1b'), "{screen}");
    assert!(screen.contains("evil ␛[2J␛]52;c;AAAA␇ done"), "{screen}");
}

#[test]
fn a_reply_that_only_thought_keeps_its_thinking_and_saves_it() {
    let mut app = local_app();
    let id = send(&mut app, "think only");
    let t = Instant::now();
    thinking(&mut app, id, "Hmm, let me see.", t);
    thinking(&mut app, id, " Nothing to add.", t + Duration::from_secs(3));
    let fx = app.update(Msg::Stream {
        id,
        event: StreamEvent::Finished(Finish::Stop),
        at: t + Duration::from_secs(3),
    });
    let saved = fx
        .iter()
        .find_map(|e| match e {
            Effect::Save(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    let reply = saved.messages.last().unwrap();
    assert_eq!(reply.content, "");
    assert_eq!(
        reply.reasoning.as_deref(),
        Some("Hmm, let me see. Nothing to add.")
    );
    assert_eq!(reply.reasoning_ms, Some(3_000));
    assert_eq!(reply.reasoning_chunks, Some(2));
    let screen = render(&mut app, 80, 24).backend().to_string();
    assert!(screen.contains("▸ Thought for 3 s · 2 tokens"), "{screen}");
    assert!(!screen.contains("Hmm"), "{screen}");
    // The text is not copied: `y` copies the answer, and this reply has none.
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(
        app.notice().map(|n| n.text.as_str()),
        Some("message 2 is empty: nothing to copy")
    );
}

#[test]
fn thinking_that_is_not_saved_yet_is_saved_within_two_seconds() {
    let mut app = local_app();
    let id = send(&mut app, "think");
    let t = Instant::now();
    thinking(&mut app, id, "first", t);
    let fx = app.update(Msg::Stream {
        id,
        event: StreamEvent::Reasoning(" second".into()),
        at: t + Duration::from_millis(2_100),
    });
    let saved = fx.iter().find_map(|e| match e {
        Effect::Save(c) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(
        saved.and_then(|c| c.messages.last().and_then(|m| m.reasoning.clone())),
        Some("first second".to_owned())
    );
}

#[test]
fn the_browser_shows_what_a_conversation_cost() {
    use crate::conversation::{Conversation, Message};
    use crate::storage::index::IndexEntry;
    let mut app = local_app();
    press(&mut app, KeyCode::Char('o'), KeyModifiers::CONTROL);
    let mut c = Conversation::new(None);
    c.id = "20261129-140512-3fa2".into();
    c.push_user("Priced question");
    for cost in [0.0123, 0.0042] {
        let mut reply = Message::assistant_pending("openrouter/deepseek/deepseek-r1");
        reply.content = "answer".into();
        reply.finish = Some(Finish::Stop);
        reply.usage = Some(
            Usage {
                cost: Some(cost),
                ..Usage::new(10, 10)
            }
            .into(),
        );
        c.messages.push(std::sync::Arc::new(reply));
    }
    c.updated_at = "2026-11-29T14:05:12+01:00".into();
    let entry = IndexEntry::from_conversation(&c, PathBuf::from("/d/x.json"));
    app.update(Msg::IndexLoaded(vec![entry]));
    let screen = render(&mut app, 100, 24).backend().to_string();
    assert!(
        screen.contains("openrouter/deepseek/deepseek-r1 · 2026-11-29 14:05 · 3 msgs · $0.017"),
        "{screen}"
    );
}

#[test]
fn thinking_draws_at_every_size_without_panicking() {
    let mut app = priced_app("open", 128_000);
    thought_reply(&mut app, Instant::now());
    let id = send(&mut app, "again");
    thinking(&mut app, id, "宽字符 and \t tabs\n\n", Instant::now());
    for width in [1u16, 2, 3, 5, 10, 21, 40, 59, 60, 61, 80, 200] {
        for height in [1u16, 2, 5, 6, 12, 24] {
            render(&mut app, width, height);
        }
    }
}

#[test]
fn a_model_that_thinks_silently_shows_the_seconds_it_has_been_waiting() {
    let mut app = local_app();
    let id = send(&mut app, "hard question");
    // The runtime's tick right after the request went out.
    let t = Instant::now();
    app.update(Msg::Tick(t));
    assert_eq!(
        crate::ui::status::state_text(&app),
        "waiting for the reply…"
    );
    assert_eq!(app.next_tick(), Some(t + Duration::from_secs(1)));
    let fx = app.update(Msg::Tick(t + Duration::from_secs(12)));
    assert!(fx.contains(&Effect::Redraw), "{fx:?}");
    assert_eq!(
        crate::ui::status::state_text(&app),
        "waiting for the reply… 12 s"
    );
    assert_eq!(app.next_tick(), Some(t + Duration::from_secs(13)));
    // The first text ends the wait, and its timer.
    delta(&mut app, id, "Here", t + Duration::from_secs(13));
    assert!(
        crate::ui::status::state_text(&app).starts_with("streaming"),
        "{}",
        crate::ui::status::state_text(&app)
    );
    assert_eq!(app.next_tick(), Some(t + Duration::from_secs(15)));
}
