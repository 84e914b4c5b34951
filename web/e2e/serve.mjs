// A static file server for dist/ under a sub-path (proving the site needs no server code
// and works below any path), on a random loopback port. No directory listing, no SPA
// fallback: a missing file is a 404, as on a plain static host. Like a host configured for
// precompressed files, it answers with FILE.br or FILE.gz (written by web/js/compress.mjs)
// when the browser accepts that encoding, so the tests run on the copies a host would serve.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json",
  ".zip": "application/zip", ".yaml": "text/yaml; charset=utf-8", ".map": "application/json",
};

export async function serve(dir, prefix = "/plse/playground/") {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (!path.startsWith(prefix)) { res.writeHead(404).end(); return; }
    let file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const headers = { "content-type": TYPES[extname(file)] || "application/octet-stream", vary: "accept-encoding" };
      const accepted = String(req.headers["accept-encoding"] || "").split(",").map((e) => e.trim().split(";")[0]);
      let body = null;
      for (const [enc, ext] of [["br", ".br"], ["gzip", ".gz"]]) {
        if (body || !accepted.includes(enc)) continue;
        body = await readFile(`${file}${ext}`).catch(() => null);
        if (body) headers["content-encoding"] = enc;
      }
      body ??= await readFile(file);
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}${prefix}`, close: () => server.close() };
}
