//! The transformer forward pass, written on candle's tensor ops so that the three GGUF
//! families we support (llama, qwen2, qwen3) share one small, auditable implementation
//! and one KV cache that can be rewound to a common prefix between turns.
//!
//! Weights stay quantized in memory; only the formats candle has no SIMD kernels for
//! are widened to Q8_0 at load, because running them as they are is several times
//! slower than the extra bytes cost.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};

use super::LocalError;
use super::cache::{KvCache, LayerCache};
use super::gguf::{GgufHeader, Metadata, SUPPORTED_ARCHITECTURES};
use super::linear::{Linear, Projection};
use super::loader::Loader;

/// The model families the forward pass knows; they differ in rope layout, biases and
/// per-head norms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Llama 2/3, SmolLM, Mistral: GGUF's q/k rows are permuted for interleaved rope.
    Llama,
    /// Qwen2 / Qwen2.5: q/k/v biases, NeoX (half-split) rope.
    Qwen2,
    /// Qwen3: per-head RMS norms on q and k, no biases, NeoX rope.
    Qwen3,
}

impl Arch {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "llama" => Some(Arch::Llama),
            "qwen2" => Some(Arch::Qwen2),
            "qwen3" => Some(Arch::Qwen3),
            _ => None,
        }
    }

    /// The `general.architecture` spelling, which also prefixes the hyper-parameters.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
        }
    }

    /// GGUF's llama conversion permutes q/k so that rope rotates adjacent pairs;
    /// the Qwen families keep the Hugging Face layout, which rotates the two halves.
    fn interleaved_rope(self) -> bool {
        self == Arch::Llama
    }
}

/// The hyper-parameters of a model, read from `{arch}.*` metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub arch: Arch,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub rms_eps: f32,
    pub rope_base: f32,
    /// The context the model was trained for (`{arch}.context_length`).
    pub context_length: usize,
}

impl Config {
    /// Reads and checks the hyper-parameters; `path` only names the file in errors.
    pub fn from_metadata(path: &Path, md: Metadata<'_>) -> Result<Self, LocalError> {
        let name = md.architecture()?;
        let arch = Arch::parse(name)
            .filter(|a| SUPPORTED_ARCHITECTURES.contains(&a.name()))
            .ok_or_else(|| LocalError::Unsupported {
                path: path.to_owned(),
                architecture: name.to_owned(),
            })?;
        let key = |k: &str| format!("{name}.{k}");
        let uint = |k: &str| -> Result<usize, LocalError> {
            usize::try_from(md.uint(&key(k))?)
                .map_err(|_| LocalError::Metadata(format!("`{}` is too large", key(k))))
        };
        let opt_uint = |k: &str| -> Result<Option<usize>, LocalError> {
            md.opt_uint(&key(k))?
                .map(|v| {
                    usize::try_from(v)
                        .map_err(|_| LocalError::Metadata(format!("`{}` is too large", key(k))))
                })
                .transpose()
        };
        let n_embd = uint("embedding_length")?;
        let n_head = uint("attention.head_count")?;
        let n_kv_head = opt_uint("attention.head_count_kv")?.unwrap_or(n_head);
        let bad = |message: String| LocalError::BadModel {
            path: path.to_owned(),
            message,
        };
        if n_head == 0 || n_kv_head == 0 || n_head % n_kv_head != 0 {
            return Err(bad(format!(
                "{n_head} attention heads cannot share {n_kv_head} key/value heads"
            )));
        }
        let head_dim = match opt_uint("attention.key_length")? {
            Some(d) => d,
            None => n_embd / n_head,
        };
        if head_dim == 0 || head_dim % 2 != 0 {
            return Err(bad(format!("head size {head_dim} is not even")));
        }
        if let Some(rope_dim) = opt_uint("rope.dimension_count")?
            && rope_dim != head_dim
        {
            return Err(bad(format!(
                "rope over {rope_dim} of {head_dim} head dimensions is not supported"
            )));
        }
        let config = Config {
            arch,
            n_layer: uint("block_count")?,
            n_embd,
            n_head,
            n_kv_head,
            head_dim,
            n_ff: uint("feed_forward_length")?,
            rms_eps: md
                .opt_float(&key("attention.layer_norm_rms_epsilon"))?
                .unwrap_or(1e-5) as f32,
            rope_base: md.opt_float(&key("rope.freq_base"))?.unwrap_or(10_000.0) as f32,
            context_length: uint("context_length")?,
        };
        if config.n_layer == 0 || config.context_length == 0 {
            return Err(bad("the model has no layers or no context".to_owned()));
        }
        Ok(config)
    }
}

/// What loading cost, for the log and the benches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadStats {
    pub elapsed: Duration,
    /// Tensors widened to Q8_0 because candle has no fast kernel for their format.
    pub requantized: usize,
    /// Bytes of weights held in memory after loading.
    pub weight_bytes: usize,
}

/// A loaded model with its KV cache: feed it tokens, get the next token's logits.
pub struct Model {
    config: Config,
    /// Token embeddings; may carry zero columns past `n_embd` (see `linear`).
    embedding: Arc<QTensor>,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    vocab_size: usize,
    /// `cos`/`sin` of every position up to the context, `(context, head_dim / 2)`.
    cos: Tensor,
    sin: Tensor,
    cache: KvCache,
    stats: LoadStats,
}

pub(super) struct Layer {
    pub(super) attn_norm: Tensor,
    /// q, k and v.
    pub(super) qkv: Projection<3>,
    /// Qwen2's projections carry biases.
    pub(super) biases: Option<[Tensor; 3]>,
    /// Qwen3 normalizes each head of q and k.
    pub(super) qk_norm: Option<[Tensor; 2]>,
    pub(super) o: Linear,
    pub(super) ffn_norm: Tensor,
    /// The gate and up halves of the MLP.
    pub(super) gate_up: Projection<2>,
    pub(super) down: Linear,
}

impl Model {
    /// Loads the weights of `header`'s file, with room for `context` tokens of cache.
    pub fn load(header: &GgufHeader, context: usize) -> Result<Self, LocalError> {
        let started = Instant::now();
        let c = Config::from_metadata(&header.path, header.metadata())?;
        let mut ld = Loader::new(header)?;
        // GGUF lists dims innermost first; candle reverses them to (rows, columns).
        let vocab_size = match header.content.tensor_infos.get("token_embd.weight") {
            Some(info) => match info.shape.dims() {
                [rows, _] => *rows,
                dims => {
                    return Err(ld.bad(format!("tensor `token_embd.weight` has shape {dims:?}")));
                }
            },
            None => return Err(ld.bad("tensor `token_embd.weight` is missing".to_owned())),
        };
        let (embedding, output) = ld.embedding_and_output(vocab_size, c.n_embd)?;
        let norm = ld.vector("output_norm.weight", c.n_embd)?;
        let layers = (0..c.n_layer)
            .map(|i| ld.layer(&c, i))
            .collect::<Result<Vec<_>, _>>()?;
        // Llama 3.x scales rope frequencies by a per-dimension factor table.
        let freq_factors = if ld.has("rope_freqs.weight") {
            let t = ld.vector("rope_freqs.weight", c.head_dim / 2)?;
            Some(t.to_vec1::<f32>().map_err(|e| ld.bad(e.to_string()))?)
        } else {
            None
        };
        let context = context.max(1);
        let (cos, sin) = rope_tables(&c, context, freq_factors.as_deref())
            .map_err(|e| ld.bad(format!("rope tables: {e}")))?;
        let stats = LoadStats {
            elapsed: started.elapsed(),
            requantized: ld.requantized,
            weight_bytes: ld.weight_bytes,
        };
        let cache = KvCache::new(&c, context);
        Ok(Model {
            config: c,
            embedding,
            layers,
            norm,
            output,
            vocab_size,
            cos,
            sin,
            cache,
            stats,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn stats(&self) -> LoadStats {
        self.stats
    }

    /// Rows of the output layer: every id the model can produce.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The most tokens the cache can hold.
    pub fn context(&self) -> usize {
        self.cache.max
    }

    /// Tokens currently in the cache (the next position).
    pub fn len(&self) -> usize {
        self.cache.len
    }

    pub fn is_empty(&self) -> bool {
        self.cache.len == 0
    }

    /// Forgets every cached position from `len` on, so a prompt that shares a prefix
    /// with the previous one only runs its new tokens.
    pub fn truncate(&mut self, len: usize) {
        self.cache.len = self.cache.len.min(len);
    }

    /// Runs `tokens` at positions `pos..` (forgetting anything cached from `pos` on)
    /// and returns the logits of the last one. Several tokens at once are a prefill
    /// chunk: each attends to the cache and to the chunk's earlier tokens only.
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Vec<f32>, LocalError> {
        self.forward_until(tokens, pos, &|| false)?
            .ok_or_else(|| LocalError::Inference("interrupted".to_owned()))
    }

    /// [`Model::forward`] that asks `stop` between layers and gives up (`Ok(None)`,
    /// the cache left at `pos`) when it says so: a long prefill chunk can then be
    /// abandoned within one layer's time.
    pub fn forward_until(
        &mut self,
        tokens: &[u32],
        pos: usize,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<Option<Vec<f32>>, LocalError> {
        if tokens.is_empty() {
            return Err(LocalError::Inference("no tokens to run".to_owned()));
        }
        if pos > self.cache.len {
            return Err(LocalError::Inference(format!(
                "position {pos} is past the {} cached tokens",
                self.cache.len
            )));
        }
        let end = pos + tokens.len();
        if end > self.cache.max {
            return Err(LocalError::Context(format!(
                "{end} tokens do not fit the {}-token context",
                self.cache.max
            )));
        }
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= self.vocab_size) {
            return Err(LocalError::Inference(format!(
                "token id {bad} is outside the vocabulary of {}",
                self.vocab_size
            )));
        }
        // Until the last layer has written its keys, the chunk is not in the cache.
        self.cache.len = pos;
        // On one of candle's pool threads, the ops that split work over rayon (norms,
        // softmax, rope, f32 matmuls) run there directly instead of each handing its
        // work to the pool and sleeping until it is done.
        let logits = Device::Cpu
            .with_context(|| self.run(tokens, pos, stop))
            .map_err(|e| inference(&e))?;
        if logits.is_some() {
            self.cache.len = end;
        }
        Ok(logits)
    }

    fn run(
        &mut self,
        tokens: &[u32],
        pos: usize,
        interrupted: &(dyn Fn() -> bool + Sync),
    ) -> candle_core::Result<Option<Vec<f32>>> {
        let t = tokens.len();
        self.cache.reserve(pos + t)?;
        let ids = Tensor::new(tokens, &Device::Cpu)?;
        let mut x = self.embedding.embedding(&ids)?;
        if x.dim(1)? != self.config.n_embd {
            x = x.narrow(1, 0, self.config.n_embd)?.contiguous()?;
        }
        let cos = self.cos.narrow(0, pos, t)?;
        let sin = self.sin.narrow(0, pos, t)?;
        let mask = (t > 1).then(|| causal_mask(t, pos)).transpose()?;
        let step = Step {
            pos,
            cos: &cos,
            sin: &sin,
            mask: mask.as_ref(),
        };
        for (i, layer) in self.layers.iter().enumerate() {
            if interrupted() {
                return Ok(None);
            }
            let normed = candle_nn::ops::rms_norm(&x, &layer.attn_norm, self.config.rms_eps)?;
            let attn = attention(
                &self.config,
                layer,
                &mut self.cache.layers[i],
                &normed,
                &step,
            )?;
            x = (x + attn)?;
            let normed = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, self.config.rms_eps)?;
            let [gate, up] = layer.gate_up.forward(&normed)?;
            let ffn = layer.down.forward(&(candle_nn::ops::silu(&gate)? * up)?)?;
            x = (x + ffn)?;
        }
        let last = x.narrow(0, t - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, self.config.rms_eps)?;
        self.output
            .forward(&last)?
            .flatten_all()?
            .to_vec1::<f32>()
            .map(Some)
    }
}

/// What every layer of one forward call shares.
struct Step<'a> {
    pos: usize,
    cos: &'a Tensor,
    sin: &'a Tensor,
    mask: Option<&'a Tensor>,
}

/// Self-attention of `h` (`(t, n_embd)`) over the cache and itself; appends k/v.
fn attention(
    cfg: &Config,
    layer: &Layer,
    cache: &mut LayerCache,
    hidden: &Tensor,
    step: &Step<'_>,
) -> candle_core::Result<Tensor> {
    let n = hidden.dim(0)?;
    let [mut q, mut k, mut v] = layer.qkv.forward(hidden)?;
    if let Some([bq, bk, bv]) = &layer.biases {
        q = q.broadcast_add(bq)?;
        k = k.broadcast_add(bk)?;
        v = v.broadcast_add(bv)?;
    }
    let mut q = q.reshape((n, cfg.n_head, cfg.head_dim))?;
    let mut k = k.reshape((n, cfg.n_kv_head, cfg.head_dim))?;
    if let Some([nq, nk]) = &layer.qk_norm {
        q = candle_nn::ops::rms_norm(&q, nq, cfg.rms_eps)?;
        k = candle_nn::ops::rms_norm(&k, nk, cfg.rms_eps)?;
    }
    // Heads first: (1, heads, n, head_dim), the layout rope and the cache use.
    let q = rope(cfg, &q.transpose(0, 1)?.contiguous()?, step)?;
    let k = rope(cfg, &k.transpose(0, 1)?.contiguous()?, step)?;
    let v = v
        .reshape((n, cfg.n_kv_head, cfg.head_dim))?
        .transpose(0, 1)?
        .contiguous()?;
    cache.k.slice_set(&k.squeeze(0)?, 1, step.pos)?;
    cache.v.slice_set(&v, 1, step.pos)?;
    let kv_len = step.pos + n;
    let keys = cache.k.narrow(1, 0, kv_len)?;
    let values = cache.v.narrow(1, 0, kv_len)?;
    // Grouped-query attention without copying k/v: the query heads that share a kv
    // head are stacked as extra rows of one matmul against it.
    let group = cfg.n_head / cfg.n_kv_head;
    let scale = 1.0 / (cfg.head_dim as f64).sqrt();
    let q = (q.reshape((cfg.n_kv_head, group * n, cfg.head_dim))? * scale)?;
    let scores = q.matmul(&keys.t()?)?;
    let scores = match step.mask {
        Some(mask) => scores
            .reshape((cfg.n_kv_head, group, n, kv_len))?
            .broadcast_add(mask)?
            .reshape((cfg.n_kv_head, group * n, kv_len))?,
        None => scores,
    };
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    let out = probs
        .matmul(&values)?
        .reshape((cfg.n_head, n, cfg.head_dim))?
        .transpose(0, 1)?
        .contiguous()?
        .reshape((n, cfg.n_head * cfg.head_dim))?;
    layer.o.forward(&out)
}

fn rope(cfg: &Config, x: &Tensor, step: &Step<'_>) -> candle_core::Result<Tensor> {
    let x = x.unsqueeze(0)?;
    if cfg.arch.interleaved_rope() {
        candle_nn::rotary_emb::rope_i(&x, step.cos, step.sin)
    } else {
        candle_nn::rotary_emb::rope(&x, step.cos, step.sin)
    }
}

/// `(t, pos + t)`: 0 where query `i` (at position `pos + i`) may look, −∞ after it.
fn causal_mask(t: usize, pos: usize) -> candle_core::Result<Tensor> {
    let kv_len = pos + t;
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| (0..kv_len).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(mask, (t, kv_len), &Device::Cpu)
}

fn rope_tables(
    c: &Config,
    context: usize,
    factors: Option<&[f32]>,
) -> candle_core::Result<(Tensor, Tensor)> {
    let half = c.head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| {
            let f = 1.0 / c.rope_base.powf(2.0 * i as f32 / c.head_dim as f32);
            f / factors.and_then(|fs| fs.get(i)).copied().unwrap_or(1.0)
        })
        .collect();
    let mut angles = Vec::with_capacity(context * half);
    for p in 0..context {
        angles.extend(inv_freq.iter().map(|f| p as f32 * f));
    }
    let angles = Tensor::from_vec(angles, (context, half), &Device::Cpu)?;
    Ok((angles.cos()?, angles.sin()?))
}

fn inference(e: &candle_core::Error) -> LocalError {
    LocalError::Inference(e.to_string())
}
