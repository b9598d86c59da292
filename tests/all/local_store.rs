//! Finding local models: config paths, `model_dir`, a generated Ollama store and the
//! download cache, with every reason a found model is passed over.

#![cfg(feature = "local")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use pretty_assertions::assert_eq;
use tinychat::config::{SYSTEM_OLLAMA_ROOT, expand_home, ollama_roots};
use tinychat::provider::local::LocalSettings;
use tinychat::provider::local::store::{Found, LocalModel, ModelSource, Skipped, find_models};

/// Writes a metadata-only GGUF (plus one tiny tensor when `tensor`) of `architecture`.
fn write_gguf(path: &Path, architecture: &str, tensor: bool) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = fs::File::create(path).unwrap();
    let arch = Value::String(architecture.to_owned());
    let name = Value::String(format!("test {architecture}"));
    let metadata = [("general.architecture", &arch), ("general.name", &name)];
    let weights = QTensor::quantize(
        &Tensor::zeros(8, candle_core::DType::F32, &Device::Cpu).unwrap(),
        GgmlDType::F32,
    )
    .unwrap();
    let tensors: Vec<(&str, &QTensor)> = if tensor {
        vec![("token_embd.weight", &weights)]
    } else {
        Vec::new()
    };
    gguf_file::write(&mut file, &metadata, &tensors).unwrap();
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

/// An Ollama store under construction.
struct Ollama {
    root: PathBuf,
}

impl Ollama {
    fn new(root: PathBuf) -> Self {
        fs::create_dir_all(root.join("blobs")).unwrap();
        Ollama { root }
    }

    fn blob(&self, hex: &str) -> PathBuf {
        self.root.join("blobs").join(format!("sha256-{hex}"))
    }

    /// A GGUF blob with digest `hex` (any 64 hex digits: the store does not rehash).
    fn gguf_blob(&self, hex: &str, architecture: &str) -> PathBuf {
        let blob = self.blob(hex);
        write_gguf(&blob, architecture, true);
        blob
    }

    /// A manifest at `registry/namespace/model/tag` with `(mediaType, hex)` layers.
    fn manifest(&self, at: &str, layers: &[(&str, &str)]) {
        let layers: Vec<_> = layers
            .iter()
            .map(|(media, hex)| {
                serde_json::json!({"mediaType": media, "digest": format!("sha256:{hex}"), "size": 1})
            })
            .collect();
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "digest": format!("sha256:{}", hex('c')), "size": 1},
            "layers": layers,
        });
        let path = self.root.join("manifests").join(at);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, body.to_string()).unwrap();
    }
}

fn hex(c: char) -> String {
    c.to_string().repeat(64)
}

const MODEL: &str = "application/vnd.ollama.image.model";
const TEMPLATE: &str = "application/vnd.ollama.image.template";

fn settings() -> LocalSettings {
    LocalSettings::default()
}

fn names(found: &Found) -> Vec<&str> {
    found.models.iter().map(|m| m.name.as_str()).collect()
}

fn skipped<'a>(found: &'a Found, name: &str) -> &'a str {
    &found
        .skipped
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} not skipped: {:?}", found.skipped))
        .reason
}

#[test]
fn ollama_models_are_named_as_ollama_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let ollama = Ollama::new(dir.path().join("ollama"));
    let qwen = ollama.gguf_blob(&hex('1'), "qwen2");
    ollama.gguf_blob(&hex('2'), "llama");
    ollama.gguf_blob(&hex('3'), "qwen3");
    fs::write(ollama.blob(&hex('t')), "{{ .Prompt }}").unwrap();
    ollama.manifest(
        "registry.ollama.ai/library/qwen2.5/0.5b",
        &[(MODEL, &hex('1')), (TEMPLATE, &hex('t'))],
    );
    ollama.manifest("registry.ollama.ai/someone/tiny/q8", &[(MODEL, &hex('2'))]);
    ollama.manifest("hf.co/bartowski/small-gguf/Q4_K_M", &[(MODEL, &hex('3'))]);
    // Hidden files (a Finder's .DS_Store) are not manifests.
    fs::write(
        ollama
            .root
            .join("manifests/registry.ollama.ai/library/qwen2.5/.DS_Store"),
        "x",
    )
    .unwrap();

    let found = find_models(&LocalSettings {
        ollama_roots: vec![ollama.root.clone()],
        ..settings()
    });

    assert_eq!(found.skipped, Vec::<Skipped>::new());
    assert_eq!(
        names(&found),
        [
            "hf.co/bartowski/small-gguf:Q4_K_M",
            "qwen2.5:0.5b",
            "someone/tiny:q8"
        ]
    );
    assert_eq!(
        found.models[1],
        LocalModel {
            name: "qwen2.5:0.5b".into(),
            path: qwen.clone(),
            source: ModelSource::Ollama,
            size: size(&qwen),
            architecture: "qwen2".into(),
        }
    );
    assert_eq!(found.models[2].architecture, "llama");
}

#[test]
fn unusable_ollama_entries_are_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ollama = Ollama::new(dir.path().join("ollama"));
    ollama.gguf_blob(&hex('1'), "qwen2");
    ollama.gguf_blob(&hex('2'), "qwen2");
    ollama.gguf_blob(&hex('4'), "gemma3");
    fs::write(ollama.blob(&hex('5')), "definitely not a GGUF file").unwrap();
    let lib = "registry.ollama.ai/library";
    ollama.manifest(&format!("{lib}/nomodel/latest"), &[(TEMPLATE, &hex('1'))]);
    ollama.manifest(
        &format!("{lib}/twomodels/latest"),
        &[(MODEL, &hex('1')), (MODEL, &hex('2'))],
    );
    ollama.manifest(
        &format!("{lib}/llava/latest"),
        &[
            (MODEL, &hex('1')),
            ("application/vnd.ollama.image.projector", &hex('2')),
        ],
    );
    ollama.manifest(
        &format!("{lib}/tuned/latest"),
        &[
            (MODEL, &hex('1')),
            ("application/vnd.ollama.image.adapter", &hex('2')),
        ],
    );
    ollama.manifest(&format!("{lib}/gone/latest"), &[(MODEL, &hex('9'))]);
    ollama.manifest(&format!("{lib}/gemma3/1b"), &[(MODEL, &hex('4'))]);
    ollama.manifest(&format!("{lib}/junk/latest"), &[(MODEL, &hex('5'))]);
    let broken = ollama.root.join(format!("manifests/{lib}/broken/latest"));
    fs::create_dir_all(broken.parent().unwrap()).unwrap();
    fs::write(&broken, "{not json").unwrap();

    let found = find_models(&LocalSettings {
        ollama_roots: vec![ollama.root.clone()],
        ..settings()
    });

    assert_eq!(names(&found), Vec::<&str>::new());
    assert_eq!(found.skipped.len(), 8, "{:?}", found.skipped);
    assert_eq!(
        skipped(&found, "nomodel:latest"),
        "the manifest has no model layer"
    );
    assert_eq!(
        skipped(&found, "twomodels:latest"),
        "the manifest has 2 model layers"
    );
    assert_eq!(
        skipped(&found, "llava:latest"),
        "it has a vision projector (a second model file), which tinychat cannot run"
    );
    assert_eq!(
        skipped(&found, "tuned:latest"),
        "it has an adapter layer, which tinychat cannot apply"
    );
    assert_eq!(
        skipped(&found, "gone:latest"),
        format!(
            "the model blob {} is missing",
            ollama.blob(&hex('9')).display()
        )
    );
    assert_eq!(
        skipped(&found, "gemma3:1b"),
        "architecture gemma3 is not supported (tinychat runs llama, qwen2, qwen3)"
    );
    assert!(
        skipped(&found, "junk:latest").starts_with("not a GGUF model file"),
        "{}",
        skipped(&found, "junk:latest")
    );
    assert!(
        skipped(&found, "broken:latest").contains("is not JSON"),
        "{}",
        skipped(&found, "broken:latest")
    );
}

#[test]
fn config_paths_come_first_and_missing_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let configured = dir.path().join("a/qwen2.5-0.5b-instruct-q8_0.gguf");
    write_gguf(&configured, "qwen2", false);
    let missing = dir.path().join("a/missing-model.gguf");
    let not_gguf = dir.path().join("a/notes.gguf");
    fs::write(&not_gguf, "hello").unwrap();
    let no_arch = dir.path().join("a/no-arch.gguf");
    gguf_file::write(&mut fs::File::create(&no_arch).unwrap(), &[], &[]).unwrap();

    let found = find_models(&LocalSettings {
        models: vec![configured.clone(), missing.clone(), not_gguf, no_arch],
        ..settings()
    });

    assert_eq!(
        found.models,
        [LocalModel {
            name: "qwen2.5-0.5b-instruct-q8_0".into(),
            path: configured.clone(),
            source: ModelSource::Config,
            size: size(&configured),
            architecture: "qwen2".into(),
        }]
    );
    let reason = skipped(&found, "missing-model");
    assert!(
        reason.starts_with(&format!("cannot read {}: ", missing.display())),
        "{reason}"
    );
    assert!(skipped(&found, "notes").starts_with("not a GGUF model file"));
    assert_eq!(
        skipped(&found, "no-arch"),
        "no `general.architecture` in its metadata"
    );
}

#[test]
fn model_dir_lists_its_gguf_files_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    write_gguf(&models.join("b-model.gguf"), "llama", false);
    write_gguf(&models.join("a-model.GGUF"), "qwen3", true);
    write_gguf(&models.join("c-gemma.gguf"), "gemma3", false);
    fs::write(models.join("readme.txt"), "not a model").unwrap();
    fs::create_dir_all(models.join("sub.gguf")).unwrap();
    write_gguf(&models.join("sub.gguf/deep.gguf"), "llama", false);

    let found = find_models(&LocalSettings {
        model_dir: Some(models.clone()),
        ..settings()
    });

    assert_eq!(names(&found), ["a-model", "b-model"]);
    assert!(
        found
            .models
            .iter()
            .all(|m| m.source == ModelSource::ModelDir)
    );
    assert_eq!(found.models[0].architecture, "qwen3");
    assert!(skipped(&found, "c-gemma").starts_with("architecture gemma3 is not supported"));
    assert_eq!(found.skipped.len(), 1);

    let missing = dir.path().join("nowhere");
    let found = find_models(&LocalSettings {
        model_dir: Some(missing.clone()),
        ..settings()
    });
    assert!(found.models.is_empty());
    assert!(
        skipped(&found, &missing.display().to_string())
            .starts_with(&format!("cannot read the folder {}: ", missing.display()))
    );
}

#[test]
fn downloads_are_listed_last_and_part_files_never() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    write_gguf(
        &cache.join("qwen2.5-0.5b-instruct-q8_0.gguf"),
        "qwen2",
        false,
    );
    write_gguf(&cache.join("other.gguf.part"), "qwen2", false);

    let found = find_models(&LocalSettings {
        cache_dir: Some(cache.clone()),
        ..settings()
    });
    assert_eq!(names(&found), ["qwen2.5-0.5b-instruct-q8_0"]);
    assert_eq!(found.models[0].source, ModelSource::Downloaded);
    assert_eq!(found.skipped, Vec::<Skipped>::new());

    // A cache folder that does not exist yet is not worth a word.
    let found = find_models(&LocalSettings {
        cache_dir: Some(dir.path().join("no-cache-yet")),
        ..settings()
    });
    assert_eq!(found, Found::default());
}

#[test]
fn the_same_file_is_listed_once_and_name_clashes_are_qualified() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let cache = dir.path().join("cache");
    let shared = models.join("tiny.gguf");
    write_gguf(&shared, "llama", false);
    write_gguf(&cache.join("tiny.gguf"), "qwen2", false);
    write_gguf(&dir.path().join("elsewhere/tiny.gguf"), "qwen3", false);
    let ollama = Ollama::new(dir.path().join("ollama"));
    ollama.gguf_blob(&hex('1'), "qwen2");
    ollama.manifest("registry.ollama.ai/library/q/latest", &[(MODEL, &hex('1'))]);
    ollama.manifest("registry.ollama.ai/library/q/small", &[(MODEL, &hex('1'))]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&shared, models.join("tiny-link.gguf")).unwrap();

    let found = find_models(&LocalSettings {
        // Configured by two spellings of one path: one entry.
        models: vec![
            shared.clone(),
            models.join(".").join("tiny.gguf"),
            dir.path().join("elsewhere/tiny.gguf"),
        ],
        model_dir: Some(models.clone()),
        cache_dir: Some(cache.clone()),
        ollama_roots: vec![ollama.root.clone()],
        ..settings()
    });

    let listed: Vec<(&str, ModelSource)> = found
        .models
        .iter()
        .map(|m| (m.name.as_str(), m.source))
        .collect();
    assert_eq!(
        listed,
        [
            ("tiny", ModelSource::Config),
            ("elsewhere/tiny", ModelSource::Config),
            // Two tags of one blob: the first in name order.
            ("q:latest", ModelSource::Ollama),
            ("cache/tiny", ModelSource::Downloaded),
        ]
    );
    assert_eq!(found.models[0].path, shared);
    assert_eq!(found.skipped, Vec::<Skipped>::new());
}

#[test]
fn ollama_models_env_replaces_the_home_store() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let home_store = home.join(".ollama/models");
    fs::create_dir_all(&home_store).unwrap();
    let custom = dir.path().join("custom");
    fs::create_dir_all(&custom).unwrap();
    let ours = |roots: Vec<PathBuf>| -> Vec<PathBuf> {
        roots
            .into_iter()
            .filter(|r| r != Path::new(SYSTEM_OLLAMA_ROOT))
            .collect()
    };

    let unset = |_: &str| None;
    assert_eq!(
        ours(ollama_roots(&unset, Some(&home))),
        std::slice::from_ref(&home_store)
    );

    let custom_text = custom.display().to_string();
    let set = |k: &str| (k == "OLLAMA_MODELS").then(|| custom_text.clone());
    assert_eq!(
        ours(ollama_roots(&set, Some(&home))),
        std::slice::from_ref(&custom)
    );

    // Set to a folder that does not exist: no fallback to the home store, and
    // searching it finds nothing and reports nothing.
    let gone = |k: &str| (k == "OLLAMA_MODELS").then(|| "/no/such/ollama".to_owned());
    let roots = ours(ollama_roots(&gone, Some(&home)));
    assert_eq!(roots, [PathBuf::from("/no/such/ollama")]);
    let found = find_models(&LocalSettings {
        ollama_roots: roots,
        ..settings()
    });
    assert_eq!(found, Found::default());

    // `~` in the variable means the home folder.
    let tilde = |k: &str| (k == "OLLAMA_MODELS").then(|| "~/.ollama/models".to_owned());
    assert_eq!(ours(ollama_roots(&tilde, Some(&home))), [home_store]);

    // No home: only the system store is searched.
    assert_eq!(
        ollama_roots(&unset, None),
        [PathBuf::from(SYSTEM_OLLAMA_ROOT)]
    );
}

#[test]
fn config_paths_expand_the_home_folder() {
    let home = Path::new("/home/ana");
    assert_eq!(
        expand_home("~/models/q.gguf", Some(home)),
        PathBuf::from("/home/ana/models/q.gguf")
    );
    assert_eq!(
        expand_home("/opt/q.gguf", Some(home)),
        PathBuf::from("/opt/q.gguf")
    );
}
