//! The host's handle on one sandboxed worker: spawn, request with a deadline, kill.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use plse_check::{Run, RunResult};
use serde::Deserialize;

use crate::validation::pyenv::PyEnv;

/// How workers are confined and limited.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock limit per run.
    pub timeout: Duration,
    /// CPU seconds per run.
    pub cpu_seconds: u64,
    /// Address-space limit per run (0: none).
    pub memory_bytes: u64,
    /// Largest file a run may write.
    pub file_bytes: u64,
    /// Size of a worker's scratch tmpfs.
    pub scratch_bytes: u64,
    /// Processes and threads per worker uid.
    pub nproc: u64,
    /// Consecutive Python runs of a request may share a forked child, each in a fresh
    /// `__main__`, while each leaves nothing behind that the next could see (`python/run_state.py`);
    /// off: a fresh child per run.
    pub group_runs: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            cpu_seconds: 10,
            memory_bytes: 2 << 30,
            file_bytes: 16 << 20,
            scratch_bytes: 64 << 20,
            nproc: 128,
            group_runs: true,
        }
    }
}

/// The running binary: `plse-batch` or `plse-bench`, both of which answer `__sandbox-worker`
/// (the launcher).
pub(crate) const SELF_EXE: &str = "/proc/self/exe";

/// Whether code runs in the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Namespaces, unprivileged uid, Landlock, seccomp, tmpfs scratch: as root with a uid per
    /// worker, otherwise in a user namespace as the calling user (see `launch.rs`).
    Sandboxed,
    /// `--unsafe-no-sandbox`: a plain child process with rlimits, nothing more.
    Unconfined,
}

#[derive(Debug, Deserialize)]
struct Hello {
    pid: u32,
    uid: u32,
    /// The worker's effective and permitted capabilities (must be none when sandboxed).
    #[serde(default)]
    caps: Option<i64>,
    #[serde(default)]
    preload_errors: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(default)]
    runs: Vec<RunResult>,
    #[serde(default)]
    error: Option<String>,
    /// The worker's cumulative CPU time (ms): its own, and its reaped runs'.
    #[serde(default)]
    cpu_ms: Option<[f64; 2]>,
    /// What the request took: children forked, runs made in a group after its first, runs
    /// given back to a fresh child, and why groups ended early.
    #[serde(default)]
    stats: RequestStats,
}

/// Counts a worker reports per request (`stats` in its response).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct RequestStats {
    /// Children forked for runs.
    #[serde(default)]
    pub children: u64,
    /// Runs made in a group child after its first run.
    #[serde(default)]
    pub grouped: u64,
    /// Groups whose remaining runs were given back to a fresh child.
    #[serde(default)]
    pub again: u64,
    /// Why groups ended before their last run (what a run left behind), with counts.
    #[serde(default)]
    pub dirty: std::collections::BTreeMap<String, u64>,
}

impl std::ops::AddAssign<&RequestStats> for RequestStats {
    fn add_assign(&mut self, o: &RequestStats) {
        self.children += o.children;
        self.grouped += o.grouped;
        self.again += o.again;
        for (k, v) in &o.dirty {
            *self.dirty.entry(k.clone()).or_default() += v;
        }
    }
}

/// A live worker.
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    scratch: Option<PathBuf>,
    next_id: u64,
    cpu: WorkerCpu,
    stats: RequestStats,
}

/// Where a request stands among the requests the host makes one after another (a sample's
/// sides, then its defect-shown runs; and, when children are shared across samples, the next
/// sample's): the worker may keep the child that made a request's last runs, clean, for the
/// next request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Continuity {
    /// The previous request may hand over its child (the same sample's, or a neighbour's).
    pub continues: bool,
    /// Another request that may take over the child follows.
    pub more: bool,
}

/// CPU time a worker reported (cumulative, ms), for `plse-bench`'s breakdown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WorkerCpu {
    /// The worker process itself: its start-up and imports, requests, compiles, forks.
    pub worker_ms: f64,
    /// Its runs: the forked children (and what they started), reaped.
    pub runs_ms: f64,
}

impl std::ops::AddAssign for WorkerCpu {
    fn add_assign(&mut self, o: Self) {
        self.worker_ms += o.worker_ms;
        self.runs_ms += o.runs_ms;
    }
}

/// Everything needed to start workers.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The environment.
    pub env: PyEnv,
    /// Where the worker script lives (world-readable).
    pub worker_script: PathBuf,
    /// Confinement.
    pub mode: Mode,
    /// Sandboxed without root: the rootless sandbox (user namespace, the caller's uid).
    pub rootless: bool,
    /// Limits.
    pub limits: Limits,
    /// Standard-library modules every worker imports before it forks (optional: a module the
    /// interpreter lacks is skipped): those the run's patterns import ([`super::pool::stdlib_preload`]).
    pub stdlib: Vec<String>,
}

/// Removes the scratch mount points that runs killed outright (SIGKILL, a lost node) left in
/// the temp directory: `plse-sandbox-PID-*` directories of this user whose process is gone.
/// Only empty ones: the scratch is a tmpfs mounted in the worker's own mount namespace, so
/// from here the directory is always empty; anything else is not ours to delete.
fn sweep_stale_scratch() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    let me = nix::unistd::getuid().as_raw();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("plse-sandbox-")).and_then(|r| r.split('-').next()) else { continue };
        let Ok(pid) = pid.parse::<i32>() else { continue };
        let ours = std::os::unix::fs::MetadataExt::uid(&match e.metadata() {
            Ok(m) if m.is_dir() => m,
            _ => continue,
        }) == me;
        let alive = std::path::Path::new("/proc").join(pid.to_string()).exists();
        if ours && !alive {
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

impl Worker {
    /// Starts a worker for `slot` that pre-imports `preload`.
    pub fn spawn(spec: &Spec, slot: u32, preload: &[String]) -> Result<Self> {
        let mut cmd;
        let scratch;
        match spec.mode {
            Mode::Sandboxed => {
                static SWEEP: std::sync::Once = std::sync::Once::new();
                SWEEP.call_once(sweep_stale_scratch);
                // A fresh directory of a random name (mode 0700): another user of the machine
                // cannot have planted it (or a symlink in its place) beforehand.
                let dir = tempfile::Builder::new()
                    .prefix(&format!("plse-sandbox-{}-{slot}-", std::process::id()))
                    .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
                    .tempdir()
                    .context("creating the scratch mount point")?
                    .keep();
                // This very binary, through /proc/self/exe: it stays valid when the file on disk
                // is replaced during a long run (a rebuild, an upgrade), where the path would not.
                cmd = Command::new(SELF_EXE);
                // Rootless: the caller's own uid, the only one a user namespace can map without
                // privilege.
                let uid = if spec.rootless { nix::unistd::getuid().as_raw() } else { super::slot_uid(slot) };
                cmd.arg("__sandbox-worker")
                    .arg("--uid")
                    .arg(uid.to_string())
                    .arg("--scratch")
                    .arg(&dir)
                    .arg("--scratch-bytes")
                    .arg(spec.limits.scratch_bytes.to_string())
                    .arg("--nproc")
                    .arg(spec.limits.nproc.to_string())
                    .arg("--venv")
                    .arg(&spec.env.dir)
                    .arg("--worker")
                    .arg(&spec.worker_script)
                    .arg("--preload")
                    .arg(preload.join(","));
                if spec.rootless {
                    cmd.arg("--rootless");
                }
                scratch = dir;
            }
            Mode::Unconfined => {
                let dir = std::env::temp_dir().join(format!("plse-unconfined-{}-{slot}", std::process::id()));
                std::fs::create_dir_all(&dir)?;
                cmd = Command::new(spec.env.python());
                cmd.arg("-I").arg("-B").arg(&spec.worker_script).args(preload).current_dir(&dir);
                cmd.env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", spec.env.bin().display())).env("HOME", &dir).env("TMPDIR", &dir);
                cmd.envs(super::RUN_ENV.iter().copied());
                scratch = dir;
            }
        }
        // An empty environment: the worker's /proc/self/environ would show it to samples.
        if spec.mode == Mode::Sandboxed {
            cmd.env_clear();
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .context("starting a sandbox worker")?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut w =
            Self { child, stdin, lines, scratch: Some(scratch), next_id: 0, cpu: WorkerCpu::default(), stats: RequestStats::default() };
        let hello = w.recv(Duration::from_secs(120)).context("the worker did not start")?;
        let hello: Hello = serde_json::from_str(&hello).with_context(|| format!("bad hello from worker: {hello}"))?;
        if spec.mode == Mode::Sandboxed && (hello.uid == 0 || hello.pid != 1 || hello.caps != Some(0)) {
            w.kill();
            bail!(
                "sandbox self-check failed: worker runs as uid {} pid {} with capabilities {:?} (expected non-root pid 1 with none)",
                hello.uid,
                hello.pid,
                hello.caps
            );
        }
        if let Some((m, e)) = hello.preload_errors.iter().next() {
            w.kill();
            bail!("module `{m}` cannot be imported in the sandbox ({e}); run `plse-batch setup --tier` for the tier that provides it");
        }
        Ok(w)
    }

    fn recv(&mut self, timeout: Duration) -> Result<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => bail!("worker timed out"),
            Err(RecvTimeoutError::Disconnected) => bail!("worker exited"),
        }
    }

    /// Runs `runs` with `files` in scratch. On a host-side timeout or a dead worker, returns
    /// an error and the worker must be discarded (`kill`).
    pub fn request(&mut self, files: &[(String, String)], runs: &[Run], limits: &Limits, sample: Continuity) -> Result<Vec<RunResult>> {
        self.next_id += 1;
        let req = serde_json::json!({
            "id": self.next_id,
            "files": files.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<String, serde_json::Value>>(),
            "runs": runs,
            "limits": {
                "timeout_seconds": limits.timeout.as_secs_f64(),
                "cpu_seconds": limits.cpu_seconds,
                "memory_bytes": limits.memory_bytes,
                "file_bytes": limits.file_bytes,
                "path": "/usr/local/bin:/usr/bin:/bin",
                "group": limits.group_runs,
            },
            "continues": sample.continues,
            "more": sample.more,
        });
        writeln!(self.stdin, "{req}").context("writing to the worker")?;
        self.stdin.flush()?;
        // The worker enforces each run's timeout itself; this backstop catches a worker that is
        // itself stuck or was killed by a sample.
        let backstop = limits.timeout * (runs.len() as u32 + 1) + Duration::from_secs(5);
        let line = self.recv(backstop)?;
        let resp: Response = serde_json::from_str(&line).with_context(|| format!("bad response: {line}"))?;
        if let Some([worker_ms, runs_ms]) = resp.cpu_ms {
            self.cpu = WorkerCpu { worker_ms, runs_ms };
        }
        self.stats += &resp.stats;
        if let Some(e) = resp.error {
            bail!("worker error: {e}");
        }
        Ok(resp.runs)
    }

    /// The CPU time the worker last reported (cumulative).
    pub fn cpu(&self) -> WorkerCpu {
        self.cpu
    }

    /// The counts of its requests so far.
    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    /// Kills the worker's process group (the launcher and PID 1 of the namespace: the kernel
    /// then kills everything else in it) and reaps it.
    pub fn kill(&mut self) {
        let pgid = self.child.id() as i32;
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        let _ = self.child.wait();
        // The launcher died before the namespace's PID 1, which was reparented to us (we are a
        // child subreaper, see `Shared::new`): reap it and anything else left in the group, or
        // it lingers as a zombie.
        while nix::sys::wait::waitpid(Pid::from_raw(-pgid), None).is_ok() {}
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.scratch {
            // Sandboxed: an empty mount point (the tmpfs lived in the worker's namespace).
            // Unconfined: the worker's files; never followed through symlinks.
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
