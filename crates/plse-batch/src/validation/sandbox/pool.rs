//! An executor: the workers of one thread, one per *family* — the tier of the modules a
//! pattern needs (core, web, science, ml) — each a warm zygote that imported its tier's heavy
//! modules once and forks a child per run, so `import torch` or `import sklearn.pipeline` is
//! paid once per worker, not once per sample or per pattern. Executors outlive batches
//! (`Context` keeps them), so a worker serves a whole run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

use super::worker::{Limits, Mode, Spec, Worker};
use crate::validation::pyenv::{PyEnv, Tier};
use plse_check::{Run, RunResult};

/// Shared by the executors of a run: the spec and the slot counter (one uid per worker).
#[derive(Clone)]
pub struct Shared {
    spec: Arc<Spec>,
    next_slot: Arc<AtomicU32>,
}

impl Shared {
    /// Checks the prerequisites of `mode` and installs the worker script.
    pub fn new(env: PyEnv, mode: Mode, limits: Limits) -> Result<Self> {
        if mode == Mode::Sandboxed && !nix::unistd::geteuid().is_root() {
            bail!(
                "the sandbox needs root: it creates mount, network and PID namespaces, mounts a tmpfs and switches to an unprivileged uid.\n\
                 hint: run as root, or pass --unsafe-no-sandbox to run pattern code unconfined (only for patterns you trust)"
            );
        }
        // Orphans of killed workers come back to us instead of the machine's init (which may
        // never reap them), so `Worker::kill` can reap them.
        nix::sys::prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
        let script = install_worker_script(&env.dir)?;
        Ok(Self { spec: Arc::new(Spec { env, worker_script: script, mode, limits }), next_slot: Arc::new(AtomicU32::new(0)) })
    }

    /// A fresh executor for one thread.
    pub fn executor(&self) -> Executor {
        Executor { shared: self.clone(), workers: HashMap::new() }
    }
}

/// Writes the embedded worker script and the modules it imports next to the venv
/// (world-readable, as the sandbox uid must read them), in a directory named by their content
/// hash so concurrent runs never see a partial file. Returns the worker script's path.
fn install_worker_script(venv: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let files =
        [("worker.py", super::WORKER_PY), ("security_scan.py", super::SECURITY_SCAN_PY), ("harness_core.py", plse_check::HARNESS_CORE_PY)];
    let both: String = files.iter().map(|(_, text)| *text).collect();
    let base = venv.join("plse");
    let dir = base.join(plse_sampling::rng::hex_digest(both.as_bytes(), 12));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for d in [&base, &dir] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
    }
    for (name, text) in files {
        let path = dir.join(name);
        if !path.exists() {
            crate::store::atomic::write(&path, text.as_bytes())?;
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    }
    Ok(dir.join("worker.py"))
}

/// The workers of one thread.
pub struct Executor {
    shared: Shared,
    workers: HashMap<String, Worker>,
}

/// Modules a family's worker imports before serving, when they are installed: the heavy
/// imports of its tier. (A sample still imports what it uses; these only make that cheap.)
fn family_preload(tier: Tier) -> &'static [&'static str] {
    match tier {
        Tier::Web => &["pydantic", "fastapi", "fastapi.testclient", "httpx"],
        Tier::Science => &[
            "numpy",
            "scipy",
            "scipy.stats",
            "scipy.signal",
            "scipy.optimize",
            "scipy.interpolate",
            "scipy.integrate",
            "scipy.fft",
            "pandas",
            "sklearn",
            "sklearn.base",
            "sklearn.pipeline",
            "sklearn.compose",
            "sklearn.preprocessing",
            "sklearn.model_selection",
            "sklearn.metrics",
            "sklearn.linear_model",
            "sklearn.ensemble",
            "sklearn.impute",
            "sklearn.calibration",
            "matplotlib",
            "matplotlib.pyplot",
            "seaborn",
        ],
        // `torch._dynamo`: the first optimizer a process builds imports it (about 2.3 s here),
        // so without it every run of a training loop would pay that again in its child.
        Tier::Ml => &["numpy", "torch", "torch.nn", "torch.utils.data", "torch.optim", "torch._dynamo"],
        _ => &[],
    }
}

/// The family of a pattern that needs `modules`: its key, its tier, and what its worker
/// preloads (the tier's modules, optional, marked `?`; the pattern's own, required).
pub fn family(modules: &[String]) -> (String, Tier, Vec<String>) {
    let rank = |t: Tier| match t {
        Tier::Ml => 3,
        Tier::Science => 2,
        Tier::Web => 1,
        _ => 0,
    };
    let tier = modules.iter().filter_map(|m| Tier::for_module(m)).max_by_key(|t| rank(*t)).unwrap_or(Tier::Core);
    let base = family_preload(tier);
    // Standard-library modules import in milliseconds in the child: they neither need a worker
    // of their own nor preloading. Third-party modules beyond the tier's are preloaded (and
    // must import: a missing one is reported with the tier to set up).
    let extra: Vec<&String> = modules.iter().filter(|m| Tier::for_module(m).is_some() && !base.contains(&m.as_str())).collect();
    let mut key = tier.name().to_owned();
    for m in &extra {
        key.push('+');
        key.push_str(m);
    }
    let mut preload: Vec<String> =
        base.iter().map(|m| if modules.iter().any(|x| x == m) { (*m).to_owned() } else { format!("{m}?") }).collect();
    preload.extend(extra.into_iter().cloned());
    (key, tier, preload)
}

/// Address space a run of `tier` gets when `--memory-mb` is not given: torch maps about 3.5 GiB
/// on import alone; BLAS-backed science code needs more than plain Python.
pub fn default_memory_bytes(tier: Tier) -> u64 {
    match tier {
        Tier::Ml => 6 << 30,
        Tier::Science => 3 << 30,
        _ => 2 << 30,
    }
}

impl Executor {
    /// Runs `runs` in the worker of the family of `modules`. A worker that hangs or dies is
    /// discarded (and killed); the error says so and the next call starts a fresh one.
    pub fn run(&mut self, modules: &[String], files: &[(String, String)], runs: &[Run]) -> Result<Vec<RunResult>> {
        let (key, tier, preload) = family(modules);
        if !self.workers.contains_key(&key) {
            let slot = self.shared.next_slot.fetch_add(1, Ordering::Relaxed);
            let worker = Worker::spawn(&self.shared.spec, slot, &preload)?;
            self.workers.insert(key.clone(), worker);
        }
        let mut limits = self.shared.spec.limits.clone();
        if limits.memory_bytes == 0 {
            limits.memory_bytes = default_memory_bytes(tier);
        }
        let Some(worker) = self.workers.get_mut(&key) else { bail!("worker vanished") };
        match worker.request(files, runs, &limits) {
            Ok(r) => Ok(r),
            Err(e) => {
                self.workers.remove(&key);
                Err(e.context("the sandbox worker was restarted"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_group_patterns_by_tier() {
        let m = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(family(&m(&[])).0, "core");
        assert_eq!(family(&m(&["json", "collections"])), ("core".to_owned(), Tier::Core, Vec::new()));
        let (key, tier, preload) = family(&m(&["numpy", "pandas"]));
        assert_eq!((key.as_str(), tier), ("science", Tier::Science));
        assert!(preload.contains(&"numpy".to_owned()) && preload.contains(&"scipy?".to_owned()), "{preload:?}");
        assert_eq!(family(&m(&["scipy", "sklearn"])).0, "science", "every science pattern shares one worker");
        let (key, tier, preload) = family(&m(&["torch", "pandas", "lightning", "json"]));
        assert_eq!((key.as_str(), tier), ("ml+pandas+lightning", Tier::Ml));
        assert!(preload.ends_with(&["pandas".to_owned(), "lightning".to_owned()]) && preload.contains(&"torch".to_owned()), "{preload:?}");
        assert_eq!(default_memory_bytes(Tier::Ml), 6 << 30);
    }
}
