#!/usr/bin/env bash
# One entry point for a newcomer on a fresh Debian 12 machine:
#   tools/dev.sh run [arbor args...]   install what is missing, build, start the controller
#   tools/dev.sh test                  install what is missing, build, run the whole test suite
#   tools/dev.sh build                 install what is missing and build only
# Environment: BUILD_DIR (default build), CI=true turns on -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}

# shellcheck source=lib/packages.sh
source tools/lib/packages.sh

packages=(g++ cmake make pkg-config libnng-dev libyaml-cpp-dev libboost-dev catch2 libedit-dev
          libcli11-dev libspdlog-dev libfmt-dev openssh-client openssh-server openssl iproute2
          procps strace python3)

build() {
  local werror=OFF
  [ "${CI:-}" = true ] && werror=ON
  cmake -S . -B "$build_dir" -DARBOR_WERROR="$werror" >&2
  cmake --build "$build_dir" -j"$(nproc)" >&2
}

cmd=${1:-run}
[ $# -gt 0 ] && shift
ensure_packages "${packages[@]}"
build
case "$cmd" in
  build) ;;
  run) exec "$build_dir/bin/arbor" "$@" ;;
  test) cd "$build_dir" && exec ctest --output-on-failure -j"$(nproc)" --timeout 300 "$@" ;;
  *) echo "usage: tools/dev.sh run|test|build" >&2; exit 2 ;;
esac
