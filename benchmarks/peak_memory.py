"""Peak memory of a command and all its child processes together (sampled from /proc).

    python benchmarks/peak_memory.py negsim run scenarios/geneva3.yaml --runs 10000 --quiet --out /tmp/x

`/usr/bin/time -v` reports the largest single process; with worker processes
the machine holds their sum, which this script samples every 50 ms (Linux).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def tree_rss_kib(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except (OSError, ValueError):
            continue
        pid, parent = int(fields["Pid"]), int(fields["PPid"])
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def main() -> None:
    started = time.perf_counter()
    process = subprocess.Popen(sys.argv[1:])
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss_kib(process.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    print(
        f"exit {process.returncode}; wall {elapsed:.1f} s; peak RSS of the process tree {peak / 1024:.0f} MiB"
    )
    sys.exit(process.returncode)


if __name__ == "__main__":
    main()
