#!/usr/bin/env python3
"""Turns bench/results/raw.jsonl into medians, target ratios, tables and plots.

    python3 bench/report.py bench/results/raw.jsonl bench/results

Groups the JSON lines arbor-bench (and bench/run.sh) printed by (bench, depth, op, inflight,
nodes, transport), takes the median of every metric over the repetitions, prints one table of the targets
to stdout and writes results.json, results.md, latency_vs_depth.png and
throughput_vs_inflight.png into the output directory. Standard library only; gnuplot for the
plots when it is installed. Missing data gives "n/a", never an exception.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

KEY_FIELDS = ("bench", "depth", "op", "inflight", "nodes", "transport")
# arbor-bench hosts: the transports, in table order, and how the tables name them.
TRANSPORTS = (("abstract", "abstract, 1 host"), ("tcp", "tcp, 3 hosts"),
              ("tls", "tls+tcp, 3 hosts"))
DEPTHS = (1, 3, 10, 100)
INFLIGHTS = (1, 8, 64)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def load(path):
    records = []
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    r = json.loads(line)
                except ValueError:
                    print(f"report: {path}:{n}: not JSON, skipped", file=sys.stderr)
                    continue
                if isinstance(r, dict) and "bench" in r:
                    records.append(r)
    except OSError as e:
        print(f"report: cannot read {path}: {e}", file=sys.stderr)
    return records


def group(records):
    """{key tuple: {"n": repetitions, metric: median, string field: {value: count}}}"""
    groups = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in KEY_FIELDS), []).append(r)
    out = {}
    for key, rs in groups.items():
        g = {"n": len(rs)}
        names = []
        for r in rs:
            names += [k for k in r if k not in KEY_FIELDS and k not in names]
        for name in names:
            nums = [r[name] for r in rs if is_number(r.get(name))]
            strs = [r[name] for r in rs if isinstance(r.get(name), str)]
            if nums:
                g[name] = statistics.median(nums)
            elif strs:
                counts = {}
                for s in strs:
                    counts[s] = counts.get(s, 0) + 1
                g[name] = counts
        out[key] = g
    return out


class Data:
    def __init__(self, groups):
        self.groups = groups

    def get(self, bench, metric, **kw):
        g = self.group(bench, **kw)
        if g is None:
            return None
        v = g.get(metric)
        return v if is_number(v) else None

    def group(self, bench, **kw):
        unknown = set(kw) - set(KEY_FIELDS)
        if unknown:
            raise TypeError(f"not a key field: {sorted(unknown)}")
        return self.groups.get((bench,) + tuple(kw.get(k) for k in KEY_FIELDS[1:]))


def div(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if not is_number(v):
        return str(v)
    a = abs(v)
    if float(v).is_integer() and (a >= 100 or isinstance(v, int) or unit in ("", "KB")):
        s = f"{int(v):,}"
    elif a >= 1000:
        s = f"{v:,.1f}"
    elif a >= 100:
        s = f"{v:.1f}"
    elif a >= 1:
        s = f"{v:.2f}"
    else:
        s = f"{v:.3f}"
    return f"{s} {unit}".strip()


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.3f}"


# Targets: (text, predicate on the checked figure).
def at_most(x):
    return (f"≤ {x}", lambda v: v <= x)


def at_least(x):
    return (f"≥ {x}", lambda v: v >= x)


def within(lo, hi):
    # The figures are printed to 0.1 ms; a ratio is judged rounded to 3 decimals.
    return (f"{lo}–{hi}", lambda v: lo <= round(v, 3) <= hi)


def row(measure, value, unit="", baseline=None, ratio=None, target=None, on="ratio", info=False):
    """One line of the targets table. `on`: whether the target applies to the ratio or value."""
    checked = ratio if on == "ratio" else value
    if target is None:
        verdict = "info"
        target_text = "-"
    else:
        target_text, ok = target
        if on == "value" and unit:
            target_text += f" {unit}"
        if checked is None:
            verdict = "n/a"
        else:
            verdict = "PASS" if ok(checked) else "FAIL"
        if info:
            target_text += " (info)"
            if verdict in ("PASS", "FAIL"):
                verdict += " (info)"
    return {
        "measure": measure,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "unit": unit,
        "target": target_text,
        "target_on": on if target else None,
        "verdict": verdict,
    }


def compute_rows(d):
    rows = []
    get_p50 = lambda depth: d.get("arbor", "p50_us", depth=depth, op="get", inflight=1)
    echo_p50 = d.get("nng_echo", "p50_us", depth=1, inflight=1)

    a1 = get_p50(1)
    rows.append(row("depth-1 latency p50 (arbor get / nng echo)", a1, "µs", echo_p50,
                    div(a1, echo_p50), at_most(1.3)))

    for depth in (3, 10, 100):
        ad = get_p50(depth)
        fd = d.get("nng_forward", "p50_us", depth=depth, inflight=1)
        arbor_hop = None if ad is None or a1 is None else (ad - a1) / (depth - 1)
        nng_hop = None if fd is None or echo_p50 is None else (fd - echo_p50) / (depth - 1)
        # A non-positive baseline hop (noise) makes the ratio meaningless.
        ratio = div(arbor_hop, nng_hop) if nng_hop is not None and nng_hop > 0 else None
        rows.append(row(f"per-hop cost, depth {depth} (arbor / nng forwarder)", arbor_hop, "µs",
                        nng_hop, ratio, at_most(1.0)))

    echo64 = d.get("nng_echo", "ops_per_s", depth=1, inflight=64)
    t3 = d.get("arbor", "ops_per_s", depth=3, op="get", inflight=64)
    rows.append(row("throughput, 64 in flight, depth 3 (arbor / nng echo)", t3, "ops/s", echo64,
                    div(t3, echo64), at_least(0.8)))
    r3 = d.get("arbor_raw", "ops_per_s", depth=3, op="get", inflight=64)
    rows.append(row("  same, --raw (no coalescing)", r3, "ops/s", echo64, div(r3, echo64),
                    at_least(0.8), info=True))

    # A scripted session's commands, timed apart from its creates (bench/session.py).
    leaf, spread = d.get("scripted", "commands_s"), d.get("scripted_random", "commands_s")
    rows.append(row("20000 commands random over 100 nodes (/ same to one leaf at depth 3)",
                    spread, "s", leaf, div(spread, leaf), at_most(1.5)))
    pipe = d.get("redis_pipe", "wall_s")
    rows.append(row("20000 commands to one leaf at depth 3 (arbor / redis-cli --pipe)", leaf, "s",
                    pipe, div(leaf, pipe), at_most(2.0)))
    cli = d.get("redis_cli", "wall_s")
    rows.append(row("  same, / redis-cli (no --pipe)", leaf, "s", cli, div(leaf, cli),
                    at_most(1.0), info=True))

    rows.append(row("kill -9 -> ping 'Ok: 0'", d.get("failure", "kill_to_ping_ms"), "ms",
                    target=at_most(50), on="value"))
    stopped = d.get("failure", "stopped_command_ms")
    deadline = d.get("failure", "deadline_ms")
    rows.append(row("SIGSTOP: command to stopped node (/ deadline)", stopped, "ms", deadline,
                    div(stopped, deadline), within(1.0, 1.1)))
    rows.append(row("healthy command during SIGSTOP", d.get("failure", "healthy_meanwhile_ms"),
                    "ms", target=at_most(50), on="value", info=True))

    rows.append(row("create 1000 nodes", d.get("scale", "create_s", nodes=1000), "s",
                    target=at_most(10), on="value"))
    concurrent = d.get("scale", "create_s", nodes=1000)
    one_by_one = d.get("scale_sequential", "create_s", nodes=1000)
    rows.append(row("  same, one create at a time (concurrent / sequential)", concurrent, "s",
                    one_by_one, div(concurrent, one_by_one)))
    rows.append(row("pingall over 1000 nodes", d.get("scale", "pingall_ms", nodes=1000), "ms",
                    target=at_most(1000), on="value"))
    # No slower than before the batched request path: 89.9 ms measured at 82f8fc2 (median of
    # 3 runs), bounded at about twice that for the noise of a shared 2-core machine.
    rows.append(row("tree over 1000 nodes", d.get("scale", "tree_ms", nodes=1000), "ms",
                    target=at_most(200), on="value"))
    rows.append(row("RSS per idle node (1000 nodes, median)",
                    d.get("scale", "rss_kb_median", nodes=1000), "KB", target=at_most(6144),
                    on="value"))
    node_kb = d.get("scale", "rss_kb_median", nodes=1000)
    floor_kb = d.get("scale", "floor_rss_kb", nodes=1000)
    rows.append(row("  same, / a process that only loads the libraries and listens",
                    node_kb, "KB", floor_kb, div(node_kb, floor_kb)))
    rows.append(row("threads per node (1000 nodes, median)",
                    d.get("scale", "threads_median", nodes=1000), ""))

    # Across hosts (arbor-bench hosts): the chain 1 -> 2 -> 3 with one node per network-namespace
    # host, against the same chain on abstract sockets on one host, measured in the same run.
    hosts = lambda metric, transport, inflight, bench="hosts": d.get(
        bench, metric, depth=3, op="get", inflight=inflight, transport=transport)
    local = hosts("p50_us", "abstract", 1)
    for transport, name in (("tcp", "tcp"), ("tls", "tls+tcp")):
        p50 = hosts("p50_us", transport, 1)
        rows.append(row(f"depth-3 latency p50, 3 hosts over {name} (/ abstract, 1 host)", p50,
                        "µs", local, div(p50, local)))
    # TLS's cost is the time per command: tcp ops/s over tls+tcp ops/s.
    for bench, label, info in (("hosts", "TLS cost, 64 in flight, depth 3, 3 hosts "
                                "(tcp ops/s ÷ tls+tcp ops/s)", False),
                               ("hosts_raw", "  same, --raw (no coalescing)", True)):
        tls = hosts("ops_per_s", "tls", 64, bench)
        tcp = hosts("ops_per_s", "tcp", 64, bench)
        rows.append(row(label, tls, "ops/s", tcp, div(tcp, tls), at_most(1.3), info=info))
    return rows


def table_cells(r):
    return [
        r["measure"],
        fmt(r["value"], r["unit"]),
        "-" if r["baseline"] is None and r["target_on"] != "ratio" else fmt(r["baseline"], r["unit"]),
        "-" if r["target_on"] != "ratio" and r["ratio"] is None else fmt_ratio(r["ratio"]),
        r["target"],
        r["verdict"],
    ]


HEADER = ["measure", "value", "baseline", "ratio", "target", "verdict"]


def text_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def md_table(header, rows):
    esc = lambda c: str(c).replace("|", "\\|")
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def notes_for(d, records):
    notes = []
    f = d.group("failure")
    if f:
        answers = f.get("ping_answer")
        if isinstance(answers, dict) and set(answers) != {"Ok: 0"}:
            notes.append(f"kill -9 -> ping answered {answers} (expected only 'Ok: 0')")
        stopped = f.get("stopped_answer")
        if isinstance(stopped, dict):
            notes.append(f"SIGSTOP: the stopped node's command answered {stopped}")
    for nodes in (100, 1000):
        g = d.group("scale", nodes=nodes)
        if g and g.get("unreachable"):
            notes.append(f"scale {nodes}: median {g['unreachable']} nodes unreachable after create")
    wanted = [("nng_echo", dict(depth=1, inflight=1)), ("arbor", dict(depth=1, op="get", inflight=1)),
              ("failure", {}), ("scale", dict(nodes=1000))]
    for bench, kw in wanted:
        if d.group(bench, **kw) is None:
            notes.append(f"no data for {bench} {kw or ''}".rstrip())
    skipped = {r.get("reason") for r in records if r.get("bench") == "hosts_skipped"}
    for why in sorted(str(w) for w in skipped):
        notes.append(f"cross-host figures skipped: {why}")
    if not records:
        notes.append("raw.jsonl held no results")
    return notes


def latency_table(d):
    header = ["depth", "get p50", "get p99", "set p50", "set p99", "ping p50", "ping p99",
              "nng p50", "nng p99"]
    rows = []
    for depth in DEPTHS:
        cells = [str(depth)]
        for op in ("get", "set", "ping"):
            for m in ("p50_us", "p99_us"):
                cells.append(fmt(d.get("arbor", m, depth=depth, op=op, inflight=1)))
        nb = ("nng_echo", "") if depth == 1 else ("nng_forward", "")
        for m in ("p50_us", "p99_us"):
            v = d.get(nb[0], m, depth=depth, inflight=1)
            cells.append(fmt(v) + (" (echo)" if depth == 1 and v is not None else ""))
        rows.append(cells)
    return header, rows


def throughput_table(d):
    header = ["depth", "in flight", "arbor ops/s", "arbor p50 µs", "arbor --raw ops/s",
              "nng echo (depth 1) ops/s", "arbor / echo"]
    rows = []
    for depth in DEPTHS:
        for k in INFLIGHTS:
            a = d.get("arbor", "ops_per_s", depth=depth, op="get", inflight=k)
            raw = d.get("arbor_raw", "ops_per_s", depth=depth, op="get", inflight=k)
            e = d.get("nng_echo", "ops_per_s", depth=1, inflight=k)
            if a is None and raw is None:
                continue
            rows.append([str(depth), str(k), fmt(a),
                         fmt(d.get("arbor", "p50_us", depth=depth, op="get", inflight=k)),
                         fmt(raw), fmt(e), fmt_ratio(div(a, e))])
    return header, rows


def hosts_table(d):
    header = ["transport", "1 in flight p50 µs", "p99 µs", "p50 / abstract", "64 in flight ops/s",
              "p50 µs", "--raw ops/s", "p50 µs"]
    rows = []
    local = d.get("hosts", "p50_us", depth=3, op="get", inflight=1, transport="abstract")
    for transport, name in TRANSPORTS:
        g = lambda metric, inflight, bench="hosts": d.get(
            bench, metric, depth=3, op="get", inflight=inflight, transport=transport)
        cells = [g("p50_us", 1), g("p99_us", 1), g("ops_per_s", 64), g("p50_us", 64),
                 g("ops_per_s", 64, "hosts_raw"), g("p50_us", 64, "hosts_raw")]
        if all(c is None for c in cells):
            continue
        rows.append([name, fmt(cells[0]), fmt(cells[1]), fmt_ratio(div(cells[0], local))] +
                    [fmt(c) for c in cells[2:]])
    return header, rows


def scale_table(d):
    header = ["nodes", "runs", "create s", "pingall ms", "tree ms", "unreachable",
              "RSS median KB", "RSS max KB", "threads median"]
    rows = []
    for nodes in (100, 1000):
        g = d.group("scale", nodes=nodes)
        if g is None:
            continue
        rows.append([str(nodes), str(g["n"])] + [fmt(d.get("scale", m, nodes=nodes)) for m in
                    ("create_s", "pingall_ms", "tree_ms", "unreachable", "rss_kb_median",
                     "rss_kb_max", "threads_median")])
    return header, rows


# ---- plots ---------------------------------------------------------------------------------

def write_dat(path, header, rows):
    with open(path, "w") as f:
        f.write("# " + " ".join(header) + "\n")
        for r in rows:
            f.write(" ".join("?" if v is None else f"{v:g}" for v in r) + "\n")


def plot(outdir, d):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("report: note: gnuplot not found; no plots", file=sys.stderr)
        return []
    term = "pngcairo size 900,600"
    if subprocess.run([gnuplot, "-e", "set terminal pngcairo"], capture_output=True).returncode:
        term = "png size 900,600"

    # Latency against depth.
    lat_rows = []
    for depth in DEPTHS:
        nng = (d.get("nng_echo", "p50_us", depth=1, inflight=1) if depth == 1 else
               d.get("nng_forward", "p50_us", depth=depth, inflight=1))
        lat_rows.append([depth] + [d.get("arbor", "p50_us", depth=depth, op=op, inflight=1)
                                   for op in ("get", "set", "ping")] + [nng])
    lat_dat = os.path.join(outdir, "latency_vs_depth.dat")
    write_dat(lat_dat, ["depth", "arbor_get", "arbor_set", "arbor_ping", "nng_chain"], lat_rows)
    lat_series = [(2, "arbor get"), (3, "arbor set"), (4, "arbor ping"),
                  (5, "nng forwarder chain (depth 1: echo)")]

    # Throughput against commands in flight.
    thr_rows = []
    for k in INFLIGHTS:
        thr_rows.append([k,
                         d.get("arbor", "ops_per_s", depth=1, op="get", inflight=k),
                         d.get("arbor", "ops_per_s", depth=3, op="get", inflight=k),
                         d.get("arbor_raw", "ops_per_s", depth=3, op="get", inflight=k),
                         d.get("nng_echo", "ops_per_s", depth=1, inflight=k)])
    thr_dat = os.path.join(outdir, "throughput_vs_inflight.dat")
    write_dat(thr_dat, ["inflight", "arbor_d1", "arbor_d3", "arbor_raw_d3", "nng_echo"], thr_rows)
    thr_series = [(2, "arbor get, depth 1"), (3, "arbor get, depth 3"),
                  (4, "arbor get --raw, depth 3"), (5, "nng echo (depth 1)")]

    made = []
    for png, dat, rows_, series, setup in [
        ("latency_vs_depth.png", lat_dat, lat_rows, lat_series, [
            'set title "Round-trip latency (p50, 1 in flight) against depth"',
            'set xlabel "depth of the target node"',
            'set ylabel "p50 latency (µs, log scale)"',
            "set logscale x", "set logscale y", "set xtics (1, 3, 10, 100)",
            "set xrange [0.8:130]", "set key bottom right"]),
        ("throughput_vs_inflight.png", thr_dat, thr_rows, thr_series, [
            'set title "Throughput (get) against commands in flight"',
            'set xlabel "commands in flight"', 'set ylabel "operations per second"',
            "set logscale x 2", "set xtics (1, 8, 64)", "set xrange [0.8:80]",
            "set yrange [0:*]", "set key top left"]),
    ]:
        present = [(c, t) for c, t in series if any(r[c - 1] is not None for r in rows_)]
        if not present:
            print(f"report: note: no data for {png}; not drawn", file=sys.stderr)
            continue
        path = os.path.join(outdir, png)
        script = [f"set terminal {term}", f"set output {json.dumps(path)}",
                  'set datafile missing "?"', "set grid", *setup,
                  "plot " + ", \\\n     ".join(
                      f"{json.dumps(dat)} using 1:{c} with linespoints lw 2 pt 7 title {json.dumps(t)}"
                      for c, t in present)]
        r = subprocess.run([gnuplot], input="\n".join(script) + "\n", capture_output=True,
                           text=True)
        if r.returncode != 0 or not os.path.exists(path):
            print(f"report: gnuplot failed for {png}:\n{r.stderr}", file=sys.stderr)
        else:
            made.append(path)
    return made


# ---- main ----------------------------------------------------------------------------------

def main(argv):
    if len(argv) != 3:
        print("usage: report.py RAW.jsonl OUTDIR", file=sys.stderr)
        return 2
    raw_path, outdir = argv[1], argv[2]
    os.makedirs(outdir, exist_ok=True)
    records = load(raw_path)
    groups = group(records)
    d = Data(groups)
    machine = {}
    try:
        with open(os.path.join(outdir, "machine.json")) as f:
            machine = json.load(f)
    except (OSError, ValueError):
        pass

    rows = compute_rows(d)
    notes = notes_for(d, records)
    cells = [table_cells(r) for r in rows]
    verdicts = [r["verdict"] for r in rows]
    summary = (f"{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL, "
               f"{verdicts.count('n/a')} n/a (targets); informational rows not counted")

    if machine:
        print(f"machine: {machine.get('nproc', '?')} CPUs, {machine.get('cpu_model', '?')}, "
              f"{machine.get('mem_total', '?')}, kernel {machine.get('kernel', '?')}, "
              f"nng {machine.get('nng_version', '?')}; repeats {machine.get('repeats', '?')}"
              + (f", counts / {machine['count_divisor']}" if machine.get("count_divisor", 1) != 1 else ""))
    print(text_table(HEADER, cells))
    print(summary)
    for n in notes:
        print(f"note: {n}")

    # results.json
    medians = []
    for key, g in sorted(groups.items(), key=lambda kv: json.dumps(kv[0], default=str)):
        entry = {k: v for k, v in zip(KEY_FIELDS, key) if v is not None}
        entry.update(g)
        medians.append(entry)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"machine": machine, "medians": medians, "ratios": rows, "notes": notes,
                   "summary": summary}, f, indent=2, ensure_ascii=False)
        f.write("\n")

    # plots first, so results.md can link only those that exist
    made = plot(outdir, d)

    md = ["# arbor benchmark results", ""]
    if machine:
        md += ["| machine | |", "|---|---|"]
        md += [f"| {k} | {v} |" for k, v in machine.items()]
        md.append("")
    md += ["## Targets", "", md_table(HEADER, cells), "", summary, ""]
    if notes:
        md += [f"- {n}" for n in notes] + [""]
    h, r = latency_table(d)
    md += ["## Latency by depth", "",
           "Median over repetitions of p50 / p99 round-trip µs, 1 command in flight, to the node "
           "at that depth of a sorted chain. nng: a plain forwarder chain of the same depth "
           "(depth 1: the echo server).", "", md_table(h, r), ""]
    h, r = throughput_table(d)
    md += ["## Throughput", "",
           "`get` to the node at that depth, closed loop with that many commands in flight. "
           "arbor: through the Scheduler (queued commands to one node travel as one message); "
           "--raw: one message per command.", "", md_table(h, r), ""]
    h, r = hosts_table(d)
    if r:
        md += ["## Across hosts", "",
               "`get` to node 3 of the chain 1 -> 2 -> 3 with one node on each of three "
               "network-namespace hosts (`arbor-bench hosts`: nodes started over ssh, "
               "listening on their host's address), and the same chain on abstract sockets on "
               "one host, measured in the same run. The hops cross veth pairs and a bridge on "
               "the same machine: the transport's cost, not a real network's.", "",
               md_table(h, r), ""]
    h, r = scale_table(d)
    if r:
        md += ["## Scale", "", md_table(h, r), ""]
    for p in made:
        name = os.path.basename(p)
        md += [f"![{name}]({name})", ""]
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
