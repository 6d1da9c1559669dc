//! A linear layer's matrix product in 16-bit integers (issue 21: a site learnt in minutes).
//!
//! The CPUs sitechat runs on have AVX2 but often no VNNI. There, `vpmaddwd` multiplies 16
//! pairs of 16-bit integers and adds each two neighbours into 32 bits, 16 multiply-adds an
//! instruction against 8 for an f32 FMA, with twice as many issued a cycle on Zen 3. So each
//! row of the input is quantised to 13-bit integers (one f32 scale a row) and each output's
//! weights to 9-bit ones (one scale an output), the products are summed exactly in 32 bits,
//! and the sum is scaled back to f32 with the bias added. The bounds keep every sum exact:
//! `4,095 × 255 × 2,048` (the widest input taken; the models' widest is 1,536) is
//! below `2³¹`.
//!
//! Against f32 the error is that of the rounding: the cosine of a layer's outputs to f32's is
//! above 0.99999 in the tests, and of the passage vectors above 0.9999 (`eval/README.md`).
//!
//! The kernel is the usual register-blocked one: 6 rows of the input against 16 outputs, the
//! weights packed so that one k-pair of 16 outputs is two registers, the input's pairs
//! broadcast. Where the CPU has AVX-512 (BW), the same packing is one 512-bit register a k-pair
//! and the kernel takes two panels of 16 outputs at once (`chunk_time`, MiniLM, on an Intel
//! Xeon with AVX-512: 29.2–30.3 → 35.6–35.9 chunks/s, the same numbers to the bit). Its VNNI
//! instruction (`vpdpwssd`, the add fused) has no safe wrapper in `pulp`, and the workspace
//! forbids `unsafe`. Rows are split among rayon's threads in blocks of 48 that stay in the L2
//! cache while every panel of 16 outputs passes over them. Hand-written because the matrix product is
//! most of the cost of embedding, and the libraries at hand (gemm, candle) multiply integers
//! only through f32 or, for GGML blocks, one row at a time.

use pulp::x86::{V3, V4};
use rayon::prelude::*;
use std::arch::x86_64::{__m256, __m256i, __m512, __m512i};

/// The input's integers are within ±`INPUT_MAX`.
const INPUT_MAX: f32 = 4095.0;
/// The weights' integers are within ±`WEIGHT_MAX`.
const WEIGHT_MAX: f32 = 255.0;
/// Widest input whose sums stay exact in 32 bits.
const MAX_INPUTS: usize = 2048;
/// Outputs of one panel (two registers of 8 lanes).
const PANEL: usize = 16;
/// Rows of the input of one kernel call.
const ROWS: usize = 6;
/// Rows of the input a thread takes at a time.
const BLOCK_ROWS: usize = 8 * ROWS;

/// A linear layer's weights packed for [`Packed::apply`].
pub(crate) struct Packed {
    inputs: usize,
    outputs: usize,
    /// Per panel of [`PANEL`] outputs, per pair of inputs, the panel's two weights of that pair
    /// as two `i16` in one `i32`.
    pairs: Vec<i32>,
    /// Each output's scale.
    scales: Vec<f32>,
    bias: Vec<f32>,
}

impl Packed {
    /// Packs `weight` (`outputs × inputs`, row-major, as a linear layer stores it) with its
    /// bias: `None` on a CPU without AVX2 and FMA, or a shape the kernel does not take (outputs
    /// not a multiple of 16, an odd or too wide input).
    pub(crate) fn new(weight: &[f32], outputs: usize, bias: &[f32]) -> Option<Packed> {
        V3::try_new()?;
        let inputs = weight.len().checked_div(outputs)?;
        if !outputs.is_multiple_of(PANEL)
            || !inputs.is_multiple_of(2)
            || inputs == 0
            || inputs > MAX_INPUTS
            || weight.len() != outputs * inputs
            || bias.len() != outputs
        {
            return None;
        }
        let half = inputs / 2;
        let mut scales = Vec::with_capacity(outputs);
        let mut pairs = vec![0i32; outputs * half];
        for (out, row) in weight.chunks_exact(inputs).enumerate() {
            let scale = scale_of(row, WEIGHT_MAX);
            scales.push(scale);
            let (panel, lane) = (out / PANEL, out % PANEL);
            for (k, pair) in row.chunks_exact(2).enumerate() {
                pairs[(panel * half + k) * PANEL + lane] =
                    pack_pair(pair[0] / scale, pair[1] / scale);
            }
        }
        Some(Packed {
            inputs,
            outputs,
            pairs,
            scales,
            bias: bias.to_vec(),
        })
    }

    /// The layer's input width.
    pub(crate) fn inputs(&self) -> usize {
        self.inputs
    }

    /// `x Wᵀ + b` for `x` of rows of the layer's input width, row-major.
    #[cfg(test)]
    pub(crate) fn apply(&self, x: &[f32]) -> Vec<f32> {
        let mut y = Vec::new();
        self.apply_into(x, &mut y);
        y
    }

    /// [`Packed::apply`] into `y`, whose every value it writes: a buffer of the right length
    /// from an earlier layer is reused as it is (zeroing a fresh one took 4 % of a pass).
    pub(crate) fn apply_into(&self, x: &[f32], y: &mut Vec<f32>) {
        self.apply_with(x, y, V4::try_new());
    }

    /// [`Packed::apply_into`] with AVX-512's kernel where `wider` is given, else AVX2's.
    fn apply_with(&self, x: &[f32], y: &mut Vec<f32>, wider: Option<V4>) {
        let Some(simd) = V3::try_new() else {
            unreachable!("packed only where AVX2 runs")
        };
        let (rows, (pairs, scales)) = (x.len() / self.inputs, quantise(simd, x, self.inputs));
        y.resize(rows * self.outputs, 0.0);
        let half = self.inputs / 2;
        // The panels one kernel call takes: AVX-512's two at once, AVX2's one.
        let step = if wider.is_some() { 2 } else { 1 };
        let panels = self.outputs / PANEL;
        y.par_chunks_mut(BLOCK_ROWS * self.outputs)
            .enumerate()
            .for_each(|(block, y)| {
                let first = block * BLOCK_ROWS;
                let rows = y.len() / self.outputs;
                for panel in (0..panels).step_by(step) {
                    let p = (panels - panel).min(step);
                    for row in (0..rows).step_by(ROWS) {
                        let n = (rows - row).min(ROWS);
                        let at = first + row;
                        let tile = Tile {
                            x: &pairs[at * half..(at + n) * half],
                            x_scales: &scales[at..at + n],
                            weights: &self.pairs[panel * half * PANEL..(panel + p) * half * PANEL],
                            half,
                            scales: &self.scales[panel * PANEL..(panel + p) * PANEL],
                            bias: &self.bias[panel * PANEL..(panel + p) * PANEL],
                            y: &mut y[row * self.outputs + panel * PANEL..],
                            stride: self.outputs,
                        };
                        match (wider, p) {
                            (Some(wide), 2) => tile.multiply_512::<2>(wide, n),
                            (Some(wide), _) => tile.multiply_512::<1>(wide, n),
                            (None, _) => tile.multiply(simd, n),
                        }
                    }
                }
            });
    }
}

/// One kernel call's work: up to [`ROWS`] rows of the input against one panel of outputs
/// (AVX2's kernel) or `P` panels (AVX-512's).
struct Tile<'a> {
    /// The rows' pairs, `[pair][row]`.
    x: &'a [i32],
    x_scales: &'a [f32],
    /// The panels' weights one panel after the other, each `[pair][output]`.
    weights: &'a [i32],
    /// Pairs of inputs.
    half: usize,
    scales: &'a [f32],
    bias: &'a [f32],
    /// The first row's first output of the first panel; rows are `stride` apart.
    y: &'a mut [f32],
    stride: usize,
}

impl Tile<'_> {
    /// `n` rows against one panel with AVX2's kernel.
    fn multiply(self, simd: V3, n: usize) {
        match n {
            6 => simd.vectorize(Kernel::<6>(simd, self)),
            5 => simd.vectorize(Kernel::<5>(simd, self)),
            4 => simd.vectorize(Kernel::<4>(simd, self)),
            3 => simd.vectorize(Kernel::<3>(simd, self)),
            2 => simd.vectorize(Kernel::<2>(simd, self)),
            _ => simd.vectorize(Kernel::<1>(simd, self)),
        }
    }

    /// `n` rows against `P` panels with AVX-512's 512-bit `vpmaddwd`, each panel's 16 sums of a
    /// row in one register.
    fn multiply_512<const P: usize>(self, simd: V4, n: usize) {
        match n {
            6 => simd.vectorize(Kernel512::<6, P>(simd, self)),
            5 => simd.vectorize(Kernel512::<5, P>(simd, self)),
            4 => simd.vectorize(Kernel512::<4, P>(simd, self)),
            3 => simd.vectorize(Kernel512::<3, P>(simd, self)),
            2 => simd.vectorize(Kernel512::<2, P>(simd, self)),
            _ => simd.vectorize(Kernel512::<1, P>(simd, self)),
        }
    }
}

struct Kernel512<'a, const R: usize, const P: usize>(V4, Tile<'a>);

impl<const R: usize, const P: usize> pulp::NullaryFnOnce for Kernel512<'_, R, P> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Kernel512(
            simd,
            Tile {
                x,
                x_scales,
                weights,
                half,
                scales,
                bias,
                y,
                stride,
            },
        ) = self;
        let mut sums = [[simd.avx512f._mm512_setzero_si512(); P]; R];
        let panels: [&[[i32; PANEL]]; P] = std::array::from_fn(|p| {
            pulp::as_arrays::<PANEL, i32>(&weights[p * half * PANEL..(p + 1) * half * PANEL]).0
        });
        let (x, _) = pulp::as_arrays::<R, i32>(x);
        for (k, x) in x.iter().enumerate() {
            let w: [__m512i; P] = std::array::from_fn(|p| pulp::cast(panels[p][k]));
            for (sum, &x) in sums.iter_mut().zip(x) {
                let x = simd.avx512f._mm512_set1_epi32(x);
                for (sum, &w) in sum.iter_mut().zip(&w) {
                    *sum = simd
                        .avx512f
                        ._mm512_add_epi32(*sum, simd.avx512bw._mm512_madd_epi16(x, w));
                }
            }
        }
        for (r, sum) in sums.iter().enumerate() {
            let scale = simd.avx512f._mm512_set1_ps(x_scales[r]);
            for (p, sum) in sum.iter().enumerate() {
                let scales: __m512 = pulp::cast(*as_panel(&scales[p * PANEL..]));
                let bias: __m512 = pulp::cast(*as_panel(&bias[p * PANEL..]));
                let v = simd.avx512f._mm512_cvtepi32_ps(*sum);
                let v = simd.avx512f._mm512_fmadd_ps(
                    v,
                    simd.avx512f._mm512_mul_ps(scale, scales),
                    bias,
                );
                let out: [f32; PANEL] = pulp::cast(v);
                y[r * stride + p * PANEL..][..PANEL].copy_from_slice(&out);
            }
        }
    }
}

/// The scale that maps the largest magnitude of `values` to `max` (1 for all zeros).
fn scale_of(values: &[f32], max: f32) -> f32 {
    let largest = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f32, |m, v| m.max(v.abs()));
    if largest > 0.0 {
        largest / max
    } else {
        1.0
    }
}

/// Two values, already scaled, rounded to `i16` and packed low first.
fn pack_pair(a: f32, b: f32) -> i32 {
    // `as` saturates and reads NaN as 0; the scale keeps finite values within bounds.
    let (a, b) = (a.round() as i16, b.round() as i16);
    i32::from(a as u16) | (i32::from(b as u16) << 16)
}

/// Each row of `x` (`width` wide) as integers: pairs packed by [`pack_pair`], laid out for the
/// kernel in groups of [`ROWS`] rows, pair-major within a group (`[pair][row]`; the last group
/// holds the rows left); and each row's scale.
fn quantise(simd: V3, x: &[f32], width: usize) -> (Vec<i32>, Vec<f32>) {
    let half = width / 2;
    let mut pairs = vec![0i32; x.len() / 2];
    let mut scales = vec![0f32; x.len() / width];
    pairs
        .par_chunks_mut(ROWS * half)
        .zip(x.par_chunks(ROWS * width))
        .zip(scales.par_chunks_mut(ROWS))
        .for_each(|((pairs, x), scales)| {
            simd.vectorize(Quantise {
                x,
                width,
                pairs,
                scales,
            })
        });
    (pairs, scales)
}

/// [`quantise`] of one group of rows, in vector registers: the largest magnitude in eight
/// lanes, rounding by the instruction rather than a call per value.
struct Quantise<'a> {
    x: &'a [f32],
    width: usize,
    pairs: &'a mut [i32],
    scales: &'a mut [f32],
}

impl pulp::NullaryFnOnce for Quantise<'_> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Quantise {
            x,
            width,
            pairs,
            scales,
        } = self;
        let n = scales.len();
        for (row, (x, scale)) in x.chunks_exact(width).zip(scales.iter_mut()).enumerate() {
            let mut lanes = [0f32; 8];
            let (eights, rest) = pulp::as_arrays::<8, f32>(x);
            for eight in eights {
                for (m, v) in lanes.iter_mut().zip(eight) {
                    // NaN compares false and is left out, as in `scale_of`.
                    *m = if v.abs() > *m { v.abs() } else { *m };
                }
            }
            let largest =
                rest.iter()
                    .chain(&lanes)
                    .fold(0f32, |m, v| if v.abs() > m { v.abs() } else { m });
            *scale = if largest > 0.0 && largest.is_finite() {
                largest / INPUT_MAX
            } else {
                scale_of(x, INPUT_MAX)
            };
            let inverse = 1.0 / *scale;
            for (k, pair) in x.chunks_exact(2).enumerate() {
                let (a, b) = (
                    (pair[0] * inverse).round_ties_even() as i16,
                    (pair[1] * inverse).round_ties_even() as i16,
                );
                pairs[k * n + row] = i32::from(a as u16) | (i32::from(b as u16) << 16);
            }
        }
    }
}

struct Kernel<'a, const R: usize>(V3, Tile<'a>);

impl<const R: usize> pulp::NullaryFnOnce for Kernel<'_, R> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Kernel(
            simd,
            Tile {
                x,
                x_scales,
                weights,
                scales,
                bias,
                y,
                stride,
                ..
            },
        ) = self;
        let mut sums = [[simd.avx._mm256_setzero_si256(); 2]; R];
        let (weights, _) = pulp::as_arrays::<PANEL, i32>(weights);
        let (x, _) = pulp::as_arrays::<R, i32>(x);
        for (w, x) in weights.iter().zip(x) {
            let [low, high]: [__m256i; 2] = pulp::cast(*w);
            for (sum, &x) in sums.iter_mut().zip(x) {
                let x = simd.avx._mm256_set1_epi32(x);
                sum[0] = simd
                    .avx2
                    ._mm256_add_epi32(sum[0], simd.avx2._mm256_madd_epi16(x, low));
                sum[1] = simd
                    .avx2
                    ._mm256_add_epi32(sum[1], simd.avx2._mm256_madd_epi16(x, high));
            }
        }
        let scales: [__m256; 2] = pulp::cast(*as_panel(scales));
        let bias: [__m256; 2] = pulp::cast(*as_panel(bias));
        for (r, sum) in sums.iter().enumerate() {
            let scale = simd.avx._mm256_set1_ps(x_scales[r]);
            let mut out = [0f32; PANEL];
            let halves: &mut [[f32; 8]; 2] = halves(&mut out);
            for h in 0..2 {
                let v = simd.avx._mm256_cvtepi32_ps(sum[h]);
                let v =
                    simd.fma
                        ._mm256_fmadd_ps(v, simd.avx._mm256_mul_ps(scale, scales[h]), bias[h]);
                halves[h] = pulp::cast(v);
            }
            y[r * stride..r * stride + PANEL].copy_from_slice(&out);
        }
    }
}

/// The first [`PANEL`] values of `values` as an array.
fn as_panel(values: &[f32]) -> &[f32; PANEL] {
    let (panels, _) = pulp::as_arrays::<PANEL, f32>(values);
    &panels[0]
}

/// A panel's outputs as two halves of 8.
fn halves(out: &mut [f32; PANEL]) -> &mut [[f32; 8]; 2] {
    let (halves, _) = pulp::as_arrays_mut::<8, f32>(out);
    <&mut [[f32; 8]; 2]>::try_from(halves).unwrap_or_else(|_| unreachable!("16 is 2 × 8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reproducible value in [-1, 1).
    fn noise(seed: &mut u64) -> f32 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn reference(x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let inputs = w.len() / b.len();
        x.chunks_exact(inputs)
            .flat_map(|row| {
                w.chunks_exact(inputs)
                    .zip(b)
                    .map(|(w, b)| row.iter().zip(w).map(|(x, w)| x * w).sum::<f32>() + b)
            })
            .collect()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        let dot: f64 = a
            .iter()
            .zip(b)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let norm = |v: &[f32]| v.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
        dot / (norm(a) * norm(b))
    }

    #[test]
    fn the_product_is_the_f32_one_within_rounding_for_every_row_count() {
        if V3::try_new().is_none() {
            return;
        }
        let mut seed = 7;
        for (inputs, outputs) in [(384, 1152), (1536, 384), (32, 16), (64, 48)] {
            let w: Vec<f32> = (0..inputs * outputs)
                .map(|_| noise(&mut seed) * 0.05)
                .collect();
            let b: Vec<f32> = (0..outputs).map(|_| noise(&mut seed)).collect();
            let packed = Packed::new(&w, outputs, &b).expect("a shape the kernel takes");
            // Row counts that leave every remainder of the kernel's 6 and the block's 48.
            for rows in [1, 2, 5, 6, 7, 47, 48, 49, 100] {
                let x: Vec<f32> = (0..rows * inputs).map(|_| noise(&mut seed) * 3.0).collect();
                let (got, want) = (packed.apply(&x), reference(&x, &w, &b));
                assert_eq!(got.len(), want.len());
                for (row, (got, want)) in got.chunks(outputs).zip(want.chunks(outputs)).enumerate()
                {
                    let c = cosine(got, want);
                    assert!(
                        c > 0.99999,
                        "{inputs}→{outputs}, {rows} rows, row {row}: {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn avx512s_kernel_gives_avx2s_numbers() {
        let Some(wider) = V4::try_new() else {
            return;
        };
        let mut seed = 11;
        // 3 panels: two at once, then one alone.
        for (inputs, outputs) in [(384, 48), (1536, 384)] {
            let w: Vec<f32> = (0..inputs * outputs)
                .map(|_| noise(&mut seed) * 0.05)
                .collect();
            let b: Vec<f32> = (0..outputs).map(|_| noise(&mut seed)).collect();
            let packed = Packed::new(&w, outputs, &b).expect("a shape the kernel takes");
            for rows in [1, 5, 6, 7, 49, 100] {
                let x: Vec<f32> = (0..rows * inputs).map(|_| noise(&mut seed) * 3.0).collect();
                let (mut avx2, mut avx512) = (Vec::new(), Vec::new());
                packed.apply_with(&x, &mut avx2, None);
                packed.apply_with(&x, &mut avx512, Some(wider));
                // The sums are exact integers and the scaling the same operations.
                assert_eq!(avx2, avx512, "{inputs}→{outputs}, {rows} rows");
            }
        }
    }

    #[test]
    fn small_integers_multiply_exactly() {
        if V3::try_new().is_none() {
            return;
        }
        // Weights whose largest is 255 and inputs whose largest is 4,095 are their own
        // integers: the sums are exact.
        let (inputs, outputs) = (64, 32);
        let w: Vec<f32> = (0..inputs * outputs)
            .map(|i| {
                if i % inputs == 0 {
                    255.0
                } else {
                    (i % 7) as f32 - 3.0
                }
            })
            .collect();
        let x: Vec<f32> = (0..3 * inputs)
            .map(|i| {
                if i % inputs == 1 {
                    4095.0
                } else {
                    (i % 5) as f32
                }
            })
            .collect();
        let b = vec![0.5; outputs];
        let got = Packed::new(&w, outputs, &b).unwrap().apply(&x);
        assert_eq!(got, reference(&x, &w, &b));
    }

    #[test]
    fn shapes_the_kernel_does_not_take_are_refused() {
        assert!(Packed::new(&[0.0; 30 * 16], 30, &[0.0; 30]).is_none());
        assert!(Packed::new(&[0.0; 16 * 3], 16, &[0.0; 16]).is_none());
        assert!(Packed::new(&[0.0; 16 * 4096], 16, &[0.0; 16]).is_none());
        assert!(Packed::new(&[0.0; 16 * 4], 16, &[0.0; 15]).is_none());
    }
}
