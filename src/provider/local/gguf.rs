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
