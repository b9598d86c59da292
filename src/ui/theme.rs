//! Named styles: the only place colours are chosen (design §9).
//!
//! Widgets ask for a role (`theme.error`), never a colour. Colours use the terminal's
//! own palette (named ANSI colours) so they follow the user's scheme. There are two
//! palettes, one for dark and one for light backgrounds (config `theme`, spec §4);
//! `auto` guesses the background from `COLORFGBG`. With `NO_COLOR` set, only attributes
//! (bold, dim, reverse) remain, whatever the config says. The environment is passed in
//! as a lookup function, so tests never touch the process's variables.

use ratatui::style::{Color, Modifier, Style};

use crate::config::ThemeChoice;

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

/// The terminal's background, as far as we can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    Dark,
    Light,
}

impl Theme {
    /// The theme for this terminal: `NO_COLOR` (non-empty, no-color.org) wins, then the
    /// config's choice; `auto` reads the background from `COLORFGBG`.
    pub fn for_terminal(choice: ThemeChoice, env: &dyn Fn(&str) -> Option<String>) -> Theme {
        if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Theme::monochrome();
        }
        let background = match choice {
            ThemeChoice::Dark => Background::Dark,
            ThemeChoice::Light => Background::Light,
            ThemeChoice::Auto => background_from_colorfgbg(env("COLORFGBG").as_deref()),
        };
        match background {
            Background::Dark => Theme::dark(),
            Background::Light => Theme::light(),
        }
    }

    /// For dark backgrounds (the default when the background is unknown).
    pub fn dark() -> Theme {
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

    /// For light backgrounds: yellow, cyan and green are hard to read on white in most
    /// palettes, so blue and magenta carry the accents and notes.
    pub fn light() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Blue),
            title: Style::new().add_modifier(bold),
            user_label: Style::new().fg(Color::Blue).add_modifier(bold),
            assistant_label: Style::new().fg(Color::Magenta).add_modifier(bold),
            selected_message: Style::new().add_modifier(Modifier::REVERSED),
            body: Style::new(),
            dim: Style::new().fg(Color::DarkGray),
            error: Style::new().fg(Color::Red),
            note: Style::new().fg(Color::Magenta),
            live_cursor: Style::new().fg(Color::Blue),
            provider: Style::new().add_modifier(bold),
            highlight: Style::new().add_modifier(Modifier::REVERSED),
            active_model: Style::new().fg(Color::Blue).add_modifier(bold),
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
}

/// Reads `COLORFGBG` as rxvt, Konsole and others set it: `fg;bg` or `fg;extra;bg`, with
/// ANSI colour numbers. The common rule (vim, neovim): a background of 7 (white) or 15
/// (bright white) is light; any other value, or none, or one we cannot read, is dark.
pub fn background_from_colorfgbg(value: Option<&str>) -> Background {
    let bg = value
        .and_then(|v| v.rsplit(';').next())
        .and_then(|bg| bg.trim().parse::<u8>().ok());
    match bg {
        Some(7 | 15) if value.is_some_and(|v| v.contains(';')) => Background::Light,
        _ => Background::Dark,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn colorfgbg_background_7_or_15_is_light() {
        assert_eq!(background_from_colorfgbg(Some("0;15")), Background::Light);
        assert_eq!(background_from_colorfgbg(Some("0;7")), Background::Light);
        assert_eq!(
            background_from_colorfgbg(Some("0;default;15")),
            Background::Light
        );
        assert_eq!(background_from_colorfgbg(Some("12; 7")), Background::Light);
    }

    #[test]
    fn colorfgbg_other_backgrounds_and_garbage_are_dark() {
        assert_eq!(background_from_colorfgbg(Some("15;0")), Background::Dark);
        assert_eq!(background_from_colorfgbg(Some("7;8")), Background::Dark);
        assert_eq!(
            background_from_colorfgbg(Some("15;default;0")),
            Background::Dark
        );
        assert_eq!(
            background_from_colorfgbg(Some("0;default")),
            Background::Dark
        );
        assert_eq!(background_from_colorfgbg(Some("15")), Background::Dark);
        assert_eq!(background_from_colorfgbg(Some("0;")), Background::Dark);
        assert_eq!(background_from_colorfgbg(Some("")), Background::Dark);
        assert_eq!(background_from_colorfgbg(Some("0;300")), Background::Dark);
        assert_eq!(background_from_colorfgbg(None), Background::Dark);
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn auto_follows_colorfgbg_and_explicit_choices_ignore_it() {
        let light_terminal = env_of(&[("COLORFGBG", "0;15")]);
        let dark_terminal = env_of(&[("COLORFGBG", "15;0")]);
        assert_eq!(
            Theme::for_terminal(ThemeChoice::Auto, &light_terminal),
            Theme::light()
        );
        assert_eq!(
            Theme::for_terminal(ThemeChoice::Auto, &dark_terminal),
            Theme::dark()
        );
        assert_eq!(
            Theme::for_terminal(ThemeChoice::Auto, &env_of(&[])),
            Theme::dark()
        );
        assert_eq!(
            Theme::for_terminal(ThemeChoice::Dark, &light_terminal),
            Theme::dark()
        );
        assert_eq!(
            Theme::for_terminal(ThemeChoice::Light, &dark_terminal),
            Theme::light()
        );
    }

    #[test]
    fn no_color_wins_over_every_choice_but_an_empty_one_does_not() {
        let env = env_of(&[("NO_COLOR", "1"), ("COLORFGBG", "0;15")]);
        for choice in [ThemeChoice::Auto, ThemeChoice::Dark, ThemeChoice::Light] {
            assert_eq!(Theme::for_terminal(choice, &env), Theme::monochrome());
        }
        let empty = env_of(&[("NO_COLOR", "")]);
        assert_eq!(
            Theme::for_terminal(ThemeChoice::Light, &empty),
            Theme::light()
        );
    }

    #[test]
    fn light_theme_has_no_yellow_cyan_green_or_white_text() {
        let t = Theme::light();
        let styles = [
            t.border,
            t.border_focused,
            t.title,
            t.user_label,
            t.assistant_label,
            t.selected_message,
            t.body,
            t.dim,
            t.error,
            t.note,
            t.live_cursor,
            t.provider,
            t.highlight,
            t.active_model,
            t.status,
            t.status_error,
            t.key_hint,
        ];
        for style in styles {
            assert!(
                !matches!(
                    style.fg,
                    Some(
                        Color::Yellow
                            | Color::LightYellow
                            | Color::Cyan
                            | Color::LightCyan
                            | Color::Green
                            | Color::LightGreen
                            | Color::White
                            | Color::Gray
                    )
                ),
                "{style:?}"
            );
        }
    }
}
