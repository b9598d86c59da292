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
use crate::view::highlight::{CodeTheme, token_look};
use crate::view::styled::{Look, Rgb, Tone};

/// How Markdown in replies looks: one style per [`Tone`]; emphasis adds attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkdownStyles {
    pub heading: Style,
    pub inline_code: Style,
    /// Code in a block without highlighting.
    pub code: Style,
    pub link: Style,
    pub url: Style,
    pub quote: Style,
    pub marker: Style,
    pub rule: Style,
    pub code_label: Style,
}

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
    /// The context meter above 80 % of the window.
    pub status_warning: Style,
    /// A reply's thinking: its label and text, dim so the answer stands out.
    pub thinking: Style,
    pub key_hint: Style,
    pub markdown: MarkdownStyles,
    /// Which colours the code highlighter picks (none under `NO_COLOR`).
    pub code_theme: CodeTheme,
    /// Whether the terminal shows 24-bit colour (`COLORTERM`); highlighted code is
    /// drawn with the nearest of the 256 standard colours otherwise.
    pub truecolor: bool,
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
        let theme = match background {
            Background::Dark => Theme::dark(),
            Background::Light => Theme::light(),
        };
        Theme {
            truecolor: env("COLORTERM")
                .is_some_and(|v| v.eq_ignore_ascii_case("truecolor") || v == "24bit"),
            ..theme
        }
    }

    /// The style of a piece of a reply.
    pub fn look(&self, look: Look) -> Style {
        let md = &self.markdown;
        let mut style = match look.tone {
            Tone::Text => self.body,
            Tone::Heading(_) => md.heading,
            Tone::InlineCode => md.inline_code,
            Tone::Code => md.code,
            // The layout holds the token's class; this theme picks its colour (a
            // theme change is a palette swap, not a re-layout).
            Tone::Token(class) => match token_look(class, self.code_theme) {
                Some(token) => {
                    let mut style = Style::new().fg(self.colour(token.colour));
                    for (on, modifier) in [
                        (token.bold, Modifier::BOLD),
                        (token.italic, Modifier::ITALIC),
                        (token.underline, Modifier::UNDERLINED),
                    ] {
                        if on {
                            style = style.add_modifier(modifier);
                        }
                    }
                    style
                }
                None => md.code,
            },
            Tone::Link => md.link,
            Tone::Url => md.url,
            Tone::Quote => md.quote,
            Tone::Marker => md.marker,
            Tone::Rule => md.rule,
            Tone::Label => md.code_label,
        };
        for (on, modifier) in [
            (look.bold, Modifier::BOLD),
            (look.italic, Modifier::ITALIC),
            (look.underline, Modifier::UNDERLINED),
            (look.strike, Modifier::CROSSED_OUT),
        ] {
            if on {
                style = style.add_modifier(modifier);
            }
        }
        style
    }

    fn colour(&self, Rgb(r, g, b): Rgb) -> Color {
        if self.truecolor {
            Color::Rgb(r, g, b)
        } else {
            Color::Indexed(ansi256(r, g, b))
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
            status_warning: Style::new().fg(Color::Yellow).add_modifier(bold),
            thinking: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
            key_hint: Style::new().fg(Color::DarkGray),
            markdown: MarkdownStyles {
                heading: Style::new().fg(Color::Cyan),
                inline_code: Style::new().fg(Color::Yellow),
                code: Style::new(),
                link: Style::new().fg(Color::LightBlue),
                url: Style::new().fg(Color::DarkGray),
                quote: Style::new().fg(Color::Gray),
                marker: Style::new().fg(Color::Cyan),
                rule: Style::new().fg(Color::DarkGray),
                code_label: Style::new().fg(Color::Cyan).add_modifier(bold),
            },
            code_theme: CodeTheme::Dark,
            truecolor: false,
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
            status_warning: Style::new().fg(Color::Magenta).add_modifier(bold),
            thinking: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
            key_hint: Style::new().fg(Color::DarkGray),
            markdown: MarkdownStyles {
                heading: Style::new().fg(Color::Blue),
                inline_code: Style::new().fg(Color::Magenta),
                code: Style::new(),
                link: Style::new().fg(Color::Blue),
                url: Style::new().fg(Color::DarkGray),
                quote: Style::new().fg(Color::DarkGray),
                marker: Style::new().fg(Color::Blue),
                rule: Style::new().fg(Color::DarkGray),
                code_label: Style::new().fg(Color::Blue).add_modifier(bold),
            },
            code_theme: CodeTheme::Light,
            truecolor: false,
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
            status_warning: bold,
            thinking: dim.add_modifier(Modifier::ITALIC),
            key_hint: dim,
            markdown: MarkdownStyles {
                heading: Style::new(),
                inline_code: bold,
                code: Style::new(),
                link: Style::new(),
                url: dim,
                quote: Style::new(),
                marker: bold,
                rule: dim,
                code_label: bold,
            },
            code_theme: CodeTheme::Plain,
            truecolor: false,
        }
    }
}

/// The nearest of the 256 standard terminal colours: the 24-step grey ramp for greys,
/// else the 6×6×6 cube.
pub fn ansi256(r: u8, g: u8, b: u8) -> u8 {
    if r == g && g == b {
        return match r {
            0..8 => 16,
            249.. => 231,
            v => 232 + ((u16::from(v) - 8) * 24 / 241) as u8,
        };
    }
    let step = |v: u8| -> u8 {
        match v {
            0..48 => 0,
            48..115 => 1,
            v => (v - 35) / 40,
        }
    };
    16 + 36 * step(r) + 6 * step(g) + step(b)
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
    fn code_colours_follow_colorterm() {
        let colour = |r, g, b| crate::view::highlight::TokenLook {
            colour: Rgb(r, g, b),
            bold: false,
            italic: false,
            underline: false,
        };
        let class =
            crate::view::highlight::token_class(colour(0xbf, 0x61, 0x6a), colour(0x11, 0x22, 0x33));
        let look = Look::tone(Tone::Token(class));
        let plain = Theme::for_terminal(ThemeChoice::Dark, &env_of(&[]));
        assert_eq!(plain.look(look).fg, Some(Color::Indexed(131)));
        let deep = Theme::for_terminal(ThemeChoice::Dark, &env_of(&[("COLORTERM", "truecolor")]));
        assert_eq!(deep.look(look).fg, Some(Color::Rgb(0xbf, 0x61, 0x6a)));
        assert_eq!(ansi256(0, 0, 0), 16);
        assert_eq!(ansi256(255, 255, 255), 231);
        assert_eq!(ansi256(128, 128, 128), 243);
        assert_eq!(ansi256(255, 0, 0), 196);
    }

    #[test]
    fn emphasis_adds_attributes_to_the_tone() {
        let t = Theme::dark();
        let look = Look {
            tone: Tone::Link,
            bold: true,
            italic: true,
            underline: true,
            strike: true,
        };
        let style = t.look(look);
        assert_eq!(style.fg, Some(Color::LightBlue));
        assert!(style.add_modifier.contains(
            Modifier::BOLD | Modifier::ITALIC | Modifier::UNDERLINED | Modifier::CROSSED_OUT
        ));
        assert_eq!(Theme::monochrome().code_theme, CodeTheme::Plain);
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
            t.markdown.heading,
            t.markdown.inline_code,
            t.markdown.code,
            t.markdown.link,
            t.markdown.url,
            t.markdown.quote,
            t.markdown.marker,
            t.markdown.rule,
            t.markdown.code_label,
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
