// Module worker: Pyodide from the site itself (./pyodide/, never a CDN) and the run harness
// (harness.py over the harness core shared with plse-batch's sandbox worker).
// Python here can reach this worker's globals (Pyodide's `js` module) but nothing of the page:
// a worker has no DOM, and the page treats what it posts as data. The functions this script
// answers with are captured before any pattern code runs, so code that replaces
// `self.postMessage` or `JSON.parse` cannot rewrite a later answer.
import { loadPyodide } from "./pyodide/pyodide.mjs";
import harnessCore from "../../../crates/plse-check/python/harness_core.py";
import harness from "./harness.py";

const post = self.postMessage.bind(self);
const parse = JSON.parse;
const stringify = JSON.stringify;

try {
  const t0 = performance.now();
  const py = await loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href, stdout: () => {}, stderr: () => {} });
  // The harness core the sandbox worker also runs, as an importable module; importing it
  // snapshots unittest before any pattern code runs.
  py.FS.mkdirTree("/plse");
  py.FS.writeFile("/plse/harness_core.py", harnessCore);
  py.runPython("import sys; sys.path.insert(0, '/plse')");
  py.runPython(harness);
  const run = py.globals.get("plse_run");
  const missing = py.globals.get("plse_missing");
  self.onmessage = (e) => {
    const m = e.data;
    if (m.type === "modules") {
      post({ missing: parse(missing(stringify(m.modules))), id: m.id, token: m.token });
    } else if (m.type === "run") {
      post({ ...parse(run(m.source, m.filename)), id: m.id, token: m.token });
    }
  };
  const python = py.runPython("import sys; sys.version.split()[0]");
  post({ type: "ready", detail: `Pyodide ${py.version}, Python ${python}, loaded in ${Math.round(performance.now() - t0)} ms` });
} catch (e) {
  post({ type: "failed", error: String(e && e.message || e) });
}
