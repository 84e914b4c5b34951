//! Which runs check a sample: for each side, the syntax run, each unit-test snippet executed
//! after the code (`shell_exec:` snippets as shell commands beside the code file), the
//! expected-output run; for a paired pattern, the fixed side's tests on the flawed code.

use plse_render::Sample;
use plse_schema::{ArtifactKind, Capability, Pattern};

use crate::run::{Run, RunKind};

/// The prefix of a unit-test snippet that is a shell command rather than Python.
pub const SHELL_PREFIX: &str = "shell_exec:";

/// The check plan of one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The artifact's kind (Python is linted by ruff, other kinds by their validator).
    pub kind: ArtifactKind,
    /// The file the code is written as (the artifact's path, or the kind's default name).
    pub file: String,
    /// Whether the lint stage applies: Python code with `validation.linter_checks`.
    pub lint: bool,
    /// `validation.expected_output.stdout`, when the pattern gives it.
    pub expected_stdout: Option<String>,
    /// What the pattern declares its code may do (the security stage).
    pub capabilities: Vec<Capability>,
    /// The sides: `sample`, or `flawed` then `fixed`.
    pub sides: Vec<SidePlan>,
    /// The defect-shown runs of a paired pattern (empty otherwise): the fixed side's tests on
    /// the flawed code, which must fail.
    pub defect: Vec<Run>,
}

/// The runs of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidePlan {
    /// `sample`, `flawed` or `fixed`.
    pub label: &'static str,
    /// The side as stages name it: set for paired samples only.
    pub tag: Option<&'static str>,
    /// The side's code.
    pub code: String,
    /// Its runs, in order.
    pub runs: Vec<Run>,
}

impl SidePlan {
    /// The code as a file holds it (with a final newline), as ruff lints it.
    pub fn lint_source(&self) -> String {
        format!("{}\n", self.code)
    }
}

impl Plan {
    /// The files a side's runs see: its code, under [`Plan::file`].
    pub fn files(&self, side: &SidePlan) -> Vec<(String, String)> {
        vec![(self.file.clone(), side.code.clone())]
    }

    /// The files the defect-shown runs see: the flawed code.
    pub fn defect_files(&self) -> Vec<(String, String)> {
        self.sides.first().map(|s| self.files(s)).unwrap_or_default()
    }

    /// Every run: each side's, then the defect-shown ones.
    pub fn all_runs(&self) -> impl Iterator<Item = &Run> {
        self.sides.iter().flat_map(|s| &s.runs).chain(&self.defect)
    }
}

/// The check plan of `sample`, drawn from `pattern`.
pub fn plan(pattern: &Pattern, sample: &Sample) -> Plan {
    let kind = sample.artifact.kind;
    let file = sample.artifact.path.clone().unwrap_or_else(|| plse_render::default_file_name(kind).to_owned());
    let expected_stdout = pattern.validation.expected_output.get("stdout").and_then(|v| v.as_str()).map(str::to_owned);
    let sides = sample.sides();
    let paired = sides.len() == 2;
    let side_plans = sides
        .iter()
        .map(|(label, side)| SidePlan {
            label,
            tag: paired.then_some(*label),
            code: side.code.clone(),
            runs: side_runs(label, &side.code, &side.tests, kind, &file, expected_stdout.as_deref()),
        })
        .collect();
    let defect = match &sample.pair {
        Some(pair) => test_runs("flawed", &pair.flawed.code, &pair.fixed.tests, kind).map(|r| Run { expect_failure: true, ..r }).collect(),
        None => Vec::new(),
    };
    Plan {
        kind,
        file,
        lint: kind == ArtifactKind::Python && pattern.validation.linter_checks,
        expected_stdout,
        capabilities: pattern.capabilities.clone(),
        sides: side_plans,
        defect,
    }
}

/// A side's runs: syntax (`sh -n` for shell scripts, `compile` for Python), the tests, then
/// the expected-output run.
fn side_runs(side: &'static str, code: &str, tests: &[String], kind: ArtifactKind, file: &str, expected: Option<&str>) -> Vec<Run> {
    let mut runs = Vec::new();
    match kind {
        ArtifactKind::Shell => runs.push(shell(side, "syntax".into(), format!("sh -n {file}"))),
        ArtifactKind::Python => runs.push(python(side, "syntax".into(), RunKind::Compile, code.to_owned(), "sample.py".into())),
        _ => {}
    }
    runs.extend(test_runs(side, code, tests, kind));
    if expected.is_some() && kind == ArtifactKind::Python {
        runs.push(python(side, EXPECTED_OUTPUT.into(), RunKind::Python, code.to_owned(), file.to_owned()));
    }
    runs
}

/// The name of the run whose stdout is compared with `validation.expected_output`.
pub const EXPECTED_OUTPUT: &str = "expected-output";

/// The name of the syntax run.
pub const SYNTAX: &str = "syntax";

/// Each snippet as a shell command (`shell_exec:`) or a Python script (`test_N.py`): after
/// `code` when the artifact is Python, on its own otherwise (a Dockerfile or a compose file is
/// not Python; the snippet reads it at `SCRIPT_PATH`, or has it as `__raw_code__`).
fn test_runs<'a>(side: &'static str, code: &'a str, tests: &'a [String], kind: ArtifactKind) -> impl Iterator<Item = Run> + 'a {
    tests.iter().enumerate().map(move |(i, t)| {
        let name = format!("test {}", i + 1);
        let source = if kind == ArtifactKind::Python { format!("{code}\n\n{t}") } else { t.clone() };
        match t.trim_start().strip_prefix(SHELL_PREFIX) {
            Some(cmd) => shell(side, name, cmd.trim().to_owned()),
            None => python(side, name, RunKind::Python, source, format!("test_{}.py", i + 1)),
        }
    })
}

fn python(side: &'static str, name: String, kind: RunKind, source: String, filename: String) -> Run {
    Run { side, name, kind, source: Some(source), filename: Some(filename), command: None, expect_failure: false }
}

fn shell(side: &'static str, name: String, command: String) -> Run {
    Run { side, name, kind: RunKind::Shell, source: None, filename: None, command: Some(command), expect_failure: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(yaml: &str) -> Plan {
        let file = plse_schema::load("p.yaml", yaml.as_bytes());
        let pattern = file.pattern.as_ref().unwrap_or_else(|| panic!("{:?}", file.diagnostics));
        let prepared = plse_render::Prepared::new(pattern, "orchestration").unwrap_or_else(|e| panic!("{e}"));
        let sample = prepared.render(1, 0, &plse_sampling::Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        plan(pattern, &sample)
    }

    const HEAD: &str = "plse_version: \"3\"\npattern_id: t.p\nmetadata: {author: a, description: d, tags: [t], pedagogy: {concept: c, difficulty: beginner}}\ninstruction: \"Do it.\"\nparameters: {}\n";

    #[test]
    fn python_snippets_follow_python_code_and_run_alone_beside_other_artifacts() {
        let tests = "validation:\n  unit_test_snippets:\n    - \"assert X == 1\"\n    - \"shell_exec: test -f {{ SCRIPT_PATH }}\"\n";
        let py = plan_of(&format!("{HEAD}template: \"X = 1\"\n{tests}"));
        let runs: Vec<(&str, Option<&str>, Option<&str>)> =
            py.sides[0].runs.iter().map(|r| (r.name.as_str(), r.source.as_deref(), r.command.as_deref())).collect();
        assert_eq!(
            runs,
            [
                ("syntax", Some("X = 1"), None),
                ("test 1", Some("X = 1\n\nassert X == 1"), None),
                ("test 2", None, Some("test -f sample.py"))
            ]
        );
        let docker = plan_of(&format!("{HEAD}artifact: {{kind: dockerfile}}\ntemplate: \"FROM python:3.12\"\n{tests}"));
        let runs: Vec<(&str, Option<&str>, Option<&str>)> =
            docker.sides[0].runs.iter().map(|r| (r.name.as_str(), r.source.as_deref(), r.command.as_deref())).collect();
        assert_eq!(runs, [("test 1", Some("assert X == 1"), None), ("test 2", None, Some("test -f Dockerfile"))]);
        assert_eq!(docker.files(&docker.sides[0]), [("Dockerfile".to_owned(), "FROM python:3.12".to_owned())]);
    }
}
