//! Splits that measure generalisation: whole groups (patterns, concepts, or single rows) go to
//! one split, chosen deterministically, as close to the targets as whole groups allow.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};
use thiserror::Error;

/// What a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitBy {
    /// No pattern has rows in two splits (the default: held-out lessons).
    Pattern,
    /// No concept has rows in two splits.
    Concept,
    /// Rows are split one by one (measures memorisation, not generalisation).
    Sample,
}

impl fmt::Display for SplitBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pattern => "pattern",
            Self::Concept => "concept",
            Self::Sample => "sample",
        })
    }
}

/// Named splits with target fractions, in order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SplitSpec {
    /// (name, fraction); fractions sum to 1.
    pub targets: Vec<(String, f64)>,
}

impl Default for SplitSpec {
    fn default() -> Self {
        Self { targets: vec![("train".into(), 0.9), ("validation".into(), 0.05), ("test".into(), 0.05)] }
    }
}

/// A `--split` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SplitError {
    /// Not `name=fraction,...`.
    #[error("`{0}` is not of the form NAME=FRACTION (e.g. train=0.9,validation=0.05,test=0.05)")]
    Malformed(String),
    /// A split name that is not an identifier.
    #[error("split name `{0}` must be letters, digits, `_` or `-`")]
    BadName(String),
    /// A fraction outside (0, 1].
    #[error("fraction `{0}` must be a number in (0, 1]")]
    BadFraction(String),
    /// Fractions that do not add up to 1.
    #[error("the fractions add up to {0}, not 1")]
    Sum(String),
    /// A name given twice.
    #[error("split `{0}` is named twice")]
    Duplicate(String),
}

impl SplitSpec {
    /// Parses `train=0.9,validation=0.05,test=0.05`.
    pub fn parse(spec: &str) -> Result<Self, SplitError> {
        let mut targets: Vec<(String, f64)> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, frac) = part.split_once('=').ok_or_else(|| SplitError::Malformed(part.to_owned()))?;
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(SplitError::BadName(name.to_owned()));
            }
            let f: f64 = frac.trim().parse().map_err(|_| SplitError::BadFraction(frac.trim().to_owned()))?;
            if !(f > 0.0 && f <= 1.0) {
                return Err(SplitError::BadFraction(frac.trim().to_owned()));
            }
            if targets.iter().any(|(n, _)| n == name) {
                return Err(SplitError::Duplicate(name.to_owned()));
            }
            targets.push((name.to_owned(), f));
        }
        if targets.is_empty() {
            return Err(SplitError::Malformed(spec.to_owned()));
        }
        let sum: f64 = targets.iter().map(|(_, f)| f).sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(SplitError::Sum(format!("{sum:.4}")));
        }
        Ok(Self { targets })
    }

    /// The canonical spelling.
    pub fn spec(&self) -> String {
        self.targets.iter().map(|(n, f)| format!("{n}={f}")).collect::<Vec<_>>().join(",")
    }

    /// Split names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().map(|(n, _)| n.as_str())
    }
}

/// Assigns each group (with its row count) to a split: groups are visited in an order that
/// is a pure function of `seed` and their names, each going to the split furthest below its
/// target. Returns group → split index.
pub fn assign(groups: &BTreeMap<String, u64>, spec: &SplitSpec, seed: u64) -> BTreeMap<String, usize> {
    let total: u64 = groups.values().sum();
    let mut order: Vec<(&String, &u64)> = groups.iter().collect();
    // Largest groups first (so small splits are filled by small groups and land near their
    // targets), ties broken by a seeded hash: the order does not follow names.
    order.sort_by_key(|(name, n)| (std::cmp::Reverse(**n), hash(seed, name)));
    let mut filled = vec![0u64; spec.targets.len()];
    let mut out = BTreeMap::new();
    for (name, n) in order {
        // The split whose deficit (target minus filled) is largest after adding this group,
        // relative to its target, so a 5 % split is not starved by a 90 % one.
        let best = (0..spec.targets.len())
            .max_by(|&a, &b| {
                let gap = |i: usize| {
                    let target = spec.targets[i].1 * total as f64;
                    (target - filled[i] as f64 - *n as f64 / 2.0) / target.max(1e-9)
                };
                gap(a).total_cmp(&gap(b)).then(b.cmp(&a))
            })
            .unwrap_or(0);
        filled[best] += n;
        out.insert(name.clone(), best);
    }
    out
}

fn hash(seed: u64, name: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"plse/split/v1\0");
    h.update(seed.to_le_bytes());
    h.update(name.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_and_refuses() {
        assert_eq!(SplitSpec::parse("train=0.8,test=0.2").unwrap().spec(), "train=0.8,test=0.2");
        assert!(matches!(SplitSpec::parse("train=0.8,test=0.3"), Err(SplitError::Sum(_))));
        assert!(matches!(SplitSpec::parse("train=1.5"), Err(SplitError::BadFraction(_))));
        assert!(matches!(SplitSpec::parse("a b=1"), Err(SplitError::BadName(_))));
        assert!(matches!(SplitSpec::parse("train=0.5,train=0.5"), Err(SplitError::Duplicate(_))));
        assert!(matches!(SplitSpec::parse("train"), Err(SplitError::Malformed(_))));
    }

    #[test]
    fn whole_groups_near_the_targets_and_deterministic() {
        let groups: BTreeMap<String, u64> = (0..40).map(|i| (format!("p{i:02}"), 20 + (i % 7))).collect();
        let total: u64 = groups.values().sum();
        let spec = SplitSpec::default();
        let a = assign(&groups, &spec, 1);
        assert_eq!(a, assign(&groups, &spec, 1), "deterministic");
        assert_ne!(a, assign(&groups, &spec, 2), "the seed matters");
        let mut sizes = [0u64; 3];
        for (g, s) in &a {
            sizes[*s] += groups[g];
        }
        for (i, (_, f)) in spec.targets.iter().enumerate() {
            let want = f * total as f64;
            assert!((sizes[i] as f64 - want).abs() <= 26.0, "split {i}: {} vs {want}", sizes[i]);
            assert!(sizes[i] > 0);
        }
    }
}
