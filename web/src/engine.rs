//! One evaluation of the editor's text: load, diagnostics, the parameter form and the
//! rendered sample — `plse-dataset`'s render entry, which `plse-batch render` calls for the
//! same input, placed in the editor. Pure, so it is tested natively and timed in the browser.

use plse_dataset::entry::{self, EntryError, Rendered, Request, TaskChoice};
use plse_dataset::{TaskMix, TrainingRow, preference};
use plse_render::Sample;
use plse_schema::{Diagnostic, Pattern, RenderStyle, Severity, SourceFile};
use serde::{Deserialize, Serialize};

use crate::params::{Control, controls};

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input<'a> {
    /// File name shown in diagnostics (the library path or the user's name for it).
    pub name: &'a str,
    /// The YAML text.
    pub text: &'a str,
    /// Category the sample is rendered under.
    pub category: &'a str,
    /// Seed.
    pub seed: u64,
    /// Index within the seed.
    pub index: u64,
    /// `name=value` overrides, as `plse-batch render --param` takes them.
    pub params: &'a [String],
}

/// A diagnostic placed in the editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Start, in UTF-16 code units (CodeMirror's unit).
    pub from: usize,
    /// End, in UTF-16 code units (at least `from`).
    pub to: usize,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start.
    pub column: usize,
    /// `error` or `warning`.
    pub severity: String,
    /// Short message (with the kebab-case code).
    pub message: String,
    /// The full rustc-style text, as the CLI prints it.
    pub rendered: String,
}

/// What the page shows of an evaluation as the engine made it: the diagnostics, the form and
/// the CLI's outputs. Part of [`Evaluation`] here and, as it is, of the `wire::Shown` the page
/// receives from the engine worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Panes {
    /// Diagnostics of loading and rendering, in source order.
    pub markers: Vec<Marker>,
    /// All diagnostics as the CLI prints them (plain text).
    pub diagnostics_text: String,
    /// Whether any diagnostic is an error.
    pub has_errors: bool,
    /// Why no sample could be rendered from valid YAML (a bad override).
    pub override_error: Option<String>,
    /// Form controls for the pattern's parameters.
    pub controls: Vec<Control>,
    /// `plse-batch render --row` output (without the trailing newline).
    pub row_json: String,
    /// `plse-batch render --preference` output, for paired patterns.
    pub preference_json: Option<String>,
    /// `plse-batch render --json` output.
    pub record_json: String,
    /// The file this evaluation is of (`Input::name`).
    pub file: String,
    /// The sample, row and form are those of an earlier evaluation of the same file: this
    /// one has none (the YAML has errors, or an override is bad), and the page keeps showing
    /// the last good sample, marked stale, rather than blank panes while the author types.
    pub stale: bool,
}

/// Everything the engine makes of one input.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// What the page shows of it.
    pub panes: Panes,
    /// The pattern, when it loads.
    pub pattern: Option<Pattern>,
    /// The sample, when it renders.
    pub sample: Option<Sample>,
    /// Its training row, drawn as the scheduled task (the paired switch, when overridden,
    /// selects write or fix).
    pub row: Option<TrainingRow>,
}

impl Evaluation {
    /// This evaluation, with the last good sample of `previous` (its sample, row, JSON and
    /// parameter form) carried over and marked stale when this one has no sample and
    /// `previous` is of the same file. The diagnostics and the pattern stay this evaluation's.
    pub fn or_last_good(mut self, previous: &Self) -> Self {
        if self.sample.is_some() || previous.sample.is_none() || previous.panes.file != self.panes.file {
            return self;
        }
        // Not the pattern: what judges the file (the checklist, the checks) sees this text's.
        self.sample.clone_from(&previous.sample);
        self.row.clone_from(&previous.row);
        let (now, then) = (&mut self.panes, &previous.panes);
        now.controls.clone_from(&then.controls);
        now.row_json.clone_from(&then.row_json);
        now.preference_json.clone_from(&then.preference_json);
        now.record_json.clone_from(&then.record_json);
        now.stale = true;
        self
    }
}

/// A byte offset (clamped to the text and to a char boundary) in UTF-16 code units.
fn utf16_offset(source: &SourceFile, byte: usize) -> usize {
    source.text()[..source.clamp(byte)].encode_utf16().count()
}

fn marker(d: &Diagnostic, source: &SourceFile) -> Marker {
    let view = d.to_view(source);
    // The range the rendered snippet underlines: an empty span covers the character it
    // points at, so the editor shows a range rather than an easily missed point.
    let span = d.display_span(source);
    let from = utf16_offset(source, span.start);
    Marker {
        from,
        to: utf16_offset(source, span.end).max(from),
        line: view.line,
        column: view.column,
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
        .to_owned(),
        message: format!("{} [{}]", d.message, d.code.as_str()),
        rendered: d.render(source, RenderStyle::Plain),
    }
}

/// Loads and renders `input`: the entry `plse-batch render` calls, with the default task mix.
pub fn evaluate(input: &Input<'_>) -> Evaluation {
    let mix = TaskMix::default();
    let rendered = entry::render(&Request {
        name: input.name,
        bytes: input.text.as_bytes(),
        category: input.category,
        seed: input.seed,
        index: input.index,
        params: input.params,
        task: TaskChoice::Scheduled(&mix),
    });
    let mut diagnostics = rendered.file.diagnostics.clone();
    diagnostics.extend(rendered.diagnostic());
    let Rendered { file, outcome } = rendered;
    let mut panes = Panes { file: input.name.to_owned(), ..Panes::default() };
    let (mut sample, mut row) = (None, None);
    match outcome {
        Ok(d) => {
            panes.row_json = serde_json::to_string(&d.row).unwrap_or_default();
            panes.preference_json = preference(&d.sample).and_then(|p| serde_json::to_string(&p).ok());
            panes.record_json = serde_json::to_string_pretty(&d.sample).unwrap_or_default();
            sample = Some(d.sample);
            row = Some(d.row);
        }
        Err(EntryError::Overrides(e)) => panes.override_error = Some(e.to_string()),
        // Render errors are among the diagnostics; a file with errors has its own.
        Err(_) => {}
    }
    diagnostics.sort_by_key(|d| d.span.start);
    panes.has_errors = diagnostics.iter().any(Diagnostic::is_error);
    panes.markers = diagnostics.iter().map(|d| marker(d, &file.source)).collect();
    panes.diagnostics_text = plse_schema::render_all(&diagnostics, &file.source, RenderStyle::Plain);
    panes.controls = file.pattern.as_ref().map(controls).unwrap_or_default();
    Evaluation { panes, pattern: file.pattern, sample, row }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library;
    use plse_dataset::Task;

    fn input<'a>(name: &'a str, text: &'a str, params: &'a [String]) -> Input<'a> {
        Input { name, text, category: "best_practices", seed: 7, index: 0, params }
    }

    #[test]
    fn library_patterns_render_like_the_engine() {
        for item in library::bundled() {
            let ev = evaluate(&Input { name: &item.path, text: &item.text, category: &item.category, seed: 3, index: 2, params: &[] });
            assert!(!ev.panes.has_errors, "{}: {}", item.path, ev.panes.diagnostics_text);
            let sample = ev.sample.expect("renders");
            assert_eq!(sample.seed, 3);
            assert_eq!(sample.category, item.category);
            let row = ev.row.as_ref().expect("a row");
            assert_eq!(ev.panes.row_json, serde_json::to_string(row).unwrap());
            assert!(ev.panes.row_json.starts_with("{\"id\":"), "{}", ev.panes.row_json);
            assert_eq!(row.task == Task::Fix, sample.pair.is_some() && sample.parameters["is_anti_pattern"] == true);
            assert_eq!(ev.panes.preference_json.is_some(), sample.pair.is_some());
        }
    }

    #[test]
    fn yaml_error_gives_line_col_marker_and_cli_text() {
        let text = "pattern_id: x\nversion: \"1\"\nmetadata: [unclosed\n";
        let ev = evaluate(&input("broken.yaml", text, &[]));
        assert!(ev.panes.has_errors);
        assert!(ev.sample.is_none());
        let m = &ev.panes.markers[0];
        assert_eq!(m.severity, "error");
        assert!(m.line >= 3, "{m:?}");
        assert!(ev.panes.diagnostics_text.contains("broken.yaml:"), "{}", ev.panes.diagnostics_text);
        assert!(m.rendered.contains(&format!("broken.yaml:{}:{}", m.line, m.column)), "{}", m.rendered);
    }

    #[test]
    fn a_broken_file_keeps_its_last_good_sample_marked_stale() {
        let item = library::bundled().into_iter().find(|i| i.id == "python.anti.bare_except_swallowing").unwrap();
        let good = evaluate(&input(&item.path, &item.text, &[]));
        let broken_text = item.text.replacen("pattern_id:", "pattern_id: [unclosed\npattern_id:", 1);
        let broken = evaluate(&input(&item.path, &broken_text, &[])).or_last_good(&good);
        assert!(broken.panes.stale && broken.panes.has_errors);
        assert!(broken.pattern.is_none(), "the broken text has no pattern");
        assert!(
            crate::checklist::check_lines(&crate::host::shown(&broken, 1), &crate::checklist::CheckState::default()).is_empty(),
            "nothing judged on a stale sample"
        );
        assert_eq!(broken.panes.row_json, good.panes.row_json);
        assert_eq!(broken.sample.as_ref().map(|s| &s.code), good.sample.as_ref().map(|s| &s.code));
        assert!(!broken.panes.markers.is_empty(), "the diagnostics are the broken text's");
        // Still broken: the same last good sample, still stale.
        let again = evaluate(&input(&item.path, &broken_text, &[])).or_last_good(&broken);
        assert!(again.panes.stale);
        assert_eq!(again.panes.row_json, good.panes.row_json);
        // Fixed: fresh, not stale.
        let fixed = evaluate(&input(&item.path, &item.text, &[])).or_last_good(&again);
        assert!(!fixed.panes.stale && fixed.panes.markers.is_empty());
        // Another file shows its own (empty) panes, never this file's sample.
        let other = evaluate(&input("other.yaml", &broken_text, &[])).or_last_good(&good);
        assert!(!other.panes.stale && other.sample.is_none() && other.panes.row_json.is_empty());
        // A bad override keeps the last sample too.
        let bad = ["no_such=1".to_owned()];
        let overridden = evaluate(&input(&item.path, &item.text, &bad)).or_last_good(&good);
        assert!(overridden.panes.stale && overridden.panes.override_error.is_some());
    }

    #[test]
    fn markers_are_in_utf16_units() {
        let src = |t: &str| SourceFile::new("f", t);
        // "é" is 2 bytes and 1 UTF-16 unit; "😀" is 4 bytes and 2 units.
        assert_eq!(utf16_offset(&src("é😀x"), 6), 3);
        assert_eq!(utf16_offset(&src("é😀x"), 7), 4);
        // A byte offset inside a character snaps back to its start rather than panicking.
        assert_eq!(utf16_offset(&src("é"), 1), 0);
        assert_eq!(utf16_offset(&src("ab"), 99), 2);
    }

    #[test]
    fn overrides_change_the_sample_and_bad_ones_are_reported() {
        let item = library::bundled().into_iter().find(|i| i.id == "python.anti.bare_except_swallowing").unwrap();
        let flawed = ["is_anti_pattern=true".to_owned()];
        let fixed = ["is_anti_pattern=false".to_owned()];
        let a = evaluate(&Input { params: &flawed, ..input(&item.path, &item.text, &[]) });
        let b = evaluate(&Input { params: &fixed, ..input(&item.path, &item.text, &[]) });
        assert_ne!(a.sample.unwrap().code, b.sample.unwrap().code);
        let bad = ["no_such=1".to_owned()];
        let c = evaluate(&Input { params: &bad, ..input(&item.path, &item.text, &[]) });
        assert!(c.sample.is_none());
        assert!(c.panes.override_error.unwrap().contains("no parameter `no_such`"));
    }
}
