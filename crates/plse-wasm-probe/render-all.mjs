// Loads the raw PLSE wasm module and answers every request in a JSON file.
// Usage: node render-all.mjs MODULE.wasm REQUESTS.json > ANSWERS.json
import { readFileSync } from "node:fs";

const [wasmPath, requestsPath] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const { memory, plse_alloc, plse_render, plse_result_ptr } = instance.exports;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

const answers = JSON.parse(readFileSync(requestsPath, "utf8")).map((request) => {
  const bytes = encoder.encode(JSON.stringify(request));
  const ptr = plse_alloc(bytes.length);
  new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
  const len = plse_render(ptr, bytes.length);
  // Read after the call: memory.buffer is replaced whenever the module's memory grows.
  return decoder.decode(new Uint8Array(memory.buffer, plse_result_ptr(), len));
});
process.stdout.write(JSON.stringify(answers));
