//! Reading a GGUF's weights into the layout the forward pass runs: matrices as raw
//! blocks (widened to Q8_0 where candle has no fast kernel, then stacked and padded by
//! `linear`), small vectors as f32.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use candle_core::quantized::gguf_file::TensorInfo;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::LocalError;
use super::gguf::GgufHeader;
use super::linear::{Linear, Projection, RawWeight};
use super::model::{Arch, Config, Layer};
use super::requant;

/// Reads tensors out of the file named by a header, checking their shapes so a broken
/// file is an error naming the tensor, not a panic inside a kernel.
pub(super) struct Loader<'a> {
    header: &'a GgufHeader,
    reader: BufReader<File>,
    pub(super) requantized: usize,
    pub(super) weight_bytes: usize,
}

impl<'a> Loader<'a> {
    pub(super) fn new(header: &'a GgufHeader) -> Result<Self, LocalError> {
        let file = File::open(&header.path).map_err(|e| LocalError::Io {
            path: header.path.clone(),
            message: e.to_string(),
        })?;
        Ok(Loader {
            header,
            reader: BufReader::with_capacity(1 << 20, file),
            requantized: 0,
            weight_bytes: 0,
        })
    }

    pub(super) fn bad(&self, message: String) -> LocalError {
        LocalError::BadModel {
            path: self.header.path.clone(),
            message,
        }
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.header.content.tensor_infos.contains_key(name)
    }

    fn info(&self, name: &str, dims: &[usize]) -> Result<&'a TensorInfo, LocalError> {
        let Some(info) = self.header.content.tensor_infos.get(name) else {
            return Err(self.bad(format!("tensor `{name}` is missing")));
        };
        if info.shape.dims() != dims {
            return Err(self.bad(format!(
                "tensor `{name}` has shape {:?}, expected {dims:?}",
                info.shape.dims()
            )));
        }
        Ok(info)
    }

    /// The matrix `name` of `rows × k` as raw blocks, widened to Q8_0 when its format
    /// has no fast kernel (see `requant`).
    fn raw(&mut self, name: &str, rows: usize, k: usize) -> Result<RawWeight, LocalError> {
        let info = self.info(name, &[rows, k])?;
        let dtype = info.ggml_dtype;
        let len = info.shape.elem_count() / dtype.block_size() * dtype.type_size();
        let start = self.header.content.tensor_data_offset + info.offset;
        let mut bytes = vec![0u8; len];
        self.reader
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.reader.read_exact(&mut bytes))
            .map_err(|e| self.bad(format!("tensor `{name}`: {e}")))?;
        let (dtype, bytes) = if requant::widens(dtype) {
            self.requantized += 1;
            let wide = requant::widen(dtype, &bytes)
                .map_err(|e| self.bad(format!("tensor `{name}`: {e}")))?;
            (GgmlDType::Q8_0, wide)
        } else {
            (dtype, bytes)
        };
        self.weight_bytes += bytes.len();
        Ok(RawWeight {
            dtype,
            rows,
            k,
            bytes,
        })
    }

    fn matmul(&mut self, name: &str, rows: usize, k: usize) -> Result<Linear, LocalError> {
        let w = self.raw(name, rows, k)?;
        Linear::new(&w).map_err(|e| self.bad(format!("tensor `{name}`: {e}")))
    }

    /// The weights of `parts` (name, rows), all reading vectors of length `k`.
    fn projection<const N: usize>(
        &mut self,
        parts: &[(&str, usize); N],
        k: usize,
    ) -> Result<Projection<N>, LocalError> {
        let mut raws = Vec::with_capacity(N);
        for (name, rows) in parts {
            raws.push(self.raw(name, *rows, k)?);
        }
        let raws: [RawWeight; N] = raws
            .try_into()
            .map_err(|_| self.bad("projection parts".to_owned()))?;
        Projection::new(&raws).map_err(|e| self.bad(format!("{}: {e}", parts[0].0)))
    }

    /// The token embeddings, and the output layer (tied to them when the file has
    /// no `output.weight`).
    pub(super) fn embedding_and_output(
        &mut self,
        vocab_size: usize,
        n_embd: usize,
    ) -> Result<(Arc<QTensor>, Linear), LocalError> {
        let embedding = self.raw("token_embd.weight", vocab_size, n_embd)?;
        let path = self.header.path.clone();
        let bad = |e: candle_core::Error| LocalError::BadModel {
            path: path.clone(),
            message: format!("tensor `token_embd.weight`: {e}"),
        };
        if self.has("output.weight") {
            let output = self.matmul("output.weight", vocab_size, n_embd)?;
            return Ok((Arc::new(embedding.to_qtensor().map_err(bad)?), output));
        }
        let output = Linear::new(&embedding).map_err(bad)?;
        // Tied: the lookups read the output's own copy (padding columns cut off),
        // unless the matmul holds it widened to f32.
        let table = match output.quantized() {
            Some((shared, _)) => shared,
            None => Arc::new(embedding.to_qtensor().map_err(bad)?),
        };
        Ok((table, output))
    }

    /// Transformer block `i`.
    pub(super) fn layer(&mut self, c: &Config, i: usize) -> Result<Layer, LocalError> {
        let p = |s: &str| format!("blk.{i}.{s}");
        let q_out = c.n_head * c.head_dim;
        let kv_out = c.n_kv_head * c.head_dim;
        let biases = if c.arch == Arch::Qwen2 {
            Some([
                self.vector(&p("attn_q.bias"), q_out)?,
                self.vector(&p("attn_k.bias"), kv_out)?,
                self.vector(&p("attn_v.bias"), kv_out)?,
            ])
        } else {
            None
        };
        let qk_norm = if c.arch == Arch::Qwen3 {
            Some([
                self.vector(&p("attn_q_norm.weight"), c.head_dim)?,
                self.vector(&p("attn_k_norm.weight"), c.head_dim)?,
            ])
        } else {
            None
        };
        Ok(Layer {
            attn_norm: self.vector(&p("attn_norm.weight"), c.n_embd)?,
            qkv: self.projection(
                &[
                    (&p("attn_q.weight"), q_out),
                    (&p("attn_k.weight"), kv_out),
                    (&p("attn_v.weight"), kv_out),
                ],
                c.n_embd,
            )?,
            biases,
            qk_norm,
            o: self.matmul(&p("attn_output.weight"), c.n_embd, q_out)?,
            ffn_norm: self.vector(&p("ffn_norm.weight"), c.n_embd)?,
            gate_up: self.projection(
                &[
                    (&p("ffn_gate.weight"), c.n_ff),
                    (&p("ffn_up.weight"), c.n_ff),
                ],
                c.n_embd,
            )?,
            down: self.matmul(&p("ffn_down.weight"), c.n_embd, c.n_ff)?,
        })
    }

    /// A small tensor (norm weight, bias) as plain f32.
    pub(super) fn vector(&mut self, name: &str, len: usize) -> Result<Tensor, LocalError> {
        self.info(name, &[len])?;
        self.header
            .content
            .tensor(&mut self.reader, name, &Device::Cpu)
            .and_then(|t| t.dequantize(&Device::Cpu))
            .map_err(|e| self.bad(format!("tensor `{name}`: {e}")))
    }
}
