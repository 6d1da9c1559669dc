//! Embedding vectors held compactly: one signed byte per dimension and one `f32` scale per vector
//! (symmetric quantisation, `scale = max|x| / 127`), a quarter of the `f32` size. The models'
//! vectors are L2-normalised, so every dimension is small and evenly spread: the cosine between
//! a vector and its dequantised copy is about 0.9999 (see `eval/README.md`, "Vectors stored
//! compactly"). Questions stay `f32`: [`Quantised::dot`] multiplies the bytes by them directly;
//! a search over many vectors ranks them by [`dot_i8_i8`] with the question quantised too.

/// A vector as `values[i] as f32 * scale`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantised {
    scale: f32,
    values: Box<[i8]>,
}

impl Quantised {
    /// The vector quantised.
    pub fn new(vector: &[f32]) -> Self {
        let mut values = Vec::with_capacity(vector.len());
        let scale = quantise_into(vector, &mut values);
        Self {
            scale,
            values: values.into(),
        }
    }

    /// A vector of these values and this scale (as stored).
    pub fn from_parts(scale: f32, values: impl Into<Box<[i8]>>) -> Self {
        Self {
            scale,
            values: values.into(),
        }
    }

    pub fn scale(&self) -> f32 {
        self.scale
    }

    pub fn values(&self) -> &[i8] {
        &self.values
    }

    /// Its dimension.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The vector it stands for.
    pub fn to_f32(&self) -> Vec<f32> {
        self.values
            .iter()
            .map(|&q| f32::from(q) * self.scale)
            .collect()
    }

    /// Its dot product with an `f32` vector of the same dimension (for unit vectors, their
    /// cosine).
    pub fn dot(&self, other: &[f32]) -> f32 {
        dot_i8(&self.values, other) * self.scale
    }
}

/// Appends `vector` quantised to `out`, returning its scale (0 for a zero vector, whose values
/// are then all 0).
pub fn quantise_into(vector: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = vector
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        out.extend(std::iter::repeat_n(0, vector.len()));
        return 0.0;
    }
    let scale = max / 127.0;
    let inverse = 127.0 / max;
    // `as` saturates (and reads NaN as 0): a value can never wrap around.
    out.extend(
        vector
            .iter()
            .map(|v| (v * inverse).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

/// The dot product of quantised values (without their scale) with an `f32` vector, in eight
/// independent lanes that the compiler keeps in one SIMD register (as `sitechat_search::dot`).
pub fn dot_i8(a: &[i8], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; 8];
    let (a8, a_rest) = a.split_at(n - n % 8);
    let (b8, b_rest) = b.split_at(n - n % 8);
    for (x, y) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += f32::from(x[i]) * y[i];
        }
    }
    let tail: f32 = a_rest
        .iter()
        .zip(b_rest)
        .map(|(&x, y)| f32::from(x) * y)
        .sum();
    lanes.iter().sum::<f32>() + tail
}

/// The integer dot product of two vectors' quantised values (without their scales), in sixteen
/// `i32` lanes the compiler keeps in SIMD registers. Exact: 384 dimensions sum at most
/// 384 × 127², far within an `i32`.
pub fn dot_i8_i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0i32; 16];
    let (a16, a_rest) = a.split_at(n - n % 16);
    let (b16, b_rest) = b.split_at(n - n % 16);
    for (x, y) in a16.chunks_exact(16).zip(b16.chunks_exact(16)) {
        for i in 0..16 {
            lanes[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let tail: i32 = a_rest
        .iter()
        .zip(b_rest)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    lanes.iter().sum::<i32>() + tail
}

/// The cosine similarity of two `f32` vectors (1 for two zero vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 && nb == 0.0 {
        1.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit vector of `dim` dimensions, spread like an embedding's.
    fn unit(dim: usize, seed: f32) -> Vec<f32> {
        let v: Vec<f32> = (0..dim)
            .map(|i| ((i as f32 + 1.0) * seed).sin() * ((i as f32) * 0.7 + seed).cos())
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / norm).collect()
    }

    #[test]
    fn a_unit_vector_survives_quantisation() {
        for seed in [0.1, 0.37, 1.3, 2.9] {
            let v = unit(384, seed);
            let q = Quantised::new(&v);
            assert_eq!(q.len(), 384);
            assert!(q.values().iter().any(|&x| x.unsigned_abs() == 127));
            let back = q.to_f32();
            assert!(cosine(&v, &back) > 0.9999, "{}", cosine(&v, &back));
            let max_error = v
                .iter()
                .zip(&back)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(max_error <= q.scale() / 2.0 + 1e-7);
            // Quantising what it stands for gives it back.
            assert_eq!(Quantised::new(&back), q);
        }
    }

    #[test]
    fn its_dot_product_is_the_dot_product_of_what_it_stands_for() {
        let (a, b) = (unit(389, 0.3), unit(389, 0.8));
        let q = Quantised::new(&a);
        let exact: f32 = q.to_f32().iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((q.dot(&b) - exact).abs() < 1e-5);
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((q.dot(&b) - plain).abs() < 2e-3);
    }

    #[test]
    fn the_integer_dot_product_is_exact() {
        let (a, b) = (
            Quantised::new(&unit(389, 0.3)),
            Quantised::new(&unit(389, 0.8)),
        );
        let plain: i32 = a
            .values()
            .iter()
            .zip(b.values())
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum();
        assert_eq!(dot_i8_i8(a.values(), b.values()), plain);
        assert_eq!(dot_i8_i8(&[127; 384], &[-127; 384]), -384 * 127 * 127);
    }

    #[test]
    fn zero_and_odd_values_quantise_without_wrapping() {
        let q = Quantised::new(&[0.0, 0.0]);
        assert_eq!((q.scale(), q.values()), (0.0, &[0i8, 0][..]));
        assert_eq!(q.to_f32(), vec![0.0, 0.0]);
        let q = Quantised::new(&[1.0, -1.0, f32::NAN, 0.5]);
        assert_eq!(q.values(), &[127, -127, 0, 64]);
        assert!(Quantised::new(&[]).is_empty());
    }
}
