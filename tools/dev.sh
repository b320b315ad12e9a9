#!/usr/bin/env bash
# One entry point for a newcomer on a fresh Debian 12 machine:
#   tools/dev.sh run [arbor args...]   install what is missing, build, start the controller
#   tools/dev.sh test                  install what is missing, build, run the whole test suite
#   tools/dev.sh build                 install what is missing and build only
# Environment: BUILD_DIR (default build), CI=true turns on -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}

packages=(g++ cmake make pkg-config libnng-dev libyaml-cpp-dev libboost-dev catch2 libedit-dev
          libcli11-dev libspdlog-dev libfmt-dev)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "arbor: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2
}

build() {
  local werror=OFF
  [ "${CI:-}" = true ] && werror=ON
  cmake -S . -B "$build_dir" -DARBOR_WERROR="$werror" >&2
  cmake --build "$build_dir" -j"$(nproc)" >&2
}

cmd=${1:-run}
[ $# -gt 0 ] && shift
install_missing
build
case "$cmd" in
  build) ;;
  run) exec "$build_dir/bin/arbor" "$@" ;;
  test) cd "$build_dir" && exec ctest --output-on-failure -j"$(nproc)" --timeout 300 "$@" ;;
  *) echo "usage: tools/dev.sh run|test|build" >&2; exit 2 ;;
esac
