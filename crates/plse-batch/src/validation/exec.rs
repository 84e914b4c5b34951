//! Shared by `lint --exec` and `generate`: prepare the environment and sandbox, lint in
//! batches, validate samples in parallel.

use std::time::{Duration, Instant};

use anyhow::Result;
use rayon::prelude::*;

use plse_check::Plan;
use plse_dataset::Finding;
use plse_render::Sample;
use plse_render::imports::pattern_modules;
use plse_schema::{ArtifactKind, Pattern};

use crate::cli::ExecArgs;
use crate::validation::lint_py;
use crate::validation::pyenv::{PyEnv, Tier, default_dir, setup};
use crate::validation::sandbox::pool::{Executor, Shared, family};
use crate::validation::sandbox::worker::{Continuity, Limits, Mode};
use crate::validation::validate::{Settings, validate};
use plse_check::Verdict;

/// One sample to validate: its place in the batch, pattern and plan.
type Work<'a> = (usize, (&'a Pattern, &'a Plan));

/// What ruff found in a batch: per plan, per side, and the mean time per file.
type BatchLint = (Vec<Vec<Vec<Finding>>>, f64);

/// The batch's ruff findings once ruff is done (or why it failed); the validating threads
/// wait for them.
#[derive(Default)]
struct Linted {
    done: std::sync::Mutex<Option<Result<BatchLint, String>>>,
    ready: std::sync::Condvar,
}

impl Linted {
    fn set(&self, result: Result<BatchLint, String>) {
        *self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
        self.ready.notify_all();
    }

    fn wait(&self) -> std::sync::MutexGuard<'_, Option<Result<BatchLint, String>>> {
        let mut done = self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while done.is_none() {
            done = self.ready.wait(done).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        done
    }

    /// Plan `i`'s findings per side and the time per file (none when ruff failed: the batch
    /// then fails, see [`Linted::failed`]).
    fn get(&self, i: usize) -> (Vec<Vec<Finding>>, f64) {
        match self.wait().as_ref() {
            Some(Ok((lint, ms))) => (lint.get(i).cloned().unwrap_or_default(), *ms),
            _ => (Vec::new(), 0.0),
        }
    }

    fn failed(&self) -> Result<(), String> {
        match self.wait().as_ref() {
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(()),
        }
    }
}

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
    /// The samples of a chunk may share forked children (`--one-child-per-sample` off).
    share_samples: bool,
    /// Executors between batches: their warm workers serve the whole run.
    idle: std::sync::Mutex<Vec<Executor>>,
    /// ruff's processes so far.
    ruff: std::sync::Mutex<RuffCpu>,
    /// Executors whose core worker is starting in the background (one per job), so the first
    /// batch does not wait for interpreters to start and import.
    warming: std::sync::Mutex<Vec<std::thread::JoinHandle<Executor>>>,
    /// When the first sample's verdict was reached.
    first_verdict: std::sync::OnceLock<Instant>,
}

/// What ruff cost so far: processes, files, CPU time (ms).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuffCpu {
    /// ruff processes run.
    pub processes: u32,
    /// Files they linted.
    pub files: u64,
    /// Their CPU time (user + system), ms.
    pub cpu_ms: f64,
}

/// Where validation's CPU time went so far (for `plse-bench`): the workers (their own and
/// their runs', as last reported) and ruff. The host's own is the caller's to measure.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// The sandbox workers.
    pub workers: crate::validation::sandbox::worker::WorkerCpu,
    /// Workers started.
    pub worker_starts: u32,
    /// ruff.
    pub ruff: RuffCpu,
    /// The workers' request counts (children forked, grouped runs, ...).
    pub requests: crate::validation::sandbox::worker::RequestStats,
}

impl Context {
    /// Sets up what `patterns` need (running `setup` for missing tiers) and the sandbox.
    pub fn new<'a>(args: &ExecArgs, patterns: impl IntoIterator<Item = &'a Pattern>) -> Result<Self> {
        let dir = args.venv.clone().unwrap_or_else(default_dir);
        let patterns: Vec<&Pattern> = patterns.into_iter().collect();
        let stdlib = crate::validation::sandbox::pool::stdlib_preload(
            patterns.iter().flat_map(|p| crate::validation::sandbox::pool::pattern_import_texts(p)),
        );
        let mut tiers = vec![Tier::Core];
        for p in &patterns {
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
            group_runs: !args.one_child_per_run,
            ..Limits::default()
        };
        let shared = Shared::new(env.clone(), mode, limits, stdlib)?;
        let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
        // Most runs' samples need the core family: its workers start while the caller goes on
        // (opening the store, drawing and linting the first batch).
        let core = patterns.iter().any(|p| family(&pattern_modules(p)).1 == Tier::Core);
        let warming = (0..if core { jobs } else { 0 })
            .map(|_| {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let mut exec = shared.executor();
                    // A worker that fails to start is started again, and its error reported,
                    // when a sample needs it.
                    let _ = exec.warm(&[]);
                    exec
                })
            })
            .collect();
        Ok(Self {
            env,
            shared,
            reject_rules: args.reject_rules.clone(),
            share_samples: !args.one_child_per_sample && !args.one_child_per_run,
            jobs,
            idle: std::sync::Mutex::new(Vec::new()),
            ruff: std::sync::Mutex::default(),
            warming: std::sync::Mutex::new(warming),
            first_verdict: std::sync::OnceLock::new(),
        })
    }

    /// Validates `samples` (each with its pattern) on `jobs` threads; results in order.
    pub fn validate_all(&self, samples: &[(&Pattern, &Sample)]) -> Result<Vec<Verdict>> {
        let plans: Vec<Plan> = samples.iter().map(|(p, s)| plse_check::plan(p, s)).collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(self.jobs).build()?;
        let chunk = samples.len().div_ceil(self.jobs).max(1);
        let work: Vec<Work<'_>> = samples.iter().zip(&plans).map(|((p, _), plan)| (*p, plan)).enumerate().collect();
        // ruff lints the batch while the sandbox makes the runs: a sample's stages wait for
        // its findings only after its runs.
        let linted = Linted::default();
        let mut out: Vec<(usize, Verdict)> = std::thread::scope(|scope| {
            scope.spawn(|| linted.set(self.lint(&plans).map_err(|e| format!("{e:#}"))));
            pool.install(|| work.into_par_iter().chunks(chunk).flat_map_iter(|items| self.validate_chunk(items, &linted)).collect())
        });
        linted.failed().map_err(|e| anyhow::anyhow!(e))?;
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }

    /// Ruff over every Python side of `plans` in one process (other kinds have their own
    /// validators): the findings per plan and side, and the mean time per file.
    fn lint(&self, plans: &[Plan]) -> Result<BatchLint> {
        let t = Instant::now();
        let python = |p: &&Plan| p.kind == ArtifactKind::Python;
        let codes: Vec<&str> = plans.iter().filter(python).flat_map(|p| p.sides.iter().map(|s| s.code.as_str())).collect();
        let before = children_cpu_ms();
        let mut lint = lint_py::lint(&self.env.ruff(), &codes)?.into_iter();
        if !codes.is_empty() {
            // Validation has not started: the only child reaped meanwhile is ruff.
            let mut r = self.ruff.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            r.processes += 1;
            r.files += codes.len() as u64;
            r.cpu_ms += children_cpu_ms() - before;
        }
        let lint_ms = t.elapsed().as_secs_f64() * 1e3 / codes.len().max(1) as f64;
        let per_plan = plans
            .iter()
            .map(|p| p.sides.iter().map(|_| if python(&p) { lint.next().unwrap_or_default() } else { Vec::new() }).collect())
            .collect();
        Ok((per_plan, lint_ms))
    }

    /// Validates a chunk on one thread, with an executor whose workers stay warm between
    /// batches.
    fn validate_chunk(&self, items: Vec<Work<'_>>, linted: &Linted) -> Vec<(usize, Verdict)> {
        let idle = || self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut exec = idle().pop().or_else(|| self.warmed()).unwrap_or_else(|| self.shared.executor());
        // A child may pass from a sample to the next one of the chunk when both go to the same
        // worker; it ends (and its CPU time is reaped and counted) before any other request.
        let modules: Vec<Vec<String>> = items.iter().map(|(_, (p, _))| pattern_modules(p)).collect();
        let families: Vec<String> = modules.iter().map(|m| family(m).0).collect();
        let same = |a: usize, b: usize| self.share_samples && families.get(a).is_some_and(|f| Some(f) == families.get(b));
        let verdicts = items
            .into_iter()
            .zip(modules)
            .enumerate()
            .map(|(k, ((i, (_, plan)), modules))| {
                let neighbours = Continuity { continues: k > 0 && same(k - 1, k), more: same(k, k + 1) };
                let settings = Settings { reject_rules: &self.reject_rules, modules, neighbours };
                let verdict = validate(plan, || linted.get(i), &mut exec, &settings);
                self.first_verdict.get_or_init(Instant::now);
                (i, verdict)
            })
            .collect();
        idle().push(exec);
        verdicts
    }

    /// An executor whose worker was started in the background, once it is ready.
    fn warmed(&self) -> Option<Executor> {
        let handle = self.warming.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop()?;
        handle.join().ok()
    }

    /// When the first sample's verdict was reached (None before).
    pub fn first_verdict(&self) -> Option<Instant> {
        self.first_verdict.get().copied()
    }

    /// Where the CPU time of validation went so far (workers between batches, ruff).
    pub fn stats(&self) -> Stats {
        while let Some(exec) = self.warmed() {
            self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(exec);
        }
        let mut stats = Stats { ruff: *self.ruff.lock().unwrap_or_else(std::sync::PoisonError::into_inner), ..Stats::default() };
        for exec in self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let (cpu, starts) = exec.cpu();
            stats.workers += cpu;
            stats.worker_starts += starts;
            stats.requests += &exec.stats();
        }
        stats
    }
}

/// CPU time (user + system, ms) of this process's reaped children.
pub fn children_cpu_ms() -> f64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let (a, b) = (u.user_time(), u.system_time());
        (a.tv_sec() + b.tv_sec()) as f64 * 1e3 + (a.tv_usec() + b.tv_usec()) as f64 / 1e3
    })
}

fn whoami() -> String {
    format!("uid {}", nix::unistd::getuid())
}
