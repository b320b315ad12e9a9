#!/usr/bin/env python3
"""History checker for arbor's chaos suite (tests/chaos/chaos.py); docs/chaos.md explains it.

    checker.py HISTORY.jsonl [--json]   check a recorded history; exit 1 when it has anomalies
    checker.py --self-test              check the checker on hand-made histories; exit 1 on a miss

The promise checked, per key (node, name):
  * commands to one node take effect in the order they were sent (the controller keeps each
    node's submission order), so a key's operations are scanned in submission order (index);
  * an `Ok` for a set means it was applied (and is durable as the durability mode promises);
  * a set that failed (e.g. `Node is unavailable`) has an unknown outcome: it may or may not have
    been applied, but it is never applied after a later acknowledged command to that node;
  * values written are unique, so the value a read returns names the set that wrote it.

Scanning a key, the checker keeps the floor F (the latest set known to have taken effect: an
acknowledged set, or a set a read has shown) and the barrier B (the latest successful read).
A successful read at position q returning the value of set w must satisfy w == F, or
max(F, B) < w < q; 'not found' is allowed only while there is no F. Otherwise:
  phantom      no set wrote the value (to this key)
  future-read  w was sent after the read
  stale-read   w is older than F, and F is an acknowledged set (an acknowledged write was undone;
               issue 16: a set that failed, then a later acknowledged set, then the first one read)
  reordering   w is older than F where F was only seen by a read, or w lies between F and B: a
               read already showed w had not been applied, so it was applied after that read
  lost-write   'not found' while F exists (an applied write vanished; expected with
               durability none and kills)
After an anomaly the scan carries on from what the read showed, so one fault is reported once.
Failed reads are ignored; failed sets are only candidates for what later reads may show.
"""

import argparse
import json
import sys
from collections import Counter, defaultdict

KINDS = ("phantom", "future-read", "stale-read", "reordering", "lost-write")


def load_history(path):
    """The history records of a history.jsonl file (one JSON object per line)."""
    ops = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                ops.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON: {e}")
    return ops


def describe(op):
    """One op as a short human line: index, command, outcome and times."""
    if op is None:
        return "(none)"
    if op.get("ok"):
        if op["op"] == "get":
            outcome = "Ok: " + (str(op["value"]) if op.get("found") else "not found")
        else:
            outcome = "Ok"
    elif op.get("ok") is False:
        outcome = "Error: " + str(op.get("error"))
    else:
        outcome = "no answer"
    times = ""
    if op.get("invoke") is not None:
        done = op.get("complete")
        times = " t=%.3f..%s" % (op["invoke"], "%.3f" % done if done is not None else "?")
    return "#%d [%s] -> %s%s" % (op["index"], op.get("command", op["op"]), outcome, times)


def _brief(op):
    if op is None:
        return None
    keep = ("index", "command", "op", "node", "key", "value", "found", "ok", "error", "invoke",
            "complete")
    return {k: op[k] for k in keep if k in op}


def check(history):
    """Anomalies of a history (a list of op dicts), each a dict with kind, node, key, why, a
    readable text (one line, then one line per op involved), and the ops involved: read, write
    (the set that wrote the value read), floor and barrier as described above. A phantom or
    future read leaves F and B as they were."""
    ops = sorted((op for op in history if op.get("op") in ("set", "get")),
                 key=lambda op: op["index"])
    by_value = {}
    for op in ops:
        if op["op"] == "set":
            by_value[op["value"]] = op
    per_key = defaultdict(list)
    for op in ops:
        per_key[(op["node"], op["key"])].append(op)

    anomalies = []
    for (node, key), key_ops in sorted(per_key.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        floor = None      # the set known to be in effect (None: the key is known empty)
        barrier = None    # the latest successful read
        for op in key_ops:
            if op["op"] == "set":
                if op.get("ok"):
                    floor = op
                continue
            if not op.get("ok"):
                continue  # a failed read says nothing
            q = op["index"]
            kind, writer, why = None, None, ""
            if not op.get("found"):
                if floor is not None:
                    kind = "lost-write"
                    why = "read 'not found' but %s set %s" % (
                        "acknowledged" if floor.get("ok") else "an earlier read showed",
                        floor["value"])
                new_floor = None
            else:
                writer = by_value.get(op["value"])
                if writer is None or (writer["node"], writer["key"]) != (node, key):
                    kind = "phantom"
                    why = ("no set wrote %s" % op["value"] if writer is None else
                           "%s was written to node %s key %s" % (op["value"], writer["node"],
                                                                  writer["key"]))
                    anomalies.append(_anomaly(kind, node, key, op, writer, floor, barrier, why))
                    continue
                w = writer["index"]
                if w > q:
                    kind = "future-read"
                    why = "read %s, the value of set #%d, sent after the read" % (
                        op["value"], w)
                    anomalies.append(_anomaly(kind, node, key, op, writer, floor, barrier, why))
                    continue
                if floor is not None and writer is not floor and w < floor["index"]:
                    if floor.get("ok"):
                        kind = "stale-read"
                        why = "read %s (set #%d, %s) after the acknowledged set #%d of %s" % (
                            op["value"], w, _status(writer), floor["index"], floor["value"])
                    else:
                        kind = "reordering"
                        why = ("read %s (set #%d, %s) after a read showed the later set #%d "
                               "of %s" % (op["value"], w, _status(writer), floor["index"],
                                          floor["value"]))
                elif writer is not floor and barrier is not None and w < barrier["index"]:
                    kind = "reordering"
                    why = ("read %s (set #%d, %s), which read #%d showed was not applied "
                           "(it returned %s): applied after a later acknowledged command" % (
                               op["value"], w, _status(writer), barrier["index"],
                               barrier["value"] if barrier.get("found") else "not found"))
                new_floor = writer
            if kind:
                anomalies.append(_anomaly(kind, node, key, op, writer, floor, barrier, why))
            floor = new_floor
            barrier = op
    anomalies.sort(key=lambda a: a["read"]["index"])
    return anomalies


def _status(op):
    return "acknowledged" if op.get("ok") else "failed: %s" % op.get("error")


def _anomaly(kind, node, key, read, write, floor, barrier, why):
    lines = ["%s node %s key %s: %s" % (kind, node, key, why),
             "    read:    " + describe(read)]
    if write is not None:
        lines.append("    write:   " + describe(write))
    if floor is not None and floor is not write:
        lines.append("    floor:   " + describe(floor))
    if barrier is not None:
        lines.append("    barrier: " + describe(barrier))
    return {"kind": kind, "node": node, "key": key, "why": why, "text": "\n".join(lines),
            "read": _brief(read), "write": _brief(write), "floor": _brief(floor),
            "barrier": _brief(barrier)}


def count_kinds(anomalies):
    return dict(Counter(a["kind"] for a in anomalies))


# ---------------------------------------------------------------------------------------------
# Self-test: hand-made histories with one known defect each, and correct ones.

class _H:
    """Builds a history: each call appends one op with the next index."""

    def __init__(self):
        self.ops = []

    def _add(self, op, node, key, **kw):
        op = dict(index=len(self.ops), op=op, node=node, key=key, invoke=float(len(self.ops)),
                  complete=float(len(self.ops)) + 0.5, **kw)
        op["command"] = "exec %s %s%s" % (node, key,
                                          " %s" % kw["value"] if op["op"] == "set" else "")
        self.ops.append(op)
        return self

    def set(self, value, node=10, key="k0", error=None):
        if error:
            return self._add("set", node, key, value=value, ok=False, error=error)
        return self._add("set", node, key, value=value, ok=True)

    def get(self, value=None, node=10, key="k0", error=None):
        if error:
            return self._add("get", node, key, ok=False, error=error)
        return self._add("get", node, key, ok=True, found=value is not None, value=value)


UNAVAILABLE = "Node is unavailable"


def _self_tests():
    """(name, history, the kinds the checker must report, in order)."""
    t = []
    t.append(("lost write: an acknowledged set reads back 'not found'",
              _H().set(1).get(1).set(2).get(None).ops, ["lost-write"]))
    t.append(("lost write of a set a read had shown (unknown outcome, then seen, then gone)",
              _H().set(1, error=UNAVAILABLE).get(1).get(None).ops, ["lost-write"]))
    t.append(("phantom: a value nobody wrote",
              _H().set(1).get(77).ops, ["phantom"]))
    t.append(("phantom: a value written to another key",
              _H().set(1, key="k1").set(2).get(1).ops, ["phantom"]))
    t.append(("future read: the value of a set sent after the read",
              _H().get(5).set(5).ops, ["future-read"]))
    t.append(("stale read (issue 16): set v1 unavailable, set v2 acknowledged, v1 read back",
              _H().set(1, error=UNAVAILABLE).set(2).get(1).ops, ["stale-read"]))
    t.append(("stale read: an older acknowledged value after a newer acknowledged one",
              _H().set(1).set(2).get(2).get(1).ops, ["stale-read"]))
    t.append(("reordering: a newer failed set seen, then an older failed one",
              _H().set(1, error=UNAVAILABLE).set(2, error=UNAVAILABLE).get(2).get(1).ops,
              ["reordering"]))
    t.append(("reordering: a failed set shows up after a read that had not seen it",
              _H().set(1).set(2, error=UNAVAILABLE).get(1).get(2).ops, ["reordering"]))
    t.append(("reordering: a failed set shows up after a read of 'not found'",
              _H().set(1, error=UNAVAILABLE).get(None).get(1).ops, ["reordering"]))
    t.append(("one fault is reported once: later consistent reads are clean",
              _H().set(1).get(None).get(None).set(2).get(2).ops, ["lost-write"]))
    t.append(("anomalies on two keys are both reported",
              _H().set(1, key="a").set(2, key="b").get(None, key="a").get(9, key="b").ops,
              ["lost-write", "phantom"]))
    # Correct histories.
    t.append(("correct: sets and reads in order", _H().get(None).set(1).get(1).set(2).get(2)
              .set(3).set(4).get(4).ops, []))
    t.append(("correct: a failed set that later shows up in its place",
              _H().set(1).set(2, error=UNAVAILABLE).get(2).set(3).get(3).ops, []))
    t.append(("correct: a failed set that is never seen",
              _H().set(1).set(2, error=UNAVAILABLE).get(1).set(3).get(3).ops, []))
    t.append(("correct: a failed set seen by a read after failed reads",
              _H().set(1).set(2, error=UNAVAILABLE).get(error=UNAVAILABLE).get(2).get(2).ops,
              []))
    t.append(("correct: the last of several failed sets read first",
              _H().set(1, error=UNAVAILABLE).set(2, error=UNAVAILABLE).get(2).ops, []))
    t.append(("correct: failed sets and failed reads say nothing",
              _H().set(1, error=UNAVAILABLE).get(error="deadline").set(2).get(2).ops, []))
    t.append(("correct: keys and nodes interleaved",
              _H().set(1, node=10).set(2, node=20).set(3, node=10, key="k1").get(2, node=20)
              .get(1, node=10).get(3, node=10, key="k1").get(None, node=30).ops, []))
    return t


def self_test():
    failures = 0
    for name, history, want in _self_tests():
        got = [a["kind"] for a in check(history)]
        if got == want:
            print("ok    %s: %s" % (name, ", ".join(got) or "clean"))
        else:
            failures += 1
            print("FAIL  %s: wanted %s, got %s" % (name, want or "clean", got or "clean"))
            for a in check(history):
                print(a["text"])
    # The history format chaos.py writes round-trips through JSON lines.
    import io
    h = _H().set(1, error=UNAVAILABLE).set(2).get(1).ops
    buf = io.StringIO("\n".join(json.dumps(op) for op in h))
    parsed = [json.loads(line) for line in buf]
    if [a["kind"] for a in check(parsed)] != ["stale-read"]:
        failures += 1
        print("FAIL  JSON round trip")
    print("self-test: %d failed" % failures if failures else "self-test: all passed")
    return 1 if failures else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("history", nargs="?", help="history.jsonl written by chaos.py")
    p.add_argument("--json", action="store_true", help="print the anomalies as JSON lines")
    p.add_argument("--limit", type=int, default=20,
                   help="print at most this many anomalies of each kind (default 20)")
    p.add_argument("--self-test", action="store_true", help="check the checker")
    args = p.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.history:
        p.error("a history file, or --self-test")
    anomalies = check(load_history(args.history))
    if args.json:
        for a in anomalies:
            print(json.dumps(a))
    else:
        shown = Counter()
        for a in anomalies:
            shown[a["kind"]] += 1
            if shown[a["kind"]] <= args.limit:
                print(a["text"])
        counts = count_kinds(anomalies)
        print("anomalies: %d%s" % (len(anomalies), "".join(
            " %s=%d" % (k, counts[k]) for k in KINDS if k in counts)))
    return 1 if anomalies else 0


if __name__ == "__main__":
    sys.exit(main())
