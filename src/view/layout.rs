//! Where each part of the screen goes, as a pure function of the terminal size.
//!
//! Wide terminals show the sidebar beside the conversation; below [`SIDEBAR_MIN_WIDTH`]
//! columns the sidebar only appears while it has the focus, so the conversation keeps
//! the width. Every computation saturates: no size, however small, can panic.

use ratatui::layout::Rect;

/// Narrower than this, the sidebar shows only while focused.
pub const SIDEBAR_MIN_WIDTH: u16 = 60;
/// Smaller than this, only a "too small" notice is drawn.
pub const MIN_WIDTH: u16 = 20;
pub const MIN_HEIGHT: u16 = 6;

/// The screen's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub sidebar: Option<Rect>,
    pub conversation: Rect,
    pub input: Rect,
    pub status: Rect,
    /// False when the terminal is below the minimum size.
    pub usable: bool,
}

/// Splits `screen` for an input box of `input_rows` text rows.
pub fn areas(screen: Rect, input_rows: u16, sidebar_focused: bool) -> Areas {
    if screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT {
        return Areas {
            usable: false,
            ..Areas::default()
        };
    }
    let status = Rect::new(screen.x, screen.bottom() - 1, screen.width, 1);
    let body_height = screen.height - 1;
    let show_sidebar = screen.width >= SIDEBAR_MIN_WIDTH || sidebar_focused;
    let sidebar_width = if screen.width >= SIDEBAR_MIN_WIDTH {
        (screen.width / 4).clamp(24, 34)
    } else {
        (screen.width * 3 / 5).max(16)
    };
    let (sidebar, main_x, main_width) = if show_sidebar {
        (
            Some(Rect::new(screen.x, screen.y, sidebar_width, body_height)),
            screen.x + sidebar_width,
            screen.width - sidebar_width,
        )
    } else {
        (None, screen.x, screen.width)
    };
    // The input grows with its text, up to a third of the screen (and at least one row).
    let max_input = (body_height / 3).max(3);
    let input_height = (input_rows.max(1) + 2).min(max_input).min(body_height - 3);
    let conversation_height = body_height - input_height;
    Areas {
        sidebar,
        conversation: Rect::new(main_x, screen.y, main_width, conversation_height),
        input: Rect::new(
            main_x,
            screen.y + conversation_height,
            main_width,
            input_height,
        ),
        status,
        usable: true,
    }
}

/// The text area inside a bordered box.
pub fn inner(area: Rect) -> Rect {
    Rect::new(
        area.x.saturating_add(1),
        area.y.saturating_add(1),
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn wide_screen_has_sidebar_conversation_input_and_status() {
        let a = areas(Rect::new(0, 0, 100, 30), 1, false);
        assert_eq!(a.sidebar, Some(Rect::new(0, 0, 25, 29)));
        assert_eq!(a.conversation, Rect::new(25, 0, 75, 26));
        assert_eq!(a.input, Rect::new(25, 26, 75, 3));
        assert_eq!(a.status, Rect::new(0, 29, 100, 1));
        let a = areas(Rect::new(0, 0, 80, 24), 1, false);
        assert_eq!(a.sidebar.map(|s| s.width), Some(24));
    }

    #[test]
    fn input_grows_up_to_a_third_of_the_screen() {
        let a = areas(Rect::new(0, 0, 100, 30), 20, false);
        assert_eq!(a.input.height, 9);
    }

    #[test]
    fn narrow_screen_hides_the_sidebar_unless_focused() {
        let a = areas(Rect::new(0, 0, 40, 12), 1, false);
        assert_eq!(a.sidebar, None);
        assert_eq!(a.conversation, Rect::new(0, 0, 40, 8));
        let a = areas(Rect::new(0, 0, 40, 12), 1, true);
        assert_eq!(a.sidebar.map(|s| s.width), Some(24));
    }

    #[test]
    fn tiny_screens_never_panic() {
        for w in 0..25 {
            for h in 0..10 {
                let a = areas(Rect::new(0, 0, w, h), 50, true);
                if a.usable {
                    assert!(a.conversation.height >= 1);
                }
            }
        }
    }
}
