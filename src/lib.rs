//! tinychat: a full-screen terminal chat client for large language models.
//!
//! The library holds everything; `main.rs` only wires start-up. Layers (design §2):
//! `conversation` and `config` are plain data; `provider` and `storage` do I/O without
//! any UI; `app` and `view` are pure state transitions and derived view data; `ui` draws
//! and `runtime` runs the event loop that connects them.

pub mod config;
pub mod conversation;
pub mod provider;
pub mod storage;
