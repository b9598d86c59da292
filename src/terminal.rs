//! The terminal's modes: entered once, restored on every way out (design §6).
//!
//! `TerminalGuard::enter` switches to raw mode, the alternate screen, bracketed paste,
//! mouse reporting (for the wheel) and, where the terminal supports the kitty protocol,
//! disambiguated keys (so Shift+Enter is reported). One idempotent [`restore`] undoes it
//! all; it runs from `Drop`, from the panic hook (installed before the first change) and
//! on the normal exit path, and never panics itself.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    KeyboardEnhancementFlags, PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::{Frame, Terminal};

/// Whether our modes are on; makes `restore` idempotent across Drop, hook and exit.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK_INSTALLED: AtomicBool = AtomicBool::new(false);

/// The terminal tinychat draws on.
pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal modes; dropping it restores them.
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Enters tinychat's modes and returns the guard and a terminal to draw on.
    pub fn enter() -> io::Result<(TerminalGuard, Tui)> {
        install_panic_hook();
        let guard = TerminalGuard { _private: () };
        activate()?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok((guard, terminal))
    }

    /// Leaves the modes for an outside program (`$EDITOR`); `resume` comes back.
    pub fn suspend(&mut self) {
        restore();
    }

    pub fn resume(&mut self, terminal: &mut Tui) -> io::Result<()> {
        activate()?;
        // `Terminal::clear` asks the terminal for the cursor position, which fails while
        // no one reads input; `resize` clears a fullscreen viewport without asking and
        // makes the next frame redraw every cell.
        let size = terminal.size()?;
        terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn activate() -> io::Result<()> {
    ACTIVE.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    let mut out = io::stdout();
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        EnableMouseCapture,
        cursor::Hide
    )?;
    // Terminals without the kitty keyboard protocol ignore this sequence; Alt+Enter and
    // Ctrl+J add a line everywhere (spec §6).
    execute!(
        out,
        PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
    )?;
    Ok(())
}

/// Draws one frame as `Terminal::draw` does (the new buffer's difference from the last
/// one goes out, the cursor stays hidden), asking the terminal for its size only when
/// `size_may_have_changed`. `Terminal::draw` asks every frame, and crossterm answers by
/// opening `/dev/tty` and closing it again: three system calls a frame for a size that
/// changes only with a resize event, after which the caller passes `true`.
pub fn draw_frame<B: Backend>(
    terminal: &mut Terminal<B>,
    size_may_have_changed: bool,
    render: impl FnOnce(&mut Frame),
) -> Result<(), B::Error> {
    if size_may_have_changed {
        terminal.autoresize()?;
    }
    let mut frame = terminal.get_frame();
    render(&mut frame);
    terminal.flush()?;
    terminal.hide_cursor()?;
    terminal.swap_buffers();
    terminal.backend_mut().flush()
}

/// Puts the terminal back as it was. Safe to call any number of times, from anywhere;
/// errors are ignored (there is nothing better to do with them on the way out).
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        PopKeyboardEnhancementFlags,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Installs the panic hook (once): it restores the terminal, then prints one sanitized
/// report on stderr instead of the default message. Called first thing in `main`, for
/// every command, and again (a no-op) when the UI starts.
///
/// Why not the default message: a panic's text can quote input (a parser's "byte index
/// 1 is not a char boundary; it is inside '\u{feff}' of `<the server's bytes>`"), and
/// escape sequences in it would be obeyed by the terminal. Nothing from a server may
/// reach the terminal raw, not even on the way out.
pub fn install_panic_hook() {
    if HOOK_INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    std::panic::set_hook(Box::new(move |info| {
        restore();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "{}", panic_report(&message, location.as_deref()));
        // `RUST_BACKTRACE` asks for one: frames name our code, never input.
        let trace = std::backtrace::Backtrace::capture();
        if trace.status() == std::backtrace::BacktraceStatus::Captured {
            let _ = writeln!(err, "{trace}");
        }
    }));
}

/// The most characters of a panic's message that are printed.
const PANIC_MESSAGE_CHARS: usize = 300;

/// The line a panic prints: where, and its message made harmless (control characters
/// shown as symbols, new lines included, and cut to [`PANIC_MESSAGE_CHARS`]).
pub fn panic_report(message: &str, location: Option<&str>) -> String {
    let flat = message.replace('\n', " ");
    let shown = crate::view::wrap::sanitize(&flat);
    let mut cut: String = shown.chars().take(PANIC_MESSAGE_CHARS).collect();
    if shown.chars().nth(PANIC_MESSAGE_CHARS).is_some() {
        cut.push('…');
    }
    match location {
        Some(at) => format!("tinychat: internal error at {at}: {cut} (please report it)"),
        None => format!("tinychat: internal error: {cut} (please report it)"),
    }
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;

    use super::*;

    fn text(frame: &mut Frame, text: &str) {
        frame.render_widget(Paragraph::new(text.to_owned()), frame.area());
    }

    #[test]
    fn a_frame_drawn_without_a_size_check_is_what_terminal_draw_shows() {
        let mut ours = Terminal::new(TestBackend::new(12, 2)).unwrap();
        let mut theirs = Terminal::new(TestBackend::new(12, 2)).unwrap();
        for (i, words) in ["first frame", "second", "second", "third one"]
            .iter()
            .enumerate()
        {
            draw_frame(&mut ours, i == 0, |f| text(f, words)).unwrap();
            theirs.draw(|f| text(f, words)).unwrap();
            assert_eq!(
                ours.backend().buffer(),
                theirs.backend().buffer(),
                "{words}"
            );
        }
        ours.backend()
            .assert_buffer_lines(["third one   ", "            "]);
    }

    #[test]
    fn a_frame_after_a_resize_event_takes_the_new_size_and_only_then() {
        let mut terminal = Terminal::new(TestBackend::new(12, 2)).unwrap();
        draw_frame(&mut terminal, false, |f| text(f, "a")).unwrap();
        terminal.backend_mut().resize(8, 3);
        // No resize event yet: the frame keeps the size it knew.
        let mut area = Rect::default();
        draw_frame(&mut terminal, false, |f| area = f.area()).unwrap();
        assert_eq!(area, Rect::new(0, 0, 12, 2));
        draw_frame(&mut terminal, true, |f| {
            area = f.area();
            text(f, "resized");
        })
        .unwrap();
        assert_eq!(area, Rect::new(0, 0, 8, 3));
        terminal
            .backend()
            .assert_buffer_lines(["resized ", "        ", "        "]);
    }

    #[test]
    fn a_panic_report_never_carries_escape_sequences_or_new_lines() {
        let report = panic_report(
            "byte index 1 is not a char boundary of `\u{1b}]0;pwned\u{7}\u{1b}[2J\nrm -rf`",
            Some("src/x.rs:3"),
        );
        assert_eq!(
            report,
            "tinychat: internal error at src/x.rs:3: byte index 1 is not a char boundary of `\u{241b}]0;pwned\u{2407}\u{241b}[2J rm -rf` (please report it)"
        );
        assert!(!report.chars().any(char::is_control));
        assert_eq!(
            panic_report(&"a".repeat(1000), None),
            format!(
                "tinychat: internal error: {}… (please report it)",
                "a".repeat(PANIC_MESSAGE_CHARS)
            )
        );
    }
}
