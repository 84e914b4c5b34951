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
use nix::libc;

use super::worker::{Continuity, Limits, Mode, RequestStats, Spec, Worker, WorkerCpu};
use crate::validation::pyenv::{PyEnv, Tier};
use plse_check::{Run, RunResult};

/// Shared by the executors of a run: the spec and the slot counter (one uid per worker).
#[derive(Clone)]
pub struct Shared {
    spec: Arc<Spec>,
    next_slot: Arc<AtomicU32>,
}

impl Shared {
    /// Checks the prerequisites of `mode` and installs the worker script. Sandboxed as root:
    /// the sandbox with per-slot uids. Sandboxed without root: the rootless sandbox (a user
    /// namespace), after a probe that builds one; when the kernel forbids it, an error that
    /// names the knob in the way and the ways on.
    /// `stdlib`: the standard-library modules every worker imports before it forks
    /// ([`stdlib_preload`] of the run's patterns).
    pub fn new(env: PyEnv, mode: Mode, limits: Limits, stdlib: Vec<String>) -> Result<Self> {
        // Orphans of killed workers come back to us instead of the machine's init (which may
        // never reap them), so `Worker::kill` can reap them.
        nix::sys::prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
        let script = install_worker_script(&env.dir)?;
        let rootless = mode == Mode::Sandboxed && !nix::unistd::geteuid().is_root();
        if rootless {
            probe_rootless(&env.dir, &script)?;
        }
        Ok(Self {
            spec: Arc::new(Spec { env, worker_script: script, mode, rootless, limits, stdlib }),
            next_slot: Arc::new(AtomicU32::new(0)),
        })
    }

    /// A fresh executor for one thread.
    pub fn executor(&self) -> Executor {
        Executor {
            shared: self.clone(),
            workers: HashMap::new(),
            retired: WorkerCpu::default(),
            retired_stats: RequestStats::default(),
            spawned: 0,
        }
    }

    /// Whether workers run in the rootless sandbox (user namespace, the caller's uid).
    pub fn rootless(&self) -> bool {
        self.spec.rootless
    }
}

/// Builds a rootless box once (the launcher with `--probe`: namespaces, id maps, tmpfs,
/// Landlock, capabilities dropped, seccomp; no worker) and explains a failure.
fn probe_rootless(venv: &Path, script: &Path) -> Result<()> {
    let dir = tempfile::Builder::new().prefix("plse-probe-").tempdir().context("creating the probe's scratch directory")?;
    let out = std::process::Command::new(super::worker::SELF_EXE)
        .arg("__sandbox-worker")
        .args(["--rootless", "--probe", "--scratch-bytes", "1048576", "--nproc", "16", "--uid"])
        .arg(nix::unistd::getuid().as_raw().to_string())
        .arg("--scratch")
        .arg(dir.path())
        .arg("--venv")
        .arg(venv)
        .arg("--worker")
        .arg(script)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .output()
        .context("starting the sandbox probe")?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    bail!("{}", rootless_diagnosis(&stderr, &Knobs::read()))
}

/// The kernel settings that decide whether an unprivileged user may create user namespaces
/// (`None`: the file does not exist on this kernel).
#[derive(Debug, Default, Clone)]
pub struct Knobs {
    /// `kernel.unprivileged_userns_clone` (Debian and Ubuntu kernels; 0 forbids).
    pub unprivileged_userns_clone: Option<String>,
    /// `user.max_user_namespaces` (0 forbids; otherwise a limit that can be reached).
    pub max_user_namespaces: Option<String>,
    /// `kernel.apparmor_restrict_unprivileged_userns` (Ubuntu ≥ 23.10; 1 restricts).
    pub apparmor_restrict_unprivileged_userns: Option<String>,
}

impl Knobs {
    /// Reads them from `/proc/sys`.
    pub fn read() -> Self {
        let get = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
        Self {
            unprivileged_userns_clone: get("/proc/sys/kernel/unprivileged_userns_clone"),
            max_user_namespaces: get("/proc/sys/user/max_user_namespaces"),
            apparmor_restrict_unprivileged_userns: get("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
        }
    }

    fn describe(&self) -> String {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".to_owned());
        format!(
            "kernel.unprivileged_userns_clone={}, user.max_user_namespaces={}, kernel.apparmor_restrict_unprivileged_userns={}",
            show(&self.unprivileged_userns_clone),
            show(&self.max_user_namespaces),
            show(&self.apparmor_restrict_unprivileged_userns)
        )
    }
}

/// Why the rootless sandbox could not be built, from the probe's stderr (the failing step and
/// its errno, see `launch::STEP_PREFIX`) and the kernel's knobs, with what to do.
pub fn rootless_diagnosis(stderr: &str, knobs: &Knobs) -> String {
    let (step, errno) = stderr
        .split(super::launch::STEP_PREFIX)
        .nth(1)
        .map(|rest| {
            let mut words = rest.split_whitespace();
            let step = words.next().unwrap_or("").to_owned();
            let errno = words.next().and_then(|w| w.strip_prefix("errno=")).and_then(|n| n.parse::<i32>().ok()).unwrap_or(0);
            (step, errno)
        })
        .unwrap_or_default();
    let is = |v: &Option<String>, want: &str| v.as_deref() == Some(want);
    let admin = "ask the machine's admin to allow unprivileged user namespaces";
    let (reason, fix) = if is(&knobs.unprivileged_userns_clone, "0") {
        (
            "kernel.unprivileged_userns_clone is 0: the kernel forbids user namespaces to unprivileged users".to_owned(),
            format!("{admin} (`sysctl -w kernel.unprivileged_userns_clone=1`)"),
        )
    } else if is(&knobs.max_user_namespaces, "0") {
        (
            "user.max_user_namespaces is 0: the kernel forbids user namespaces".to_owned(),
            format!("{admin} (`sysctl -w user.max_user_namespaces=15000`)"),
        )
    } else if is(&knobs.apparmor_restrict_unprivileged_userns, "1") && (step == "unshare-user" || step == "id-map" || step == "mount-tmpfs")
    {
        (
            "kernel.apparmor_restrict_unprivileged_userns is 1: AppArmor gives programs without a profile that allows it no privilege in their user namespaces".to_owned(),
            format!(
                "{admin}: an AppArmor profile for plse-batch with the `userns,` rule, or `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
            ),
        )
    } else if step == "unshare-user" && errno == libc::ENOSPC {
        (
            format!(
                "the limit on user namespaces is reached (user.max_user_namespaces={})",
                knobs.max_user_namespaces.as_deref().unwrap_or("?")
            ),
            format!("{admin} (raise `user.max_user_namespaces`), or end other sandboxes and containers of yours"),
        )
    } else if step == "unshare-user" && errno == libc::EINVAL {
        ("this kernel has no user namespaces (CONFIG_USER_NS)".to_owned(), "use a kernel built with user namespaces".to_owned())
    } else if step == "unshare-user" || step == "id-map" || step == "mount-tmpfs" {
        (
            format!(
                "building the user namespace failed at step `{step}` although no kernel knob forbids it: a security policy refuses it, typically a container's seccomp profile (Docker's default blocks unshare) or an LSM"
            ),
            "run plse-batch where user namespaces are allowed (in a container: a seccomp profile that allows unshare and mount, e.g. `--security-opt seccomp=unconfined`)".to_owned(),
        )
    } else if step == "landlock" {
        (
            "Landlock is not enforced by this kernel (not built in, or missing from the `lsm=` boot list); without it the rootless sandbox cannot keep sample code out of your files".to_owned(),
            "use a kernel with Landlock enabled (Linux ≥ 5.13 with `landlock` in the LSM list)".to_owned(),
        )
    } else {
        ("the rootless sandbox failed to start".to_owned(), admin.to_owned())
    };
    let said = stderr.trim().trim_start_matches("error: ");
    format!(
        "the sandbox cannot be built without root on this machine: {reason}\n  probe: {said}\n  kernel settings: {}\n\
         hint: {fix}; or run as root (the sandbox with per-slot uids); or pass --unsafe-no-sandbox to run pattern code unconfined (only for patterns you trust)",
        knobs.describe()
    )
}

/// Writes the embedded worker script and the modules it imports next to the venv
/// (world-readable, as the sandbox uid must read them), in a directory named by their content
/// hash so concurrent runs never see a partial file. A user who cannot write there (the root's
/// venv, shared read-only) uses the copy already there when it is the same, else their own
/// cache directory (`$XDG_CACHE_HOME/plse/worker`, else `~/.cache/plse/worker`): the rootless
/// sandbox runs as that user. Returns the worker script's path.
fn install_worker_script(venv: &Path) -> Result<PathBuf> {
    match install_in(&venv.join("plse")) {
        Ok(path) => Ok(path),
        Err(e) if !nix::unistd::geteuid().is_root() => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .filter(|d| Path::new(d).is_absolute())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .ok_or_else(|| e.context("and neither XDG_CACHE_HOME nor HOME is set"))?;
            install_in(&cache.join("plse/worker"))
        }
        Err(e) => Err(e),
    }
}

fn install_in(base: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let files = [
        ("worker.py", super::WORKER_PY),
        ("security_scan.py", super::SECURITY_SCAN_PY),
        ("run_state.py", super::RUN_STATE_PY),
        ("harness_core.py", plse_check::HARNESS_CORE_PY),
    ];
    let both: String = files.iter().map(|(_, text)| *text).collect();
    let dir = base.join(plse_sampling::rng::hex_digest(both.as_bytes(), 12));
    let same = |name: &str, text: &str| std::fs::read(dir.join(name)).is_ok_and(|b| b == text.as_bytes());
    // A user may use an identical copy they cannot write (root's shared venv); root keeps
    // re-asserting the modes, which the sandbox's uids need.
    if !nix::unistd::geteuid().is_root() && files.iter().all(|(name, text)| same(name, text)) {
        return Ok(dir.join("worker.py"));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for d in [base, &dir] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
    }
    for (name, text) in files {
        let path = dir.join(name);
        if !same(name, text) {
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
    /// CPU time of the workers this executor discarded.
    retired: WorkerCpu,
    /// Their request counts.
    retired_stats: RequestStats,
    /// Workers started.
    spawned: u32,
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

/// Standard-library modules a worker may import before it forks, in this order: those that
/// pattern tests commonly use and whose import has no effect beyond the module itself. A
/// fresh child importing `asyncio` spends about 26 ms on it, `typing` 3.6 ms, `pathlib` 5.9 ms;
/// imported once in the worker they cost nothing per run. But each module the worker holds makes
/// every fork and exit dearer (more pages to copy and tear down; `threading`, `random` and
/// `logging` also add work after each fork), so a run preloads only what its patterns import.
pub const STDLIB_PRELOAD: &[&str] = &[
    "abc",
    "argparse",
    "array",
    "ast",
    "base64",
    "binascii",
    "bisect",
    "calendar",
    "collections",
    "collections.abc",
    "contextlib",
    "contextvars",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "enum",
    "errno",
    "fnmatch",
    "fractions",
    "functools",
    "glob",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "locale",
    "math",
    "numbers",
    "operator",
    "pathlib",
    "pickle",
    "pprint",
    "re",
    "shlex",
    "shutil",
    "sqlite3",
    "string",
    "struct",
    "textwrap",
    "timeit",
    "tracemalloc",
    "types",
    "typing",
    "unicodedata",
    "urllib.parse",
    "uuid",
    "weakref",
    "zipfile",
    "zlib",
    "zoneinfo",
    // These start or prepare thread machinery (an after-fork hook in every child), so they
    // come last and only when used.
    "threading",
    "random",
    "statistics",
    "secrets",
    "tempfile",
    "queue",
    "logging",
    "logging.handlers",
    "logging.config",
    "selectors",
    "socket",
    "subprocess",
    "concurrent.futures",
    "asyncio",
    "unittest.mock",
];

/// The modules of [`STDLIB_PRELOAD`] that `texts` (pattern templates: code, `requires`, test
/// snippets) import, in the table's order. `import a.b` names `a` and `a.b`; `from a.b import
/// c, d` names `a`, `a.b`, `a.b.c` and `a.b.d` (`c` may be a submodule).
pub fn stdlib_preload<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut named = std::collections::HashSet::new();
    for text in texts {
        for line in text.lines() {
            let t = line.trim_start();
            let (modules, names): (Vec<&str>, Vec<&str>) = if let Some(rest) = t.strip_prefix("import ") {
                (rest.split(',').filter_map(|p| p.split_whitespace().next()).collect(), Vec::new())
            } else if let Some(rest) = t.strip_prefix("from ") {
                let mut words = rest.split_whitespace();
                let module = words.next().unwrap_or("");
                let names = match (words.next(), rest.split_once(" import ")) {
                    (Some("import"), Some((_, list))) => list
                        .trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace())
                        .split(',')
                        .filter_map(|p| p.split_whitespace().next())
                        .collect(),
                    _ => Vec::new(),
                };
                (vec![module], names)
            } else {
                continue;
            };
            for m in modules {
                let mut prefix = String::new();
                for part in m.split('.') {
                    if !prefix.is_empty() {
                        prefix.push('.');
                    }
                    prefix.push_str(part);
                    named.insert(prefix.clone());
                }
                for n in &names {
                    named.insert(format!("{m}.{n}"));
                }
            }
        }
    }
    STDLIB_PRELOAD.iter().filter(|m| named.contains(**m)).map(|m| (*m).to_owned()).collect()
}

/// The template texts of `pattern` that may import modules: code, `requires`, test snippets.
pub fn pattern_import_texts(pattern: &plse_schema::Pattern) -> Vec<&str> {
    let mut texts: Vec<&str> = pattern.requires.iter().map(String::as_str).collect();
    texts.extend(pattern.requires_templates.iter().map(|t| t.text.as_str()));
    match &pattern.code {
        plse_schema::CodeSource::Template(t) => texts.push(&t.text),
        plse_schema::CodeSource::Components(c) => texts.extend(c.parts.iter().map(|t| t.text.as_str())),
    }
    texts.extend(pattern.validation.unit_test_snippets.iter().map(|t| t.text.as_str()));
    texts
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
    /// `sample`: where the request stands among its sample's requests.
    pub fn run(&mut self, modules: &[String], files: &[(String, String)], runs: &[Run], sample: Continuity) -> Result<Vec<RunResult>> {
        let (key, tier) = self.warm(modules)?;
        let mut limits = self.shared.spec.limits.clone();
        if limits.memory_bytes == 0 {
            limits.memory_bytes = default_memory_bytes(tier);
        }
        let Some(worker) = self.workers.get_mut(&key) else { bail!("worker vanished") };
        match worker.request(files, runs, &limits, sample) {
            Ok(r) => Ok(r),
            Err(e) => {
                if let Some(w) = self.workers.remove(&key) {
                    self.retired += w.cpu();
                    self.retired_stats += w.stats();
                }
                Err(e.context("the sandbox worker was restarted"))
            }
        }
    }

    /// Starts the worker of the family of `modules` unless it runs; returns the family's key
    /// and tier.
    pub fn warm(&mut self, modules: &[String]) -> Result<(String, Tier)> {
        let (key, tier, mut preload) = family(modules);
        if !self.workers.contains_key(&key) {
            let extra: Vec<String> = self
                .shared
                .spec
                .stdlib
                .iter()
                .filter(|m| !preload.iter().any(|p| p.trim_end_matches('?') == m.as_str()))
                .map(|m| format!("{m}?"))
                .collect();
            preload.extend(extra);
            let slot = self.shared.next_slot.fetch_add(1, Ordering::Relaxed);
            let worker = Worker::spawn(&self.shared.spec, slot, &preload)?;
            self.spawned += 1;
            self.workers.insert(key.clone(), worker);
        }
        Ok((key, tier))
    }

    /// CPU time its workers reported so far (as of their last response), and how many it
    /// started.
    pub fn cpu(&self) -> (WorkerCpu, u32) {
        let mut total = self.retired;
        for w in self.workers.values() {
            total += w.cpu();
        }
        (total, self.spawned)
    }

    /// Its workers' request counts so far.
    pub fn stats(&self) -> RequestStats {
        let mut total = self.retired_stats.clone();
        for w in self.workers.values() {
            total += w.stats();
        }
        total
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

    #[test]
    fn the_stdlib_preload_is_what_the_templates_import_in_table_order() {
        let texts = [
            "import asyncio\nfrom typing import Any\nimport json, os.path as p\n",
            "{% if x %}from concurrent.futures import ThreadPoolExecutor, as_completed{% endif %}\n",
            "from unittest import mock\nfrom urllib.parse import (\n    quote,\n)\nimport numpy as np\nfrom . import local\n",
        ];
        assert_eq!(stdlib_preload(texts), ["json", "typing", "urllib.parse", "asyncio", "unittest.mock"]);
        // `{% if %}` before the import hides it: the scan is line-based, as pattern_modules is.
        assert!(!stdlib_preload(["  import threading  # indented still counts"]).is_empty());
        assert!(stdlib_preload(["x = 'import threading'"]).is_empty());
    }

    #[test]
    fn a_failed_rootless_probe_names_the_knob_in_the_way() {
        let failed =
            |step: &str, errno: i32| format!("error: doing it: {}{step} errno={errno} (whatever)\n", super::super::launch::STEP_PREFIX);
        let knob = |clone: Option<&str>, max: &str, apparmor: Option<&str>| Knobs {
            unprivileged_userns_clone: clone.map(str::to_owned),
            max_user_namespaces: Some(max.to_owned()),
            apparmor_restrict_unprivileged_userns: apparmor.map(str::to_owned),
        };
        let cases = [
            (failed("unshare-user", libc::EPERM), knob(Some("0"), "15000", None), "kernel.unprivileged_userns_clone is 0"),
            (failed("unshare-user", libc::ENOSPC), knob(None, "0", None), "user.max_user_namespaces is 0"),
            (
                failed("unshare-user", libc::ENOSPC),
                knob(None, "10", None),
                "the limit on user namespaces is reached (user.max_user_namespaces=10)",
            ),
            (failed("id-map", libc::EPERM), knob(None, "15000", Some("1")), "kernel.apparmor_restrict_unprivileged_userns is 1"),
            (
                failed("mount-tmpfs", libc::EPERM),
                knob(None, "15000", Some("0")),
                "failed at step `mount-tmpfs` although no kernel knob forbids it",
            ),
            (failed("unshare-user", libc::EINVAL), knob(None, "15000", None), "no user namespaces (CONFIG_USER_NS)"),
            (failed("landlock", libc::EOPNOTSUPP), knob(None, "15000", Some("1")), "Landlock is not enforced"),
        ];
        for (stderr, knobs, want) in cases {
            let msg = rootless_diagnosis(&stderr, &knobs);
            assert!(msg.contains(want), "{want:?} not in {msg}");
            assert!(msg.contains("--unsafe-no-sandbox") && msg.contains("kernel settings: kernel.unprivileged_userns_clone="), "{msg}");
        }
    }
}
