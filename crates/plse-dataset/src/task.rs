//! Tasks: what a training row asks of the model, and the deterministic choice of a task per
//! sample.

use std::fmt;

use rand::RngExt;
use serde::Serialize;
use serde_json::Value as Json;
use thiserror::Error;

use plse_sampling::Overrides;
use plse_sampling::rng::param_stream;
use plse_schema::{PAIRED_PARAM, Pattern};

/// What a row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Write the code the instruction describes (best practices, orchestration, meta, and
    /// the fixed side of a paired pattern).
    Write,
    /// Repair the flawed code given in the prompt: say what is wrong and why, then fix it.
    Fix,
    /// Choose between two approaches: the rule for choosing, and code that measures both.
    Compare,
}

impl Task {
    /// All tasks.
    pub const ALL: [Task; 3] = [Self::Write, Self::Fix, Self::Compare];

    /// The spelling in rows and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Fix => "fix",
            Self::Compare => "compare",
        }
    }

    /// The task of that spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// The tasks a pattern can be drawn as: paired patterns as `write` (the fixed side) or
    /// `fix`; trade-offs as `compare`; everything else as `write`.
    pub fn supported(pattern: &Pattern, category: &str) -> &'static [Task] {
        if pattern.is_paired() {
            &[Self::Write, Self::Fix]
        } else if category == "tradeoffs" {
            &[Self::Compare]
        } else {
            &[Self::Write]
        }
    }

    /// The task an explicit value of the paired switch selects (`is_anti_pattern=true` is a
    /// fix), if `overrides` sets it.
    pub fn from_overrides(pattern: &Pattern, overrides: &Overrides) -> Option<Self> {
        if !pattern.is_paired() {
            return None;
        }
        match overrides.get(PAIRED_PARAM) {
            Some(Json::Bool(true)) => Some(Self::Fix),
            Some(Json::Bool(false)) => Some(Self::Write),
            _ => None,
        }
    }

    /// `overrides` plus what `self` needs: a paired pattern is rendered with the flawed side
    /// drawn for a fix and the fixed side for a write.
    pub fn overrides(self, pattern: &Pattern, overrides: &Overrides) -> Overrides {
        let mut out = overrides.clone();
        if pattern.is_paired() {
            out.set(PAIRED_PARAM, Json::Bool(self == Self::Fix));
        }
        out
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Relative weights of the tasks in a run. A pattern is drawn as one of the tasks it supports,
/// in proportion to their weights; a pattern whose tasks all weigh zero is left out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskMix {
    weights: [f64; 3],
}

impl Default for TaskMix {
    /// Every task weighs 1: paired patterns give as many fix rows as write rows.
    fn default() -> Self {
        Self { weights: [1.0; 3] }
    }
}

/// A `--tasks` value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MixError {
    /// An entry is not `task=weight`.
    #[error("`{0}` is not of the form TASK=WEIGHT (e.g. write=1,fix=2)")]
    Malformed(String),
    /// An unknown task name.
    #[error("unknown task `{0}`; tasks are write, fix and compare")]
    UnknownTask(String),
    /// A weight that is not a finite, non-negative number.
    #[error("weight `{0}` must be a non-negative number")]
    BadWeight(String),
    /// Every weight is zero.
    #[error("at least one task needs a weight above zero")]
    AllZero,
}

impl TaskMix {
    /// Parses `write=1,fix=2`. Tasks not named weigh zero (`fix=1` gives only fix rows).
    pub fn parse(spec: &str) -> Result<Self, MixError> {
        let mut weights = [0.0; 3];
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, w)) = part.split_once('=') else { return Err(MixError::Malformed(part.to_owned())) };
            let task = Task::parse(name.trim()).ok_or_else(|| MixError::UnknownTask(name.trim().to_owned()))?;
            let w: f64 = w.trim().parse().map_err(|_| MixError::BadWeight(w.trim().to_owned()))?;
            if !w.is_finite() || w < 0.0 {
                return Err(MixError::BadWeight(w.to_string()));
            }
            weights[task as usize] = w;
        }
        if weights.iter().all(|w| *w == 0.0) {
            return Err(MixError::AllZero);
        }
        Ok(Self { weights })
    }

    /// The weight of `task`.
    pub fn weight(&self, task: Task) -> f64 {
        self.weights[task as usize]
    }

    /// The canonical spelling (`write=1,fix=1,compare=1`), recorded with a run.
    pub fn spec(&self) -> String {
        Task::ALL.iter().map(|t| format!("{}={}", t.as_str(), self.weight(*t))).collect::<Vec<_>>().join(",")
    }

    /// The task of sample `(seed, index)` of `pattern`: a pure function of those and the mix,
    /// drawn from a stream of its own (parameter draws are unaffected). `None` when every task
    /// the pattern supports weighs zero.
    pub fn choose(&self, pattern: &Pattern, category: &str, seed: u64, index: u64) -> Option<Task> {
        let tasks = Task::supported(pattern, category);
        let total: f64 = tasks.iter().map(|t| self.weight(*t)).sum();
        if total <= 0.0 {
            return None;
        }
        // A NUL cannot occur in a parameter name, so this stream is no parameter's.
        let x: f64 = param_stream(&pattern.pattern_id, "\0task", seed, index).random::<f64>() * total;
        let mut acc = 0.0;
        for t in tasks {
            acc += self.weight(*t);
            if x < acc {
                return Some(*t);
            }
        }
        tasks.iter().rev().find(|t| self.weight(**t) > 0.0).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_refuses() {
        assert_eq!(TaskMix::parse("write=1,fix=3").map(|m| m.spec()), Ok("write=1,fix=3,compare=0".into()));
        assert_eq!(TaskMix::parse("fix=x"), Err(MixError::BadWeight("x".into())));
        assert_eq!(TaskMix::parse("mend=1"), Err(MixError::UnknownTask("mend".into())));
        assert_eq!(TaskMix::parse("write"), Err(MixError::Malformed("write".into())));
        assert_eq!(TaskMix::parse("write=0"), Err(MixError::AllZero));
        assert_eq!(TaskMix::parse("write=-1"), Err(MixError::BadWeight("-1".into())));
    }
}
