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
  // Ready: the first sample rendered and the library listed (the engine worker loads it after
  // the first render).
  await page.waitForFunction(() => window.__plse && window.__plse.renders >= 1 && window.__plse.libraryItems >= 1, null, { timeout: 30_000 });
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
  await settled(page);
}

// Waits until the latest evaluation the page requested has been answered and drawn (the
// engine runs in a worker: an edit's sample arrives a moment after the edit).
export async function settled(page) {
  await page.waitForFunction(() => window.__plse.answered === window.__plse.requested && window.__plse.domRenders === window.__plse.renders, null, {
    timeout: 10_000,
  });
}

// Opens a library file from the list (its text is fetched, then rendered) and waits for it.
export async function pick(page, path) {
  const before = await page.evaluate(() => window.__plse.renders);
  await page.click(`.library-item[data-path="${path}"]`);
  await page.waitForFunction(
    ([p, n]) => document.querySelector(".panel-head h2").textContent === p && window.__plse.renders > n,
    [path, before],
    { timeout: 10_000 },
  );
  await settled(page);
}

export async function editorText(page) {
  return page.evaluate(() => PlseUi.editorOf(document.querySelector("[data-testid=editor] .cm-editor")).state.doc.toString());
}
