// run_exports.cjs FILE.wasm — what `wasm-interp --run-all-exports` prints,
// by V8 (node): one instance, every exported function called in order
// with no arguments, one line each, "NAME() => i32:N, i64:N" or
// "NAME() => error: CAUSE". diff_exec --node compares zvm with it on
// modules with the exception handling instructions, which wasm-interp
// 1.0.32 cannot run (diff_exec.c). Only i32 and i64 results (JavaScript
// cannot take a v128); a trap's cause is V8's message, which diff_exec
// maps to zvm's; an exception that leaves the export is "uncaught
// exception", as wasm-interp says.
'use strict';
const fs = require('fs');

const mod = new WebAssembly.Module(fs.readFileSync(process.argv[2]));
const instance = new WebAssembly.Instance(mod, {});

function value(v) {
    if (typeof v === 'bigint')
        return 'i64:' + BigInt.asUintN(64, v).toString();
    return 'i32:' + (v >>> 0).toString();
}

for (const e of WebAssembly.Module.exports(mod)) {
    if (e.kind !== 'function')
        continue;
    let line = e.name + '() =>';
    try {
        const r = instance.exports[e.name]();
        const values = Array.isArray(r) ? r : r === undefined ? [] : [r];
        line += values.map((v, i) => (i ? ', ' : ' ') + value(v)).join('');
    } catch (err) {
        if (err instanceof WebAssembly.Exception)
            line += ' error: uncaught exception';
        else
            line += ' error: ' + String(err.message).split('\n')[0];
    }
    console.log(line);
}
