"""PLSE harness core: how one sample script runs to its verdict. Shared by the sandbox worker
(crates/plse-batch/python/worker.py, in the forked child of each run) and the browser's Pyodide
worker (web/js/src/harness.py), so both judge a script the same way: the script runs as
`__main__`, the unittest.TestCase classes it defines are run (with unittest restored first,
so a sample cannot patch the verdict), `sys.exit` is a failure, and at least one test must run.

Importing this module takes the unittest snapshot: import it before any sample runs.
"""

import sys
import traceback
import unittest

_CLASSES = [unittest.TestCase, unittest.TestResult, unittest.TextTestResult, unittest.TextTestRunner, unittest.TestSuite, unittest.suite.BaseTestSuite, unittest.TestLoader]
# The unittest machinery as it is before any sample runs, so a sample that monkeypatches it
# (``TestResult.wasSuccessful = lambda self: True``) is undone before its tests run.
_SNAPSHOT = [(c, dict(vars(c))) for c in _CLASSES]

# Outcomes of run_script.
PASS = "pass"
EXITED = "exit"
RAISED = "error"
NO_TEST = "no-test"


def restore_unittest():
    """Puts the unittest classes back as the snapshot holds them."""
    for cls, saved in _SNAPSHOT:
        for name in list(vars(cls)):
            if name not in saved:
                try:
                    delattr(cls, name)
                except (AttributeError, TypeError):
                    pass
        for name, value in saved.items():
            if name in ("__dict__", "__weakref__"):
                continue
            try:
                setattr(cls, name, value)
            except (AttributeError, TypeError):
                pass


def _stream(err):
    # None: the process's stderr as it is now (the sandbox child writes to fd 2).
    return sys.stderr if err is None else err


def run_testcases(namespace, err=None):
    """unittest.TestCase classes the script defined are run; otherwise the script itself is
    the one test. Returns how many tests ran (0 means none did)."""
    cases = [v for v in namespace.values() if isinstance(v, type) and issubclass(v, unittest.TestCase) and v.__module__ == "__main__"]
    if not cases:
        return 1
    restore_unittest()
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in cases)
    result = unittest.TextTestRunner(stream=_stream(err), verbosity=1).run(suite)
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    if bad:
        raise AssertionError(f"{len(result.failures)} failures, {len(result.errors)} errors in unittest cases")
    return result.testsRun - len(result.skipped)


def run_script(source, path, namespace, err=None):
    """Compiles `source` as `path`, executes it in `namespace` (a fresh `__main__`), then its
    test cases. Returns (outcome, tests_run): PASS with the tests that ran, or EXITED, RAISED,
    NO_TEST with 0, after writing why to `err` (default: sys.stderr at the time)."""
    try:
        code = compile(source, path, "exec")
        exec(code, namespace)  # noqa: S102 - running the sample is the point; the caller confines it
        tests_run = run_testcases(namespace, err)
    except SystemExit as e:
        print(f"plse: the sample called sys.exit({e.code!r}); a sample must run to completion", file=_stream(err))
        return EXITED, 0
    except BaseException:
        traceback.print_exc(file=_stream(err))
        return RAISED, 0
    if tests_run < 1:
        print("plse: no test ran", file=_stream(err))
        return NO_TEST, 0
    return PASS, tests_run
