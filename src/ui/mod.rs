//! Drawing: `draw(frame, &app, &theme)` borrows the state and its view data and writes
//! the frame. Nothing here mutates the app or decides anything (design §1); widgets take
//! their styles from [`theme::Theme`].

pub mod browser;
pub mod first_run;
pub mod history;
pub mod panel;
pub mod popup;
pub mod sidebar;
pub mod status;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::app::App;
use crate::view::layout::{MIN_HEIGHT, MIN_WIDTH};

use panel::Panel;
use theme::Theme;

/// Title of the input box (spec §5).
pub const INPUT_TITLE: &str = " Message · Enter send · Alt+Enter newline ";

/// Draws one frame.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let screen = frame.area();
    let buf = frame.buffer_mut();
    // A resize may still be on its way: never draw outside the real frame.
    if !app.areas().usable || app.screen() != screen {
        if !app.areas().usable {
            Paragraph::new(format!(
                "Terminal too small ({}×{}): tinychat needs {MIN_WIDTH}×{MIN_HEIGHT}. Ctrl+Q quits.",
                screen.width, screen.height
            ))
            .wrap(Wrap { trim: true })
            .render(screen, buf);
        }
        return;
    }
    if let Some(area) = app.areas().sidebar {
        sidebar::draw(app, theme, area, buf);
    }
    history::draw(app, theme, app.areas().conversation, buf);
    draw_input(app, theme, app.areas().input, buf);
    status::draw(app, theme, app.areas().status, buf);
    if let Some(popup) = app.popup() {
        popup::draw(popup, theme, screen, buf);
    }
}

fn draw_input(app: &App, theme: &Theme, area: Rect, buf: &mut ratatui::buffer::Buffer) {
    let focused = app.input_takes_keys();
    let inner = Panel::inner(area);
    Panel {
        border_style: if focused {
            theme.border_focused
        } else {
            theme.border
        },
        title: Line::from(Span::styled(INPUT_TITLE, theme.title)),
        bottom_right: None,
    }
    .render(area, buf);
    if app.input().is_empty() && !focused {
        let hint = Line::styled("Tab to type…", theme.dim);
        buf.set_line(inner.x, inner.y, &hint, inner.width);
    } else {
        app.input().render(inner, buf);
    }
}

#[cfg(test)]
mod tests;
