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
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

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
    use super::*;

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
