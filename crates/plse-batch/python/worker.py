"""PLSE sandbox worker: runs inside the sandbox (own namespaces, unprivileged uid, Landlock,
seccomp) and executes untrusted sample code, one forked child per run.

Protocol: one JSON request per line on stdin, one JSON response per line on stdout. The first
line written is a hello. The worker is PID 1 of its PID namespace, so after each run it can
SIGKILL every other process in the namespace (escaped daemons included) and reap zombies.
"""

import ctypes
import json
import os
import resource
import select
import signal
import sys
import time
import traceback
import types
import warnings

# Python runs isolated (-I): the directory of this script, which holds the scan module and
# the harness core (crates/plse-check/python/harness_core.py, shared with the browser), is not
# on sys.path by itself. Importing the harness core snapshots unittest before any sample runs.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness_core  # noqa: E402
import security_scan  # noqa: E402

SCRATCH = os.getcwd()
# The sandbox mounts a private tmpfs there (POSIX semaphores and shared memory of
# multiprocessing); outside the sandbox it is the host's and is left alone.
SHM = "/dev/shm" if os.getpid() == 1 else None
OUTPUT_CAP = 64 * 1024
PROTOCOL_OUT = os.fdopen(os.dup(1), "w", buffering=1)


try:
    LIBC = ctypes.CDLL(None, use_errno=True)
    LIBC.syscall.restype = ctypes.c_long
except OSError:
    LIBC = None


class LandlockAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


# Loaded once in the worker, inherited by every forked child (nothing to import per run).
SCOPE_ATTR = LandlockAttr(0, 0, 0x1 | 0x2)  # LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | _SIGNAL


def landlock_scope_signals():
    """Nested Landlock domain that stops this process signalling processes outside it (the
    worker). Kernel >= 6.12 (ABI 6); silently absent on older kernels: the PID namespace and
    the host's restart still contain a killed worker."""
    if LIBC is None or LANDLOCK_ABI < 6:
        return LANDLOCK_ABI
    fd = LIBC.syscall(444, ctypes.byref(SCOPE_ATTR), ctypes.sizeof(SCOPE_ATTR), 0)
    if fd < 0:
        return -1
    rc = LIBC.syscall(446, fd, 0)  # landlock_restrict_self
    os.close(fd)
    return LANDLOCK_ABI if rc == 0 else -1


def capabilities():
    """The effective and permitted capability sets, ORed (the host requires 0 in the sandbox);
    -1 when they cannot be read."""
    if LIBC is None:
        return -1
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}
    if LIBC.capget(header, data) != 0:
        return -1
    return data[0] | data[1] | data[3] << 32 | data[4] << 32


def read_capped(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return ""
    try:
        data = os.read(fd, OUTPUT_CAP + 1)
    finally:
        os.close(fd)
    text = data[:OUTPUT_CAP].decode("utf-8", errors="replace")
    return text + ("\n[output truncated]" if len(data) > OUTPUT_CAP else "")


def clean_scratch():
    for top in (SCRATCH, SHM):
        clean_dir(top)


def clean_dir(top):
    """Empties `top` (scratch, or the sandbox's private /dev/shm), so nothing of one run is
    left for the next."""
    if not top or not os.path.isdir(top):
        return
    for root, dirs, files in os.walk(top, topdown=False):
        for name in files:
            try:
                os.unlink(os.path.join(root, name))
            except OSError:
                pass
        for name in dirs:
            path = os.path.join(root, name)
            try:
                if os.path.islink(path):
                    os.unlink(path)
                else:
                    os.rmdir(path)
            except OSError:
                pass


def kill_rest(pgid):
    """SIGKILL what a run left behind. As PID 1 of its own PID namespace (the sandbox), the
    worker kills every other process of the namespace, escaped daemons included. Anywhere
    else (--unsafe-no-sandbox) kill(-1) would reach every process of the uid, so only the
    child's process group is killed."""
    try:
        if os.getpid() == 1:
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def sweep(pgid):
    """Kill what is left of a run and reap every child; returns exit statuses by pid."""
    kill_rest(pgid)
    statuses = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.001)
            kill_rest(pgid)
            continue
        statuses[pid] = status
    return statuses


def child(run, limits, verdict_w, nonce):
    """In the forked child: limits, redirections, then the untrusted code."""
    os.setpgid(0, 0)
    landlock_scope_signals()
    cpu = int(limits.get("cpu_seconds", 10))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = int(limits.get("memory_bytes", 0))
    if mem:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = int(limits.get("file_bytes", 16 * 1024 * 1024))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    out = os.open("stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    err = os.open("stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.dup2(out, 1)
    os.dup2(err, 2)
    # Keep only stdio and the verdict pipe: no protocol pipe, no other inherited fd.
    os.closerange(3, verdict_w)
    os.closerange(verdict_w + 1, 65536)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    sys.stdin = open(os.devnull)

    if run["kind"] == "shell":
        env = {"PATH": limits["path"], "HOME": SCRATCH, "TMPDIR": SCRATCH, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        os.close(verdict_w)
        os.execve("/bin/sh", ["/bin/sh", "-c", run["command"]], env)

    verdict = os.fdopen(verdict_w, "w")
    filename = run.get("filename", "test_sample.py")
    source = run["source"]
    # The script runs as a real `__main__` module written to a file: functions it defines can
    # be pickled by reference (multiprocessing, concurrent.futures), and tracebacks, `inspect`
    # and `linecache` see its source. (The child is a fork: the worker's own modules are untouched.)
    path = os.path.join(SCRATCH, filename)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
    except OSError:
        pass
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    # A sample that imports the harness core gets a copy of its own: patching it cannot reach
    # the functions judging this run.
    sys.modules.pop("harness_core", None)
    work_start = time.monotonic()
    outcome, tests_run = harness_core.run_script(source, path, module.__dict__)
    if outcome != harness_core.PASS:
        sys.stderr.flush()
        os._exit(EXIT_CODES[outcome])
    sys.stdout.flush()
    sys.stderr.flush()
    # The time the script itself took (compile, run, test cases): what the sample costs,
    # as opposed to the fork, confinement and reporting around it.
    work_ms = (time.monotonic() - work_start) * 1000
    verdict.write(f"{nonce} PASS {tests_run} {work_ms:.3f}\n")
    verdict.flush()
    os._exit(0)


# The child's exit status per harness outcome (the host reports it in a failed run).
EXIT_CODES = {harness_core.EXITED: 3, harness_core.RAISED: 1, harness_core.NO_TEST: 4}


def compile_only(run):
    """The syntax stage and the security scan: CPython parses and compiles, nothing runs, so
    no child is needed. A crash here kills only this sandboxed worker, which the host restarts."""
    start = time.monotonic()
    filename = run.get("filename", "sample.py")
    findings = []
    try:
        compile(run["source"], filename, "exec")
        ok, err = True, ""
        findings = security_scan.scan(run["source"], filename)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        ok, err = False, "".join(traceback.format_exception_only(type(e), e))
    return {"name": run.get("name", ""), "ok": ok, "exit_code": 0 if ok else 1, "timed_out": False, "duration_ms": round((time.monotonic() - start) * 1000, 3), "tests_run": 1 if ok else 0, "stdout": "", "stderr": err, "findings": findings}


def execute(run, limits):
    if run["kind"] == "compile":
        return compile_only(run)
    nonce = os.urandom(16).hex()
    verdict_r, verdict_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(verdict_r)
            child(run, limits, verdict_w, nonce)
        finally:
            os._exit(70)
    os.close(verdict_w)
    try:
        os.setpgid(pid, pid)  # also set by the child: whichever runs first wins the race
    except OSError:
        pass
    timeout = float(limits.get("timeout_seconds", 10))
    deadline = start + timeout
    chunks = []
    timed_out = False
    status = None
    # Poll the verdict pipe and the child together: grandchildren may hold the pipe open
    # forever, so EOF is not a reliable end; the child's exit is, and the deadline bounds both.
    os.set_blocking(verdict_r, False)
    eof = False
    while True:
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
        left = deadline - time.monotonic()
        if status is None and left <= 0:
            timed_out = True
            break
        if eof:
            # The pipe is closed but the child not yet reaped: it is exiting. A closed pipe is
            # always "ready", so polling it here would spin; sleep briefly instead.
            if status is not None:
                break
            time.sleep(0.0002)
            continue
        ready, _, _ = select.select([verdict_r], [], [], 0 if status is not None else min(left, 0.005))
        if ready:
            try:
                data = os.read(verdict_r, 256)
            except BlockingIOError:
                data = b""
            if data:
                chunks.append(data)
                if sum(map(len, chunks)) > 256:
                    break
                continue
            eof = True
            continue
        if status is not None:
            break
    swept = sweep(pid)
    if status is None:
        status = swept.get(pid)
    os.close(verdict_r)
    duration = time.monotonic() - start
    verdict = b"".join(chunks).decode("utf-8", errors="replace").strip()
    exit_code = os.waitstatus_to_exitcode(status) if status is not None else None
    if run["kind"] == "shell":
        ok = exit_code == 0 and not timed_out
        tests_run = 1 if ok else 0
        work_ms = 0.0
    else:
        parts = verdict.split()
        ok = not timed_out and exit_code == 0 and len(parts) == 4 and parts[0] == nonce and parts[1] == "PASS"
        try:
            tests_run, work_ms = (int(parts[2]), float(parts[3])) if ok else (0, 0.0)
        except ValueError:  # a forged verdict: the child wrote it, so it proves nothing
            ok, tests_run, work_ms = False, 0, 0.0
    return {
        "name": run.get("name", ""),
        "ok": ok,
        "exit_code": exit_code,
        "timed_out": timed_out,
        "duration_ms": round(duration * 1000, 3),
        "work_ms": work_ms,
        "tests_run": tests_run,
        "stdout": read_capped("stdout.txt"),
        "stderr": read_capped("stderr.txt"),
    }


def handle(request):
    clean_scratch()
    for name, content in request.get("files", {}).items():
        if os.path.isabs(name) or ".." in name.split("/"):
            raise ValueError(f"bad file name {name!r}")
        parent = os.path.dirname(name)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
    results = [execute(run, request.get("limits", {})) for run in request.get("runs", [])]
    clean_scratch()
    return {"id": request.get("id"), "runs": results}


def main():
    preload = [m for m in sys.argv[1:] if m]
    loaded, failed, skipped = [], {}, []
    for spec in preload:
        # `name?`: the family's heavy modules, imported when installed; `name`: required.
        module, optional = spec.rstrip("?"), spec.endswith("?")
        try:
            # Warnings raised while the family's own modules import (a library deprecating
            # another) are the environment's business, not a sample's: they would print on
            # every worker start.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                __import__(module)
            loaded.append(module)
        except Exception as e:  # a required one is reported to the host, which fails the pattern clearly
            if optional:
                skipped.append(module)
            else:
                failed[module] = f"{type(e).__name__}: {e}"
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # Everything loaded so far (the harness, preloaded modules) moves to the permanent GC
    # generation: a child's collections then never touch, and so never copy-on-write, the
    # worker's pages. Forking is most of a run's cost.
    import gc

    gc.collect()
    gc.freeze()
    hello = {"ready": True, "python": sys.version.split()[0], "pid": os.getpid(), "uid": os.getuid(), "caps": capabilities(), "landlock_abi": LANDLOCK_ABI, "preloaded": loaded, "preload_errors": failed, "preload_skipped": skipped}
    PROTOCOL_OUT.write(json.dumps(hello) + "\n")
    for line in sys.stdin:
        try:
            response = handle(json.loads(line))
        except Exception as e:
            response = {"error": f"{type(e).__name__}: {e}"}
        PROTOCOL_OUT.write(json.dumps(response) + "\n")


def landlock_probe():
    if LIBC is None:
        return -1
    return int(LIBC.syscall(444, None, 0, 1))  # landlock_create_ruleset(NULL, 0, VERSION)


LANDLOCK_ABI = landlock_probe()


if __name__ == "__main__":
    # Our own stdout is the protocol channel (duplicated above); nothing else may write to it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")
    main()
