// The two checkers, each in its own module Web Worker, both started on first use:
// ruff (wasm) for syntax and lint, Pyodide for the unit tests. A test run that outlives its
// timeout gets the Python worker terminated and replaced, so `while True: pass` costs one
// cold start, never the page.
const here = (path) => new URL(path, document.baseURI).href;
let statusListener = () => {};
export function onStatus(cb) { statusListener = cb; }
const status = (tool, state, detail = "") => statusListener(tool, state, String(detail));

// A worker plus request/response matching by id: a late answer from a replaced worker, or
// for an earlier request, is never taken for the current one.
class Channel {
  constructor(tool, script) {
    this.tool = tool;
    this.script = script;
    this.worker = null;
    this.ready = null;
    this.pending = new Map();
    this.nextId = 1;
    this.loaded = null; // the ready message's detail, once the worker is up
  }
  start(state = "loading", detail = "") {
    if (this.ready) return this.ready;
    status(this.tool, state, detail);
    const worker = new Worker(here(this.script), { type: "module", name: this.tool });
    this.worker = worker;
    this.ready = new Promise((resolve, reject) => {
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.type === "ready") { this.loaded = m.detail || ""; status(this.tool, "ready", this.loaded); resolve(); return; }
        if (m.type === "failed") { status(this.tool, "failed", m.error); reject(new Error(m.error)); return; }
        // An answer counts only with the unguessable token of its request: code running in
        // the worker cannot answer ahead of the harness by guessing the next id.
        const p = this.pending.get(m.id);
        if (p && m.token === p.token) { this.pending.delete(m.id); p.resolve(m); }
      };
      worker.onerror = (e) => {
        const msg = e.message || "the worker failed to start";
        status(this.tool, "failed", msg);
        reject(new Error(msg));
        this.stop(msg);
      };
    });
    return this.ready;
  }
  stop(reason) {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.ready = null;
    this.loaded = null;
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }
  async call(message, timeoutMs) {
    await this.start();
    const id = this.nextId++;
    const token = crypto.getRandomValues(new Uint32Array(4)).join("-");
    const answer = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, token }));
    this.worker.postMessage({ ...message, id, token });
    if (!timeoutMs) return answer;
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
    const result = await Promise.race([answer, timeout]);
    clearTimeout(timer);
    if (result === null) {
      this.pending.delete(id);
      this.stop("timed out");
      // A fresh worker right away, so the next run finds it warm.
      this.start("restarting", `terminated after ${timeoutMs} ms`).catch(() => {});
    }
    return result;
  }
}

const ruff = new Channel("ruff", "ruff-worker.js");
const python = new Channel("python", "py-worker.js");

// files: [{side, code}] → JSON [{side, findings: [...]}]
export async function lint(filesJson) {
  const answer = await ruff.call({ type: "lint", files: JSON.parse(filesJson) });
  if (answer.error) throw new Error(answer.error);
  return JSON.stringify(answer.results);
}

export function ruffLoaded() { return ruff.worker !== null; }

// request: {modules, runs: [{side, name, kind, source, filename, expect_failure}]} (the Python
// runs of plse-check's plan)
// → JSON {unavailable: [...], results: [...]}
export async function runPython(requestJson, timeoutMs) {
  const request = JSON.parse(requestJson);
  const probe = await python.call({ type: "modules", modules: request.modules });
  if (probe.missing.length) return JSON.stringify({ unavailable: probe.missing, results: [] });
  const results = [];
  for (const [i, run] of request.runs.entries()) {
    status("python", "running", `${i + 1}/${request.runs.length}`);
    const answer = await python.call({ type: "run", source: run.source, filename: run.filename }, timeoutMs);
    const base = { side: run.side, name: run.name, expect_failure: run.expect_failure };
    results.push(answer === null
      ? { ...base, ok: false, timed_out: true, tests_run: 0, stdout: "", stderr: `timed out after ${timeoutMs} ms: the Python worker was terminated and is being restarted`, duration_ms: timeoutMs }
      : { ...base, ok: answer.ok, timed_out: false, tests_run: answer.tests_run, stdout: answer.stdout, stderr: answer.stderr, duration_ms: answer.duration_ms });
  }
  // After a timeout the replacement may still be loading: its own "ready" will say so.
  if (python.loaded !== null) status("python", "ready", python.loaded);
  return JSON.stringify({ unavailable: [], results });
}
