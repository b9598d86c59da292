//! The model a fresh machine can download to chat offline (spec §4 `local`): what the
//! welcome offers, and the download itself, with progress. Without the `local` feature
//! there is no offer, so the UI never shows one.

use std::time::Duration;

use super::ProviderSpec;

/// What the welcome offers: a label and the size to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadOffer {
    /// The model's name for people, e.g. "Qwen2.5 0.5B Instruct".
    pub label: &'static str,
    /// The file it lands in.
    pub file: &'static str,
    /// Bytes to download.
    pub size: u64,
}

/// How far a download is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DownloadProgress {
    pub done: u64,
    pub total: u64,
    pub bytes_per_sec: f64,
    pub eta: Option<Duration>,
}

/// The model this build offers to download, if it can run one.
pub fn offer() -> Option<DownloadOffer> {
    #[cfg(feature = "local")]
    {
        let file = &super::local::download::DEFAULT_MODEL;
        Some(DownloadOffer {
            label: file.label,
            file: file.file,
            size: file.size,
        })
    }
    #[cfg(not(feature = "local"))]
    None
}

#[cfg_attr(
    not(feature = "local"),
    allow(clippy::unused_async, reason = "the same signature in every build")
)]
/// Downloads the offered model for the `local` provider `spec` into its cache folder
/// (resuming a partial file, checking its SHA-256). Cancelled by dropping the future;
/// the partial file stays for the next try. The error is one line for the user.
pub async fn download(
    spec: &ProviderSpec,
    on_progress: &mut (dyn FnMut(DownloadProgress) + Send),
) -> Result<(), String> {
    #[cfg(feature = "local")]
    {
        use super::local::download as dl;
        let env = |name: &str| std::env::var(name).ok();
        let dir = spec
            .local
            .as_ref()
            .and_then(|s| s.cache_dir.clone())
            .ok_or_else(|| "no cache folder to download into (set HOME)".to_owned())?;
        let client = dl::download_client(&env).map_err(|e| e.to_string())?;
        let mut report = |p: dl::Progress| {
            on_progress(DownloadProgress {
                done: p.done,
                total: p.total,
                bytes_per_sec: p.bytes_per_sec,
                eta: p.eta,
            });
        };
        dl::download(
            &client,
            &dl::endpoint(&env),
            &dl::DEFAULT_MODEL,
            &dir,
            &mut report,
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "local"))]
    {
        let _ = (spec, on_progress);
        Err("this build has no in-process models (built without the `local` feature)".into())
    }
}
