//! The `local` provider: GGUF models that run inside tinychat's own process, on the CPU
//! (spec §4, design §11), so a machine with no key and no server can still chat.
//!
//! The rest of the app sees one more [`super::ProviderKind`] whose reply stream yields
//! the same [`super::StreamEvent`]s as the HTTP providers. Nothing here is loaded until
//! a local model is first used: the engine thread starts on the first reply.
//!
//! Files: `gguf` reads metadata, `model` runs the transformer, `tokenizer` and
//! `template` turn a conversation into token ids, `sampler` picks tokens, `engine` owns
//! the generation thread, `store` finds model files, `download` fetches the default one.

mod cache;
mod engine;
mod error;
pub mod gguf;
mod linear;
mod loader;
pub mod model;
mod requant;
pub mod sampler;
pub mod template;
#[doc(hidden)]
pub mod testing;
pub mod tokenizer;

use std::path::PathBuf;

pub use engine::{PREFILL_CHUNK, stream_chat};
pub use error::LocalError;

/// The `[local]` table of the config (spec §4), resolved: plain data, cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalSettings {
    /// GGUF files named in `[local] models` (already `~`-expanded).
    pub models: Vec<PathBuf>,
    /// `[local] model_dir`: every `*.gguf` in it is a model.
    pub model_dir: Option<PathBuf>,
    /// Threads for the kernels; `None` means physical cores − 1 (at least 1), because
    /// candle's spin-waiting pool collapses when another process holds one of the cores.
    pub threads: Option<usize>,
    /// Context window in tokens; `None` means the model's own, capped at
    /// [`DEFAULT_CONTEXT_CAP`] so a 128k-context model does not reserve gigabytes.
    pub context: Option<usize>,
    /// Where downloaded models live (`<cache_dir>/models`).
    pub cache_dir: Option<PathBuf>,
    /// Ollama's model store roots to search (`$OLLAMA_MODELS`, `~/.ollama/models`,
    /// `/usr/share/ollama/.ollama/models`), in that order.
    pub ollama_roots: Vec<PathBuf>,
}

/// The context used when the config names none and the model's own is larger.
pub const DEFAULT_CONTEXT_CAP: usize = 8192;

/// The threads the kernels use when the config names no number.
pub fn default_threads() -> usize {
    num_cpus::get_physical().saturating_sub(1).max(1)
}
