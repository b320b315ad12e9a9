#!/usr/bin/env python3
"""Times the commands of a scripted session apart from its setup.

    session.py ARBOR SCRIPT SETUP_LINES OUT

Runs `ARBOR` (batch mode) with SCRIPT on its stdin through a pipe: first the SETUP_LINES first
lines (the creates), then, once all of their answers are back, the rest, all at once, as a
script piped into arbor would arrive. Every answer line goes to OUT. Prints one JSON object:
setup_s (the creates, start-up included) and commands_s (from the first command written to the
last answer read). Timing the commands alone, rather than subtracting a creates-only run,
keeps the creates' large run-to-run swings (hundreds of processes starting) out of the figure.
"""
import json
import os
import subprocess
import sys
import threading
import time


def main():
    arbor, script, setup_n, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(script, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    setup, commands = b"".join(lines[:setup_n]), b"".join(lines[setup_n:])
    want = len(lines)
    t_start = time.monotonic()
    p = subprocess.Popen([arbor], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    got = bytearray()
    marks = {}
    done = threading.Event()

    def read():
        fd = p.stdout.fileno()
        count = 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            got.extend(chunk)
            count += chunk.count(b"\n")
            now = time.monotonic()
            if count >= setup_n and "setup" not in marks:
                marks["setup"] = now
            if count >= want:
                marks["end"] = now
                break
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    p.stdin.write(setup)
    p.stdin.flush()
    while "setup" not in marks and not done.is_set():
        time.sleep(0.0005)
    t_commands = time.monotonic()
    p.stdin.write(commands)
    p.stdin.flush()
    done.wait(600)
    p.stdin.close()
    reader.join(10)
    rest = p.stdout.read()
    if rest:
        got.extend(rest)
    rc = p.wait(60)
    with open(out_path, "wb") as f:
        f.write(bytes(got))
    if "end" not in marks:
        n = got.count(b"\n")
        print(f"session.py: {n} answers, expected {want} (exit {rc})", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"setup_s": round(marks["setup"] - t_start, 4),
                      "commands_s": round(marks["end"] - t_commands, 4), "exit": rc}))


if __name__ == "__main__":
    main()
