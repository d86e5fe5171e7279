#!/usr/bin/env bash
# Wall time and peak memory of the main job at 10,000 runs per variant,
# start-up included: negsim run scenarios/geneva3.yaml --runs 10000.
#   bash benchmarks/run_10k.sh [extra negsim run options]
# Prints /usr/bin/time -v's figures ("Maximum resident set size" is the
# largest single process; with --jobs J the workers are separate processes).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
/usr/bin/time -v .venv/bin/negsim run scenarios/geneva3.yaml --runs 10000 --out "$out/geneva3" --quiet "$@" 2> "$out/time.txt"
grep -E "Elapsed \(wall clock\)|Maximum resident set size|User time|System time|Percent of CPU" "$out/time.txt"
