//! Where copied text goes (spec §6): the system clipboard where there is one, else the
//! terminal's clipboard escape, OSC 52 (which works over SSH and inside tmux).
//!
//! Owned by the runtime, which carries out `Effect::Copy` with it; the app never calls
//! it. It keeps the system clipboard handle alive once a copy succeeded, because on X11
//! the process that owns the selection is the one that serves it to other programs.
//! `TINYCHAT_CLIPBOARD=osc52` skips the system clipboard. It writes OSC 52 only to the
//! writer it is given (the terminal backend's stdout) and never draws.

use std::io::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The environment variable that forces OSC 52 (value `osc52`).
pub const ENV: &str = "TINYCHAT_CLIPBOARD";

/// How a copy was made, as `Msg::Copied` reports it: the status line words it
/// differently ("to the clipboard", "via the terminal (OSC 52)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMethod {
    SystemClipboard,
    Osc52,
}

impl std::fmt::Display for CopyMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CopyMethod::SystemClipboard => "clipboard",
            CopyMethod::Osc52 => "terminal (OSC 52)",
        })
    }
}

/// Why a copy could not be made: no system clipboard took it, and the terminal could
/// not be written either.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("cannot write to the terminal: {0}")]
    Terminal(#[source] io::Error),
}

/// The system clipboard, tried once: a machine with no display stays without one.
enum System {
    Untried,
    Ready(arboard::Clipboard),
    Unavailable,
}

/// The runtime's clipboard.
pub struct Clipboard {
    system: System,
    force_osc52: bool,
}

impl Clipboard {
    /// Reads [`ENV`]: `osc52` forces the terminal escape.
    pub fn from_env() -> Clipboard {
        let force_osc52 = std::env::var(ENV).is_ok_and(|v| v.trim().eq_ignore_ascii_case("osc52"));
        Clipboard {
            system: System::Untried,
            force_osc52,
        }
    }

    /// Copies `text`; on success says how. OSC 52 goes to `terminal`.
    pub fn copy(&mut self, text: &str, terminal: &mut impl Write) -> Result<CopyMethod, CopyError> {
        if !self.force_osc52 && self.set_system(text) {
            return Ok(CopyMethod::SystemClipboard);
        }
        write_osc52(terminal, text)
            .map(|()| CopyMethod::Osc52)
            .map_err(CopyError::Terminal)
    }

    /// True when the system clipboard took the text. Without a display (headless,
    /// SSH) arboard fails at once and the caller falls back to OSC 52.
    fn set_system(&mut self, text: &str) -> bool {
        if matches!(self.system, System::Untried) {
            self.system = match arboard::Clipboard::new() {
                Ok(clipboard) => System::Ready(clipboard),
                Err(e) => {
                    tracing::info!(error = %e, "no system clipboard; copies use OSC 52");
                    System::Unavailable
                }
            };
        }
        let System::Ready(clipboard) = &mut self.system else {
            return false;
        };
        match clipboard.set_text(text) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the system clipboard refused the text; using OSC 52");
                false
            }
        }
    }
}

/// The OSC 52 sequence that sets the terminal's clipboard to `text`:
/// `ESC ] 52 ; c ; <base64 of the UTF-8 text> BEL`.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", STANDARD.encode(text))
}

/// Writes [`osc52`] of `text` and flushes, so it reaches the terminal now and not with
/// the next frame.
pub fn write_osc52(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn osc52_is_the_base64_of_the_utf8_text_between_esc_52_and_bel() {
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
        assert_eq!(osc52("é ✓\n"), "\x1b]52;c;w6kg4pyTCg==\x07");
        assert_eq!(osc52(""), "\x1b]52;c;\x07");
    }

    #[test]
    fn forced_osc52_writes_the_sequence_and_says_so() {
        let mut clipboard = Clipboard {
            system: System::Untried,
            force_osc52: true,
        };
        let mut out = Vec::new();
        assert_eq!(
            clipboard.copy("fn main() {}", &mut out).ok(),
            Some(CopyMethod::Osc52)
        );
        assert_eq!(out, b"\x1b]52;c;Zm4gbWFpbigpIHt9\x07");
        assert!(matches!(clipboard.system, System::Untried), "never tried");
    }
}
