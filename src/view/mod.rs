//! Data derived from the app state for drawing: layout rectangles, wrapped history rows.
//!
//! Computed inside `App::update` whenever size or content changes and only borrowed by
//! `ui::draw` (design §1). No terminal I/O and no `Frame` here.

pub mod code_blocks;
pub mod figures;
pub mod highlight;
pub mod history_layout;
pub mod layout;
pub mod lines;
pub mod markdown;
pub mod message_body;
pub mod message_layout;
pub mod row_index;
pub mod styled;
pub mod wrap;
