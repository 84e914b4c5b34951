//! The app's shared state (one `AppState` in context) and the actions that change it.

use std::sync::Arc;

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::browser;
use crate::checklist::CheckState;
use crate::checks::{self, LintResult};
use crate::engine::{Evaluation, Input, evaluate};
use crate::ffi;
use crate::library::Item;
use crate::session::Session;
use plse_check::RunResult;

/// localStorage key of the autosave.
pub const AUTOSAVE_KEY: &str = "plse.playground.session";
/// localStorage key of the theme choice.
pub const THEME_KEY: &str = "plse.playground.theme";
/// Per-run timeout of the Python checks.
pub const RUN_TIMEOUT_MS: u32 = 5_000;

/// Output tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The instruction.
    Instruction,
    /// The code, highlighted, with ruff markers.
    Code,
    /// Test snippets.
    Tests,
    /// The explanation.
    Explanation,
    /// Flawed and fixed side by side (paired patterns).
    Diff,
    /// The training row: its task and the chat exchange a model learns from.
    Row,
    /// The JSON row and record.
    Json,
}

/// A worker's visible state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolStatus {
    /// `idle`, `loading`, `ready`, `running`, `restarting`, `failed`.
    pub state: String,
    /// Detail (version and load time, progress, error).
    pub detail: String,
}

/// Everything the components share.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The library, loaded once.
    pub library: StoredValue<Arc<Vec<Item>>>,
    /// What is being edited and rendered.
    pub session: RwSignal<Session>,
    /// The latest evaluation of `session`.
    pub eval: RwSignal<Arc<Evaluation>>,
    /// Time the latest evaluation took (ms).
    pub render_ms: RwSignal<f64>,
    /// Browser check results for the current evaluation.
    pub checks: RwSignal<CheckState>,
    /// A check is running.
    pub busy: RwSignal<bool>,
    /// Why the last check could not run.
    pub check_error: RwSignal<Option<String>>,
    /// Pyodide worker state.
    pub python: RwSignal<ToolStatus>,
    /// Ruff worker state.
    pub ruff: RwSignal<ToolStatus>,
    /// A message for the user (damaged link, link copied, ...).
    pub notice: RwSignal<Option<(bool, String)>>,
    /// The active output tab.
    pub tab: RwSignal<Tab>,
    /// Dark theme.
    pub dark: RwSignal<bool>,
    /// Counts evaluations, so late check results for an older one are dropped.
    pub generation: RwSignal<u64>,
    /// Autosave failed once (told once, not on every keystroke).
    pub autosave_failed: RwSignal<bool>,
    /// The editor, once mounted.
    pub editor: StoredValue<Option<ffi::YamlEditor>, LocalStorage>,
}

impl AppState {
    /// Creates the state and decides the first session: permalink, else autosave, else the
    /// library's worked example.
    pub fn new(library: Vec<Item>) -> Self {
        let library = Arc::new(library);
        let mut notice = None;
        let from_link = match browser::fragment() {
            f if f.is_empty() => None,
            f => match Session::from_fragment(&f) {
                // Opened once: later reloads show the autosave (the user's edits), not the link.
                Ok(s) => {
                    browser::clear_fragment();
                    Some(s)
                }
                Err(e) => {
                    notice = Some((true, format!("Could not open the link: {e}. Showing your last session instead.")));
                    None
                }
            },
        };
        let session = from_link
            .or_else(|| browser::load(AUTOSAVE_KEY).and_then(|j| Session::from_json(&j).ok()))
            .unwrap_or_else(|| session_for(default_item(&library)));
        let dark = browser::load(THEME_KEY).map_or_else(browser::prefers_dark, |t| t == "dark");
        browser::apply_theme(dark);
        Self {
            library: StoredValue::new(library),
            session: RwSignal::new(session),
            eval: RwSignal::new(Arc::new(Evaluation::default())),
            render_ms: RwSignal::new(0.0),
            checks: RwSignal::new(CheckState::default()),
            busy: RwSignal::new(false),
            check_error: RwSignal::new(None),
            python: RwSignal::new(ToolStatus { state: "idle".into(), detail: "loads on first run".into() }),
            ruff: RwSignal::new(ToolStatus { state: "idle".into(), detail: "loads on first run".into() }),
            notice: RwSignal::new(notice),
            tab: RwSignal::new(Tab::Code),
            dark: RwSignal::new(dark),
            generation: RwSignal::new(0),
            autosave_failed: RwSignal::new(false),
            editor: StoredValue::new_local(None),
        }
    }

    /// Re-evaluates the session (called by an effect whenever it changes).
    pub fn evaluate(&self) {
        let session = self.session.get();
        let start = browser::now();
        let ev = evaluate(&Input {
            name: &session.name,
            text: &session.text,
            category: &session.category,
            seed: session.seed(),
            index: session.index(),
            params: &session.params,
        })
        .or_last_good(&self.eval.get_untracked());
        let ms = browser::now() - start;
        let markers = serde_json::to_string(&ev.markers).unwrap_or_default();
        self.with_editor(|e| e.set_markers(&markers));
        if !browser::store(AUTOSAVE_KEY, &session.to_json()) && !self.autosave_failed.get_untracked() {
            self.autosave_failed.set(true);
            self.notice.set(Some((
                true,
                "Autosave failed (browser storage is full or disabled): use Download YAML or Permalink to keep your work.".into(),
            )));
        }
        let generation = self.generation.get_untracked() + 1;
        browser::hook("renders", &JsValue::from_f64(generation as f64));
        browser::hook("lastRenderMs", &JsValue::from_f64(ms));
        if generation == 1 {
            browser::hook("firstRenderAt", &JsValue::from_f64(browser::now()));
        }
        browser::hook("diagnostics", &JsValue::from_str(&ev.diagnostics_text));
        browser::hook("row", &JsValue::from_str(&ev.row_json));
        self.generation.set(generation);
        self.render_ms.set(ms);
        self.checks.set(CheckState::default());
        self.check_error.set(None);
        browser::hook("stale", &JsValue::from_bool(ev.stale));
        let lint_again = ev.sample.is_some() && !ev.stale && ffi::ruff_loaded();
        self.eval.set(Arc::new(ev));
        // Evaluation plus the DOM updates it causes (effects run as microtasks, before this
        // task): the budget's "render after an edit".
        set_timeout(
            move || {
                browser::hook("lastDomMs", &JsValue::from_f64(browser::now() - start));
                browser::hook("domRenders", &JsValue::from_f64(generation as f64));
            },
            std::time::Duration::ZERO,
        );
        if lint_again {
            self.run_checks(false);
        }
    }

    /// Runs `f` on the editor once it is mounted (before that there is nothing to update:
    /// it is created from the session).
    pub fn with_editor(&self, f: impl FnOnce(&ffi::YamlEditor)) {
        self.editor.with_value(|e| {
            if let Some(e) = e {
                f(e);
            }
        });
    }

    /// Replaces what is edited (library pick, permalink, new pattern), editor included.
    pub fn open(&self, session: Session) {
        self.with_editor(|e| e.set_doc(&session.text));
        self.session.set(session);
    }

    /// Runs ruff and, when `tests`, the Python tests on the current sample.
    pub fn run_checks(&self, tests: bool) {
        let ev = self.eval.get_untracked();
        if ev.stale {
            self.check_error
                .set(Some("the file has errors: fix them to check this version (the sample shown is the last one that rendered)".into()));
            return;
        }
        let (Some(pattern), Some(sample)) = (ev.pattern.as_ref(), ev.sample.as_ref()) else {
            self.check_error.set(Some("nothing to check: the pattern does not render".into()));
            return;
        };
        let plan = checks::plan(pattern, sample);
        if let Some(kind) = plan.not_python {
            self.check_error.set(Some(format!(
                "{kind:?} artifacts are validated by plse-batch (`plse-batch lint --exec`); the browser checks Python only"
            )));
            return;
        }
        if tests && self.busy.get_untracked() {
            return;
        }
        let generation = self.generation.get_untracked();
        let state = *self;
        let started = browser::now();
        if tests {
            self.busy.set(true);
        }
        leptos::task::spawn_local(async move {
            let files: Vec<serde_json::Value> =
                plan.lint.iter().map(|(side, code)| serde_json::json!({"side": side, "code": code})).collect();
            let lint = ffi::lint(&serde_json::Value::from(files).to_string()).await;
            if state.generation.get_untracked() != generation {
                if tests {
                    state.busy.set(false);
                }
                return;
            }
            match lint.map(|v| v.as_string().unwrap_or_default()) {
                Ok(json) => match serde_json::from_str::<Vec<LintResult>>(&json) {
                    Ok(results) => state.checks.update(|c| c.lint = Some(results)),
                    Err(e) => state.check_error.set(Some(format!("ruff answered something unexpected: {e}"))),
                },
                Err(e) => state.check_error.set(Some(format!("ruff failed: {}", ffi::js_error(&e)))),
            }
            if !tests {
                return;
            }
            let request = serde_json::json!({"modules": plan.modules, "runs": plan.runs});
            let not_run: Vec<(String, String, String)> =
                plan.not_run.iter().map(|r| (r.side.to_owned(), r.label(), r.kind.as_str().to_owned())).collect();
            let answer = ffi::run_python(&request.to_string(), RUN_TIMEOUT_MS).await;
            state.busy.set(false);
            if state.generation.get_untracked() != generation {
                return;
            }
            #[derive(serde::Deserialize)]
            struct Answer {
                unavailable: Vec<String>,
                results: Vec<RunResult>,
            }
            match answer.map(|v| v.as_string().unwrap_or_default()) {
                Ok(json) => match serde_json::from_str::<Answer>(&json) {
                    Ok(a) if !a.unavailable.is_empty() => state.checks.update(|c| c.unavailable = a.unavailable),
                    Ok(a) => state.checks.update(|c| {
                        c.runs = Some(a.results);
                        c.not_run = not_run;
                    }),
                    Err(e) => state.check_error.set(Some(format!("the Python worker answered something unexpected: {e}"))),
                },
                Err(e) => state.check_error.set(Some(format!("Python could not run: {}", ffi::js_error(&e)))),
            }
            browser::hook("lastCheckMs", &JsValue::from_f64(browser::now() - started));
            browser::hook("checks", &JsValue::from_f64(generation as f64));
        });
    }
}

/// The item shown on a first visit: the CONTRIBUTING worked example.
pub fn default_item(library: &[Item]) -> &Item {
    library.iter().find(|i| i.path == "enumerate_instead_of_range_len.yaml").unwrap_or(&library[0])
}

/// A fresh session on a library item (seed 0, index 0, no overrides).
pub fn session_for(item: &Item) -> Session {
    Session {
        name: item.path.clone(),
        category: item.category.clone(),
        text: item.text.clone(),
        seed: "0".into(),
        index: "0".into(),
        params: Vec::new(),
    }
}
