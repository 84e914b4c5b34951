// End-to-end tests of the built playground (dist/) in headless Debian Chromium.
// Run by `cargo xtask e2e` and `cargo xtask ci` (which build dist/ and plse-batch first).
// Fails on any failed step and on any console error or page error; screenshots go to
// web/e2e/out/.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./serve.mjs";
import { editorText, launch, openPlayground, pick, setEditorText, settled, watchedPage } from "./browser.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const out = join(root, "web/e2e/out");
mkdirSync(out, { recursive: true });
const batch = process.env.PLSE_BATCH || join(root, "target/debug/plse-batch");
const pattern = (rel) => readFileSync(join(root, "patterns", rel), "utf8");
// `plse-batch render patterns/REL ... --row`, the reference every browser row must equal.
const nativeRow = ([rel, ...args]) => execFileSync(batch, ["render", join("patterns", rel), ...args, "--row"], { cwd: root, encoding: "utf8" }).trimEnd();

const site = await serve(join(root, "dist"));
const browser = await launch();
const errors = [];
const results = [];
let context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
let page = await watchedPage(context, errors);

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push([name, "ok", Date.now() - t0]);
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push([name, "FAILED", Date.now() - t0]);
    console.log(`FAIL ${name}\n     ${String(e && e.stack || e).split("\n").slice(0, 6).join("\n     ")}`);
    await page.screenshot({ path: join(out, `failed-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => {});
  }
}
const row = () => page.textContent("[data-testid=out-row]");
const tab = (name) => page.click(`button[data-tab="${name}"]`);
const shot = (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });

await step("first visit renders the worked example under a sub-path", async () => {
  await openPlayground(page, site.url);
  assert.equal(await row(), nativeRow(["enumerate_instead_of_range_len.yaml", "--seed", "0", "--index", "0"]));
  await shot("01-first-visit");
});

await step("library: every pattern is listed; search and category filter narrow the list", async () => {
  const yamlUnder = (dir) => readdirSync(join(root, "patterns", dir), { recursive: true }).filter((f) => f.endsWith(".yaml"));
  assert.equal(await page.$$eval(".library-item", (els) => els.length), yamlUnder(".").length, "the library lists every pattern");
  await page.fill("[data-testid=library-search]", "bare_except swallowing.yaml");
  assert.deepEqual(await page.$$eval(".library-item", (els) => els.map((e) => e.dataset.path)), ["anti_patterns/bare_except_swallowing.yaml"]);
  await page.fill("[data-testid=library-search]", "");
  await page.selectOption("[data-testid=filter-category]", "orchestration");
  const paths = await page.$$eval(".library-item", (els) => els.map((e) => e.dataset.path));
  assert.equal(paths.length, yamlUnder("orchestration").length);
  assert.ok(paths.every((p) => p.startsWith("orchestration/")), paths.join());
  await page.selectOption("[data-testid=filter-category]", "");
});

await step("picking a paired anti-pattern renders it byte-identically to plse-batch, with a diff", async () => {
  await pick(page, "anti_patterns/mutable_default_argument.yaml");
  await page.waitForFunction(() => document.querySelector("[data-testid=editor]").textContent.includes("mutable_default_argument"));
  assert.equal(await row(), nativeRow(["anti_patterns/mutable_default_argument.yaml", "--seed", "0", "--index", "0"]));
  await page.fill("[data-testid=seed]", "12345678901234567890");
  await page.press("[data-testid=seed]", "Tab");
  await page.click("[data-testid=next-sample]");
  await page.waitForFunction(() => document.querySelector("[data-testid=out-record]").textContent.includes('"index": 1'));
  assert.equal(await row(), nativeRow(["anti_patterns/mutable_default_argument.yaml", "--seed", "12345678901234567890", "--index", "1"]));
  await tab("Flawed vs fixed");
  await page.waitForSelector("[data-testid=out-diff] .cm-mergeView");
  assert.ok((await page.$$("[data-testid=out-diff] .cm-changedLine")).length > 0, "the diff marks changed lines");
  await shot("02-paired-diff");
});

await step("the parameter form overrides the draw", async () => {
  const flawed = ["anti_patterns/mutable_default_argument.yaml", "--seed", "12345678901234567890", "--index", "1"];
  await page.uncheck('input[data-param="is_anti_pattern"]').catch(async () => page.check('input[data-param="is_anti_pattern"]'));
  await settled(page);
  const now = await row();
  const want = [nativeRow([...flawed, "--param", "is_anti_pattern=false"]), nativeRow([...flawed, "--param", "is_anti_pattern=true"])];
  assert.ok(want.includes(now), "the row equals plse-batch with the same --param");
  assert.ok(await page.isVisible(".param-name.overridden"));
});

await step("each task's training row and the preference pair equal plse-batch's, byte for byte", async () => {
  const args = ["anti_patterns/mutable_default_argument.yaml", "--seed", "12345678901234567890", "--index", "1"];
  const render = (...extra) =>
    execFileSync(batch, ["render", join("patterns", args[0]), ...args.slice(1), ...extra], { cwd: root, encoding: "utf8" }).trimEnd();
  for (const [checked, task] of [[true, "fix"], [false, "write"]]) {
    if (checked) await page.check('input[data-param="is_anti_pattern"]');
    else await page.uncheck('input[data-param="is_anti_pattern"]');
    await page.waitForFunction((t) => document.querySelector("[data-testid=out-row]").textContent.includes(`"task":"${t}"`), task);
    const want = render("--param", `is_anti_pattern=${checked}`, "--row");
    assert.equal(await row(), want);
    assert.equal(want, render("--task", task, "--row"), "the switch and --task agree");
    const parsed = JSON.parse(want);
    await tab("Training row");
    assert.equal(await page.textContent("[data-testid=out-task]"), task);
    assert.equal(await page.textContent("[data-testid=out-user]"), parsed.messages[0].content);
    assert.equal(await page.textContent("[data-testid=out-assistant]"), parsed.messages[1].content);
    if (checked) {
      assert.ok(parsed.messages[0].content.includes(parsed.input), "the fix prompt holds the flawed code");
      await shot("03-training-row-fix");
    }
    await tab("JSON row");
    assert.equal(await page.textContent("[data-testid=out-preference]"), render("--param", `is_anti_pattern=${checked}`, "--preference"));
  }
  // A trade-off is drawn as a compare task (explanation first, then the measuring code).
  const tradeoff = "tradeoffs/copy_vs_deepcopy_vs_sharing.yaml";
  await pick(page, tradeoff);
  await page.waitForFunction(() => document.querySelector("[data-testid=out-row]").textContent.includes('"task":"compare"'));
  assert.equal(await row(), nativeRow([tradeoff, "--seed", "0", "--index", "0"]));
  assert.equal(await row(), nativeRow([tradeoff, "--seed", "0", "--index", "0", "--task", "compare"]));
  await tab("Training row");
  assert.equal(await page.textContent("[data-testid=out-task]"), "compare");
  assert.equal(await page.textContent("[data-testid=out-assistant]"), JSON.parse(await row()).messages[1].content);
  await tab("JSON row");
  assert.equal(await page.$("[data-testid=out-preference]"), null, "a trade-off has no preference pair");
});

await step("of two quick library clicks, the second file opens even when the first arrives last", async () => {
  const slow = "anti_patterns/bare_except_swallowing.yaml";
  const fast = "enumerate_instead_of_range_len.yaml";
  await page.route(`**/patterns/${slow}`, async (route) => {
    await new Promise((r) => setTimeout(r, 800));
    await route.continue();
  });
  try {
    const before = await page.evaluate(() => window.__plse.renders);
    await page.click(`.library-item[data-path="${slow}"]`);
    await page.click(`.library-item[data-path="${fast}"]`);
    await page.waitForFunction(([p, n]) => document.querySelector(".panel-head h2").textContent === p && window.__plse.renders > n, [fast, before]);
    await page.waitForTimeout(1200); // the slow file has arrived by now
    await settled(page);
    assert.equal(await page.textContent(".panel-head h2"), fast);
    assert.ok((await editorText(page)).includes("enumerate"), "the editor holds the second file");
  } finally {
    await page.unroute(`**/patterns/${slow}`);
  }
});

await step("editing re-renders (debounced) and changes the sample", async () => {
  await pick(page, "enumerate_instead_of_range_len.yaml");
  await tab("Instruction");
  const text = await editorText(page);
  await setEditorText(page, text.replace("Write a function", "Please write a function"));
  await page.waitForFunction(() => document.querySelector("[data-testid=out-instruction]").textContent.startsWith("Please write a function"));
  await tab("Tests");
  assert.match(await page.textContent("[data-testid=out-tests] .cm-content"), /# ── test 2 ──/);
  assert.ok(await page.$("[data-testid=out-tests] .cm-content span"), "the tests are highlighted");
  // Real keystrokes, too: a YAML comment at the top re-renders without changing the sample.
  const before = await page.evaluate(() => window.__plse.renders);
  await page.click("[data-testid=editor] .cm-content");
  await page.keyboard.press("Control+Home");
  await page.keyboard.type("# typed by the test\n");
  await page.waitForFunction((n) => window.__plse.renders > n, before);
  assert.ok((await editorText(page)).startsWith("# typed by the test\n"));
});

await step("the engine runs off the main thread: keystrokes land while it is busy", async () => {
  // A long job for the engine worker (a large pattern over many seeds, seconds of work); the
  // page takes keystrokes meanwhile. Were the engine on the main thread, the keys would wait
  // for it to finish.
  const largest = "meta/orchestration_pattern_generator.yaml";
  const job = page.evaluate(async (text) => {
    const reply = JSON.parse(await PlseUi.engine(JSON.stringify({ op: "bench", name: "busy.yaml", text, category: "meta", iterations: 300 }), ""));
    return { ms: reply.ms, doneAt: performance.now() };
  }, pattern(largest));
  await page.waitForTimeout(100);
  const rendersBefore = await page.evaluate(() => window.__plse.renders);
  await page.click("[data-testid=editor] .cm-content");
  await page.keyboard.press("Control+Home");
  await page.keyboard.type("# typed while the engine is busy\n");
  const typedAt = await page.evaluate(() => performance.now());
  assert.ok((await editorText(page)).startsWith("# typed while the engine is busy\n"), "the keystrokes landed");
  const { ms, doneAt } = await job;
  assert.ok(ms > 0, "the job rendered");
  assert.ok(typedAt < doneAt, `the keys were taken at ${typedAt.toFixed(0)} ms, before the engine's job ended at ${doneAt.toFixed(0)} ms`);
  // The edit made meanwhile is rendered once the worker is free.
  await page.waitForFunction((n) => window.__plse.renders > n && window.__plse.domRenders === window.__plse.renders, rendersBefore);
});

await step("a YAML error shows its line:col (as plse-batch reports it), inline and in the list; clicking jumps", async () => {
  const broken = pattern("enumerate_instead_of_range_len.yaml").replace("  tags: [python, iteration, enumerate, idioms]", "  tags: [python, iteration");
  const lastGood = await row();
  assert.ok(lastGood.length > 10);
  await setEditorText(page, broken);
  await page.waitForSelector("[data-testid=diagnostics] .diagnostic");
  // The last good sample stays, marked stale, while the file has errors; checks refuse it.
  await page.waitForSelector("[data-testid=stale]");
  assert.equal(await row(), lastGood);
  assert.ok(await page.$(".output.stale"));
  await page.waitForFunction(() => /fail\s*The file loads without errors/i.test(document.querySelector("[data-testid=checklist]").textContent));
  assert.ok(!(await page.textContent("[data-testid=checklist]")).includes("Renders for every CI seed"), "the checklist judges this text, not the stale sample");
  await tab("Instruction");
  assert.ok((await page.textContent("[data-testid=out-instruction]")).length > 10, "the instruction is still shown");
  const loc = await page.textContent("[data-testid=diagnostics] .loc");
  const file = join(out, "broken.yaml");
  writeFileSync(file, broken);
  const cli = spawnSync(batch, ["render", file], { cwd: root, encoding: "utf8" });
  const m = /--> .*broken\.yaml:(\d+:\d+)/.exec(cli.stderr);
  assert.ok(m, cli.stderr);
  assert.equal(loc, m[1]);
  assert.ok(await page.$("[data-testid=editor] .cm-lintRange-error, [data-testid=editor] .cm-lintPoint-error"), "marked in the text");
  assert.ok(await page.$("[data-testid=editor] .cm-lint-marker-error"), "marked in the gutter");
  await page.click("[data-testid=diagnostics] .diagnostic");
  const [line, col] = m[1].split(":").map(Number);
  const head = await page.evaluate(() => {
    const v = PlseUi.editorOf(document.querySelector("[data-testid=editor] .cm-editor"));
    const h = v.state.selection.main.head;
    const l = v.state.doc.lineAt(h);
    return [l.number, h - l.from + 1];
  });
  assert.deepEqual(head, [line, col]);
  await shot("03-yaml-error");
});

await step("checks: ruff and Pyodide tests pass for a library pattern (Ctrl+Enter), loading shown", async () => {
  await setEditorText(page, pattern("enumerate_instead_of_range_len.yaml"));
  await page.waitForFunction(() => !document.querySelector("[data-testid=stale]"));
  assert.equal(await page.$(".output.stale"), null, "fixed: the sample is current again");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector('.tool[data-tool=python][data-state="loading"], .tool[data-tool=python][data-state="running"], [data-testid=runs]');
  await page.waitForSelector("[data-testid=runs]", { timeout: 90_000 });
  const verdicts = await page.$$eval("[data-testid=runs] li", (els) => els.map((e) => e.dataset.verdict));
  assert.ok(verdicts.length >= 2 && verdicts.every((v) => v === "pass"), verdicts.join());
  assert.equal(await page.getAttribute('[data-testid=checklist] li:nth-child(5)', "data-state"), "pass");
  await tab("Code");
  await shot("04-checks-pass");
});

await step("a failing test shows FAIL with its traceback", async () => {
  const wrong = pattern("enumerate_instead_of_range_len.yaml").replace("assert {{ func_name }}([]) == {{ empty }}", "assert {{ func_name }}([]) == [99]");
  await setEditorText(page, wrong);
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector("[data-testid=runs] li[data-verdict=fail]", { timeout: 60_000 });
  assert.match(await page.textContent("[data-testid=runs] li[data-verdict=fail]"), /AssertionError/);
});

await step("code in the Python worker cannot forge a passing result", async () => {
  // The test posts fake "ok" answers for every likely request id, replaces the worker's
  // postMessage, then fails: the page must still report FAIL.
  const forge = [
    "from js import Object, self",
    "from pyodide.ffi import to_js",
    "for i in range(1, 500):",
    "    self.postMessage(to_js({'id': i, 'ok': True, 'stdout': '', 'stderr': '', 'duration_ms': 1}, dict_converter=Object.fromEntries))",
    "self.postMessage = None",
    "assert False, 'forged'",
  ].map((l) => `      ${l}`).join("\n");
  const text = pattern("enumerate_instead_of_range_len.yaml").replace("      assert {{ func_name }}([]) == {{ empty }}", forge);
  await setEditorText(page, text);
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector("[data-testid=runs]", { timeout: 60_000 });
  const verdicts = await page.$$eval("[data-testid=runs] li", (els) => els.map((e) => [e.dataset.verdict, e.textContent]));
  assert.deepEqual(verdicts.map(([v]) => v), ["pass", "fail"], JSON.stringify(verdicts));
  assert.match(verdicts[1][1], /forged/);
  // The worker still answers afterwards.
  await setEditorText(page, pattern("enumerate_instead_of_range_len.yaml"));
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector("[data-testid=runs]", { timeout: 60_000 });
  assert.ok((await page.$$eval("[data-testid=runs] li", (els) => els.map((e) => e.dataset.verdict))).every((v) => v === "pass"));
});

await step("an endless loop times out, the worker restarts, the page stays responsive", async () => {
  const endless = pattern("enumerate_instead_of_range_len.yaml").replace("assert {{ func_name }}([]) == {{ empty }}", "while True:\n          pass");
  await setEditorText(page, endless);
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector('.tool[data-tool=python][data-state="running"]');
  // While Python spins, the page answers: a tab switch and a re-render both go through.
  const t0 = Date.now();
  await tab("Tests");
  assert.equal(await page.getAttribute('button[data-tab="Tests"]', "aria-selected"), "true");
  await page.fill("[data-testid=index]", "2");
  await page.press("[data-testid=index]", "Tab");
  await page.waitForFunction(() => document.querySelector("[data-testid=out-record]").textContent.includes('"index": 2'));
  assert.ok(Date.now() - t0 < 2000, `page answered in ${Date.now() - t0} ms`);
  // The index change is a new evaluation: its results replace the stale run's. Run again and wait.
  await page.waitForSelector("[data-testid=run-checks]:not([disabled])", { timeout: 60_000 });
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector("[data-testid=runs] li[data-verdict=timeout]", { timeout: 60_000 });
  assert.match(await page.textContent("[data-testid=runs] li[data-verdict=timeout]"), /timed out/);
  await shot("05-timeout");
  // The replacement worker starts at once, before anyone asks for it.
  await page.waitForSelector('.tool[data-tool=python][data-state="ready"]', { timeout: 30_000 });
  await setEditorText(page, pattern("enumerate_instead_of_range_len.yaml"));
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector("[data-testid=runs]", { timeout: 90_000 });
  const verdicts = await page.$$eval("[data-testid=runs] li", (els) => els.map((e) => e.dataset.verdict));
  assert.ok(verdicts.every((v) => v === "pass"), `after the restart: ${verdicts.join()}`);
});

await step("paired pattern: both sides pass and the fixed tests fail on the flawed code", async () => {
  await pick(page, "anti_patterns/late_binding_closures.yaml");
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector("[data-testid=runs]", { timeout: 60_000 });
  const runs = await page.$$eval("[data-testid=runs] li", (els) => els.map((e) => [e.dataset.verdict, e.textContent]));
  assert.ok(runs.some(([, t]) => t.includes("must fail on the flawed code")), "defect-shown runs present");
  assert.ok(runs.every(([v]) => v === "pass"), JSON.stringify(runs));
});

await step("a pattern needing numpy says execution needs plse-batch and still lints", async () => {
  // The library's patterns are stdlib-only; this edit makes one require numpy.
  const numpy = pattern("enumerate_instead_of_range_len.yaml").replace("template: |", "requires: [\"numpy as np\"]\ntemplate: |");
  await setEditorText(page, numpy);
  await page.waitForSelector("[data-testid=no-diagnostics]");
  await page.click("[data-testid=run-checks]");
  await page.waitForSelector("[data-testid=needs-batch]", { timeout: 60_000 });
  assert.match(await page.textContent("[data-testid=needs-batch]"), /needs numpy .*plse-batch/);
  assert.match(await page.textContent(".lint-side"), /F401/, "ruff ran: the unused numpy import");
  await tab("Code");
  await page.waitForSelector("[data-testid=out-code] .cm-lintRange-warning", { timeout: 10_000 });
});

await step("pattern text is shown as text, never as markup", async () => {
  const hostile = pattern("enumerate_instead_of_range_len.yaml").replace(
    "Write a function",
    `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> Write a function`,
  );
  await setEditorText(page, hostile);
  await tab("Instruction");
  await page.waitForFunction(() => document.querySelector("[data-testid=out-instruction]").textContent.includes("<img src=x"));
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(await page.$$eval("main img, main script", (els) => els.map((e) => e.outerHTML)), []);
});

await step("a template that would allocate gigabytes ends in a diagnostic, not a dead page", async () => {
  const chain = '{% set v0 = "xxxxxxxxxx" %}' + Array.from({ length: 32 }, (_, i) => `{% set v${i + 1} = v${i} ~ v${i} %}`).join("") + "{{ v32|length }}";
  await setEditorText(page, pattern("enumerate_instead_of_range_len.yaml").replace("Write a function", `${chain} Write a function`));
  await page.waitForSelector("[data-testid=diagnostics]");
  assert.match(await page.textContent("[data-testid=diagnostics]"), /ran out of fuel/);
  await setEditorText(page, pattern("enumerate_instead_of_range_len.yaml"));
  await page.waitForSelector("[data-testid=no-diagnostics]");
});

await step("the page's content security policy refuses other origins", async () => {
  // An unwatched page: the refusal itself is logged as a console error. (no-cors: without
  // the policy this fetch would succeed with an opaque response.)
  const ctx = await browser.newContext();
  const p2 = await ctx.newPage();
  await openPlayground(p2, site.url);
  const other = site.url.replace("127.0.0.1", "localhost");
  const verdict = await p2.evaluate((u) => fetch(u, { mode: "no-cors" }).then(() => "fetched", () => "refused"), other);
  assert.equal(verdict, "refused");
  assert.equal(await p2.evaluate(() => fetch("library.json").then((r) => r.status)), 200);
  await ctx.close();
});

let link;
await step("permalink round-trips pattern, seed and overrides into a fresh browser", async () => {
  await pick(page, "anti_patterns/bare_except_swallowing.yaml");
  const text = (await editorText(page)).replace("pattern_id:", "# shared edit\npattern_id:");
  await setEditorText(page, text);
  await page.fill("[data-testid=seed]", "77");
  await page.press("[data-testid=seed]", "Tab");
  // A click overrides the drawn switch, whichever way it was drawn.
  await page.click('input[data-param="is_anti_pattern"]');
  await page.waitForFunction(() => document.querySelector(".param-name.overridden"));
  await settled(page);
  const want = await row();
  await page.click("[data-testid=permalink]");
  link = await page.inputValue("[data-testid=permalink-url]");
  assert.ok(link.startsWith(site.url) && link.includes("#p1."), link);
  const fresh = await browser.newContext();
  const p2 = await watchedPage(fresh, errors);
  await openPlayground(p2, link);
  assert.equal(await p2.textContent("[data-testid=out-row]"), want);
  assert.equal(await p2.inputValue("[data-testid=seed]"), "77");
  assert.equal(await editorText(p2), text);
  await p2.screenshot({ path: join(out, "06-permalink.png"), fullPage: true });
  await fresh.close();
});

await step("`plse-batch render --permalink` opens a pull request's version of a pattern in a fresh browser", async () => {
  // The pull request's library: one pattern changed (its instruction), as a PR would.
  const pr = mkdtempSync(join(tmpdir(), "plse-pr-"));
  const rel = "enumerate_instead_of_range_len.yaml";
  const changed = pattern(rel).replace("Use enumerate rather than range(len(lines)).", "Number the lines with enumerate, not range(len(lines)).");
  assert.notEqual(changed, pattern(rel));
  mkdirSync(join(pr, "patterns"));
  writeFileSync(join(pr, "patterns", rel), changed);
  const cli = (...args) => execFileSync(batch, ["render", join(pr, "patterns", rel), "--patterns", join(pr, "patterns"), "--seed", "31", "--index", "2", ...args], { cwd: root, encoding: "utf8" }).trimEnd();
  const prLink = cli("--permalink", site.url);
  assert.ok(prLink.startsWith(`${site.url}#p1.`), prLink);
  const fresh = await browser.newContext();
  const p2 = await watchedPage(fresh, errors);
  await openPlayground(p2, prLink);
  assert.equal(await editorText(p2), changed);
  assert.equal(await p2.textContent("[data-testid=out-row]"), cli("--row"));
  assert.match(await p2.textContent("[data-testid=out-row]"), /Number the lines with enumerate/);
  assert.equal(await p2.inputValue("[data-testid=seed]"), "31");
  await p2.screenshot({ path: join(out, "06b-cli-permalink.png"), fullPage: true });
  await fresh.close();
  rmSync(pr, { recursive: true, force: true });
});

await step("a damaged or oversized permalink gives a clear message, not a blank page", async () => {
  const fresh = await browser.newContext();
  let p2;
  for (const bad of [link.slice(0, link.length - 7), `${site.url}#p1.${"A".repeat(1_200_000)}`, `${site.url}#p1.!!!`]) {
    p2 = await watchedPage(fresh, errors);
    await openPlayground(p2, bad);
    assert.match(await p2.textContent("[data-testid=notice]"), /Could not open the link/);
    assert.ok((await p2.textContent("[data-testid=out-row]")).length > 10, "the page still renders a pattern");
  }
  await p2.screenshot({ path: join(out, "07-bad-link.png") });
  await fresh.close();
});

await step("autosave survives a reload", async () => {
  const text = await editorText(page);
  await page.goto(site.url);
  await page.waitForFunction(() => window.__plse && window.__plse.renders >= 1);
  assert.equal(await editorText(page), text);
});

await step("dark/light toggle, new pattern from the template, YAML download", async () => {
  const before = await page.getAttribute("html", "data-theme");
  await page.click("[data-testid=theme]");
  assert.notEqual(await page.getAttribute("html", "data-theme"), before);
  await shot("08-theme");
  await page.click("[data-testid=new-pattern]");
  await page.waitForFunction(() => document.querySelector("[data-testid=editor]").textContent.includes("my_new_pattern"));
  assert.ok(await page.$("[data-testid=no-diagnostics]"));
  await page.selectOption("[data-testid=category]", "tradeoffs");
  await page.waitForFunction(() => document.querySelector("[data-testid=out-record]").textContent.includes('"category": "tradeoffs"'));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=download]")]);
  assert.equal(download.suggestedFilename(), "my_new_pattern.yaml");
  assert.equal(readFileSync(await download.path(), "utf8"), await editorText(page));
});

await step("a failing autosave is reported once, and the page keeps working", async () => {
  const ctx = await browser.newContext();
  await ctx.addInitScript(() => {
    Storage.prototype.setItem = () => { throw new DOMException("full", "QuotaExceededError"); };
  });
  const p2 = await watchedPage(ctx, errors);
  await openPlayground(p2, site.url);
  assert.match(await p2.textContent("[data-testid=notice]"), /Autosave failed/);
  await p2.click("[data-testid=notice] button");
  await p2.click("[data-testid=next-sample]");
  await p2.waitForFunction(() => document.querySelector("[data-testid=out-record]").textContent.includes('"index": 1'));
  assert.equal(await p2.$("[data-testid=notice]"), null, "told once, not on every render");
  await ctx.close();
});

await step("no console errors and no page errors", async () => {
  assert.deepEqual(errors, []);
});

await browser.close();
site.close();
const failed = results.filter(([, r]) => r !== "ok");
console.log(`\ne2e: ${results.length - failed.length}/${results.length} passed; screenshots in web/e2e/out/`);
process.exit(failed.length ? 1 : 0);
