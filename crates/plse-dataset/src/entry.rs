//! The one render entry: a pattern file's bytes → load (with diagnostics) → overrides →
//! prepare → draw. `plse-batch render`, the browser playground and the wasm probe all call
//! it, so they compute the same sample, row and errors for the same input.

use plse_render::{Prepared, RenderError};
use plse_sampling::{OverrideError, Overrides};
use plse_schema::{Diagnostic, LoadedFile, PAIRED_PARAM, Pattern};

use crate::{Drawn, Task, TaskMix, draw, draw_as};

/// Which task the sample is drawn as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TaskChoice<'a> {
    /// The scheduled one: the paired switch when overridden, else the mix's choice.
    Scheduled(&'a TaskMix),
    /// This one (`render --task`), which the pattern must support.
    Forced(Task),
}

/// What to render: a file and a draw.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// File name shown in diagnostics.
    pub name: &'a str,
    /// The file's bytes (invalid UTF-8 is reported, not repaired).
    pub bytes: &'a [u8],
    /// Category the sample is rendered under.
    pub category: &'a str,
    /// Seed.
    pub seed: u64,
    /// Index within the seed.
    pub index: u64,
    /// `name=value` overrides.
    pub params: &'a [String],
    /// The task.
    pub task: TaskChoice<'a>,
}

/// Why no sample came out of a file.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// The file has errors (its diagnostics say which); there is no pattern.
    #[error("the file has errors")]
    NotLoaded,
    /// An override is malformed, unknown or out of its parameter's domain.
    #[error(transparent)]
    Overrides(#[from] OverrideError),
    /// The pattern's templates could not be compiled.
    #[error("{0}")]
    Prepare(RenderError),
    /// The pattern does not support the forced task.
    #[error("`{pattern}` cannot be drawn as `{task}`; it supports: {}", names(.supported))]
    Unsupported {
        /// The pattern id.
        pattern: String,
        /// The task asked for.
        task: Task,
        /// The tasks it supports.
        supported: Vec<Task>,
    },
    /// The forced task contradicts an override of the paired switch.
    #[error("--task {0} contradicts --param {PAIRED_PARAM}")]
    Contradicts(Task),
    /// The task mix gives the pattern no task.
    #[error("the task mix `{mix}` gives `{pattern}` no task")]
    NoTask {
        /// The mix, as `--tasks` spells it.
        mix: String,
        /// The pattern id.
        pattern: String,
    },
    /// Rendering failed (fuel, recursion, a template error): located by [`Rendered::diagnostic`].
    #[error("{0}")]
    Render(RenderError),
}

fn names(tasks: &[Task]) -> String {
    tasks.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
}

/// What the entry computed: the loaded file (its diagnostics, its pattern) and the drawn
/// sample and row, or why there is none.
#[derive(Debug)]
pub struct Rendered {
    /// The file as loaded.
    pub file: LoadedFile,
    /// The sample and its row.
    pub outcome: Result<Drawn, EntryError>,
}

impl Rendered {
    /// The pattern, when the file loads.
    pub fn pattern(&self) -> Option<&Pattern> {
        self.file.pattern.as_ref()
    }

    /// The diagnostic of a failed render or prepare, located in the file.
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        match (&self.outcome, self.pattern()) {
            (Err(EntryError::Render(e) | EntryError::Prepare(e)), Some(p)) => Some(e.to_diagnostic(p, &self.file.source)),
            _ => None,
        }
    }
}

/// Loads `req.bytes` and draws `(seed, index)` from it.
pub fn render(req: &Request<'_>) -> Rendered {
    render_loaded(plse_schema::load(req.name, req.bytes), req)
}

/// [`render`] for a file already loaded (the library's entry of a pattern id); `req.name` and
/// `req.bytes` are not read.
pub fn render_loaded(file: LoadedFile, req: &Request<'_>) -> Rendered {
    let outcome = match &file.pattern {
        Some(pattern) => draw_pattern(pattern, req),
        None => Err(EntryError::NotLoaded),
    };
    Rendered { file, outcome }
}

fn draw_pattern(pattern: &Pattern, req: &Request<'_>) -> Result<Drawn, EntryError> {
    let overrides = Overrides::parse(pattern, req.params)?;
    let prepared = Prepared::new(pattern, req.category).map_err(EntryError::Prepare)?;
    let drawn = match req.task {
        TaskChoice::Forced(task) => {
            check_forced(pattern, req.category, task, &overrides)?;
            draw_as(&prepared, req.seed, req.index, task, &overrides)
        }
        TaskChoice::Scheduled(mix) => draw(&prepared, req.category, req.seed, req.index, mix, &overrides)
            .ok_or_else(|| EntryError::NoTask { mix: mix.spec(), pattern: pattern.pattern_id.clone() })?,
    };
    drawn.map_err(EntryError::Render)
}

fn check_forced(pattern: &Pattern, category: &str, task: Task, overrides: &Overrides) -> Result<(), EntryError> {
    let supported = Task::supported(pattern, category);
    if !supported.contains(&task) {
        return Err(EntryError::Unsupported { pattern: pattern.pattern_id.clone(), task, supported: supported.to_vec() });
    }
    if Task::from_overrides(pattern, overrides).is_some_and(|t| t != task) {
        return Err(EntryError::Contradicts(task));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATTERN: &str = "plse_version: \"3\"\npattern_id: test.entry\nmetadata:\n  author: tests\n  description: d\n  tags: [t]\n  pedagogy: {concept: c, difficulty: beginner}\ninstruction: \"Write it.\"\nparameters: {}\ntemplate: |\n  x = 1\nvalidation:\n  unit_test_snippets:\n    - \"assert x == 1\"\n";

    fn rendered(bytes: &[u8], params: &[String], task: TaskChoice<'_>) -> Rendered {
        render(&Request { name: "p.yaml", bytes, category: "best_practices", seed: 1, index: 2, params, task })
    }

    #[test]
    fn a_file_renders_as_its_scheduled_task() {
        let mix = TaskMix::default();
        let r = rendered(PATTERN.as_bytes(), &[], TaskChoice::Scheduled(&mix));
        let d = r.outcome.as_ref().expect("renders");
        assert_eq!((d.sample.seed, d.sample.index, d.row.task), (1, 2, Task::Write));
        assert_eq!(r.pattern().map(|p| p.pattern_id.as_str()), Some("test.entry"));
    }

    #[test]
    fn errors_are_typed() {
        let mix = TaskMix::default();
        let broken = rendered(b"pattern_id: [", &[], TaskChoice::Scheduled(&mix));
        assert!(matches!(broken.outcome, Err(EntryError::NotLoaded)) && broken.file.has_errors());
        let bad = rendered(PATTERN.as_bytes(), &["no_such=1".to_owned()], TaskChoice::Scheduled(&mix));
        assert!(matches!(bad.outcome, Err(EntryError::Overrides(_))));
        let fix = rendered(PATTERN.as_bytes(), &[], TaskChoice::Forced(Task::Fix));
        let Err(e) = &fix.outcome else { panic!("a single pattern has no fix task") };
        assert_eq!(e.to_string(), "`test.entry` cannot be drawn as `fix`; it supports: write");
        let none = TaskMix::parse("fix=1").unwrap();
        let r = rendered(PATTERN.as_bytes(), &[], TaskChoice::Scheduled(&none));
        assert!(matches!(r.outcome, Err(EntryError::NoTask { .. })));
    }
}
