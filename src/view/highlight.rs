//! Syntax highlighting of code blocks, one line at a time (syntect).
//!
//! A code block keeps its parser state between lines, so a streaming block highlights
//! each line once, when its line break arrives (design §5); the line still arriving is
//! highlighted from a copy of the state. The grammars and themes load on the first code
//! block, not at start-up (first frame within 10 ms), and with Oniguruma regexes, which
//! compile each grammar in about 2 ms and 1 MB rather than fancy-regex's 20 ms and 7 MB.
//!
//! The layout keeps no colours: each token gets a [`TokenClass`], one small number for
//! the pair of looks the dark and the light theme give it, and drawing maps the class
//! to the current theme's look. Changing the theme is then a palette swap, never a
//! re-layout of the history.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use syntect::highlighting::{
    FontStyle, HighlightIterator, HighlightState, Highlighter, Style, ThemeSet,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

use super::styled::{Look, Rgb, Row, TokenClass, Tone, push_piece};
use super::wrap::sanitize;

/// Which highlighting colours suit the terminal: `Plain` draws code in one style
/// (`NO_COLOR`, or a theme without colours). A layout made for `Dark` or `Light` holds
/// the same rows (tokens carry classes, not colours); only `Plain` skips highlighting.
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
    /// Whether a layout for this theme highlights code at all: layouts for two themes
    /// that agree here are the same, and switching between them redraws only.
    pub fn highlights(self) -> bool {
        self != CodeTheme::Plain
    }
}

/// How one theme draws a token: its colour and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenLook {
    pub colour: Rgb,
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
}

impl TokenLook {
    fn of(style: Style) -> TokenLook {
        let c = style.foreground;
        TokenLook {
            colour: Rgb(c.r, c.g, c.b),
            bold: style.font_style.contains(FontStyle::BOLD),
            italic: style.font_style.contains(FontStyle::ITALIC),
            underline: style.font_style.contains(FontStyle::UNDERLINE),
        }
    }
}

/// Every pair of (dark, light) token looks seen so far, numbered in the order met.
/// A few hundred at most: the themes have about a hundred rules each, and only the
/// pairs that real code produces are ever added.
#[derive(Default)]
struct Classes {
    looks: Vec<[TokenLook; 2]>,
    index: HashMap<[TokenLook; 2], u16>,
}

static CLASSES: LazyLock<Mutex<Classes>> = LazyLock::new(Mutex::default);

/// The class of a token drawn as `dark` by the dark theme and `light` by the light one.
/// Past `u16::MAX` distinct pairs (never met in practice) the last class is reused.
pub fn token_class(dark: TokenLook, light: TokenLook) -> TokenClass {
    // The table only grows and stays consistent between statements; a panic elsewhere
    // while it was held leaves it usable.
    let mut classes = CLASSES.lock().unwrap_or_else(PoisonError::into_inner);
    let key = [dark, light];
    if let Some(&i) = classes.index.get(&key) {
        return TokenClass(i);
    }
    let Ok(i) = u16::try_from(classes.looks.len()) else {
        return TokenClass(u16::MAX);
    };
    classes.looks.push(key);
    classes.index.insert(key, i);
    TokenClass(i)
}

/// How `theme` draws tokens of `class`; `None` under [`CodeTheme::Plain`] (the one code
/// style then) or for a class this process never made.
pub fn token_look(class: TokenClass, theme: CodeTheme) -> Option<TokenLook> {
    let side = match theme {
        CodeTheme::Dark => 0,
        CodeTheme::Light => 1,
        CodeTheme::Plain => return None,
    };
    let classes = CLASSES.lock().unwrap_or_else(PoisonError::into_inner);
    classes
        .looks
        .get(usize::from(class.0))
        .map(|pair| pair[side])
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
    state: Option<Box<LineState>>,
}

/// The parser state and, for each theme, the highlighter's state: one parse feeds
/// both, so a token's class knows how either theme draws it.
#[derive(Clone)]
struct LineState {
    dark: &'static Highlighter<'static>,
    light: &'static Highlighter<'static>,
    parse: ParseState,
    dark_state: HighlightState,
    light_state: HighlightState,
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
        let themes = DARK.as_ref().zip(LIGHT.as_ref());
        let state = themes
            .filter(|_| theme.highlights())
            .zip(syntax_for(language))
            .map(|((dark, light), syntax)| {
                Box::new(LineState {
                    dark,
                    light,
                    parse: ParseState::new(syntax),
                    dark_state: HighlightState::new(dark, ScopeStack::new()),
                    light_state: HighlightState::new(light, ScopeStack::new()),
                })
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
        // Both iterators cut the line at the same operations, so their tokens pair up.
        let dark = HighlightIterator::new(&mut self.dark_state, &ops, &text, self.dark);
        let light = HighlightIterator::new(&mut self.light_state, &ops, &text, self.light);
        for ((dark, token), (light, _)) in dark.zip(light) {
            let token = token.strip_suffix('\n').unwrap_or(token);
            let class = token_class(TokenLook::of(dark), TokenLook::of(light));
            push_piece(&mut row, &sanitize(token), Look::tone(Tone::Token(class)));
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
    fn dark_and_light_themes_lay_out_alike_and_colour_differently() {
        let dark = CodeLines::new("python", CodeTheme::Dark).line("def f(): return 1");
        let light = CodeLines::new("py", CodeTheme::Light).line("def f(): return 1");
        assert_eq!(dark, light);
        let colours = |theme| -> Vec<Rgb> {
            dark.iter()
                .map(|p| match p.look.tone {
                    Tone::Token(class) => token_look(class, theme).unwrap().colour,
                    other => panic!("not a token: {other:?}"),
                })
                .collect()
        };
        assert_ne!(colours(CodeTheme::Dark), colours(CodeTheme::Light));
        let Tone::Token(class) = dark[0].look.tone else {
            panic!("not a token")
        };
        assert_eq!(token_look(class, CodeTheme::Plain), None);
    }

    #[test]
    fn a_pair_of_looks_keeps_its_class() {
        let look = |r, bold| TokenLook {
            colour: Rgb(r, 2, 3),
            bold,
            italic: false,
            underline: false,
        };
        let a = token_class(look(201, true), look(202, false));
        assert_eq!(token_class(look(201, true), look(202, false)), a);
        assert_ne!(token_class(look(201, false), look(202, false)), a);
        assert_eq!(token_look(a, CodeTheme::Dark), Some(look(201, true)));
        assert_eq!(token_look(a, CodeTheme::Light), Some(look(202, false)));
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
