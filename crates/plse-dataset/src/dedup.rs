//! Duplicates are judged within a task: the same fixed code is one lesson as a write and
//! another as a fix of a flawed version, but two writes of near-identical code are one.

use plse_dedup::{Counts, Deduper, Duplicate, Fingerprint, Params};

use crate::task::Task;

/// One exact + near-duplicate index per task.
#[derive(Debug, Clone)]
pub struct TaskDeduper {
    by_task: [Deduper; 3],
}

impl TaskDeduper {
    /// Empty indices with `params` (threshold, permutations, bands).
    pub fn new(params: Params) -> Self {
        Self { by_task: [Deduper::new(params), Deduper::new(params), Deduper::new(params)] }
    }

    /// Whether `text` duplicates a row of `task` kept so far (nothing recorded).
    pub fn check(&self, task: Task, text: &str) -> Result<(), Duplicate> {
        self.by_task[task as usize].check(text)
    }

    /// What the indices compare of `text` (the same for every task: they share parameters).
    pub fn fingerprint(&self, text: &str) -> Fingerprint {
        self.by_task[0].fingerprint(text)
    }

    /// [`TaskDeduper::check`] of a fingerprint.
    pub fn check_fingerprint(&self, task: Task, fp: &Fingerprint) -> Result<(), Duplicate> {
        self.by_task[task as usize].check_fingerprint(fp)
    }

    /// [`TaskDeduper::check_and_insert`] of a fingerprint.
    pub fn check_and_insert_fingerprint(&mut self, task: Task, key: &str, fp: Fingerprint) -> Result<(), Duplicate> {
        self.by_task[task as usize].check_and_insert_fingerprint(key, fp)
    }

    /// Records `text` under `key` unless it duplicates a kept row of `task`.
    pub fn check_and_insert(&mut self, task: Task, key: &str, text: &str) -> Result<(), Duplicate> {
        self.by_task[task as usize].check_and_insert(key, text)
    }

    /// Counts over all tasks.
    pub fn counts(&self) -> Counts {
        self.by_task.iter().map(Deduper::counts).fold(Counts::default(), |a, c| Counts {
            unique: a.unique + c.unique,
            exact: a.exact + c.exact,
            near: a.near + c.near,
        })
    }
}
