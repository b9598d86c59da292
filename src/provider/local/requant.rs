//! Widening Q4_1, Q5_0 and Q5_1 weights to Q8_0 at load: candle 0.11 has no x86 SIMD
//! kernels for those three, so Q8_0 runs several times faster. Done on the raw blocks,
//! on every core, because candle's own path (dequantize to f32, then a scalar
//! quantizer calling `round` per value) took most of a 135M model's load time.
//!
//! The result is bit-for-bit what `QTensor::quantize(&t.dequantize()?, Q8_0)` gives.

use candle_core::quantized::GgmlDType;

/// Values per block in all four formats.
const BLOCK: usize = 32;
/// Bytes of one Q8_0 block: an f16 scale and 32 signed bytes.
const Q8_0_BYTES: usize = 34;

/// Whether `dtype` is widened at load.
pub fn widens(dtype: GgmlDType) -> bool {
    source_bytes(dtype).is_some()
}

fn source_bytes(dtype: GgmlDType) -> Option<usize> {
    match dtype {
        GgmlDType::Q4_1 => Some(20),
        GgmlDType::Q5_0 => Some(22),
        GgmlDType::Q5_1 => Some(24),
        _ => None,
    }
}

/// `data` (raw `dtype` blocks) as raw Q8_0 blocks.
pub fn widen(dtype: GgmlDType, data: &[u8]) -> candle_core::Result<Vec<u8>> {
    let Some(block_bytes) = source_bytes(dtype) else {
        candle_core::bail!("{dtype:?} is not widened to Q8_0");
    };
    if !data.len().is_multiple_of(block_bytes) {
        candle_core::bail!("{} bytes are not whole {dtype:?} blocks", data.len());
    }
    let blocks = data.len() / block_bytes;
    let mut out = vec![0u8; blocks * Q8_0_BYTES];
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let per_thread = blocks.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (src, dst) in data
            .chunks(per_thread * block_bytes)
            .zip(out.chunks_mut(per_thread * Q8_0_BYTES))
        {
            scope.spawn(move || {
                for (s, d) in src
                    .chunks_exact(block_bytes)
                    .zip(dst.chunks_exact_mut(Q8_0_BYTES))
                {
                    let mut values = [0f32; BLOCK];
                    dequantize_block(dtype, s, &mut values);
                    quantize_block_q8_0(&values, d);
                }
            });
        }
    });
    Ok(out)
}

/// One block's values, computed exactly as candle's `to_float` does.
#[inline]
fn dequantize_block(dtype: GgmlDType, b: &[u8], out: &mut [f32; BLOCK]) {
    let d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
    let (lo, hi) = out.split_at_mut(BLOCK / 2);
    match dtype {
        GgmlDType::Q4_1 => {
            let m = f16_to_f32(u16::from_le_bytes([b[2], b[3]]));
            for ((l, h), &q) in lo.iter_mut().zip(hi.iter_mut()).zip(&b[4..20]) {
                *l = f32::from(q & 0x0F) * d + m;
                *h = f32::from(q >> 4) * d + m;
            }
        }
        GgmlDType::Q5_0 | GgmlDType::Q5_1 => {
            let q5_1 = dtype == GgmlDType::Q5_1;
            let (m, at) = if q5_1 {
                (f16_to_f32(u16::from_le_bytes([b[2], b[3]])), 4)
            } else {
                (0.0, 2)
            };
            let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            let offset = if q5_1 { 0 } else { 16 };
            for (j, ((l, h), &q)) in lo
                .iter_mut()
                .zip(hi.iter_mut())
                .zip(&b[at + 4..at + 20])
                .enumerate()
            {
                let hi0 = (((qh >> j) << 4) & 0x10) as u8;
                let hi1 = ((qh >> (j + 12)) & 0x10) as u8;
                let x0 = (i32::from((q & 0x0F) | hi0) - offset) as f32;
                let x1 = (i32::from((q >> 4) | hi1) - offset) as f32;
                if q5_1 {
                    *l = x0 * d + m;
                    *h = x1 * d + m;
                } else {
                    *l = x0 * d;
                    *h = x1 * d;
                }
            }
        }
        _ => {}
    }
}

/// One Q8_0 block, as candle's `from_float` makes it (scale `amax / 127`, values
/// rounded half away from zero), without its per-value `round` call.
#[inline]
fn quantize_block_q8_0(xs: &[f32; BLOCK], out: &mut [u8]) {
    let mut amax = 0f32;
    for x in xs {
        let a = x.abs();
        if a > amax {
            amax = a;
        }
    }
    let d = amax / 127.0;
    let id = if d == 0.0 { 0.0 } else { 1.0 / d };
    let (scale, qs) = out.split_at_mut(2);
    scale.copy_from_slice(&f32_to_f16(d).to_le_bytes());
    for (o, &x) in qs.iter_mut().zip(xs) {
        *o = round_half_away(x * id).to_le_bytes()[0];
    }
}

/// `v.round() as i8` for |v| ≤ 127.x: truncate, then step by the remainder.
#[inline]
fn round_half_away(v: f32) -> i8 {
    let t = v as i32;
    let frac = v - t as f32;
    // Branch-free: the remainders are random, a branch would mispredict half the time.
    let r = t + i32::from(frac >= 0.5) - i32::from(frac <= -0.5);
    r.clamp(-128, 127) as i8
}

/// IEEE half to single precision (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = (u32::from(h) & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1F);
    let man = u32::from(h & 0x3FF);
    match exp {
        0 => {
            // Zero or subnormal: man × 2⁻²⁴, exact in f32.
            let v = man as f32 * f32::from_bits(0x3380_0000);
            f32::from_bits(v.to_bits() | sign)
        }
        0x1F => f32::from_bits(sign | 0x7F80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

/// Single to half precision, rounding to nearest even (what the `half` crate does).
fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = (b >> 16) & 0x8000;
    let exp = ((b >> 23) & 0xFF).cast_signed();
    let man = b & 0x007F_FFFF;
    if exp == 0xFF {
        let nan = if man == 0 { 0 } else { 0x0200 | (man >> 13) };
        return (sign | 0x7C00 | nan) as u16;
    }
    let e = exp - 127 + 15;
    if e >= 0x1F {
        return (sign | 0x7C00) as u16;
    }
    let (kept, rest, halfway) = if e <= 0 {
        if e < -10 {
            return sign as u16;
        }
        // Subnormal half: the 24-bit significand shifted down to units of 2⁻²⁴.
        let m = man | 0x0080_0000;
        let shift = (14 - e) as u32;
        (m >> shift, m & ((1 << shift) - 1), 1 << (shift - 1))
    } else {
        ((e as u32) << 10 | (man >> 13), man & 0x1FFF, 0x1000)
    };
    let round_up = rest > halfway || (rest == halfway && kept & 1 == 1);
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    (sign | (kept + u32::from(round_up))) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{QStorage, QTensor};
    use candle_core::{Device, Tensor};
    use std::borrow::Cow;

    fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| (rng.f32() * 2.0 - 1.0) * scale).collect()
    }

    #[test]
    fn widening_equals_candles_dequantize_then_quantize() {
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1] {
            for (seed, scale) in [(1, 1.0), (2, 1e-3), (3, 1e-6), (4, 300.0)] {
                let values = random(64 * 96, seed, scale);
                let t = Tensor::from_vec(values, (64, 96), &Device::Cpu).unwrap();
                let q = QTensor::quantize(&t, dtype).unwrap();
                let theirs =
                    QTensor::quantize(&q.dequantize(&Device::Cpu).unwrap(), GgmlDType::Q8_0)
                        .unwrap();
                let ours = widen(dtype, &q.data().unwrap()).unwrap();
                assert!(
                    ours == *theirs.data().unwrap(),
                    "{dtype:?} at scale {scale}"
                );
            }
        }
    }

    #[test]
    fn half_to_single_matches_candle_for_every_half() {
        // One Q8_0 block per half value, with the first quant 1: dequantizing gives
        // candle's own f16 → f32 of every bit pattern.
        let mut data = vec![0u8; 65536 * Q8_0_BYTES];
        for (h, block) in data.chunks_exact_mut(Q8_0_BYTES).enumerate() {
            block[..2].copy_from_slice(&(h as u16).to_le_bytes());
            block[2] = 1;
        }
        let storage = QStorage::from_data(Cow::Owned(data), &Device::Cpu, GgmlDType::Q8_0).unwrap();
        let t = QTensor::new(storage, (65536, BLOCK)).unwrap();
        let values = t
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (h, row) in values.iter().enumerate() {
            let ours = f16_to_f32(h as u16);
            assert!(
                ours.to_bits() == row[0].to_bits() || (ours.is_nan() && row[0].is_nan()),
                "{h:#06x}: {ours} vs {}",
                row[0]
            );
        }
    }

    #[test]
    fn single_to_half_rounds_to_nearest_even() {
        assert_eq!(f32_to_f16(1.0), 0x3C00);
        assert_eq!(f32_to_f16(-2.0), 0xC000);
        assert_eq!(f32_to_f16(65504.0), 0x7BFF);
        assert_eq!(f32_to_f16(65520.0), 0x7C00, "rounds up to infinity");
        assert_eq!(f32_to_f16(f32::from_bits(0x3380_0000)), 0x0001, "2^-24");
        assert_eq!(
            f32_to_f16(f32::from_bits(0x3300_0000)),
            0x0000,
            "2^-25 ties to even"
        );
        assert_eq!(
            f32_to_f16(1.0 + f32::EPSILON * 4096.0),
            0x3C00,
            "tie to even"
        );
        assert_eq!(f32_to_f16(1.0 + f32::EPSILON * 4097.0), 0x3C01);
        for h in 0..0x7C00u16 {
            assert_eq!(f32_to_f16(f16_to_f32(h)), h, "round trip of {h:#06x}");
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        for v in [
            0.5f32,
            1.5,
            2.5,
            -0.5,
            -2.5,
            0.499_999_97,
            126.5,
            -127.0,
            0.0,
        ] {
            assert_eq!(round_half_away(v), v.round() as i8, "{v}");
        }
    }
}
