//! CPython's `compile()` of code that is not a pattern's: the Python blocks of a factory
//! answer. The same syntax stage `lint --exec` and `generate` make (a `compile` run of
//! `plse-check`, which the sandbox worker answers without executing anything), in the same
//! sandboxed workers, started on first use.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use plse_check::{Run, RunKind};

use crate::validation::pyenv::{PyEnv, Tier, default_dir, setup};
use crate::validation::sandbox::pool::{Executor, Shared};
use crate::validation::sandbox::worker::{Continuity, Limits, Mode};

/// Compiles Python sources in a sandboxed worker.
pub struct Compiler {
    venv: Option<PathBuf>,
    unsafe_no_sandbox: bool,
    executor: Option<Executor>,
}

impl Compiler {
    /// A compiler whose worker (and, if missing, the venv's core tier) is set up on first use.
    pub fn new(venv: Option<PathBuf>, unsafe_no_sandbox: bool) -> Self {
        Compiler { venv, unsafe_no_sandbox, executor: None }
    }

    fn executor(&mut self) -> Result<&mut Executor> {
        if self.executor.is_none() {
            let dir = self.venv.clone().unwrap_or_else(default_dir);
            let mut env = PyEnv { dir: dir.clone() };
            if !env.has(Tier::Core) {
                eprintln!("plse: compiling Python code blocks needs the Python environment; setting up tier `core` (once)");
                env = setup(&dir, Tier::Core, None)?;
            }
            let mode = if self.unsafe_no_sandbox {
                eprintln!("warning: --unsafe-no-sandbox: code blocks are compiled (never run) outside the sandbox");
                Mode::Unconfined
            } else {
                Mode::Sandboxed
            };
            let limits = Limits { timeout: Duration::from_secs(10), cpu_seconds: 10, memory_bytes: 0, ..Limits::default() };
            self.executor = Some(Shared::new(env, mode, limits, Vec::new())?.executor());
        }
        Ok(self.executor.as_mut().unwrap_or_else(|| unreachable!()))
    }

    /// Compiles each `(file name, source)`: `Ok` when CPython compiled it, else the error's
    /// last line (`SyntaxError: ...`). Nothing runs; an empty list starts no worker.
    pub fn compile(&mut self, sources: &[(String, String)]) -> Result<Vec<Result<(), String>>> {
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        let runs: Vec<Run> = sources
            .iter()
            .enumerate()
            .map(|(i, (file, source))| Run {
                side: "sample",
                name: format!("block {}", i + 1),
                kind: RunKind::Compile,
                source: Some(source.clone()),
                filename: Some(file.clone()),
                command: None,
                expect_failure: false,
            })
            .collect();
        let results = self.executor()?.run(&[], &[], &runs, Continuity::default())?;
        Ok(sources
            .iter()
            .enumerate()
            .map(|(i, _)| match results.get(i) {
                Some(r) if r.ok => Ok(()),
                Some(r) => Err(describe(&r.stderr)),
                None => Err("no result from the sandbox".to_owned()),
            })
            .collect())
    }
}

/// The error's last line, with the line of the code it is on (`SyntaxError: ... (line 3)`).
fn describe(stderr: &str) -> String {
    let last = plse_check::verdict::last_line(stderr);
    let line = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("File ").and_then(|rest| rest.rsplit_once(", line ")).map(|(_, n)| n.trim().to_owned()));
    match line {
        Some(n) if !last.is_empty() => format!("{last} (line {n})"),
        _ if last.is_empty() => "CPython could not compile it".to_owned(),
        _ => last,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_name_their_line() {
        let stderr = "  File \"block.py\", line 2\n    def f(\n         ^\nSyntaxError: '(' was never closed\n";
        assert_eq!(super::describe(stderr), "SyntaxError: '(' was never closed (line 2)");
        assert_eq!(super::describe(""), "CPython could not compile it");
    }
}
