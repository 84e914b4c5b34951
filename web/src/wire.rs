//! What crosses `postMessage` between the page and the engine worker, as JSON: the requests
//! the page makes and what the worker answers. The worker holds the engine (`plse-schema`,
//! `plse-render`, `plse-dataset`, `plse-check`) and the loaded library; the page holds only
//! what it shows, in these plain-data shapes, so the engine's code is not in the page's wasm
//! and never runs on its main thread.

use plse_check::RunResult;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::checklist::Line;
use crate::engine::Panes;
use crate::library::Item;

/// A request to the engine worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Load and render the editor's text (`plse-batch render`'s entry, default task mix).
    Evaluate {
        /// File name shown in diagnostics.
        name: String,
        /// The YAML text.
        text: String,
        /// Category the sample is rendered under.
        category: String,
        /// Seed.
        seed: u64,
        /// Index within the seed.
        index: u64,
        /// `name=value` overrides.
        params: Vec<String>,
    },
    /// The checklist's lines decided from the pattern alone (CI's 16-seed lint, id unique) for
    /// evaluation `id`.
    Checklist {
        /// The evaluation the lines are for.
        id: u64,
    },
    /// The verdict of the browser's runs against evaluation `id`'s check plan.
    Verdict {
        /// The evaluation whose plan the runs executed.
        id: u64,
        /// What Pyodide reported, in plan order.
        runs: Vec<RunResult>,
    },
    /// Budget probe: mean milliseconds of one evaluation of `text` over `iterations` seeds.
    Bench {
        /// File name.
        name: String,
        /// The YAML text.
        text: String,
        /// Category.
        category: String,
        /// Seeds to render.
        iterations: u32,
    },
}

/// The worker's answer to a request (or to loading the library).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The library, loaded and listed.
    Library {
        /// Its items, sorted by path.
        items: Vec<Item>,
    },
    /// What the page shows for an evaluation.
    Shown(Box<Shown>),
    /// Checklist lines.
    Checklist {
        /// The evaluation they are for.
        id: u64,
        /// The lines.
        lines: Vec<Line>,
    },
    /// How the runs fared.
    Verdict(Verdict),
    /// Mean milliseconds per evaluation, -1 when the text does not render.
    Bench {
        /// Milliseconds.
        ms: f64,
    },
    /// The request could not be served (malformed, or for an evaluation that is gone).
    Error {
        /// Why.
        message: String,
    },
}

/// How the browser's runs of one plan fared, as `plse-batch` would judge them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Per run: passed on its own (a defect-shown run by failing, the expected-output run by
    /// printing what the pattern expects).
    pub passed: Vec<bool>,
    /// The first failing stage, as the checklist states it; `None` when every stage passed.
    pub failure: Option<String>,
}

/// Everything the page shows for one evaluation of the editor's text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    /// The worker's number for this evaluation (checklist and verdict requests name it).
    pub id: u64,
    /// The diagnostics, the form and the CLI's outputs, as the engine made them.
    #[serde(flatten)]
    pub panes: Panes,
    /// The sample, when it renders.
    pub sample: Option<SampleView>,
    /// Its training row.
    pub row: Option<RowView>,
    /// Whether this text loads as a pattern (the checklist judges only a loaded pattern).
    pub pattern_loaded: bool,
    /// What the browser's checks run, when the pattern renders and the sample is fresh.
    pub plan: Option<PlanView>,
    /// Milliseconds the worker spent on the evaluation.
    pub engine_ms: f64,
}

/// The rendered sample, as the output tabs show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleView {
    /// Instruction of the drawn side.
    pub instruction: String,
    /// Code of the drawn side.
    pub code: String,
    /// Its test snippets.
    pub tests: Vec<String>,
    /// Its explanation.
    pub explanation: Option<String>,
    /// The highlighter's language for the artifact (`python`, `toml`, ...).
    pub language: String,
    /// Every parameter value, derived ones included.
    pub parameters: Map<String, Json>,
    /// For paired patterns: (flawed code, fixed code).
    pub pair: Option<(String, String)>,
    /// The drawn side: `sample`, `flawed` or `fixed` (ruff's results are per side).
    pub side: String,
}

/// The training row, as the "Training row" tab shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowView {
    /// `write`, `fix` or `compare`.
    pub task: String,
    /// The user turn.
    pub user: String,
    /// The assistant turn (the training target).
    pub assistant: String,
}

/// The browser's part of the sample's check plan (`checks::BrowserPlan`) as data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    /// `{side, code}` files ruff lints.
    pub lint_files: Vec<Json>,
    /// Whether ruff's findings are judged by CI's reject rules (the pattern keeps the lint
    /// stage); a syntax error rejects regardless.
    pub lint_rules: bool,
    /// The runs Pyodide makes (`plse-check`'s run shape).
    pub runs: Vec<Json>,
    /// The runs only `plse-batch` makes: (side, label, kind of run).
    pub not_run: Vec<(String, String, String)>,
    /// Top-level modules the code imports.
    pub modules: Vec<String>,
    /// Set (to the artifact kind) when the artifact is not Python.
    pub not_python: Option<String>,
}

/// Parses a request; the error says what is wrong with it.
pub fn request(json: &str) -> Result<Request, String> {
    serde_json::from_str(json).map_err(|e| format!("not an engine request: {e}"))
}

/// Parses a reply.
pub fn reply(json: &str) -> Result<Reply, String> {
    serde_json::from_str(json).map_err(|e| format!("the engine answered something unexpected: {e}"))
}

/// A reply as JSON (what the worker posts back).
pub fn to_json(reply: &Reply) -> String {
    serde_json::to_string(reply).unwrap_or_else(|e| format!(r#"{{"reply":"error","message":"reply not serialisable: {e}"}}"#))
}
