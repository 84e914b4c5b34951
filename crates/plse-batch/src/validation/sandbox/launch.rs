//! The sandbox launcher: `__sandbox-worker` of the running binary (`plse-batch`, or
//! `plse-bench` when it measures workers), started by the host for each worker.
//! Single-threaded and about to `exec`, so it may allocate freely while it builds the box.
//!
//! Order matters: namespaces → private mounts → a size-capped tmpfs for scratch → fork (the
//! child is PID 1 of the new PID namespace) → rlimits → Landlock (after the tmpfs mount: a
//! rule on a directory does not cover a tmpfs mounted over it later) → drop to the slot's
//! unprivileged uid → no_new_privs + seccomp → exec the Python worker with an empty
//! environment.
//!
//! Rootless (`--rootless`, for a caller that is not root): the same box inside a new *user*
//! namespace created together with the others, with the caller's uid and gid mapped to
//! themselves (one uid: no per-slot uids, no setgroups), and a new root that holds only what
//! the worker may use (`build_root`: the user's files and sockets do not exist in it). Instead
//! of the uid drop, the worker
//! gives up every capability it holds in that user namespace (bounding, ambient, effective,
//! permitted, inheritable sets) before no_new_privs, seccomp and exec; Landlock is mandatory
//! there (the worker runs as the user, so DAC alone would let it read the user's files).
//! `RLIMIT_NPROC` counts per user namespace since Linux 5.14, so the cap is per worker as with
//! the per-slot uids.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, RestrictionStatus, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    Scope, path_beneath_rules,
};
use nix::libc;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Uid, fork, getgid, getuid, setgroups, setresgid, setresuid};
use seccompiler::{BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch};

/// Arguments of the hidden launcher subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct LaunchArgs {
    /// Unprivileged uid (and gid) the worker runs as.
    #[arg(long)]
    pub uid: u32,
    /// Directory the scratch tmpfs is mounted on (created by the host, empty).
    #[arg(long)]
    pub scratch: PathBuf,
    /// Size of the scratch tmpfs in bytes.
    #[arg(long)]
    pub scratch_bytes: u64,
    /// Most processes and threads the slot uid may have.
    #[arg(long)]
    pub nproc: u64,
    /// The venv (read-only inside).
    #[arg(long)]
    pub venv: PathBuf,
    /// The worker script.
    #[arg(long)]
    pub worker: PathBuf,
    /// Modules the worker imports before serving (comma-separated).
    #[arg(long, default_value = "")]
    pub preload: String,
    /// Build the box in a new user namespace as the calling (unprivileged) user; `--uid` must
    /// be the caller's own uid.
    #[arg(long)]
    pub rootless: bool,
    /// Build the box, check it holds, and exit 0 instead of starting the worker.
    #[arg(long)]
    pub probe: bool,
}

/// The first line a failing rootless launcher writes to stderr names the step that failed
/// with this prefix and the errno, so the host can explain it (`pool::rootless_diagnosis`).
pub const STEP_PREFIX: &str = "plse sandbox step failed: ";

/// Where POSIX shared memory lives.
const SHM: &str = "/dev/shm";

/// Builds the sandbox and execs the worker; returns only on failure.
pub fn run(args: &LaunchArgs) -> Result<i32> {
    let flags =
        CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS;
    let gid = if args.rootless {
        enter_user_namespace(args, flags)?
    } else {
        if args.uid == 0 {
            bail!("refusing to run sandboxed code as root");
        }
        if !nix::unistd::geteuid().is_root() {
            bail!("the sandbox with per-slot uids needs root (without root, the host starts it with --rootless)");
        }
        unshare(flags).context("unshare(mount, net, pid, ipc, uts namespaces)")?;
        args.uid
    };
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>).context("making mounts private")?;
    let opts = format!("size={},mode=0700,uid={},gid={}", args.scratch_bytes, args.uid, gid);
    if args.rootless {
        build_root(args, &opts)?;
    } else {
        mount(Some("tmpfs"), &args.scratch, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(opts.as_str()))
            .with_context(|| format!("mounting the scratch tmpfs on {}", args.scratch.display()))?;
        // A private, size-capped /dev/shm: multiprocessing pools and joblib need POSIX semaphores
        // and shared memory there. It lives in this mount namespace only (the host's is hidden) and
        // the worker empties it after every run.
        if Path::new(SHM).is_dir() {
            mount_shm(Path::new(SHM))?;
        }
    }
    // SAFETY: this process is single-threaded (the launcher starts no threads), so fork is sound.
    #[allow(unsafe_code)]
    match unsafe { fork() }.context("fork")? {
        ForkResult::Parent { child } => loop {
            // The launcher only waits: it stays root, outside the new PID namespace, holding nothing.
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => return Ok(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
                Ok(_) => continue,
                Err(e) => bail!("waiting for the worker: {e}"),
            }
        },
        ForkResult::Child => {
            let err = become_worker(args).unwrap_err();
            eprintln!("plse sandbox: {err:#}");
            std::process::exit(111);
        }
    }
}

/// Rootless: a new user namespace with the other namespaces (the kernel creates it first, so
/// it owns them), the caller's uid and gid mapped to themselves, setgroups denied (required to
/// write gid_map without privilege). Returns the gid the scratch tmpfs belongs to.
fn enter_user_namespace(args: &LaunchArgs, flags: CloneFlags) -> Result<u32> {
    let (uid, gid) = (getuid().as_raw(), getgid().as_raw());
    if uid == 0 || nix::unistd::geteuid().is_root() {
        bail!("refusing the rootless sandbox as root: root runs the sandbox with per-slot uids");
    }
    if args.uid != uid {
        bail!("--uid {} is not the caller's uid {uid}: the rootless sandbox can map only the caller's own uid", args.uid);
    }
    unshare(CloneFlags::CLONE_NEWUSER | flags)
        .map_err(|e| step("unshare-user", e))
        .context("unshare(user, mount, net, pid, ipc, uts namespaces)")?;
    let write = |file: &str, text: String| {
        std::fs::write(format!("/proc/self/{file}"), text)
            .map_err(|e| step("id-map", e))
            .with_context(|| format!("writing /proc/self/{file}"))
    };
    write("setgroups", "deny".to_owned())?;
    write("uid_map", format!("{uid} {uid} 1\n"))?;
    write("gid_map", format!("{gid} {gid} 1\n"))?;
    Ok(gid)
}

/// Paths of the system the worker reads (programs, libraries, configuration), besides the venv
/// and the worker script's directory.
const SYSTEM: &[&str] = &["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"];

/// The CPU description PyTorch's cpuinfo and OpenBLAS read (see `landlock`).
const CPU: &[&str] = &["/proc/cpuinfo", "/sys/devices/system/cpu"];

/// The devices a run may read and write.
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"];

fn mount_shm(at: &Path) -> Result<()> {
    mount(Some("tmpfs"), at, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, Some("size=64m,mode=1777"))
        .with_context(|| format!("mounting a private tmpfs on {}", at.display()))
}

/// Rootless: the worker's whole file system is a new root that holds only what it may use —
/// the system paths, the CPU description, four devices, the venv and the worker script's
/// directory (bind mounts at their own paths), a private /dev/shm and the scratch tmpfs (at
/// the scratch path) — and nothing else of the host. The worker runs as the user, so DAC would
/// let it reach the user's files, and Landlock does not govern connecting to a named UNIX
/// socket: without this, a sample could talk to the user's ssh-agent or session bus. Built on
/// a tmpfs mounted over the (empty) scratch directory, then `pivot_root` into it, the old root
/// detached, and the new root's own tmpfs made read-only.
fn build_root(args: &LaunchArgs, scratch_opts: &str) -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, symlink};
    let root = &args.scratch;
    mount(Some("tmpfs"), root, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("size=1m,mode=0755"))
        .map_err(|e| step("mount-tmpfs", e))
        .with_context(|| format!("mounting the new root's tmpfs on {}", root.display()))?;
    let inside = |p: &Path| root.join(p.strip_prefix("/").unwrap_or(p));
    let parent_of = |p: &Path| -> Result<()> {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(())
    };
    // `follow`: a symlink is bound as what it points to, at its own path (a venv given through
    // a link); otherwise it is copied as a link (/bin → usr/bin), resolved inside.
    let bind = |src: &Path, follow: bool| -> Result<()> {
        let meta = if follow { std::fs::metadata(src) } else { std::fs::symlink_metadata(src) };
        let Ok(meta) = meta else { return Ok(()) };
        let dst = inside(src);
        parent_of(&dst)?;
        if meta.file_type().is_symlink() {
            // /bin → usr/bin and the like: the same link, resolved inside.
            if std::fs::symlink_metadata(&dst).is_err() {
                symlink(std::fs::read_link(src)?, &dst).with_context(|| format!("linking {}", dst.display()))?;
            }
            return Ok(());
        }
        if meta.is_dir() {
            std::fs::create_dir_all(&dst)?;
        } else if meta.is_file() || meta.file_type().is_char_device() {
            if std::fs::symlink_metadata(&dst).is_err() {
                std::fs::File::create(&dst).with_context(|| format!("creating {}", dst.display()))?;
            }
        } else {
            bail!("{} is neither a directory, a file nor a device", src.display());
        }
        mount(Some(src), &dst, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
            .with_context(|| format!("binding {} into the sandbox", src.display()))?;
        if !DEVICES.contains(&src.to_str().unwrap_or("")) {
            read_only(&dst)?;
        }
        Ok(())
    };
    for p in SYSTEM.iter().chain(CPU).chain(DEVICES) {
        bind(Path::new(p), false)?;
    }
    bind(&args.venv, true)?;
    bind(args.worker.parent().unwrap_or(Path::new("/")), true)?;
    let shm = inside(Path::new(SHM));
    std::fs::create_dir_all(&shm)?;
    mount_shm(&shm)?;
    let scratch = inside(root);
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    mount(Some("tmpfs"), &scratch, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(scratch_opts))
        .map_err(|e| step("mount-tmpfs", e))
        .with_context(|| format!("mounting the scratch tmpfs on {}", args.scratch.display()))?;
    std::env::set_current_dir(root).context("entering the new root")?;
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    nix::mount::umount2(".", nix::mount::MntFlags::MNT_DETACH).context("detaching the old root")?;
    std::env::set_current_dir("/").context("entering /")?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .context("making the new root read-only")?;
    Ok(())
}

/// Remounts the bind mount at `at` read-only (beside Landlock, which already allows only reads
/// there: the venv is the user's own, writable by DAC). A user namespace may not clear the
/// flags the original mount has (they are locked), so they are kept.
fn read_only(at: &Path) -> Result<()> {
    use nix::sys::statvfs::{FsFlags, statvfs};
    let now = statvfs(at).with_context(|| format!("statvfs {}", at.display()))?.flags();
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
    for (st, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if now.contains(st) {
            flags |= ms;
        }
    }
    mount(None::<&str>, at, None::<&str>, flags, None::<&str>).with_context(|| format!("making {} read-only", at.display()))
}

/// Tags an error with the failing step and its errno (the first line of the launcher's
/// stderr starts with `STEP_PREFIX`), for the host's diagnosis.
fn step(name: &str, e: impl Into<std::io::Error>) -> anyhow::Error {
    let e: std::io::Error = e.into();
    anyhow::anyhow!("{STEP_PREFIX}{name} errno={} ({e})", e.raw_os_error().unwrap_or(0))
}

fn become_worker(args: &LaunchArgs) -> Result<std::convert::Infallible> {
    std::env::set_current_dir(&args.scratch).context("entering scratch")?;
    setrlimit(Resource::RLIMIT_NPROC, args.nproc, args.nproc).context("RLIMIT_NPROC")?;
    setrlimit(Resource::RLIMIT_NOFILE, 512, 512).context("RLIMIT_NOFILE")?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).context("RLIMIT_CORE")?;
    let status = landlock(args)?;
    if args.rootless {
        // The worker runs as the user: Landlock is what keeps it out of the user's files.
        if status.ruleset == RulesetStatus::NotEnforced {
            return Err(step("landlock", std::io::Error::from_raw_os_error(libc::EOPNOTSUPP)).context(
                "Landlock is not enforced on this kernel (not built in, or missing from the `lsm=` boot list): \
                 the rootless sandbox needs it to keep sample code out of your files",
            ));
        }
        drop_capabilities()?;
    } else {
        let id = Gid::from_raw(args.uid);
        setgroups(&[]).context("setgroups")?;
        setresgid(id, id, id).context("setresgid")?;
        let uid = Uid::from_raw(args.uid);
        setresuid(uid, uid, uid).context("setresuid")?;
        if nix::unistd::geteuid().is_root() {
            bail!("still root after setresuid");
        }
    }
    nix::sys::prctl::set_no_new_privs().context("no_new_privs")?;
    for filter in seccomp_filters()? {
        seccompiler::apply_filter(&filter).context("installing the seccomp filter")?;
    }
    if args.probe {
        std::process::exit(0);
    }
    let python = CString::new(args.venv.join("bin/python").into_os_string().into_encoded_bytes())?;
    let worker = CString::new(args.worker.clone().into_os_string().into_encoded_bytes())?;
    let mut argv = vec![python.clone(), CString::new("-I")?, CString::new("-B")?, worker];
    for m in args.preload.split(',').filter(|m| !m.is_empty()) {
        argv.push(CString::new(m)?);
    }
    let path = format!("PATH={}:/usr/local/bin:/usr/bin:/bin", args.venv.join("bin").display());
    let home = format!("HOME={}", args.scratch.display());
    let tmp = format!("TMPDIR={}", args.scratch.display());
    let env: Vec<CString> = [path, home, tmp]
        .into_iter()
        .chain(super::RUN_ENV.iter().map(|(k, v)| format!("{k}={v}")))
        .map(CString::new)
        .collect::<Result<_, _>>()?;
    nix::unistd::execve(&python, &argv, &env).context("exec python")
}

/// Read-only: system directories, the venv, the worker script and the CPU description
/// (`/proc/cpuinfo`, `/sys/devices/system/cpu`: PyTorch's cpuinfo and OpenBLAS read them to
/// pick kernels; without them `nn.EmbeddingBag` and friends fail with "Failed to initialize
/// cpuinfo!"; nothing else of /proc or /sys is readable). Read-write: the scratch
/// tmpfs, the private /dev/shm and /dev/null. No TCP bind/connect (ABI 4+), no signals or abstract sockets to
/// processes outside the sandbox (ABI 6+). Best effort on older kernels, where namespaces, the
/// uid and seccomp still hold.
fn landlock(args: &LaunchArgs) -> Result<RestrictionStatus> {
    let abi = ABI::V6;
    let worker_dir = args.worker.parent().unwrap_or(Path::new("/"));
    let read: Vec<PathBuf> =
        SYSTEM.iter().chain(CPU).map(PathBuf::from).chain([args.venv.clone(), worker_dir.to_path_buf()]).filter(|p| p.exists()).collect();
    let devices: Vec<&str> = DEVICES.iter().copied().filter(|p| Path::new(p).exists()).collect();
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        .add_rules(path_beneath_rules(&read, AccessFs::from_read(abi)))?
        .add_rules(path_beneath_rules(devices, AccessFs::ReadFile | AccessFs::WriteFile))?
        .add_rules(path_beneath_rules([&args.scratch], AccessFs::from_all(abi)))?
        .add_rules(path_beneath_rules([SHM].into_iter().filter(|p| Path::new(p).is_dir()), AccessFs::from_all(abi)))?
        .restrict_self()
        .context("landlock")?;
    // Best effort for the root sandbox (not enforced on kernels without Landlock, see above);
    // the rootless one refuses to start without it (`become_worker`).
    Ok(status)
}

/// Rootless: the worker holds every capability in its user namespace (it created it). Gives
/// them all up for good: the bounding set (no exec can regain one), the ambient set, then the
/// effective, permitted and inheritable sets; checks that none is left.
fn drop_capabilities() -> Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let last: libc::c_ulong =
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(63);
    // SAFETY: prctl and capget/capset with valid pointers to properly sized, live structs.
    #[allow(unsafe_code)]
    unsafe {
        for cap in 0..=last {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL)
            {
                return Err(std::io::Error::last_os_error()).context("dropping the capability bounding set");
            }
        }
        if libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error()).context("clearing ambient capabilities");
        }
        let mut header = Header { version: VERSION_3, pid: 0 };
        let empty = [Data::default(); 2];
        if libc::syscall(libc::SYS_capset, &mut header as *mut Header, empty.as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error()).context("capset");
        }
        let mut now = [Data { effective: 1, permitted: 1, inheritable: 1 }; 2];
        if libc::syscall(libc::SYS_capget, &mut header as *mut Header, now.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error()).context("capget");
        }
        if now.iter().any(|d| d.effective | d.permitted | d.inheritable != 0) {
            bail!("capabilities left after dropping them");
        }
        for cap in 0..=last {
            if libc::prctl(libc::PR_CAPBSET_READ, cap, 0, 0, 0) == 1 {
                bail!("capability {cap} left in the bounding set");
            }
        }
    }
    Ok(())
}

/// Syscalls untrusted code never needs and that open paths out of the box: other socket
/// families than AF_UNIX, ptrace and cross-process memory access, namespace and mount
/// manipulation, kernel keyrings, BPF, perf, io_uring (it bypasses seccomp), module and
/// reboot calls. `clone` with namespace flags fails; `clone3` (flags behind a pointer)
/// reports ENOSYS so libc falls back to `clone`.
fn seccomp_filters() -> Result<Vec<BpfProgram>> {
    let arch: TargetArch =
        std::env::consts::ARCH.try_into().map_err(|_| anyhow::anyhow!("seccomp: unsupported architecture {}", std::env::consts::ARCH))?;
    let mut deny: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for sc in [
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_kexec_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_acct,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
    ] {
        deny.insert(sc, Vec::new());
    }
    let cond = |arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64| SeccompCondition::new(arg, len, op, value);
    // The socket domain is an `int`: compare the low 32 bits only.
    let not_unix = || SeccompRule::new(vec![cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, libc::AF_UNIX as u64)?]);
    deny.insert(libc::SYS_socket, vec![not_unix()?]);
    deny.insert(libc::SYS_socketpair, vec![not_unix()?]);
    let ns_flags = [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWCGROUP,
    ];
    let clone_rules = ns_flags
        .iter()
        .map(|f| SeccompRule::new(vec![cond(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(*f as u64), *f as u64)?]))
        .collect::<Result<Vec<_>, _>>()?;
    deny.insert(libc::SYS_clone, clone_rules);
    let eperm = SeccompFilter::new(deny, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)?;
    let mut nosys = BTreeMap::new();
    nosys.insert(libc::SYS_clone3, Vec::new());
    let enosys = SeccompFilter::new(nosys, SeccompAction::Allow, SeccompAction::Errno(libc::ENOSYS as u32), arch)?;
    Ok(vec![eperm.try_into()?, enosys.try_into()?])
}
