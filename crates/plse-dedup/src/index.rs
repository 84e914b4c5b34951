//! The online deduplicator: accepts a sample or names the earlier one it duplicates.

use std::collections::HashMap;

use crate::minhash::{Hasher, Params, Signature, jaccard};
use crate::normalize::exact_key;

/// Why a sample was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Duplicate {
    /// Same normalised code as the sample with this key.
    Exact {
        /// Key of the earlier sample.
        of: String,
    },
    /// Estimated Jaccard similarity at or above the threshold with an earlier sample.
    Near {
        /// Key of the earlier sample.
        of: String,
        /// Estimated similarity.
        similarity: f64,
    },
}

/// Counts of what the index has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Samples accepted.
    pub unique: usize,
    /// Refused as exact duplicates.
    pub exact: usize,
    /// Refused as near-duplicates.
    pub near: usize,
}

/// What a [`Deduper`] compares of one sample: its exact key, MinHash signature and LSH band
/// keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    exact: [u8; 32],
    sig: Signature,
    keys: Vec<u64>,
}

/// Exact and near-duplicate detection over a stream of samples. Sized for millions of
/// samples: about 1.6 KB each (a 1 KB signature, 25 band entries, the exact key).
#[derive(Debug, Clone)]
pub struct Deduper {
    hasher: Hasher,
    exact: HashMap<[u8; 32], u32>,
    /// Per band: key → first entry with it; further entries with the same key in `more`.
    bands: Vec<HashMap<u64, u32>>,
    more: HashMap<(u32, u64), Vec<u32>>,
    entries: Vec<(Box<str>, Signature)>,
    counts: Counts,
}

impl Deduper {
    /// An empty index.
    pub fn new(params: Params) -> Self {
        Self {
            bands: vec![HashMap::new(); params.bands],
            more: HashMap::new(),
            hasher: Hasher::new(params),
            exact: HashMap::new(),
            entries: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// What the index compares of `code`: computed once per sample, then checked and
    /// inserted without normalising and hashing it again.
    pub fn fingerprint(&self, code: &str) -> Fingerprint {
        let sig = self.hasher.signature(code);
        let keys = self.hasher.band_keys(&sig);
        Fingerprint { exact: exact_key(code), sig, keys }
    }

    /// Whether `code` duplicates something accepted so far, without recording it or counting:
    /// lets a caller skip expensive work (validation) for candidates that cannot be kept.
    pub fn check(&self, code: &str) -> Result<(), Duplicate> {
        self.check_fingerprint(&self.fingerprint(code))
    }

    /// [`Deduper::check`] of a fingerprint.
    pub fn check_fingerprint(&self, fp: &Fingerprint) -> Result<(), Duplicate> {
        if let Some(&i) = self.exact.get(&fp.exact) {
            return Err(Duplicate::Exact { of: self.entries[i as usize].0.to_string() });
        }
        match self.nearest(&fp.sig, &fp.keys) {
            Some((i, similarity)) => Err(Duplicate::Near { of: self.entries[i].0.to_string(), similarity }),
            None => Ok(()),
        }
    }

    /// The most similar accepted entry at or above the threshold among the LSH candidates.
    fn nearest(&self, sig: &Signature, keys: &[u64]) -> Option<(usize, f64)> {
        let threshold = self.hasher.params().threshold;
        let mut best: Option<(usize, f64)> = None;
        for (band, k) in keys.iter().enumerate() {
            let first = self.bands[band].get(k).copied();
            let rest = self.more.get(&(band as u32, *k)).into_iter().flatten().copied();
            for i in first.into_iter().chain(rest) {
                let sim = jaccard(sig, &self.entries[i as usize].1);
                if sim >= threshold && best.is_none_or(|(_, s)| sim > s) {
                    best = Some((i as usize, sim));
                }
            }
        }
        best
    }

    /// Checks `code` against everything accepted so far; when it is new, records it under
    /// `key` and returns `Ok(())`.
    pub fn check_and_insert(&mut self, key: &str, code: &str) -> Result<(), Duplicate> {
        let fp = self.fingerprint(code);
        self.check_and_insert_fingerprint(key, fp)
    }

    /// [`Deduper::check_and_insert`] of a fingerprint (made by this index's parameters).
    pub fn check_and_insert_fingerprint(&mut self, key: &str, fp: Fingerprint) -> Result<(), Duplicate> {
        let found = self.check_fingerprint(&fp);
        match &found {
            Err(Duplicate::Exact { .. }) => self.counts.exact += 1,
            Err(Duplicate::Near { .. }) => self.counts.near += 1,
            Ok(()) => self.insert(key, fp),
        }
        found
    }

    fn insert(&mut self, key: &str, fp: Fingerprint) {
        let idx = self.entries.len() as u32;
        for (band, k) in fp.keys.into_iter().enumerate() {
            match self.bands[band].entry(k) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(idx);
                }
                std::collections::hash_map::Entry::Occupied(_) => self.more.entry((band as u32, k)).or_default().push(idx),
            }
        }
        self.exact.insert(fp.exact, idx);
        self.entries.push((key.into(), fp.sig));
        self.counts.unique += 1;
    }

    /// What has been seen so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(name: &str, n: usize) -> String {
        (0..n).map(|i| format!("def {name}_{i}(x):\n    return x * {i} + len(str(x))\n\n")).collect()
    }

    #[test]
    fn exact_near_and_distinct() {
        let mut d = Deduper::new(Params::default());
        assert_eq!(d.check_and_insert("a", &program("alpha", 20)), Ok(()));
        // Reformatted and commented: exact duplicate after normalisation.
        let reformatted = program("alpha", 20).replace("    return", "      return") + "# trailing note\n";
        assert_eq!(d.check_and_insert("b", &reformatted), Err(Duplicate::Exact { of: "a".into() }));
        // One function renamed out of twenty: near duplicate.
        let near = program("alpha", 20).replacen("alpha_3", "beta_3", 1);
        assert!(matches!(d.check_and_insert("c", &near), Err(Duplicate::Near { ref of, similarity }) if of == "a" && similarity >= 0.7));
        assert_eq!(d.check_and_insert("d", &program("gamma", 3).replace("len(str(x))", "x ** 2 - 7")), Ok(()));
        assert_eq!(d.counts(), Counts { unique: 2, exact: 1, near: 1 });
        // `check` agrees without recording anything.
        assert!(matches!(d.check(&near), Err(Duplicate::Near { .. })));
        assert_eq!(d.check(&program("delta", 4).replace("len(str(x))", "abs(x) // 3")), Ok(()));
        assert_eq!(d.counts(), Counts { unique: 2, exact: 1, near: 1 });
    }

    #[test]
    fn threshold_is_configurable() {
        let a = program("alpha", 10);
        let b = program("alpha", 10).replacen("alpha_1", "one", 1).replacen("alpha_2", "two", 1).replacen("alpha_5", "five", 1);
        let mut strict = Deduper::new(Params::with_threshold(0.95));
        strict.check_and_insert("a", &a).unwrap();
        assert!(strict.check_and_insert("b", &b).is_ok(), "below 0.95: kept");
        let mut loose = Deduper::new(Params::with_threshold(0.5));
        loose.check_and_insert("a", &a).unwrap();
        assert!(loose.check_and_insert("b", &b).is_err(), "above 0.5: dropped");
    }
}
