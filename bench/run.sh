#!/usr/bin/env bash
# Runs every benchmark, then bench/report.py for the medians, ratios, tables and plots.
#   bench/run.sh [--quick] [--repeats N]
#     --quick       1 repeat, counts divided by 10 (a smoke run; its numbers are noisy)
#     --repeats N   repetitions of every measurement (default 5)
# Results go to bench/results/ (git-ignored): raw.jsonl, machine.json, results.{json,md}, *.png.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

repeats=5
div=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) repeats=1; div=10; shift ;;
    --repeats)
      [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/run.sh [--quick] [--repeats N]" >&2; exit 2; }
      repeats=$2; shift 2 ;;
    *) echo "usage: bench/run.sh [--quick] [--repeats N]" >&2; exit 2 ;;
  esac
done

# shellcheck source=../tools/lib/packages.sh
source tools/lib/packages.sh
packages=(gnuplot-nox python3)

build() {
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DARBOR_BUILD_TESTS=OFF >&2
  cmake --build build-bench -j"$(nproc)" >&2
}

ensure_packages "${packages[@]}"
build

bench_bin=$root/build-bench/bin/arbor-bench
arbor_bin=$root/build-bench/bin/arbor
results=$root/bench/results
raw=$results/raw.jsonl
errlog=$results/stderr.log
mkdir -p "$results"
: >"$raw"
: >"$errlog"
work=$(mktemp -d /tmp/arbor-bench.XXXXXX)

redis_pid=
cleanup() {
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n() { echo $(( $1 / div > 0 ? $1 / div : 1 )); }   # a count, scaled down by --quick
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'; }

failed=0
# Runs one arbor-bench measurement; its JSON lines go to raw.jsonl, its stderr to stderr.log.
# A failing measurement is reported and counted, and the others still run.
measure() {
  echo "bench: arbor-bench $*" >&2
  local out=$work/out err=$work/err rc=0
  "$bench_bin" "$@" >"$out" 2>"$err" || rc=$?
  grep '^{' "$out" >>"$raw" || true
  if [ -s "$err" ]; then
    { echo "== arbor-bench $* (exit $rc)"; cat "$err"; } >>"$errlog"
    echo "bench:   $(wc -l <"$err") stderr lines (see bench/results/stderr.log)" >&2
  fi
  if [ "$rc" -ne 0 ] || ! grep -q '^{' "$out"; then
    echo "bench:   FAILED (exit $rc): $(tail -n 3 "$err" | tr '\n' ' ')" >&2
    failed=$((failed + 1))
  fi
}

# Cross-host figures (arbor-bench hosts) need network namespaces, hence root; without them the
# rest still runs and report.py notes why these are missing.
hosts_skip=
if ! why=$("$bench_bin" hosts --probe 2>&1); then
  hosts_skip=$(printf '%s' "${why:-unknown reason}" | head -n 1)
  echo "bench: cross-host figures skipped: $hosts_skip" >&2
  python3 -c 'import json, sys; print(json.dumps({"bench": "hosts_skipped", "reason": sys.argv[1]}))' \
    "$hosts_skip" >>"$raw"
fi

# Machine description (report.py puts it into results.json and results.md).
nng_version=$(dpkg-query -W -f='${Version}' libnng1 2>/dev/null || dpkg-query -W -f='${Version}' libnng-dev 2>/dev/null || echo unknown)
python3 - "$results/machine.json" "$nng_version" "$repeats" "$div" <<'EOF'
import json, os, platform, subprocess, sys, time
path, nng, repeats, div = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def first(file, key):
    try:
        with open(file) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
m = {
    "nproc": os.cpu_count(),
    "cpu_model": first("/proc/cpuinfo", "model name"),
    "mem_total": first("/proc/meminfo", "MemTotal"),
    "kernel": platform.release(),
    "nng_version": nng,
    "git_commit": git("rev-parse", "--short", "HEAD"),
    "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    "loadavg_at_start": round(os.getloadavg()[0], 2),
    "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    "repeats": repeats,
    "count_divisor": div,
}
with open(path, "w") as f:
    json.dump(m, f, indent=2)
    f.write("\n")
EOF

# Scripted session files: the same 10000 sets and 10000 gets for arbor and redis-cli (as text
# and, for --pipe, as RESP). Each arbor session has a file of its expected answers ("Ok: <pid>"
# stands for any create's answer); bench/session.py times its 20000 commands apart from its creates.
script_n=10000
redis_script=$work/redis.txt
redis_resp=$work/redis.resp
{
  printf 'create 1\ncreate 2\ncreate 3\n'
  for ((i = 0; i < script_n; i++)); do echo "exec 3 k$i $i"; done
  for ((i = 0; i < script_n; i++)); do echo "exec 3 k$i"; done
} >"$work/leaf.txt"
{
  for _ in 1 2 3; do echo 'Ok: <pid>'; done
  for ((i = 0; i < script_n; i++)); do echo "Ok:3"; done
  for ((i = 0; i < script_n; i++)); do echo "Ok:3: $i"; done
} >"$work/leaf.expected"
{
  for ((i = 0; i < script_n; i++)); do echo "SET k$i $i"; done
  for ((i = 0; i < script_n; i++)); do echo "GET k$i"; done
} >"$redis_script"
# RESP: an array of bulk strings, each "$<length>" then the string; the "$" are literal.
# shellcheck disable=SC2016
{
  for ((i = 0; i < script_n; i++)); do
    k=k$i v=$i
    printf '*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' "${#k}" "$k" "${#v}" "$v"
  done
  for ((i = 0; i < script_n; i++)); do
    k=k$i
    printf '*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n' "${#k}" "$k"
  done
} >"$redis_resp"
# The same 20000 commands spread over 100 nodes: 100 distinct random ids (fixed seed), the
# sets to random ones of them, then the gets of the same keys on the same ids.
python3 - "$work" "$script_n" 100 <<'PY'
import random, sys
work, n, nodes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
ids = rng.sample(range(1, 1000001), nodes)
targets = [rng.choice(ids) for _ in range(n)]
creates = [f"create {x}\n" for x in ids]
with open(f"{work}/random.txt", "w") as f, open(f"{work}/random.expected", "w") as e:
    f.writelines(creates)
    e.writelines("Ok: <pid>\n" for _ in ids)
    f.writelines(f"exec {t} k{i} {i}\n" for i, t in enumerate(targets))
    f.writelines(f"exec {t} k{i}\n" for i, t in enumerate(targets))
    e.writelines(f"Ok:{t}\n" for t in targets)
    e.writelines(f"Ok:{t}: {i}\n" for i, t in enumerate(targets))
PY

# Runs `arbor` on $work/NAME.txt through a pipe (bench/session.py): its first SETUP lines (the
# creates), then, once they are answered, the rest at once. Checks every answer line against
# NAME.expected and sets session_json to session.py's {"setup_s", "commands_s"}. A wrong answer
# (or a failed arbor) exits 1.
session_json=
run_session() {
  local name=$1 setup=$2 rc=0
  echo "bench: arbor < $name session ($(wc -l <"$work/$name.txt") lines, $setup of setup)" >&2
  session_json=$(python3 "$root/bench/session.py" "$arbor_bin" "$work/$name.txt" "$setup" \
                   "$work/$name.out" 2>"$work/$name.err") || rc=$?
  # Prints the first 5 wrong lines and a wrong line count.
  if ! awk '
      NR == FNR { want[FNR] = $0; n = FNR; next }
      { got = FNR }
      (want[FNR] == "Ok: <pid>" ? $0 !~ /^Ok: [0-9]+$/ : $0 != want[FNR]) {
        if (++bad <= 5) print "  line " FNR ": " $0 " (expected " want[FNR] ")" }
      END { if (got != n) { print "  " got + 0 " lines, expected " n; bad++ }
            exit (bad ? 1 : 0) }' "$work/$name.expected" "$work/$name.out" >&2; then
    echo "bench: $name session: wrong output from arbor (exit $rc)" >&2
    head -n 5 "$work/$name.err" >&2
    exit 1
  fi
  [ "$rc" -eq 0 ] || { echo "bench: $name session: session.py failed ($rc)" >&2; exit 1; }
}

redis_sock=
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  redis_sock=/tmp/arbor-bench-redis-$$.sock
  redis-server --port 0 --unixsocket "$redis_sock" --save '' --appendonly no --daemonize no \
    >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for ((i = 0; i < 100; i++)); do
    [ "$(redis-cli -s "$redis_sock" ping 2>/dev/null || true)" = PONG ] && break
    sleep 0.1
  done
  if [ "$(redis-cli -s "$redis_sock" ping 2>/dev/null || true)" != PONG ]; then
    echo "bench: redis-server did not answer PING; see $work/redis.log" >&2
    cat "$work/redis.log" >&2
    exit 1
  fi
else
  echo "bench: note: redis-server or redis-cli not on PATH; skipping the redis-cli baseline" >&2
fi

for ((r = 1; r <= repeats; r++)); do
  echo "bench: ---- repeat $r of $repeats" >&2
  # a-c. latency at 1 in flight. At each depth the nng baseline (the echo pair at depth 1, the
  # forwarder chain deeper) runs right before arbor's get, set and ping, so the slow drifts of
  # a shared machine hit both sides of each ratio alike.
  for d in 1 3 10 100; do
    c=5000; [ "$d" -eq 100 ] && c=2000
    if [ "$d" -eq 1 ]; then
      measure nng --depth 1 --inflight 1 --count "$(n 20000)"
    else
      measure nng --depth "$d" --inflight 1 --count "$(n $c)"
    fi
    for op in get set ping; do
      measure rtt --depth "$d" --op "$op" --inflight 1 --count "$(n $c)"
    done
  done
  # a. nng echo throughput, right before arbor's
  for k in 8 64; do
    measure nng --depth 1 --inflight "$k" --count "$(n 50000)"
  done
  # d. arbor throughput, coalescing and raw
  for d in 1 3 10 100; do
    c=50000; [ "$d" -eq 100 ] && c=10000
    for k in 8 64; do
      measure rtt --depth "$d" --op get --inflight "$k" --count "$(n $c)"
    done
  done
  for d in 1 3; do
    for k in 8 64; do
      measure rtt --depth "$d" --op get --inflight "$k" --count "$(n 50000)" --raw
    done
  done
  # j. across hosts: depth 3 with one node on each of three network-namespace hosts, over tcp
  # and tls+tcp, and (at 1 in flight) the same chain on abstract sockets, all in one lab; the
  # order alternates between repeats so that a drift does not always favour one transport.
  if [ -z "$hosts_skip" ]; then
    if ((r % 2)); then pair=tcp,tls; else pair=tls,tcp; fi
    if ((r % 2)); then three=abstract,$pair; else three=$pair,abstract; fi
    measure hosts --transports "$three" --inflight 1 --count "$(n 5000)"
    measure hosts --transports "$pair" --inflight 64 --count "$(n 200000)"
    measure hosts --transports "$pair" --inflight 64 --count "$(n 20000)" --raw
  fi
  # e. scripted sessions through the controller: the commands timed apart from the creates
  for session in leaf:scripted:3 random:scripted_random:100; do
    IFS=: read -r name bench setup <<<"$session"
    run_session "$name" "$setup"
    python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d.update(bench=sys.argv[2], commands=int(sys.argv[3])); print(json.dumps(d))' \
      "$session_json" "$bench" "$((2 * script_n))" >>"$raw"
  done
  # f. the same commands through redis-cli: one round trip each, then all at once (--pipe)
  if [ -n "$redis_sock" ]; then
    echo "bench: redis-cli < scripted session" >&2
    t0=$(now_ns)
    redis-cli -s "$redis_sock" <"$redis_script" >"$work/redis.out"
    t1=$(now_ns)
    lines=$(wc -l <"$work/redis.out")
    if [ "$lines" -ne $((2 * script_n)) ]; then
      echo "bench: redis-cli printed $lines lines, expected $((2 * script_n))" >&2
      exit 1
    fi
    echo "{\"bench\": \"redis_cli\", \"commands\": $((2 * script_n)), \"wall_s\": $(secs "$t0" "$t1")}" >>"$raw"
    echo "bench: redis-cli --pipe < scripted session" >&2
    t0=$(now_ns)
    # Its last line says how it went, whatever its exit status; that line is checked.
    redis-cli -s "$redis_sock" --pipe <"$redis_resp" >"$work/redis.out" 2>&1 || true
    t1=$(now_ns)
    summary=$(tail -n 1 "$work/redis.out")
    if [ "$summary" != "errors: 0, replies: $((2 * script_n))" ]; then
      echo "bench: redis-cli --pipe: '$summary', expected 'errors: 0, replies: $((2 * script_n))'" >&2
      exit 1
    fi
    echo "{\"bench\": \"redis_pipe\", \"commands\": $((2 * script_n)), \"wall_s\": $(secs "$t0" "$t1")}" >>"$raw"
  fi
done

# g. failure detection (repeats inside one run)
measure failure --repeats "$repeats"
# h. scale
for ((s = 1; s <= repeats; s++)); do measure scale --nodes 100 --seed "$s"; done
for ((s = 1; s <= repeats && s <= 3; s++)); do measure scale --nodes 1000 --seed "$s"; done
# The baseline for concurrent creates: the same 1000 ids, one create at a time.
measure scale --nodes 1000 --seed 1 --sequential

python3 "$root/bench/report.py" "$raw" "$results"

if [ "$failed" -gt 0 ]; then
  echo "bench: $failed measurement(s) failed; see above and bench/results/stderr.log" >&2
  exit 1
fi
