//! Errors of the local provider: each says what is wrong with which file, in words a
//! user can act on.

use std::path::PathBuf;

/// Something the local provider could not do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocalError {
    /// The file could not be read at all.
    #[error("cannot read {path}: {message}")]
    Io { path: PathBuf, message: String },
    /// The file is not a GGUF model tinychat can use.
    #[error("{path}: {message}")]
    BadModel { path: PathBuf, message: String },
    /// The GGUF's architecture has no implementation here.
    #[error(
        "{path}: architecture `{architecture}` is not supported (supported: llama, qwen2, qwen3)"
    )]
    Unsupported { path: PathBuf, architecture: String },
    /// A metadata key is missing or has the wrong type.
    #[error("GGUF metadata: {0}")]
    Metadata(String),
    /// The GGUF's tokenizer metadata cannot be used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template failed to parse or render.
    #[error("chat template: {0}")]
    Template(String),
    /// The conversation does not fit the context window even after trimming.
    #[error("{0}")]
    Context(String),
    /// The inference kernels failed.
    #[error("inference failed: {0}")]
    Inference(String),
}
