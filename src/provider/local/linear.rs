//! Weight matrices as the forward pass uses them, laid out for candle's fastest CPU
//! kernels: matrices that read the same input are stacked into one matmul, and Q8_0
//! matrices whose input length is not a multiple of 256 are zero-padded to one on CPUs
//! with VNNI, where only such shapes reach candle's repacked VNNI kernel. (SmolLM2's
//! 576-wide layers otherwise run on the AVX2 dot products: its 49152×576 output layer
//! took 11.7 ms a token that way and 6.5 ms padded to 768.)

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{D, Device, Module, Result, Tensor};

/// Values per Q8_0 block, and its size in bytes.
const Q8_0_BLOCK: usize = 32;
const Q8_0_BYTES: usize = 34;
/// The input lengths candle's repacked x86 kernels take a multiple of.
const REPACK_K: usize = 256;

/// A weight matrix as stored in the file: `rows` rows of `k` values in `dtype` blocks.
#[derive(Debug, Clone)]
pub struct RawWeight {
    pub dtype: GgmlDType,
    pub rows: usize,
    pub k: usize,
    pub bytes: Vec<u8>,
}

impl RawWeight {
    fn row_bytes(&self) -> usize {
        self.k / self.dtype.block_size() * self.dtype.type_size()
    }

    /// As a tensor, unchanged.
    pub fn to_qtensor(&self) -> Result<QTensor> {
        let storage = QStorage::from_data(Cow::Borrowed(&self.bytes), &Device::Cpu, self.dtype)?;
        QTensor::new(storage, (self.rows, self.k))
    }
}

/// A weight matrix `(rows, k)` applied to `(tokens, k)` inputs.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: QMatMul,
    /// Zero columns appended to the weight; the input gets as many.
    pad: usize,
}

impl Linear {
    /// `w` as a matmul, padded when that reaches a faster kernel.
    pub fn new(w: &RawWeight) -> Result<Self> {
        Self::stacked(std::slice::from_ref(w))
    }

    /// The rows of `parts` (same format and `k`) stacked into one matrix, in one copy.
    fn stacked(parts: &[RawWeight]) -> Result<Self> {
        let Some(first) = parts.first() else {
            candle_core::bail!("no weights to stack");
        };
        let (dtype, k) = (first.dtype, first.k);
        let rows: usize = parts.iter().map(|p| p.rows).sum();
        let pad = padding(dtype, rows, k);
        let row_bytes = first.row_bytes();
        let wide_bytes = row_bytes + pad / Q8_0_BLOCK * Q8_0_BYTES;
        let mut out = vec![0u8; rows * wide_bytes];
        let mut dst = out.chunks_exact_mut(wide_bytes);
        for part in parts {
            if part.dtype != dtype || part.k != k || part.bytes.len() != part.rows * row_bytes {
                candle_core::bail!("weights of different shapes or formats cannot be stacked");
            }
            for (src, d) in part.bytes.chunks_exact(row_bytes).zip(&mut dst) {
                d[..row_bytes].copy_from_slice(src);
            }
        }
        let storage = QStorage::from_data(Cow::Owned(out), &Device::Cpu, dtype)?;
        let t = QTensor::new(storage, (rows, k + pad))?;
        Ok(Linear {
            weight: QMatMul::from_qtensor(t)?,
            pad,
        })
    }

    /// The weight and its padding, when it is one quantized tensor (for a tied
    /// embedding to look rows up in the same copy).
    pub fn quantized(&self) -> Option<(Arc<QTensor>, usize)> {
        match &self.weight {
            QMatMul::QTensor(t) => Some((Arc::clone(t), self.pad)),
            _ => None,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.pad == 0 {
            self.weight.forward(x)
        } else {
            self.weight
                .forward(&x.pad_with_zeros(D::Minus1, 0, self.pad)?)
        }
    }
}

/// Whether this CPU runs candle's repacked Q8_0 kernel (AVX512-VNNI or AVX-VNNI).
fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        (std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni"))
            || (std::arch::is_x86_feature_detected!("avxvnni")
                && std::arch::is_x86_feature_detected!("avx2"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Zero columns to add to a `(rows, k)` matrix so candle's repacked kernel takes it:
/// Q8_0 only, up to a multiple of 256, and not when that is half again the work.
fn padding(dtype: GgmlDType, rows: usize, k: usize) -> usize {
    let wide = k.next_multiple_of(REPACK_K);
    if dtype != GgmlDType::Q8_0 || wide == k || wide * 2 > k * 3 || !rows.is_multiple_of(16) {
        return 0;
    }
    if has_vnni() { wide - k } else { 0 }
}

/// Matrices that read the same input, stacked into one matmul when they share a
/// format (the input is quantized once and the kernels start once).
#[derive(Debug, Clone)]
pub enum Projection<const N: usize> {
    /// Rows of every part stacked; the output is split by `rows`.
    Fused { weight: Linear, rows: [usize; N] },
    /// Weights of different formats cannot share a kernel.
    Separate(Vec<Linear>),
}

impl<const N: usize> Projection<N> {
    /// The parts, each `(rows_i, k)`.
    pub fn new(parts: &[RawWeight; N]) -> Result<Self> {
        let first = &parts[0];
        if parts
            .iter()
            .all(|p| p.dtype == first.dtype && p.k == first.k)
        {
            return Ok(Projection::Fused {
                weight: Linear::stacked(parts)?,
                rows: std::array::from_fn(|i| parts[i].rows),
            });
        }
        Ok(Projection::Separate(
            parts.iter().map(Linear::new).collect::<Result<_>>()?,
        ))
    }

    pub fn forward(&self, x: &Tensor) -> Result<[Tensor; N]> {
        let outs: Vec<Tensor> = match self {
            Projection::Fused { weight, rows } => {
                let y = weight.forward(x)?;
                let mut start = 0;
                rows.iter()
                    .map(|&n| {
                        let part = y.narrow(1, start, n);
                        start += n;
                        part
                    })
                    .collect::<Result<_>>()?
            }
            Projection::Separate(ws) => ws.iter().map(|w| w.forward(x)).collect::<Result<_>>()?,
        };
        outs.try_into()
            .map_err(|_| candle_core::Error::Msg("projection parts".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(rows: usize, k: usize, seed: u64) -> Tensor {
        let mut rng = fastrand::Rng::with_seed(seed);
        let v: Vec<f32> = (0..rows * k).map(|_| rng.f32() - 0.5).collect();
        Tensor::from_vec(v, (rows, k), &Device::Cpu).unwrap()
    }

    fn raw(t: &Tensor, dtype: GgmlDType) -> RawWeight {
        let q = QTensor::quantize(t, dtype).unwrap();
        let (rows, k) = t.dims2().unwrap();
        RawWeight {
            dtype,
            rows,
            k,
            bytes: q.data().unwrap().into_owned(),
        }
    }

    fn plain(t: &Tensor) -> QMatMul {
        QMatMul::from_qtensor(QTensor::quantize(t, GgmlDType::Q8_0).unwrap()).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    #[test]
    fn padding_keeps_the_product() {
        let w = random(64, 224, 1);
        let x = random(3, 224, 2);
        let linear = Linear::new(&raw(&w, GgmlDType::Q8_0)).unwrap();
        assert_eq!(linear.pad, if has_vnni() { 32 } else { 0 });
        let y = linear.forward(&x).unwrap();
        // Padding changes the kernel (and how the input is quantized), not the maths.
        assert!(max_diff(&plain(&w).forward(&x).unwrap(), &y) < 0.05);
        assert!(max_diff(&x.matmul(&w.t().unwrap()).unwrap(), &y) < 0.05);
        // Too much padding for the gain, or a format the kernel does not take.
        assert_eq!(padding(GgmlDType::Q8_0, 64, 96), 0);
        assert_eq!(padding(GgmlDType::Q4K, 64, 224), 0);
        assert_eq!(
            padding(GgmlDType::Q8_0, 60, 224),
            0,
            "rows not a multiple of 16"
        );
    }

    #[test]
    fn stacked_parts_give_each_part_its_own_product() {
        let (a, b) = (random(32, 576, 3), random(48, 576, 4));
        let x = random(2, 576, 5);
        let fused = Projection::new(&[raw(&a, GgmlDType::Q8_0), raw(&b, GgmlDType::Q8_0)]).unwrap();
        assert!(matches!(fused, Projection::Fused { .. }));
        let [ya, yb] = fused.forward(&x).unwrap();
        assert!(max_diff(&ya, &plain(&a).forward(&x).unwrap()) < 0.05);
        assert!(max_diff(&yb, &plain(&b).forward(&x).unwrap()) < 0.05);
        // Different formats stay separate.
        let mixed = Projection::new(&[raw(&a, GgmlDType::Q8_0), raw(&b, GgmlDType::F32)]).unwrap();
        assert!(matches!(mixed, Projection::Separate(_)));
        let [_, yb] = mixed.forward(&x).unwrap();
        assert!(max_diff(&yb, &x.matmul(&b.t().unwrap()).unwrap()) < 1e-4);
    }
}
