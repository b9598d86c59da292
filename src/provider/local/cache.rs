//! The KV cache: keys and values of every layer for the tokens seen so far, rewound
//! by a length so a prompt sharing a prefix with the last one reuses it.

use candle_core::{DType, Device, Tensor};

use super::model::Config;

/// Keys and values of every layer, `(kv_heads, capacity, head_dim)` each, grown by
/// doubling up to the context so a short chat does not reserve the whole window.
pub(super) struct KvCache {
    pub(super) layers: Vec<LayerCache>,
    n_layer: usize,
    heads: usize,
    head_dim: usize,
    capacity: usize,
    pub(super) len: usize,
    pub(super) max: usize,
}

pub(super) struct LayerCache {
    pub(super) k: Tensor,
    pub(super) v: Tensor,
}

/// The first allocation: a short exchange never grows the cache.
const INITIAL_CACHE: usize = 256;

impl KvCache {
    pub(super) fn new(c: &Config, max: usize) -> Self {
        KvCache {
            layers: Vec::new(),
            n_layer: c.n_layer,
            heads: c.n_kv_head,
            head_dim: c.head_dim,
            capacity: 0,
            len: 0,
            max,
        }
    }

    /// Makes room for `needed` positions, keeping the cached ones.
    pub(super) fn reserve(&mut self, needed: usize) -> candle_core::Result<()> {
        if needed <= self.capacity {
            return Ok(());
        }
        let capacity = needed
            .max(self.capacity * 2)
            .max(INITIAL_CACHE)
            .min(self.max);
        let zeros = || {
            Tensor::zeros(
                (self.heads, capacity, self.head_dim),
                DType::F32,
                &Device::Cpu,
            )
        };
        let mut grown = Vec::with_capacity(self.n_layer);
        for i in 0..self.n_layer {
            let (k, v) = (zeros()?, zeros()?);
            if let Some(old) = self.layers.get(i)
                && self.len > 0
            {
                k.slice_set(&old.k.narrow(1, 0, self.len)?.contiguous()?, 1, 0)?;
                v.slice_set(&old.v.narrow(1, 0, self.len)?.contiguous()?, 1, 0)?;
            }
            grown.push(LayerCache { k, v });
        }
        self.layers = grown;
        self.capacity = capacity;
        Ok(())
    }
}
