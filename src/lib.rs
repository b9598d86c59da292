//! tinychat: a full-screen terminal chat client for large language models.
//!
//! The library holds everything; `main.rs` only wires start-up. Layers (design §2):
//! `conversation` and `config` are plain data; `provider` and `storage` do I/O without
//! any UI; `app` and `view` are pure state transitions and derived view data; `ui` draws
//! and `runtime` runs the event loop that connects them.

pub mod app;
pub mod cli;
pub mod clipboard;
pub mod config;
pub mod conversation;
pub mod deadline;
pub mod external_editor;
pub mod frames;
pub mod logging;
pub mod model_ref;
pub mod model_settings;
pub mod provider;
pub mod runtime;
pub mod save_queue;
pub mod storage;
pub mod terminal;
pub mod ui;
pub mod user_file;
pub mod view;
