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
        test: "for p in [MARK, '/tmp/' + MARK.rsplit('/', 1)[-1] + '-2']:\n    try:\n        open(p, 'w').write('pwned')\n        raise SystemError('wrote ' + p)\n    except PermissionError:\n        pass\n    except FileNotFoundError:\n        pass\n# /dev/shm is the sandbox's own tmpfs (semaphores for multiprocessing): writable, private.\nopen('/dev/shm/' + MARK.rsplit('/', 1)[-1] + '-shm', 'w').write('private')\n",
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

fn pattern(a: &Attack, port: u16, marker: &str, secret: &str) -> String {
    let code = a.code.replace("{{ port }}", &port.to_string()).replace("{{ marker }}", marker).replace("{{ secret }}", secret);
    let block = |s: &str, pad: &str| s.lines().map(|l| format!("{pad}{l}\n")).collect::<String>();
    format!(
        "plse_version: \"3\"\npattern_id: attack.{}\nmetadata:\n  author: tests\n  description: hostile\n  tags: [attack]\n  pedagogy: {{concept: containment, difficulty: expert}}\ninstruction: \"Attack {{{{ n }}}}.\"\ncapabilities: [network, subprocess, environment, filesystem, signals, detach, native, dynamic-code, namespaces]\nparameters:\n  n: {{type: int, description: n, default: 1, constraints: {{min: 1, max: 3}}}}\nvalidation:\n  linter_checks: false\n  unit_test_snippets:\n    - |\n{}template: |\n{}  # {{{{ n }}}}\n",
        a.name,
        block(a.test, "      "),
        block(&code, "  "),
    )
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

/// Without root there are no namespaces: `lint --exec` refuses to run pattern code and says
/// what is missing and how to go on. As root, the binary runs as an unprivileged uid to show it.
#[test]
fn without_root_the_sandbox_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let lib = tempfile::tempdir().unwrap();
    std::fs::set_permissions(lib.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let network = &ATTACKS[0];
    let file = lib.path().join("network.yaml");
    std::fs::write(&file, pattern(network, 9, "/nonexistent", "/nonexistent")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_plse-batch"));
    c.args(["lint", "--exec", "--seeds", "1", "--patterns"]).arg(lib.path()).current_dir(lib.path()).env("NO_COLOR", "1");
    if is_root() {
        // The venv root's runs use (world-readable, as the sandbox uid reads it too).
        let venv = std::env::var_os("PLSE_VENV").unwrap_or_else(|| "/opt/plse/venv".into());
        c.arg("--venv").arg(venv).env("HOME", lib.path()).uid(65_534).gid(65_534);
    }
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the sandbox needs root") && stderr.contains("--unsafe-no-sandbox"), "{stderr}");
}

/// The attack suite needs the sandbox, so root. A plain `cargo test` reports it as ignored;
/// `cargo xtask ci` (as root) runs it with `--include-ignored`, and run so without root it
/// fails: a suite that could not run is never a pass.
#[test]
#[ignore = "needs root (the sandbox builds namespaces): run as root with --include-ignored, as `cargo xtask ci` does"]
fn attacks_are_contained() {
    assert!(is_root(), "the attack suite needs root (the sandbox builds namespaces) and did not run: run it as root");
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("patterns");
    std::fs::create_dir(&lib).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let marker = format!("/tmp/plse-attack-{}", std::process::id());
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET").unwrap();
    for a in ATTACKS {
        std::fs::write(lib.join(format!("{}.yaml", a.name)), pattern(a, port, &marker, secret.to_str().unwrap())).unwrap();
    }
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_plse-batch"))
        .args(["lint", "--exec", "--seeds", "1", "--timeout", "3", "--memory-mb", "1024", "--patterns"])
        .arg(&lib)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("PLSE_TEST_SECRET", "hunter2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
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
    // The run ends in bounded time (each run is limited to 3 s wall clock).
    assert!(elapsed < Duration::from_secs(240), "{elapsed:?}");
    // Nothing written outside scratch, no connection made, nothing left running.
    std::thread::sleep(Duration::from_secs(4)); // longer than the escaped daemon's sleep
    for suffix in ["", "-2", "-daemon"] {
        assert!(!Path::new(&format!("{marker}{suffix}")).exists(), "file {marker}{suffix} written outside the sandbox");
    }
    let shm = format!("/dev/shm/plse-attack-{}-shm", std::process::id());
    assert!(!Path::new(&shm).exists(), "the sandbox's /dev/shm is the host's: {shm} appeared");
    let mut buf = [0u8; 1];
    assert!(listener.accept().map(|(mut s, _)| s.read(&mut buf)).is_err(), "a sample connected to the host");
    assert!(sandbox_uids_alive(pid).is_empty(), "processes survived: {:?}", sandbox_uids_alive(pid));
    assert!(
        !stdout.contains("TOP SECRET") && !stderr.contains("TOP SECRET") && !stderr.contains("root:x:0:0"),
        "secret leaked into the report"
    );
}
