#!/usr/bin/env bash
# Wall time and largest process of `negsim run` at 10k, 100k and 1M runs per
# variant: memory must stay flat as the runs grow (chunks are written as they
# finish; docs/scaling.md).
#   bash benchmarks/memory_by_runs.sh [RUNS ...]   (default: 10000 100000 1000000)
# geneva3, the base variant and alloush_alive, 2 worker processes. The 1M
# case takes tens of minutes on 2 cores and needs about 11 GB of free disk
# for the spill files beside the results.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for runs in "${@:-10000 100000 1000000}"; do
  for n in $runs; do
    /usr/bin/time -v .venv/bin/negsim run scenarios/geneva3.yaml --runs "$n" \
      --variant base --variant alloush_alive --jobs 2 --quiet --out "$out/r$n" 2> "$out/time.txt"
    wall=$(grep -E "Elapsed \(wall clock\)" "$out/time.txt" | awk '{print $NF}')
    rss=$(grep -E "Maximum resident set size" "$out/time.txt" | awk '{print $NF}')
    echo "runs per variant $n: wall $wall, largest process $((rss / 1024)) MiB"
    rm -rf "$out/r$n"
  done
done
