//! The attack suite of docs/validation.md ("Tested attacks"), run through
//! `plse-batch lint --exec` in the real sandbox. Each attack is a pattern: `contained` ones assert from inside that the attack
//! failed (so they must validate), `refused` ones must fail validation. After the run the
//! host checks what could have leaked: files outside scratch, connections, processes.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // tests run the binary and read files; panics are test failures

mod common;
use common::{is_root, root};

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Attack {
    name: &'static str,
    code: &'static str,
    test: &'static str,
    /// Must the sample validate (containment asserted inside) or be refused?
    validates: bool,
}

/// Two snippets of one sample, which may share a forked child: the first leaves something
/// behind, the second passes only if it sees it. A fresh child sees nothing, so the sample must
/// be refused: a validated one means a run saw what an earlier run of its child left. The same
/// pairs are also made as two samples in a row (`leaks_never_reach_the_next_sample`).
const LEAKS: &[(&str, &str, &str)] = &[
    (
        "leak_module_attribute",
        "import json\njson.dumps = lambda *a, **k: 'patched'\n",
        "import json\nassert json.dumps([1]) == 'patched'\n",
    ),
    (
        "leak_class_attribute",
        "import pathlib\npathlib.PurePath.__truediv__ = lambda self, other: 'patched'\n",
        "import pathlib\nassert pathlib.PurePath('a') / 'b' == 'patched'\n",
    ),
    ("leak_builtins", "import builtins\nbuiltins.len = lambda x: 42\n", "assert len([1, 2]) == 42\n"),
    (
        "leak_unittest",
        "import unittest\nunittest.TestCase.assertEqual = lambda *a, **k: None\n",
        "import unittest\nunittest.TestCase().assertEqual(1, 2)\n",
    ),
    ("leak_modules", "import sys, types\nsys.modules['planted'] = types.ModuleType('planted')\n", "import planted\n"),
    ("leak_environment", "import os\nos.environ['PLSE_LEAK'] = '1'\n", "import os\nassert os.environ.get('PLSE_LEAK') == '1'\n"),
    (
        "leak_working_directory",
        "import os\nos.makedirs('sub', exist_ok=True)\nos.chdir('sub')\n",
        "import os\nassert os.path.basename(os.getcwd()) == 'sub'\n",
    ),
    ("leak_umask", "import os\nos.umask(0o077)\n", "import os\nassert os.umask(0o022) == 0o077\n"),
    (
        "leak_resource_limit",
        "import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, (100, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n",
        "import resource\nassert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 100\n",
    ),
    (
        "leak_thread",
        "import builtins, threading, time\nthreading.Thread(target=lambda: (time.sleep(0.3), setattr(builtins, 'LEAKED', 1)), daemon=True).start()\n",
        "import builtins, time\ntime.sleep(0.6)\nassert getattr(builtins, 'LEAKED', 0) == 1\n",
    ),
    (
        "leak_daemon",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(0.3)\n        open('leak.txt', 'w').write('escaped')\n        os._exit(0)\n    os._exit(0)\nos.wait()\n",
        "import os, time\ntime.sleep(0.8)\nassert os.path.exists('leak.txt')\n",
    ),
    (
        "leak_signal_handler",
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n",
        "import signal\nassert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN\n",
    ),
    (
        "leak_timer",
        "import signal\nsignal.signal(signal.SIGALRM, lambda *a: None)\nsignal.setitimer(signal.ITIMER_REAL, 5)\n",
        "import signal\nassert signal.getitimer(signal.ITIMER_REAL)[0] > 0\n",
    ),
    (
        "leak_descriptors",
        "held = [open(f'held{i}.txt', 'w') for i in range(5)]\n",
        "import os\ndef _open(fd):\n    try:\n        os.fstat(fd)\n        return True\n    except OSError:\n        return False\nassert sum(map(_open, range(3, 64))) >= 5\n",
    ),
    ("leak_recursion_limit", "import sys\nsys.setrecursionlimit(60)\n", "import sys\nassert sys.getrecursionlimit() == 60\n"),
    ("leak_sys_path", "import sys\nsys.path.insert(0, '/nonexistent')\n", "import sys\nassert sys.path[0] == '/nonexistent'\n"),
    ("leak_gc", "import gc\ngc.disable()\n", "import gc\nassert not gc.isenabled()\n"),
    (
        "leak_warnings",
        "import warnings\nwarnings.simplefilter('error')\n",
        "import warnings\ntry:\n    warnings.warn('w', UserWarning)\nexcept UserWarning:\n    pass\nelse:\n    raise AssertionError('a warning is only a warning')\n",
    ),
    ("leak_decimal_context", "import decimal\ndecimal.getcontext().prec = 3\n", "import decimal\nassert decimal.getcontext().prec == 3\n"),
    (
        "leak_decimal_template",
        "import decimal\ndecimal.DefaultContext.prec = 5\n",
        "import decimal\nassert decimal.DefaultContext.prec == 5\n",
    ),
    ("leak_random_state", "import random\nrandom.seed(42)\n", "import random\nassert random.random() == 0.6394267984578837\n"),
    (
        "leak_logging",
        "import logging\nlogging.getLogger().addHandler(logging.NullHandler())\n",
        "import logging\nassert logging.getLogger().handlers\n",
    ),
    // Seen through audit events: a C environment change that os.environ does not show, an
    // audit hook (it can never be removed), native code.
    (
        "leak_putenv",
        "import os\nos.putenv('PLSE_LEAK', '1')\n",
        "import subprocess\nassert subprocess.run(['/bin/sh', '-c', 'test -n \"$PLSE_LEAK\"']).returncode == 0\n",
    ),
    (
        "leak_audit_hook",
        "import sys\nsys.addaudithook(lambda event, args: event == 'plse.probe' and open('hooked.txt', 'w').close())\n",
        "import os, sys\nsys.audit('plse.probe')\nassert os.path.exists('hooked.txt')\n",
    ),
    (
        "leak_native_setenv",
        "import ctypes\nctypes.CDLL(None).setenv(b'PLSE_NATIVE', b'1', 1)\n",
        "import subprocess\nassert subprocess.run(['/bin/sh', '-c', 'test -n \"$PLSE_NATIVE\"']).returncode == 0\n",
    ),
    (
        "leak_asyncio_policy",
        "import asyncio\nasync def main():\n    return 1\nasyncio.run(main())\n",
        "import asyncio, warnings\nwarnings.simplefilter('ignore')\ntry:\n    asyncio.get_event_loop()\nexcept RuntimeError:\n    pass\nelse:\n    raise AssertionError('a fresh process gets a loop')\n",
    ),
];

const ATTACKS: &[Attack] = &[
    Attack {
        name: "network_tcp",
        code: "import socket\nPORT = {{ port }}",
        test: "import socket\ntry:\n    socket.create_connection(('127.0.0.1', PORT), timeout=2)\n    raise SystemError('connected')\nexcept OSError as e:\n    assert 'connected' not in str(e)\n",
        validates: true,
    },
    Attack {
        name: "network_dns",
        code: "import socket",
        test: "try:\n    socket.getaddrinfo('pypi.org', 443)\n    raise SystemError('resolved')\nexcept OSError:\n    pass\n",
        validates: true,
    },
    Attack {
        name: "write_outside",
        code: "MARK = '{{ marker }}'",
        test: "import errno\nfor p in [MARK, '/tmp/' + MARK.rsplit('/', 1)[-1] + '-2']:\n    try:\n        open(p, 'w').write('pwned')\n        raise SystemError('wrote ' + p)\n    except OSError as e:\n        # Denied (Landlock, DAC), absent, or read-only (the rootless sandbox's own root).\n        assert e.errno in (errno.EACCES, errno.EPERM, errno.ENOENT, errno.EROFS), e\n# /dev/shm is the sandbox's own tmpfs (semaphores for multiprocessing): writable, private.\nopen('/dev/shm/' + MARK.rsplit('/', 1)[-1] + '-shm', 'w').write('private')\n",
        validates: true,
    },
    Attack {
        name: "read_secrets",
        code: "SECRET_FILE = '{{ secret }}'",
        test: "import os\nfor p in [SECRET_FILE, '/root/.bashrc', '/etc/shadow', '/proc/1/environ', '/proc/self/environ', '/proc/mounts', '/sys/class/dmi/id/product_uuid']:\n    try:\n        data = open(p).read()\n        raise SystemError('read ' + p)\n    except (PermissionError, FileNotFoundError):\n        pass\nassert 'PLSE_TEST_SECRET' not in os.environ, os.environ\n# The CPU description stays readable (torch's cpuinfo and OpenBLAS need it).\nassert 'processor' in open('/proc/cpuinfo').read()\nassert open('/sys/devices/system/cpu/possible').read().strip()\nassert set(os.environ) <= {'PATH', 'HOME', 'TMPDIR', 'LANG', 'PYTHONDONTWRITEBYTECODE', 'MPLBACKEND', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'LC_CTYPE'}, sorted(os.environ)\n",
        validates: true,
    },
    Attack {
        name: "kill_parent",
        code: "import os, signal",
        test: "try:\n    os.kill(os.getppid(), signal.SIGKILL)\n    raise SystemError('signalled the worker')\nexcept PermissionError:\n    pass\n",
        validates: true,
    },
    Attack {
        name: "namespaces_ptrace",
        code: "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)",
        test: "CLONE_NEWUSER = 0x10000000\nassert libc.unshare(CLONE_NEWUSER) == -1\nassert libc.syscall(101, 0, 1, 0, 0) == -1  # ptrace(PTRACE_TRACEME... attach pid 1)\nassert libc.syscall(435, 0, 0) == -1  # clone3\n",
        validates: true,
    },
    Attack {
        // A named UNIX socket of the user running plse-batch (an ssh-agent, a session bus): in
        // the rootless sandbox DAC would allow the connection and Landlock does not govern it.
        name: "unix_socket_of_the_user",
        code: "import socket\nSOCK = '{{ socket }}'",
        test: "s = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect(SOCK)\n    raise SystemError('connected')\nexcept OSError:\n    pass\n",
        validates: true,
    },
    Attack {
        // SIGKILL to every process the sample may signal: only its own namespace's.
        name: "kill_everything",
        code: "import os, signal",
        test: "try:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n",
        validates: true,
    },
    Attack {
        name: "privileges",
        code: "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)",
        test: "header = (ctypes.c_uint32 * 2)(0x20080522, 0)\ndata = (ctypes.c_uint32 * 6)()\nassert libc.capget(header, data) == 0\nassert not any(data), list(data)  # no capability, in any namespace\ntry:\n    os.setuid(0)\n    raise SystemError('became root')\nexcept OSError:\n    pass\nassert libc.mount(b'none', b'.', b'tmpfs', 0, None) == -1\nassert libc.umount2(os.getcwd().encode(), 2) == -1\nassert libc.chroot(b'.') == -1\n",
        validates: true,
    },
    Attack {
        name: "leaked_fds",
        code: "import os",
        test: "def _open(fd):\n    try:\n        os.fstat(fd)\n        return True\n    except OSError:\n        return False\nextra = [fd for fd in range(3, 1024) if _open(fd)]\nassert len(extra) <= 2, extra  # the verdict pipe (and the script file being read)\n",
        validates: true,
    },
    Attack {
        name: "fork_bomb",
        code: "import os",
        test: "pids = []\ntry:\n    while True:\n        pid = os.fork()\n        if pid == 0:\n            import time\n            time.sleep(60)\n            os._exit(0)\n        pids.append(pid)\nexcept OSError:\n    pass\nassert len(pids) < 500, len(pids)\n",
        validates: true,
    },
    Attack {
        name: "thread_bomb",
        code: "import threading, time",
        test: "n = 0\ntry:\n    while True:\n        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n        n += 1\nexcept RuntimeError:\n    pass\nassert n < 500, n\n",
        validates: true,
    },
    Attack {
        name: "memory_bomb",
        code: "BIG = 50 * 1024 ** 3",
        test: "try:\n    x = bytearray(BIG)\n    raise SystemError('allocated')\nexcept MemoryError:\n    pass\n",
        validates: true,
    },
    Attack {
        name: "disk_fill",
        code: "CHUNK = b'x' * (1 << 20)",
        test: "written = 0\ntry:\n    with open('fill.bin', 'wb') as f:\n        for _ in range(4096):\n            f.write(CHUNK)\n            written += 1\n        f.flush()\nexcept OSError:\n    pass\nassert written < 4096, written\n",
        validates: true,
    },
    Attack { name: "infinite_loop", code: "x = 0", test: "while True:\n    x += 1\n", validates: false },
    Attack {
        name: "signal_ignoring_spin",
        code: "import signal",
        test: "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n",
        validates: false,
    },
    Attack { name: "c_level_loop", code: "N = 10 ** 7", test: "x = 7 ** (N * 50)\n", validates: false },
    Attack {
        name: "deep_recursion",
        code: "import sys\nsys.setrecursionlimit(10 ** 7)",
        test: "def f(n):\n    return f(n + 1) + 1\nf(0)\n",
        validates: false,
    },
    Attack { name: "read_stdin", code: "x = 1", test: "data = input()\n", validates: false },
    Attack {
        name: "huge_stdout",
        code: "import sys",
        test: "for _ in range(2000):\n    sys.stdout.write('x' * 100000)\nassert False, 'after the flood'\n",
        validates: false,
    },
    Attack {
        name: "invalid_utf8_output",
        code: "import sys",
        test: "sys.stdout.buffer.write(bytes(range(256)) * 10)\nsys.stderr.buffer.write(b'\\xff\\xfe\\xfa')\nassert False\n",
        validates: false,
    },
    Attack { name: "sys_exit_zero", code: "import sys", test: "sys.exit(0)\nassert False\n", validates: false },
    Attack { name: "os_exit_zero", code: "import os", test: "os._exit(0)\nassert False\n", validates: false },
    Attack {
        name: "forged_verdict",
        code: "import os",
        test: "for fd in range(0, 64):\n    try:\n        os.write(fd, b'deadbeef PASS 1\\n')\n    except OSError:\n        pass\nos._exit(0)\n",
        validates: false,
    },
    Attack {
        name: "patched_unittest",
        code: "import unittest",
        test: "class T(unittest.TestCase):\n    def test_x(self):\n        self.fail('real failure')\nunittest.TestResult.wasSuccessful = lambda self: True\n",
        validates: false,
    },
    Attack {
        name: "setsid_double_fork",
        code: "import os, time\nMARK = '{{ marker }}-daemon'",
        test: "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(3)\n        try:\n            open(MARK, 'w').write('escaped')\n        except OSError:\n            pass\n        os._exit(0)\n    os._exit(0)\nassert False, 'leave a daemon behind and fail'\n",
        validates: false,
    },
    Attack {
        name: "symlink_in_scratch",
        code: "import os",
        test: "os.remove('stdout.txt')\nos.symlink('/etc/passwd', 'stdout.txt')\nos.symlink('/', 'root_link')\nassert False\n",
        validates: false,
    },
    Attack {
        name: "zombies",
        code: "import os",
        test: "for _ in range(50):\n    if os.fork() == 0:\n        os._exit(0)\nassert False, 'never reaped'\n",
        validates: false,
    },
];

/// A pattern of the suite: `tests` are its snippets (each run after the code).
fn leak_pattern(name: &str, tests: &[&str]) -> String {
    pattern_with(name, "LEAK = 1", tests)
}

fn pattern_with(name: &str, code: &str, tests: &[&str]) -> String {
    let block = |s: &str, pad: &str| s.lines().map(|l| format!("{pad}{l}\n")).collect::<String>();
    let snippets: String = tests.iter().map(|t| format!("    - |\n{}", block(t, "      "))).collect();
    format!(
        "plse_version: \"3\"\npattern_id: attack.{name}\nmetadata:\n  author: tests\n  description: hostile\n  tags: [attack]\n  pedagogy: {{concept: containment, difficulty: expert}}\ninstruction: \"Attack {{{{ n }}}}.\"\ncapabilities: [network, subprocess, environment, filesystem, signals, detach, native, dynamic-code, namespaces]\nparameters:\n  n: {{type: int, description: n, default: 1, constraints: {{min: 1, max: 3}}}}\nvalidation:\n  linter_checks: false\n  unit_test_snippets:\n{snippets}template: |\n{}  # {{{{ n }}}}\n",
        block(code, "  "),
    )
}

/// A paired pattern whose flawed side leaves a patch behind that its fixed side's first test
/// needs (see `run_attacks`).
const LEAK_ACROSS_SIDES: &str = r#"plse_version: "3"
pattern_id: attack.leak_across_sides
metadata:
  author: tests
  description: hostile
  tags: [attack]
  pedagogy: {concept: containment, difficulty: expert}
instruction: "Attack {{ n }}."
capabilities: [network, subprocess, environment, filesystem, signals, detach, native, dynamic-code, namespaces]
parameters:
  is_anti_pattern: {type: bool, description: side, default: false}
  n: {type: int, description: n, default: 1, constraints: {min: 1, max: 3}}
validation:
  linter_checks: false
  unit_test_snippets:
    - |
      import json
      {% if is_anti_pattern %}json.dumps = lambda *a, **k: 'patched'{% else %}assert json.dumps([1]) == 'patched'{% endif %}
    - |
      assert SIDE == {{ "'flawed'" if is_anti_pattern else "'fixed'" }}
template: |
  SIDE = {{ "'flawed'" if is_anti_pattern else "'fixed'" }}
  # {{ n }}
"#;

fn pattern(a: &Attack, port: u16, marker: &str, secret: &str) -> String {
    // The host's UNIX socket lives beside the secret file.
    let socket = Path::new(secret).with_file_name("agent.sock");
    let code = a
        .code
        .replace("{{ port }}", &port.to_string())
        .replace("{{ marker }}", marker)
        .replace("{{ secret }}", secret)
        .replace("{{ socket }}", socket.to_str().unwrap());
    pattern_with(a.name, &code, &[a.test])
}

/// Processes of the sandbox uids a plse-batch process with this pid runs its workers as (its
/// block of 64 uids; other plse-batch processes on the machine use other blocks).
fn sandbox_uids_alive(pid: u32) -> Vec<String> {
    let block = 61_000 + (pid % 60) * 64;
    let out = Command::new("ps").args(["-eo", "uid=,pid=,comm="]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().next().and_then(|u| u.parse::<u32>().ok()).is_some_and(|u| (block..block + 64).contains(&u)))
        .map(str::to_owned)
        .collect()
}

/// Sandbox runs of this binary one at a time: each uses both cores, and the attacks' 3 s
/// limits are meant for one run, not three at once.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An unprivileged uid for test `k` of this process: no account has it (none is needed), so
/// every process of it after a run is a survivor of that run.
fn test_uid(k: u32) -> u32 {
    57_000 + k * 1_000 + std::process::id() % 1_000
}

/// The venv an unprivileged user runs with: root's, which is world-readable.
fn shared_venv() -> std::ffi::OsString {
    std::env::var_os("PLSE_VENV").unwrap_or_else(|| "/opt/plse/venv".into())
}

/// A temporary directory owned by `uid` (mode 0700): its HOME, its output.
fn dir_of(uid: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(uid), Some(uid)).unwrap();
    dir
}

/// `plse-batch ARGS` as the unprivileged `uid` (no supplementary groups), with HOME in a
/// directory of its own and root's venv, from that directory.
fn as_user(uid: u32, home: &Path, args: &[&str]) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(env!("CARGO_BIN_EXE_plse-batch"));
    c.args(args).arg("--venv").arg(shared_venv()).env("HOME", home).env_remove("XDG_CACHE_HOME").env("NO_COLOR", "1").current_dir(home);
    c.uid(uid).gid(uid);
    c
}

/// Where the kernel (or a container's seccomp profile) forbids user namespaces, a user without
/// root gets no sandbox: `lint --exec` refuses to run pattern code, says what is in the way and
/// how to go on. The refusal is produced for real: the binary runs under a seccomp filter that
/// fails `unshare` with EPERM (as Docker's default profile does), as an unprivileged uid.
#[test]
fn without_user_namespaces_the_sandbox_is_refused() {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let _serial = serial();
    let uid = test_uid(2);
    let home = if is_root() { dir_of(uid) } else { tempfile::tempdir().unwrap() };
    let lib = home.path().join("patterns");
    std::fs::create_dir(&lib).unwrap();
    let file = lib.join("network.yaml");
    std::fs::write(&file, pattern(&ATTACKS[0], 9, "/nonexistent", "/nonexistent")).unwrap();
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let args = ["lint", "--exec", "--seeds", "1", "--patterns", lib.to_str().unwrap()];
    let mut c = if is_root() {
        as_user(uid, home.path(), &args)
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_plse-batch"));
        c.args(args).arg("--venv").arg(shared_venv()).env("NO_COLOR", "1").current_dir(home.path());
        c
    };
    let arch = std::env::consts::ARCH.try_into().unwrap();
    let rules = BTreeMap::from([(nix::libc::SYS_unshare, Vec::new())]);
    let filter: seccompiler::BpfProgram = seccompiler::SeccompFilter::new(
        rules,
        seccompiler::SeccompAction::Allow,
        seccompiler::SeccompAction::Errno(nix::libc::EPERM as u32),
        arch,
    )
    .unwrap()
    .try_into()
    .unwrap();
    // SAFETY: between fork and exec, only prctl and the seccomp syscall on a prepared program.
    #[allow(unsafe_code)]
    unsafe {
        c.pre_exec(move || {
            nix::sys::prctl::set_no_new_privs()?;
            seccompiler::apply_filter(&filter).map_err(|e| std::io::Error::other(e.to_string()))
        });
    }
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for want in [
        "the sandbox cannot be built without root",
        "step `unshare-user`",
        "seccomp profile",
        "user.max_user_namespaces=",
        "--unsafe-no-sandbox",
    ] {
        assert!(stderr.contains(want), "no {want:?} in:\n{stderr}");
    }
}

/// Who runs the attack suite.
#[derive(Clone, Copy)]
enum Runner {
    /// Root: the sandbox with per-slot uids.
    Root,
    /// An unprivileged uid (started by root): the rootless sandbox.
    User(u32),
}

/// The attack suite needs the sandbox, so root. A plain `cargo test` reports it as ignored;
/// `cargo xtask ci` (as root) runs it with `--include-ignored`, and run so without root it
/// fails: a suite that could not run is never a pass.
#[test]
#[ignore = "needs root (the sandbox builds namespaces): run as root with --include-ignored, as `cargo xtask ci` does"]
fn attacks_are_contained() {
    assert!(is_root(), "the attack suite needs root (the sandbox builds namespaces) and did not run: run it as root");
    run_attacks(Runner::Root);
}

/// The same suite and host checks in the rootless sandbox: `plse-batch` runs as an unprivileged
/// uid (with a HOME of its own and root's world-readable venv). The secret file is that uid's
/// own (DAC lets it read it: only the sandbox stops the sample); no process of the uid may
/// survive the run.
#[test]
#[ignore = "needs root to run the binary as an unprivileged uid: run as root with --include-ignored, as `cargo xtask ci` does"]
fn attacks_are_contained_without_root() {
    assert!(is_root(), "the rootless attack suite needs root to switch to an unprivileged uid and did not run: run it as root");
    run_attacks(Runner::User(test_uid(0)));
}

/// Children are shared across the samples a thread validates in a row, so what one sample's
/// run leaves must not reach the next sample either. Each pair of `LEAKS` becomes two patterns
/// validated one after the other on one thread (`--jobs 1`, file order): the first leaves
/// something and validates, the second passes only if it sees it and must be refused. And the
/// sharing being tested really happens: on the many-pattern mix, far fewer children than
/// samples are forked, every sample validates, and `--one-child-per-sample` forks one or more
/// per sample.
#[test]
#[ignore = "needs root (the sandbox builds namespaces): run as root with --include-ignored, as `cargo xtask ci` does"]
fn leaks_never_reach_the_next_sample() {
    assert!(is_root(), "the sandbox needs root and this test did not run: run it as root");
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("patterns");
    std::fs::create_dir(&lib).unwrap();
    for (k, (name, leaves, sees)) in LEAKS.iter().enumerate() {
        std::fs::write(lib.join(format!("{k:02}_1_{name}.yaml")), leak_pattern(&format!("{name}_leaves"), &[leaves])).unwrap();
        std::fs::write(lib.join(format!("{k:02}_2_{name}.yaml")), leak_pattern(&format!("{name}_sees"), &[sees])).unwrap();
    }
    let args = ["lint", "--exec", "--seeds", "1", "--jobs", "1", "--timeout", "3", "--patterns", lib.to_str().unwrap()];
    let out = Command::new(env!("CARGO_BIN_EXE_plse-batch")).args(args).current_dir(root()).env("NO_COLOR", "1").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let header: Vec<&str> = stdout.lines().find(|l| l.starts_with("STATUS")).expect("the table").split_whitespace().collect();
    let col = header.iter().position(|h| *h == "VALIDATED").expect("a VALIDATED column");
    let validated = |id: &str| {
        stdout.lines().find(|l| l.contains(&format!("attack.{id} "))).and_then(|l| l.split_whitespace().nth(col)).map(str::to_owned)
    };
    let wrong: Vec<String> = LEAKS
        .iter()
        .flat_map(|(name, _, _)| [(format!("{name}_leaves"), "1/1"), (format!("{name}_sees"), "0/1")])
        .filter(|(id, want)| validated(id).as_deref() != Some(*want))
        .map(|(id, want)| format!("{id}: expected {want}, got {:?}", validated(&id)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    let mix = |extra: &[&str]| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_plse-bench"))
            .args(["validate", "--samples", "63"])
            .args(extra)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (shared, apart) = (mix(&[]), mix(&["--one-child-per-sample"]));
    for v in [&shared, &apart] {
        assert_eq!(v["ok"], 63, "every sample of the mix validates: {v}");
    }
    let children = |v: &serde_json::Value| v["children_per_sample"].as_f64().unwrap();
    assert!(children(&shared) < 0.5, "samples in a row share children: {shared}");
    assert!(children(&apart) >= 1.0, "--one-child-per-sample forks a child per sample or more: {apart}");
}

/// A `generate` run as an unprivileged uid in the rootless sandbox: 20 rows of the library's
/// core patterns, written with their release; nothing of the uid left running.
#[test]
#[ignore = "needs root to run the binary as an unprivileged uid: run as root with --include-ignored, as `cargo xtask ci` does"]
fn generate_runs_without_root() {
    assert!(is_root(), "needs root to switch to an unprivileged uid, and did not run: run it as root");
    let _serial = serial();
    let uid = test_uid(1);
    let home = dir_of(uid);
    let out_dir = home.path().join("run");
    let patterns = root().join("patterns");
    let args = ["generate", "-n", "20", "--tiers", "core", "--out", out_dir.to_str().unwrap(), "--patterns", patterns.to_str().unwrap()];
    // Scratch mount points a killed run left (pids that cannot exist: above pid_max): the
    // uid's empty one is swept at start-up; a non-empty one and another user's are not.
    let tmp = std::env::temp_dir();
    let stale = tmp.join("plse-sandbox-999999999-0-stale");
    let full = tmp.join("plse-sandbox-999999998-0-full");
    let other = tmp.join("plse-sandbox-999999997-0-root");
    for d in [&stale, &full, &other] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(full.join("keep"), "x").unwrap();
    for d in [&stale, &full] {
        std::os::unix::fs::chown(d, Some(uid), Some(uid)).unwrap();
    }
    let out = as_user(uid, home.path(), &args).output().unwrap();
    let swept = (stale.exists(), full.exists(), other.exists());
    for d in [&stale, &full, &other] {
        let _ = std::fs::remove_dir_all(d);
    }
    assert_eq!(swept, (false, true, true), "(stale, non-empty, another user's) left in place after the run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("unsafe-no-sandbox"), "{stderr}");
    let rows = std::fs::read_to_string(out_dir.join("training_dataset.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 20, "{stderr}");
    assert!(out_dir.join("release/manifest.json").exists(), "{stderr}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(processes_of(uid).is_empty(), "processes survived: {:?}", processes_of(uid));
}

/// Every process of `uid` (`ps`), zombies included.
fn processes_of(uid: u32) -> Vec<String> {
    let out = Command::new("ps").args(["-eo", "uid=,pid=,comm="]).output().unwrap();
    let uid = uid.to_string();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.split_whitespace().next() == Some(uid.as_str())).map(str::to_owned).collect()
}

fn run_attacks(runner: Runner) {
    use std::os::unix::fs::PermissionsExt;
    let _serial = serial();
    let dir = match runner {
        Runner::Root => tempfile::tempdir().unwrap(),
        Runner::User(uid) => dir_of(uid),
    };
    let lib = dir.path().join("patterns");
    std::fs::create_dir(&lib).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let label = match runner {
        Runner::Root => "root",
        Runner::User(_) => "user",
    };
    let marker = format!("/tmp/plse-attack-{}-{label}", std::process::id());
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET").unwrap();
    for a in ATTACKS {
        std::fs::write(lib.join(format!("{}.yaml", a.name)), pattern(a, port, &marker, secret.to_str().unwrap())).unwrap();
    }
    for (name, first, second) in LEAKS {
        std::fs::write(lib.join(format!("{name}.yaml")), leak_pattern(name, &[first, second])).unwrap();
    }
    // Across a sample's requests too: the flawed side's first test patches json.dumps, the
    // fixed side's first test passes only if it sees the patch (its second test fails on the
    // flawed code, so the defect is shown either way).
    std::fs::write(lib.join("leak_across_sides.yaml"), LEAK_ACROSS_SIDES).unwrap();
    // Verdicts cannot be forged for a later run of a shared child either: a thread of the
    // first run writes PASS lines everywhere while the second fails.
    let forger = "import os, threading, time\ndef spam():\n    while True:\n        for fd in range(0, 64):\n            try:\n                os.write(fd, b'deadbeef PASS 1 1 0.1 1\\n')\n            except OSError:\n                pass\n        time.sleep(0.01)\nthreading.Thread(target=spam, daemon=True).start()\ntime.sleep(0.05)\n";
    std::fs::write(lib.join("forged_later_verdict.yaml"), leak_pattern("forged_later_verdict", &[forger, "assert False\n"])).unwrap();
    // A listening UNIX socket of the runner (in its own 0700 directory, mode 0600).
    let agent = std::os::unix::net::UnixListener::bind(dir.path().join("agent.sock")).unwrap();
    agent.set_nonblocking(true).unwrap();
    std::fs::set_permissions(dir.path().join("agent.sock"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let args = ["lint", "--exec", "--seeds", "1", "--timeout", "3", "--memory-mb", "1024", "--patterns", lib.to_str().unwrap()];
    let mut cmd = match runner {
        Runner::Root => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_plse-batch"));
            c.args(args).current_dir(root()).env("NO_COLOR", "1");
            c
        }
        Runner::User(uid) => {
            // The user's own secret: DAC lets it read it, only the sandbox keeps it from samples.
            std::os::unix::fs::chown(&secret, Some(uid), Some(uid)).unwrap();
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::os::unix::fs::chown(dir.path().join("agent.sock"), Some(uid), Some(uid)).unwrap();
            as_user(uid, dir.path(), &args)
        }
    };
    // Another process of the runner's uid, outside the sandbox: `kill -1` in a sample must not
    // reach it. (As root, the sandbox's uids differ from root's anyway.)
    let mut canary = match runner {
        Runner::Root => None,
        Runner::User(uid) => {
            use std::os::unix::process::CommandExt;
            Some(Command::new("sleep").arg("600").uid(uid).gid(uid).spawn().unwrap())
        }
    };
    let start = Instant::now();
    let child =
        cmd.env("PLSE_TEST_SECRET", "hunter2").stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();

    // Every attack's row: contained ones validate (1/1), refused ones do not (0/1). (The
    // patterns declare every capability: the security stage would otherwise reject them before
    // the sandbox is put to the test.)
    let header: Vec<&str> = stdout.lines().find(|l| l.starts_with("STATUS")).expect("the table").split_whitespace().collect();
    let col = header.iter().position(|h| *h == "VALIDATED").expect("a VALIDATED column");
    for a in ATTACKS {
        let row = stdout
            .lines()
            .find(|l| l.contains(&format!("attack.{} ", a.name)))
            .unwrap_or_else(|| panic!("no row for {}:\n{stdout}\n{stderr}", a.name));
        let want = if a.validates { "1/1" } else { "0/1" };
        assert_eq!(row.split_whitespace().nth(col), Some(want), "{}: expected {want}\n{row}\n{stderr}", a.name);
    }
    // What a run leaves behind never reaches the sample's next run (a run that passes only by
    // seeing it fails), and a verdict of a later run cannot be forged by an earlier one.
    let wrong: Vec<String> = LEAKS
        .iter()
        .map(|(n, _, _)| *n)
        .chain(["forged_later_verdict", "leak_across_sides"])
        .map(|n| (n, "0/1"))
        .filter_map(|(name, want)| {
            let row = stdout.lines().find(|l| l.contains(&format!("attack.{name} ")))?;
            (row.split_whitespace().nth(col) != Some(want)).then(|| format!("{name}: expected {want}: {row}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}\n{stdout}\n{stderr}");
    // The run ends in bounded time (each run is limited to 3 s wall clock).
    assert!(elapsed < Duration::from_secs(240), "{elapsed:?}");
    // Nothing written outside scratch, no connection made, nothing left running.
    std::thread::sleep(Duration::from_secs(4)); // longer than the escaped daemon's sleep
    for suffix in ["", "-2", "-daemon"] {
        assert!(!Path::new(&format!("{marker}{suffix}")).exists(), "file {marker}{suffix} written outside the sandbox");
    }
    let shm = format!("/dev/shm/{}-shm", marker.rsplit('/').next().unwrap());
    assert!(!Path::new(&shm).exists(), "the sandbox's /dev/shm is the host's: {shm} appeared");
    let mut buf = [0u8; 1];
    assert!(listener.accept().map(|(mut s, _)| s.read(&mut buf)).is_err(), "a sample connected to the host");
    assert!(agent.accept().is_err(), "a sample connected to the runner's UNIX socket");
    if let Some(c) = canary.as_mut() {
        assert!(c.try_wait().unwrap().is_none(), "a sample killed a process of its user outside the sandbox");
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let alive = match runner {
        Runner::Root => sandbox_uids_alive(pid),
        Runner::User(uid) => processes_of(uid),
    };
    assert!(alive.is_empty(), "processes survived: {alive:?}");
    assert!(
        !stdout.contains("TOP SECRET") && !stderr.contains("TOP SECRET") && !stderr.contains("root:x:0:0"),
        "secret leaked into the report"
    );
}
