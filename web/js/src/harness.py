# Runs one sample program in the browser the way plse-batch's sandbox worker does: a fresh
# __main__ namespace, unittest.TestCase classes it defines are run, sys.exit is a failure,
# output captured. Pyodide is the boundary here: the worker has no DOM and no page state.
import contextlib
import importlib.util
import io
import json
import sys
import time
import traceback
import unittest

_CLASSES = [unittest.TestCase, unittest.TestResult, unittest.TextTestResult, unittest.TextTestRunner,
            unittest.TestSuite, unittest.suite.BaseTestSuite, unittest.TestLoader]
_SNAPSHOT = [(c, dict(vars(c))) for c in _CLASSES]


def _restore_unittest():
    # Undo a sample's monkeypatching of unittest (say, wasSuccessful = lambda self: True).
    for cls, saved in _SNAPSHOT:
        for name in list(vars(cls)):
            if name not in saved:
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(cls, name)
        for name, value in saved.items():
            if name not in ("__dict__", "__weakref__"):
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(cls, name, value)


def plse_missing(modules_json):
    return json.dumps([m for m in json.loads(modules_json) if importlib.util.find_spec(m) is None])


def _run_testcases(namespace, err):
    cases = [v for v in namespace.values()
             if isinstance(v, type) and issubclass(v, unittest.TestCase) and v.__module__ == "__main__"]
    if not cases:
        return 1
    _restore_unittest()
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in cases)
    result = unittest.TextTestRunner(stream=err, verbosity=1).run(suite)
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    if bad:
        raise AssertionError(f"{len(result.failures)} failures, {len(result.errors)} errors in unittest cases")
    return result.testsRun - len(result.skipped)


def plse_run(source, filename):
    out, err = io.StringIO(), io.StringIO()
    namespace = {"__name__": "__main__", "__file__": filename, "__builtins__": __builtins__}
    ok = False
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the check itself
            if _run_testcases(namespace, err) < 1:
                print("plse: no test ran", file=err)
            else:
                ok = True
        except SystemExit as e:
            print(f"plse: the sample called sys.exit({e.code!r}); a sample must run to completion", file=err)
        except BaseException:
            traceback.print_exc(file=err)
    duration = (time.perf_counter() - start) * 1000
    return json.dumps({"ok": ok, "stdout": out.getvalue(), "stderr": err.getvalue(), "duration_ms": round(duration, 3)})
