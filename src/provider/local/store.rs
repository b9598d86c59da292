//! Which local models exist: GGUF files named in the config, the files of `model_dir`,
//! the models Ollama has already pulled, and the ones tinychat downloaded itself, so a
//! machine that has a model in any of these places can chat without fetching another.
//!
//! Only GGUF headers are read (metadata and the tensor table), never the weights: a
//! dozen multi-gigabyte models are listed in milliseconds.
//!
//! Names are what the user types after `local/`:
//! - a file is named by its stem (`qwen2.5-0.5b-instruct-q8_0.gguf` →
//!   `qwen2.5-0.5b-instruct-q8_0`);
//! - an Ollama model is named as `ollama list` names it (`qwen2.5:0.5b`,
//!   `user/model:tag`, `host/namespace/model:tag`).
//!
//! When two different files would get the same name, the one found first keeps it
//! (sources are searched in a fixed order: config, `model_dir`, Ollama, downloads;
//! files of a folder in name order). A later file is named `<parent folder>/<name>`,
//! and if that is taken too (or for an Ollama model) `<name>-2`, `<name>-3`, …: the
//! first free one. So a name only changes when a model that sorts before it appears.
//! The same file reached twice (a symlink, `model_dir` holding a configured file) is
//! listed once, under its first name.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::gguf::{SUPPORTED_ARCHITECTURES, read_architecture};
use super::{LocalError, LocalSettings};

/// Where a model was found; the model list shows it so a user knows which file runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelSource {
    /// A file named in `[local] models`.
    Config,
    /// A `*.gguf` file in `[local] model_dir`.
    ModelDir,
    /// A model pulled by Ollama (its blob is a plain GGUF).
    Ollama,
    /// A model tinychat downloaded into its cache.
    Downloaded,
}

/// One runnable model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModel {
    /// The model id after `local/`, unique among the models found.
    pub name: String,
    /// The GGUF file itself (for Ollama, the blob).
    pub path: PathBuf,
    pub source: ModelSource,
    /// Bytes on disk, shown in the model list and used to warn before loading.
    pub size: u64,
    /// `general.architecture`, one of [`SUPPORTED_ARCHITECTURES`].
    pub architecture: String,
}

/// A model that was found but cannot be used, with the reason; `tinychat models`
/// prints these on stderr so a configured model never disappears without a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// The outcome of a search: what can run and what was passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub models: Vec<LocalModel>,
    pub skipped: Vec<Skipped>,
}

/// The media type of the GGUF layer of an Ollama manifest.
const OLLAMA_MODEL_LAYER: &str = "application/vnd.ollama.image.model";
const OLLAMA_PROJECTOR_LAYER: &str = "application/vnd.ollama.image.projector";
const OLLAMA_ADAPTER_LAYER: &str = "application/vnd.ollama.image.adapter";
/// The registry and namespace Ollama leaves out of a model's name.
const OLLAMA_DEFAULT_REGISTRY: &str = "registry.ollama.ai";
const OLLAMA_DEFAULT_NAMESPACE: &str = "library";

/// Blocking (reads GGUF headers); the caller runs it off the UI thread.
pub fn find_models(settings: &LocalSettings) -> Found {
    let mut search = Search::default();
    for path in &settings.models {
        let name = file_stem(path);
        search.add_file(path, name, ModelSource::Config);
    }
    if let Some(dir) = &settings.model_dir {
        match gguf_files(dir) {
            Ok(files) => {
                for path in files {
                    let name = file_stem(&path);
                    search.add_file(&path, name, ModelSource::ModelDir);
                }
            }
            Err(reason) => search.found.skipped.push(Skipped {
                name: dir.display().to_string(),
                reason,
            }),
        }
    }
    for root in &settings.ollama_roots {
        search.add_ollama_root(root);
    }
    if let Some(dir) = &settings.cache_dir {
        // No cache folder simply means nothing was downloaded yet.
        for path in gguf_files(dir).unwrap_or_default() {
            let name = file_stem(&path);
            search.add_file(&path, name, ModelSource::Downloaded);
        }
    }
    search.found
}

/// The state of one search: what was found, which files were already seen and which
/// names are taken.
#[derive(Default)]
struct Search {
    found: Found,
    seen: HashSet<PathBuf>,
    names: HashSet<String>,
}

impl Search {
    /// Marks `path` as seen; false when the same file was already reached.
    fn first_visit(&mut self, path: &Path) -> bool {
        let key = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.seen.insert(key)
    }

    fn skip(&mut self, name: String, reason: String) {
        self.found.skipped.push(Skipped { name, reason });
    }

    fn add_file(&mut self, path: &Path, name: String, source: ModelSource) {
        if !self.first_visit(path) {
            return;
        }
        match inspect(path) {
            Ok((size, architecture)) => {
                let parent = path
                    .parent()
                    .and_then(Path::file_name)
                    .map(|p| p.to_string_lossy().into_owned());
                self.push(name, parent, path.to_path_buf(), source, size, architecture);
            }
            Err(reason) => self.skip(name, reason),
        }
    }

    fn push(
        &mut self,
        name: String,
        qualifier: Option<String>,
        path: PathBuf,
        source: ModelSource,
        size: u64,
        architecture: String,
    ) {
        let name = self.unique_name(name, qualifier);
        self.names.insert(name.clone());
        self.found.models.push(LocalModel {
            name,
            path,
            source,
            size,
            architecture,
        });
    }

    /// `name`, else `<qualifier>/<name>`, else the first free `<name>-N` (module docs).
    fn unique_name(&self, name: String, qualifier: Option<String>) -> String {
        if !self.names.contains(&name) {
            return name;
        }
        if let Some(qualified) = qualifier.map(|q| format!("{q}/{name}"))
            && !self.names.contains(&qualified)
        {
            return qualified;
        }
        // At most `names.len()` numbers are taken, so one of these is free.
        (2..=self.names.len() + 2)
            .map(|n| format!("{name}-{n}"))
            .find(|candidate| !self.names.contains(candidate))
            .unwrap_or(name)
    }

    /// Every manifest of an Ollama store, in name order.
    fn add_ollama_root(&mut self, root: &Path) {
        let manifests = root.join("manifests");
        for registry in sorted_entries(&manifests, true) {
            for namespace in sorted_entries(&registry, true) {
                for model in sorted_entries(&namespace, true) {
                    for tag in sorted_entries(&model, false) {
                        let name = ollama_name(
                            &entry_name(&registry),
                            &entry_name(&namespace),
                            &entry_name(&model),
                            &entry_name(&tag),
                        );
                        self.add_ollama_manifest(root, &tag, name);
                    }
                }
            }
        }
    }

    fn add_ollama_manifest(&mut self, root: &Path, manifest: &Path, name: String) {
        let blob = match ollama_model_blob(root, manifest) {
            Ok(blob) => blob,
            Err(reason) => return self.skip(name, reason),
        };
        if !self.first_visit(&blob) {
            return;
        }
        match inspect(&blob) {
            Ok((size, architecture)) => {
                self.push(name, None, blob, ModelSource::Ollama, size, architecture);
            }
            Err(reason) => self.skip(name, reason),
        }
    }
}

/// Ollama's display name for a manifest path: the default registry and the `library`
/// namespace are left out, as `ollama list` does.
fn ollama_name(registry: &str, namespace: &str, model: &str, tag: &str) -> String {
    if registry != OLLAMA_DEFAULT_REGISTRY {
        format!("{registry}/{namespace}/{model}:{tag}")
    } else if namespace != OLLAMA_DEFAULT_NAMESPACE {
        format!("{namespace}/{model}:{tag}")
    } else {
        format!("{model}:{tag}")
    }
}

/// The GGUF blob a manifest names, or why the entry cannot be used. Vision models
/// (a projector) and adapters need a second file the engine cannot load, so they are
/// refused here rather than failing later with a confusing error.
fn ollama_model_blob(root: &Path, manifest: &Path) -> Result<PathBuf, String> {
    let text = fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read the manifest {}: {e}", manifest.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("the manifest {} is not JSON: {e}", manifest.display()))?;
    let layers = value
        .get("layers")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format!("the manifest {} has no layers", manifest.display()))?;
    let mut models = Vec::new();
    for layer in layers {
        let media_type = layer
            .get("mediaType")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        match media_type {
            OLLAMA_PROJECTOR_LAYER => {
                return Err(
                    "it has a vision projector (a second model file), which tinychat cannot run"
                        .to_owned(),
                );
            }
            OLLAMA_ADAPTER_LAYER => {
                return Err("it has an adapter layer, which tinychat cannot apply".to_owned());
            }
            OLLAMA_MODEL_LAYER => models.push(
                layer
                    .get("digest")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default(),
            ),
            _ => {}
        }
    }
    let digest = match models.as_slice() {
        [] => return Err("the manifest has no model layer".to_owned()),
        [one] => *one,
        many => return Err(format!("the manifest has {} model layers", many.len())),
    };
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| format!("the model layer's digest `{digest}` is not a sha256 digest"))?;
    let blob = root.join("blobs").join(format!("sha256-{hex}"));
    if !blob.is_file() {
        return Err(format!("the model blob {} is missing", blob.display()));
    }
    Ok(blob)
}

/// The size and architecture of a usable GGUF, or why it cannot be used.
fn inspect(path: &Path) -> Result<(u64, String), String> {
    let meta = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    // Only the architecture is read: a vocabulary of 150,000 strings per file would
    // make listing a large Ollama store slow and leave its memory behind.
    let architecture = read_architecture(path).map_err(|e| match e {
        LocalError::BadModel { message, .. } => message,
        other => other.to_string(),
    })?;
    let architecture = architecture.as_str();
    if !SUPPORTED_ARCHITECTURES.contains(&architecture) {
        return Err(format!(
            "architecture {architecture} is not supported (tinychat runs {})",
            SUPPORTED_ARCHITECTURES.join(", ")
        ));
    }
    Ok((meta.len(), architecture.to_owned()))
}

/// The `*.gguf` files directly in `dir`, sorted by name. A `.part` download is
/// `<file>.gguf.part` and so never matches.
fn gguf_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        fs::read_dir(dir).map_err(|e| format!("cannot read the folder {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("gguf"))
                && path.is_file()
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The entries of `dir` (folders or files), sorted, without hidden ones (`.DS_Store`);
/// an unreadable folder has none.
fn sorted_entries(dir: &Path, folders: bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| !entry_name(path).starts_with('.'))
        .filter(|path| {
            if folders {
                path.is_dir()
            } else {
                path.is_file()
            }
        })
        .collect();
    paths.sort();
    paths
}

fn entry_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A file's name without `.gguf`; the whole path when it has no name.
fn file_stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_names_drop_the_default_registry_and_namespace() {
        assert_eq!(
            ollama_name("registry.ollama.ai", "library", "qwen2.5", "0.5b"),
            "qwen2.5:0.5b"
        );
        assert_eq!(
            ollama_name("registry.ollama.ai", "user", "model", "tag"),
            "user/model:tag"
        );
        assert_eq!(
            ollama_name("hf.co", "bartowski", "qwen-gguf", "Q4_K_M"),
            "hf.co/bartowski/qwen-gguf:Q4_K_M"
        );
    }

    #[test]
    fn clashing_names_take_the_parent_folder_then_a_number() {
        let mut search = Search::default();
        for _ in 0..3 {
            search.push(
                "m".into(),
                Some("dir".into()),
                PathBuf::from("x"),
                ModelSource::ModelDir,
                1,
                "qwen2".into(),
            );
        }
        search.push(
            "m".into(),
            None,
            PathBuf::from("y"),
            ModelSource::Ollama,
            1,
            "qwen2".into(),
        );
        let names: Vec<_> = search
            .found
            .models
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(names, ["m", "dir/m", "m-2", "m-3"]);
    }
}
