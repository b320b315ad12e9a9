#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang in build-fuzz and runs each one on a copy
# of its seed corpus; fails when any target finds a crash, a hang, a leak or a broken property.
#   tools/fuzz.sh [TARGET...]              smoke run: FUZZ_SECONDS (default 25) per target
#   tools/fuzz.sh --long SECONDS [TARGET...]  campaign: SECONDS per target, one at a time, on a
#                                          corpus kept in build-fuzz/campaign/ between runs
#   tools/fuzz.sh --corpus                 regenerate the committed seeds (tests/fuzz/corpus/)
#   tools/fuzz.sh --list                   the target names
# A finding is saved as build-fuzz/findings/<target>-crash-<sha1> (replay: build-fuzz/bin/
# fuzz_<target> FILE); docs/fuzzing.md says how to minimise it and make it a unit test.
# Needs clang and libFuzzer (Debian 12: apt-get install clang libclang-rt-dev); installs them,
# with the build's libraries, through tools/lib/packages.sh like tools/dev.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build-fuzz

# shellcheck source=lib/packages.sh
source tools/lib/packages.sh

# clang with libFuzzer and the sanitizer runtimes (a Recommends of clang, which ensure_packages
# skips), and the libraries the runtime builds against. Not in tools/dev.sh's list: a newcomer's
# first build does not need a second compiler.
packages=(clang libclang-rt-dev cmake make pkg-config libnng-dev libyaml-cpp-dev libboost-dev
          libedit-dev libcli11-dev libspdlog-dev libfmt-dev)

targets_all() {
  sed -n 's/^arbor_add_fuzzer(\([a-z_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt
}

build() {
  if ! ensure_packages "${packages[@]}" || ! command -v clang++ >/dev/null; then
    echo "fuzz.sh: needs clang with libFuzzer: on Debian 12, apt-get install clang libclang-rt-dev" >&2
    exit 1
  fi
  local werror=OFF
  [ "${CI:-}" = true ] && werror=ON
  CXX=clang++ cmake -S . -B "$build_dir" -DARBOR_FUZZ=ON -DARBOR_BUILD_TESTS=OFF \
    -DARBOR_BUILD_BENCH=OFF -DARBOR_WERROR="$werror" >&2
  # Only the fuzzers and what they link: the rest of the tree is the normal build's business.
  cmake --build "$build_dir" --target arbor_fuzzers arbor_fuzz_corpus -j"$(nproc)" >&2
}

# The last line of libFuzzer's progress output, as "execs exec/s cov ft corpus".
summary() {
  local log=$1 execs rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  grep -E '^#[0-9]+' "$log" | tail -1 |
    sed -E "s/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+\/[0-9a-zA-Z]+).*/execs ${execs:-?} exec\/s ${rate:-?} cov \1 ft \2 corpus \3/"
}

# run TARGET SECONDS CORPUS_DIR: true when the fuzzer found nothing.
run() {
  local t=$1 seconds=$2 corpus=$3 log="$build_dir/logs/$1.log"
  mkdir -p "$build_dir/logs" "$build_dir/findings" "$corpus"
  # -timeout: an input that takes this long is a hang, reported as a finding. Output goes to a
  # log: the journal target's loader writes a line per damaged file it meets.
  if "$build_dir/bin/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build_dir/findings/$t-" "$corpus" \
      tests/fuzz/corpus/"$t" >"$log" 2>&1; then
    printf '%-15s ok    %s\n' "$t" "$(summary "$log")"
    return 0
  fi
  printf '%-15s FOUND %s (log: %s)\n' "$t" "$(grep -m1 -oE 'SUMMARY: .*|property broken: .*|ERROR: libFuzzer: [a-z-]+' "$log" || echo crash)" "$log"
  grep -E 'property broken|ERROR:|SUMMARY:|Test unit written|^    #[0-9]' "$log" | head -20 >&2
  return 1
}

seconds=${FUZZ_SECONDS:-25}
mode=smoke
case "${1:-}" in
  --long) mode=long; seconds=${2:?usage: tools/fuzz.sh --long SECONDS [TARGET...]}; shift 2 ;;
  --corpus) build; rm -rf tests/fuzz/corpus
            "$build_dir/bin/arbor_fuzz_corpus" . tests/fuzz/corpus; exit 0 ;;
  --list) targets_all; exit 0 ;;
  -*) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(targets_all); fi

build
failed=()
for t in "${targets[@]}"; do
  if [ "$mode" = long ]; then
    # A campaign's corpus grows across runs; the seeds are read beside it, never written.
    corpus="$build_dir/campaign/$t"
  else
    # A smoke run starts from the seeds alone, so CI runs are alike; what it finds is thrown away.
    corpus="$build_dir/smoke/$t"
    rm -rf "$corpus"
  fi
  run "$t" "$seconds" "$corpus" || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]} (inputs in $build_dir/findings/; see docs/fuzzing.md)" >&2
  exit 1
fi
