//! The app's shared state (one `AppState` in context) and the actions that change it.

use std::sync::Arc;

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::browser;
use crate::checklist::CheckState;
use crate::checks::LintResult;
use crate::client;
use crate::ffi;
use crate::library::Item;
use crate::session::Session;
use crate::wire::{Reply, Request, Shown};
use plse_check::RunResult;
use plse_schema::category_of;

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
    /// The library's listing (empty until the engine worker has loaded it).
    pub library: RwSignal<Arc<Vec<Item>>>,
    /// What is being edited and rendered.
    pub session: RwSignal<Session>,
    /// What the engine worker answered for the latest evaluation of `session`.
    pub eval: RwSignal<Arc<Shown>>,
    /// Time the latest evaluation took in the engine worker (ms).
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
    /// Counts evaluation requests (a test hook tells when the latest has been answered).
    pub requested: StoredValue<u64>,
    /// Counts library clicks: only the latest click's file opens.
    pub opening: StoredValue<u64>,
    /// Autosave failed once (told once, not on every keystroke).
    pub autosave_failed: RwSignal<bool>,
    /// The editor, once mounted.
    pub editor: StoredValue<Option<ffi::YamlEditor>, LocalStorage>,
}

/// The file a first visit opens: the CONTRIBUTING worked example.
pub const DEFAULT_PATH: &str = "enumerate_instead_of_range_len.yaml";

/// The first session: the permalink in the URL, else the autosave, else the worked example
/// (fetched from the site's `patterns/`). With it, a notice for a damaged link.
pub async fn first_session() -> Result<(Session, Option<(bool, String)>), String> {
    let mut notice = None;
    let fragment = browser::fragment();
    if !fragment.is_empty() {
        match Session::from_fragment(&fragment) {
            // Opened once: later reloads show the autosave (the user's edits), not the link.
            Ok(s) => {
                browser::clear_fragment();
                return Ok((s, None));
            }
            Err(e) => notice = Some((true, format!("Could not open the link: {e}. Showing your last session instead."))),
        }
    }
    if let Some(s) = browser::load(AUTOSAVE_KEY).and_then(|j| Session::from_json(&j).ok()) {
        return Ok((s, notice));
    }
    Ok((session_for(DEFAULT_PATH, &category_of(DEFAULT_PATH), load_pattern(DEFAULT_PATH).await?), notice))
}

/// A library file's text, from the site's copy of `patterns/`.
pub async fn load_pattern(path: &str) -> Result<String, String> {
    browser::fetch_text(&format!("patterns/{path}")).await
}

impl AppState {
    /// Creates the state around the first session; the library is listed once the engine
    /// worker has loaded it (after the first render: see [`AppState::show`]).
    pub fn new(session: Session, notice: Option<(bool, String)>) -> Self {
        let dark = browser::load(THEME_KEY).map_or_else(browser::prefers_dark, |t| t == "dark");
        browser::apply_theme(dark);
        Self {
            library: RwSignal::new(Arc::new(Vec::new())),
            session: RwSignal::new(session),
            eval: RwSignal::new(Arc::new(Shown::default())),
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
            requested: StoredValue::new(0),
            opening: StoredValue::new(0),
            autosave_failed: RwSignal::new(false),
            editor: StoredValue::new_local(None),
        }
    }

    /// Re-evaluates the session (called by an effect whenever it changes): the engine worker
    /// renders it, and [`AppState::show`] puts its answer on the page. While the worker is busy,
    /// a newer text replaces the waiting one, so typing never queues stale renders.
    pub fn evaluate(&self) {
        let session = self.session.get();
        if !browser::store(AUTOSAVE_KEY, &session.to_json()) && !self.autosave_failed.get_untracked() {
            self.autosave_failed.set(true);
            self.notice.set(Some((
                true,
                "Autosave failed (browser storage is full or disabled): use Download YAML or Permalink to keep your work.".into(),
            )));
        }
        // The text the answer is for: its markers go into the editor only if it still holds it.
        let text = session.text.clone();
        let request = Request::Evaluate {
            seed: session.seed(),
            index: session.index(),
            name: session.name,
            text: session.text,
            category: session.category,
            params: session.params,
        };
        let start = browser::now();
        let state = *self;
        let n = self.requested.get_value() + 1;
        self.requested.set_value(n);
        browser::hook("requested", &JsValue::from_f64(n as f64));
        leptos::task::spawn_local(async move {
            match client::call(&request, "evaluate").await {
                None => {}
                Some(Ok(Reply::Shown(shown))) => {
                    state.show(*shown, &text, start);
                    browser::hook("answered", &JsValue::from_f64(n as f64));
                }
                Some(Ok(other)) => state.notice.set(Some((true, format!("The engine answered something unexpected: {other:?}")))),
                Some(Err(e)) => state.notice.set(Some((true, format!("The engine failed: {e}")))),
            }
        });
    }

    /// Shows the worker's answer for `text`, edited at `start` (page clock). Its markers go
    /// into the editor only if it still holds `text` (else the answer for the newer text,
    /// already requested, places them).
    fn show(&self, ev: Shown, text: &str, start: f64) {
        browser::hook("lastReplyMs", &JsValue::from_f64(browser::now() - start));
        let markers = serde_json::to_string(&ev.panes.markers).unwrap_or_default();
        self.with_editor(|e| e.set_markers(&markers, text));
        let generation = self.generation.get_untracked() + 1;
        browser::hook("renders", &JsValue::from_f64(generation as f64));
        browser::hook("lastRenderMs", &JsValue::from_f64(ev.engine_ms));
        if generation == 1 {
            browser::hook("firstRenderAt", &JsValue::from_f64(browser::now()));
            // Queued behind the first render, never ahead of it.
            self.load_library();
        }
        browser::hook("diagnostics", &JsValue::from_str(&ev.panes.diagnostics_text));
        browser::hook("row", &JsValue::from_str(&ev.panes.row_json));
        self.generation.set(generation);
        self.render_ms.set(ev.engine_ms);
        self.checks.set(CheckState::default());
        self.check_error.set(None);
        browser::hook("stale", &JsValue::from_bool(ev.panes.stale));
        let lint_again = ev.plan.is_some() && ffi::ruff_loaded();
        self.eval.set(Arc::new(ev));
        // The edit's whole round trip: to the worker, the engine, back, and the DOM updates
        // it causes (effects run as microtasks, before this task): "render after an edit".
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

    /// Has the engine worker load and list the library (~0.5 s for ~200 files), then shows it.
    fn load_library(&self) {
        let state = *self;
        leptos::task::spawn_local(async move {
            match client::library().await {
                Ok(items) => {
                    browser::hook("libraryItems", &JsValue::from_f64(items.len() as f64));
                    state.library.set(Arc::new(items));
                }
                Err(e) => state.notice.set(Some((true, format!("The pattern library could not be loaded: {e}")))),
            }
        });
    }

    /// Opens a library file (its text fetched from the site). Of quick successive clicks, the
    /// last one's file opens, whichever fetch ends last.
    pub fn open_item(&self, item: &Item) {
        let state = *self;
        let (path, category) = (item.path.clone(), item.category.clone());
        let ticket = self.opening.get_value() + 1;
        self.opening.set_value(ticket);
        leptos::task::spawn_local(async move {
            let text = load_pattern(&path).await;
            if state.opening.get_value() != ticket {
                return;
            }
            match text {
                Ok(text) => state.open(session_for(&path, &category, text)),
                Err(e) => state.notice.set(Some((true, format!("Could not open {path}: {e}")))),
            }
        });
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
        // A library file still being fetched no longer opens over this.
        self.opening.update_value(|n| *n += 1);
        self.with_editor(|e| e.set_doc(&session.text));
        self.session.set(session);
    }

    /// Runs ruff and, when `tests`, the Python tests on the current sample.
    pub fn run_checks(&self, tests: bool) {
        let ev = self.eval.get_untracked();
        if ev.panes.stale {
            self.check_error
                .set(Some("the file has errors: fix them to check this version (the sample shown is the last one that rendered)".into()));
            return;
        }
        let Some(plan) = ev.plan.clone() else {
            self.check_error.set(Some("nothing to check: the pattern does not render".into()));
            return;
        };
        if let Some(kind) = &plan.not_python {
            self.check_error.set(Some(format!(
                "{kind} artifacts are validated by plse-batch (`plse-batch lint --exec`); the browser checks Python only"
            )));
            return;
        }
        let id = ev.id;
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
            let lint = ffi::lint(&serde_json::Value::from(plan.lint_files.clone()).to_string()).await;
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
            let not_run = plan.not_run.clone();
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
                    Ok(a) => state.judge(generation, id, a.results, not_run).await,
                    Err(e) => state.check_error.set(Some(format!("the Python worker answered something unexpected: {e}"))),
                },
                Err(e) => state.check_error.set(Some(format!("Python could not run: {}", ffi::js_error(&e)))),
            }
            browser::hook("lastCheckMs", &JsValue::from_f64(browser::now() - started));
            browser::hook("checks", &JsValue::from_f64(generation as f64));
        });
    }
}

impl AppState {
    /// Has the engine worker judge the runs of evaluation `id` against its plan, then shows
    /// them with the verdict (unless the text changed meanwhile).
    async fn judge(self, generation: u64, id: u64, runs: Vec<RunResult>, not_run: Vec<(String, String, String)>) {
        let verdict = client::call(&Request::Verdict { id, runs: runs.clone() }, "").await;
        if self.generation.get_untracked() != generation {
            return;
        }
        match verdict {
            Some(Ok(Reply::Verdict(v))) => self.checks.update(|c| {
                c.runs = Some(runs);
                c.not_run = not_run;
                c.verdict = Some(v);
            }),
            Some(Ok(other)) => self.check_error.set(Some(format!("the engine answered something unexpected: {other:?}"))),
            Some(Err(e)) => self.check_error.set(Some(format!("the runs could not be judged: {e}"))),
            None => {}
        }
    }
}

/// A fresh session on a library file (seed 0, index 0, no overrides).
pub fn session_for(path: &str, category: &str, text: String) -> Session {
    Session { name: path.to_owned(), category: category.to_owned(), text, seed: "0".into(), index: "0".into(), params: Vec::new() }
}
