//! A tiny random-weight GGUF written at test time, so the engine's tests, benches and
//! the UI's end-to-end test run a real model file offline in milliseconds.
//!
//! The model is a 2-layer transformer (hidden 64, 4 query heads over 2 kv heads) with
//! a byte-level BPE vocabulary (the 256 GPT-2 byte tokens, a few merges and the ChatML
//! control tokens) and a ChatML chat template. Its tensors mix F32, Q8_0 and one Q4_1
//! (which the loader widens to Q8_0); layer 0's q/k/v differ in format, layer 1's not.
//!
//! [`TinySpec::reply`] builds a model whose greedy answer is known: the next-token
//! logits are dominated by a lookup on the current token (the output row of each
//! reply byte is the embedding of the byte before it, scaled up, and the layers are
//! scaled down), so after the prompt's final `\n` it produces the reply's bytes one
//! token each and then `<|im_end|>`.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};

/// Hidden size of the tiny model.
pub const TINY_HIDDEN: usize = 64;
/// Transformer blocks.
pub const TINY_LAYERS: usize = 2;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = TINY_HIDDEN / HEADS;
const FFN: usize = 128;
/// Small enough next to the layers' updates that the random model's reply depends on
/// the whole prompt (with tied embeddings and a dominant residual it would only repeat
/// its last token).
const EMBEDDING_STD: f32 = 0.2;

/// Merges after the 256 byte tokens: common English pairs, so encoding exercises BPE.
const MERGES: &[(&str, &str)] = &[
    ("Ġ", "t"),
    ("h", "e"),
    ("i", "n"),
    ("Ġt", "he"),
    ("e", "r"),
    ("o", "n"),
    ("Ġ", "a"),
    ("r", "e"),
    ("a", "t"),
    ("Ġ", "s"),
    ("e", "n"),
    ("l", "l"),
    ("o", "r"),
    ("Ġ", "w"),
    ("i", "s"),
    ("Ġ", "c"),
];

/// The control tokens, after the merges; `<|im_end|>` ends a turn.
pub const TINY_CONTROLS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// The tiny model's chat template unless [`TinySpec::chat_template`] says otherwise.
pub const TINY_CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct TinySpec {
    /// `general.architecture`: `llama`, `qwen2`, `qwen3` or any unsupported name.
    pub architecture: String,
    /// Seeds every weight.
    pub seed: u64,
    /// `{arch}.context_length`.
    pub context_length: usize,
    /// Standard deviation of the layer weights (the embeddings have 0.2).
    pub layer_scale: f32,
    /// When set, the greedy answer to any prompt ending in `\n` is exactly these bytes,
    /// one token each, then `<|im_end|>`. Its bytes must be distinct and not `\n`.
    pub reply: Option<String>,
    /// `tokenizer.ggml.add_bos_token` (the BOS is `<|endoftext|>`).
    pub add_bos: bool,
    /// Write a llama `rope_freqs.weight` table (Llama 3.x frequency scaling).
    pub rope_freqs: bool,
    /// `tokenizer.chat_template` (Jinja).
    pub chat_template: String,
}

impl TinySpec {
    /// A random model of `architecture`.
    pub fn new(architecture: &str) -> Self {
        TinySpec {
            architecture: architecture.to_owned(),
            seed: 1,
            context_length: 512,
            layer_scale: 0.3,
            reply: None,
            add_bos: false,
            rope_freqs: false,
            chat_template: TINY_CHATML.to_owned(),
        }
    }

    /// A model whose greedy answer is `reply` followed by the end of its turn.
    pub fn replying(architecture: &str, reply: &str) -> Self {
        TinySpec {
            reply: Some(reply.to_owned()),
            layer_scale: 0.02,
            ..TinySpec::new(architecture)
        }
    }
}

/// The id of `<|endoftext|>`, the tiny model's BOS.
pub fn tiny_bos_id() -> u32 {
    (256 + MERGES.len()) as u32
}

/// The id of `<|im_end|>` in the tiny vocabulary.
pub fn tiny_im_end_id() -> u32 {
    (256 + MERGES.len() + 2) as u32
}

/// Writes the tiny model to `path`.
pub fn write_tiny_gguf(path: &Path, spec: &TinySpec) -> io::Result<()> {
    let chain = reply_chain(spec)?;
    let arch = spec.architecture.as_str();
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let vocab = vocabulary();
    let n_vocab = vocab.len();

    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut add = |name: &str, t: QTensor| tensors.push((name.to_owned(), t));

    let embedding = random(&mut rng, n_vocab * TINY_HIDDEN, EMBEDDING_STD);
    add(
        "token_embd.weight",
        quantize(&embedding, &[n_vocab, TINY_HIDDEN], GgmlDType::Q8_0)?,
    );
    add(
        "output_norm.weight",
        quantize(&vec![1.0; TINY_HIDDEN], &[TINY_HIDDEN], GgmlDType::F32)?,
    );
    if let Some(chain) = &chain {
        let output = chained_output(&mut rng, &embedding, n_vocab, chain);
        add(
            "output.weight",
            quantize(&output, &[n_vocab, TINY_HIDDEN], GgmlDType::Q8_0)?,
        );
    }
    if spec.rope_freqs {
        let factors: Vec<f32> = (0..HEAD_DIM / 2).map(|i| 1.0 + i as f32 * 0.5).collect();
        add(
            "rope_freqs.weight",
            quantize(&factors, &[HEAD_DIM / 2], GgmlDType::F32)?,
        );
    }
    let s = spec.layer_scale;
    let q_out = HEADS * HEAD_DIM;
    let kv_out = KV_HEADS * HEAD_DIM;
    for layer in 0..TINY_LAYERS {
        let p = |n: &str| format!("blk.{layer}.{n}");
        let weight = |rng: &mut fastrand::Rng, name: &str, rows: usize, cols: usize| {
            // One tensor in Q4_1 exercises the loader's requantizing to Q8_0; one in
            // F32 keeps layer 0's q/k/v from sharing a format (so they are not fused).
            let dtype = match (layer, name) {
                (1, "ffn_up.weight") => GgmlDType::Q4_1,
                (0, "attn_v.weight") => GgmlDType::F32,
                _ => GgmlDType::Q8_0,
            };
            quantize(&random(rng, rows * cols, s), &[rows, cols], dtype).map(|t| (p(name), t))
        };
        let mut ws = vec![
            weight(&mut rng, "attn_q.weight", q_out, TINY_HIDDEN)?,
            weight(&mut rng, "attn_k.weight", kv_out, TINY_HIDDEN)?,
            weight(&mut rng, "attn_v.weight", kv_out, TINY_HIDDEN)?,
            weight(&mut rng, "attn_output.weight", TINY_HIDDEN, q_out)?,
            weight(&mut rng, "ffn_gate.weight", FFN, TINY_HIDDEN)?,
            weight(&mut rng, "ffn_up.weight", FFN, TINY_HIDDEN)?,
            weight(&mut rng, "ffn_down.weight", TINY_HIDDEN, FFN)?,
        ];
        let mut vector = |name: &str, len: usize, base: f32, spread: f32| {
            let v: Vec<f32> = (0..len)
                .map(|_| base + (rng.f32() * 2.0 - 1.0) * spread)
                .collect();
            quantize(&v, &[len], GgmlDType::F32).map(|t| (p(name), t))
        };
        ws.push(vector("attn_norm.weight", TINY_HIDDEN, 1.0, 0.1)?);
        ws.push(vector("ffn_norm.weight", TINY_HIDDEN, 1.0, 0.1)?);
        if arch == "qwen2" {
            ws.push(vector("attn_q.bias", q_out, 0.0, s)?);
            ws.push(vector("attn_k.bias", kv_out, 0.0, s)?);
            ws.push(vector("attn_v.bias", kv_out, 0.0, s)?);
        }
        if arch == "qwen3" {
            ws.push(vector("attn_q_norm.weight", HEAD_DIM, 1.0, 0.1)?);
            ws.push(vector("attn_k_norm.weight", HEAD_DIM, 1.0, 0.1)?);
        }
        for (name, t) in ws {
            add(&name, t);
        }
    }

    let metadata = metadata(spec, &vocab);
    let md: Vec<(&str, &gguf_file::Value)> =
        metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let mut out = BufWriter::new(File::create(path)?);
    gguf_file::write(&mut out, &md, &ts).map_err(io::Error::other)?;
    io::Write::flush(&mut out)
}

/// The byte chain of `spec.reply`: `\n` → first byte → … → last byte → `<|im_end|>`.
fn reply_chain(spec: &TinySpec) -> io::Result<Option<Vec<u32>>> {
    let Some(reply) = &spec.reply else {
        return Ok(None);
    };
    let bytes = reply.as_bytes();
    let mut seen = [false; 256];
    seen[usize::from(b'\n')] = true;
    for &b in bytes {
        if std::mem::replace(&mut seen[usize::from(b)], true) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("reply byte {b:#04x} repeats or is a newline"),
            ));
        }
    }
    let mut chain = vec![u32::from(b'\n')];
    chain.extend(bytes.iter().map(|&b| u32::from(b)));
    chain.push(tiny_im_end_id());
    Ok(Some(chain))
}

/// Output rows: small noise, except that the row of each chain token is its
/// predecessor's embedding scaled up, so that token wins after its predecessor.
fn chained_output(
    rng: &mut fastrand::Rng,
    embedding: &[f32],
    n_vocab: usize,
    chain: &[u32],
) -> Vec<f32> {
    let mut output = random(rng, n_vocab * TINY_HIDDEN, 0.05);
    for pair in chain.windows(2) {
        let (from, to) = (pair[0] as usize, pair[1] as usize);
        let e = &embedding[from * TINY_HIDDEN..(from + 1) * TINY_HIDDEN];
        let norm = e.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        for (o, x) in output[to * TINY_HIDDEN..(to + 1) * TINY_HIDDEN]
            .iter_mut()
            .zip(e)
        {
            *o = 4.0 * x / norm;
        }
    }
    output
}

/// Uniform values with standard deviation `std`.
fn random(rng: &mut fastrand::Rng, n: usize, std: f32) -> Vec<f32> {
    let half_width = std * 3f32.sqrt();
    (0..n)
        .map(|_| (rng.f32() * 2.0 - 1.0) * half_width)
        .collect()
}

fn quantize(values: &[f32], dims: &[usize], dtype: GgmlDType) -> io::Result<QTensor> {
    Tensor::from_slice(values, dims, &Device::Cpu)
        .and_then(|t| QTensor::quantize(&t, dtype))
        .map_err(io::Error::other)
}

/// GPT-2's printable stand-in for each byte, so every byte is a token text.
pub fn byte_to_unicode(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    let rank = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + rank).unwrap_or('?')
}

/// Token texts: bytes, merges, controls.
fn vocabulary() -> Vec<String> {
    let mut vocab: Vec<String> = (0..=255u8)
        .map(|b| byte_to_unicode(b).to_string())
        .collect();
    vocab.extend(MERGES.iter().map(|(a, b)| format!("{a}{b}")));
    vocab.extend(TINY_CONTROLS.iter().map(|c| (*c).to_owned()));
    vocab
}

fn metadata(spec: &TinySpec, vocab: &[String]) -> Vec<(String, gguf_file::Value)> {
    use gguf_file::Value as V;
    let arch = spec.architecture.as_str();
    let key = |k: &str| format!("{arch}.{k}");
    let u32v = |n: usize| V::U32(n as u32);
    let n_normal = 256 + MERGES.len();
    let types: Vec<V> = (0..vocab.len())
        .map(|i| V::I32(if i < n_normal { 1 } else { 3 }))
        .collect();
    vec![
        ("general.architecture".into(), V::String(arch.into())),
        (
            "general.name".into(),
            V::String("tinychat tiny test model".into()),
        ),
        (key("block_count"), u32v(TINY_LAYERS)),
        (key("context_length"), u32v(spec.context_length)),
        (key("embedding_length"), u32v(TINY_HIDDEN)),
        (key("feed_forward_length"), u32v(FFN)),
        (key("attention.head_count"), u32v(HEADS)),
        (key("attention.head_count_kv"), u32v(KV_HEADS)),
        (key("attention.layer_norm_rms_epsilon"), V::F32(1e-6)),
        (key("rope.freq_base"), V::F32(10_000.0)),
        (key("rope.dimension_count"), u32v(HEAD_DIM)),
        ("tokenizer.ggml.model".into(), V::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), V::String("qwen2".into())),
        (
            "tokenizer.ggml.tokens".into(),
            V::Array(vocab.iter().map(|t| V::String(t.clone())).collect()),
        ),
        ("tokenizer.ggml.token_type".into(), V::Array(types)),
        (
            "tokenizer.ggml.merges".into(),
            V::Array(
                MERGES
                    .iter()
                    .map(|(a, b)| V::String(format!("{a} {b}")))
                    .collect(),
            ),
        ),
        ("tokenizer.ggml.bos_token_id".into(), u32v(n_normal)),
        ("tokenizer.ggml.eos_token_id".into(), u32v(n_normal + 2)),
        ("tokenizer.ggml.padding_token_id".into(), u32v(n_normal)),
        ("tokenizer.ggml.add_bos_token".into(), V::Bool(spec.add_bos)),
        (
            "tokenizer.chat_template".into(),
            V::String(spec.chat_template.clone()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_map_to_distinct_characters() {
        let mut chars: Vec<char> = (0..=255u8).map(byte_to_unicode).collect();
        assert_eq!(byte_to_unicode(b' '), 'Ġ');
        assert_eq!(byte_to_unicode(b'\n'), 'Ċ');
        assert_eq!(byte_to_unicode(b'a'), 'a');
        chars.sort_unstable();
        chars.dedup();
        assert_eq!(chars.len(), 256);
    }

    #[test]
    fn merges_join_tokens_of_the_vocabulary() {
        let vocab = vocabulary();
        for (a, b) in MERGES {
            assert!(vocab.iter().any(|t| t == a) && vocab.iter().any(|t| t == b));
        }
        assert_eq!(vocab[tiny_im_end_id() as usize], "<|im_end|>");
    }

    #[test]
    fn a_reply_with_repeated_bytes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let spec = TinySpec::replying("llama", "hello");
        assert!(write_tiny_gguf(&dir.path().join("m.gguf"), &spec).is_err());
    }
}
