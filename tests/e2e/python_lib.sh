# python_lib.sh — sourced, after lib.sh, by the tests of the installed
# CPython (python_guest.sh, python_filter.sh, python_libtest.sh), with
# $build set: py (python.wasm), and the options that give it its standard
# library. A zvm that mounts the image the module's `zvm.mount` section
# names needs none; before that mechanism, the image's files are unpacked
# here and given as a read-only --dir at the same guest path
# (run_opts for zvm run, batch_opts for batch and consume). Skips (77)
# when the guest was not built. The code cache is the build's
# (build/guests/cache, filled once by the e2e_python_compile fixture):
# gcc takes minutes over this module, which every test would pay again.
py=$build/guests/python.wasm
if [ ! -f "$py" ] || [ ! -f "$build/guests/python3.11.tar" ]; then
    echo "$(basename "$0" .sh): $py was not built (see the guests target's message); skipped"
    exit 77
fi
export ZVM_CACHE=$build/guests/cache # (the probe below waits for gcc: no build in the background)
run_opts=() batch_opts=()
if ZVM_TIER=0 "$zvm" run "$py" -c 'import os' > /dev/null 2> mount_probe.err && [ ! -s mount_probe.err ]; then
    echo "the standard library: the image named by python.wasm's zvm.mount section"
else
    mkdir stdlib && tar -C stdlib -xf "$build/guests/python3.11.tar" || exit 1
    run_opts=(--dir "$tmp/stdlib::/usr/local/lib/python3.11:ro")
    batch_opts=(--dir "$tmp/stdlib::/usr/local/lib/python3.11")
    echo "the standard library: this zvm does not mount zvm.mount sections;" \
         "python3.11.tar unpacked as a read-only --dir"
fi
