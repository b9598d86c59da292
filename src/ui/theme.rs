//! Named styles: the only place colours are chosen (design §9).
//!
//! Widgets ask for a role (`theme.error`), never a colour. Colours use the terminal's
//! own palette (named ANSI colours) so they follow the user's scheme; with `NO_COLOR`
//! set, only attributes (bold, dim, reverse) remain.

use ratatui::style::{Color, Modifier, Style};

/// Every style the UI uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub user_label: Style,
    pub assistant_label: Style,
    pub selected_message: Style,
    pub body: Style,
    pub dim: Style,
    pub error: Style,
    pub note: Style,
    pub live_cursor: Style,
    pub provider: Style,
    pub highlight: Style,
    pub active_model: Style,
    pub status: Style,
    pub status_error: Style,
    pub key_hint: Style,
}

impl Theme {
    /// The theme for this terminal: colours unless `no_color`.
    pub fn new(no_color: bool) -> Theme {
        if no_color {
            return Theme::monochrome();
        }
        let bold = Modifier::BOLD;
        Theme {
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            title: Style::new().add_modifier(bold),
            user_label: Style::new().fg(Color::Green).add_modifier(bold),
            assistant_label: Style::new().fg(Color::Magenta).add_modifier(bold),
            selected_message: Style::new().add_modifier(Modifier::REVERSED),
            body: Style::new(),
            dim: Style::new().fg(Color::DarkGray),
            error: Style::new().fg(Color::Red),
            note: Style::new().fg(Color::Yellow),
            live_cursor: Style::new().fg(Color::Cyan),
            provider: Style::new().add_modifier(bold),
            highlight: Style::new().add_modifier(Modifier::REVERSED),
            active_model: Style::new().fg(Color::Cyan).add_modifier(bold),
            status: Style::new(),
            status_error: Style::new().fg(Color::Red).add_modifier(bold),
            key_hint: Style::new().fg(Color::DarkGray),
        }
    }

    /// Attributes only, for `NO_COLOR` (no-color.org).
    pub fn monochrome() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let dim = Style::new().add_modifier(Modifier::DIM);
        let reversed = Style::new().add_modifier(Modifier::REVERSED);
        Theme {
            border: Style::new(),
            border_focused: bold,
            title: bold,
            user_label: bold,
            assistant_label: bold,
            selected_message: reversed,
            body: Style::new(),
            dim,
            error: bold,
            note: Style::new(),
            live_cursor: Style::new(),
            provider: bold,
            highlight: reversed,
            active_model: bold,
            status: Style::new(),
            status_error: bold,
            key_hint: dim,
        }
    }

    /// From the environment: `NO_COLOR` set to anything non-empty turns colours off.
    pub fn from_env() -> Theme {
        Theme::new(std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()))
    }
}
