//! Sharded runs: one logical run of N samples split into T shards that any scheduler (Slurm
//! arrays, Kubernetes Indexed Jobs, AWS Batch arrays, a shell loop) runs in any order,
//! placement or number of retries, then `merge` into exactly the N samples of a release.
//!
//! **Boundary:** this module decides *which* candidates a shard draws, *how much* it aims
//! for, what pins a run (`run.json`), when a shard is complete (its marker), how missing
//! shards are reported, and which rows the merge keeps. The commands (`generate`,
//! `shards`, `merge`) are thin layers over it.
//!
//! How candidates are split: every pattern has one global index space (sample `i` of the
//! pattern under the run's seed). Shard K of T draws the indices `i` with `i % T == K`, in
//! the same deterministic schedule as an unsharded run, walking its own local cursor `j`
//! (`i = j·T + K`). So the candidates of two shards are disjoint, and each shard's rows are a
//! pure function of (settings, K, T): not of timing, placement, retries or `--jobs`. Each
//! shard aims at `ceil(n/T)` rows of every bucket (a targeted category, or the rest) plus a
//! margin, so that the merge, after removing cross-shard duplicates, can trim every bucket
//! to its exact target. T = 1 has no margin: it is the unsharded run.
//!
//! Invariants:
//! - **Shards never share a candidate**, and their union is a function of the settings.
//! - **A shard is complete exactly when its marker exists** (written last, by rename), and
//!   the marker's checksums match the shard's files.
//! - **`run.json` is written once** (by hard link, so two shards starting together cannot
//!   both win) and every later shard must match it.

pub mod layout;
pub mod merge;
pub mod template;

use std::fmt;

/// Where the merge's top-up draws from: the sample indices from 2^62 upward. No shard gets
/// there (shard K of T draws `j·T + K` for its local cursor `j`, and no run draws 2^62
/// candidates), so top-up candidates are disjoint from every shard's, and a top-up row keeps
/// the run's seed: `render --seed S --index I` reproduces it.
pub const TOPUP_BASE: u64 = 1 << 62;

/// Exit codes a scheduler can act on.
pub mod code {
    /// Done (or nothing left to do).
    pub const OK: i32 = 0;
    /// Transient: retry (interrupted, I/O failure, a run that fell short).
    pub const TRANSIENT: i32 = 1;
    /// Configuration: do not retry (bad flags, settings that contradict `run.json`).
    pub const CONFIG: i32 = 2;
    /// Incomplete: shards are missing or damaged (run them, then merge again).
    pub const INCOMPLETE: i32 = 3;
}

/// An error that carries the process exit code it should end with.
#[derive(Debug)]
pub struct Exit {
    /// One of [`code`].
    pub code: i32,
    /// What went wrong and what to do.
    pub message: String,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// A configuration error (exit 2).
pub fn config_error(message: impl Into<String>) -> anyhow::Error {
    Exit { code: code::CONFIG, message: message.into() }.into()
}

/// An incomplete run (exit 3).
pub fn incomplete(message: impl Into<String>) -> anyhow::Error {
    Exit { code: code::INCOMPLETE, message: message.into() }.into()
}

/// The exit code of an error: its [`Exit`] code, else `default`.
pub fn exit_code(e: &anyhow::Error, default: i32) -> i32 {
    e.downcast_ref::<Exit>().map_or(default, |x| x.code)
}

/// One shard of a run: index K of T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, in `0..total`.
    pub index: u64,
    /// T, at least 1.
    pub total: u64,
}

impl Shard {
    /// The whole run (T = 1): every index, today's unsharded behaviour.
    pub const WHOLE: Shard = Shard { index: 0, total: 1 };

    /// The global sample index of this shard's `local`-th candidate of a pattern.
    pub fn global(self, local: u64) -> u64 {
        local * self.total + self.index
    }

    /// The local cursor position of one of this shard's global indices.
    pub fn local(self, global: u64) -> u64 {
        global / self.total
    }

    /// Rows this shard aims at for a bucket the whole run needs `need` of: its share,
    /// rounded up, plus `margin_pct` percent of it (at least one row) so the merge can trim
    /// after cross-shard dedup. T = 1 aims at exactly `need`.
    pub fn need(self, need: u64, margin_pct: u64) -> u64 {
        if self.total == 1 {
            return need;
        }
        let share = need.div_ceil(self.total);
        if share == 0 {
            return 0;
        }
        share + (share * margin_pct).div_ceil(100).max(1)
    }
}

/// The environment variables a shard index is read from, in order of precedence (after the
/// `--shard-index` flag).
pub const INDEX_VARS: [&str; 4] = ["PLSE_SHARD_INDEX", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

/// The shard a process runs: K from the flag, else the first of [`INDEX_VARS`] that is set,
/// plus `offset` (arrays split at Slurm's MaxArraySize); T from the flag alone, never from
/// the scheduler (its task count is wrong on reruns of a few tasks).
pub fn resolve(total: u64, flag: Option<u64>, offset: u64, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Shard> {
    if total == 0 {
        return Err(config_error("--num-shards must be at least 1"));
    }
    let (raw, from) = match flag {
        Some(k) => (k, "--shard-index".to_owned()),
        None => match INDEX_VARS.iter().find_map(|v| env(v).filter(|s| !s.trim().is_empty()).map(|s| (*v, s))) {
            Some((var, value)) => {
                let k = value.trim().parse::<u64>().map_err(|_| config_error(format!("{var}={value} is not a shard index")))?;
                (k, format!("${var}"))
            }
            None if total == 1 => (0, "default".to_owned()),
            None => {
                return Err(config_error(format!(
                    "--num-shards {total} needs a shard index: pass --shard-index K or set one of {}",
                    INDEX_VARS.join(", ")
                )));
            }
        },
    };
    let index = raw.checked_add(offset).ok_or_else(|| config_error("shard index overflows"))?;
    if index >= total {
        return Err(config_error(format!(
            "shard index {index} ({from} {raw} + offset {offset}) is out of range for --num-shards {total} (0..={})",
            total - 1
        )));
    }
    Ok(Shard { index, total })
}

/// Indices as a Slurm `--array` list: `3,17-19`.
pub fn array_list(indices: &[u64]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn shards_partition_the_index_space() {
        let t = 4;
        let mut seen = std::collections::BTreeSet::new();
        for k in 0..t {
            let s = Shard { index: k, total: t };
            for j in 0..25 {
                let g = s.global(j);
                assert_eq!(g % t, k);
                assert_eq!(s.local(g), j);
                assert!(seen.insert(g), "index {g} drawn twice");
            }
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
        assert_eq!(Shard::WHOLE.global(7), 7);
    }

    #[test]
    fn need_is_exact_for_one_shard_and_covers_the_share_otherwise() {
        assert_eq!(Shard::WHOLE.need(40, 10), 40);
        let s = Shard { index: 3, total: 4 };
        assert_eq!(s.need(40, 10), 11);
        assert_eq!(s.need(41, 10), 13);
        assert_eq!(s.need(0, 10), 0);
        assert_eq!(s.need(1, 0), 2);
        for n in 0..200 {
            assert!(s.need(n, 10) * 4 >= n);
        }
    }

    #[test]
    fn index_comes_from_the_flag_then_the_scheduler() {
        let none = env(&[]);
        assert_eq!(resolve(4, Some(2), 0, &none).unwrap().index, 2);
        assert_eq!(resolve(1, None, 0, &none).unwrap(), Shard::WHOLE);
        assert_eq!(exit_code(&resolve(4, None, 0, &none).unwrap_err(), 0), code::CONFIG);
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(resolve(4, None, 0, &k8s).unwrap().index, 3);
        // The flag wins; the offset shifts a split array.
        assert_eq!(resolve(4, Some(1), 0, &k8s).unwrap().index, 1);
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "1"), ("AWS_BATCH_JOB_ARRAY_INDEX", "0")]);
        assert_eq!(resolve(2000, None, 1000, &slurm).unwrap().index, 1001);
        assert_eq!(exit_code(&resolve(4, None, 4, &slurm).unwrap_err(), 0), code::CONFIG);
        let bad = env(&[("PLSE_SHARD_INDEX", "x")]);
        assert!(resolve(4, None, 0, &bad).unwrap_err().to_string().contains("PLSE_SHARD_INDEX=x"));
    }

    #[test]
    fn array_lists_collapse_runs() {
        assert_eq!(array_list(&[19, 3, 17, 18]), "3,17-19");
        assert_eq!(array_list(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_list(&[5]), "5");
        assert_eq!(array_list(&[]), "");
        assert_eq!(array_list(&[1, 3, 5, 6]), "1,3,5-6");
    }
}
