// Debian's Chromium driven by playwright-core, offline: no browser download, no background
// networking (the machine's network is closed), a fresh profile per run.
import { chromium } from "playwright-core";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

// A page that records every console error (its workers' too) and uncaught page error.
export async function watchedPage(context, errors) {
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  page.on("worker", (w) => w.on("console", (m) => { if (m.type() === "error") errors.push(`worker ${w.url()}: ${m.text()}`); }));
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return page;
}

export async function openPlayground(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.__plse && window.__plse.renders >= 1, null, { timeout: 30_000 });
}

// Replaces the editor's whole text through CodeMirror (a user edit: it is debounced and
// rendered like typing), then waits for the render it causes.
export async function setEditorText(page, text) {
  const before = await page.evaluate(() => window.__plse.renders);
  await page.evaluate((t) => {
    const view = PlseUi.editorOf(document.querySelector("[data-testid=editor] .cm-editor"));
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } });
  }, text);
  await page.waitForFunction((n) => window.__plse.renders > n, before, { timeout: 10_000 });
}

export async function editorText(page) {
  return page.evaluate(() => PlseUi.editorOf(document.querySelector("[data-testid=editor] .cm-editor")).state.doc.toString());
}
