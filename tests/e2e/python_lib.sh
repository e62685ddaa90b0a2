# python_lib.sh — sourced, after lib.sh, by the tests of the installed
# CPython (python_guest.sh, python_filter.sh, python_libtest.sh), with
# $build set: py (python.wasm), whose standard library is the image its
# `zvm.mount` section names (no option gives it). Skips (77) when the
# guest was not built. The code cache is the build's
# (build/guests/cache, filled once by the e2e_python_compile fixture):
# gcc takes minutes over this module, which every test would pay again.
py=$build/guests/python.wasm
if [ ! -f "$py" ] || [ ! -f "$build/guests/python3.11.tar" ]; then
    echo "$(basename "$0" .sh): $py was not built (see the guests target's message); skipped"
    exit 77
fi
export ZVM_CACHE=$build/guests/cache
