// node_run.mjs — the Node.js peer of one `zvm run PROG.wasm`: runs a
// wasm32-wasi program once under Node's WASI, with the process's stdin,
// stdout and stderr (perf/startup.sh, perf/large.sh).
//
//   node --experimental-wasi-unstable-preview1 node_run.mjs PROG.wasm
// NODE_WASI_DIRS="GUEST=HOST,..." preopens host folders (perf/realworld's
// CPython reads its standard library so).
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
const preopens = Object.fromEntries((process.env.NODE_WASI_DIRS || '').split(',')
                                    .filter(Boolean).map((d) => d.split('=')));
const wasi = new WASI({ version: 'preview1', args: process.argv.slice(2), preopens });
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(process.argv[2])),
                                          wasi.getImportObject());
wasi.start(instance);
