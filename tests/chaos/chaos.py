#!/usr/bin/env python3
"""A Jepsen-style chaos run against arbor (issue 16); docs/chaos.md explains it.

One run: deploy a self-healing tree of N nodes (restart: on-failure, a durable dictionary),
drive it through `arbor --json` with a pipelined workload of sets and gets (about 500 commands
in flight), kill -9 / SIGSTOP its nodes at random for --duration seconds, measure how long the
tree takes to answer `pingall` with `Ok: -1` after the last fault, read every key once more,
and check the recorded history (checker.py). Everything a run did is written into its run
directory: config.yaml, controller.log, history.jsonl, faults.jsonl, anomalies.jsonl and
summary.json.

Exit status: 0 when the history has no anomaly (with --expect-anomalies: has one) and the tree
healed within --heal-limit seconds and the controller exited by itself, leaving no node behind;
1 otherwise; 2 for a usage error. The same --seed gives the same workload and the same fault
schedule (the timing of both against the tree still varies).

Python 3.9+ standard library only (os.pidfd_open). Linux only.
"""

import argparse
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, deque

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import checker  # noqa: E402  (tests/chaos/checker.py, beside this file)

FAULT_KINDS = ("kill", "pause", "burst", "partition")
LOCAL_FAULTS = "kill,pause,burst"            # the default of a local run
LAB_FAULTS = "kill,pause,burst,partition"    # and of a --lab run
LAB_GAP = "0.5,2.5"    # seconds between faults in a --lab run: a restart there is an ssh login

# Bounds of every wait, in seconds.
START_WAIT = 10.0        # the deployment answers its first pingall
LAB_START_WAIT = 60.0    # the same over ssh: each node's start is an ssh login (0.5 s and up)
LAB_BUILD_WAIT = 60.0    # arbor-netns-lab prints its JSON line
LAB_EXIT_WAIT = 30.0     # arbor-netns-lab has removed the lab after EOF on its stdin
FINAL_READS_WAIT = 5.0   # plus two request deadlines
EXIT_WAIT = 10.0         # the controller exits after `exit` and EOF
LEFTOVER_WAIT = 3.0      # nodes are gone after the controller exited
LEFTOVER_LINGER = 15.0   # when not: how much longer they are watched, for the record
HEAL_INTERVAL = 0.2      # between pingalls while waiting for the tree to heal


def now():
    return time.monotonic()


# ---------------------------------------------------------------------------------------------
# The deployment.

def bushy_ids(n, step=10):
    """Ids step, 2*step, ... n*step in an insertion order that builds a balanced BST: the
    middle first, then the middles of each half, level by level."""
    ids = [step * (i + 1) for i in range(n)]
    order, queue = [], deque([(0, n)])
    while queue:
        lo, hi = queue.popleft()
        if lo >= hi:
            continue
        mid = (lo + hi) // 2
        order.append(ids[mid])
        queue.append((lo, mid))
        queue.append((mid + 1, hi))
    return order


def bst_parents(order):
    """{id: parent id} of the BST that inserting ids in this order builds (the root: None)."""
    parents, children = {}, {}
    root = None
    for node in order:
        if root is None:
            root, parents[node] = node, None
            continue
        at = root
        while True:
            side = 0 if node < at else 1
            nxt = children.get((at, side))
            if nxt is None:
                children[(at, side)] = node
                parents[node] = at
                break
            at = nxt
    return parents


def write_config(path, ids, data_dir, durability, request_ms, seed, lab=None, placement=None):
    """The deployment. With a lab (arbor-netns-lab's description), its transport: and hosts:
    sections come first, and `nodes:` places every node on its host ({id: host})."""
    head = f"# arbor chaos run, seed {seed} (written by tests/chaos/chaos.py)\n"
    if lab is not None:
        head += f"# lab of {len(lab['hosts'])} hosts (arbor-netns-lab, pid {lab['pid']})\n"
        head += lab["yaml"]
        nodes = "\n" + "".join("  - {id: %d, host: %s}\n" % (i, placement[i]) for i in ids)
    else:
        nodes = " [" + ", ".join(str(i) for i in ids) + "]\n"
    text = head + f"""timeouts:
  request_ms: {request_ms}
restart: on-failure
restart_limit:
  max_restarts: 1000
  window_ms: 1000
data_dir: {json.dumps(data_dir)}
plugins:
  load:
    - name: dictionary
      options: {{durability: {durability}}}
    - ping
nodes:"""
    text += nodes
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------
# Finding and signalling node processes.

def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data:
        return None  # a zombie, or a kernel thread
    return [a.decode("utf-8", "replace") for a in data.split(b"\0")[:-1]]


def _read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def backtraces(node, pid, timeout=60):
    """gdb's backtraces of every thread of a node process, as lines ([] without gdb)."""
    gdb = shutil.which("gdb")
    if not gdb:
        return []
    try:
        r = subprocess.run([gdb, "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        out = r.stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError) as e:
        out = "gdb: %s" % e
    return ["gdb backtraces of node %d pid %d:" % (node, pid)] + [
        "  " + l for l in out.splitlines() if not l.startswith("[New LWP")]


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat.rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def node_identity(argv):
    """(session, id) of an arbor-node command line, or None."""
    if not argv or os.path.basename(argv[0]) != "arbor-node":
        return None
    session = node = None
    for i in range(len(argv) - 1):
        if argv[i] == "--session":
            session = argv[i + 1]
        elif argv[i] == "--id":
            node = argv[i + 1]
    if session is None or node is None:
        return None
    try:
        return session, int(node)
    except ValueError:
        return None


def _pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def ssh_node_identity(argv):
    """(session, id) of the node an ssh client runs (the ssh launcher's remote command, its last
    argument: "exec '/path/arbor-node' '--id' '50' '--session' '...' ..."), or None."""
    if not argv or os.path.basename(argv[0]) != "ssh":
        return None
    try:
        words = shlex.split(argv[-1])
    except ValueError:
        return None
    if words and words[0] == "exec":
        words = words[1:]
    return node_identity(words)


def find_session(controller_pid):
    """The session of the tree a controller runs: read from its node children's arguments
    (arbor-node itself, or the ssh client that runs it on another host)."""
    for pid in _pids():
        if _ppid(pid) == controller_pid:
            argv = _cmdline(pid)
            ident = node_identity(argv) or ssh_node_identity(argv)
            if ident:
                return ident[0]
    return None


def session_nodes(session):
    """{node id: [pid, ...]} of the live arbor-node processes of a session."""
    found = {}
    for pid in _pids():
        ident = node_identity(_cmdline(pid))
        if ident and ident[0] == session:
            found.setdefault(ident[1], []).append(pid)
    return found


def open_node(session, node, pids=None):
    """[(pid, pidfd)] of node's processes. Each pid is checked again after its pidfd is open, so
    the pidfd is the node's and a signal through it never reaches a process that reused the pid.
    The caller closes the pidfds."""
    opened = []
    for pid in (pids if pids is not None else session_nodes(session).get(node, [])):
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            continue
        if node_identity(_cmdline(pid)) == (session, node):
            opened.append((pid, fd))
        else:
            os.close(fd)
    return opened


def send_signal(fd, sig):
    """True when the signal was sent (False: the process is gone)."""
    try:
        signal.pidfd_send_signal(fd, sig)
        return True
    except ProcessLookupError:
        return False


def kill_session(session, log=None):
    """SIGCONT then SIGKILL every node process of a session (through pidfds); the pids hit."""
    hit = []
    if not session:
        return hit
    for node, pids in session_nodes(session).items():
        for pid, fd in open_node(session, node, pids):
            try:
                send_signal(fd, signal.SIGCONT)
                if send_signal(fd, signal.SIGKILL):
                    hit.append(pid)
            finally:
                os.close(fd)
    if log and hit:
        log(f"killed {len(hit)} node processes of session {session} left behind")
    return hit


# ---------------------------------------------------------------------------------------------
# The namespace lab (--lab): hosts that are network namespaces, reached over ssh and tls+tcp.

class LabUnavailable(Exception):
    """No lab can run here (not root, no sshd, no namespaces): the run is skipped (exit 77)."""


class Lab:
    """arbor-netns-lab (tests/support/lab_main.cc) of N hosts, for as long as this object is
    open: the lab lives until its stdin reaches EOF. Partition(host, cut) sets the host's
    root-side veth down or up; close() heals every cut, then ends the lab and waits for its
    teardown. Traffic goes only to the lab's own addresses."""

    def __init__(self, exe, hosts, arbor_node, log_path):
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen([exe, "--hosts", str(hosts), "--arbor-node", arbor_node],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log)
        self.cut = set()        # hosts whose veth is down now
        self.lock = threading.Lock()
        self.desc = None
        line = self._first_line(LAB_BUILD_WAIT)
        if line is None:
            self.close()
            raise RuntimeError("arbor-netns-lab printed nothing within %s s (see %s)" %
                               (LAB_BUILD_WAIT, log_path))
        try:
            desc = json.loads(line)
        except ValueError:
            desc = None
        if not isinstance(desc, dict):
            self.close()
            raise RuntimeError("arbor-netns-lab printed %r" % line[:200])
        if "unavailable" in desc:
            self.close()
            raise LabUnavailable(desc["unavailable"])
        self.desc = desc
        self.hosts = [h["name"] for h in desc["hosts"]]
        self.by_name = {h["name"]: h for h in desc["hosts"]}

    def _first_line(self, timeout):
        got = []
        reader = threading.Thread(target=lambda: got.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not got or not got[0]:
            return None
        return got[0].decode("utf-8", "replace")

    def partition(self, host, cut):
        """Sets the host's veth down (cut) or up; raises when `ip` fails."""
        veth = self.by_name[host]["veth"]
        r = subprocess.run(["ip", "link", "set", veth, "down" if cut else "up"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("ip link set %s %s: %s" % (
                veth, "down" if cut else "up", r.stderr.decode("utf-8", "replace").strip()))
        with self.lock:
            (self.cut.add if cut else self.cut.discard)(host)

    def heal_all(self):
        """Every veth up, whatever the bookkeeping says (a failed `ip` is tried on the next)."""
        if not self.desc:
            return
        for host in self.hosts:
            try:
                self.partition(host, False)
            except (RuntimeError, OSError, subprocess.SubprocessError):
                pass

    def save_logs(self, into):
        """The lab's sshd logs (the lab's directory goes with it)."""
        if not self.desc:
            return
        for host in self.hosts:
            src = os.path.join(self.desc["dir"], host, "sshd.log")
            try:
                os.makedirs(into, exist_ok=True)
                shutil.copyfile(src, os.path.join(into, "sshd-%s.log" % host))
            except OSError:
                pass

    def close(self):
        """Heals every cut, then EOF on the lab's stdin: it removes everything it made. Waits
        for that; SIGTERM (the same teardown), then SIGKILL only past every bound (then the
        next lab built on this machine removes what it left). True when it exited cleanly."""
        self.heal_all()
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        clean = False
        try:
            clean = self.proc.wait(timeout=LAB_EXIT_WAIT) in (0, 77)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=LAB_EXIT_WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return clean


# ---------------------------------------------------------------------------------------------
# The history.

class Op:
    """One command of the history. Slots rather than a dict: a run records hundreds of
    thousands. Reads like a dict (op["index"], op.get("ok"), "ok" in op), which is what
    checker.check() uses; to_json() gives the history.jsonl record."""

    FIELDS = ("index", "op", "node", "key", "value", "found", "phase", "command", "invoke",
              "complete", "ok", "error", "result", "time_ms")
    __slots__ = FIELDS

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    def __getitem__(self, k):
        try:
            return getattr(self, k)
        except AttributeError:
            raise KeyError(k) from None

    def __setitem__(self, k, v):
        setattr(self, k, v)

    def __contains__(self, k):
        return hasattr(self, k)

    def get(self, k, default=None):
        return getattr(self, k, default)

    def to_json(self):
        return {k: getattr(self, k) for k in self.FIELDS if hasattr(self, k)}


# ---------------------------------------------------------------------------------------------
# The controller, driven through pipes.

class Controller:
    """`arbor --config FILE --json` in batch mode. Commands are dicts with at least "command"
    and "op"; send() gives each its index and invoke time, the reader thread its complete time
    and outcome (answers come one JSON line per command, in input order)."""

    def __init__(self, argv, cwd, stderr_path, t0):
        self.t0 = t0
        self.stderr = open(stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd)
        # Each line of the controller's stderr (its own and, through ssh, the remote nodes'
        # log lines) goes into controller.log with the time it was read, on the history's
        # clock: "[  12.345] arbor: [warning] node 40 (pid 1234) died".
        self.logger = threading.Thread(target=self._log, name="stderr", daemon=True)
        self.logger.start()
        self.cond = threading.Condition()
        self.pending = deque()       # sent, not answered yet, in order
        self.ops = []                # every command sent, by index
        self.eof = False             # stdout closed: no more answers
        self.broken = False          # stdin closed under us
        self.protocol_errors = []
        self.reader = threading.Thread(target=self._read, name="reader", daemon=True)
        self.reader.start()

    def rel(self):
        return now() - self.t0

    def _log(self):
        try:
            for raw in self.proc.stderr:
                self.stderr.write(b"[%8.3f] " % self.rel() + raw)
                self.stderr.flush()
        except (OSError, ValueError):
            pass

    def close_log(self):
        """After the controller exited: the rest of its stderr, then the file closed."""
        self.logger.join(timeout=5)
        try:
            self.stderr.close()
        except (OSError, ValueError):
            pass

    def send(self, cmds):
        with self.cond:
            t = self.rel()
            for c in cmds:
                c["index"] = len(self.ops)
                c["invoke"] = round(t, 6)
                self.ops.append(c)
                self.pending.append(c)
        data = "".join(c["command"] + "\n" for c in cmds).encode()
        # Not under the lock: a full pipe must not stop the reader, or neither side moves.
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (OSError, ValueError):
            self.broken = True

    def _read(self):
        try:
            for raw in self.proc.stdout:
                t = round(self.rel(), 6)
                try:
                    obj = json.loads(raw)
                except ValueError:
                    obj = None
                with self.cond:
                    if not isinstance(obj, dict) or "ok" not in obj:
                        self.protocol_errors.append("not a JSON answer: %r" % raw[:200])
                        continue
                    if not self.pending:
                        self.protocol_errors.append("answer to no command: %r" % raw[:200])
                        continue
                    c = self.pending.popleft()
                    if obj.get("command") != c["command"]:
                        self.protocol_errors.append(
                            "answer %r for command #%d %r" % (obj.get("command"), c["index"],
                                                              c["command"]))
                    _fill(c, obj, t)
                    self.cond.notify_all()
        except (OSError, ValueError) as e:
            with self.cond:
                self.protocol_errors.append("reading answers: %s" % e)
        finally:
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    def inflight(self):
        with self.cond:
            return len(self.pending)

    def wait_room(self, window, timeout):
        with self.cond:
            self.cond.wait_for(lambda: len(self.pending) < window or self.eof, timeout)
            return window - len(self.pending)

    def wait_answered(self, cmds, timeout):
        """True when every command in cmds has its answer within timeout."""
        with self.cond:
            return self.cond.wait_for(
                lambda: self.eof or all("ok" in c for c in cmds), max(0.0, timeout)) and \
                all("ok" in c for c in cmds)

    def close_input(self):
        try:
            self.proc.stdin.write(b"exit\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass

    def alive(self):
        return self.proc.poll() is None


def _fill(c, obj, t):
    c["complete"] = t
    c["ok"] = bool(obj.get("ok"))
    if "time_ms" in obj:
        c["time_ms"] = obj["time_ms"]
    if not c["ok"]:
        c["error"] = obj.get("error", "")
        return
    result = obj.get("result", "")
    if c["op"] == "get":
        if result == "'%s' not found" % c["key"]:
            c["found"] = False
            c["value"] = None
        else:
            c["found"] = True
            try:
                c["value"] = int(result)
            except (TypeError, ValueError):
                c["value"] = result  # not a number: the checker reports it as a phantom
    elif c["op"] != "set":
        c["result"] = result


# ---------------------------------------------------------------------------------------------
# Faults.

def acted(entry):
    """Whether a fault log entry did something: a signal sent, a link set down or up."""
    if entry["kind"] in PARTITION_KINDS:
        return not entry.get("failed")
    return entry.get("pid") is not None


PARTITION_KINDS = ("partition", "link-up")


class Faults(threading.Thread):
    """Injects faults at random nodes (and, in a lab, random hosts) from start to end; the
    schedule comes from rng alone, so a seed replays it. Pauses and partitions end at their own
    time (after end too); every stopped process is continued and every cut link set up again
    before the thread ends, whatever happens."""

    def __init__(self, session, ids, kinds, rng, t0, start, end, lab=None, placement=None,
                 partition=(0.5, 5.0), long_share=0.0, long_partition=(35.0, 40.0),
                 gap=(0.15, 0.7)):
        super().__init__(name="faults", daemon=True)
        self.session, self.ids, self.kinds, self.rng = session, ids, kinds, rng
        self.t0, self.start_at, self.end_at = t0, start, end
        self.lab, self.placement = lab, placement or {}
        self.partition_s, self.long_share, self.long_partition = partition, long_share, \
            long_partition
        self.gap = gap
        self.log = []
        self.lock = threading.Lock()
        self.paused = []          # [(resume at, node, pid, pidfd)]
        self.cut = {}             # host -> when its link goes up again
        self.stop = threading.Event()
        self.first = None         # time of the first fault action (relative to t0)
        self.last = None          # time of the last fault action, a SIGCONT included
        self.error = None
        self.bursts = 0

    def rel(self):
        return round(now() - self.t0, 6)

    def record(self, kind, node, pid, **extra):
        t = self.rel()
        entry = dict(t=t, kind=kind, node=node, pid=pid, **extra)
        with self.lock:
            self.log.append(entry)
            if acted(entry):
                if self.first is None:
                    self.first = t
                self.last = t

    def run(self):
        try:
            self._run()
        except Exception:  # reported by the run; the finally below still continues everyone
            self.error = traceback.format_exc()
        finally:
            self.resume_all()

    def pending_until(self):
        """When the last pause or partition now in force ends (monotonic), or None."""
        with self.lock:
            return max([p[0] for p in self.paused] + list(self.cut.values()), default=None)

    def _gap(self):
        return self.rng.uniform(*self.gap)

    def _run(self):
        # No kinds (--faults none): a baseline run, the same workload without faults.
        next_fault = self.start_at + self._gap() if self.kinds else float("inf")
        while not self.stop.is_set():
            t = now()
            self._resume_due(t)
            with self.lock:
                next_resume = min([p[0] for p in self.paused] + list(self.cut.values()),
                                  default=None)
            if t >= self.end_at and next_resume is None:
                return
            wake = [x for x in (next_resume, next_fault if next_fault < self.end_at else None)
                    if x is not None]
            if not wake:
                return
            if self.stop.wait(max(0.0, min(wake) - now())):
                return
            if now() >= next_fault and next_fault < self.end_at:
                self._inject()
                next_fault = now() + self._gap()

    def _inject(self):
        # The draws do not depend on what the tree does, so a seed replays the same schedule.
        kind = self.rng.choice(self.kinds)
        node = self.rng.choice(self.ids)
        if kind == "kill":
            self._kill(node, "kill")
        elif kind == "pause":
            self._pause(node, self.rng.uniform(0.3, 2.0))
        elif kind == "partition":
            host = self.rng.choice(self.lab.hosts)
            long = self.rng.random() < self.long_share
            seconds = self.rng.uniform(*(self.long_partition if long else self.partition_s))
            self._partition(host, seconds, long)
        else:
            self.bursts += 1
            for victim in self.rng.sample(self.ids, self.rng.randint(3, 5)):
                self._kill(victim, "burst", burst=self.bursts)

    def _kill(self, node, kind, **extra):
        procs = open_node(self.session, node)
        if not procs:
            self.record(kind, node, None, note="no process (restarting)", **extra)
        for pid, fd in procs:
            try:
                sent = send_signal(fd, signal.SIGKILL)
            finally:
                os.close(fd)
            self.record(kind, node, pid if sent else None, **extra)

    def _pause(self, node, seconds):
        procs = open_node(self.session, node)
        if not procs:
            self.record("pause", node, None, note="no process (restarting)",
                        pause_s=round(seconds, 3))
        for pid, fd in procs:
            if not send_signal(fd, signal.SIGSTOP):
                os.close(fd)
                self.record("pause", node, None, note="exited before SIGSTOP")
                continue
            until = now() + seconds
            extra = {}
            with self.lock:
                # A process paused again while stopped stays stopped until the later end.
                for i, (t, n, p, old_fd) in enumerate(self.paused):
                    if p == pid and n == node:
                        if t > until:
                            until = t
                        os.close(old_fd)
                        del self.paused[i]
                        extra = {"note": "already stopped: until the later end"}
                        break
                self.paused.append((until, node, pid, fd))
            self.record("pause", node, pid, pause_s=round(seconds, 3), **extra)

    def _partition(self, host, seconds, long):
        """The host's veth down for `seconds`: silence both ways for every node on it. A host
        cut again while cut stays cut until the later of the two ends."""
        until = now() + seconds
        nodes = sorted(n for n, h in self.placement.items() if h == host)
        extra = dict(host=host, nodes=nodes, pause_s=round(seconds, 3))
        if long:
            extra["long"] = True
        with self.lock:
            already = self.cut.get(host)
        if already is not None:
            with self.lock:
                self.cut[host] = max(already, until)
            self.record("partition", None, None,
                        note="already cut: until the later end", **extra)
            return
        try:
            self.lab.partition(host, True)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            self.record("partition", None, None, failed=str(e), **extra)
            raise
        with self.lock:
            self.cut[host] = until
        self.record("partition", None, None, **extra)

    def _link_up(self, host):
        nodes = sorted(n for n, h in self.placement.items() if h == host)
        try:
            self.lab.partition(host, False)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            self.record("link-up", None, None, host=host, nodes=nodes, failed=str(e))
            raise
        self.record("link-up", None, None, host=host, nodes=nodes)

    def _resume_due(self, t):
        with self.lock:
            due = [p for p in self.paused if p[0] <= t]
            self.paused = [p for p in self.paused if p[0] > t]
            hosts = [h for h, until in self.cut.items() if until <= t]
            for h in hosts:
                del self.cut[h]
        for _, node, pid, fd in due:
            self._resume(node, pid, fd)
        for h in hosts:
            self._link_up(h)

    def _resume(self, node, pid, fd):
        try:
            sent = send_signal(fd, signal.SIGCONT)
        finally:
            os.close(fd)
        self.record("resume", node, pid if sent else None,
                    **({} if sent else {"note": "exited while stopped"}))

    def resume_all(self):
        """Continues every stopped process and sets every cut link up: never raises (it runs in
        finally blocks), and tries every link even when one fails."""
        with self.lock:
            due, self.paused = self.paused, []
            hosts, self.cut = list(self.cut), {}
        for _, node, pid, fd in due:
            self._resume(node, pid, fd)
        for h in hosts:
            try:
                self._link_up(h)
            except (RuntimeError, OSError, subprocess.SubprocessError):
                pass
        if self.lab is not None:
            self.lab.heal_all()


# ---------------------------------------------------------------------------------------------
# One run.

class Run:
    def __init__(self, args):
        self.args = args
        self.t0 = now()
        self.failures = []      # why this run fails, apart from anomalies
        self.notes = []
        self.ctl = None
        self.faults = None
        self.session = None
        self.lab = None
        self.placement = {}     # node -> lab host
        self.set_count = 0
        self.aborted = threading.Event()
        self.bound_at = float("inf")
        self.key_names = ["k%d" % k for k in range(args.keys)]

    def say(self, msg):
        if not self.args.quiet:
            print("[chaos %6.1fs] %s" % (now() - self.t0, msg), file=sys.stderr, flush=True)

    def fail(self, why):
        self.failures.append(why)
        self.say("FAIL: " + why)

    # The command mix: 60% sets of unique values, 40% gets, over ids x keys.
    def next_command(self, rng, ids):
        node = rng.choice(ids)
        key = self.key_names[rng.randrange(self.args.keys)]
        if rng.random() < self.args.set_share:
            self.set_count += 1
            value = 1_000_000 + self.set_count
            return Op(op="set", node=node, key=key, value=value, phase="work",
                      command="exec %d %s %d" % (node, key, value))
        return Op(op="get", node=node, key=key, phase="work",
                  command="exec %d %s" % (node, key))

    def watchdog(self):
        """The run's overall bound: past it, everything is killed and the run fails."""
        self.aborted.set()
        self.say("the run passed its time bound: killing the tree")
        self.kill_everything()

    def kill_everything(self):
        if self.faults:
            self.faults.stop.set()
            self.faults.resume_all()
        if self.session:
            for node, pids in session_nodes(self.session).items():
                for pid, fd in open_node(self.session, node, pids):
                    send_signal(fd, signal.SIGCONT)
                    os.close(fd)
        if self.ctl and self.ctl.alive():
            self.ctl.proc.kill()
        if self.session:
            kill_session(self.session)

    def execute(self):
        a = self.args
        run_dir = self.run_dir
        ids = bushy_ids(a.nodes)
        self.ids = ids
        if a.lab:
            self.say("building a lab of %d hosts (arbor-netns-lab)" % a.lab)
            self.lab = Lab(os.path.join(a.bin, "arbor-netns-lab"), a.lab,
                           os.path.join(a.bin, "arbor-node"), os.path.join(run_dir, "lab.log"))
            # Round-robin in insertion order: the root on h1, its children on h2 and h3, ...
            # so that most edges of the tree cross from one host to another.
            hosts = self.lab.hosts
            self.placement = {n: hosts[i % len(hosts)] for i, n in enumerate(ids)}
            self.say("lab %s: %s" % (self.lab.desc["dir"], ", ".join(
                "%s=%s (%s)" % (h["name"], h["address"], h["veth"])
                for h in self.lab.desc["hosts"])))
        config = os.path.join(run_dir, "config.yaml")
        write_config(config, ids, os.path.join(run_dir, "data"), a.durability, a.request_ms,
                     a.seed, self.lab.desc if self.lab else None, self.placement)
        arbor = os.path.join(a.bin, "arbor")
        self.ctl = Controller([arbor, "--config", config, "--json"], run_dir,
                              os.path.join(run_dir, "controller.log"), self.t0)
        ctl = self.ctl

        # Up: the first pingall is answered once the nodes: list is deployed.
        first = Op(op="pingall", command="pingall", phase="setup")
        ctl.send([first])
        start_wait = LAB_START_WAIT if a.lab else START_WAIT
        if not ctl.wait_answered([first], start_wait) or first.get("result") != "-1":
            self.fail("the tree did not come up: first pingall %s" % (
                first.get("result", first.get("error", "had no answer"))))
            return
        deadline = now() + 5
        while self.session is None and now() < deadline:
            self.session = find_session(ctl.proc.pid)
            if self.session is None:
                time.sleep(0.05)
        if self.session is None:
            self.fail("no arbor-node child of the controller (pid %d)" % ctl.proc.pid)
            return
        self.say("tree of %d nodes up (session %s)%s, %s s of %s faults, durability %s" % (
            len(ids), self.session, " on %d lab hosts" % a.lab if a.lab else "", a.duration,
            ",".join(a.faults), a.durability))

        # Workload and faults.
        work_rng = random.Random("work-%d" % a.seed)
        fault_rng = random.Random("faults-%d" % a.seed)
        start = now()
        end = start + a.duration
        self.faults = Faults(self.session, ids, a.faults, fault_rng, self.t0, start, end,
                             lab=self.lab, placement=self.placement,
                             partition=(a.partition_min, a.partition_max),
                             long_share=a.long_partition_share,
                             long_partition=(a.long_partition, a.long_partition + 5),
                             gap=a.gap)
        self.faults.start()
        next_status = start + 10
        # At most a.inflight commands unanswered, and at most a.rate a second (a token bucket
        # holding a tenth of a second's worth, so a stall is not followed by a flood).
        tokens, refilled = 0.0, now()
        cap = max(100.0, a.rate / 10)
        while now() < end and not ctl.eof and not ctl.broken and not self.aborted.is_set():
            room = ctl.wait_room(a.inflight, min(0.2, max(0.0, end - now())))
            t = now()
            if a.rate:
                tokens = min(cap, tokens + (t - refilled) * a.rate)
                refilled = t
                # Commands go out in groups of at least a hundredth of a second's worth: one
                # write each, rather than a write and a wakeup per command.
                want = min(max(1.0, a.rate / 100), room if room > 0 else 1)
                if tokens < want:
                    time.sleep(min((want - tokens) / a.rate + 0.001, max(0.0, end - t)))
                    continue
                room = min(room, int(tokens))
            if room > 0:
                n = min(room, 100)
                tokens -= n
                ctl.send([self.next_command(work_rng, ids) for _ in range(n)])
            if now() >= next_status:
                next_status += 10
                with ctl.cond:
                    answered = len(ctl.ops) - len(ctl.pending)
                self.say("%d commands answered, %d in flight, %d fault actions" % (
                    answered, ctl.inflight(), len(self.faults.log)))
        if ctl.eof or ctl.broken:
            self.fail("the controller went away during the workload (exit status %s)" %
                      ctl.proc.poll())
            return
        # The last pauses and partitions end on their own schedule (2 s, 5 s, or a long
        # partition's 40 s at most).
        until = self.faults.pending_until()
        self.faults.join(timeout=5 + max(0.0, (until or 0) - now()))
        self.faults.stop.set()
        self.faults.resume_all()
        if self.faults.error:
            self.fail("the fault injector failed:\n" + self.faults.error)
        last_fault = self.faults.last if self.faults.last is not None else now() - self.t0
        self.last_fault = last_fault

        # Heal: pingall every HEAL_INTERVAL until Ok: -1, at most a.heal_wait s after the fault.
        self.heal_s = None
        heal_deadline = self.t0 + last_fault + a.heal_wait
        pings = 0
        while now() < heal_deadline and not ctl.eof:
            p = Op(op="pingall", command="pingall", phase="heal")
            sent = now()
            ctl.send([p])
            pings += 1
            ctl.wait_answered([p], heal_deadline - now())
            if p.get("ok") and p.get("result") == "-1":
                self.heal_s = round(p["complete"] - last_fault, 3)
                break
            time.sleep(max(0.0, min(sent + HEAL_INTERVAL, heal_deadline) - now()))
        if self.heal_s is None:
            last = [c for c in ctl.ops if c["op"] == "pingall" and "ok" in c]
            self.fail("the tree did not heal within %s s of the last fault (%d pingalls, the "
                      "last answered: %s)" % (a.heal_wait, pings, last[-1].get(
                          "result", last[-1].get("error")) if last else "none"))
            if last and last[-1].get("ok"):
                self.describe_unhealed(last[-1].get("result", ""))
        else:
            self.say("healed %.3f s after the last fault" % self.heal_s)

        # Final reads: every key once more.
        finals = [Op(op="get", node=n, key="k%d" % k, phase="final",
                       command="exec %d k%d" % (n, k)) for n in ids for k in range(a.keys)]
        ctl.send(finals)
        if not ctl.wait_answered(finals, FINAL_READS_WAIT + 2 * a.request_ms / 1000):
            self.notes.append("%d final reads had no answer" % sum(
                "ok" not in c for c in finals))

        # Exit.
        ctl.close_input()
        try:
            self.exit_status = ctl.proc.wait(timeout=EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self.exit_status = None
            self.fail("the controller did not exit within %s s of exit and EOF" % EXIT_WAIT)
            self.kill_everything()
        ctl.reader.join(timeout=5)
        deadline = now() + LEFTOVER_WAIT
        left = session_nodes(self.session)
        while left and now() < deadline:
            time.sleep(0.1)
            left = session_nodes(self.session)
        if left:
            self.fail("node processes left after the controller exited: %s" % left)
            self.describe_leftovers(left)

    def describe_unhealed(self, result):
        """Evidence for a tree that did not heal (unhealed.txt): the processes of the nodes the
        last pingall could not reach and of their nearest reachable ancestors, with gdb's
        backtraces of each (when gdb is here; 8 processes at most, within 60 s)."""
        try:
            down = {int(x) for x in result.split(";") if x.strip()}
        except ValueError:
            return
        parents = bst_parents(self.ids)
        ups = {parents[n] for n in down if parents.get(n) is not None} - down
        live = session_nodes(self.session)
        lines = ["last pingall: %s" % result,
                 "unreachable: %s" % sorted(down),
                 "their reachable parents: %s" % sorted(ups)]
        for n in sorted(down | ups):
            lines.append("node %d%s: pids %s" % (n, " (up)" if n in ups else "",
                                                  live.get(n, [])))
        # Within the run's bound, with room left for the exit.
        budget = min(now() + 60, self.bound_at - 20)
        order = sorted(ups) + sorted(down)
        for n in order[:8]:
            for pid in live.get(n, [])[:1]:
                if now() < budget:
                    lines.extend(backtraces(n, pid, timeout=max(1.0, budget - now())))
        path = os.path.join(self.run_dir, "unhealed.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        self.say("the tree did not heal: details in %s" % path)

    def describe_leftovers(self, left):
        """What the node processes left behind are doing (leftovers.txt in the run directory:
        state, parent, and each thread's kernel wait channel and stack), then how much longer
        they live, LEFTOVER_LINGER s at most. The run has failed already; this is evidence."""
        lines = []
        for node, pids in sorted(left.items()):
            for pid in pids:
                lines.append("node %d pid %d: %s" % (node, pid, " ".join(_cmdline(pid) or [])[:300]))
                for name in ("status",):
                    text = _read_text("/proc/%d/%s" % (pid, name))
                    keep = [l for l in text.splitlines()
                            if l.split(":")[0] in ("State", "PPid", "Threads", "SigBlk", "SigPnd",
                                                   "ShdPnd")]
                    lines.append("  " + "; ".join(keep))
                ppid = _ppid(pid)
                lines.append("  parent %s: %s" % (ppid, " ".join(_cmdline(ppid) or [])[:200]
                                                  if ppid else "-"))
                try:
                    tasks = sorted(os.listdir("/proc/%d/task" % pid), key=int)
                except OSError:
                    tasks = []
                for tid in tasks:
                    base = "/proc/%d/task/%s/" % (pid, tid)
                    lines.append("  thread %s %s wchan=%s" % (
                        tid, _read_text(base + "comm").strip(), _read_text(base + "wchan")))
                    stack = _read_text(base + "stack").strip()
                    if stack:
                        lines.extend("      " + l for l in stack.splitlines()[:12])
        t_left = now()
        while left and now() < t_left + LEFTOVER_LINGER:
            time.sleep(0.1)
            left = session_nodes(self.session)
        lines.append("%s %.1f s after the first look (%.1f s after the controller exited)" % (
            "all gone" if not left else "still there: %s" % left, now() - t_left,
            now() - t_left + LEFTOVER_WAIT))
        self.notes.append(lines[-1])
        # Where they are stuck, in their own code: gdb's backtraces, when gdb is here.
        for node, pids in sorted(left.items()):
            for pid in pids:
                lines.extend(backtraces(node, pid))
        path = os.path.join(self.run_dir, "leftovers.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        self.say("left behind: " + lines[-1] + " (details in %s)" % path)

    def main(self):
        a = self.args
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            self.run_dir = os.path.abspath(a.out)
        else:
            self.run_dir = tempfile.mkdtemp(prefix="arbor-chaos-%d-" % a.seed)
        print("run dir: %s" % self.run_dir, flush=True)
        # The nodes' journals of an earlier run in this directory would answer this run's
        # reads with values of that run's writes.
        shutil.rmtree(os.path.join(self.run_dir, "data"), ignore_errors=True)
        self.exit_status = None
        self.heal_s = None
        self.last_fault = None
        bound = a.duration + a.heal_wait + 30
        if a.lab:
            # Building the lab, starting every node over ssh, and a long partition that ends
            # after the workload.
            bound += LAB_BUILD_WAIT + LAB_START_WAIT + (
                a.long_partition + 5 if a.long_partition_share > 0 else a.partition_max)
        self.bound_at = now() + bound
        dog = threading.Timer(bound, self.watchdog)
        dog.daemon = True
        dog.start()
        skipped = None
        try:
            self.execute()
        except LabUnavailable as e:
            skipped = str(e)
        except (KeyboardInterrupt, SystemExit):
            self.fail("interrupted")
        except Exception:
            self.fail("the harness failed:\n" + traceback.format_exc())
        finally:
            dog.cancel()
            if self.faults:
                self.faults.stop.set()
                self.faults.resume_all()
                self.faults.join(timeout=3)
            if self.lab:
                self.lab.heal_all()  # every link up before anything else is torn down
            if self.ctl and self.ctl.alive():
                self.kill_everything()
                try:
                    self.ctl.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            if self.session:
                kill_session(self.session, self.say)
            if self.ctl:
                self.ctl.close_log()
            if self.lab:
                self.lab.save_logs(os.path.join(self.run_dir, "lab"))
                if not self.lab.close():
                    self.fail("arbor-netns-lab did not remove the lab cleanly (see %s)" %
                              os.path.join(self.run_dir, "lab.log"))
        if skipped is not None:
            return self.skip(skipped)
        if self.aborted.is_set():
            self.fail("the run passed its bound of %d s and was killed" % bound)
        return self.report()

    def skip(self, why):
        """No lab here: a summary that says so, and exit status 77."""
        with open(os.path.join(self.run_dir, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(dict(seed=self.args.seed, lab=self.args.lab, skipped=why, passed=None), f,
                      indent=2)
            f.write("\n")
        print("SKIP: seed %d: no namespace lab here: %s" % (self.args.seed, why), flush=True)
        return 77

    def report(self):
        a = self.args
        ops = self.ctl.ops if self.ctl else []
        with open(os.path.join(self.run_dir, "history.jsonl"), "w", encoding="utf-8") as f:
            for c in ops:
                f.write(json.dumps(c.to_json()) + "\n")
        flog = self.faults.log if self.faults else []
        with open(os.path.join(self.run_dir, "faults.jsonl"), "w", encoding="utf-8") as f:
            for e in flog:
                f.write(json.dumps(e) + "\n")
        if self.ctl and self.ctl.protocol_errors:
            self.fail("%d answers did not match their commands, first: %s" % (
                len(self.ctl.protocol_errors), self.ctl.protocol_errors[0]))

        anomalies = checker.check(ops)
        with open(os.path.join(self.run_dir, "anomalies.jsonl"), "w", encoding="utf-8") as f:
            for an in anomalies:
                f.write(json.dumps(an) + "\n")
        kinds = checker.count_kinds(anomalies)

        data = [c for c in ops if c["op"] in ("set", "get")]
        work = [c for c in data if c.get("phase") == "work"]
        first = self.faults.first if self.faults else None
        last = self.faults.last if self.faults else None
        during = [c for c in work if first is not None and first <= c["invoke"] <= last]
        answered_ok = sum(1 for c in during if c.get("ok"))
        availability = round(answered_ok / len(during), 4) if during else None
        fault_counts = Counter(e["kind"] for e in flog if acted(e))
        summary = dict(
            seed=a.seed, nodes=a.nodes, keys=a.keys, duration_s=a.duration, gap_s=list(a.gap),
            lab=a.lab, placement={str(n): h for n, h in self.placement.items()},
            long_partitions=sum(1 for e in flog if e.get("long") and acted(e)),
            durability=a.durability, faults=list(a.faults), request_ms=a.request_ms,
            inflight=a.inflight, rate=a.rate, bin=a.bin, run_dir=self.run_dir,
            commands=len(data), work_commands=len(work),
            sets=dict(ok=sum(1 for c in work if c["op"] == "set" and c.get("ok")),
                      error=sum(1 for c in work if c["op"] == "set" and c.get("ok") is False)),
            gets=dict(ok=sum(1 for c in work if c["op"] == "get" and c.get("ok")),
                      error=sum(1 for c in work if c["op"] == "get" and c.get("ok") is False)),
            unanswered=sum(1 for c in data if "ok" not in c),
            errors=dict(Counter(c["error"] for c in data if c.get("ok") is False)
                        .most_common(5)),
            during_faults=len(during), availability=availability,
            fault_actions=dict(fault_counts), first_fault_s=first, last_fault_s=last,
            heal_s=self.heal_s, heal_limit_s=a.heal_limit,
            anomalies=len(anomalies), anomaly_kinds=kinds,
            expect_anomalies=a.expect_anomalies,
            controller_exit=self.exit_status, failures=self.failures, notes=self.notes,
            wall_s=round(now() - self.t0, 3),
            harness_cpu_s=round(os.times().user + os.times().system, 3))

        ok = not self.failures
        if self.heal_s is not None and self.heal_s > a.heal_limit:
            ok = False
            self.failures.append("healed in %.3f s, over the limit of %s s" % (
                self.heal_s, a.heal_limit))
        if a.expect_anomalies:
            want = None if a.expect_anomalies == "any" else a.expect_anomalies.split(",")
            seen = bool(anomalies) if want is None else any(kinds.get(k) for k in want)
            if not seen:
                ok = False
                self.failures.append("expected anomalies (%s), the checker found none" %
                                     a.expect_anomalies)
        elif anomalies:
            ok = False
        summary["passed"] = ok
        with open(os.path.join(self.run_dir, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")

        if not a.quiet:
            parents = bst_parents(bushy_ids(a.nodes))
            for an in anomalies[:a.show]:
                print(an["text"])
                for line in self.faults_around(an, flog, parents, self.placement):
                    print("    " + line)
            if len(anomalies) > a.show:
                print("... %d more in %s/anomalies.jsonl" % (len(anomalies) - a.show,
                                                             self.run_dir))
        print("seed %d: %d commands (%d sets ok, %d failed; %d gets ok, %d failed), "
              "availability during faults %s, fault actions %s" % (
                  a.seed, len(data), summary["sets"]["ok"], summary["sets"]["error"],
                  summary["gets"]["ok"], summary["gets"]["error"],
                  "%.1f%%" % (100 * availability) if availability is not None else "n/a",
                  " ".join("%s=%d" % kv for kv in sorted(fault_counts.items())) or "none"))
        print("anomalies: %d%s%s" % (len(anomalies), "".join(
            " %s=%d" % (k, kinds[k]) for k in checker.KINDS if k in kinds),
            " (expected)" if a.expect_anomalies else ""))
        if self.heal_s is not None:
            heal = "%.3f s after the last fault" % self.heal_s
        elif self.last_fault is not None:
            heal = "never (within %s s)" % a.heal_wait
        else:
            heal = "not measured"
        print("heal: " + heal)
        for why in self.failures:
            print("failure: " + why.splitlines()[0])
        print("%s: %s  (files in %s)" % ("PASS" if ok else "FAIL",
                                         "seed %d" % a.seed, self.run_dir), flush=True)
        return 0 if ok else 1


    @staticmethod
    def faults_around(anomaly, flog, parents, placement=None):
        """Fault actions at the anomaly's node or its ancestors (or their hosts) between the
        first command involved being sent and the read's answer."""
        path, node = [], anomaly["node"]
        while node is not None:
            path.append(node)
            node = parents.get(node)
        hosts = {placement[n] for n in path if placement and n in placement}
        involved = [anomaly[k] for k in ("read", "write", "floor", "barrier") if anomaly.get(k)]
        lo = min(op["invoke"] for op in involved)
        hi = max(op.get("complete") or op["invoke"] for op in involved)
        hits = [e for e in flog if (e["node"] in path or e.get("host") in hosts) and
                lo <= e["t"] <= hi]
        if not hits:
            return ["faults:  none at node %s or its ancestors %s in t=%.3f..%.3f" % (
                anomaly["node"], path[1:], lo, hi)]
        return ["fault:   t=%.3f %s %s%s" % (
            e["t"], e["kind"],
            "host %s (nodes %s)" % (e["host"], e.get("nodes")) if "host" in e else
            "node %s pid %s" % (e["node"], e["pid"]),
            " (%s s)" % e["pause_s"] if "pause_s" in e else "") for e in hits]


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="A chaos run against arbor: random kill -9 and SIGSTOP under a pipelined "
                    "workload, then a history check. See docs/chaos.md.")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the workload and the fault schedule (default: random, printed)")
    p.add_argument("--duration", type=float, default=75, help="seconds of faults (default 75)")
    p.add_argument("--nodes", type=int, default=15, help="tree size (default 15)")
    p.add_argument("--keys", type=int, default=8, help="keys per node (default 8)")
    p.add_argument("--durability", choices=("none", "flush", "fsync"), default="fsync",
                   help="the dictionary's durability (default fsync)")
    p.add_argument("--request-ms", type=int, default=800, help="command deadline (default 800)")
    p.add_argument("--faults", default=None,
                   help="fault kinds, comma-separated: kill,pause,burst,partition, or none "
                        "(default %s; with --lab %s)" % (LOCAL_FAULTS, LAB_FAULTS))
    p.add_argument("--gap", default=None, metavar="MIN,MAX",
                   help="seconds between two faults, drawn uniformly (default 0.15,0.7; with "
                        "--lab %s)" % LAB_GAP)
    p.add_argument("--lab", type=int, default=0, metavar="HOSTS",
                   help="run the tree on a namespace lab of HOSTS hosts (arbor-netns-lab in "
                        "--bin; root only): nodes placed round-robin, started over ssh, "
                        "talking tls+tcp; adds the fault kind partition (default 0: no lab)")
    p.add_argument("--partition-min", type=float, default=0.5,
                   help="--lab: shortest partition of a host, seconds (default 0.5)")
    p.add_argument("--partition-max", type=float, default=5.0,
                   help="--lab: longest ordinary partition, seconds (default 5)")
    p.add_argument("--long-partition-share", type=float, default=0.05,
                   help="--lab: share of partitions that outlast ssh's keepalive (default "
                        "0.05; 0: none)")
    p.add_argument("--long-partition", type=float, default=35.0,
                   help="--lab: a long partition lasts this to 5 s more (default 35: ssh gives "
                        "a silent session up after about 30 s)")
    p.add_argument("--inflight", type=int, default=500,
                   help="commands kept in flight (default 500)")
    p.add_argument("--rate", type=float, default=5000,
                   help="at most this many commands a second; 0: no limit (default 5000; "
                        "unlimited, 15 nodes on 2 cores answer about 40000 a second, and a "
                        "75 s history is then about 600 MB)")
    p.add_argument("--set-share", type=float, default=0.6, help="share of sets (default 0.6)")
    p.add_argument("--heal-limit", type=float, default=10,
                   help="the tree must answer pingall Ok: -1 this many seconds after the last "
                        "fault (default 10)")
    p.add_argument("--heal-wait", type=float, default=30,
                   help="how long to keep trying pingall after the last fault (default 30)")
    p.add_argument("--expect-anomalies", nargs="?", const="any", default=None, metavar="KINDS",
                   help="pass only when the checker finds anomalies (of these kinds, "
                        "comma-separated): the proof that it can fail")
    p.add_argument("--bin", default=os.path.join(REPO, "build", "bin"),
                   help="directory of arbor and arbor-node (default <repo>/build/bin)")
    p.add_argument("--out", help="run directory (default: a new temporary directory)")
    p.add_argument("--show", type=int, default=10, help="anomalies printed (default 10)")
    p.add_argument("--quiet", action="store_true", help="only the summary lines")
    a = p.parse_args(argv)
    try:
        a.gap = tuple(float(x) for x in (a.gap or (LAB_GAP if a.lab else "0.15,0.7")).split(","))
    except ValueError:
        a.gap = ()
    if len(a.gap) != 2 or not 0 < a.gap[0] <= a.gap[1]:
        p.error("--gap: MIN,MAX seconds, 0 < MIN <= MAX")
    if a.faults is None:
        a.faults = LAB_FAULTS if a.lab else LOCAL_FAULTS
    a.faults = [] if a.faults.strip() == "none" else \
        [f.strip() for f in a.faults.split(",") if f.strip()]
    bad = [f for f in a.faults if f not in FAULT_KINDS]
    if bad:
        p.error("--faults: none, or one or more of %s" % ",".join(FAULT_KINDS))
    if "partition" in a.faults and not a.lab:
        p.error("--faults partition needs --lab")
    if a.lab < 0 or a.lab > 99:
        p.error("--lab: 1 to 99 hosts (0: no lab)")
    if not 0 < a.partition_min <= a.partition_max or a.long_partition <= 0 or \
            not 0 <= a.long_partition_share <= 1:
        p.error("--partition-min/max: 0 < min <= max; --long-partition positive; "
                "--long-partition-share 0 to 1")
    if a.expect_anomalies not in (None, "any"):
        bad = [k for k in a.expect_anomalies.split(",") if k not in checker.KINDS]
        if bad:
            p.error("--expect-anomalies: kinds are %s" % ",".join(checker.KINDS))
    if a.nodes < 3 or a.nodes > 200:
        p.error("--nodes: 3 to 200")
    if a.keys < 1 or a.inflight < 1 or a.duration <= 0 or a.heal_wait <= 0 or a.rate < 0:
        p.error("--keys, --inflight, --duration and --heal-wait must be positive, --rate not "
                "negative")
    a.bin = os.path.abspath(a.bin)
    for exe in ("arbor", "arbor-node") + (("arbor-netns-lab",) if a.lab else ()):
        if not os.access(os.path.join(a.bin, exe), os.X_OK):
            p.error("no executable %s in %s (--bin)" % (exe, a.bin))
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 1_000_000)
    return a


def main(argv=None):
    args = parse_args(argv)

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    return Run(args).main()


if __name__ == "__main__":
    sys.exit(main())
