//! How many near-unique rows a pattern can yield: the rows `generate` would keep from one
//! pattern over K draws (same task mix and dedup settings), and how many distinct code
//! structures they have (names, strings and numbers abstracted).

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use plse_dedup::{Params, structure_key};
use plse_render::Prepared;
use plse_sampling::Overrides;

use crate::dedup::TaskDeduper;
use crate::draw;
use crate::task::{Task, TaskMix};

/// Capacity of one pattern.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Capacity {
    /// Candidates drawn.
    pub draws: u64,
    /// Candidates that rendered.
    pub rendered: u64,
    /// Rows kept by exact and near-duplicate detection.
    pub unique: u64,
    /// Distinct code structures among the kept rows.
    pub structures: u64,
    /// Kept rows per task.
    pub by_task: BTreeMap<Task, u64>,
}

/// Draws indices `0..draws` of `seed` as `generate` would and counts what dedup keeps.
pub fn capacity(prepared: &Prepared, category: &str, seed: u64, draws: u64, mix: &TaskMix, dedup: Params) -> Capacity {
    let mut out = Capacity { draws, ..Capacity::default() };
    let mut seen = TaskDeduper::new(dedup);
    let mut shapes = HashSet::new();
    for index in 0..draws {
        let Some(Ok(drawn)) = draw(prepared, category, seed, index, mix, &Overrides::none()) else { continue };
        out.rendered += 1;
        let text = drawn.row.dedup_text();
        if seen.check_and_insert(drawn.row.task, &drawn.row.id, &text).is_ok() {
            out.unique += 1;
            *out.by_task.entry(drawn.row.task).or_default() += 1;
            shapes.insert(structure_key(&text));
        }
    }
    out.structures = shapes.len() as u64;
    out
}
