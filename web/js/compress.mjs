// Precompressed copies for static hosts that serve them (nginx `gzip_static`/`brotli_static`,
// Caddy `precompressed`, most CDNs): FILE.gz (gzip -9) and FILE.br (brotli) beside every
// compressible file of the site. Run by trunk's post_build hook on release builds (or by
// hand: `node web/js/compress.mjs DIR`). A copy is written only when it is smaller.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { brotliCompress, constants, gzipSync } from "node:zlib";
import { promisify } from "node:util";

const dir = resolve(process.argv[2] || process.env.TRUNK_STAGING_DIR || "dist");
if (!process.argv[2] && process.env.TRUNK_PROFILE !== "release") process.exit(0); // `trunk serve`: not needed
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".wasm", ".json", ".svg", ".yaml", ".yml", ".map", ".txt"]);
// Brotli's best (quality 11) costs ~2 s per MB: the app's own files get it; the large
// third-party files (Pyodide, ruff, library.json: several MB each, loaded on demand or as
// data) get quality 9, ~10x faster for a few percent more bytes.
const BEST_UP_TO = 2 << 20;

const files = [];
const walk = (d) => {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (COMPRESSIBLE.has(extname(name))) files.push(p);
  }
};
walk(dir);

const br = promisify(brotliCompress);
let raw = 0, gz = 0, brs = 0;
await Promise.all(files.map(async (f) => {
  const body = readFileSync(f);
  const g = gzipSync(body, { level: 9 });
  const b = await br(body, { params: {
    [constants.BROTLI_PARAM_QUALITY]: body.length <= BEST_UP_TO ? 11 : 9,
    [constants.BROTLI_PARAM_LGWIN]: body.length <= BEST_UP_TO ? 24 : 22,
    [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
  } });
  raw += body.length;
  if (g.length < body.length) { writeFileSync(`${f}.gz`, g); gz += g.length; } else gz += body.length;
  if (b.length < body.length) { writeFileSync(`${f}.br`, b); brs += b.length; } else brs += body.length;
}));
const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;
console.log(`precompressed ${files.length} files: ${mb(raw)} raw, ${mb(gz)} gzip, ${mb(brs)} brotli`);
