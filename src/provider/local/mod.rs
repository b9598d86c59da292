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
pub mod download;
mod engine;
mod error;
pub mod gguf;
mod linear;
mod loader;
pub mod model;
mod requant;
pub mod sampler;
pub mod store;
pub mod template;
#[doc(hidden)]
pub mod testing;
pub mod tokenizer;

pub use engine::{PREFILL_CHUNK, stream_chat};
pub use error::LocalError;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;

use super::{ChatRequest, ProviderError, ReplyStream, failed_reply};

pub use crate::config::LocalSettings;

/// The context used when the config names none and the model's own is larger.
pub const DEFAULT_CONTEXT_CAP: usize = 8192;

/// The threads the kernels use when the config names no number.
pub fn default_threads() -> usize {
    num_cpus::get_physical().saturating_sub(1).max(1)
}

/// What the last search for models found, so a reply does not read every GGUF
/// header again to find its file, and `tinychat models` can say what it skipped
/// without searching twice. Filled by every search.
static FOUND: Mutex<Option<store::Found>> = Mutex::new(None);

/// Looks for models now (blocking) and remembers what it found.
fn search(settings: &LocalSettings) -> store::Found {
    let found = store::find_models(settings);
    if let Ok(mut memo) = FOUND.lock() {
        *memo = Some(found.clone());
    }
    found
}

/// The last search's outcome, or a new search when there was none.
fn last_search(settings: &LocalSettings) -> store::Found {
    let remembered = FOUND.lock().ok().and_then(|memo| memo.clone());
    remembered.unwrap_or_else(|| search(settings))
}

/// The file behind `name`: remembered from the last search while it still exists,
/// else from a new search.
fn resolve(settings: &LocalSettings, name: &str) -> Option<PathBuf> {
    let path_in = |found: store::Found| {
        found
            .models
            .into_iter()
            .find(|m| m.name == name)
            .map(|m| m.path)
    };
    let remembered = FOUND.lock().ok().and_then(|memo| memo.clone());
    remembered
        .and_then(path_in)
        .filter(|p| p.is_file())
        .or_else(|| path_in(search(settings)))
}

/// The names of every usable local model. No model at all is an error, so the
/// sidebar keeps the group hidden (like an Ollama that does not answer).
pub(crate) async fn list_models(
    provider: &str,
    settings: Arc<LocalSettings>,
) -> Result<Vec<String>, ProviderError> {
    let found = tokio::task::spawn_blocking(move || search(&settings))
        .await
        .map_err(|e| ProviderError::local(provider, format!("the model search failed: {e}")))?;
    if found.models.is_empty() {
        return Err(ProviderError::local(provider, "no GGUF model found"));
    }
    Ok(found.models.into_iter().map(|m| m.name).collect())
}

/// One line per file the last search passed over, for `tinychat models` on stderr.
pub(crate) fn skipped_notes(settings: &LocalSettings) -> Vec<String> {
    last_search(settings)
        .skipped
        .into_iter()
        .map(|s| format!("skipped {}: {}", s.name, s.reason))
        .collect()
}

/// A reply from the local model `request.model`: its file is found off the async
/// threads, then the engine thread generates.
pub(crate) fn reply(
    provider: &str,
    settings: Arc<LocalSettings>,
    request: ChatRequest,
) -> ReplyStream {
    let provider = provider.to_owned();
    let start = async move {
        let name = request.model.clone();
        let lookup = Arc::clone(&settings);
        let path = tokio::task::spawn_blocking(move || resolve(&lookup, &name)).await;
        match path {
            Ok(Some(path)) => engine::stream_chat(&provider, &settings, &path, request),
            Ok(None) => failed_reply(ProviderError::local(
                &provider,
                format!(
                    "no local model `{}` (see `tinychat models` for the ones found)",
                    request.model
                ),
            )),
            Err(e) => failed_reply(ProviderError::local(
                &provider,
                format!("the model search failed: {e}"),
            )),
        }
    };
    Box::pin(futures_util::stream::once(start).flatten())
}
