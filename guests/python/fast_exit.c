/*
 * fast_exit.c — CPython's exit without the teardown, for python.wasm
 * (scripts/build-python.sh links it with -Wl,--wrap=Py_FinalizeEx;
 * CPython's source is not patched). wasm-ld 14, as lld, rewrites every
 * reference, those inside pylifecycle.c too: Py_RunMain's (a normal end,
 * an uncaught exception), Py_Exit's (SystemExit) and Py_Finalize's all
 * come here, and the real Py_FinalizeEx is not even in the module.
 *
 * A zvm record ends with its instance: nothing the interpreter frees at
 * exit outlives it. Py_FinalizeEx costs 1.6-1.9 ms natively after
 * `import re` (collecting, clearing every module, freeing every object),
 * which capped a filter near 300 records/s per worker; ending with
 * os._exit(0) ran at 52-60k/s. This wrapper does what Py_FinalizeEx does
 * first, the part a program can observe (CPython 3.11,
 * Python/pylifecycle.c), in the same order:
 *   - threading._shutdown() if threading was imported (joins non-daemon
 *     threads; there are none on WASI, but it is what runs);
 *   - the atexit handlers (_PyAtExit_Call: the same function, which
 *     reports a failing handler as "Exception ignored in atexit
 *     callback");
 *   - sys.stdout and sys.stderr flushed as flush_std_files does: a failed
 *     stdout flush is reported as unraisable and the status is -1, which
 *     Py_RunMain turns into exit status 120, and Py_Exit too.
 * It then returns without tearing down, so Py_RunMain returns the exact
 * exit status, or Py_Exit calls exit() with it. What no longer happens at
 * exit: the final garbage collection, module teardown and the __del__
 * methods and weakref callbacks they would run, and the C functions of
 * Py_AtExit (CPython registers none on WASI). This is the same judgment
 * as the Lua guest's lua_close (guests/lua/lua_close.c), and README's
 * "python.wasm" section says it to users.
 */
#include <Python.h>

/* Modules/atexitmodule.c: runs and clears the interpreter's atexit
 * callbacks. Internal to CPython (pycore_pylifecycle.h), so declared here;
 * its signature is checked by wasm-ld against the definition. */
void _PyAtExit_Call(PyInterpreterState *interp);

int __wrap_Py_FinalizeEx(void);

static void shutdown_threading(void)
{
    PyObject *name = PyUnicode_FromString("threading");
    PyObject *threading = name ? PyImport_GetModule(name) : NULL; /* new reference */
    Py_XDECREF(name);
    if (!threading) {
        if (PyErr_Occurred())
            PyErr_WriteUnraisable(NULL);
        return;
    }
    PyObject *r = PyObject_CallMethod(threading, "_shutdown", NULL);
    if (!r)
        PyErr_WriteUnraisable(threading);
    Py_XDECREF(r);
    Py_DECREF(threading);
}

/* pylifecycle.c's file_is_closed: an object without a usable "closed" is
 * taken as open. */
static int file_is_closed(PyObject *f)
{
    PyObject *closed = PyObject_GetAttrString(f, "closed");
    if (!closed) {
        PyErr_Clear();
        return 0;
    }
    int r = PyObject_IsTrue(closed);
    Py_DECREF(closed);
    if (r < 0)
        PyErr_Clear();
    return r > 0;
}

/* pylifecycle.c's flush_std_files: 0, or -1 when a flush failed (a failed
 * stdout flush is reported; a failed stderr flush cannot be). */
static int flush_std_files(void)
{
    PyObject *out = PySys_GetObject("stdout"), *err = PySys_GetObject("stderr"); /* borrowed */
    int status = 0;
    if (out && out != Py_None && !file_is_closed(out)) {
        PyObject *r = PyObject_CallMethod(out, "flush", NULL);
        if (!r) {
            PyErr_WriteUnraisable(out);
            status = -1;
        }
        Py_XDECREF(r);
    }
    if (err && err != Py_None && !file_is_closed(err)) {
        PyObject *r = PyObject_CallMethod(err, "flush", NULL);
        if (!r) {
            PyErr_Clear();
            status = -1;
        }
        Py_XDECREF(r);
    }
    return status;
}

int __wrap_Py_FinalizeEx(void)
{
    if (!Py_IsInitialized())
        return 0;
    shutdown_threading();
    _PyAtExit_Call(PyInterpreterState_Get());
    return flush_std_files();
}
