#!/usr/bin/env bash
# The unit tests under ASan+UBSan: builds them (and only what they need) with
# -DARBOR_SANITIZE=address in build-asan and runs `ctest -L unit` there. Any sanitizer report
# fails the run: UBSan stops at its first error instead of printing and going on.
#   tools/sanitize.sh [ctest args...]
# Environment: CI=true turns on -Werror, as in tools/dev.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build-asan

# shellcheck source=lib/packages.sh
source tools/lib/packages.sh
# GCC's own ASan and UBSan runtimes come with g++; the rest is what the unit tests link.
ensure_packages g++ cmake make pkg-config libnng-dev libyaml-cpp-dev libboost-dev catch2 \
  libedit-dev libcli11-dev libspdlog-dev libfmt-dev

werror=OFF
[ "${CI:-}" = true ] && werror=ON
# -O1 -g1: the sanitizers' usual level, with line tables for their reports. Most of this stage
# is compiling, and -O2 -g (RelWithDebInfo) made it take twice as long as the tests stage.
cmake -S . -B "$build_dir" -DARBOR_SANITIZE=address -DARBOR_WERROR="$werror" \
  -DARBOR_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" >&2
cmake --build "$build_dir" --target arbor_unit_tests -j"$(nproc)" >&2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cd "$build_dir" && exec ctest -L unit --output-on-failure -j"$(nproc)" --timeout 300 "$@"
