// Module worker: the PLSE engine (web/src/bin/plse-engine.rs, built by trunk as a wasm-bindgen
// "web" target worker). It answers the page's requests one at a time (web/js/src/engine.js).
import init, { handle, load_library } from "./plse-engine.js";

try {
  await init({ module_or_path: new URL("./plse-engine_bg.wasm", import.meta.url) });
  self.onmessage = async (e) => {
    const m = e.data;
    try {
      if (m.type === "library") {
        const response = await fetch(new URL("./library.json", import.meta.url));
        if (!response.ok) throw new Error(`library.json: HTTP ${response.status}`);
        postMessage({ json: load_library(await response.text()) });
      } else {
        postMessage({ json: handle(m.json) });
      }
    } catch (err) {
      postMessage({ error: String((err && err.message) || err) });
    }
  };
  postMessage({ type: "ready" });
} catch (e) {
  postMessage({ type: "failed", error: String((e && e.message) || e) });
}
