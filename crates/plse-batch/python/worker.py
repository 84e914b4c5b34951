"""PLSE sandbox worker: runs inside the sandbox (own namespaces, unprivileged uid, Landlock,
seccomp) and executes untrusted sample code in forked children: a child per run, or one child
for consecutive Python runs of a request as long as each leaves nothing behind that the next
could see (`run_group`; what is checked is in run_state.py). A failure, crash or timeout is
always the verdict of a run that started in a fresh child.

Protocol: one JSON request per line on stdin, one JSON response per line on stdout. The first
line written is a hello. The worker is PID 1 of its PID namespace, so after each child it can
SIGKILL every other process in the namespace (escaped daemons included) and reap zombies.
"""

import _socket
import ctypes
import gc
import json
import math
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
import run_state  # noqa: E402
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


def child_setup(limits, keep_fd):
    """In a forked child, before any sample code: its own process group, the Landlock layer
    that stops it signalling the worker, limits, stdin from /dev/null, stdout and stderr to
    scratch files, and no descriptor but those and `keep_fd` (the verdict channel)."""
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
    child_streams(keep_fd)


def child_streams(keep_fd):
    """stdin from /dev/null, stdout and stderr to fresh scratch files, no descriptor but those
    and `keep_fd`: how every run starts (a run of a group too)."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    out = os.open("stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    err = os.open("stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.dup2(out, 1)
    os.dup2(err, 2)
    # Keep only stdio and the verdict channel: no protocol pipe, no other inherited fd.
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 65536)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    sys.stdin = open(os.devnull)


def child(run, limits, verdict_w, nonce):
    """In the forked child: limits, redirections, then the untrusted code."""
    child_setup(limits, verdict_w)
    if run["kind"] == "shell":
        env = {"PATH": limits["path"], "HOME": SCRATCH, "TMPDIR": SCRATCH, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        os.close(verdict_w)
        os.execve("/bin/sh", ["/bin/sh", "-c", run["command"]], env)
    verdict = os.fdopen(verdict_w, "w")
    outcome, tests_run, work_ms = run_python(run)
    if outcome != harness_core.PASS:
        sys.stderr.flush()
        os._exit(EXIT_CODES[outcome])
    sys.stdout.flush()
    sys.stderr.flush()
    verdict.write(f"{nonce} PASS {tests_run} {work_ms:.3f}\n")
    verdict.flush()
    os._exit(0)


def run_python(run, starting=None):
    """Runs a Python run's script in this process as a fresh `__main__`. Returns the harness's
    outcome, the tests that ran and the time the script itself took (compile, run, test cases:
    what the sample costs, as opposed to the fork, confinement and reporting around it)."""
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
    if starting is not None:
        starting()
    work_start = time.monotonic()
    outcome, tests_run = harness_core.run_script(source, path, module.__dict__)
    return outcome, tests_run, (time.monotonic() - work_start) * 1000


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


def wait_for(pid, verdict_r, deadline):
    """Reads the verdict pipe until the child exits or the deadline passes. Returns the bytes
    read (at most a little over 256: more is a forgery), the child's wait status (None when it
    has not exited) and whether the deadline passed. Grandchildren may hold the pipe open
    forever, so its EOF is not the end; the child's exit is (a pidfd, polled with the pipe:
    no busy waiting), and the deadline bounds both."""
    os.set_blocking(verdict_r, False)
    chunks, size = [], 0
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # a kernel without pidfds (< 5.3): poll the child's status instead
        pidfd = None
    poller = select.poll()
    poller.register(verdict_r, select.POLLIN)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    status = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                done, st = os.waitpid(pid, os.WNOHANG)
                if not done:
                    return chunks, None, True
                status = st
                break
            # Without a pidfd, wake up every 5 ms to look at the child.
            events = poller.poll(max(1, math.ceil(left * 1000)) if pidfd is not None else min(5, max(1, math.ceil(left * 1000))))
            for fd, _ in events:
                if fd == verdict_r:
                    try:
                        data = os.read(verdict_r, 256)
                    except BlockingIOError:
                        continue
                    if not data:
                        poller.unregister(verdict_r)  # EOF: only the child's exit is left to wait for
                        continue
                    chunks.append(data)
                    size += len(data)
                    if size > 256:
                        return chunks, None, False
            done, st = os.waitpid(pid, os.WNOHANG) if pidfd is None or any(fd == pidfd for fd, _ in events) else (0, 0)
            if done:
                status = st
                break
    finally:
        if pidfd is not None:
            os.close(pidfd)
    # The child is gone: what it wrote is in the pipe (unless it forged too much).
    while size <= 256:
        try:
            data = os.read(verdict_r, 256)
        except BlockingIOError:
            break
        if not data:
            break
        chunks.append(data)
        size += len(data)
    return chunks, status, False


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
    chunks, status, timed_out = wait_for(pid, verdict_r, start + timeout)
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
    return result(run, ok, exit_code, timed_out, duration, work_ms, tests_run)


def result(run, ok, exit_code, timed_out, duration, work_ms, tests_run):
    """A run's report, with what it printed (read back from scratch, capped)."""
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


# Set in main(): the worker's modules and the dicts a group child watches, and the state a
# group child's runs start from (None: runs are never grouped).
ZYGOTE = None
BASELINE = None
# Counts for the host's statistics, per request: children forked, runs made in a group child
# after its first, runs given back to a fresh child, and why groups ended early.
STATS = {}


def count_dirty(reason):
    """Counts a group that ended early, by why."""
    dirty = STATS.setdefault("dirty", {})
    dirty[reason] = dirty.get(reason, 0) + 1


def group_child(run, limits, chan, nonce):
    """In a forked child: Python runs one after the other, `run` first, then each the worker
    sends (a JSON line on `chan`), each in a fresh `__main__` with fresh streams. Each run's
    verdict is reported as it ends (a pass, or the exit code a lone child would have ended
    with), then whether the run left anything behind (run_state.Baseline.changes): if it did,
    the child ends; if not, it waits for the next run."""
    child_setup(limits, chan)
    if LIBC is not None:
        LIBC.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans of a run come back here
    baseline = BASELINE
    baseline.in_child()
    # Earlier runs' namespaces and streams stay referenced: a fresh child would never have
    # finalized them, so they are not finalized here either.
    kept = []
    me = os.getpid()
    pending = b""

    def send(text):
        os.write(chan, text.encode())

    k = 0
    while True:
        if k:
            while b"\n" not in pending:
                data = os.read(chan, 65536)
                if not data:
                    os._exit(0)
                pending += data
            line, pending = pending.split(b"\n", 1)
            run = json.loads(line)
            run_state.reset_for_next_run()
            child_streams(chan)
        outcome, tests_run, work_ms = run_python(run, baseline.run_starts)
        # As a lone child: stderr flushed either way, stdout only after a pass.
        if outcome == harness_core.PASS:
            sys.stdout.flush()
            sys.stderr.flush()
            send(f"{nonce} PASS {k} {tests_run} {work_ms:.3f} {me}\n")
        else:
            sys.stderr.flush()
            send(f"{nonce} FAIL {k} {EXIT_CODES[outcome]} {int(failure_is_own(limits))} {me}\n")
        # The verdict is in; what runs from here on (finalizers of the run's garbage) writes
        # nowhere the run's report is read from, and nothing the run opened stays open.
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        os.closerange(3, chan)
        os.closerange(chan + 1, 65536)
        kept.append((sys.modules.get("__main__"), sys.stdin, sys.stdout, sys.stderr))
        # The run's cyclic garbage is finalized now, not in the middle of the next run; what
        # it keeps moves out of the collector's way, as the worker's own objects are.
        gc.collect()
        gc.freeze()
        changes = baseline.changes()
        if changes:
            send(f"{nonce} DIRTY {k} {me} {','.join(c.replace(' ', '-') for c in changes)}\n")
            os._exit(0)
        send(f"{nonce} CLEAN {k} {me}\n")
        k += 1


def failure_is_own(limits):
    """Whether a failed run's verdict is the run's own even after earlier runs in this
    process: they left nothing behind (checked before it started), but they did use memory
    and CPU time. A MemoryError, or CPU time near the limit (SIGXCPU), may be theirs."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = used.ru_utime + used.ru_stime
    return "MemoryError" not in read_capped("stderr.txt") and cpu < int(limits.get("cpu_seconds", 10)) - 1


class Channel:
    """The worker's end of a group child's socket: its lines, its exit (a pidfd, polled with the
    socket), a deadline. At most 256 bytes per run: more is a forgery."""

    def __init__(self, pid, fd):
        self.pid, self.fd = pid, fd
        os.set_blocking(fd, False)
        self.buf = b""
        self.budget = 0
        self.status = None
        self.eof = False
        self.pidfd = os.pidfd_open(pid)
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN)
        self.poller.register(self.pidfd, select.POLLIN)

    def close(self):
        os.close(self.pidfd)
        os.close(self.fd)

    def write(self, data, deadline):
        """Writes all of `data` (the child reads it while it waits); False when the child
        stops reading before the deadline."""
        while data:
            try:
                n = os.write(self.fd, data)
            except BlockingIOError:
                n = 0
            except OSError:
                return False
            data = data[n:]
            if data:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                select.select([], [self.fd], [], left)
        return True

    def _read(self):
        while not self.eof:
            try:
                data = os.read(self.fd, 512)
            except BlockingIOError:
                return
            if not data:
                self.eof = True
                self.poller.unregister(self.fd)
                return
            self.buf += data
            self.budget += len(data)

    def _reap(self):
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if done:
            self.status = status
            self._read()
        return done

    def next(self, deadline):
        """("line", text), ("exit", wait status), ("timeout", None) or ("bad", None)."""
        while True:
            if self.budget > 256:
                return "bad", None
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                return "line", line.decode("utf-8", errors="replace")
            if self.status is not None:
                return "exit", self.status
            left = deadline - time.monotonic()
            if left <= 0:
                if self._reap():
                    continue
                return "timeout", None
            events = self.poller.poll(max(1, math.ceil(left * 1000)))
            for fd, _ in events:
                if fd == self.fd:
                    self._read()
            if any(fd == self.pidfd for fd, _ in events):
                self._reap()


# Runs a group child makes at most: it keeps every run's namespace (a fresh child would never
# finalize them), and its CPU time and memory add up toward its limits.
MAX_CHILD_RUNS = 64


class GroupChild:
    """A forked child that runs Python runs one after another (`group_child`), and the worker's
    view of it: its channel, how many runs it has made, the limits it was set up with. It may
    outlive a request to take the next one (`IDLE`): the same sample's next request, or the
    next sample's first when the host shares children across samples."""

    def __init__(self, pid, fd, nonce, limits):
        self.pid, self.channel, self.nonce, self.limits = pid, Channel(pid, fd), nonce, limits
        self.start = time.monotonic()
        self.runs = 0
        self.timeout = float(limits.get("timeout_seconds", 10))

    def end(self):
        """Kills it and everything it left; returns the wait statuses sweep collected."""
        swept = sweep(self.pid)
        self.channel.close()
        return swept

    def _line(self, deadline, *want):
        """The next line if it is one of `want` for the current run from this child (its words
        after the kind), else None (with what came instead)."""
        kind, value = self.channel.next(deadline)
        words = value.split() if kind == "line" else []
        if len(words) >= 4 and words[0] == self.nonce and words[1] in want and words[2] == str(self.runs):
            return words[1], words[3:], (kind, value)
        return None, [], (kind, value)

    def make(self, run, sent):
        """The result of `run` (sent to the child unless it is the run it was forked with), or
        None when a fresh child must make it. May end the child (`self.alive` False)."""
        if not sent:
            self.start = time.monotonic()
            if not self.channel.write((json.dumps(run) + "\n").encode(), self.start + self.timeout):
                return None
        self.channel.budget = 0
        what, words, (kind, value) = self._line(self.start + self.timeout, "PASS", "FAIL")
        first = self.runs == 0
        try:
            if what == "PASS" and len(words) == 3 and words[2] == str(self.pid):
                return result(run, True, 0, False, time.monotonic() - self.start, float(words[1]), int(words[0]))
            if what == "FAIL" and len(words) == 3 and words[2] == str(self.pid) and (first or words[1] == "1"):
                return result(run, False, int(words[0]), False, time.monotonic() - self.start, 0.0, 0)
        except ValueError:
            pass
        if not first or what == "FAIL":
            return None
        # No verdict from a fresh child: it crashed, hung, exited early or wrote something
        # else (a forgery): as a lone child's run, it failed.
        swept = self.end()
        self.alive = False
        status = value if kind == "exit" else swept.get(self.pid)
        exit_code = os.waitstatus_to_exitcode(status) if status is not None else None
        return result(run, False, exit_code, kind == "timeout", time.monotonic() - self.start, 0.0, 0)

    def settle(self):
        """Waits for whether the last run left the child clean: True if it may take another."""
        what, words, _ = self._line(time.monotonic() + self.timeout, "CLEAN", "DIRTY")
        if what == "DIRTY" and len(words) >= 1 and words[0] == str(self.pid):
            for reason in (words[1] if len(words) > 1 else "").split(","):
                count_dirty(reason)
        if what == "CLEAN" and words == [str(self.pid)]:
            self.runs += 1
            if self.runs < MAX_CHILD_RUNS:
                return True
            count_dirty("run-cap")
        return False

    alive = True


def fork_group(run, limits):
    """Forks a group child that makes `run` first. A plain function called where execute() is
    (not a class's constructor, whose C-level call counts against the recursion limit): a run
    sees the same depth of frames below it as in a lone child, so a sample measuring how deep
    it can recurse measures the same."""
    nonce = os.urandom(16).hex()
    ours, theirs = (s.detach() for s in _socket.socketpair())
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ours)
            group_child(run, limits, theirs, nonce)
        finally:
            os._exit(70)
    os.close(theirs)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    STATS["children"] = STATS.get("children", 0) + 1
    return GroupChild(pid, ours, nonce, limits)


def run_group(runs, limits, group, fresh, keep):
    """Makes Python `runs` in a group child: `group` (one a previous request left clean) or a
    new one. Returns the results of the leading runs whose verdict is the one a
    fresh child would give: a new child's first run, whatever it is; a later run's pass when
    every run before it in the child left nothing behind; and a later run's failure under the
    same condition unless it may come from what earlier runs used up (memory, CPU time). The
    caller makes the rest, the next one in a fresh child: a crash or timeout after a child's
    first run is always made again that way. `fresh`: `group` was just forked with runs[0].
    Also returns the child when `keep` and it is clean after the last run (the next request
    may continue in it), else None."""
    done = []
    for n, run in enumerate(runs):
        if group.runs:
            STATS["grouped"] = STATS.get("grouped", 0) + 1
        r = group.make(run, sent=fresh and n == 0)
        if r is None:
            STATS["again"] = STATS.get("again", 0) + 1
            break
        done.append(r)
        if not group.alive:
            break
        if (n < len(runs) - 1 or keep) and group.settle():
            continue
        break
    else:
        return done, group
    if group.alive:
        group.end()
    return done, None


# A group child a request left clean for the next request (`more`; taken if that one
# `continues`).
IDLE = None

# A run that measures the process itself (traced memory, allocated blocks, object counts, peak
# RSS, reference counts) would see what earlier runs of a child left in the allocator, its
# free lists and its high-water marks: it is always the first run of a child.
MEASURES_PROCESS = ("tracemalloc", "getallocatedblocks", "get_objects", "get_count", "get_stats", "getrefcount", "getrusage", "maxrss", "memory_info")


def measures_process(run):
    source = run.get("source") or ""
    return any(word in source for word in MEASURES_PROCESS)


def handle(request):
    global IDLE
    runs, limits = request.get("runs", []), request.get("limits", {})
    group = limits.get("group", True) and ZYGOTE is not None
    if IDLE is not None and not (group and request.get("continues") and IDLE.limits == limits):
        IDLE.end()
        IDLE = None
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
    STATS.clear()
    results = []
    while len(results) < len(runs):
        i = len(results)
        j = i
        while group and j < len(runs) and runs[j]["kind"] == "python" and (j == i or not measures_process(runs[j])):
            j += 1
        if IDLE is not None and j > i and measures_process(runs[i]):
            IDLE.end()
            IDLE = None
        keep = bool(request.get("more")) and j == len(runs)
        if j > i and (j - i >= 2 or IDLE is not None or keep):
            fresh = IDLE is None
            if fresh:
                IDLE = fork_group(runs[i], limits)
            done, IDLE = run_group(runs[i:j], limits, IDLE, fresh, keep)
            if done:
                results.extend(done)
                continue
        run = runs[i]
        if run["kind"] != "compile":
            # A lone child's run ends by killing every other process of the namespace.
            if IDLE is not None:
                IDLE.end()
                IDLE = None
            STATS["children"] = STATS.get("children", 0) + 1
        results.append(execute(run, limits))
    # Scratch is emptied when the next request starts (before its files are written).
    return {"id": request.get("id"), "runs": results, "cpu_ms": cpu_ms(), "stats": STATS}


def cpu_ms():
    """CPU time so far (user + system, ms): the worker's own, and that of its reaped children
    (the runs). Cumulative; the host sums the last values of its workers."""
    own, runs = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return [round((own.ru_utime + own.ru_stime) * 1000, 3), round((runs.ru_utime + runs.ru_stime) * 1000, 3)]


def main():
    global ZYGOTE, BASELINE
    preload = [m for m in sys.argv[1:] if m]
    # Samples read sys.argv as a script's arguments (`main(sys.argv[1:])`): they get none.
    del sys.argv[1:]
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
    gc.collect()
    run_state.watch_audit()
    zygote = run_state.Zygote()
    if zygote.usable and LIBC is not None and pidfds_work():
        ZYGOTE = zygote
        BASELINE = run_state.Baseline(zygote)
    gc.collect()
    gc.freeze()
    hello = {"ready": True, "python": sys.version.split()[0], "pid": os.getpid(), "uid": os.getuid(), "caps": capabilities(), "landlock_abi": LANDLOCK_ABI, "preloaded": loaded, "preload_errors": failed, "preload_skipped": skipped, "groups": ZYGOTE is not None}
    PROTOCOL_OUT.write(json.dumps(hello) + "\n")
    for line in sys.stdin:
        try:
            response = handle(json.loads(line))
        except Exception as e:
            response = {"error": f"{type(e).__name__}: {e}"}
        PROTOCOL_OUT.write(json.dumps(response) + "\n")


def pidfds_work():
    """Whether this kernel (>= 5.3) and the seccomp filter let the worker watch a child's exit
    through a pidfd, which a group child's channel needs."""
    try:
        os.close(os.pidfd_open(os.getpid()))
        return True
    except (AttributeError, OSError):
        return False


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
