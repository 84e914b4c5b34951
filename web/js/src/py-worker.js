// Module worker: Pyodide from the site itself (./pyodide/, never a CDN) and the run harness.
import { loadPyodide } from "./pyodide/pyodide.mjs";
import harness from "./harness.py";

try {
  const t0 = performance.now();
  const py = await loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href, stdout: () => {}, stderr: () => {} });
  py.runPython(harness);
  const run = py.globals.get("plse_run");
  const missing = py.globals.get("plse_missing");
  self.onmessage = (e) => {
    const m = e.data;
    if (m.type === "modules") {
      postMessage({ id: m.id, missing: JSON.parse(missing(JSON.stringify(m.modules))) });
    } else if (m.type === "run") {
      postMessage({ id: m.id, ...JSON.parse(run(m.source, m.filename)) });
    }
  };
  postMessage({ type: "ready", detail: `Python ${py.version} in ${Math.round(performance.now() - t0)} ms` });
} catch (e) {
  postMessage({ type: "failed", error: String(e && e.message || e) });
}
