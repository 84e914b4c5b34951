//! The engine worker's side of [`wire`](crate::wire): it holds the loaded library and the
//! latest evaluation, and answers the page's requests. Pure (the clock is passed in), so the
//! whole protocol is tested natively; `src/bin/plse-engine.rs` is the worker around it.

use plse_check::verdict::{first_failure, of_results};
use plse_dataset::TrainingRow;
use plse_render::Sample;
use plse_schema::ArtifactKind;

use crate::checklist::static_lines;
use crate::checks::{self, run_passed};
use crate::engine::{Evaluation, Input, evaluate};
use crate::library::{self, Item};
use crate::wire::{self, PlanView, Reply, Request, RowView, SampleView, Shown, Verdict};

/// The highlighter's language for an artifact kind.
pub fn language(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Python => "python",
        ArtifactKind::Toml => "toml",
        ArtifactKind::Yaml => "yaml",
        ArtifactKind::Dockerfile => "dockerfile",
        ArtifactKind::Shell => "shell",
        ArtifactKind::Text => "text",
    }
}

/// The latest evaluation and the input it is of.
struct Latest {
    id: u64,
    name: String,
    text: String,
    category: String,
    ev: Evaluation,
}

/// The engine worker's state.
pub struct Host {
    library: Vec<Item>,
    latest: Option<Latest>,
    clock: fn() -> f64,
}

impl Host {
    /// A host with an empty library; `clock` gives milliseconds.
    pub fn new(clock: fn() -> f64) -> Self {
        Self { library: Vec::new(), latest: None, clock }
    }

    /// This host over an already loaded library.
    pub fn with_library(self, library: Vec<Item>) -> Self {
        Self { library, ..self }
    }

    /// Loads `library.json` (`[{path, text}]`) with the engine's loader; the reply lists it.
    pub fn load_library(&mut self, json: &str) -> Reply {
        match library::parse_bundle(json) {
            Ok(items) => {
                self.library.clone_from(&items);
                Reply::Library { items }
            }
            Err(message) => Reply::Error { message },
        }
    }

    /// Answers one request (JSON in, JSON out: what crosses `postMessage`).
    pub fn handle_json(&mut self, json: &str) -> String {
        let reply = match wire::request(json) {
            Ok(r) => self.handle(r),
            Err(message) => Reply::Error { message },
        };
        wire::to_json(&reply)
    }

    /// Answers one request.
    pub fn handle(&mut self, request: Request) -> Reply {
        match request {
            Request::Evaluate { name, text, category, seed, index, params } => {
                Reply::Shown(Box::new(self.evaluate(name, text, category, seed, index, &params)))
            }
            Request::Checklist { id } => match self.latest_with(id) {
                Ok(l) => Reply::Checklist { id, lines: static_lines(&l.name, &l.text, &l.category, &l.ev, &self.library) },
                Err(e) => e,
            },
            Request::Verdict { id, runs } => match self.latest_with(id) {
                Ok(l) => match (l.ev.pattern.as_ref(), l.ev.sample.as_ref()) {
                    (Some(p), Some(s)) if !l.ev.panes.stale => {
                        let plan = plse_check::plan(p, s);
                        let passed = runs.iter().map(|r| run_passed(&plan, r)).collect();
                        Reply::Verdict(Verdict { passed, failure: first_failure(&of_results(&plan, &runs)) })
                    }
                    _ => Reply::Error { message: format!("evaluation {id} has no sample to judge") },
                },
                Err(e) => e,
            },
            Request::Bench { name, text, category, iterations } => Reply::Bench { ms: self.bench(&name, &text, &category, iterations) },
        }
    }

    fn latest_with(&self, id: u64) -> Result<&Latest, Reply> {
        self.latest
            .as_ref()
            .filter(|l| l.id == id)
            .ok_or_else(|| Reply::Error { message: format!("evaluation {id} is not the latest (the text changed since)") })
    }

    fn evaluate(&mut self, name: String, text: String, category: String, seed: u64, index: u64, params: &[String]) -> Shown {
        let start = (self.clock)();
        let input = Input { name: &name, text: &text, category: &category, seed, index, params };
        let ev = match &self.latest {
            Some(l) => evaluate(&input).or_last_good(&l.ev),
            None => evaluate(&input),
        };
        let id = self.latest.as_ref().map_or(1, |l| l.id + 1);
        let mut shown = shown(&ev, id);
        shown.engine_ms = (self.clock)() - start;
        self.latest = Some(Latest { id, name, text, category, ev });
        shown
    }

    fn bench(&self, name: &str, text: &str, category: &str, iterations: u32) -> f64 {
        let start = (self.clock)();
        for i in 0..iterations.max(1) {
            let ev = evaluate(&Input { name, text, category, seed: u64::from(i), index: 0, params: &[] });
            if ev.sample.is_none() {
                return -1.0;
            }
        }
        ((self.clock)() - start) / f64::from(iterations.max(1))
    }
}

/// What the page shows for `ev`.
pub fn shown(ev: &Evaluation, id: u64) -> Shown {
    let plan = match (ev.pattern.as_ref(), ev.sample.as_ref()) {
        (Some(p), Some(s)) if !ev.panes.stale => Some(plan_view(&checks::plan(p, s))),
        _ => None,
    };
    Shown {
        id,
        panes: ev.panes.clone(),
        sample: ev.sample.as_ref().map(sample_view),
        row: ev.row.as_ref().map(row_view),
        pattern_loaded: ev.pattern.is_some(),
        plan,
        engine_ms: 0.0,
    }
}

fn sample_view(s: &Sample) -> SampleView {
    let side = match &s.pair {
        Some(p) if p.flawed.code == s.code => "flawed",
        Some(_) => "fixed",
        None => "sample",
    };
    SampleView {
        instruction: s.instruction.clone(),
        code: s.code.clone(),
        tests: s.tests.clone(),
        explanation: s.explanation.clone(),
        language: language(s.artifact.kind).to_owned(),
        parameters: s.parameters.clone(),
        pair: s.pair.as_ref().map(|p| (p.flawed.code.clone(), p.fixed.code.clone())),
        side: side.to_owned(),
    }
}

fn row_view(r: &TrainingRow) -> RowView {
    let turn = |i: usize| r.messages.get(i).map(|m| m.content.clone()).unwrap_or_default();
    RowView { task: r.task.as_str().to_owned(), user: turn(0), assistant: turn(1) }
}

fn plan_view(bp: &checks::BrowserPlan) -> PlanView {
    PlanView {
        lint_files: bp.lint.iter().map(|(side, code)| serde_json::json!({"side": side, "code": code})).collect(),
        lint_rules: bp.plan.lint,
        runs: bp.runs.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect(),
        not_run: bp.not_run.iter().map(|r| (r.side.to_owned(), r.label(), r.kind.as_str().to_owned())).collect(),
        modules: bp.modules.clone(),
        not_python: bp.not_python.map(|k| format!("{k:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library;
    use plse_check::RunResult;

    fn item(id: &str) -> Item {
        library::bundled().into_iter().find(|i| i.id == id).unwrap()
    }

    fn evaluate_req(item: &Item, text: &str) -> Request {
        Request::Evaluate {
            name: item.path.clone(),
            text: text.into(),
            category: item.category.clone(),
            seed: 0,
            index: 0,
            params: Vec::new(),
        }
    }

    /// One request as the page sends it and the reply as the page reads it: through JSON.
    fn call(host: &mut Host, request: &Request) -> Reply {
        let json = host.handle_json(&serde_json::to_string(request).unwrap());
        wire::reply(&json).unwrap()
    }

    fn shown(reply: Reply) -> Shown {
        match reply {
            Reply::Shown(s) => *s,
            other => panic!("not shown: {other:?}"),
        }
    }

    #[test]
    fn the_page_sees_exactly_what_the_engine_rendered() {
        let mut host = Host::new(|| 0.0);
        for id in ["python.core.enumerate", "python.anti.mutable_default_argument", "orchestration.packaging.pyproject_toml"] {
            let it = item(id);
            let s = shown(call(&mut host, &evaluate_req(&it, &it.text)));
            let ev = evaluate(&Input { name: &it.path, text: &it.text, category: &it.category, seed: 0, index: 0, params: &[] });
            let sample = ev.sample.as_ref().unwrap();
            let view = s.sample.as_ref().unwrap();
            assert_eq!((&view.code, &view.tests, &view.instruction), (&sample.code, &sample.tests, &sample.instruction));
            assert_eq!(s.panes.row_json, ev.panes.row_json, "the row the page shows is the engine's, byte for byte");
            assert_eq!(s.panes.record_json, ev.panes.record_json);
            assert_eq!(s.panes.preference_json, ev.panes.preference_json);
            let row = ev.row.as_ref().unwrap();
            assert_eq!(s.row.as_ref().unwrap().assistant, row.messages[1].content);
            assert_eq!(view.pair.is_some(), sample.pair.is_some());
            assert_eq!(s.panes.controls, ev.panes.controls);
            assert!(s.pattern_loaded && !s.panes.stale && !s.panes.has_errors);
            let plan = s.plan.as_ref().unwrap();
            assert_eq!(plan.not_python.is_none(), view.language == "python", "{id}");
        }
    }

    #[test]
    fn ids_count_up_and_only_the_latest_evaluation_answers() {
        let mut host = Host::new(|| 0.0);
        let it = item("python.core.enumerate");
        let first = shown(call(&mut host, &evaluate_req(&it, &it.text)));
        let Reply::Checklist { id, lines } = call(&mut host, &Request::Checklist { id: first.id }) else { panic!() };
        assert_eq!(id, first.id);
        assert_eq!(lines.len(), 3, "loads, renders over CI's seeds, id unique");
        let second = shown(call(&mut host, &evaluate_req(&it, &it.text)));
        assert_eq!(second.id, first.id + 1);
        // The text changed since: a late checklist or verdict request for the first is refused.
        assert!(
            matches!(call(&mut host, &Request::Checklist { id: first.id }), Reply::Error { message } if message.contains("not the latest"))
        );
        assert!(matches!(call(&mut host, &Request::Verdict { id: first.id, runs: Vec::new() }), Reply::Error { .. }));
    }

    #[test]
    fn a_broken_edit_keeps_the_last_sample_stale_and_unjudged() {
        let mut host = Host::new(|| 0.0);
        let it = item("python.anti.bare_except_swallowing");
        let good = shown(call(&mut host, &evaluate_req(&it, &it.text)));
        let broken = shown(call(&mut host, &evaluate_req(&it, "pattern_id: [\n")));
        assert!(broken.panes.stale && broken.panes.has_errors && !broken.pattern_loaded);
        assert_eq!(broken.panes.row_json, good.panes.row_json);
        assert!(broken.plan.is_none(), "a stale sample is never checked");
        assert!(matches!(call(&mut host, &Request::Verdict { id: broken.id, runs: Vec::new() }), Reply::Error { .. }));
        let Reply::Checklist { lines, .. } = call(&mut host, &Request::Checklist { id: broken.id }) else { panic!() };
        assert_eq!(lines.len(), 1, "the file does not load: only that line");
    }

    #[test]
    fn verdicts_judge_runs_as_plse_batch_does() {
        let mut host = Host::new(|| 0.0);
        let it = item("python.anti.mutable_default_argument");
        let s = shown(call(&mut host, &evaluate_req(&it, &it.text)));
        let runs: Vec<RunResult> = s
            .plan
            .as_ref()
            .unwrap()
            .runs
            .iter()
            .map(|r| RunResult {
                side: r["side"].as_str().unwrap().into(),
                name: r["name"].as_str().unwrap().into(),
                expect_failure: r["expect_failure"].as_bool().unwrap(),
                // Every run passes on its own: defect-shown runs by failing.
                ok: !r["expect_failure"].as_bool().unwrap(),
                tests_run: 1,
                ..RunResult::default()
            })
            .collect();
        let Reply::Verdict(v) = call(&mut host, &Request::Verdict { id: s.id, runs: runs.clone() }) else { panic!() };
        assert!(v.passed.iter().all(|p| *p) && v.passed.len() == runs.len());
        assert_eq!(v.failure, None);
        // The defect not shown: the fixed side's tests all pass on the flawed code.
        let mut bad = runs;
        bad.iter_mut().filter(|r| r.expect_failure).for_each(|r| r.ok = true);
        let Reply::Verdict(v) = call(&mut host, &Request::Verdict { id: s.id, runs: bad }) else { panic!() };
        assert!(v.passed.contains(&false));
        assert!(v.failure.unwrap().contains("defect"));
    }

    #[test]
    fn bad_requests_get_an_error_reply_not_a_panic() {
        let mut host = Host::new(|| 0.0);
        for bad in ["", "{", "{\"op\":\"launch\"}", "{\"op\":\"evaluate\"}", "[]"] {
            let reply = wire::reply(&host.handle_json(bad)).unwrap();
            assert!(matches!(reply, Reply::Error { ref message } if message.starts_with("not an engine request")), "{bad}: {reply:?}");
        }
        assert!(matches!(host.load_library("[]"), Reply::Error { .. }));
        assert!(matches!(host.load_library("<html>"), Reply::Error { .. }));
        let Reply::Bench { ms } =
            host.handle(Request::Bench { name: "x.yaml".into(), text: "pattern_id: [".into(), category: "c".into(), iterations: 2 })
        else {
            panic!()
        };
        assert_eq!(ms, -1.0);
    }

    #[test]
    fn the_library_loads_in_the_worker_and_lists_every_file() {
        let files: Vec<serde_json::Value> =
            library::bundled().iter().map(|i| serde_json::json!({"path": i.path, "text": i.text})).collect();
        let mut host = Host::new(|| 0.0);
        let Reply::Library { items } = wire::reply(&wire::to_json(&host.load_library(&serde_json::to_string(&files).unwrap()))).unwrap()
        else {
            panic!()
        };
        let listed: Vec<Item> = library::bundled().into_iter().map(|i| Item { text: String::new(), ..i }).collect();
        assert_eq!(items, listed, "every file listed, without its text (the page fetches that on open)");
    }
}
