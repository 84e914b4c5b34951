//! Shared by `lint --exec` and `generate`: prepare the environment and sandbox, lint in
//! batches, validate samples in parallel.

use std::time::{Duration, Instant};

use anyhow::Result;
use rayon::prelude::*;

use plse_render::imports::pattern_modules;
use plse_render::{Sample, Side};
use plse_schema::{ArtifactKind, Pattern};

use crate::cli::ExecArgs;
use crate::lint_py;
use crate::pyenv::{PyEnv, Tier, default_dir, setup};
use crate::sandbox::pool::Shared;
use crate::sandbox::worker::{Limits, Mode};
use crate::validate::{Settings, Verdict, validate};

/// Everything needed to validate samples.
pub struct Context {
    /// The environment.
    pub env: PyEnv,
    /// The sandbox.
    pub shared: Shared,
    /// Rule prefixes that reject.
    pub reject_rules: Vec<String>,
    /// Parallel workers.
    pub jobs: usize,
    /// Executors between batches: their warm workers serve the whole run.
    idle: std::sync::Mutex<Vec<crate::sandbox::pool::Executor>>,
}

impl Context {
    /// Sets up what `patterns` need (running `setup` for missing tiers) and the sandbox.
    pub fn new<'a>(args: &ExecArgs, patterns: impl IntoIterator<Item = &'a Pattern>) -> Result<Self> {
        let dir = args.venv.clone().unwrap_or_else(default_dir);
        let mut tiers = vec![Tier::Core];
        for p in patterns {
            for m in pattern_modules(p) {
                if let Some(t) = Tier::for_module(&m)
                    && !tiers.contains(&t)
                {
                    tiers.push(t);
                }
            }
        }
        let mut env = PyEnv { dir: dir.clone() };
        for t in tiers {
            if !env.has(t) {
                eprintln!("plse: the Python environment lacks tier `{t:?}`; setting it up (once)");
                env = setup(&dir, t, None)?;
            }
        }
        let mode = if args.unsafe_no_sandbox {
            eprintln!("warning: --unsafe-no-sandbox: pattern code runs UNCONFINED as {}", whoami());
            Mode::Unconfined
        } else {
            Mode::Sandboxed
        };
        let limits = Limits {
            timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
            cpu_seconds: args.timeout.ceil().max(1.0) as u64 + 1,
            // 0: the default of each worker family's tier (`pool::default_memory_bytes`).
            memory_bytes: args.memory_mb.map_or(0, |m| m << 20),
            ..Limits::default()
        };
        let shared = Shared::new(env.clone(), mode, limits)?;
        let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
        Ok(Self { env, shared, reject_rules: args.reject_rules.clone(), jobs, idle: std::sync::Mutex::new(Vec::new()) })
    }

    /// Validates `samples` (each with its pattern) on `jobs` threads; results in order.
    pub fn validate_all(&self, samples: &[(&Pattern, &Sample)]) -> Result<Vec<Verdict>> {
        let all_sides: Vec<Vec<(&'static str, Side)>> = samples.iter().map(|(_, s)| s.sides()).collect();
        // One ruff process for the whole batch, over Python code only (other kinds have their
        // own validators).
        let t = Instant::now();
        let is_python: Vec<bool> = samples.iter().map(|(_, s)| s.artifact.kind == ArtifactKind::Python).collect();
        let codes: Vec<&str> = all_sides
            .iter()
            .zip(&is_python)
            .filter(|(_, py)| **py)
            .flat_map(|(s, _)| s.iter().map(|(_, side)| side.code.as_str()))
            .collect();
        let mut lint = lint_py::lint(&self.env.ruff(), &codes)?.into_iter();
        let lint_ms = t.elapsed().as_secs_f64() * 1e3 / codes.len().max(1) as f64;
        let per_sample: Vec<Vec<Vec<lint_py::Finding>>> = all_sides
            .iter()
            .zip(&is_python)
            .map(|(s, py)| s.iter().map(|_| if *py { lint.next().unwrap_or_default() } else { Vec::new() }).collect())
            .collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(self.jobs).build()?;
        let chunk = samples.len().div_ceil(self.jobs).max(1);
        type Work<'a, 'b> = (usize, &'a (&'b Pattern, &'b Sample), &'a [(&'static str, Side)], Vec<Vec<lint_py::Finding>>);
        let work: Vec<Work<'_, '_>> =
            samples.iter().zip(&all_sides).zip(per_sample).enumerate().map(|(i, ((s, sd), l))| (i, s, sd.as_slice(), l)).collect();
        let mut out: Vec<(usize, Verdict)> = pool.install(|| {
            work.into_par_iter()
                .chunks(chunk)
                .flat_map_iter(|items| {
                    let mut exec =
                        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop().unwrap_or_else(|| self.shared.executor());
                    let verdicts = items
                        .into_iter()
                        .map(|(i, (p, s), sd, l)| {
                            let settings = Settings {
                                reject_rules: &self.reject_rules,
                                modules: pattern_modules(p),
                                linter_checks: p.validation.linter_checks,
                                expected: &p.validation.expected_output,
                                capabilities: &p.capabilities,
                            };
                            (i, validate(s, sd, l, lint_ms, &mut exec, &settings))
                        })
                        .collect::<Vec<_>>();
                    self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(exec);
                    verdicts
                })
                .collect()
        });
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }
}

fn whoami() -> String {
    format!("uid {}", nix::unistd::getuid())
}
