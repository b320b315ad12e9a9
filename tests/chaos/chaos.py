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

FAULT_KINDS = ("kill", "pause", "burst")

# Bounds of every wait, in seconds.
START_WAIT = 10.0        # the deployment answers its first pingall
FINAL_READS_WAIT = 5.0   # plus two request deadlines
EXIT_WAIT = 10.0         # the controller exits after `exit` and EOF
LEFTOVER_WAIT = 3.0      # nodes are gone after the controller exited
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


def write_config(path, ids, data_dir, durability, request_ms, seed):
    text = f"""# arbor chaos run, seed {seed} (written by tests/chaos/chaos.py)
timeouts:
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
nodes: [{", ".join(str(i) for i in ids)}]
"""
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


def find_session(controller_pid):
    """The session of the tree a controller runs: read from its node children's arguments."""
    for pid in _pids():
        if _ppid(pid) == controller_pid:
            ident = node_identity(_cmdline(pid))
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
                                     stderr=self.stderr, cwd=cwd)
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

class Faults(threading.Thread):
    """Injects faults at random nodes from start to end; the schedule comes from rng alone, so
    a seed replays it. Pauses end at their own time (after end too); every stopped process is
    continued before the thread ends, whatever happens."""

    def __init__(self, session, ids, kinds, rng, t0, start, end):
        super().__init__(name="faults", daemon=True)
        self.session, self.ids, self.kinds, self.rng = session, ids, kinds, rng
        self.t0, self.start_at, self.end_at = t0, start, end
        self.log = []
        self.lock = threading.Lock()
        self.paused = []          # [(resume at, node, pid, pidfd)]
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
            if pid is not None:
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

    def _gap(self):
        return self.rng.uniform(0.15, 0.7)

    def _run(self):
        next_fault = self.start_at + self._gap()
        while not self.stop.is_set():
            t = now()
            self._resume_due(t)
            with self.lock:
                next_resume = min((p[0] for p in self.paused), default=None)
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

    def _resume_due(self, t):
        with self.lock:
            due = [p for p in self.paused if p[0] <= t]
            self.paused = [p for p in self.paused if p[0] > t]
        for _, node, pid, fd in due:
            self._resume(node, pid, fd)

    def _resume(self, node, pid, fd):
        try:
            sent = send_signal(fd, signal.SIGCONT)
        finally:
            os.close(fd)
        self.record("resume", node, pid if sent else None,
                    **({} if sent else {"note": "exited while stopped"}))

    def resume_all(self):
        with self.lock:
            due, self.paused = self.paused, []
        for _, node, pid, fd in due:
            self._resume(node, pid, fd)


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
        self.set_count = 0
        self.aborted = threading.Event()
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
        config = os.path.join(run_dir, "config.yaml")
        write_config(config, ids, os.path.join(run_dir, "data"), a.durability, a.request_ms,
                     a.seed)
        arbor = os.path.join(a.bin, "arbor")
        self.ctl = Controller([arbor, "--config", config, "--json"], run_dir,
                              os.path.join(run_dir, "controller.log"), self.t0)
        ctl = self.ctl

        # Up: the first pingall is answered once the nodes: list is deployed.
        first = Op(op="pingall", command="pingall", phase="setup")
        ctl.send([first])
        if not ctl.wait_answered([first], START_WAIT) or first.get("result") != "-1":
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
        self.say("tree of %d nodes up (session %s), %s s of %s faults, durability %s" % (
            len(ids), self.session, a.duration, ",".join(a.faults), a.durability))

        # Workload and faults.
        work_rng = random.Random("work-%d" % a.seed)
        fault_rng = random.Random("faults-%d" % a.seed)
        start = now()
        end = start + a.duration
        self.faults = Faults(self.session, ids, a.faults, fault_rng, self.t0, start, end)
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
        # The last pauses end on their own schedule (at most 2 s).
        self.faults.join(timeout=5)
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
        dog = threading.Timer(bound, self.watchdog)
        dog.daemon = True
        dog.start()
        try:
            self.execute()
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
            if self.ctl and self.ctl.alive():
                self.kill_everything()
                try:
                    self.ctl.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            if self.session:
                kill_session(self.session, self.say)
            if self.ctl:
                self.ctl.stderr.close()
        if self.aborted.is_set():
            self.fail("the run passed its bound of %d s and was killed" % bound)
        return self.report()

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
        fault_counts = Counter(e["kind"] for e in flog if e.get("pid") is not None)
        summary = dict(
            seed=a.seed, nodes=a.nodes, keys=a.keys, duration_s=a.duration,
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
                for line in self.faults_around(an, flog, parents):
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
    def faults_around(anomaly, flog, parents):
        """Fault actions at the anomaly's node or its ancestors between the first command
        involved being sent and the read's answer."""
        path, node = [], anomaly["node"]
        while node is not None:
            path.append(node)
            node = parents.get(node)
        involved = [anomaly[k] for k in ("read", "write", "floor", "barrier") if anomaly.get(k)]
        lo = min(op["invoke"] for op in involved)
        hi = max(op.get("complete") or op["invoke"] for op in involved)
        hits = [e for e in flog if e["node"] in path and lo <= e["t"] <= hi]
        if not hits:
            return ["faults:  none at node %s or its ancestors %s in t=%.3f..%.3f" % (
                anomaly["node"], path[1:], lo, hi)]
        return ["fault:   t=%.3f %s node %s pid %s%s" % (
            e["t"], e["kind"], e["node"], e["pid"],
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
    p.add_argument("--faults", default="kill,pause,burst",
                   help="fault kinds, comma-separated: kill,pause,burst (default all)")
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
    a.faults = [f.strip() for f in a.faults.split(",") if f.strip()]
    bad = [f for f in a.faults if f not in FAULT_KINDS]
    if bad or not a.faults:
        p.error("--faults: one or more of %s" % ",".join(FAULT_KINDS))
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
    for exe in ("arbor", "arbor-node"):
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
