//! Most integration tests, as modules of one test binary: one link of the crate and its
//! dependencies instead of one per file, which is most of what a clean test build costs.
//!
//! Tests that time themselves (`render_cost`, `fuzz_streams`, `hostile_streams`) or run
//! the in-process model (`local_engine`, `local_tokenizer`) stay binaries of their own,
//! so nothing else runs beside them.

#[path = "../common/mod.rs"]
mod common;

mod big_history;
mod cli;
mod cli_terminal;
mod e2e_pty;
mod editor_pty;
mod hostile_cli;
mod index;
mod key_burst_pty;
mod local_download;
mod local_store;
mod model_info;
mod provider_anthropic;
mod provider_cohere;
mod provider_gemini;
mod provider_models;
mod provider_ollama;
mod provider_openai;
mod provider_proxy;
mod provider_retry;
mod provider_thinking;
mod save_safety;
mod save_safety_pty;
mod storage;
mod thinking_pty;
