"""What one run can leave behind for the next, so that several test snippets of a sample can
share one forked child (see worker.py, `group_child`) while each still sees what a fresh child
would see.

The worker takes a `Zygote` snapshot once, after it has imported its modules: the addresses of
the dicts of every module and class it holds. A group child takes a `Baseline` before its first
run; after each run that passed, `Baseline.changes()` lists what differs. Anything listed ends
the group: the next snippet starts in a fresh child. Checked:

- no other thread, no child process (the group child is a child subreaper, so orphans and
  double-forked daemons come back to it), no interval timer or alarm, no wakeup fd;
- the same signal dispositions and blocked mask, working directory, umask, environment,
  resource limits, priority, process group and session;
- no module imported that was not there before, none replaced, and the dict of every module
  and class the worker held unchanged (CPython's dict version tag, which every insertion,
  deletion or rebinding moves on): no monkeypatched function, class attribute or constant;
- the interpreter's hooks and settings (trace and profile functions, recursion limit, switch
  interval, sys.path, sys.meta_path, sys.argv, display/except hooks, gc switches and
  callbacks), warnings filters, locale, tracemalloc, faulthandler, the decimal contexts'
  templates, socket's default timeout, and logging's loggers (levels, handlers, filters, no
  new logger).

Reset rather than checked (a fresh child would have them fresh): `random`'s seed (as at fork),
the thread's decimal context, stdin/stdout/stderr and every file descriptor but the worker's
channel (closed, as exit would), unittest's classes (the harness restores them).

Seen through audit events (an audit hook the worker installs before it forks, armed while a
run executes; `watch_audit`): a new audit hook or open-code hook, C environment changes
(`os.putenv`, `os.unsetenv`, which `os.environ` alone would not show), and any use of `ctypes`
(native code can change anything unseen).

Not seen: in-place changes to objects that are neither module nor class dicts and not listed
above (say, a registry list inside a stdlib object, or `copyreg.pickle` for a built-in type).
Pattern tests do not do these things; a run that did could only influence later runs of its
child (at most `worker.MAX_CHILD_RUNS`, all of one batch on one thread), never the worker.
"""

import _locale
import _signal
import _thread
import _tracemalloc
import contextvars
import ctypes
import gc
import os
import resource
import signal
import struct
import sys

# CPython 3.11's PyDictObject: ob_refcnt, ob_type, ma_used, then ma_version_tag (PEP 509),
# which takes a new value from a global counter at every change of the dict. Checked at start
# (`Zygote.usable`): where this does not hold, snippets are not grouped.
_VERSION_TAG_OFFSET = 24
_U64 = ctypes.c_uint64


# Audit events after which a run's child is never reused (`changes` lists the first): state the
# other checks cannot see. Any `ctypes.` event counts as well.
_AUDIT_DIRTY = frozenset({"sys.addaudithook", "setopencodehook", "os.putenv", "os.unsetenv"})
# What the hook saw while armed (the events, in order), and whether it is armed: one-element
# lists the hook holds directly, so arming costs no dict writes.
_SEEN = []
_ARMED = []


def _audit_hook(event, args, _dirty=_AUDIT_DIRTY, _seen=_SEEN, _armed=_ARMED):
    if _armed and (event in _dirty or event.startswith("ctypes.")):
        _seen.append(event)


def watch_audit():
    """Installs the audit hook (once, in the worker: every child inherits it; it cannot be
    removed). Disarmed, it costs a membership test per event."""
    sys.addaudithook(_audit_hook)


def _tag(address):
    return _U64.from_address(address).value


class _Tags:
    """Reads the version tags of many dicts in one C call: a struct format that skips from one
    tag to the next over a view of the memory between the first and the last (only the dicts'
    own bytes are read). The dicts are kept alive, so the addresses stay theirs."""

    def __init__(self, dicts, names=None):
        self.dicts = list(dicts)
        names = names or [""] * len(self.dicts)
        by_address = {id(d) + _VERSION_TAG_OFFSET: n for d, n in zip(self.dicts, names)}
        addresses = sorted(by_address)
        # Whose tag each value read is (for saying what changed).
        self.names = [by_address[a] for a in addresses]
        dicts = {id(d) + _VERSION_TAG_OFFSET: d for d in self.dicts}
        self.dicts_in_order = [dicts[a] for a in addresses]
        self.count = len(addresses)
        if not addresses:
            self.view, self.format = b"", struct.Struct("")
            return
        start, parts, at = addresses[0], [], addresses[0]
        for a in addresses:
            if a > at:
                parts.append(f"{a - at}x")
            parts.append("Q")
            at = a + 8
        self.format = struct.Struct("=" + "".join(parts))
        self.view = memoryview((ctypes.c_char * (at - start)).from_address(start)).cast("B")

    def read(self):
        return self.format.unpack_from(self.view)


def _tags_work():
    """Whether dict version tags can be read here: a change moves the tag, a read does not, the
    field before it is the dict's length, and `_Tags` reads what `_tag` does."""
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11) or ctypes.sizeof(ctypes.c_void_p) != 8:
        return False
    try:
        d, other = {"a": 1}, {}
        address = id(d) + _VERSION_TAG_OFFSET
        before = _tag(address)
        _ = d["a"], len(d), list(d)
        same = _tag(address)
        d["a"] = 2
        after_set = _tag(address)
        del d["a"]
        after_del = _tag(address)
        used = ctypes.c_ssize_t.from_address(id(d) + 16).value
        tags = _Tags([d, other])
        first = tags.read()
        other["x"] = 1
        second = tags.read()
        return (
            before == same
            and after_set != same
            and after_del != after_set
            and used == len(d) == 0
            and after_del in first
            and sorted(first) != sorted(second)
            and after_del in second
        )
    except Exception:
        return False


class Zygote:
    """What the worker holds before any sample runs: its modules, and the dicts (module
    namespaces, class dicts, logging's loggers) whose version tags a group child compares."""

    def __init__(self):
        self.usable = _tags_work()
        self.modules = {name: m for name, m in sys.modules.items() if name != "__main__"}
        watched, names, seen = [], [], set()

        def watch(d, name):
            if id(d) not in seen:
                seen.add(id(d))
                watched.append(d)
                names.append(name)

        for name, m in self.modules.items():
            namespace = getattr(m, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            watch(namespace, name)
            for value in list(namespace.values()):
                if isinstance(value, type):
                    for cls in value.__mro__:
                        if cls is object:
                            continue
                        # The real dict behind the class's mappingproxy.
                        inner = gc.get_referents(cls.__dict__)
                        if inner and isinstance(inner[0], dict):
                            watch(inner[0], f"{getattr(cls, '__module__', '?')}.{cls.__qualname__}")
        # Instances logging keeps (its loggers) change through their attributes.
        logging = self.modules.get("logging")
        if logging is not None:
            for logger in [logging.root, *logging.Logger.manager.loggerDict.values()]:
                if isinstance(vars(logger), dict):
                    watch(vars(logger), f"logger {getattr(logger, 'name', '?')}")
        self.watched = _Tags(watched, names) if self.usable else _Tags([])
        # Their contents as they are, for a dict whose tag moved: a run that patched something
        # and put it back (unittest.mock.patch; catch_warnings, which reassigns
        # warnings.filters; the harness core restoring unittest's classes) leaves the same
        # objects in place. sys's streams are the worker's to set for each run.
        self.contents = {id(d): dict(d) for d in watched}
        self.skip = {id(vars(sys)): {"stdin", "stdout", "stderr"}}

    def tags(self):
        return self.watched.read()

    def same_contents(self, i):
        """Whether the `i`th watched dict (in tag order) holds the same objects under the same
        keys as when the worker started."""
        d = self.watched.dicts_in_order[i]
        saved = self.contents[id(d)]
        skip = self.skip.get(id(d), ())
        return d.keys() == saved.keys() and all(d[k] is v for k, v in saved.items() if k not in skip)


_SIGNALS = [int(s) for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]


def _signals():
    """Each signal's Python-level handler (the C function: signal.getsignal adds an enum
    lookup per call)."""
    return [_signal.getsignal(s) for s in _SIGNALS]


def _rlimits():
    return {name: resource.getrlimit(getattr(resource, name)) for name in dir(resource) if name.startswith("RLIMIT_")}


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _locales():
    cats = [getattr(_locale, c) for c in ("LC_CTYPE", "LC_COLLATE", "LC_TIME", "LC_MONETARY", "LC_NUMERIC", "LC_MESSAGES") if hasattr(_locale, c)]
    return [_locale.setlocale(c, None) for c in cats]


def _contexts(decimal):
    def ctx(c):
        return (c.prec, c.rounding, c.Emin, c.Emax, c.capitals, c.clamp, dict(c.flags), dict(c.traps))

    return [ctx(c) for c in (decimal.DefaultContext, decimal.BasicContext, decimal.ExtendedContext)]


def _loggers(logging):
    manager = logging.Logger.manager
    out = {"": (logging.root.level, list(logging.root.handlers), list(logging.root.filters), logging.root.disabled)}
    for name, logger in manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            out[name] = (logger.level, list(logger.handlers), list(logger.filters), logger.disabled, logger.propagate)
        else:
            out[name] = type(logger)
    return out, manager.disable, logging.lastResort, logging.raiseExceptions


def _context_vars():
    """The values of the context variables set in this thread's context, but decimal's (whose
    context is reset before every run)."""
    return {var: value for var, value in contextvars.copy_context().items() if var.name != "decimal_context"}


def _same_context(now, then):
    return now.keys() == then.keys() and all(now[v] is x for v, x in then.items())


def _same_list(a, b):
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class Baseline:
    """The state every run of a group child starts from, taken once in the worker (a child
    starts as the worker's copy), with what the child's own setup changes (its process group,
    its limits) read again in the child (`in_child`).

    Comparing touches as few of the worker's objects as possible: a read of an object in a
    forked child bumps its reference count, and the page it sits on is copied. Dicts are
    compared by version tag, and only a dict whose tag moved by content."""

    def __init__(self, zygote):
        self.zygote = zygote
        self.tags = zygote.tags()
        self.module_names = set(zygote.modules)
        self.signals = _signals()
        self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        self.cwd = os.getcwd()
        self.umask = _umask()
        # os.environ's own bytes mapping: comparing it decodes nothing.
        self.environ = dict(os.environ._data)
        self.priority = os.getpriority(os.PRIO_PROCESS, 0)
        self.sys = (
            sys.getrecursionlimit(),
            sys.getswitchinterval(),
            sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None,
            list(sys.path),
            list(sys.meta_path),
            list(sys.path_hooks),
            list(sys.argv),
        )
        self.gc = (gc.isenabled(), gc.get_threshold(), gc.get_debug(), list(gc.callbacks))
        self.locale = _locales()
        warnings = sys.modules.get("warnings")
        self.warnings = (list(warnings.filters), warnings.defaultaction, dict(warnings.onceregistry)) if warnings else None
        decimal = sys.modules.get("decimal")
        self.decimal = _contexts(decimal) if decimal else None
        socket = sys.modules.get("socket")
        self.socket_timeout = socket.getdefaulttimeout() if socket else None
        logging = sys.modules.get("logging")
        self.logging = _loggers(logging) if logging else None
        self.context = _context_vars()
        self.modules_tag = None
        self.rlimits = self.pgid = self.sid = None

    def in_child(self):
        """Reads what the child's setup changed: its process group and session, its limits,
        and the dicts' tags (the fork hooks of threading and others rebind module globals)."""
        self.tags = self.zygote.tags()
        self.rlimits = _rlimits()
        self.pgid, self.sid = os.getpgid(0), os.getsid(0)

    def run_starts(self):
        """Called as a run's script is about to execute, after the worker installed its
        `__main__`: from here on, any change to sys.modules is the run's."""
        self.modules_tag = _tag(id(sys.modules) + _VERSION_TAG_OFFSET)
        _SEEN.clear()
        _ARMED[:] = [True]

    def changes(self):
        """What differs from the baseline (empty: a later snippet may run in this process)."""
        found = []
        # The run's garbage has been finalized (its finalizers were armed too).
        del _ARMED[:]
        if _SEEN:
            found.append("audit " + _SEEN[0])

        def check(name, same):
            try:
                ok = same()
            except Exception:
                ok = False
            if not ok:
                found.append(name)

        check("threads", lambda: _thread._count() == 0)
        check("child processes", _no_children)
        check("timers", lambda: all(signal.getitimer(t) == (0.0, 0.0) for t in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)))
        check("wakeup fd", _no_wakeup_fd)
        check("signal handlers", lambda: _same_list(_signals(), self.signals))
        check("signal mask", lambda: signal.pthread_sigmask(signal.SIG_BLOCK, []) == self.mask)
        check("working directory", lambda: os.getcwd() == self.cwd)
        check("umask", lambda: _umask() == self.umask)
        check("environment", lambda: os.environ._data == self.environ)
        check("resource limits", lambda: _rlimits() == self.rlimits)
        check("priority", lambda: os.getpriority(os.PRIO_PROCESS, 0) == self.priority)
        check("session", lambda: (os.getpgid(0), os.getsid(0)) == (self.pgid, self.sid))
        if self.modules_tag is None or _tag(id(sys.modules) + _VERSION_TAG_OFFSET) != self.modules_tag:
            new = set(sys.modules) - {"__main__"} - self.module_names
            found.append("new module " + min(new) if new else "modules")
        tags = self.zygote.tags()
        if tags != self.tags:
            moved = [i for i, (a, b) in enumerate(zip(tags, self.tags)) if a != b and not self.zygote.same_contents(i)]
            if moved:
                found.append("dict of " + self.zygote.watched.names[moved[0]])
        check("sys", self._same_sys)
        check("gc", lambda: (gc.isenabled(), gc.get_threshold(), gc.get_debug()) == self.gc[:3] and _same_list(gc.callbacks, self.gc[3]))
        check("locale", lambda: _locales() == self.locale)
        check("tracemalloc", _not_tracing)
        check("faulthandler", lambda: not sys.modules["faulthandler"].is_enabled() if "faulthandler" in sys.modules else True)
        warnings = sys.modules.get("warnings")
        if self.warnings is not None:
            check(
                "warnings filters",
                lambda: warnings.filters == self.warnings[0] and warnings.defaultaction == self.warnings[1] and warnings.onceregistry == self.warnings[2],
            )
        if self.decimal is not None:
            check("decimal contexts", lambda: _contexts(sys.modules["decimal"]) == self.decimal)
        if "socket" in sys.modules:
            check("socket timeout", lambda: sys.modules["socket"].getdefaulttimeout() == self.socket_timeout)
        if self.logging is not None:
            check("logging", lambda: _loggers(sys.modules["logging"]) == self.logging)
        check("context variables", lambda: _same_context(_context_vars(), self.context))
        if "asyncio" in sys.modules:
            check("asyncio running loop", lambda: sys.modules["asyncio"].events._get_running_loop() is None)
        return found

    def _same_sys(self):
        limit, interval, digits, path, meta, hooks, argv = self.sys
        return (
            sys.getrecursionlimit() == limit
            and sys.getswitchinterval() == interval
            and (digits is None or sys.get_int_max_str_digits() == digits)
            and sys.path == path
            and _same_list(sys.meta_path, meta)
            and _same_list(sys.path_hooks, hooks)
            and sys.argv == argv
            and sys.gettrace() is None
            and sys.getprofile() is None
        )


def _no_children():
    """No child process, running or a zombie (which this reaps: the group ends anyway)."""
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _no_wakeup_fd():
    old = signal.set_wakeup_fd(-1)
    return old == -1


def _not_tracing():
    return not _tracemalloc.is_tracing()


def reset_for_next_run():
    """What a fresh child would have fresh, reset in place: random's state (reseeded from the
    OS, as its fork hook does) and the thread's decimal context (a copy of the template)."""
    random = sys.modules.get("random")
    if random is not None:
        random._inst.seed()
    decimal = sys.modules.get("decimal")
    if decimal is not None:
        decimal.setcontext(decimal.DefaultContext.copy())

