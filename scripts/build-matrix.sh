#!/usr/bin/env bash
# build-matrix.sh — builds zvm in every CMake build type with gcc and with
# clang, warnings as errors (ZVM_WERROR=ON), each in its own folder under
# build-matrix/ (or $1). Opt-in: it takes several minutes on 2 cores and
# is not part of scripts/test.sh. Prints one line per build, then exits
# non-zero if any failed; the failing build's log is kept in its folder.
# The ready guests (target guests: Lua from Debian's source) are left out:
# they are zvm-cc's output, the same in every build type.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-build-matrix}"
mkdir -p "$out"
failed=0
for cc in gcc clang; do
  for type in Release Debug RelWithDebInfo MinSizeRel; do
    dir="$out/$cc-$type"
    if CC=$cc cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=$type -DZVM_WERROR=ON \
         -DZVM_GUESTS=OFF >"$dir.log" 2>&1 && cmake --build "$dir" >>"$dir.log" 2>&1; then
      echo "build-matrix: $cc $type: ok"
    else
      echo "build-matrix: $cc $type: FAILED (see $dir.log)"
      failed=1
    fi
  done
done
exit $failed
