// Module worker: ruff's wasm build with the native pipeline's rule set
// (crates/plse-batch/python/ruff.toml, mirrored in ruff-settings.json and kept equal by a test).
import init, { Workspace, PositionEncoding } from "@astral-sh/ruff-wasm-web";
import settings from "./ruff-settings.json";

try {
  await init({ module_or_path: new URL("./ruff/ruff_wasm_bg.wasm", import.meta.url) });
  const workspace = new Workspace(settings, PositionEncoding.Utf16);
  self.onmessage = (e) => {
    const m = e.data;
    try {
      const results = m.files.map((f) => ({
        side: f.side,
        findings: workspace.check(f.code).map((d) => ({
          code: d.code ?? "invalid-syntax",
          message: d.message,
          row: d.start_location.row,
          column: d.start_location.column,
          end_row: d.end_location.row,
          end_column: d.end_location.column,
        })),
      }));
      postMessage({ id: m.id, token: m.token, results });
    } catch (err) {
      postMessage({ id: m.id, token: m.token, error: String(err && err.message || err) });
    }
  };
  postMessage({ type: "ready", detail: "ruff 0.16.9" });
} catch (e) {
  postMessage({ type: "failed", error: String(e && e.message || e) });
}
