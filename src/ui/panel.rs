//! Bordered panes drawn by touching only their border row and column cells.
//!
//! ratatui's `Block` first sets its style on every cell of its area, then draws the
//! border and titles; with the default style that first pass changes nothing, yet it
//! visits the whole screen once a frame (a fifth of a frame's cost while a reply
//! streams). [`Panel`] draws the same plain border and titles, cell for cell, without
//! it: the inside is left as the frame's fresh buffer has it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::Line;
use ratatui::widgets::Widget;

/// A plain-bordered pane with a title on the top border (left) and, optionally, one on
/// the bottom border (right), as `Block::bordered()` draws them.
pub struct Panel<'a> {
    pub border_style: Style,
    pub title: Line<'a>,
    pub bottom_right: Option<Line<'a>>,
}

impl Panel<'_> {
    /// The area inside the border.
    pub fn inner(area: Rect) -> Rect {
        Rect::new(
            area.x.saturating_add(1).min(area.right()),
            area.y.saturating_add(1).min(area.bottom()),
            area.width.saturating_sub(2),
            area.height.saturating_sub(2),
        )
    }

    pub fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let set = border::PLAIN;
        let (left, top) = (area.left(), area.top());
        let right = area.right() - 1;
        let bottom = area.bottom() - 1;
        let style = self.border_style;
        for y in top.saturating_add(1)..=bottom.saturating_sub(1) {
            buf[(left, y)]
                .set_symbol(set.vertical_left)
                .set_style(style);
            buf[(right, y)]
                .set_symbol(set.vertical_right)
                .set_style(style);
        }
        for x in left.saturating_add(1)..=right.saturating_sub(1) {
            buf[(x, top)]
                .set_symbol(set.horizontal_top)
                .set_style(style);
            buf[(x, bottom)]
                .set_symbol(set.horizontal_bottom)
                .set_style(style);
        }
        for (x, y, symbol) in [
            (right, bottom, set.bottom_right),
            (right, top, set.top_right),
            (left, bottom, set.bottom_left),
            (left, top, set.top_left),
        ] {
            buf[(x, y)].set_symbol(symbol).set_style(style);
        }
        // Titles sit between the corners.
        let titles = |y| Rect::new(left.saturating_add(1), y, area.width.saturating_sub(2), 1);
        let top_titles = titles(top);
        if !top_titles.is_empty() {
            let width = line_width(&self.title).min(top_titles.width);
            self.title.render(
                Rect {
                    width,
                    ..top_titles
                },
                buf,
            );
        }
        let bottom_titles = titles(bottom);
        if let Some(line) = self.bottom_right.filter(|_| !bottom_titles.is_empty()) {
            let width = line_width(&line);
            let x = bottom_titles
                .right()
                .saturating_sub(width)
                .max(bottom_titles.left());
            let title_area = Rect {
                x,
                width: width.min(bottom_titles.width),
                ..bottom_titles
            };
            line.render(title_area, buf);
        }
    }
}

fn line_width(line: &Line) -> u16 {
    line.width().min(usize::from(u16::MAX)) as u16
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Color, Modifier};
    use ratatui::text::Span;
    use ratatui::widgets::Block;

    use super::*;

    /// The panel and `Block::bordered()` with the same border style and titles, drawn
    /// over a buffer that already has text in it: every cell must match.
    fn same_as_block(area: Rect, title: &str, bottom: Option<&str>) {
        let style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
        let title_style = Style::new().fg(Color::Yellow);
        let mut base = Buffer::empty(Rect::new(0, 0, 30, 8));
        for y in 0..8 {
            base.set_string(0, y, "x".repeat(30), Style::new().fg(Color::Red));
        }
        let mut by_block = base.clone();
        let mut block = Block::bordered()
            .border_style(style)
            .title(Span::styled(title, title_style));
        if let Some(b) = bottom {
            block = block.title_bottom(Line::styled(b, title_style).right_aligned());
        }
        assert_eq!(Panel::inner(area), block.inner(area), "{area:?}");
        block.render(area, &mut by_block);
        let mut by_panel = base;
        Panel {
            border_style: style,
            title: Line::from(Span::styled(title, title_style)),
            bottom_right: bottom.map(|b| Line::styled(b, title_style).right_aligned()),
        }
        .render(area, &mut by_panel);
        assert_eq!(by_panel, by_block, "{area:?} {title:?} {bottom:?}");
    }

    #[test]
    fn a_panel_draws_what_a_bordered_block_draws_cell_for_cell() {
        for area in [
            Rect::new(0, 0, 30, 8),
            Rect::new(2, 1, 20, 5),
            Rect::new(3, 2, 2, 2),
            Rect::new(0, 0, 1, 1),
            Rect::new(0, 0, 3, 1),
            Rect::new(0, 0, 1, 4),
            Rect::new(25, 5, 10, 10),
            Rect::new(0, 0, 0, 3),
        ] {
            same_as_block(area, " Models ", None);
            same_as_block(area, " a title much longer than the pane is wide ", None);
            same_as_block(area, " t ", Some(" ↓ 12 more rows · End follows "));
            same_as_block(area, "", Some(" ↓ 3 "));
        }
    }
}
