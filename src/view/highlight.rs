//! Syntax highlighting of code blocks, one line at a time (syntect).
//!
//! A code block keeps its parser state between lines, so a streaming block highlights
//! each line once, when its line break arrives (design §5); the line still arriving is
//! highlighted from a copy of the state. The grammars and themes load on the first code
//! block, not at start-up (first frame within 10 ms), and with Oniguruma regexes, which
//! compile each grammar in about 2 ms and 1 MB rather than fancy-regex's 20 ms and 7 MB.

use std::sync::LazyLock;

use syntect::highlighting::{FontStyle, HighlightIterator, HighlightState, Highlighter, ThemeSet};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

use super::styled::{Look, Rgb, Row, Tone, push_piece};
use super::wrap::sanitize;

/// Which highlighting colours suit the terminal: `Plain` draws code in one style
/// (`NO_COLOR`, or a theme without colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum CodeTheme {
    #[default]
    Dark,
    Light,
    Plain,
}

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);
static THEMES: LazyLock<ThemeSet> = LazyLock::new(ThemeSet::load_defaults);

static DARK: LazyLock<Option<Highlighter<'static>>> =
    LazyLock::new(|| THEMES.themes.get("base16-ocean.dark").map(Highlighter::new));
static LIGHT: LazyLock<Option<Highlighter<'static>>> =
    LazyLock::new(|| THEMES.themes.get("InspiredGitHub").map(Highlighter::new));

impl CodeTheme {
    /// The syntect theme: light text on dark backgrounds, dark text on light ones.
    fn highlighter(self) -> Option<&'static Highlighter<'static>> {
        match self {
            CodeTheme::Dark => DARK.as_ref(),
            CodeTheme::Light => LIGHT.as_ref(),
            CodeTheme::Plain => None,
        }
    }
}

/// Names models use for languages that syntect's bundled grammars know by another
/// name (or cover closely enough: TypeScript reads well as JavaScript).
const ALIASES: &[(&str, &str)] = &[
    ("ts", "js"),
    ("typescript", "js"),
    ("tsx", "js"),
    ("jsx", "js"),
    ("javascript", "js"),
    ("node", "js"),
    ("shell", "bash"),
    ("zsh", "bash"),
    ("console", "bash"),
    ("shellscript", "bash"),
    ("golang", "go"),
    ("c++", "cpp"),
    ("py3", "py"),
    ("python3", "py"),
    ("yml", "yaml"),
    ("jsonc", "json"),
    ("objective-c", "objc"),
];

fn syntax_for(language: &str) -> Option<&'static SyntaxReference> {
    if language.is_empty() {
        return None;
    }
    let lower = language.to_ascii_lowercase();
    let token = ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower.as_str(), |(_, name)| name);
    SYNTAXES.find_syntax_by_token(token)
}

/// Highlights the lines of one code block in order.
pub struct CodeLines {
    /// `None` when the block is drawn plain: no theme, an unknown language, or a
    /// grammar error part-way (the rest of the block is then plain).
    state: Option<LineState>,
}

#[derive(Clone)]
struct LineState {
    highlighter: &'static Highlighter<'static>,
    parse: ParseState,
    highlight: HighlightState,
}

impl std::fmt::Debug for CodeLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeLines")
            .field("highlighted", &self.state.is_some())
            .finish()
    }
}

impl CodeLines {
    pub fn new(language: &str, theme: CodeTheme) -> CodeLines {
        let state = theme
            .highlighter()
            .zip(syntax_for(language))
            .map(|(highlighter, syntax)| {
                let highlight = HighlightState::new(highlighter, ScopeStack::new());
                LineState {
                    highlighter,
                    parse: ParseState::new(syntax),
                    highlight,
                }
            });
        CodeLines { state }
    }

    /// Highlights the next complete line (without its line break).
    pub fn line(&mut self, line: &str) -> Row {
        let row = match self.state.as_mut() {
            Some(state) => state.highlight(line),
            None => return plain(line),
        };
        row.unwrap_or_else(|| {
            self.state = None;
            plain(line)
        })
    }

    /// Highlights a line that is still arriving, leaving the state as it was.
    pub fn peek(&self, line: &str) -> Row {
        self.state
            .clone()
            .and_then(|mut state| state.highlight(line))
            .unwrap_or_else(|| plain(line))
    }
}

impl LineState {
    fn highlight(&mut self, line: &str) -> Option<Row> {
        // The bundled grammars expect each line with its line break.
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        let ops = self.parse.parse_line(&text, &SYNTAXES).ok()?;
        let mut row = Row::new();
        for (style, token) in
            HighlightIterator::new(&mut self.highlight, &ops, &text, self.highlighter)
        {
            let token = token.strip_suffix('\n').unwrap_or(token);
            let c = style.foreground;
            let look = Look {
                tone: Tone::Token(Rgb(c.r, c.g, c.b)),
                bold: style.font_style.contains(FontStyle::BOLD),
                italic: style.font_style.contains(FontStyle::ITALIC),
                underline: style.font_style.contains(FontStyle::UNDERLINE),
                strike: false,
            };
            push_piece(&mut row, &sanitize(token), look);
        }
        Some(row)
    }
}

/// A line of code in the one code colour, unhighlighted.
pub fn plain(line: &str) -> Row {
    let mut row = Row::new();
    push_piece(&mut row, &sanitize(line), Look::tone(Tone::Code));
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tones(row: &Row) -> Vec<(String, Tone)> {
        row.iter().map(|p| (p.text.clone(), p.look.tone)).collect()
    }

    #[test]
    fn a_known_language_gets_token_colours_and_keeps_its_text() {
        let mut lines = CodeLines::new("rust", CodeTheme::Dark);
        let row = lines.line("fn main() { let x = \"hi\"; }");
        let text: String = row.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "fn main() { let x = \"hi\"; }");
        let colours: std::collections::HashSet<Tone> = row.iter().map(|p| p.look.tone).collect();
        assert!(colours.len() >= 3, "{:?}", tones(&row));
        assert!(row.iter().all(|p| matches!(p.look.tone, Tone::Token(_))));
        // `fn` and the string differ in colour.
        let fn_tone = row[0].look.tone;
        let string = row
            .iter()
            .find(|p| p.text.contains("hi"))
            .map(|p| p.look.tone);
        assert_ne!(Some(fn_tone), string);
    }

    #[test]
    fn dark_and_light_themes_colour_differently() {
        let dark = CodeLines::new("python", CodeTheme::Dark).line("def f(): return 1");
        let light = CodeLines::new("py", CodeTheme::Light).line("def f(): return 1");
        assert_ne!(dark, light);
    }

    #[test]
    fn unknown_languages_and_plain_theme_draw_plain_code() {
        for (language, theme) in [
            ("klingon", CodeTheme::Dark),
            ("", CodeTheme::Dark),
            ("rust", CodeTheme::Plain),
        ] {
            let row = CodeLines::new(language, theme).line("let\tx = 1;");
            assert_eq!(
                tones(&row),
                [("let    x = 1;".to_owned(), Tone::Code)],
                "{language}"
            );
        }
    }

    #[test]
    fn state_carries_across_lines_and_peek_leaves_it_alone() {
        let mut lines = CodeLines::new("rust", CodeTheme::Dark);
        lines.line("let s = \"open");
        let inside = lines.peek("still in the string");
        let again = lines.peek("still in the string");
        assert_eq!(inside, again);
        let line = lines.line("still in the string");
        assert_eq!(inside, line);
        // A control character inside code is shown, not sent.
        let row = CodeLines::new("rust", CodeTheme::Dark).line("\u{1b}[2J");
        let text: String = row.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "\u{241b}[2J");
    }

    #[test]
    fn aliases_find_grammars() {
        for language in ["ts", "TypeScript", "sh", "zsh", "golang", "yml", "C++"] {
            assert!(syntax_for(language).is_some(), "{language}");
        }
    }
}
