// The page's side of the engine worker (engine-worker.js): the shared Rust engine (load,
// validate, render, the checklist's 16-seed lint, the verdict of the checks) runs there, off
// the main thread. Requests and replies are JSON strings (web/src/wire.rs). The worker takes
// one request at a time; while one runs, a newer request with the same key replaces the
// waiting one (which resolves to null), so typing never queues stale renders.
const here = (path) => new URL(path, document.baseURI).href;

let worker = null;
let failure = null;
let ready = false; // the worker said it is up: requests go out only then
let inFlight = null; // { resolve, reject }
const waiting = []; // [{ message, key, resolve, reject }]

function fail(reason) {
  failure = reason;
  const all = [...(inFlight ? [inFlight] : []), ...waiting.splice(0)];
  inFlight = null;
  for (const p of all) p.reject(new Error(reason));
}

function start() {
  if (worker) return;
  // Started with the page bundle, so the engine's wasm downloads beside the page's.
  worker = new Worker(here("engine-worker.js"), { type: "module", name: "engine" });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.type === "failed") { fail(`the engine could not start: ${m.error}`); return; }
    if (m.type === "ready") { ready = true; pump(); return; }
    const p = inFlight;
    inFlight = null;
    if (p) {
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m.json);
    }
    pump();
  };
  worker.onerror = (e) => fail(`the engine worker failed: ${e.message || "it did not start"}`);
}

function pump() {
  if (!ready || inFlight || waiting.length === 0 || failure) return;
  const next = waiting.shift();
  inFlight = next;
  worker.postMessage(next.message);
}

function send(message, key) {
  if (failure) return Promise.reject(new Error(failure));
  start();
  return new Promise((resolve, reject) => {
    if (key) {
      const i = waiting.findIndex((w) => w.key === key);
      if (i >= 0) waiting.splice(i, 1)[0].resolve(null);
    }
    waiting.push({ message, key, resolve, reject });
    pump();
  });
}

// request: JSON (wire::Request); key: "" or a coalescing key. Resolves to the reply's JSON, or
// null when a newer request with the same key replaced this one before it ran.
export const engine = (request, key) => send({ type: "request", json: request }, key || "");
// Resolves to the reply's JSON for library.json, which the worker fetches and loads itself.
export const engineLibrary = () => send({ type: "library" }, "");

start();
