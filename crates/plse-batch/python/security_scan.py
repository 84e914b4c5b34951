"""PLSE security scan: what sample code does that its pattern must declare.

Runs in the sandbox worker on the sample's source, before any of it executes: it parses with
CPython's own ``ast`` (nothing is imported or run) and reports, per finding, the capability the
code needs. The host compares them with the pattern's ``capabilities`` and rejects undeclared
use. ruff's ``S`` rules cover eval/exec, shell and process calls, ``urlopen``, binding all
interfaces and hard-coded temp paths; this scan adds what they miss: network modules and
connections, environment access, paths outside the sample's directory, signals to other
processes, leaving the session, ctypes/cffi, namespaces, computed imports, forks.

It is a static heuristic for keeping a dataset clean; containment is the sandbox's job.
"""

import ast

NETWORK_MODULES = {
    "socket", "ssl", "socketserver", "http.client", "http.server", "urllib.request", "urllib3", "requests",
    "httpx", "aiohttp", "ftplib", "smtplib", "poplib", "imaplib", "nntplib", "telnetlib", "xmlrpc.client",
    "xmlrpc.server", "websockets", "websocket", "uvicorn", "paramiko", "asyncssh", "grpc", "zmq",
}
PROCESS_MODULES = {"subprocess", "pty"}
NATIVE_MODULES = {"ctypes", "_ctypes", "cffi"}

NETWORK_CALLS = {
    "asyncio.open_connection", "asyncio.start_server", "asyncio.open_unix_connection", "asyncio.start_unix_server",
}
NETWORK_METHODS = {"create_connection", "create_server", "create_datagram_endpoint", "create_unix_connection", "create_unix_server", "sock_connect"}
PROCESS_CALLS = {
    "os.fork", "os.forkpty", "os.posix_spawn", "os.posix_spawnp", "os.startfile", "pty.spawn", "pty.fork",
    "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell",
}
PROCESS_PREFIXES = ("os.exec", "os.spawn")
ENV_CALLS = {"os.getenv", "os.getenvb", "os.putenv", "os.unsetenv"}
ENV_NAMES = {"os.environ", "os.environb"}
SIGNAL_CALLS = {"os.kill", "os.killpg", "signal.pthread_kill", "signal.pidfd_send_signal", "os.pidfd_open"}
DETACH_CALLS = {"os.setsid", "os.setpgrp", "os.setpgid", "os.daemon"}
DETACH_KEYWORDS = {"start_new_session", "process_group"}
NAMESPACE_CALLS = {"os.unshare", "os.setns", "os.chroot", "os.pivot_root"}
DYNAMIC_CALLS = {"__import__", "importlib.import_module", "importlib.__import__", "runpy.run_path", "runpy.run_module"}
HOME_CALLS = {"os.path.expanduser", "pathlib.Path.home", "pathlib.Path.expanduser", "Path.home"}
# Absolute paths of data a sample has no business with: its own files live in its working
# directory. (Programs and libraries under /usr, /bin and /lib are not data: a subprocess lesson
# may name `/usr/bin/env`.)
SENSITIVE_ROOTS = ("/etc", "/proc", "/sys", "/root", "/home", "/dev", "/var", "/boot", "/run", "/srv", "/mnt", "/media", "/opt", "/tmp")
HARMLESS_PATHS = {"/dev/null", "/dev/stdin", "/dev/stdout", "/dev/stderr"}


class Scanner(ast.NodeVisitor):
    def __init__(self):
        self.aliases = {}
        self.findings = []

    # ast.NodeVisitor's traversal (the same nodes in the same order, so the same findings)
    # without building a method name per node and a generator per node's fields: the scan runs
    # for every side of every sample.
    _methods = {}

    def visit(self, node):
        cls = node.__class__
        method = Scanner._methods.get(cls)
        if method is None:
            method = Scanner._methods[cls] = getattr(Scanner, "visit_" + cls.__name__, Scanner.generic_visit)
        return method(self, node)

    def generic_visit(self, node):
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def report(self, node, code, capability, message):
        self.findings.append({"code": code, "capability": capability, "message": message, "line": getattr(node, "lineno", 0), "column": getattr(node, "col_offset", -1) + 1})

    # Names: `import os as o`, `from os import environ` -> qualified names.
    def qualified(self, node):
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def check_module(self, node, module):
        top = module.split(".")[0]
        for name in (module, top):
            if name in NETWORK_MODULES:
                self.report(node, "SEC001", "network", f"imports `{module}` (network access)")
                return
            if name in PROCESS_MODULES:
                self.report(node, "SEC010", "subprocess", f"imports `{module}` (starts other programs)")
                return
            if name in NATIVE_MODULES:
                self.report(node, "SEC060", "native", f"imports `{module}` (foreign function calls)")
                return

    def visit_Import(self, node):
        for a in node.names:
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                top = a.name.split(".")[0]
                self.aliases[top] = top
            self.check_module(node, a.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level == 0:
            self.check_module(node, module)
            for a in node.names:
                full = f"{module}.{a.name}"
                self.aliases[a.asname or a.name] = full
                if full in NETWORK_MODULES or full in PROCESS_MODULES:
                    self.check_module(node, full)
                self.check_name(node, full)
        self.generic_visit(node)

    def check_name(self, node, name):
        if name in ENV_NAMES or name in ENV_CALLS:
            self.report(node, "SEC020", "environment", f"uses `{name}` (environment variables)")
            return True
        return False

    def visit_Attribute(self, node):
        name = self.qualified(node)
        if name and self.check_name(node, name):
            return
        self.generic_visit(node)

    def visit_Call(self, node):
        name = self.qualified(node.func) or ""
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if name in NETWORK_CALLS or method in NETWORK_METHODS:
            self.report(node, "SEC002", "network", f"calls `{name or method}` (opens a connection)")
        elif name in PROCESS_CALLS or name.startswith(PROCESS_PREFIXES):
            self.report(node, "SEC011", "subprocess", f"calls `{name}` (starts a process)")
        elif name in SIGNAL_CALLS and not self.signals_itself(node):
            self.report(node, "SEC040", "signals", f"calls `{name}` (signals another process)")
        elif name in DETACH_CALLS:
            self.report(node, "SEC050", "detach", f"calls `{name}` (leaves the process group or session)")
        elif name in NAMESPACE_CALLS:
            self.report(node, "SEC080", "namespaces", f"calls `{name}` (namespaces or root changes)")
        elif name in DYNAMIC_CALLS and not (name == "importlib.import_module" and self.constant_arg(node)):
            self.report(node, "SEC070", "dynamic-code", f"calls `{name}` with a computed module (hides what is imported)")
        elif name == "importlib.import_module" and self.constant_arg(node):
            self.check_module(node, self.constant_arg(node))
        elif name in HOME_CALLS or method == "expanduser":
            self.report(node, "SEC030", "filesystem", f"calls `{name}` (the home directory is outside the sample's files)")
        for kw in node.keywords:
            if kw.arg in DETACH_KEYWORDS and not (isinstance(kw.value, ast.Constant) and kw.value.value in (False, None)):
                self.report(kw.value, "SEC051", "detach", f"passes `{kw.arg}=` (the child leaves the session or process group)")
            if kw.arg == "preexec_fn":
                self.report(kw.value, "SEC052", "detach", "passes `preexec_fn=` (runs code in the child before exec)")
        self.generic_visit(node)

    def constant_arg(self, node):
        if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            return node.args[0].value
        return None

    def signals_itself(self, node):
        if not node.args:
            return False
        target = node.args[0]
        return isinstance(target, ast.Call) and self.qualified(target.func) in ("os.getpid", "threading.get_ident")

    def visit_Expr(self, node):
        # A docstring or bare string statement is prose, not a path anyone opens.
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return
        self.generic_visit(node)

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, str) and value.startswith(("/", "~")) and "\n" not in value and len(value) < 256:
            path = value.split()[0] if value.split() else value
            if path in HARMLESS_PATHS:
                return
            if path.startswith("~") or any(path == r or path.startswith(r + "/") for r in SENSITIVE_ROOTS):
                self.report(node, "SEC031", "filesystem", f"names the path `{path}` (outside the sample's own files)")


def scan(source, filename="sample.py"):
    """Findings of the code in `source`: a list of dicts with code, capability, message, line,
    column. A file that does not parse has none (the syntax stage reports it)."""
    try:
        tree = ast.parse(source, filename)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    scanner = Scanner()
    try:
        scanner.visit(tree)
    except RecursionError:
        scanner.findings.append({"code": "SEC099", "capability": "dynamic-code", "message": "code nested too deeply to scan", "line": 0, "column": 0})
    return scanner.findings
