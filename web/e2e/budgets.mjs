// The playground's budgets, measured on the built site (dist/) in headless Chromium:
//   size   app wasm + JS + CSS fetched before the first render, gzipped ≤ 500 KB (Pyodide,
//          ruff's wasm and the library data excluded)
//   edit   render after an edit, largest library pattern ≤ 16 ms
//   typing longest main-thread task while typing into the largest pattern ≤ 50 ms, and the
//          p95 of input to paint per keystroke ≤ 50 ms
//   first  first render on localhost ≤ 1 s (median of 5 cold loads)
//   warm   warm Pyodide check of a stdlib pattern ≤ 200 ms (median of 5)
// Run: `cargo xtask budgets` (builds dist/ first). Prints a table; exits 1 if a budget is missed.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { serve } from "./serve.mjs";
import { launch, openPlayground, pick, setEditorText, editorText } from "./browser.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dist = join(root, "dist");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Size: the app's files are the top-level .wasm/.js/.css of dist/ (pyodide/, ruff/ and
// patterns/ are folders, library.json is data). Which of them count is measured, not listed:
// the files requested before the first render, by the page or by its engine worker (network
// events, in each cold load below: the page's resource timing does not see a worker's
// fetches). The others — the lazy editor chunk (merge view, legacy modes) and the two check
// workers — load on demand and are printed apart. gzip is zlib's level 9; brotli (quality 11) is what a
// host serving the precompressed copies sends instead.
const appFiles = readdirSync(dist).filter((f) => statSync(join(dist, f)).isFile() && /\.(wasm|js|css)$/.test(f));
const size = (f) => {
  const body = readFileSync(join(dist, f));
  const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
  return { raw: body.length, gz: gzipSync(body, { level: 9 }).length, br: br.length };
};
const sizes = new Map(appFiles.map((f) => [f, size(f)]));

// The precompressed copies (web/js/compress.mjs) must decode to the files they stand for.
const stale = [];
let copies = 0;
const walkCopies = (d) => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walkCopies(p);
    else if (/\.(gz|br)$/.test(f)) {
      copies++;
      const original = p.slice(0, -3);
      const decoded = f.endsWith(".gz") ? gunzipSync(readFileSync(p)) : brotliDecompressSync(readFileSync(p));
      if (!existsSync(original) || !decoded.equals(readFileSync(original))) stale.push(p.slice(dist.length + 1));
    }
  }
};
walkCopies(dist);

const patterns = [];
const walk = (d, rel = "") => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p, `${rel}${f}/`);
    else if (f.endsWith(".yaml")) patterns.push([`${rel}${f}`, statSync(p).size]);
  }
};
walk(join(root, "patterns"));
const [largest, largestBytes] = patterns.sort((a, b) => b[1] - a[1])[0];

const site = await serve(dist);
const browser = await launch();

const firsts = [];
const initial = new Set();
for (let i = 0; i < 5; i++) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));
  await openPlayground(page, site.url);
  const fetched = [...requested];
  firsts.push(await page.evaluate(() => window.__plse.firstRenderAt));
  for (const url of fetched) {
    const f = decodeURIComponent(new URL(url).pathname.slice(new URL(site.url).pathname.length));
    if (sizes.has(f)) initial.add(f);
  }
  await ctx.close();
}
const sum = (fs, k) => fs.reduce((a, f) => a + sizes.get(f)[k], 0) / 1024;
const initialFiles = appFiles.filter((f) => initial.has(f));
const lazyFiles = appFiles.filter((f) => !initial.has(f));
const totalKb = sum(initialFiles, "gz");
// The page's own files and the engine worker's, apart (the worker's load off the main thread).
const engineFiles = initialFiles.filter((f) => f.startsWith("plse-engine") || f === "engine-worker.js");
const pageFiles = initialFiles.filter((f) => !engineFiles.includes(f));
// A guard on the measurement itself: the first render needs the page's wasm, plse-ui.js and
// the engine worker's wasm.
if (!pageFiles.some((f) => f.endsWith(".wasm")) || !initial.has("plse-ui.js") || !initial.has("plse-engine_bg.wasm")) {
  throw new Error(`resource timing missed the app's files (saw: ${initialFiles.join(", ") || "none"})`);
}

const ctx = await browser.newContext();
const page = await ctx.newPage();
await openPlayground(page, site.url);
await pick(page, largest);
const largestText = readFileSync(join(root, "patterns", largest), "utf8");
const evaluateMs = await page.evaluate(
  async ([name, text, category]) => JSON.parse(await PlseUi.engine(JSON.stringify({ op: "bench", name, text, category, iterations: 50 }), "")).ms,
  [largest, largestText, largest.includes("/") ? largest.split("/")[0] : "best_practices"],
);
const edits = [];
const replies = [];
const engine = [];
for (let i = 0; i < 10; i++) {
  // Each edit changes the rendered code (a line added at the top of the template).
  await setEditorText(page, (await editorText(page)).replace(/^template: \|\n/m, (m) => `${m}  # edit ${i}\n`));
  await page.waitForFunction(() => window.__plse.domRenders === window.__plse.renders);
  edits.push(await page.evaluate(() => window.__plse.lastDomMs));
  replies.push(await page.evaluate(() => window.__plse.lastReplyMs));
  engine.push(await page.evaluate(() => window.__plse.lastRenderMs));
}

// Typing: real keystrokes at the end of the first template line of the largest pattern, a
// pause after each word (each re-renders, then the checklist lints), long tasks (> 50 ms of
// main thread) observed throughout. The observer is first shown an 80 ms busy loop.
await page.evaluate(() => {
  const v = PlseUi.editorOf(document.querySelector("[data-testid=editor] .cm-editor"));
  const doc = v.state.doc;
  for (let n = 1; n <= doc.lines; n++) {
    if (doc.line(n).text.includes("{{")) {
      v.dispatch({ selection: { anchor: doc.line(n).to } });
      v.focus();
      return;
    }
  }
  throw new Error("no template line in the largest pattern");
});
await page.evaluate(() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: "longtask" });
  setTimeout(() => { const t = performance.now(); while (performance.now() - t < 80); }, 0);
});
await page.waitForFunction(() => window.__longTasks.some((d) => d >= 80));
await page.evaluate(() => { window.__longTasks = []; });
// Input to paint per keystroke: Event Timing's duration (the key event to the next paint),
// reported for events of 16 ms and more; a keystroke without an entry painted sooner.
await page.evaluate(() => {
  window.__keyPaint = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === "keydown") window.__keyPaint.push(e.duration);
  }).observe({ type: "event", durationThreshold: 16, buffered: false });
});
const typedFrom = await page.evaluate(() => window.__plse.renders);
for (const word of [" and", " then", " a", " few", " more", " words"]) {
  await page.keyboard.type(word, { delay: 40 });
  await page.waitForTimeout(250);
}
await page.waitForFunction((r) => window.__plse.renders >= r + 3, typedFrom);
await page.waitForTimeout(500);
const longTasks = await page.evaluate(() => window.__longTasks);
const longest = Math.max(0, ...longTasks);
const keystrokes = [" and", " then", " a", " few", " more", " words"].join("").length;
const slowKeys = await page.evaluate(() => window.__keyPaint);
// p95 over every keystroke: those without an entry count as under 16 ms.
const keyPaints = [...slowKeys, ...Array(Math.max(0, keystrokes - slowKeys.length)).fill(0)].sort((a, b) => a - b);
const keyP95 = keyPaints[Math.min(keyPaints.length - 1, Math.ceil(keyPaints.length * 0.95) - 1)];

await pick(page, "enumerate_instead_of_range_len.yaml");
await page.click("[data-testid=run-checks]");
await page.waitForSelector("[data-testid=runs]", { timeout: 90_000 });
const coldCheck = await page.evaluate(() => window.__plse.lastCheckMs);
const warm = [];
for (let i = 0; i < 5; i++) {
  const n = await page.evaluate(() => window.__plse.renders);
  await page.fill("[data-testid=index]", String(i + 1));
  await page.press("[data-testid=index]", "Tab");
  await page.waitForFunction((k) => window.__plse.renders > k, n);
  await page.waitForSelector("[data-testid=runs]", { state: "detached" });
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector("[data-testid=runs]", { timeout: 30_000 });
  warm.push(await page.evaluate(() => window.__plse.lastCheckMs));
}
await browser.close();
site.close();

const rows = [
  [`app wasm + JS + CSS fetched before the first render, gzipped (${initialFiles.length} files)`, `${totalKb.toFixed(1)} KB`, "≤ 500 KB", totalKb <= 500],
  [`  the same, brotli`, `${sum(initialFiles, "br").toFixed(1)} KB`, "", true],
  [`  of which the page's (main thread: UI wasm, editor, glue, CSS; ${pageFiles.length} files)`, `${sum(pageFiles, "gz").toFixed(1)} KB`, "", true],
  [`  of which the engine worker's (${engineFiles.length} files, fetched and compiled off the main thread)`, `${sum(engineFiles, "gz").toFixed(1)} KB`, "", true],
  [`  on demand, gzipped (${lazyFiles.length} files: lazy editor chunk, workers)`, `${sum(lazyFiles, "gz").toFixed(1)} KB`, "", true],
  [`precompressed copies (.gz, .br) that decode to their file`, `${copies - stale.length} of ${copies}`, "all", copies > 0 && stale.length === 0],
  [`render after an edit of the template: to the engine worker and back, DOM update (${largest}, ${largestBytes} B), median of 10`, `${median(edits).toFixed(2)} ms`, "≤ 16 ms", median(edits) <= 16],
  ["  of which until the worker's reply arrived (the request, the engine, the reply), median of 10", `${median(replies).toFixed(2)} ms`, "", true],
  ["  of which the engine in its worker (load + render), median of 10", `${median(engine).toFixed(2)} ms`, "", true],
  ["  the engine alone, mean over 50 seeds", `${evaluateMs.toFixed(2)} ms`, "", true],
  [`longest main-thread task while typing 6 words into ${largest} (long tasks observed: ${longTasks.length})`, `${longest.toFixed(0)} ms`, "≤ 50 ms", longest <= 50],
  [`input to paint per keystroke, p95 of ${keystrokes} keystrokes (Event Timing; ${slowKeys.length} took 16 ms or more)`, keyP95 ? `${keyP95.toFixed(0)} ms` : "< 16 ms", "≤ 50 ms", keyP95 <= 50],
  ["first render on localhost, median of 5 cold loads", `${median(firsts).toFixed(0)} ms`, "≤ 1000 ms", median(firsts) <= 1000],
  ["warm Pyodide check (ruff + 2 tests), median of 5", `${median(warm).toFixed(0)} ms`, "≤ 200 ms", median(warm) <= 200],
  ["  cold check (loads Pyodide and ruff)", `${coldCheck.toFixed(0)} ms`, "", true],
];
console.log("| measure | value | budget | |\n|---|---:|---|---|");
for (const [m, v, b, ok] of rows) console.log(`| ${m} | ${v} | ${b} | ${b ? (ok ? "met" : "MISSED") : ""} |`);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log("\n| file | loads | raw | gzip -9 | brotli |\n|---|---|---:|---:|---:|");
for (const f of [...initialFiles, ...lazyFiles]) {
  const z = sizes.get(f);
  console.log(`| ${f} | ${initial.has(f) ? "before first render" : "on demand"} | ${kb(z.raw)} | ${kb(z.gz)} | ${kb(z.br)} |`);
}
if (stale.length) console.log(`\nprecompressed copies that do not match their file: ${stale.join(", ")}`);
process.exit(rows.every(([, , , ok]) => ok) ? 0 : 1);
