//! GGUF metadata: the typed key/value header every GGUF file starts with, read without
//! touching the tensor data, so finding and describing models stays cheap.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};

use super::LocalError;

/// The GGUF architectures the engine can run (`general.architecture`).
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["llama", "qwen2", "qwen3"];

/// A GGUF file's header: its metadata and where each tensor lies.
#[derive(Debug)]
pub struct GgufHeader {
    pub path: PathBuf,
    pub content: gguf_file::Content,
}

impl GgufHeader {
    /// Reads the header of `path` (metadata and tensor table, not the weights).
    pub fn read(path: &Path) -> Result<Self, LocalError> {
        let file = File::open(path).map_err(|e| LocalError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let mut reader = BufReader::new(file);
        let content = gguf_file::Content::read(&mut reader).map_err(|e| LocalError::BadModel {
            path: path.to_owned(),
            message: format!("not a GGUF model file ({e})"),
        })?;
        Ok(GgufHeader {
            path: path.to_owned(),
            content,
        })
    }

    /// The metadata, borrowed.
    pub fn metadata(&self) -> Metadata<'_> {
        Metadata::new(&self.content.metadata)
    }
}

/// Typed access to GGUF metadata; every missing or mistyped key is an error that names
/// the key, so a broken file says what is broken.
#[derive(Debug, Clone, Copy)]
pub struct Metadata<'a> {
    map: &'a HashMap<String, Value>,
}

impl<'a> Metadata<'a> {
    pub fn new(map: &'a HashMap<String, Value>) -> Self {
        Metadata { map }
    }

    /// The raw value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Result<&'a str, LocalError> {
        self.string("general.architecture")
    }

    /// A string value.
    pub fn string(&self, key: &str) -> Result<&'a str, LocalError> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(mistyped(key, "a string", other)),
            None => Err(missing(key)),
        }
    }

    /// A string value, or `None` when absent.
    pub fn opt_string(&self, key: &str) -> Result<Option<&'a str>, LocalError> {
        self.get(key).map(|_| self.string(key)).transpose()
    }

    /// Any integer value as `u64` (GGUF writers differ in the integer type they use).
    pub fn uint(&self, key: &str) -> Result<u64, LocalError> {
        match self.get(key) {
            Some(v) => as_uint(v).ok_or_else(|| mistyped(key, "an unsigned integer", v)),
            None => Err(missing(key)),
        }
    }

    /// An integer value, or `None` when absent.
    pub fn opt_uint(&self, key: &str) -> Result<Option<u64>, LocalError> {
        self.get(key).map(|_| self.uint(key)).transpose()
    }

    /// A float value (f32 or f64, or an integer written where a float was meant).
    pub fn float(&self, key: &str) -> Result<f64, LocalError> {
        match self.get(key) {
            Some(Value::F32(f)) => Ok(f64::from(*f)),
            Some(Value::F64(f)) => Ok(*f),
            Some(v) => as_uint(v)
                .map(|u| u as f64)
                .ok_or_else(|| mistyped(key, "a number", v)),
            None => Err(missing(key)),
        }
    }

    /// A float value, or `None` when absent.
    pub fn opt_float(&self, key: &str) -> Result<Option<f64>, LocalError> {
        self.get(key).map(|_| self.float(key)).transpose()
    }

    /// A boolean value, or `None` when absent.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, LocalError> {
        match self.get(key) {
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(mistyped(key, "a boolean", other)),
            None => Ok(None),
        }
    }

    /// An array of strings.
    pub fn strings(&self, key: &str) -> Result<Vec<&'a str>, LocalError> {
        self.array(key)?
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                other => Err(mistyped(key, "an array of strings", other)),
            })
            .collect()
    }

    /// An array of integers.
    pub fn uints(&self, key: &str) -> Result<Vec<u64>, LocalError> {
        self.array(key)?
            .iter()
            .map(|v| as_uint(v).ok_or_else(|| mistyped(key, "an array of integers", v)))
            .collect()
    }

    /// An array of signed integers (e.g. `tokenizer.ggml.token_type`).
    pub fn ints(&self, key: &str) -> Result<Vec<i64>, LocalError> {
        self.array(key)?
            .iter()
            .map(|v| as_int(v).ok_or_else(|| mistyped(key, "an array of integers", v)))
            .collect()
    }

    /// An array of floats (e.g. `tokenizer.ggml.scores`).
    pub fn floats(&self, key: &str) -> Result<Vec<f32>, LocalError> {
        self.array(key)?
            .iter()
            .map(|v| match v {
                Value::F32(f) => Ok(*f),
                Value::F64(f) => Ok(*f as f32),
                other => Err(mistyped(key, "an array of floats", other)),
            })
            .collect()
    }

    fn array(self, key: &str) -> Result<&'a [Value], LocalError> {
        match self.get(key) {
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(mistyped(key, "an array", other)),
            None => Err(missing(key)),
        }
    }
}

fn as_uint(v: &Value) -> Option<u64> {
    match v {
        Value::U8(x) => Some(u64::from(*x)),
        Value::U16(x) => Some(u64::from(*x)),
        Value::U32(x) => Some(u64::from(*x)),
        Value::U64(x) => Some(*x),
        Value::I8(x) => u64::try_from(*x).ok(),
        Value::I16(x) => u64::try_from(*x).ok(),
        Value::I32(x) => u64::try_from(*x).ok(),
        Value::I64(x) => u64::try_from(*x).ok(),
        _ => None,
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::I8(x) => Some(i64::from(*x)),
        Value::I16(x) => Some(i64::from(*x)),
        Value::I32(x) => Some(i64::from(*x)),
        Value::I64(x) => Some(*x),
        Value::U8(x) => Some(i64::from(*x)),
        Value::U16(x) => Some(i64::from(*x)),
        Value::U32(x) => Some(i64::from(*x)),
        Value::U64(x) => i64::try_from(*x).ok(),
        _ => None,
    }
}

fn missing(key: &str) -> LocalError {
    LocalError::Metadata(format!("no `{key}`"))
}

fn mistyped(key: &str, wanted: &str, got: &Value) -> LocalError {
    LocalError::Metadata(format!(
        "`{key}` should be {wanted}, not {:?}",
        got.value_type()
    ))
}

/// The most key/value pairs a header may claim before it counts as broken (real
/// models have a few dozen).
const MAX_HEADER_KEYS: u64 = 1 << 16;

/// Reads only `general.architecture` from `path`, skipping every other value without
/// keeping it: listing models must not load a 150,000-entry vocabulary per file.
pub fn read_architecture(path: &Path) -> Result<String, LocalError> {
    let io = |e: std::io::Error| LocalError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let bad = |message: String| LocalError::BadModel {
        path: path.to_owned(),
        message,
    };
    let file = File::open(path).map_err(io)?;
    let mut r = BufReader::new(file);
    let mut word = [0u8; 4];
    std::io::Read::read_exact(&mut r, &mut word).map_err(|_| bad(not_gguf()))?;
    if &word != b"GGUF" {
        return Err(bad(not_gguf()));
    }
    let version = read_u32(&mut r).map_err(|_| bad(not_gguf()))?;
    // Version 1 used 32-bit counts and lengths; 2 and 3 use 64-bit ones.
    let wide = match version {
        1 => false,
        2 | 3 => true,
        v => return Err(bad(format!("GGUF version {v} is not supported"))),
    };
    let len = |r: &mut BufReader<File>| -> std::io::Result<u64> {
        if wide {
            read_u64(r)
        } else {
            read_u32(r).map(u64::from)
        }
    };
    let _tensors = len(&mut r).map_err(io)?;
    let keys = len(&mut r).map_err(io)?;
    if keys > MAX_HEADER_KEYS {
        return Err(bad(format!("the header claims {keys} metadata keys")));
    }
    for _ in 0..keys {
        let key_len = len(&mut r).map_err(io)?;
        if key_len > 1 << 16 {
            return Err(bad("a metadata key is longer than 64 KiB".into()));
        }
        let mut key = vec![0u8; key_len as usize];
        std::io::Read::read_exact(&mut r, &mut key).map_err(io)?;
        let kind = read_u32(&mut r).map_err(io)?;
        if key == b"general.architecture" && kind == STRING {
            let n = len(&mut r).map_err(io)?;
            if n > 1 << 16 {
                return Err(bad("general.architecture is longer than 64 KiB".into()));
            }
            let mut value = vec![0u8; n as usize];
            std::io::Read::read_exact(&mut r, &mut value).map_err(io)?;
            return Ok(String::from_utf8_lossy(&value).into_owned());
        }
        skip_value(&mut r, kind, &len, 0).map_err(|e| match e {
            Skip::Io(e) => io(e),
            Skip::Bad(m) => bad(m),
        })?;
    }
    Err(bad("no `general.architecture` in its metadata".into()))
}

/// GGUF's value type for strings.
const STRING: u32 = 8;
/// GGUF's value type for arrays.
const ARRAY: u32 = 9;

enum Skip {
    Io(std::io::Error),
    Bad(String),
}

fn skip_value(
    r: &mut BufReader<File>,
    kind: u32,
    len: &dyn Fn(&mut BufReader<File>) -> std::io::Result<u64>,
    depth: u32,
) -> Result<(), Skip> {
    let fixed = |kind: u32| match kind {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    };
    match kind {
        STRING => {
            let n = len(r).map_err(Skip::Io)?;
            seek(r, n)
        }
        ARRAY => {
            if depth > 4 {
                return Err(Skip::Bad("metadata arrays nest too deep".into()));
            }
            let item = read_u32(r).map_err(Skip::Io)?;
            let count = len(r).map_err(Skip::Io)?;
            if let Some(size) = fixed(item) {
                let bytes = count
                    .checked_mul(size)
                    .ok_or_else(|| Skip::Bad("a metadata array is too large".into()))?;
                return seek(r, bytes);
            }
            for _ in 0..count {
                skip_value(r, item, len, depth + 1)?;
            }
            Ok(())
        }
        other => match fixed(other) {
            Some(size) => seek(r, size),
            None => Err(Skip::Bad(format!("unknown metadata value type {other}"))),
        },
    }
}

fn seek(r: &mut BufReader<File>, bytes: u64) -> Result<(), Skip> {
    let step =
        i64::try_from(bytes).map_err(|_| Skip::Bad("a metadata value is too large".into()))?;
    r.seek_relative(step).map_err(Skip::Io)
}

fn read_u32(r: &mut impl std::io::Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl std::io::Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn not_gguf() -> String {
    "not a GGUF model file".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, metadata: &[(&str, &Value)]) {
        let mut file = File::create(path).unwrap();
        gguf_file::write(&mut file, metadata, &[]).unwrap();
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test")]
    fn the_architecture_is_found_past_large_arrays_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        let tokens = Value::Array(
            (0..50_000)
                .map(|i| Value::String(format!("t{i}")))
                .collect(),
        );
        let scores = Value::Array((0..50_000).map(|i| Value::F32(i as f32)).collect());
        let nested = Value::Array(vec![Value::Array(vec![Value::U8(1)])]);
        write(
            &path,
            &[
                ("tokenizer.ggml.tokens", &tokens),
                ("tokenizer.ggml.scores", &scores),
                ("nested", &nested),
                ("general.name", &Value::String("x".into())),
                ("llama.block_count", &Value::U32(2)),
                ("general.architecture", &Value::String("qwen3".into())),
            ],
        );
        assert_eq!(read_architecture(&path).unwrap(), "qwen3");
        let full = GgufHeader::read(&path).unwrap();
        assert_eq!(full.metadata().architecture().unwrap(), "qwen3");
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test")]
    fn files_that_are_not_gguf_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.gguf");
        std::fs::write(&path, b"hello, this is text").unwrap();
        assert_eq!(
            read_architecture(&path).unwrap_err().to_string(),
            format!("{}: not a GGUF model file", path.display())
        );
        let none = dir.path().join("none.gguf");
        write(&none, &[("general.name", &Value::String("x".into()))]);
        assert_eq!(
            read_architecture(&none).unwrap_err().to_string(),
            format!(
                "{}: no `general.architecture` in its metadata",
                none.display()
            )
        );
        let truncated = dir.path().join("cut.gguf");
        std::fs::write(&truncated, b"GGUF\x03\x00\x00\x00\x00").unwrap();
        assert!(read_architecture(&truncated).is_err());
    }
}
