// Stages the playground's JavaScript side into the site (run by trunk's pre_build hook, or
// by hand: `node web/js/build.mjs OUT_DIR`): the page bundle, the three workers, Pyodide's core
// files, ruff's wasm and the raw pattern files. Everything is served by the site itself.
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const out = resolve(process.argv[2] || process.env.TRUNK_STAGING_DIR || join(root, "target/web-js"));
const release = process.env.TRUNK_PROFILE === "release" || process.argv.includes("--release");
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: release, sourcemap: !release, logLevel: "warning", legalComments: "none", target: "es2022" };
// The page bundle is an ES module split by esbuild: plse-ui.js and the chunks it imports
// statically load with the page; lazy.js (the merge view and the legacy TOML/Dockerfile/shell
// modes) becomes a chunk fetched on first use through `import()`. Every chunk name starts with
// `plse-ui-`; `cargo xtask budgets` counts what the page fetched before its first render.
await build({
  ...common,
  entryPoints: { "plse-ui": join(root, "web/js/src/ui.js") },
  outdir: out,
  format: "esm",
  splitting: true,
  chunkNames: "plse-ui-[name]-[hash]",
});
await build({
  ...common,
  entryPoints: [join(root, "web/js/src/py-worker.js")],
  outfile: join(out, "py-worker.js"),
  format: "esm",
  loader: { ".py": "text" },
  external: ["./pyodide/pyodide.mjs"],
});
await build({ ...common, entryPoints: [join(root, "web/js/src/ruff-worker.js")], outfile: join(out, "ruff-worker.js"), format: "esm" });
// The engine worker around trunk's wasm-bindgen output for the `plse-engine` binary.
await build({
  ...common,
  entryPoints: [join(root, "web/js/src/engine-worker.js")],
  outfile: join(out, "engine-worker.js"),
  format: "esm",
  external: ["./plse-engine.js"],
});

const pyodide = join(root, "node_modules/pyodide");
mkdirSync(join(out, "pyodide"), { recursive: true });
for (const f of ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]) {
  cpSync(join(pyodide, f), join(out, "pyodide", f));
}
mkdirSync(join(out, "ruff"), { recursive: true });
cpSync(join(root, "node_modules/@astral-sh/ruff-wasm-web/ruff_wasm_bg.wasm"), join(out, "ruff/ruff_wasm_bg.wasm"));

// The library: one bundle the app fetches at start (library.json), and the files themselves
// for direct links.
const library = [];
const copyYaml = (from, to, rel) => {
  for (const name of readdirSync(from).sort()) {
    const src = join(from, name);
    if (statSync(src).isDirectory()) copyYaml(src, join(to, name), `${rel}${name}/`);
    else if (name.endsWith(".yaml") || name.endsWith(".yml")) {
      mkdirSync(to, { recursive: true });
      cpSync(src, join(to, name));
      library.push({ path: `${rel}${name}`, text: readFileSync(src, "utf8") });
    }
  }
};
copyYaml(join(root, "patterns"), join(out, "patterns"), "");
writeFileSync(join(out, "library.json"), JSON.stringify(library));
