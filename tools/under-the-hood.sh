#!/usr/bin/env bash
# Records one short arbor session under `strace -f` and prints the excerpts that
# docs/under-the-hood.md quotes. It builds nothing: build first (tools/dev.sh build).
#
#   tools/under-the-hood.sh [BUILD_DIR] [TRACE_FILE]
#
# BUILD_DIR defaults to build; TRACE_FILE to BUILD_DIR/under-the-hood.trace (the raw trace,
# every thread of the controller and of every node). The session, in batch mode on the
# embedded default config (abstract sockets):
#   create 50, create 30, create 20     a chain: 50 is the root, 30 a middle node, 20 a leaf
#   exec 20 x 5, exec 20 x              each goes controller -> 50 -> 30 -> 20 and back
#   kill -9 <pid of node 20>            from this script, not through arbor; then 0.5 s, so
#                                       that node 30's redials of the dead node show
#   ping 20, pingall                    Ok: 0, Ok: 20
# Then it closes the controller's stdin and waits for the whole traced tree to exit. Every
# process it started is gone when it returns, also when it fails or is interrupted.
# The excerpts go to stdout, the session (commands and answers) to stderr.
set -euo pipefail

build=${1:-build}
trace=${2:-$build/under-the-hood.trace}
arbor=$build/bin/arbor

die() { echo "under-the-hood: $*" >&2; exit 1; }
command -v strace >/dev/null || die "strace is not installed (apt-get install strace)"
[ -x "$arbor" ] || die "$arbor not found: build first (tools/dev.sh build)"
[ -x "$build/bin/arbor-node" ] || die "$build/bin/arbor-node not found: build first"

# What the document needs, and little else: process life, descriptors, the plugin files,
# sockets, and the poll/epoll loops. futex and the like would drown the rest.
syscalls=clone,clone3,execve,wait4,waitid,exit_group,kill,pipe2,dup2,dup3,close,memfd_create
syscalls+=,fcntl,openat,mmap,read,pread64,write,readv,writev,socket,bind,listen,accept,accept4,connect
syscalls+=,getsockname,getsockopt,sendmsg,recvmsg,shutdown,poll,ppoll,epoll_create1,epoll_ctl
syscalls+=,epoll_wait,epoll_pwait,eventfd2,signalfd4

stderr_file=$(mktemp /tmp/under-the-hood.XXXXXX.stderr)
strace_pid='' controller_pid='' to_arbor=''

# The pids of this session's nodes: each one's command line carries "--session <controller>-".
session_nodes() {
  [ -n "$controller_pid" ] || return 0
  local d cmd
  for d in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
    case $cmd in *arbor-node*"--session $controller_pid-"*) echo "${d#/proc/}" ;; esac
  done
}

cleanup() {
  local rc=$? pid i
  trap - EXIT INT TERM
  # Closing stdin ends batch mode; the controller then stops the tree and exits, and strace
  # with it. Whatever is still there after 5 s is killed, by pid.
  [ -n "$to_arbor" ] && exec {to_arbor}>&-
  for ((i = 0; i < 50; i++)); do
    if [ -z "$strace_pid" ] || ! kill -0 "$strace_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [ -n "$strace_pid" ] && kill -0 "$strace_pid" 2>/dev/null; then
    for pid in $controller_pid $(session_nodes); do kill -9 "$pid" 2>/dev/null || true; done
    sleep 0.2
    kill -9 "$strace_pid" 2>/dev/null || true
    for pid in $(session_nodes); do kill -9 "$pid" 2>/dev/null || true; done
  fi
  wait 2>/dev/null || true
  rm -f "$stderr_file"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# strace writes the trace to its file; the controller's stdin and stdout are our pipes.
rm -f "$trace"
coproc ARBOR {
  exec strace -f -tt -s 80 -yy -o "$trace" -e trace="$syscalls" \
    "$arbor" --history '' --mode batch 2>"$stderr_file"
}
strace_pid=$ARBOR_PID
to_arbor=${ARBOR[1]} from_arbor=${ARBOR[0]}
# The controller is the first process of the trace (strace forks probes of its own, so its
# children list may show others first).
for ((i = 0; i < 50; i++)); do
  controller_pid=$(awk 'NR == 1 && /execve\(/ {print $1}' "$trace" 2>/dev/null) || true
  [ -z "$controller_pid" ] || break
  sleep 0.1
done
[ -n "$controller_pid" ] || die "strace did not start the controller: $(cat "$stderr_file")"

# Sends one command and reads its one result line (bounded), echoing both on stderr.
answer=''
run() {
  printf '%s\n' "$1" >&"$to_arbor"
  IFS= read -r -t 10 answer <&"$from_arbor" || die "no answer to '$1': $(cat "$stderr_file")"
  printf '> %s\n%s\n' "$1" "$answer" >&2
}

run "create 50"; pid50=${answer#Ok: }
run "create 30"; pid30=${answer#Ok: }
run "create 20"; pid20=${answer#Ok: }
run "exec 20 x 5"
run "exec 20 x"
echo "> (kill -9 $pid20: node 20)" >&2
kill -9 "$pid20"
# Its parent (node 30) reaps it; once the pid is gone the parent has seen the death. The
# half second after that lets the parent's redials of the dead endpoint show in the trace.
for ((i = 0; i < 50; i++)); do kill -0 "$pid20" 2>/dev/null || break; sleep 0.1; done
sleep 0.5
run "ping 20"
run "pingall"
exec {to_arbor}>&-
to_arbor=
for ((i = 0; i < 100; i++)); do kill -0 "$strace_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$strace_pid" 2>/dev/null && die "the traced tree did not exit within 10 s"
wait "$strace_pid" || true
strace_pid=''

# ---- Excerpts -------------------------------------------------------------------------------
# excerpt TITLE PIDS ANCHOR FROM TO [INCLUDE] [EXCLUDE]
# Prints the lines of the processes PIDS (every thread of each) from the first line matching
# FROM, looked for after the first line matching ANCHOR, up to the first line matching TO
# (inclusive), keeping lines that match INCLUDE and not EXCLUDE. FROM and TO match any
# process's line. Each line gets a label after the thread id: ctl (the controller), n50,
# n30, n20 (the nodes), with /main for a node's main thread and /poll for nng's epoll thread.
# Trimmed for reading: long strings, clone3 and sendmsg details and the repository path give
# way to "...", and a run of the same call on the same descriptor by the same thread (a loop)
# is shown twice, then counted.
root=$(cd "$(dirname "$0")/.." && pwd)
noise='<anon_inode:\[signalfd\]>, 0x|wait4\(-1, 0x[0-9a-f]+, WNOHANG, NULL\) = (0|-1 ECHILD)'
noise+='|poll\(\[\{fd=[0-9]+<anon_inode:\[signalfd\]>|<\.\.\. poll resumed>\) = 0 \(Timeout\)'
noise+='|read\([0-9]+<anon_inode:\[signalfd\]>,  <unf|<\.\.\. read resumed>0x[0-9a-f]+, 128\) = -1 EAGAIN'
noise+='|<\.\.\. wait4 resumed>0x[0-9a-f]+, WNOHANG, NULL\) = (0|-1 ECHILD)'
noise+='|/lib/x86_64-linux-gnu/|ld\.so\.cache|MAP_ANONYMOUS|<\.\.\. mmap resumed>|/sys/devices/system/cpu'

excerpt() {
  echo
  echo "== $1"
  TO_COUNT=${TO_COUNT:-1} LEGEND=${LEGEND:-} PIDS=$2 ANCHOR=$3 FROM=$4 TO=$5 INCLUDE=${6:-.} EXCLUDE=${7:-$noise} ROOT=$root \
    CTL=$controller_pid awk "$excerpt_awk" "$trace" "$trace"
}

excerpt_awk=$(cat <<'AWK'
function tgid(t) { while (t in parent) t = parent[t]; return t }
function label(t,  g, l) {
  g = tgid(t)
  l = (g == ENVIRON["CTL"]) ? "ctl" : ((g in node) ? "n" node[g] : "?")
  if (t == g && l != "ctl") l = l "/main"
  if (name[t] == "nng:poll:epoll") l = l "/poll"
  return l
}
function poller(g,  t) {
  for (t in name) if (name[t] == "nng:poll:epoll" && tgid(t) == g) return t
  return "?"
}
function trim(s,  out, q, i) {
  while ((i = index(s, ENVIRON["ROOT"])) > 0)
    s = substr(s, 1, i - 1) "..." substr(s, i + length(ENVIRON["ROOT"]))
  out = ""
  while (match(s, /"([^"\\]|\\.)*"(\.\.\.)?/)) {
    q = substr(s, RSTART, RLENGTH)
    if (RLENGTH > 44) q = substr(q, 1, 40) "\"..."
    out = out substr(s, 1, RSTART - 1) q
    s = substr(s, RSTART + RLENGTH)
  }
  s = out s
  gsub(/, child_tid=[^}]*\}/, ", ...}", s)
  gsub(/\{msg_name=NULL, msg_namelen=0, /, "{..., ", s)
  gsub(/, msg_iovlen=[0-9]+, msg_controllen=0, msg_flags=0\}/, ", ...}", s)
  gsub(/u32=[0-9]+, /, "..., ", s)
  return s
}
# A run of one call by one thread (or of one process's threads dying) prints twice, then
# is counted; the count is printed when that thread does something else, or at the end.
function flush(r) {
  if (skipped[r] > 0) printf "%-7s %-10s ... %d more %s\n", who[r], label(who[r]), skipped[r], what[r]
  skipped[r] = 0
}
NR == FNR {
  t = $1
  if ($3 ~ /^clone3?\(/) thr[t] = ($0 ~ /CLONE_THREAD/)
  if (($3 ~ /^clone3?\(/ || $0 ~ /<\.\.\. clone3? resumed>/) && $NF ~ /^[0-9]+$/ && thr[t])
    parent[$NF] = t
  if ($3 ~ /^execve\(/ && match($0, /"--id", "[0-9]+"/))
    node[t] = substr($0, RSTART + 9, RLENGTH - 10)
  if (match($0, /task\/[0-9]+\/comm>, "[^"]*"/)) {
    split(substr($0, RSTART + 5, RLENGTH - 5), a, "/comm>, ")
    name[a[1]] = a[2]; gsub(/"/, "", name[a[1]])
  }
  next
}
FNR == 1 && ENVIRON["LEGEND"] != "" {
  for (c in parent) threads[tgid(c)]++
  c = ENVIRON["CTL"]
  printf "%-7s %-10s the controller: %d threads besides main; nng's epoll thread %s\n", c, "ctl", threads[c], poller(c)
  for (g in node) printf "%-7s %-10s node %s: %d threads besides main; nng's epoll thread %s\n", g, label(g), node[g], threads[g], poller(g)
  exit
}
FNR == 1 {
  n = split(ENVIRON["PIDS"], p, " "); for (i = 1; i <= n; i++) want[p[i]] = 1
  anchored = (ENVIRON["ANCHOR"] == ""); state = 0
}
state == 2 { next }
!anchored { if ($0 ~ ENVIRON["ANCHOR"]) anchored = 1; else next }
state == 0 && $0 ~ ENVIRON["FROM"] && (tgid($1) in want) { state = 1 }
state == 1 {
  if ((tgid($1) in want) && $0 ~ ENVIRON["INCLUDE"] && $0 !~ ENVIRON["EXCLUDE"]) {
    rest = $0; sub(/^[0-9]+ [0-9:.]+ /, "", rest)
    call = rest
    if (call ~ /^<\.\.\. /) { sub(/^<\.\.\. /, "", call); sub(/ .*/, "", call) } else sub(/\(.*/, "", call)
    r = $1
    if (rest ~ /^\+\+\+/) { r = "g" tgid($1); call = "threads " rest }
    if (call == key[r]) {
      if (++same[r] > 2) { skipped[r]++; next }
    } else {
      flush(r); key[r] = call; same[r] = 1; who[r] = $1; what[r] = call
    }
    line = trim($0); sub(/^[0-9]+ /, "", line)
    printf "%-7s %-10s %s\n", $1, label($1), line
  }
  if ($0 ~ ENVIRON["TO"] && ++reached >= ENVIRON["TO_COUNT"]) { for (r in skipped) flush(r); state = 2 }
}
END { for (r in skipped) flush(r) }
AWK
)

C=$controller_pid R=$pid50 Q=$pid30 P=$pid20
LEGEND=1 excerpt "who is who in $trace" "" "" "" ""

excerpt "1. node 30 starts node 20 (launcher_local.cc PosixLauncher::Launch, process_spawn.cc SpawnProcess)" \
  "$Q $P" "" "^$Q .*pipe2\(|^[0-9]+ .*pipe2\(" "^[0-9]+ .*poll\(\[\{fd=[0-9]+<pipe:"

excerpt "2. node 20 comes up: its config, nng's threads, the plugins (node_main.cc main, plugin_loader.cc LoadPlugin)" \
  "$P" "^$P .*execve\(" "." "^$P .*socket\(" 'memfd|libarbor_|execve resumed|comm>|clone3'

excerpt "3. node 20 listens (node.cc Node::Start, server.cc Server::Listen)" \
  "$P" "" "^$P .*socket\(" "^$P .*write\(3<pipe"

TO_COUNT=2 excerpt "4. the ready line, and node 30 dials node 20 (node_main.cc ReportReady, process_spawn.cc ReadReadyLine, child.cc StartChild, node_link.cc NodeLink::Dial)" \
  "$Q $P" "" "^$P .*write\(3<pipe" 'readv.*\\0SP\\0\\000[01]'

excerpt "5. exec 20 x 5 through node 30 (node.cc Node::OnRequest, Node::Forward, node_link.cc NodeLink::CallAsync, server.cc Server::Reply)" \
  "$C $Q $P" '"exec 20 x 5\\n"' "." 'write\(1<.*"Ok:20\\n"'

excerpt "6. kill -9 node 20: what node 30 sees (supervisor.cc Supervisor::Reap, node_control.cc Node::OnChildExit, node_link.cc NodeLink::OnPipeEvent)" \
  "$Q $P" 'write\(1<.*"Ok:20: 5\\n"' "." '"ping 20\\n"'

excerpt "7. ping 20 after the kill: node 30 answers for its dead child (node.cc Node::Forward)" \
  "$C $Q" '"ping 20\\n"' "." 'write\(1<.*"Ok: 0\\n"'

excerpt "8. stdin closes: the tree shuts down (batch.cc, deployment.cc Deployment::Shutdown, child.cc StopChild)" \
  "$C $R $Q" "^$C .*read.*\"\", 4096\) = 0" "." "^$C .*exit_group" \
  'exit_group|wait4|signalfd\]>, "|close\([0-9]+<pipe|close\([0-9]+</memfd|exited with|sendmsg|read.*"", 4096'

excerpt "9. the controller's supervisor thread: one 50 ms tick, then 500 ms while idle (supervisor.cc Supervisor::Run)" \
  "$C" "" "." '^$' 'poll\(\[\{fd=[0-9]+<anon_inode:\[signalfd\]>' '^$'
