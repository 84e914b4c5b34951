//! Figures of a release: what it holds (categories, difficulties, tasks, tags, token lengths),
//! how the run got there (pass rates per stage and pattern, rejection reasons, near-duplicate
//! similarities, decontamination), and how it was split. `stats.json`, the card and the report
//! all read this one structure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The tokenizer token counts use, named in the card.
pub const TOKENIZER: &str = "o200k_base (OpenAI's GPT-4o encoding, via tiktoken-rs)";

/// Summary of a distribution of token counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dist {
    /// Values counted.
    pub count: u64,
    /// Smallest.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
    /// `[lower, upper)` bins (powers of two) with their counts.
    pub histogram: Vec<(u64, u64, u64)>,
}

impl Dist {
    /// The summary of `values`.
    pub fn of(mut values: Vec<u32>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_unstable();
        let at = |q: f64| u64::from(values[((values.len() - 1) as f64 * q).round() as usize]);
        let sum: u64 = values.iter().map(|v| u64::from(*v)).sum();
        let mut histogram: Vec<(u64, u64, u64)> = Vec::new();
        let mut lo = 0u64;
        let mut hi = 16u64;
        let max = u64::from(*values.last().unwrap_or(&0));
        while lo <= max {
            let n = values.iter().filter(|v| u64::from(**v) >= lo && u64::from(**v) < hi).count() as u64;
            histogram.push((lo, hi, n));
            lo = hi;
            hi *= 2;
        }
        Self {
            count: values.len() as u64,
            min: at(0.0),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max,
            mean: sum as f64 / values.len() as f64,
            histogram,
        }
    }
}

/// Passed and failed runs of a stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassFail {
    /// Runs that passed.
    pub passed: u64,
    /// Runs that failed.
    pub failed: u64,
}

impl PassFail {
    /// Share that passed (1 when nothing ran).
    pub fn rate(&self) -> f64 {
        let total = self.passed + self.failed;
        if total == 0 { 1.0 } else { self.passed as f64 / total as f64 }
    }
}

/// What decontamination found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decontamination {
    /// Benchmarks checked against (`humaneval`, file names).
    pub benchmarks: Vec<String>,
    /// Benchmark items indexed.
    pub items: u64,
    /// n-gram length.
    pub ngram: usize,
    /// Candidates `generate` rejected before acceptance (stage `decontamination`).
    pub rejected_in_generate: u64,
    /// Rows this export left out because they match a benchmark.
    pub removed_in_export: u64,
    /// Hits per benchmark (both of the above).
    pub by_benchmark: BTreeMap<String, u64>,
    /// Some hits: row or candidate, benchmark item, kind of match.
    pub examples: Vec<Value>,
}

/// Everything `stats.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Training rows in the release.
    pub rows: u64,
    /// Preference pairs in the release.
    pub preference_pairs: u64,
    /// Rows per category.
    pub by_category: BTreeMap<String, u64>,
    /// Rows per difficulty.
    pub by_difficulty: BTreeMap<String, u64>,
    /// Rows per task.
    pub by_task: BTreeMap<String, u64>,
    /// Rows per language of the answer's code.
    pub by_language: BTreeMap<String, u64>,
    /// Rows per pattern.
    pub by_pattern: BTreeMap<String, u64>,
    /// The 25 most common tags with their row counts.
    pub top_tags: Vec<(String, u64)>,
    /// The tokenizer of the token counts.
    pub tokenizer: String,
    /// Tokens of the user turn.
    pub prompt_tokens: Dist,
    /// Tokens of the assistant turn.
    pub answer_tokens: Dist,
    /// Rows per config and split (what the data files hold).
    pub splits: BTreeMap<String, BTreeMap<String, u64>>,
    /// How splits were made and how close they came: split → (target share, achieved share).
    pub split_shares: BTreeMap<String, (f64, f64)>,
    /// Runs per stage over the whole run.
    pub stages: BTreeMap<String, PassFail>,
    /// Per pattern: share of its candidates accepted, and runs per stage.
    pub patterns: BTreeMap<String, PatternStats>,
    /// Rejected candidates per stage.
    pub rejections: BTreeMap<String, u64>,
    /// The most common rejection reasons: (stage, reason, count).
    pub top_reasons: Vec<(String, String, u64)>,
    /// Similarity of candidates rejected as near-duplicates: `[lower, upper)` bins and counts.
    pub near_duplicate_similarity: Vec<(f64, f64, u64)>,
    /// Decontamination.
    pub decontamination: Decontamination,
    /// Mean time per stage run in milliseconds (from the run's store).
    pub mean_stage_ms: BTreeMap<String, f64>,
}

/// Per-pattern figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatternStats {
    /// Rows in the release.
    pub rows: u64,
    /// Runs per stage.
    pub stages: BTreeMap<String, PassFail>,
}

/// Accumulates the per-row figures while rows stream past.
#[derive(Default)]
pub struct RowTally {
    stats: Stats,
    tags: BTreeMap<String, u64>,
    prompt: Vec<u32>,
    answer: Vec<u32>,
}

impl RowTally {
    /// Counts one training row (with its prompt and answer token counts).
    pub fn add(&mut self, row: &Value, prompt_tokens: usize, answer_tokens: usize) {
        let s = &mut self.stats;
        s.rows += 1;
        let bump = |m: &mut BTreeMap<String, u64>, key: &Value| *m.entry(key.as_str().unwrap_or("?").to_owned()).or_default() += 1;
        bump(&mut s.by_category, &row["category"]);
        bump(&mut s.by_difficulty, &row["difficulty"]);
        bump(&mut s.by_task, &row["task"]);
        bump(&mut s.by_language, &row["language"]);
        bump(&mut s.by_pattern, &row["pattern_id"]);
        for t in row["tags"].as_array().into_iter().flatten() {
            bump(&mut self.tags, t);
        }
        self.prompt.push(prompt_tokens.min(u32::MAX as usize) as u32);
        self.answer.push(answer_tokens.min(u32::MAX as usize) as u32);
    }

    /// The figures so far.
    pub fn finish(mut self) -> Stats {
        let mut tags: Vec<(String, u64)> = std::mem::take(&mut self.tags).into_iter().collect();
        tags.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        tags.truncate(25);
        self.stats.top_tags = tags;
        self.stats.tokenizer = TOKENIZER.to_owned();
        self.stats.prompt_tokens = Dist::of(std::mem::take(&mut self.prompt));
        self.stats.answer_tokens = Dist::of(std::mem::take(&mut self.answer));
        self.stats
    }
}

/// Bins of near-duplicate similarities, from the reasons of `dedup-near` rejects
/// ("near-duplicate of ... (Jaccard ≈ 0.93)").
pub fn similarity_histogram(similarities: &[f64]) -> Vec<(f64, f64, u64)> {
    let mut bins: Vec<(f64, f64, u64)> = (0..12).map(|i| (0.7 + 0.025 * f64::from(i), 0.7 + 0.025 * f64::from(i + 1), 0)).collect();
    for s in similarities {
        let i = (((s - 0.7) / 0.025).floor().max(0.0) as usize).min(bins.len() - 1);
        bins[i].2 += 1;
    }
    for b in &mut bins {
        b.0 = (b.0 * 1000.0).round() / 1000.0;
        b.1 = (b.1 * 1000.0).round() / 1000.0;
    }
    bins
}

/// The similarity in a `dedup-near` reason, if any.
pub fn similarity_of(reason: &str) -> Option<f64> {
    reason.rsplit('≈').next()?.trim().trim_end_matches(')').trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_and_reasons() {
        let d = Dist::of(vec![1, 2, 3, 4, 100]);
        assert_eq!((d.min, d.p50, d.max, d.count), (1, 3, 100, 5));
        assert_eq!(d.histogram.iter().map(|b| b.2).sum::<u64>(), 5);
        assert_eq!(d.histogram[0], (0, 16, 4));
        assert_eq!(similarity_of("near-duplicate of abc (Jaccard ≈ 0.93)"), Some(0.93));
        let h = similarity_histogram(&[0.7, 0.93, 1.0]);
        assert_eq!(h.iter().map(|b| b.2).sum::<u64>(), 3);
        assert_eq!(h.last().map(|b| b.2), Some(1));
    }
}
