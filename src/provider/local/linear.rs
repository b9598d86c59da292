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

/// A weight matrix `(rows, k)` applied to `(tokens, k)` inputs.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: QMatMul,
    /// Zero columns appended to the weight; the input gets as many.
    pad: usize,
}

impl Linear {
    /// `t` as a matmul, padded when that reaches a faster kernel.
    pub fn new(t: QTensor) -> Result<Self> {
        Self::from_arc(Arc::new(t))
    }

    /// Like [`Linear::new`], sharing `t` when it needs no padding (tied embeddings).
    pub fn from_arc(t: Arc<QTensor>) -> Result<Self> {
        match padded_q8_0(&t)? {
            Some((wide, pad)) => Ok(Linear {
                weight: QMatMul::from_qtensor(wide)?,
                pad,
            }),
            None => Ok(Linear {
                weight: QMatMul::from_arc(t)?,
                pad: 0,
            }),
        }
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

/// `t` with zero blocks appended to each row up to a multiple of 256 columns, and
/// how many columns were added; `None` when that would not help.
fn padded_q8_0(t: &QTensor) -> Result<Option<(QTensor, usize)>> {
    let Ok((rows, k)) = t.shape().dims2() else {
        return Ok(None);
    };
    let wide = k.next_multiple_of(REPACK_K);
    // Past half again as much work the padding costs more than the kernel gains.
    if t.dtype() != GgmlDType::Q8_0
        || wide == k
        || wide * 2 > k * 3
        || !rows.is_multiple_of(16)
        || !has_vnni()
    {
        return Ok(None);
    }
    let (row_bytes, wide_bytes) = (k / Q8_0_BLOCK * Q8_0_BYTES, wide / Q8_0_BLOCK * Q8_0_BYTES);
    let data = t.data()?;
    let mut out = vec![0u8; rows * wide_bytes];
    for (src, dst) in data
        .chunks_exact(row_bytes)
        .zip(out.chunks_exact_mut(wide_bytes))
    {
        dst[..row_bytes].copy_from_slice(src);
    }
    let storage = QStorage::from_data(Cow::Owned(out), &Device::Cpu, GgmlDType::Q8_0)?;
    Ok(Some((QTensor::new(storage, (rows, wide))?, wide - k)))
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
    pub fn new(parts: Vec<QTensor>) -> Result<Self> {
        let dims: Vec<(usize, usize)> = parts
            .iter()
            .map(|t| t.shape().dims2())
            .collect::<Result<_>>()?;
        let Ok(rows) = <[usize; N]>::try_from(dims.iter().map(|d| d.0).collect::<Vec<_>>()) else {
            candle_core::bail!("a projection of {N} parts got {}", parts.len());
        };
        let dtype = parts[0].dtype();
        let k = dims[0].1;
        if parts.iter().all(|t| t.dtype() == dtype) && dims.iter().all(|d| d.1 == k) {
            let mut bytes = Vec::new();
            for t in &parts {
                bytes.extend_from_slice(&t.data()?);
            }
            let storage = QStorage::from_data(Cow::Owned(bytes), &Device::Cpu, dtype)?;
            let stacked = QTensor::new(storage, (rows.iter().sum::<usize>(), k))?;
            return Ok(Projection::Fused {
                weight: Linear::new(stacked)?,
                rows,
            });
        }
        Ok(Projection::Separate(
            parts.into_iter().map(Linear::new).collect::<Result<_>>()?,
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

    fn q8(t: &Tensor) -> QTensor {
        QTensor::quantize(t, GgmlDType::Q8_0).unwrap()
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
        let plain = QMatMul::from_qtensor(q8(&w)).unwrap().forward(&x).unwrap();
        if let Some((wide, pad)) = padded_q8_0(&q8(&w)).unwrap() {
            assert_eq!((wide.shape().dims2().unwrap(), pad), ((64, 256), 32));
        }
        let linear = Linear::new(q8(&w)).unwrap();
        let y = linear.forward(&x).unwrap();
        // Padding changes the kernel (and how the input is quantized), not the maths.
        assert!(max_diff(&plain, &y) < 0.05, "{}", max_diff(&plain, &y));
        let exact = x.matmul(&w.t().unwrap()).unwrap();
        assert!(max_diff(&exact, &y) < 0.05);
        // Too much padding for the gain: left as it is.
        assert!(padded_q8_0(&q8(&random(64, 96, 3))).unwrap().is_none());
    }

    #[test]
    fn stacked_parts_give_each_part_its_own_product() {
        let (a, b) = (random(32, 64, 3), random(48, 64, 4));
        let x = random(2, 64, 5);
        let fused = Projection::<2>::new(vec![q8(&a), q8(&b)]).unwrap();
        assert!(matches!(fused, Projection::Fused { .. }));
        let [ya, yb] = fused.forward(&x).unwrap();
        let ea = QMatMul::from_qtensor(q8(&a)).unwrap().forward(&x).unwrap();
        let eb = QMatMul::from_qtensor(q8(&b)).unwrap().forward(&x).unwrap();
        assert!(max_diff(&ya, &ea) < 0.05 && max_diff(&yb, &eb) < 0.05);
        // Different formats stay separate.
        let f32_b = QTensor::quantize(&b, GgmlDType::F32).unwrap();
        let mixed = Projection::<2>::new(vec![q8(&a), f32_b]).unwrap();
        assert!(matches!(mixed, Projection::Separate(_)));
        let [_, yb] = mixed.forward(&x).unwrap();
        assert!(max_diff(&yb, &x.matmul(&b.t().unwrap()).unwrap()) < 1e-4);
    }
}
