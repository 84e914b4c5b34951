//! MinHash signatures over token shingles, and the LSH banding that finds candidates.

use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xxhash_rust::xxh3::xxh3_64;

use crate::normalize::{normalize, tokens};

/// 2^61 − 1, the Mersenne prime of the universal hash family `(a·x + b) mod p`.
const PRIME: u64 = (1 << 61) - 1;

/// Settings of the near-duplicate detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Tokens per shingle (5 as in BigCode's near-dedup).
    pub shingle: usize,
    /// Number of permutations (signature length).
    pub num_perm: usize,
    /// Jaccard similarity at or above which two samples are near-duplicates.
    pub threshold: f64,
    /// LSH bands.
    pub bands: usize,
    /// Rows per band (`bands * rows <= num_perm`).
    pub rows: usize,
}

impl Params {
    /// 5-gram shingles, 256 permutations, and the banding that best fits `threshold`.
    pub fn with_threshold(threshold: f64) -> Self {
        let num_perm = 256;
        let (bands, rows) = optimal_banding(threshold, num_perm);
        Self { shingle: 5, num_perm, threshold, bands, rows }
    }
}

impl Default for Params {
    /// Jaccard 0.7, the threshold of The Stack and StarCoder's near-dedup.
    fn default() -> Self {
        Self::with_threshold(0.7)
    }
}

/// The (bands, rows) with `bands * rows <= num_perm` minimising the sum of the
/// false-positive area (pairs below the threshold that collide) and the false-negative area
/// (pairs above it that never collide) under the LSH S-curve `1 - (1 - s^r)^b`.
pub fn optimal_banding(threshold: f64, num_perm: usize) -> (usize, usize) {
    let curve = |s: f64, b: usize, r: usize| 1.0 - (1.0 - s.powi(r as i32)).powi(b as i32);
    let area = |lo: f64, hi: f64, f: &dyn Fn(f64) -> f64| {
        let steps = 200;
        let h = (hi - lo) / steps as f64;
        (0..steps).map(|i| f(lo + (i as f64 + 0.5) * h) * h).sum::<f64>()
    };
    let mut best = (1, 1, f64::MAX);
    for b in 1..=num_perm {
        for r in 1..=num_perm / b {
            let fp = area(0.0, threshold, &|s| curve(s, b, r));
            let fne = area(threshold, 1.0, &|s| 1.0 - curve(s, b, r));
            if fp + fne < best.2 {
                best = (b, r, fp + fne);
            }
        }
    }
    (best.0, best.1)
}

/// The random permutations `(a, b)`: fixed by a constant seed so signatures are comparable
/// across runs, processes and platforms.
#[derive(Debug, Clone)]
pub struct Hasher {
    params: Params,
    perms: Vec<(u64, u64)>,
}

/// A MinHash signature. Each minimum keeps its low 32 bits: half the memory of the full
/// 61-bit value, and two different minima agreeing by chance (2^-32) does not move a Jaccard
/// estimate measurably.
pub type Signature = Vec<u32>;

impl Hasher {
    /// Draws the permutations for `params`.
    pub fn new(params: Params) -> Self {
        let mut rng = ChaCha8Rng::from_seed(*b"plse/minhash/permutations/v1\0\0\0\0");
        let perms = (0..params.num_perm).map(|_| (rng.random_range(1..PRIME), rng.random_range(0..PRIME))).collect();
        Self { params, perms }
    }

    /// The settings.
    pub fn params(&self) -> Params {
        self.params
    }

    /// Signature of a code text (normalised, tokenised, shingled).
    pub fn signature(&self, code: &str) -> Signature {
        let norm = normalize(code);
        let toks = tokens(&norm);
        let k = self.params.shingle.max(1);
        let mut sig = vec![u64::MAX; self.params.num_perm];
        let add_all = |sig: &mut Vec<u64>, shingle: &[&str]| {
            let h = xxh3_64(shingle.join("\u{1f}").as_bytes()) % PRIME;
            for (slot, &(a, b)) in sig.iter_mut().zip(&self.perms) {
                let v = ((u128::from(a) * u128::from(h) + u128::from(b)) % u128::from(PRIME)) as u64;
                if v < *slot {
                    *slot = v;
                }
            }
        };
        if toks.len() < k {
            add_all(&mut sig, &toks);
        } else {
            for w in toks.windows(k) {
                add_all(&mut sig, w);
            }
        }
        sig.into_iter().map(|v| v as u32).collect()
    }

    /// The band keys of a signature: one hash per band of `rows` values.
    pub fn band_keys(&self, sig: &Signature) -> Vec<u64> {
        let r = self.params.rows;
        (0..self.params.bands)
            .map(|band| {
                let slice = &sig[band * r..(band + 1) * r];
                let bytes: Vec<u8> = slice.iter().flat_map(|v| v.to_le_bytes()).collect();
                xxh3_64(&bytes) ^ (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            })
            .collect()
    }
}

/// Estimated Jaccard similarity: the share of signature positions that agree.
pub fn jaccard(a: &Signature, b: &Signature) -> f64 {
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banding_fits_the_threshold() {
        let (b, r) = optimal_banding(0.7, 256);
        assert!(b * r <= 256);
        // The S-curve's midpoint (1/b)^(1/r) sits near the threshold.
        let mid = (1.0 / b as f64).powf(1.0 / r as f64);
        assert!((mid - 0.7).abs() < 0.08, "b={b} r={r} mid={mid}");
    }

    #[test]
    fn similar_code_has_similar_signatures() {
        let h = Hasher::new(Params::default());
        let base: String = (0..40).map(|i| format!("total_{i} = values[{i}] * weight + offset\n")).collect();
        let near = base.replace("total_7 ", "subtotal_7 ");
        let far: String = (0..40).map(|i| format!("print('row', {i}, sep=';')\n")).collect();
        let (s1, s2, s3) = (h.signature(&base), h.signature(&near), h.signature(&far));
        assert!(jaccard(&s1, &s2) > 0.85, "{}", jaccard(&s1, &s2));
        assert!(jaccard(&s1, &s3) < 0.1, "{}", jaccard(&s1, &s3));
        assert_eq!(s1, h.signature(&base), "deterministic");
    }
}
