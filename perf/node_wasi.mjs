// node_wasi.mjs — the Node.js peer of the batch benchmark: the same
// wasm32-wasi filter under Node's WASI (node --experimental-wasi-unstable-
// preview1), one fresh instance per record: the module is compiled once,
// each record is instantiated anew with the record as its stdin.
// Prints "count seconds records_per_second".
//
//   node --expose-gc --experimental-wasi-unstable-preview1 node_wasi.mjs M.wasm RECORDS COUNT
import { readFileSync, openSync, closeSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [wasmPath, recordsPath, countArg] = process.argv.slice(2);
const module = new WebAssembly.Module(readFileSync(wasmPath));
const records = readFileSync(recordsPath, 'utf8').split('\n').filter((l) => l.length).map((l) => l + '\n');
const count = Number(countArg);
const dir = mkdtempSync(join(tmpdir(), 'zvm-node-'));
const inputs = records.slice(0, 64).map((r, i) => { const p = join(dir, `r${i}`); writeFileSync(p, r); return p; });
const devnull = openSync('/dev/null', 'w');
const t0 = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  const fd = openSync(inputs[i % inputs.length], 'r');
  const wasi = new WASI({ version: 'preview1', args: ['filter'], stdin: fd, stdout: devnull, returnOnExit: true });
  const instance = new WebAssembly.Instance(module, wasi.getImportObject());
  wasi.start(instance);
  closeSync(fd);
  // V8 reserves address space per wasm memory and frees it only when the
  // instance is collected: without a periodic GC, thousands of instances
  // exhaust it and node crashes. The collection is part of the peer's cost.
  if (i % 200 === 199 && globalThis.gc) globalThis.gc();
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
rmSync(dir, { recursive: true });
console.log(`${count} ${s.toFixed(3)} ${(count / s).toFixed(0)}`);
