//! Merge planning: which shard rows the release keeps.
//!
//! The merge reads the complete shards in index order and each shard's rows in acceptance
//! order (one row in memory at a time). A row is skipped when its bucket (a targeted
//! category, or the rest) already holds its target — the shards over-generate a little — and
//! rejected when it duplicates a kept row of its task, exactly or nearly, under the run's
//! threshold: the same dedup (`plse-dedup` through `plse-dataset`'s `TaskDeduper`) as inside
//! a shard, now across shards. The result is exactly N rows with every category target met,
//! and a function of the shards' contents alone.

use std::collections::BTreeMap;

use serde_json::Value;

/// The bucket of rows not in a targeted category (as `generate` names it).
pub const REST: &str = "*";

/// Rows still to take, per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    left: BTreeMap<String, u64>,
}

impl Quota {
    /// The quota of a run of `count` rows with category `targets` (already validated by the
    /// shards: the targets add up to at most `count`).
    pub fn new(count: u64, targets: &BTreeMap<String, u64>) -> Self {
        let mut left = targets.clone();
        let targeted: u64 = targets.values().sum();
        if count > targeted {
            left.insert(REST.to_owned(), count - targeted);
        }
        Self { left }
    }

    /// The bucket a row of `category` fills.
    pub fn bucket<'a>(&self, category: &'a str) -> &'a str {
        if category != REST && self.left.contains_key(category) { category } else { REST }
    }

    /// Whether a row of `category` is still wanted.
    pub fn wants(&self, category: &str) -> bool {
        self.left.get(self.bucket(category)).is_some_and(|n| *n > 0)
    }

    /// Counts a kept row of `category`.
    pub fn take(&mut self, category: &str) {
        let b = self.bucket(category).to_owned();
        if let Some(n) = self.left.get_mut(&b) {
            *n = n.saturating_sub(1);
        }
    }

    /// Rows a bucket still lacks.
    pub fn left(&self, bucket: &str) -> u64 {
        self.left.get(bucket).copied().unwrap_or(0)
    }

    /// Buckets that are still short, with how many rows they lack.
    pub fn short(&self) -> Vec<(String, u64)> {
        self.left.iter().filter(|(_, n)| **n > 0).map(|(b, n)| (b.clone(), *n)).collect()
    }

    /// Whether every bucket is full.
    pub fn done(&self) -> bool {
        self.left.values().all(|n| *n == 0)
    }
}

/// The category targets recorded in a run's settings.
pub fn targets(settings: &Value) -> BTreeMap<String, u64> {
    settings["targets"].as_object().map(|m| m.iter().filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n))).collect()).unwrap_or_default()
}

/// The id of the preference pair a training row belongs to (`None` for rows of unpaired
/// patterns): the same hash `plse-dataset` gives the pair, from the row's pattern, version and
/// parameters other than the switch.
pub fn pair_id(row: &Value) -> Option<String> {
    if row["pair"].is_null() {
        return None;
    }
    Some(plse_dataset::pair_id(row["pattern_id"].as_str()?, row["pattern_version"].as_str()?, row["parameters"].as_object()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_fills_targets_then_the_rest() {
        let targets: BTreeMap<String, u64> = [("anti_patterns".to_owned(), 2)].into();
        let mut q = Quota::new(3, &targets);
        assert!(q.wants("anti_patterns") && q.wants("best_practices"));
        q.take("anti_patterns");
        q.take("anti_patterns");
        assert!(!q.wants("anti_patterns"));
        assert_eq!(q.short(), vec![(REST.to_owned(), 1)]);
        q.take("tradeoffs");
        assert!(q.done() && !q.wants("meta"));
        // Every category is the rest when nothing is targeted; a full quota wants nothing.
        let q = Quota::new(0, &BTreeMap::new());
        assert!(q.done() && !q.wants("x"));
    }

    #[test]
    fn pair_id_ignores_the_switch() {
        let row = |fix: bool| {
            serde_json::json!({ "pattern_id": "p", "pattern_version": "1", "pair": {},
                "parameters": { "n": 3, plse_schema::PAIRED_PARAM: fix } })
        };
        assert_eq!(pair_id(&row(true)), pair_id(&row(false)));
        assert!(pair_id(&serde_json::json!({ "pair": null })).is_none());
    }
}
