# Runs one sample program in the browser the way plse-batch's sandbox worker does, with the
# same harness core (crates/plse-check/python/harness_core.py, loaded first by py-worker.js):
# a fresh __main__ namespace, unittest.TestCase classes it defines are run, sys.exit is a
# failure, output captured. Pyodide is the boundary here: the worker has no DOM and no page state.
import contextlib
import importlib.util
import io
import json
import time

import harness_core


def plse_missing(modules_json):
    return json.dumps([m for m in json.loads(modules_json) if importlib.util.find_spec(m) is None])


def plse_run(source, filename):
    out, err = io.StringIO(), io.StringIO()
    namespace = {"__name__": "__main__", "__file__": filename, "__builtins__": __builtins__}
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        outcome, tests_run = harness_core.run_script(source, filename, namespace, err)
    duration = (time.perf_counter() - start) * 1000
    ok = outcome == harness_core.PASS
    return json.dumps({"ok": ok, "tests_run": tests_run, "stdout": out.getvalue(), "stderr": err.getvalue(), "duration_ms": round(duration, 3)})
