#!/usr/bin/env bash
# Install zvm's build and test dependencies from Debian 12 packages, only
# those that are missing. Run as root (or with sudo available).
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config   # the build
  libssl-dev                                     # rediss:// (headers); tests: a second SHA-256
  liburing-dev libjemalloc-dev libhwloc-dev      # io, allocator, topology
  libcriterion-dev                               # unit tests
  wabt                                           # wast2json, wasm-validate
  tcc                                            # the fast compiler (ZVM_CC=tcc)
  clang lld wasi-libc libclang-rt-14-dev-wasm32  # guests: clang --target=wasm32-wasi
  llvm-14                                        # llvm-ar: zvm's guest library (guest/)
  libc++-14-dev-wasm32 libc++abi-14-dev-wasm32   # C++ guests (zvm-c++)
  libc++-14-dev libc++abi-14-dev                 # tests: C++ guests' native builds
  libclang-rt-14-dev                             # the fuzzer runtime (libFuzzer)
  nodejs                                         # tests: V8, diff_exec --node's reference
  libhiredis-dev redis-server redis-tools        # zvm consume; its tests start redis-server
  time python3                                   # tests: peak RSS (/usr/bin/time), tar images
  mandoc                                         # tests: lint the man pages
  curl systemd                                   # tests: scrape --metrics, systemd-analyze verify
  lua5.4                                         # tests: the Lua guest's oracle (Debian's native lua5.4)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "zvm: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
