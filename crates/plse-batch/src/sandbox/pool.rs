//! An executor: the workers of one thread, keyed by the modules they pre-import, so
//! `import torch` is paid once per worker rather than once per sample.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

use super::worker::{Limits, Mode, Run, RunResult, Spec, Worker};
use crate::pyenv::PyEnv;

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

/// Writes the embedded worker script and the module it imports next to the venv
/// (world-readable, as the sandbox uid must read them), in a directory named by their content
/// hash so concurrent runs never see a partial file. Returns the worker script's path.
fn install_worker_script(venv: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let files = [("worker.py", super::WORKER_PY), ("security_scan.py", super::SECURITY_SCAN_PY)];
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
            crate::atomic::write(&path, text.as_bytes())?;
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

impl Executor {
    /// Runs `runs` in a worker that has `modules` imported. A worker that hangs or dies is
    /// discarded (and killed); the error says so and the next call starts a fresh one.
    pub fn run(&mut self, modules: &[String], files: &[(String, String)], runs: &[Run]) -> Result<Vec<RunResult>> {
        let key = modules.join(",");
        if !self.workers.contains_key(&key) {
            let slot = self.shared.next_slot.fetch_add(1, Ordering::Relaxed);
            let worker = Worker::spawn(&self.shared.spec, slot, modules)?;
            self.workers.insert(key.clone(), worker);
        }
        let limits = self.shared.spec.limits.clone();
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
