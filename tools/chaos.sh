#!/usr/bin/env bash
# The chaos suite (tests/chaos/, docs/chaos.md): a self-healing tree under random kill -9,
# SIGSTOP and bursts of kills, with a pipelined workload whose history is then checked for lost,
# stale, reordered and phantom values (tests/chaos/checker.py), and the time the tree takes to
# heal after the last fault.
#   tools/chaos.sh [--seed N] [--duration S] [--runs K] [--bin DIR] [--out DIR] [chaos.py args]
#       K consecutive runs (default 1) with seeds N..N+K-1 (default: a random N), then a table
#   tools/chaos.sh --smoke   CI: the checker's self-test; a 30 s run with seed 1 and fsync that
#                            must pass (no anomaly, healed within 10 s); a 12 s run with
#                            durability none and kills only that must report lost writes (the
#                            proof the checker can fail)
#   tools/chaos.sh --long    10 runs of 75 s (the issue's long mode); other args still apply
#   tools/chaos.sh --lab N   every run on a namespace lab of N hosts (root only): nodes started
#                            over ssh, tls+tcp between them, and partitions of hosts among the
#                            faults. With --smoke, the smoke's lab run uses N hosts (default 3)
#   The smoke adds, as root where a lab can be built, a 25 s lab run with seed 3 (7 nodes on 3
#   hosts) that must pass; elsewhere it says why it skips it.
# Any other argument goes to tests/chaos/chaos.py (--help lists them: --faults, --durability,
# --nodes, --rate, --heal-limit...). Each run leaves its files in DIR/run-<seed>/ (default DIR:
# a new /tmp/arbor-chaos.XXXXXX). Exit status 0 when every run passed.
# Builds nothing unless the binaries are missing (then tools/dev.sh build, for the default
# --bin). Needs only Debian's python3 (standard library, 3.9+), installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# Debian's interpreter (installed when missing, as tools/dev.sh installs what it needs): the
# suite uses only its standard library. PYTHON=... picks another.
python=${PYTHON:-}
if [ -z "$python" ]; then
  # shellcheck source=lib/packages.sh
  source tools/lib/packages.sh
  ensure_packages python3
  python=/usr/bin/python3
fi

smoke=false long=false seed='' duration='' runs=1 bin="$repo/build/bin" out='' lab='' pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=true ;;
    --long) long=true ;;
    --seed) seed=$2; shift ;;
    --duration) duration=$2; shift ;;
    --runs) runs=$2; shift ;;
    --lab) lab=$2; shift ;;
    --bin) bin=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) pass+=("$1") ;;
  esac
  shift
done
case "$runs" in ''|*[!0-9]*|0) echo "chaos.sh: --runs needs a positive number" >&2; exit 2 ;; esac
case "$seed" in *[!0-9]*) echo "chaos.sh: --seed needs a number" >&2; exit 2 ;; esac
case "$lab" in *[!0-9]*) echo "chaos.sh: --lab needs a number of hosts" >&2; exit 2 ;; esac

if [ ! -x "$bin/arbor" ] || [ ! -x "$bin/arbor-node" ]; then
  if [ "$bin" = "$repo/build/bin" ]; then
    tools/dev.sh build
  else
    echo "chaos.sh: no arbor and arbor-node in $bin" >&2
    exit 2
  fi
fi
bin=$(cd "$bin" && pwd)

# The lab's own executable (a test-support program, tests/support/lab_main.cc): built here when
# it is missing from the default build tree, as the binaries above are.
ensure_lab() {
  [ -x "$bin/arbor-netns-lab" ] && return 0
  if [ "$bin" = "$repo/build/bin" ]; then
    cmake -S . -B build >&2 && cmake --build build -j"$(nproc)" --target arbor-netns-lab >&2
  fi
  [ -x "$bin/arbor-netns-lab" ]
}
if [ -n "$lab" ] && ! $smoke && ! ensure_lab; then
  echo "chaos.sh: no arbor-netns-lab in $bin (--lab)" >&2
  exit 2
fi

[ -n "$out" ] || out=$(mktemp -d /tmp/arbor-chaos.XXXXXX)
mkdir -p "$out"
echo "chaos.sh: runs in $out" >&2

results=()   # one "seed dir" per run, in order
failed=0 skipped=0 last_rc=0

# one_run SEED [chaos.py args...]: one run into $out/run-SEED; its result is in summary.json.
# chaos.py exits 77 when a --lab run cannot have its lab here: skipped, not failed.
one_run() {
  local s=$1 dir="$out/run-$1" rc=0
  shift
  rm -rf "$dir"
  echo "=== chaos run, seed $s: chaos.py $*" >&2
  "$python" tests/chaos/chaos.py --bin "$bin" --seed "$s" --out "$dir" "$@" || rc=$?
  last_rc=$rc
  case $rc in
    0) ;;
    77) skipped=$((skipped + 1)) ;;
    *) failed=$((failed + 1)) ;;
  esac
  results+=("$s $dir")
}

table() {
  "$python" - "${results[@]}" <<'EOF'
import json, os, sys
rows = [("run", "seed", "lab", "commands", "availability", "anomalies", "heal s", "faults",
         "result")]
for n, arg in enumerate(sys.argv[1:], 1):
    seed, path = arg.split(" ", 1)
    try:
        with open(os.path.join(path, "summary.json")) as f:
            s = json.load(f)
    except (OSError, ValueError):
        rows.append((str(n), seed, "-", "-", "-", "-", "-", "-", "no summary"))
        continue
    if s.get("skipped"):
        rows.append((str(n), seed, str(s.get("lab") or "-"), "-", "-", "-", "-", "-",
                     "skipped: " + s["skipped"]))
        continue
    kinds = " ".join("%s=%d" % kv for kv in sorted(s["anomaly_kinds"].items()))
    avail = s.get("availability")
    faults = " ".join("%s=%d" % kv for kv in sorted(s.get("fault_actions", {}).items()))
    rows.append((str(n), seed, "%d hosts" % s["lab"] if s.get("lab") else "-",
                 str(s["commands"]),
                 "%.1f%%" % (100 * avail) if avail is not None else "-",
                 "%d%s" % (s["anomalies"], " (%s)" % kinds if kinds else ""),
                 "%.2f" % s["heal_s"] if s.get("heal_s") is not None else "never",
                 faults or "none",
                 ("pass" if s["passed"] else "FAIL") +
                 (" (expected anomalies)" if s.get("expect_anomalies") else "")))
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for r in rows:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
EOF
}

if $smoke; then
  echo "=== chaos: checker self-test" >&2
  if ! "$python" tests/chaos/checker.py --self-test; then
    echo "chaos.sh: the checker's self-test failed" >&2
    exit 1
  fi
  one_run "${seed:-1}" --duration "${duration:-30}" --durability fsync "${pass[@]}"
  one_run "$(( ${seed:-1} + 1 ))" --duration 12 --durability none --faults kill \
    --expect-anomalies lost-write --show 2 "${pass[@]}"
  # The lab run: only as root, only where a lab can be built (chaos.py says why not: 77).
  # Ordinary partitions only (no long one), so the run stays about 25 s; 7 nodes, since a
  # 15-node tree on ssh hosts that the faults have taken down whole takes about 10 s to come
  # back, the heal limit itself (docs/chaos.md).
  if [ "$(id -u)" != 0 ]; then
    echo "chaos.sh: SKIPPED the smoke's lab run: the namespace lab needs root" >&2
  elif ! ensure_lab; then
    echo "chaos.sh: SKIPPED the smoke's lab run: no arbor-netns-lab in $bin" >&2
  else
    one_run "$(( ${seed:-1} + 2 ))" --lab "${lab:-3}" --nodes 7 --duration "${duration:-25}" \
      --durability fsync --long-partition-share 0 "${pass[@]}"
    if [ "$last_rc" = 77 ]; then
      echo "chaos.sh: SKIPPED the smoke's lab run: no namespace lab can be built here (above)" >&2
    fi
  fi
else
  if $long; then
    [ "$runs" -gt 1 ] || runs=10
    duration=${duration:-75}
  fi
  [ -n "$seed" ] || seed=$(( (RANDOM << 15 | RANDOM) % 1000000 + 1 ))
  args=()
  [ -z "$duration" ] || args+=(--duration "$duration")
  [ -z "$lab" ] || args+=(--lab "$lab")
  for ((i = 0; i < runs; i++)); do
    one_run "$((seed + i))" "${args[@]}" "${pass[@]}"
  done
fi

table
echo "chaos.sh: $((${#results[@]} - failed - skipped)) of ${#results[@]} runs passed$(
  [ "$skipped" -eq 0 ] || echo ", $skipped skipped") (files in $out)" >&2
[ "$failed" -eq 0 ]
