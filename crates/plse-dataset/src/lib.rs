//! PLSE training rows: what a rendered sample becomes in a dataset.
//!
//! A sample is drawn as a [`Task`] (write, fix or compare) chosen deterministically from
//! (pattern, seed, index) and the run's [`TaskMix`]; [`compose`] turns it into a chat
//! exchange whose assistant turn is a Markdown answer (a fenced code block with its language
//! and the lesson's explanation, reflowed), the same exchange as an Alpaca triple, and
//! metadata. Paired patterns also give [`PreferenceRow`]s. [`capacity`] measures how many
//! near-unique rows a pattern yields.
//!
//! **Invariant:** no I/O; `plse-batch` and the browser playground build rows with these very
//! functions, so a row is the same bytes in both.
pub mod capacity;
pub mod dedup;
pub mod entry;
pub mod markdown;
pub mod rephrase;
pub mod row;
pub mod task;

use plse_render::{Prepared, RenderError, Sample};
use plse_sampling::Overrides;

pub use capacity::{Capacity, capacity};
pub use dedup::TaskDeduper;
pub use row::{Finding, Message, PreferenceRow, SideFindings, StageOutcome, TrainingRow, Verification, compose, pair_id, preference};
pub use task::{MixError, Task, TaskMix};

/// A sample and its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    /// The rendered sample (both sides of a paired pattern).
    pub sample: Sample,
    /// Its training row (without verification).
    pub row: TrainingRow,
}

/// Sample `(seed, index)` of a pattern drawn as its scheduled task: the task `overrides`
/// select (an explicit paired switch), else the one `mix` chooses. `None` when the mix gives
/// the pattern no task. `generate`, `render`, `lint --capacity` and the playground all draw
/// through here.
pub fn draw(
    prepared: &Prepared,
    category: &str,
    seed: u64,
    index: u64,
    mix: &TaskMix,
    overrides: &Overrides,
) -> Option<Result<Drawn, RenderError>> {
    let pattern = prepared.pattern();
    let task = Task::from_overrides(pattern, overrides).or_else(|| mix.choose(pattern, category, seed, index))?;
    Some(draw_as(prepared, seed, index, task, overrides))
}

/// Sample `(seed, index)` drawn as `task` (which the pattern must support).
pub fn draw_as(prepared: &Prepared, seed: u64, index: u64, task: Task, overrides: &Overrides) -> Result<Drawn, RenderError> {
    let sample = prepared.render(seed, index, &task.overrides(prepared.pattern(), overrides))?;
    let row = compose(prepared, &sample, task)?;
    Ok(Drawn { sample, row })
}
