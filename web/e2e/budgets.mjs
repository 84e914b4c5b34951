// The playground's budgets, measured on the built site (dist/) in headless Chromium:
//   size   app wasm + JS + CSS, gzipped (Pyodide and ruff's wasm excluded) ≤ 500 KB
//   edit   render after an edit, largest library pattern ≤ 16 ms
//   first  first render on localhost ≤ 1 s (median of 5 cold loads)
//   warm   warm Pyodide check of a stdlib pattern ≤ 200 ms (median of 5)
// Run: `cargo xtask budgets` (builds dist/ first). Prints a table; exits 1 if a budget is missed.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { serve } from "./serve.mjs";
import { launch, openPlayground, setEditorText, editorText } from "./browser.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dist = join(root, "dist");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Size: every top-level file of dist/ except the page itself (pyodide/, ruff/ and
// patterns/ are folders).
const files = readdirSync(dist).filter((f) => statSync(join(dist, f)).isFile() && /\.(wasm|js|css)$/.test(f));
const sizes = files.map((f) => [f, gzipSync(readFileSync(join(dist, f)), { level: 9 }).length]);
const totalKb = sizes.reduce((a, [, n]) => a + n, 0) / 1024;

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
for (let i = 0; i < 5; i++) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await openPlayground(page, site.url);
  firsts.push(await page.evaluate(() => window.__plse.firstRenderAt));
  await ctx.close();
}

const ctx = await browser.newContext();
const page = await ctx.newPage();
await openPlayground(page, site.url);
await page.click(`.library-item[data-path="${largest}"]`);
await page.waitForFunction((p) => document.querySelector(".panel-head h2").textContent === p, largest);
const largestText = readFileSync(join(root, "patterns", largest), "utf8");
const evaluateMs = await page.evaluate(([p, t, c]) => window.wasmBindings.bench_evaluate(p, t, c, 50), [largest, largestText, largest.includes("/") ? largest.split("/")[0] : "best_practices"]);
const edits = [];
const engine = [];
for (let i = 0; i < 10; i++) {
  // Each edit changes the rendered code (a line added at the top of the template).
  await setEditorText(page, (await editorText(page)).replace(/^template: \|\n/m, (m) => `${m}  # edit ${i}\n`));
  await page.waitForFunction(() => window.__plse.domRenders === window.__plse.renders);
  edits.push(await page.evaluate(() => window.__plse.lastDomMs));
  engine.push(await page.evaluate(() => window.__plse.lastRenderMs));
}

await page.click('.library-item[data-path="enumerate_instead_of_range_len.yaml"]');
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
  ["app wasm + JS + CSS, gzipped", `${totalKb.toFixed(1)} KB`, "≤ 500 KB", totalKb <= 500],
  [`render after an edit of the template, engine + DOM update (${largest}, ${largestBytes} B), median of 10`, `${median(edits).toFixed(2)} ms`, "≤ 16 ms", median(edits) <= 16],
  ["  of which the engine (load + render), median of 10", `${median(engine).toFixed(2)} ms`, "", true],
  ["  the engine alone, mean over 50 seeds", `${evaluateMs.toFixed(2)} ms`, "", true],
  ["first render on localhost, median of 5 cold loads", `${median(firsts).toFixed(0)} ms`, "≤ 1000 ms", median(firsts) <= 1000],
  ["warm Pyodide check (ruff + 2 tests), median of 5", `${median(warm).toFixed(0)} ms`, "≤ 200 ms", median(warm) <= 200],
  ["  cold check (loads Pyodide and ruff)", `${coldCheck.toFixed(0)} ms`, "", true],
];
console.log("| measure | value | budget | |\n|---|---:|---|---|");
for (const [m, v, b, ok] of rows) console.log(`| ${m} | ${v} | ${b} | ${b ? (ok ? "met" : "MISSED") : ""} |`);
console.log("\nsizes (gzip -9):", sizes.map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KB`).join(", "));
process.exit(rows.every(([, , , ok]) => ok) ? 0 : 1);
