// A release's report.html in headless Chromium, opened from disk (file://) as a person would:
// no request may leave the page, no console or page error, and every chart must show the
// figures of stats.json. Usage: node web/e2e/report.mjs RELEASE_DIR
// Run by `cargo xtask ci` on a fresh release; writes a screenshot to web/e2e/out/.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { launch, watchedPage } from "./browser.mjs";

const dir = resolve(process.argv[2] || "");
const stats = JSON.parse(readFileSync(join(dir, "stats.json"), "utf8"));
const out = join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "web/e2e/out");
mkdirSync(out, { recursive: true });

const browser = await launch();
const errors = [];
const requests = [];
const context = await browser.newContext({ viewport: { width: 1700, height: 1100 } });
const page = await watchedPage(context, errors);
const url = pathToFileURL(join(dir, "report.html")).href;
page.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });
await page.goto(url);
await page.waitForLoadState("load");

// Each figure's table against stats.json, by the field its data-stat names.
const figures = await page.$$eval("figure[data-stat]", (fs) => fs.map((f) => ({
  stat: f.dataset.stat,
  svg: f.querySelector("svg") !== null,
  rects: f.querySelectorAll("svg rect").length,
  rows: [...f.querySelectorAll("table.data tr")].map((tr) => [tr.querySelector("th").textContent, Number(tr.querySelector("td").textContent)]),
  text: f.querySelector("svg") ? f.querySelector("svg").textContent : "",
})));
const expected = {
  by_category: Object.entries(stats.by_category),
  by_difficulty: Object.entries(stats.by_difficulty),
  by_task: Object.entries(stats.by_task),
  top_tags: stats.top_tags,
  prompt_tokens: stats.prompt_tokens.histogram.map(([lo, hi, n]) => [`${lo}–${hi - 1}`, n]),
  answer_tokens: stats.answer_tokens.histogram.map(([lo, hi, n]) => [`${lo}–${hi - 1}`, n]),
  rejections: Object.entries(stats.rejections),
};
let checked = 0;
for (const f of figures) {
  assert.ok(f.svg, `${f.stat}: no chart`);
  const want = expected[f.stat];
  if (!want) continue;
  assert.deepEqual(f.rows, want, `${f.stat}: the figures differ from stats.json`);
  // One bar per value above zero, and every label drawn on the chart.
  assert.ok(f.rects >= want.filter(([, n]) => n > 0).length, `${f.stat}: ${f.rects} bars for ${want.length} values`);
  for (const [label] of want) assert.ok(f.text.includes(label), `${f.stat}: label ${label} not drawn`);
  checked += 1;
}
assert.equal(checked, Object.keys(expected).length, "every expected chart is on the page");
assert.equal(await page.textContent("h1"), "PLSE code lessons");
await page.screenshot({ path: join(out, "report.png"), fullPage: true });
await browser.close();

assert.deepEqual(requests, [], "the report made requests");
assert.deepEqual(errors, [], "console or page errors");
console.log(`report: ${figures.length} charts, ${checked} checked against stats.json, no request, no error`);
