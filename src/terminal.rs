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

/// Restores the terminal before the default panic message is printed, so the message
/// lands on a normal screen.
fn install_panic_hook() {
    if HOOK_INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
